#!/usr/bin/env python3
"""Self-test of the oracle and the checker, without the Rust CLI.

1. Generates a small dataset (or uses --data), runs the SQL oracle for every day and checks it
   against a second, plain-Python computation of the trickiest columns (stock with counts,
   weighted-average cost and its rounding, COGS, customers through merges), plus cross-table
   identities (opening = previous closing, sums of sales_daily = shop_daily, ...).
2. Starts a moto server on a free port, writes the oracle's rows of one day as Parquet with
   manifests, and checks that check.py finds no difference, that it does find a one-cent
   change, a missing row and a float column; and runs the Glue-template check.

Usage: selftest.py [--data DIR] [--keep DIR]; exit 0 when everything holds.
"""
import argparse
import datetime as dt
import glob
import gzip
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.parquet as pq

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import check  # noqa: E402
import generate  # noqa: E402
from oracle import Oracle  # noqa: E402
from tables_meta import TABLES  # noqa: E402

FAILS = []


def expect(cond, msg):
    if not cond:
        FAILS.append(msg)
        print("FAIL:", msg)


def jsonl(d, sub):
    for f in sorted(glob.glob(os.path.join(d, "canonical", sub, "dt=*", "*.jsonl.gz"))):
        with gzip.open(f, "rt") as fh:
            for line in fh:
                yield json.loads(line)


def cents(s):
    return int((Decimal(s) * 100).to_integral_exact())


def round_half_away(fr):
    n = abs(fr.numerator) * 2 + fr.denominator
    q = n // (2 * fr.denominator)
    return q if fr >= 0 else -q


# ------------------------------------------------------------------ plain-Python second opinion
class PyModel:
    def __init__(self, dirs, shops):
        self.shop = {s["shop_id"]: s for s in shops}
        latest = {}
        for d in dirs:
            for o in jsonl(d, "orders"):
                k = (o["platform"], o["shop_id"], o["order_id"])
                if k not in latest or o["version"] > latest[k]["version"]:
                    latest[k] = o
        self.orders = latest
        ml = {}
        for d in dirs:
            for m in jsonl(d, "order_members"):
                k = (m["platform"], m["shop_id"], m["order_id"])
                if k not in ml or m["version"] > ml[k]["version"]:
                    ml[k] = m
        alias = {}
        for d in dirs:
            for m in jsonl(d, "member_merges"):
                for x in m["merged_from"]:
                    alias[x] = m["member_id"]

        def root(m):
            seen = 0
            while m in alias and seen < 64:
                m, seen = alias[m], seen + 1
            return m

        self.member = {k: root(v["member_id"]) for k, v in ml.items()}
        mv = {}
        for d in dirs:
            for m in jsonl(d, "inventory"):
                mv[m["movement_id"]] = m
        self.mv = list(mv.values())
        prod = {}
        for d in dirs:
            for p in jsonl(d, "products"):
                if p["sku"] not in prod or p.get("updated_at", "") > prod[p["sku"]].get("updated_at", ""):
                    prod[p["sku"]] = p
        self.prod = prod
        self.sh = ZoneInfo("Asia/Shanghai")

    def tz(self, o):
        return ZoneInfo(self.shop[o["shop_id"]]["time_zone"])

    def ldate(self, s, tz):
        return dt.datetime.fromisoformat(s).astimezone(tz).date()

    def loc(self, o):
        return o.get("store_id") or self.shop[o["shop_id"]]["location_id"]

    def stock(self):
        """closing and adjusted per (loc, sku, day), simulated event by event."""
        ev = defaultdict(list)
        for m in self.mv:
            if m["type"] == "po_shipped":
                continue
            at = dt.datetime.fromisoformat(m["at"])
            sign = {"receipt": 1, "transfer_in": 1, "transfer_out": -1, "adjustment": 1, "count": 0}[m["type"]]
            ev[(m["location_id"], m["sku"])].append(
                (at.astimezone(self.sh).date(), at, m["type"] == "count", m["movement_id"], sign * m["quantity"], m))
        for k, o in self.orders.items():
            if o["status"] == "cancelled":
                continue
            tz = self.tz(o)
            at = dt.datetime.fromisoformat(o["placed_at"])
            for i, l in enumerate(o["lines"]):
                ev[(self.loc(o), l["sku"])].append((at.astimezone(tz).date(), at, False, f"s{k}{i}", -l["quantity"], None))
            for rf in o["refunds"]:
                at = dt.datetime.fromisoformat(rf["at"])
                for x in rf["lines"]:
                    ev[(self.loc(o), x["sku"])].append((at.astimezone(tz).date(), at, False, f"r{k}{rf['refund_id']}", x["quantity"], None))
        out = {}
        for pair, es in ev.items():
            es.sort(key=lambda e: (e[0], e[1], e[2], e[3] if e[2] else ""))
            stock = 0
            for day, at, is_count, _, delta, m in es:
                c = out.setdefault(pair + (day,), {"adjusted": 0})
                if is_count:
                    c["adjusted"] += m["quantity"] - stock
                    stock = m["quantity"]
                else:
                    if m is not None and m["type"] == "adjustment":
                        c["adjusted"] += delta
                    stock += delta
                c["closing"] = stock
        return out

    def wac(self, loc, sku, day):
        q, c = 0, Fraction(0)
        for m in self.mv:
            if m["type"] == "receipt" and m["location_id"] == loc and m["sku"] == sku \
                    and dt.datetime.fromisoformat(m["at"]).astimezone(self.sh).date() <= day:
                q += m["quantity"]
                c += m["quantity"] * Fraction(Decimal(m["unit_cost"]))
        if q:
            return c / q
        p = self.prod.get(sku)
        return Fraction(Decimal(p["standard_cost"])) if p and p.get("standard_cost") else Fraction(0)


def py_crosscheck(model, res_by_day, days):
    stock = model.stock()
    wac_cache = {}

    def wac(loc, sku, d):
        k = (loc, sku, d)
        if k not in wac_cache:
            wac_cache[k] = model.wac(loc, sku, d)
        return wac_cache[k]

    last_closing = {}
    for d in days:
        res = res_by_day[d]
        n = 0
        for r in res["inventory_daily"]:
            k = (r["location_id"], r["sku"])
            s = stock.get(k + (d,))
            closing = s["closing"] if s else last_closing.get(k, 0)
            adj = s["adjusted"] if s else 0
            expect(r["closing_qty"] == closing, f"{d} {k} closing sql {r['closing_qty']} py {closing}")
            expect(r["adjusted_qty"] == adj, f"{d} {k} adjusted sql {r['adjusted_qty']} py {adj}")
            expect(r["opening_qty"] == last_closing.get(k, 0), f"{d} {k} opening")
            w = wac(k[0], k[1], d)
            expect(r["avg_unit_cost"] == Decimal(round_half_away(w * 100)).scaleb(-2), f"{d} {k} avg_unit_cost")
            expect(r["closing_value"] == Decimal(round_half_away(w * 100 * closing)).scaleb(-2), f"{d} {k} closing_value")
            n += 1
        for r in res["inventory_daily"]:
            last_closing[(r["location_id"], r["sku"])] = r["closing_qty"]
        # sales_daily cogs with Fraction arithmetic, from the Python orders.
        units = defaultdict(int)
        for k, o in model.orders.items():
            if o["status"] == "cancelled":
                continue
            tz = model.tz(o)
            key = (o["platform"], o["shop_id"], o.get("store_id"), None, o["currency"])
            if model.ldate(o["placed_at"], tz) == d:
                for l in o["lines"]:
                    units[key[:3] + (l["sku"], key[4], model.loc(o))] += l["quantity"]
            for rf in o["refunds"]:
                if model.ldate(rf["at"], tz) == d:
                    for x in rf["lines"]:
                        units[key[:3] + (x["sku"], key[4], model.loc(o))] -= x["quantity"]
        cogs = defaultdict(int)
        for (p, s, st, sku, cur, loc), u in units.items():
            cogs[(p, s, st, sku, cur)] += round_half_away(wac(loc, sku, d) * 100 * u)
        sd = {(r["platform"], r["shop_id"], r["store_id"], r["sku"], r["currency"]): r for r in res["sales_daily"]}
        expect(set(sd) == set(cogs), f"{d} sales_daily keys differ: {len(set(sd) ^ set(cogs))}")
        for k, c in cogs.items():
            if k in sd:
                expect(sd[k]["cogs"] == Decimal(c).scaleb(-2), f"{d} {k} cogs sql {sd[k]['cogs']} py {c}")
        # customers_daily 'all': active and new through merges.
        first, active = {}, set()
        for k, o in model.orders.items():
            m = model.member.get(k)
            if o["status"] == "cancelled" or m is None:
                continue
            pd_ = model.ldate(o["placed_at"], model.tz(o))
            first[m] = min(first.get(m, pd_), pd_)
            if d - dt.timedelta(days=364) <= pd_ <= d:
                active.add(m)
        allrow = [r for r in res["customers_daily"] if r["platform"] == "all"][0]
        expect(allrow["active_customers"] == len(active), f"{d} active sql {allrow['active_customers']} py {len(active)}")
        expect(allrow["new_customers"] == sum(1 for v in first.values() if v == d), f"{d} new customers")
        # identities between tables
        shop = {(r["platform"], r["shop_id"]): r for r in res["shop_daily"]}
        for (p, s), r in shop.items():
            sdn = sum(x["net_sales"] for x in res["sales_daily"] if (x["platform"], x["shop_id"]) == (p, s))
            hn = sum(x["net_sales"] for x in res["orders_hourly"] if (x["platform"], x["shop_id"]) == (p, s))
            ho = sum(x["orders"] for x in res["orders_hourly"] if (x["platform"], x["shop_id"]) == (p, s))
            expect(sdn == r["net_sales"], f"{d} {p}: sales_daily net {sdn} != shop_daily {r['net_sales']}")
            expect(hn == r["net_sales"], f"{d} {p}: orders_hourly net {hn} != shop_daily {r['net_sales']}")
            expect(ho == r["orders"], f"{d} {p}: orders_hourly orders {ho} != shop_daily {r['orders']}")
        ol_orders = {(r["platform"], r["shop_id"], r["order_id"]) for r in res["order_lines"] if r["status"] != "cancelled"}
        expect(len(ol_orders) == sum(r["orders"] for r in res["shop_daily"]), f"{d} order_lines orders != shop_daily orders")
        for r in res["inventory_daily"]:
            expect(r["opening_qty"] + r["received_qty"] - r["sold_qty"] + r["returned_qty"] + r["adjusted_qty"]
                   + r["transfer_in_qty"] - r["transfer_out_qty"] == r["closing_qty"], f"{d} closing formula {r}")
    return True


# ------------------------------------------------------------------ moto round trip
ARROW = {"s": pa.string(), "i64": pa.int64(), "i32": pa.int32(), "dec": pa.decimal128(18, 2),
         "f64": pa.float64(), "date": pa.date32(), "ts": pa.timestamp("us", tz="UTC")}


def write_day(s3, bucket, d, res):
    for table, rows in res.items():
        schema = pa.schema([(c, ARROW[t]) for c, t in TABLES[table]["columns"]])
        tbl = pa.Table.from_pylist(rows, schema=schema)
        base = check.part_dir(bucket, table, d)
        pq.write_table(tbl, f"{base}/part-00000.parquet", filesystem=s3.fs, compression="zstd")
        man = {"table": table, "dt": str(d), "rows": len(rows), "files": [f"part-00000.parquet"],
               "input_fingerprint": "x", "code_version": "selftest", "run_id": "r", "started_at": "",
               "finished_at": ""}
        with s3.fs.open_output_stream(f"{base}/_manifest.json") as f:
            f.write(json.dumps(man).encode())


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def moto_roundtrip(res, d):
    port = free_port()
    moto = os.path.join(os.path.dirname(sys.executable), "moto_server")
    proc = subprocess.Popen([moto, "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        endpoint = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        import boto3
        boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="testing",
                     aws_secret_access_key="testing", region_name="us-east-1").create_bucket(Bucket="selftest")
        s3 = check.S3(endpoint)
        write_day(s3, "selftest", d, res)
        probs, actual, _ = check.check_day(s3, "selftest", d, res)
        expect(not probs, f"check_day on the oracle's own rows: {probs[:5]}")
        # It must see a one-cent change, a dropped row and a double written for a decimal.
        bad = {k: [dict(r) for r in v] for k, v in res.items()}
        bad["sales_daily"][0]["cogs"] += Decimal("0.01")
        bad["shop_daily"] = bad["shop_daily"][1:]
        write_day(s3, "selftest", d, bad)
        probs, _, _ = check.check_day(s3, "selftest", d, res)
        expect(any("cogs" in p for p in probs), "one-cent cogs change not detected")
        expect(any("MISSING" in p and "shop_daily" in p for p in probs), "missing shop_daily row not detected")
        schemas = {}
        for t in TABLES:
            tbl, _, _ = check.read_partition(s3, "selftest", t, d)
            schemas[t] = tbl.schema
        glue = check.check_glue(os.path.join(HERE, "..", "..", "infra", "template.yaml"), schemas)
        print("Glue check against the docs-typed Parquet:", glue or "OK")
        return glue
    finally:
        proc.terminate()
        proc.wait(10)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data")
    ap.add_argument("--keep")
    a = ap.parse_args()
    if a.keep:
        return run(a.keep, a.data)
    tmp = tempfile.mkdtemp(prefix="rollup-selftest-")
    try:
        return run(tmp, a.data)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run(tmp, data):
    if not data:
        data = os.path.join(tmp, "data")
        t = time.time()
        generate.generate(data, seed=11, days=9, start=dt.date(2026, 10, 1), orders_per_day=400)
        print(f"generated small set in {time.time() - t:.1f}s")
    shops = json.load(open(os.path.join(data, "shops.json")))
    st = json.load(open(os.path.join(data, "stats.json")))
    first, last = dt.date.fromisoformat(st["first"]), dt.date.fromisoformat(st["last"])
    days = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
    for dirs in ([data], [data, os.path.join(data, "late")]):
        t = time.time()
        orc = Oracle(dirs, shops)
        res = {d: orc.compute(d) for d in days}
        print(f"oracle {len(dirs)} dir(s): load {orc.load_seconds:.1f}s, {len(days)} days in {time.time() - t:.1f}s")
        py_crosscheck(PyModel(dirs, shops), res, days)
    late_day = last - dt.timedelta(days=2)
    base = Oracle([data], shops).compute(late_day)
    late = Oracle([data, os.path.join(data, "late")], shops).compute(late_day)
    expect(base != late, "the late set does not change day LAST-2")
    moto_roundtrip(res[days[-1]], days[-1])
    print("selftest:", "OK" if not FAILS else f"{len(FAILS)} failures")
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
