#!/usr/bin/env python3
"""Compare the rollup's Parquet partitions with the oracle, as BI readers would see them.

- read_partition(): each table's partition dt=D from S3 (moto) with pyarrow (dataset over the
  dt=D/ prefix, which skips _manifest.json like Athena and glob readers do) and with polars
  (s3://…/dt=D/*.parquet); both row counts must equal the manifest's `rows`.
- compare_rows(): rows keyed by the table's key columns; exact on decimals (Python Decimal),
  |a-b| <= 1e-9 on doubles (or 1e-12 relative, for large ratios), NULL = NULL.
- check_schema(): Parquet column types against docs/tables.md (tables_meta).
- check_glue(): infra/template.yaml's AWS::Glue::Table columns against the Parquet schemas.

CLI: check.py --endpoint URL --bucket B --date D --data DIR [--data LATE] [--glue]
exits non-zero on any mismatch, printing the first ones.
"""
import argparse
import datetime as dt
import json
import os
import sys
from decimal import Decimal

import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.fs as pafs

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tables_meta import GLUE_TYPE, TABLES  # noqa: E402

MAX_DIFFS = 15
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


class S3:
    """pyarrow and polars access to one moto endpoint with the dummy credentials."""

    def __init__(self, endpoint):
        self.endpoint = endpoint.rstrip("/")
        scheme, host = self.endpoint.split("://", 1)
        self.fs = pafs.S3FileSystem(endpoint_override=host, scheme=scheme, access_key="testing",
                                    secret_key="testing", region="us-east-1")
        self.polars_opts = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing",
                            "aws_region": "us-east-1", "aws_endpoint_url": self.endpoint,
                            "aws_allow_http": "true"}

    def read_text(self, path):
        with self.fs.open_input_stream(path) as f:
            return f.read().decode()

    def exists(self, path):
        return self.fs.get_file_info(path).type != pafs.FileType.NotFound


def part_dir(bucket, table, d):
    return f"{bucket}/{TABLES[table]['prefix']}/dt={d}"


def read_partition(s3, bucket, table, d):
    """-> (pyarrow.Table or None, manifest dict or None, problems list)."""
    import polars as pl

    probs = []
    base = part_dir(bucket, table, d)
    manifest = None
    if s3.exists(f"{base}/_manifest.json"):
        manifest = json.loads(s3.read_text(f"{base}/_manifest.json"))
    else:
        probs.append(f"{table} dt={d}: no _manifest.json")
    if s3.fs.get_file_info(base).type == pafs.FileType.NotFound:
        return None, manifest, probs + [f"{table} dt={d}: partition missing"]
    try:
        tbl = pads.dataset(base + "/", filesystem=s3.fs, format="parquet").to_table()
    except Exception as e:  # noqa: BLE001 - report any reader failure
        return None, manifest, probs + [f"{table} dt={d}: pyarrow cannot read: {e}"]
    try:
        df = pl.read_parquet(f"s3://{base}/*.parquet", storage_options=s3.polars_opts)
        n_polars = df.height
    except Exception as e:  # noqa: BLE001
        n_polars = None
        probs.append(f"{table} dt={d}: polars cannot read: {e}")
    if manifest is not None:
        if manifest.get("rows") != tbl.num_rows:
            probs.append(f"{table} dt={d}: manifest rows {manifest.get('rows')} != pyarrow rows {tbl.num_rows}")
        if n_polars is not None and manifest.get("rows") != n_polars:
            probs.append(f"{table} dt={d}: manifest rows {manifest.get('rows')} != polars rows {n_polars}")
        for k in ("table", "dt", "rows", "files", "input_fingerprint", "code_version", "run_id",
                  "started_at", "finished_at"):
            if k not in manifest:
                probs.append(f"{table} dt={d}: manifest lacks {k!r}")
        if str(manifest.get("dt")) != str(d):
            probs.append(f"{table} dt={d}: manifest dt {manifest.get('dt')!r}")
        listed = {f.rsplit("/", 1)[-1] for f in manifest.get("files", [])}
        present = {i.base_name for i in s3.fs.get_file_info(pafs.FileSelector(base))
                   if i.base_name.endswith(".parquet")}
        if listed and listed != present:
            probs.append(f"{table} dt={d}: manifest files {sorted(listed)} but partition holds {sorted(present)}")
    return tbl, manifest, probs


# ---------------------------------------------------------------- schema
def arrow_to_short(t):
    if pa.types.is_decimal(t):
        return "dec" if (t.precision, t.scale) == (18, 2) else f"decimal({t.precision},{t.scale})"
    if pa.types.is_int64(t):
        return "i64"
    if pa.types.is_int32(t):
        return "i32"
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return "s"
    if pa.types.is_float64(t):
        return "f64"
    if pa.types.is_date32(t):
        return "date"
    if pa.types.is_timestamp(t):
        return "ts"
    if pa.types.is_null(t):
        return "null"
    return str(t)


def arrow_to_glue(t):
    s = arrow_to_short(t)
    return GLUE_TYPE.get(s, s)


def check_schema(table, schema):
    probs = []
    want = TABLES[table]["columns"]
    have = {f.name: f.type for f in schema}
    for name, ty in want:
        if name not in have:
            probs.append(f"{table}: column {name} missing from Parquet")
        elif arrow_to_short(have[name]) != ty and not (arrow_to_short(have[name]) == "null"):
            probs.append(f"{table}: column {name} is {have[name]} in Parquet, docs say {GLUE_TYPE[ty]}")
        elif ty == "ts" and have[name].unit != "us":
            probs.append(f"{table}: column {name} is {have[name]}, docs say µs")
    return probs


# ---------------------------------------------------------------- rows
def norm(v, ty):
    """Comparable Python value of a cell."""
    if v is None:
        return None
    if ty == "dec":
        return v if isinstance(v, Decimal) else Decimal(str(v))
    if ty == "ts":
        if isinstance(v, dt.datetime):
            if v.tzinfo is None:
                v = v.replace(tzinfo=dt.timezone.utc)
            return (v - EPOCH) // dt.timedelta(microseconds=1)
        return v
    if ty == "date" and isinstance(v, dt.datetime):
        return v.date()
    if ty in ("i64", "i32") and isinstance(v, (int, float)) and not isinstance(v, bool):
        return int(v)
    if ty == "f64":
        return float(v)
    return v


def equal(a, b, ty):
    if a is None or b is None:
        return a is None and b is None
    if ty == "f64":
        return abs(a - b) <= 1e-9 or abs(a - b) <= 1e-12 * max(abs(a), abs(b))
    return a == b and type(a) is type(b) if ty != "dec" else a == b


def compare_rows(table, actual, expected, d=""):
    """-> list of human-readable differences (empty when equal)."""
    cols = TABLES[table]["columns"]
    key = TABLES[table]["key"]
    types = dict(cols)

    def index(rows, what):
        idx, dups = {}, []
        for r in rows:
            k = tuple(norm(r.get(c), types[c]) for c in key)
            if k in idx:
                dups.append(k)
            idx[k] = r
        return idx, [f"{table} dt={d}: duplicate key {dict(zip(key, k))} in {what}" for k in dups[:5]]

    a_idx, diffs = index(actual, "output")
    e_idx, d2 = index(expected, "oracle")
    diffs += d2
    for k in sorted(set(e_idx) - set(a_idx), key=repr)[:MAX_DIFFS]:
        diffs.append(f"{table} dt={d}: MISSING row {dict(zip(key, k))}: expected {_fmt(e_idx[k])}")
    for k in sorted(set(a_idx) - set(e_idx), key=repr)[:MAX_DIFFS]:
        diffs.append(f"{table} dt={d}: UNEXPECTED row {dict(zip(key, k))}: {_fmt(a_idx[k])}")
    n = 0
    for k in sorted(set(a_idx) & set(e_idx), key=repr):
        a, e = a_idx[k], e_idx[k]
        bad = []
        for c, ty in cols:
            if c in key:
                continue
            av, ev = norm(a.get(c), ty), norm(e.get(c), ty)
            if not equal(av, ev, ty):
                bad.append(f"{c}: expected {ev!r} got {av!r}")
        if bad:
            n += 1
            if n <= MAX_DIFFS:
                diffs.append(f"{table} dt={d}: key {dict(zip(key, k))}: " + "; ".join(bad))
    if n > MAX_DIFFS:
        diffs.append(f"{table} dt={d}: ... {n - MAX_DIFFS} more rows differ")
    n_missing = len(set(e_idx) - set(a_idx))
    n_extra = len(set(a_idx) - set(e_idx))
    if n_missing > MAX_DIFFS or n_extra > MAX_DIFFS:
        diffs.append(f"{table} dt={d}: {n_missing} rows missing, {n_extra} unexpected in all")
    return diffs


def _fmt(r):
    return json.dumps({k: v for k, v in r.items()}, default=str, ensure_ascii=False)


def sorted_rows(rows):
    """Order-independent, exact image of a partition's rows (for rerun comparisons)."""
    return sorted(json.dumps(r, default=repr, sort_keys=True, ensure_ascii=False) for r in rows)


def check_day(s3, bucket, d, expected, tables=None):
    """Compare every table of day d with the oracle's rows.
    -> (problems, {table: actual rows}, {table: manifest})"""
    probs, actual, manifests = [], {}, {}
    for table in tables or TABLES:
        tbl, man, p = read_partition(s3, bucket, table, d)
        probs += p
        manifests[table] = man
        if tbl is None:
            continue
        probs += check_schema(table, tbl.schema)
        rows = tbl.to_pylist()
        actual[table] = rows
        probs += compare_rows(table, rows, expected[table], d)
    return probs, actual, manifests


# ---------------------------------------------------------------- Glue (infra/template.yaml)
def load_template(path):
    """CloudFormation YAML; !Ref/!Sub/!GetAtt… tags become plain values."""
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    def any_tag(loader, suffix, node):
        if isinstance(node, yaml.ScalarNode):
            return loader.construct_scalar(node)
        if isinstance(node, yaml.SequenceNode):
            return loader.construct_sequence(node, deep=True)
        return loader.construct_mapping(node, deep=True)

    Loader.add_multi_constructor("!", any_tag)
    with open(path) as f:
        return yaml.load(f, Loader=Loader)


def glue_tables(template_path):
    tpl = load_template(template_path)
    out = {}
    for rid, res in (tpl.get("Resources") or {}).items():
        if res.get("Type") != "AWS::Glue::Table":
            continue
        ti = res.get("Properties", {}).get("TableInput", {})
        sd = ti.get("StorageDescriptor", {})
        out[ti.get("Name")] = {
            "resource": rid,
            "columns": [(c["Name"], str(c["Type"]).lower().replace(" ", "")) for c in sd.get("Columns", [])],
            "partition_keys": [(c["Name"], str(c["Type"]).lower()) for c in ti.get("PartitionKeys", [])],
            "location": sd.get("Location"),
        }
    return out


def check_glue(template_path, schemas):
    """schemas: {table: pyarrow.Schema or None (then docs/tables.md types are used)}.
    -> list of problems; a missing Glue table is reported as such."""
    probs = []
    try:
        glue = glue_tables(template_path)
    except FileNotFoundError:
        return [f"Glue: {template_path} not found"]
    if not glue:
        return [f"Glue: no AWS::Glue::Table in {template_path} (not written yet?)"]
    for table in TABLES:
        g = glue.get(table)
        if g is None:
            probs.append(f"Glue: table {table} MISSING from {template_path}")
            continue
        schema = schemas.get(table)
        if schema is not None:
            want = [(f.name, arrow_to_glue(f.type)) for f in schema if f.name != "dt"]
            src = "Parquet"
        else:
            want = [(c, GLUE_TYPE[t]) for c, t in TABLES[table]["columns"]]
            src = "docs/tables.md"
        if dict(g["columns"]) != dict(want):
            gd, wd = dict(g["columns"]), dict(want)
            for c in sorted(set(gd) | set(wd)):
                if gd.get(c) != wd.get(c):
                    probs.append(f"Glue {table}.{c}: template {gd.get(c)!r}, {src} {wd.get(c)!r}")
        elif [c for c, _ in g["columns"]] != [c for c, _ in want]:
            # Athena maps Parquet columns by name: only worth a note.
            print(f"note: Glue {table}: column order differs from {src}")
        if g["partition_keys"] != [("dt", "string")] and [k for k, _ in g["partition_keys"]] != ["dt"]:
            probs.append(f"Glue {table}: partition keys {g['partition_keys']}, expected dt")
        if not str(g["location"]).rstrip("/").endswith(TABLES[table]["prefix"]):
            probs.append(f"Glue {table}: location {g['location']} does not end in {TABLES[table]['prefix']}")
    return probs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--bucket", required=True)
    ap.add_argument("--date", action="append", required=True)
    ap.add_argument("--data", action="append", required=True)
    ap.add_argument("--shops")
    ap.add_argument("--glue", default=os.path.join(os.path.dirname(__file__), "..", "..", "infra", "template.yaml"))
    a = ap.parse_args()
    from oracle import Oracle

    orc = Oracle(a.data, a.shops or os.path.join(a.data[0], "shops.json"))
    s3 = S3(a.endpoint)
    probs, schemas = [], {}
    for d in a.date:
        p, actual, _ = check_day(s3, a.bucket, d, orc.compute(d))
        probs += p
    for table in TABLES:
        tbl, _, _ = read_partition(s3, a.bucket, table, a.date[-1])
        schemas[table] = tbl.schema if tbl is not None else None
    probs += check_glue(a.glue, schemas)
    for p in probs:
        print(p)
    print("OK" if not probs else f"FAILED: {len(probs)} problems")
    sys.exit(1 if probs else 0)


if __name__ == "__main__":
    main()
