#!/usr/bin/env python3
"""Stand-in for `omnilake rollup`, for testing run.py itself (never a test of the Rust code).

    fake_cli.py rollup (--date D | --from A --to B)

Reads the same environment as the CLI (AWS_ENDPOINT_URL, OMNILAKE_BUCKET, OMNILAKE_STATE_DIR),
downloads canonical/ from the bucket, computes the days with the oracle and writes each table's
part-00000.parquet then its _manifest.json. With FAKE_REFUSE_GAP=1 it refuses a day whose
previous day is not in the state dir, naming it, like a CLI that does not backfill by itself.
"""
import argparse
import datetime as dt
import hashlib
import json
import os
import sys
import tempfile
import uuid

import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check  # noqa: E402
from oracle import Oracle  # noqa: E402
from tables_meta import TABLES  # noqa: E402

ARROW = {"s": pa.string(), "i64": pa.int64(), "i32": pa.int32(), "dec": pa.decimal128(18, 2),
         "f64": pa.float64(), "date": pa.date32(), "ts": pa.timestamp("us", tz="UTC")}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", choices=["rollup"])
    ap.add_argument("--date")
    ap.add_argument("--from", dest="frm")
    ap.add_argument("--to")
    a = ap.parse_args()
    import boto3

    ep, bucket = os.environ["AWS_ENDPOINT_URL"], os.environ["OMNILAKE_BUCKET"]
    state = os.environ["OMNILAKE_STATE_DIR"]
    s3c = boto3.client("s3", endpoint_url=ep)
    tmp = tempfile.mkdtemp(prefix="fake-cli-")
    keys = []
    for page in s3c.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="canonical/"):
        for o in page.get("Contents", []):
            keys.append((o["Key"], o["ETag"]))
            p = os.path.join(tmp, o["Key"])
            os.makedirs(os.path.dirname(p), exist_ok=True)
            s3c.download_file(bucket, o["Key"], p)
    fp = hashlib.sha256("".join(f"{k}{e}" for k, e in sorted(keys)).encode()).hexdigest()
    shops = []
    for s in boto3.client("dynamodb", endpoint_url=ep).scan(TableName=os.environ["OMNILAKE_SHOPS_TABLE"])["Items"]:
        shops.append({"format": s["platform"]["S"], "shop_id": s["shop_id"]["S"],
                      "time_zone": s["time_zone"]["S"], "currency": s["currency"]["S"],
                      "location_id": s["location_id"]["S"]})
    if a.date:
        days = [dt.date.fromisoformat(a.date)]
    else:
        f, t = dt.date.fromisoformat(a.frm), dt.date.fromisoformat(a.to)
        days = [f + dt.timedelta(days=i) for i in range((t - f).days + 1)]
    done = set(os.listdir(state))
    parts = sorted(p for p in os.listdir(os.path.join(tmp, "canonical", "orders")) if p.startswith("dt="))
    if os.environ.get("FAKE_REFUSE_GAP") == "1":
        prev = str(days[0] - dt.timedelta(days=1))
        if prev not in done and f"dt={days[0]}" > parts[0]:
            print(f"error: day {prev} has not been rolled up; run `omnilake rollup --from {prev}`")
            sys.exit(2)
    orc = Oracle([tmp], shops)
    fs = check.S3(ep).fs
    for d in days:
        res = orc.compute(d)
        for table, rows in res.items():
            schema = pa.schema([(c, ARROW[t]) for c, t in TABLES[table]["columns"]])
            base = check.part_dir(bucket, table, d)
            pq.write_table(pa.Table.from_pylist(rows, schema=schema), f"{base}/part-00000.parquet",
                           filesystem=fs, compression="zstd")
            man = {"table": table, "dt": str(d), "rows": len(rows), "files": ["part-00000.parquet"],
                   "input_fingerprint": fp, "code_version": "fake", "run_id": str(uuid.uuid4()),
                   "started_at": "", "finished_at": ""}
            with fs.open_output_stream(f"{base}/_manifest.json") as fh:
                fh.write(json.dumps(man).encode())
        open(os.path.join(state, str(d)), "w").close()
        print(f"rolled up {d}")


if __name__ == "__main__":
    main()
