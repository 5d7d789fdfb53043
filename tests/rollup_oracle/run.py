#!/usr/bin/env python3
"""The rollup oracle scenario: generated data -> `omnilake rollup` on moto -> oracle comparison.

run.py --endpoint URL --bucket B --shops-table T --omnilake PATH_TO_CLI --workdir DIR
       [--seed 7 --days 21 --orders-per-day 2600] [--cli-timeout 3600]

1. generate into DIR/data (kept between runs with the same parameters), create the bucket,
   upload the base set, write the shops into the DynamoDB table T;
2. `omnilake rollup --from FIRST --to LAST`, then every table of every day must equal the oracle;
3. (a) idempotency: `rollup --date LAST` three times: identical rows, manifests list the same files;
   (b) late update: upload DIR/data/late, `rollup --from LAST-2 --to LAST`: those days equal the
       oracle over base+late, and day LAST-2 did change;
   (c) backfill order: a fresh bucket B-backfill with the base set: `rollup --date LAST` first
       (it may compute the missing days itself, or fail naming a missing day), then
       `--from FIRST --to LAST` gives exactly the rows of bucket B before the late upload;
4. Glue columns of infra/template.yaml against the Parquet schemas.
Exits 0 only if everything passed.
"""
import argparse
import concurrent.futures as cf
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import check  # noqa: E402
import generate  # noqa: E402
from oracle import Oracle  # noqa: E402
from tables_meta import TABLES  # noqa: E402

FAILURES = []
TIMINGS = []


def fail(section, msgs):
    for m in msgs:
        FAILURES.append(f"[{section}] {m}")
    for m in msgs[:40]:
        print(f"  FAIL [{section}] {m}")
    if len(msgs) > 40:
        print(f"  ... {len(msgs) - 40} more")


def timed(label, fn, *a, **kw):
    t = time.time()
    r = fn(*a, **kw)
    TIMINGS.append((label, time.time() - t))
    print(f"-- {label}: {time.time() - t:.1f}s", flush=True)
    return r


def boto(kind, endpoint):
    import boto3

    return boto3.client(kind, endpoint_url=endpoint, aws_access_key_id="testing",
                        aws_secret_access_key="testing", region_name="us-east-1")


def create_bucket(s3c, bucket):
    try:
        s3c.create_bucket(Bucket=bucket)
    except s3c.exceptions.BucketAlreadyOwnedByYou:
        pass


def upload(s3c, bucket, root):
    """Upload root/canonical/** under the same keys (the bucket layout)."""
    files = []
    for dirpath, _, names in os.walk(os.path.join(root, "canonical")):
        for n in names:
            p = os.path.join(dirpath, n)
            files.append((p, os.path.relpath(p, root).replace(os.sep, "/")))
    with cf.ThreadPoolExecutor(8) as ex:
        list(ex.map(lambda f: s3c.upload_file(f[0], bucket, f[1]), files))
    return len(files)


def put_shops(ddb, table, shops):
    for s in shops:
        ddb.put_item(TableName=table, Item={
            "pk": {"S": f"{s['format']}#{s['shop_id']}"}, "platform": {"S": s["format"]},
            "shop_id": {"S": s["shop_id"]}, "time_zone": {"S": s["time_zone"]},
            "currency": {"S": s["currency"]}, "country": {"S": "CN"},
            "location_id": {"S": s["location_id"]}, "secret_id": {"S": "unused"}})


class Cli:
    def __init__(self, a):
        self.a = a
        self.n = 0

    def run(self, bucket, state_dir, args, label):
        """-> (return code, combined output)."""
        env = dict(os.environ, AWS_ENDPOINT_URL=self.a.endpoint, OMNILAKE_BUCKET=bucket,
                   OMNILAKE_SHOPS_TABLE=self.a.shops_table, AWS_ACCESS_KEY_ID="testing",
                   AWS_SECRET_ACCESS_KEY="testing", AWS_REGION="us-east-1",
                   AWS_DEFAULT_REGION="us-east-1", OMNILAKE_STATE_DIR=state_dir)
        self.n += 1
        log = os.path.join(self.a.workdir, f"cli-{self.n:02d}.log")
        cmd = [self.a.omnilake, "rollup"] + args
        print(f"$ {' '.join(cmd)}   (bucket {bucket}, log {log})", flush=True)
        t = time.time()
        try:
            p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               timeout=self.a.cli_timeout)
            rc, out = p.returncode, p.stdout.decode(errors="replace")
        except subprocess.TimeoutExpired as e:
            rc, out = -9, (e.stdout or b"").decode(errors="replace") + "\n<timeout>"
        TIMINGS.append((label, time.time() - t))
        with open(log, "w") as f:
            f.write(out)
        print(f"-- {label}: rc={rc} in {time.time() - t:.1f}s", flush=True)
        if rc != 0:
            print("   last output lines:\n   " + "\n   ".join(out.strip().splitlines()[-15:]))
        return rc, out


def read_day(s3, bucket, d):
    """{table: (rows, manifest)} of one day, without comparison."""
    out = {}
    for table in TABLES:
        tbl, man, _ = check.read_partition(s3, bucket, table, d)
        out[table] = (tbl.to_pylist() if tbl is not None else None, man)
    return out


def same_rows(section, d, got, want):
    """Exact equality of two runs' partitions (rows in any order)."""
    probs = []
    for table in TABLES:
        g, w = got.get(table), want.get(table)
        if g is None or w is None:
            probs.append(f"{table} dt={d}: partition missing ({'new' if g is None else 'reference'})")
        elif check.sorted_rows(g) != check.sorted_rows(w):
            diffs = check.compare_rows(table, g, w, d)
            probs += diffs or [f"{table} dt={d}: rows differ (same keys and values within tolerance, "
                               f"but not bit-identical)"]
    if probs:
        fail(section, probs)
    return not probs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--bucket", required=True)
    ap.add_argument("--shops-table", required=True)
    ap.add_argument("--omnilake", required=True, help="path to the omnilake CLI binary")
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--days", type=int, default=21)
    ap.add_argument("--start", default="2026-10-01")
    ap.add_argument("--orders-per-day", type=int, default=2600)
    ap.add_argument("--cli-timeout", type=int, default=3600)
    ap.add_argument("--template", default=os.path.join(HERE, "..", "..", "infra", "template.yaml"))
    a = ap.parse_args()
    a.workdir = os.path.abspath(a.workdir)
    os.makedirs(a.workdir, exist_ok=True)
    t_all = time.time()

    # ---------------------------------------------------------------- data
    data = os.path.join(a.workdir, "data")
    import hashlib  # regenerate when the parameters or the generator itself changed

    params = {"seed": a.seed, "days": a.days, "start": a.start, "orders_per_day": a.orders_per_day,
              "generator": hashlib.sha256(open(generate.__file__, "rb").read()).hexdigest()}
    pfile = os.path.join(a.workdir, "data-params.json")
    if not (os.path.exists(pfile) and json.load(open(pfile)) == params
            and os.path.exists(os.path.join(data, "stats.json"))):
        shutil.rmtree(data, ignore_errors=True)
        timed("generate", generate.generate, data, a.seed, a.days, dt.date.fromisoformat(a.start),
              a.orders_per_day)
        json.dump(params, open(pfile, "w"))
    stats = json.load(open(os.path.join(data, "stats.json")))
    shops = json.load(open(os.path.join(data, "shops.json")))
    first, last = dt.date.fromisoformat(stats["first"]), dt.date.fromisoformat(stats["last"])
    days = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
    late_from = last - dt.timedelta(days=2)
    print(f"dataset: {stats['order_versions']} order versions, {stats['orders']} orders, "
          f"{stats['latest_lines']} lines, {len(days)} days {first}..{last}")

    s3c, ddb = boto("s3", a.endpoint), boto("dynamodb", a.endpoint)
    s3 = check.S3(a.endpoint)
    cli = Cli(a)

    def fresh_state(name):
        p = os.path.join(a.workdir, name)
        shutil.rmtree(p, ignore_errors=True)
        os.makedirs(p)
        return p

    create_bucket(s3c, a.bucket)
    n = timed("upload base", upload, s3c, a.bucket, data)
    print(f"   {n} objects")
    put_shops(ddb, a.shops_table, shops)
    state1 = fresh_state("state-main")

    # ---------------------------------------------------------------- main run
    rc, _ = cli.run(a.bucket, state1, ["--from", str(first), "--to", str(last)], "rollup FIRST..LAST")
    if rc != 0:
        fail("main", [f"rollup --from {first} --to {last} exited {rc}"])
        return finish(t_all)
    orc = timed("oracle load (base)", Oracle, [data], shops)
    expected = timed("oracle 21 days", lambda: {d: orc.compute(d) for d in days})
    snapshot, counts = {}, {t: [0, 0] for t in TABLES}

    def compare_all():
        for d in days:
            probs, actual, mans = check.check_day(s3, a.bucket, d, expected[d])
            if probs:
                fail("main", probs)
            snapshot[d] = {t: actual.get(t) for t in TABLES}
            snapshot[d]["_manifests"] = mans
            for t in TABLES:
                counts[t][0] += len(actual.get(t) or [])
                counts[t][1] += len(expected[d][t])
    timed("compare main run", compare_all)

    # ---------------------------------------------------------------- (a) idempotency
    ref = snapshot[last]
    for i in range(3):
        rc, _ = cli.run(a.bucket, state1, ["--date", str(last)], f"rerun LAST #{i + 1}")
        if rc != 0:
            fail("idempotency", [f"rerun #{i + 1} of {last} exited {rc}"])
            continue
        got = read_day(s3, a.bucket, last)
        same_rows(f"idempotency #{i + 1}", last, {t: v[0] for t, v in got.items()}, ref)
        for t in TABLES:
            m_old, m_new = ref["_manifests"].get(t) or {}, got[t][1] or {}
            if sorted(m_old.get("files", [])) != sorted(m_new.get("files", [])):
                fail(f"idempotency #{i + 1}", [f"{t}: manifest files {m_new.get('files')} != {m_old.get('files')}"])
            if m_old.get("input_fingerprint") != m_new.get("input_fingerprint"):
                fail(f"idempotency #{i + 1}", [f"{t}: input_fingerprint changed without input change"])

    # ---------------------------------------------------------------- (b) late update
    n = timed("upload late", upload, s3c, a.bucket, os.path.join(data, "late"))
    print(f"   {n} late objects")
    rc, _ = cli.run(a.bucket, state1, ["--from", str(late_from), "--to", str(last)], "rollup LAST-2..LAST (late)")
    if rc != 0:
        fail("late", [f"rollup --from {late_from} --to {last} exited {rc}"])
    else:
        orc2 = timed("oracle load (base+late)", Oracle, [data, os.path.join(data, "late")], shops)
        changed = False
        for d in [late_from + dt.timedelta(days=i) for i in range(3)]:
            exp = orc2.compute(d)
            probs, actual, _ = check.check_day(s3, a.bucket, d, exp)
            if probs:
                fail("late", probs)
            if d == late_from:
                changed = any(check.sorted_rows(actual.get(t) or []) != check.sorted_rows(snapshot[d][t] or [])
                              for t in TABLES)
                if exp == expected[d]:
                    fail("late", ["oracle: the late set does not change LAST-2 (generator problem)"])
        if not changed:
            fail("late", [f"day {late_from} did not change after the late upload"])

    # ---------------------------------------------------------------- (c) backfill order
    b2 = f"{a.bucket}-backfill"
    create_bucket(s3c, b2)
    timed("upload base (backfill bucket)", upload, s3c, b2, data)
    state2 = fresh_state("state-backfill")
    rc, out = cli.run(b2, state2, ["--date", str(last)], "rollup --date LAST on an empty history")
    if rc == 0:
        print("   the CLI computed the missing days itself")
        got = read_day(s3, b2, last)
        same_rows("backfill --date LAST", last, {t: v[0] for t, v in got.items()}, snapshot[last])
    else:
        named = sorted({m for m in re.findall(r"\d{4}-\d{2}-\d{2}", out) if m < str(last)})
        if named:
            print(f"   refused, naming {named[:3]}")
        else:
            fail("backfill", [f"rollup --date {last} failed without naming a missing day: "
                              f"{out.strip()[-300:]!r}"])
    rc, _ = cli.run(b2, state2, ["--from", str(first), "--to", str(last)], "rollup FIRST..LAST (backfill bucket)")
    if rc != 0:
        fail("backfill", [f"rollup --from {first} --to {last} exited {rc}"])
    else:
        for d in days:
            got = read_day(s3, b2, d)
            same_rows("backfill", d, {t: v[0] for t, v in got.items()}, snapshot[d])

    # ---------------------------------------------------------------- Glue
    schemas = {}
    for t in TABLES:
        tbl, _, _ = check.read_partition(s3, a.bucket, t, last)
        schemas[t] = tbl.schema if tbl is not None else None
    g = check.check_glue(a.template, schemas)
    if g:
        fail("glue", g)

    print("\nrows (rollup / oracle, all days of the main run):")
    for t, (got, want) in counts.items():
        print(f"  {t:22s} {got:8d} / {want:8d}")
    return finish(t_all)


def finish(t_all):
    print("\ntimings:")
    for label, s in TIMINGS:
        print(f"  {label:45s} {s:7.1f}s")
    print(f"  {'total':45s} {time.time() - t_all:7.1f}s")
    if FAILURES:
        print(f"\nFAILED: {len(FAILURES)} problems (first: {FAILURES[0]})")
        return 1
    print("\nALL PASSED")
    return 0


if __name__ == "__main__":
    sys.exit(main())
