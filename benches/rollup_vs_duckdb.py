#!/usr/bin/env python3
"""Benchmark: `omnilake rollup` (local-disk mode) against DuckDB on one business day.

    .venv/bin/python benches/rollup_vs_duckdb.py [--runs 3] [--omnilake target/release/omnilake]

1. Generates (once, cached under target/bench-data/rollup-5m/ with a params stamp) one business
   day, 2026-11-02, of canonical data laid out like the data bucket: 5,000,000 order lines in
   ~2.06M order versions (~1.5M orders, 1-3 versions each: paid -> shipped -> refunded) in 200
   gzip JSONL files, a few thousand inventory movements, ~5,000 products and shops.json. Field
   names follow tests/rollup_oracle/generate.py (`to_json`) and shared/src/canonical/.
2. DuckDB peer (a fresh `python ... duckdb-child` process, threads=2): reads and parses the same
   jsonl.gz files with read_json and explicit columns (as tests/rollup_oracle/oracle.py does),
   computes `sales_daily` and `inventory_daily` of that day from an empty prior state per
   docs/tables.md, and COPYs both to Parquet (zstd) in a temp dir.
3. omnilake: `omnilake rollup --input-dir DATA --shops DATA/shops.json --date D --output-dir OUT`
   (every rollup table of the day). A missing binary or a failing subcommand is reported and the
   DuckDB figures are still printed.
4. After one untimed warm-up read of the files, runs both sides alternately (omnilake first),
   reports wall time and the child's peak RSS per run, medians, omnilake/duckdb ratio, input MB/s,
   PASS/FAIL of the targets (ratio <= 0.5, omnilake peak RSS <= 1024 MiB), a row-count and totals
   sanity check of the two outputs, and writes DATA/last-result.json.

Generation: `random.Random` seeded per worker, gzip mtime 0, so the same params give the same
bytes. `--lines N` makes a smaller set (use another --data-dir) for a quick test.
"""
import argparse
import datetime as dt
import glob
import gzip
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GEN_VERSION = 1
DATE = "2026-11-02"
TZ_NAME = "Asia/Shanghai"
TZ_OFF = "+08:00"
TZ_SECS = 8 * 3600
# epoch ms of DATE 00:00 local (+08:00)
DAY0_MS = int(dt.datetime(2026, 11, 2, tzinfo=dt.timezone(dt.timedelta(hours=8))).timestamp() * 1000)
N_SKUS = 5000
N_FILES = 200
WORKERS = 2
GZ_LEVEL = 5
TARGET_RSS_MIB = 1024
TARGET_RATIO = 0.5

# ---------------------------------------------------------------------------------- shops
# 20 shops, all in Asia/Shanghai: format (shops table), shop_id, platform, currency, location,
# share of the day's orders. POS shops (format "standard", platform "pos") sell from stores.
_SHOP_DEFS = (
    [("shopify", f"sfy-{i:02d}", "shopify", "USD" if i == 5 else "CNY",
      "WH-INTL" if i == 5 else ["WH-SH", "WH-BJ", "WH-GZ"][i % 3], w)
     for i, w in zip(range(1, 6), (8, 6, 5, 3, 3))]
    + [("woocommerce", f"woo-{i:02d}", "woocommerce", "CNY", ["WH-SH", "WH-BJ", "WH-GZ"][i % 3], w)
       for i, w in zip(range(1, 5), (6, 4, 3, 2))]
    + [("youzan", f"yz-{i:02d}", "youzan", "CNY", ["WH-SH", "WH-BJ", "WH-GZ"][i % 3], w)
       for i, w in zip(range(1, 7), (10, 8, 6, 5, 4, 2))]
    + [("standard", f"pos-{i:02d}", "pos", "CNY", f"WH-POS-{i:02d}", w)
       for i, w in zip(range(1, 6), (7, 6, 5, 4, 3))]
)
CITIES = ["上海", "北京", "广州", "深圳", "杭州", "成都", "南京", "武汉", "苏州", "西安"]
# 30 POS stores, 6 per POS shop: (store_id, shop_id, city, salespeople)
STORES = [(f"ST-{i + 1:02d}", f"pos-{i // 6 + 1:02d}", CITIES[i % len(CITIES)],
           [f"sp-{i + 1:02d}-{k}" for k in range(3)]) for i in range(30)]


def shops_json():
    return [{"format": f, "shop_id": s, "time_zone": TZ_NAME, "currency": c, "location_id": loc,
             "channels": [p]} for f, s, p, c, loc, _ in _SHOP_DEFS]


# ---------------------------------------------------------------------------------- products
def products(seed):
    """[(sku, price_cents_cny, std_cost_cents or None, requires_installation, category)]"""
    r = random.Random(seed * 7919 + 1)
    out = []
    for i in range(N_SKUS):
        sku = f"SKU-{i + 1:05d}"
        kind = r.random()
        if kind < 0.08:
            cat, price = "purifier", r.randrange(999, 9999) * 100
        elif kind < 0.15:
            cat, price = "appliance", r.randrange(499, 4999) * 100
        elif kind < 0.65:
            cat, price = "filter", r.randrange(29, 599) * 100 + r.choice([0, 50, 90])
        else:
            cat, price = "accessory", r.randrange(9, 399) * 100 + r.choice([0, 50, 90])
        std = None if r.random() < 0.02 else price * r.randrange(35, 60) // 100
        inst = cat in ("purifier", "appliance") and r.random() < 0.7
        out.append((sku, price, std, inst, cat))
    return out


def money(c):
    sign = "-" if c < 0 else ""
    c = abs(c)
    return f"{sign}{c // 100}.{c % 100:02d}"


def ts_local(sec, ms=None):
    """Local seconds since DATE 00:00 (may exceed a day) -> RFC 3339 with +08:00."""
    day, s = divmod(sec, 86400)
    d = _DAYS[day]
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    if ms is None:
        return f"{d}T{h:02d}:{m:02d}:{s:02d}{TZ_OFF}"
    return f"{d}T{h:02d}:{m:02d}:{s:02d}.{ms:03d}{TZ_OFF}"


_D0 = dt.date.fromisoformat(DATE)
_DAYS = [str(_D0 + dt.timedelta(days=k)) for k in range(-1, 8)]
_DAYS = _DAYS[1:] + _DAYS[:1]  # index -1 -> the day before


# ---------------------------------------------------------------------------------- orders
def _gen_orders_worker(args):
    """Writes this worker's share of part files; returns stats."""
    wid, out_dir, lines_target, file_ids, seed = args
    r = random.Random(seed * 1_000_003 + wid)
    rnd = r.random
    rr = r.randrange
    prods = products(seed)
    # Zipf-ish SKU popularity, sampled through a 65536-slot table.
    w = [1.0 / (i + 20) ** 1.05 for i in range(N_SKUS)]
    order_idx = list(range(N_SKUS))
    random.Random(seed).shuffle(order_idx)
    tot = sum(w)
    table = []
    acc = 0.0
    k = 0
    for slot in range(65536):
        x = (slot + 0.5) / 65536 * tot
        while acc + w[k] < x and k < N_SKUS - 1:
            acc += w[k]
            k += 1
        table.append(order_idx[k])
    sku_head = [f'{{"sku":"{p[0]}","quantity":' for p in prods]
    sku_name = [p[0] for p in prods]
    price = {"CNY": [p[1] for p in prods],
             "USD": [max(p[1] // 700, 1) * 100 - 1 for p in prods]}
    price_s = {c: [money(x) for x in v] for c, v in price.items()}
    shop_w = [s[5] for s in _SHOP_DEFS]
    shop_cum = []
    a = 0
    for x in shop_w:
        a += x
        shop_cum.append(a)
    stores_of = {}
    for st in STORES:
        stores_of.setdefault(st[1], []).append(st)
    qty_choices = [1, 1, 1, 1, 2, 2, 3, 4, 6]
    nlines_choices = [1] * 35 + [2] * 25 + [3] * 18 + [4] * 11 + [5] * 7 + [6] * 4
    disc_pct = [5, 10, 15, 20]

    files = {fid: [] for fid in file_ids}
    sizes = {fid: 0 for fid in file_ids}
    gz = {}
    for fid in file_ids:
        p = os.path.join(out_dir, f"part-{fid:03d}.jsonl.gz")
        gz[fid] = gzip.GzipFile(filename="", fileobj=open(p, "wb"), mode="wb",
                                compresslevel=GZ_LEVEL, mtime=0)
    raw_bytes = 0
    n_versions = 0
    n_lines = 0
    n_orders = 0
    remaining = lines_target
    seq = 0
    raw_n = 0
    utc_days = {k: str(_D0 + dt.timedelta(days=k)) for k in range(-1, 8)}

    def emit(rec):
        nonlocal raw_bytes
        fid = file_ids[rr(len(file_ids))]
        b = files[fid]
        b.append(rec)
        sizes[fid] += 1
        if sizes[fid] >= 2000:
            data = "".join(b).encode()
            raw_bytes_add = len(data)
            gz[fid].write(data)
            b.clear()
            sizes[fid] = 0
            raw_bytes += raw_bytes_add

    while remaining > 0:
        seq += 1
        n_orders += 1
        x = rnd() * shop_cum[-1]
        si = 0
        while shop_cum[si] < x:
            si += 1
        fmt, shop_id, platform, cur, loc, _ = _SHOP_DEFS[si]
        pos = platform == "pos"
        # placement time: POS 9-21h with ms, online all day (evening heavy)
        if pos:
            t0 = rr(9 * 3600, 21 * 3600)
            ms0 = rr(1000)
        else:
            t0 = rr(86400) if rnd() < 0.5 else rr(8 * 3600, 86400)
            ms0 = None
        # lines
        nl = nlines_choices[rr(100)]
        # lifecycle kind -> versions
        y = rnd()
        if y < 0.02:
            kind = "pending"
        elif y < 0.04:
            kind = "cancel"
        elif y < 0.70:
            kind = "paid"
        elif y < 0.90:
            kind = "ship"
        elif y < 0.94:
            kind = "refund"
        else:
            kind = "ship_refund"
        nv = {"pending": 1, "paid": 1, "cancel": 2, "ship": 2, "refund": 2, "ship_refund": 3}[kind]
        if nl * nv > remaining:
            kind, nv = "paid", 1
            nl = min(nl, remaining)
        # same-day refund needs room after payment (and shipping)
        if kind in ("refund", "ship_refund") and t0 > 86400 - 4 * 3600:
            kind, nv = ("ship", 2) if kind == "ship_refund" else ("paid", 1)
        remaining -= nl * nv
        n_lines += nl * nv
        n_versions += nv
        skus = []
        while len(skus) < nl:
            s = table[rr(65536)]
            if s not in skus:
                skus.append(s)
        pr = price[cur]
        lines = []  # [sku idx, qty, unit cents, discount cents, refunded q, refunded cents]
        for s in skus:
            q = qty_choices[rr(9)]
            d = (q * pr[s] * disc_pct[rr(4)] + 50) // 100 if rnd() < 0.3 else 0
            lines.append([s, q, pr[s], d, 0, 0])
        if platform == "shopify":
            oid = str(5_100_000_000_000 + wid * 100_000_000 + seq)
        elif platform == "woocommerce":
            oid = str(wid * 100_000_000 + seq)
        elif platform == "youzan":
            oid = f"E20261102{wid}{seq:08d}{rr(10 ** 6):06d}"
        else:
            store = stores_of[shop_id][rr(6)]
            oid = f"POS-{store[0]}-20261102-{wid}{seq:08d}"
        # customer (same on every version)
        c = rnd()
        if c < 0.55:
            cust = f'{{"phone":"+86138{rr(10 ** 8):08d}"' + (
                f',"platform_customer_id":"c{rr(10 ** 9)}"}}' if not pos else "}")
        elif c < 0.75 and not pos:
            cust = f'{{"email":"u{rr(10 ** 8)}@example.com","platform_customer_id":"c{rr(10 ** 9)}"}}'
        else:
            cust = "{}"
        city = store[2] if pos else (CITIES[rr(len(CITIES))] if rnd() < 0.93 else None)
        shipping = 0 if pos else (0, 0, 1000)[rr(3)]
        head = (f'{{"platform":"{platform}","shop_id":"{shop_id}","order_id":"{oid}","version":')
        placed_s = ts_local(t0, ms0)
        tail_fixed = (f',"currency":"{cur}","customer":{cust}')
        tail2 = (f',"shipping":"{money(shipping)}","tax":"0.00","taxes_included":'
                 f'{"true" if cur == "CNY" else "false"}')
        extra = ""
        if pos:
            extra += f',"store_id":"{store[0]}","salesperson":"{store[3][rr(3)]}"'
        if city is not None:
            extra += f',"city":"{city}"'
        fmt_key = fmt
        refunds = []  # rendered refund JSON strings

        def record(v_ms, status, paid, shipped, delivered, ev_sec):
            nonlocal raw_n
            raw_n += 1
            ls = ",".join(
                f'{sku_head[l[0]]}{l[1]},"unit_price":"{price_s[cur][l[0]]}","discount":"{money(l[3])}",'
                f'"refunded_quantity":{l[4]},"refunded_amount":"{money(l[5])}"}}' for l in lines)
            t = ""
            if paid is not None:
                t += f',"paid_at":"{ts_local(paid, ms0)}"'
            if shipped is not None:
                t += f',"shipped_at":"{ts_local(shipped, ms0)}"'
            if delivered is not None:
                t += f',"delivered_at":"{ts_local(delivered, ms0)}"'
            utc = utc_days[(ev_sec - TZ_SECS) // 86400]
            return (f'{head}{v_ms},"status":"{status}","placed_at":"{placed_s}"{t}{tail_fixed}'
                    f',"lines":[{ls}]{tail2},"refunds":[{",".join(refunds)}]{extra}'
                    f',"source_raw_key":"raw/platform={fmt_key}/shop={shop_id}/dt={utc}/'
                    f'{r.getrandbits(64):016x}{raw_n:07d}.json"}}\n')

        def vms(sec, last):
            v = DAY0_MS + sec * 1000 + (ms0 or 0)
            return max(v, last + 1)

        paid = t0 if pos else t0 + (0 if rnd() < 0.5 else rr(30, 900))
        if kind == "pending":
            emit(record(vms(t0, 0), "pending", None, None, None, t0))
            continue
        if kind == "cancel":
            v1 = vms(t0, 0)
            emit(record(v1, "pending", None, None, None, t0))
            tc = t0 + rr(60, 3 * 3600)
            emit(record(vms(tc, v1), "cancelled", None, None, None, tc))
            continue
        if kind == "paid":
            z = rnd()
            if z < 0.15 and not pos:  # only a later snapshot was kept: shipped (maybe delivered)
                sh = paid + rr(2 * 3600, 30 * 3600)
                dl = sh + rr(10 * 3600, 60 * 3600) if rnd() < 0.3 else None
                st = "delivered" if dl else "shipped"
                ev = dl if dl else sh
                emit(record(vms(ev, 0), st, paid, sh, dl, ev))
            else:
                emit(record(vms(paid, 0), "paid", paid, None, None, paid))
            continue
        v1 = vms(paid, 0)
        emit(record(v1, "paid", paid, None, None, paid))
        last = v1
        sh = None
        if kind in ("ship", "ship_refund"):
            if kind == "ship":
                sh = paid + rr(2 * 3600, 30 * 3600)
            else:  # shipped the same day, before the refund
                sh = paid + rr(600, max(601, (86400 - 3600 - paid) // 2))
            dl = None
            st = "shipped"
            if kind == "ship" and rnd() < 0.2:
                dl = sh + rr(10 * 3600, 40 * 3600)
                st = "delivered"
            last = vms(dl or sh, last)
            emit(record(last, st, paid, sh, dl, dl or sh))
            if kind == "ship":
                continue
        # same-day refund
        lo = (sh or paid) + 120
        tr = rr(lo, max(lo + 1, 86399))
        rl = []
        if rnd() < 0.4:  # full
            for l in lines:
                qq = l[1] - l[4]
                aa = l[1] * l[2] - l[3] - l[5]
                l[4] += qq
                l[5] += aa
                rl.append((l[0], qq, aa))
            status = "refunded"
            rship = shipping
        else:
            l = lines[rr(len(lines))]
            net = l[1] * l[2] - l[3]
            if rnd() < 0.8:
                kq = rr(1, l[1] + 1)
                aa = net if kq == l[1] else (net * kq + l[1] // 2) // l[1]
            else:  # amount-only (price adjustment)
                kq = 0
                aa = max(1, net * disc_pct[rr(4)] // 100)
            l[4] += kq
            l[5] += aa
            rl.append((l[0], kq, aa))
            status = "partially_refunded"
            rship = 0
            full = all(x[4] == x[1] and x[5] == x[1] * x[2] - x[3] for x in lines)
            if full:
                status = "refunded"
        rls = ",".join(f'{{"sku":"{sku_name[s]}","quantity":{q},"amount":"{money(a)}"}}' for s, q, a in rl)
        refunds.append(f'{{"refund_id":"rf-{oid}-1","at":"{ts_local(tr, ms0)}","lines":[{rls}],'
                       f'"shipping":"{money(rship)}"}}')
        emit(record(vms(tr, last), status, paid, sh, None, tr))

    for fid in file_ids:
        if files[fid]:
            data = "".join(files[fid]).encode()
            raw_bytes += len(data)
            gz[fid].write(data)
        f = gz[fid].fileobj
        gz[fid].close()
        f.close()
    gz_bytes = sum(os.path.getsize(os.path.join(out_dir, f"part-{fid:03d}.jsonl.gz")) for fid in file_ids)
    return {"orders": n_orders, "order_versions": n_versions, "lines": n_lines,
            "raw_bytes": raw_bytes, "gz_bytes": gz_bytes}


def _write_gz(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    data = text.encode()
    with open(path, "wb") as f:
        with gzip.GzipFile(filename="", fileobj=f, mode="wb", mtime=0, compresslevel=GZ_LEVEL) as g:
            g.write(data)
    return len(data), os.path.getsize(path)


def gen_inventory(seed, prods):
    """A few thousand movements of DATE: receipts (some against POs), po_shipped, transfers,
    adjustments, a few counts, ~1% resent. Returns {file name: jsonl text}, stats."""
    r = random.Random(seed * 31 + 5)
    whs = ["WH-SH", "WH-BJ", "WH-GZ", "WH-INTL"] + [f"WH-POS-{i:02d}" for i in range(1, 6)]
    stores = [s[0] for s in STORES]
    pop = [p[0] for p in prods[:800]]
    mvs = []
    n = [0]

    def mv(typ, loc, sku, q, sec, unit_cost=None, ref=None, expected=None):
        n[0] += 1
        s = (f'{{"movement_id":"mv-20261102-{n[0]:06d}","type":"{typ}","location_id":"{loc}",'
             f'"sku":"{sku}","quantity":{q}')
        if unit_cost is not None:
            s += f',"unit_cost":"{money(unit_cost)}"'
        s += f',"at":"{ts_local(sec)}"'
        if ref:
            s += f',"reference":"{ref}"'
        if expected is not None:
            s += f',"expected_at":"{ts_local(expected)}"'
        utc = str(_D0 + dt.timedelta(days=(sec - TZ_SECS) // 86400))
        s += f',"source_raw_key":"raw/platform=standard/shop=erp/dt={utc}/ev{n[0]:07d}.json"}}'
        mvs.append((typ, s))

    cost = {p[0]: (p[2] or p[1] // 2) for p in prods}
    locs_all = whs + stores
    # purchase orders: shipped today, most received today (some partially), rest in transit
    for i in range(400):
        loc = r.choice(whs if r.random() < 0.8 else stores)
        sku = r.choice(pop)
        q = r.randrange(20, 500)
        ref = f"PO-1102-{i:05d}"
        t = r.randrange(0, 10 * 3600)
        mv("po_shipped", loc, sku, q, t, ref=ref, expected=t + 3 * 86400)
        if r.random() < 0.7:
            got = q if r.random() < 0.8 else r.randrange(1, q)
            mv("receipt", loc, sku, got, r.randrange(t + 60, 86399),
               unit_cost=cost[sku] * r.randrange(90, 111) // 100, ref=ref)
    # receipts without a PO
    for i in range(1300):
        loc = r.choice(locs_all)
        sku = r.choice(pop) if r.random() < 0.7 else r.choice(prods)[0]
        mv("receipt", loc, sku, r.randrange(5, 300), r.randrange(6 * 3600, 20 * 3600),
           unit_cost=cost[sku] * r.randrange(85, 116) // 100)
    # transfers warehouse -> store (some still in transit, some partly received)
    for i in range(350):
        src = r.choice(whs[:3])
        dst = r.choice(stores)
        sku = r.choice(pop)
        q = r.randrange(2, 60)
        ref = f"TR-1102-{i:05d}"
        t = r.randrange(7 * 3600, 18 * 3600)
        mv("transfer_out", src, sku, q, t, ref=ref)
        z = r.random()
        if z < 0.75:
            mv("transfer_in", dst, sku, q, r.randrange(t + 600, 86399), ref=ref)
        elif z < 0.85:
            mv("transfer_in", dst, sku, r.randrange(1, q + 1), r.randrange(t + 600, 86399), ref=ref)
    # adjustments (signed)
    for i in range(450):
        mv("adjustment", r.choice(locs_all), r.choice(pop), r.choice([-5, -3, -2, -1, -1, 1, 2, 4]),
           r.randrange(86400))
    # cycle counts at stores and warehouses, mid-day (sales on both sides)
    for i in range(25):
        mv("count", r.choice(stores[:10] + whs[:3]), r.choice(pop[:60]), r.randrange(0, 80),
           r.randrange(12 * 3600, 15 * 3600))
    # ~1% resent (same movement_id in another file)
    out = {"erp-000": [], "erp-001": [], "erp-002": [], "erp-resend": []}
    kinds = {}
    for i, (typ, s) in enumerate(mvs):
        out[f"erp-{(i // 50) % 3:03d}"].append(s)
        kinds[typ] = kinds.get(typ, 0) + 1
        if r.random() < 0.01:
            out["erp-resend"].append(s)
    return {k: "\n".join(v) + "\n" for k, v in out.items() if v}, {"movements": len(mvs), **kinds}


def gen_products_text(prods, seed):
    r = random.Random(seed * 17 + 3)
    lines = []
    for sku, price, std, inst, cat in prods:
        s = f'{{"sku":"{sku}","name":"Product {sku}","category":"{cat}"'
        if std is not None:
            s += f',"standard_cost":"{money(std)}"'
        s += (f',"requires_installation":{"true" if inst else "false"},"is_consumable":'
              f'{"true" if cat == "filter" else "false"},"updated_at":"2026-09-01T09:00:00+08:00",'
              f'"source_raw_key":"raw/feed=products/catalog-2026-09-01.csv#{sku}"}}')
        lines.append(s)
    # ~1% updated later with a new standard cost: the latest updated_at wins
    for sku, price, std, inst, cat in r.sample(prods, 50):
        s = (f'{{"sku":"{sku}","name":"Product {sku}","category":"{cat}",'
             f'"standard_cost":"{money(price * r.randrange(35, 60) // 100)}",'
             f'"requires_installation":{"true" if inst else "false"},"is_consumable":'
             f'{"true" if cat == "filter" else "false"},"updated_at":"2026-10-20T09:00:00+08:00",'
             f'"source_raw_key":"raw/feed=products/catalog-2026-10-20.csv#{sku}"}}')
        lines.append(s)
    return "\n".join(lines) + "\n"


def ensure_data(data_dir, lines_total, seed, regen=False):
    """Generates the data set unless data_dir holds one with the same params stamp."""
    params = {"gen_version": GEN_VERSION, "date": DATE, "lines": lines_total, "files": N_FILES,
              "skus": N_SKUS, "seed": seed, "gz_level": GZ_LEVEL}
    stamp = os.path.join(data_dir, "params.json")
    if not regen and os.path.exists(stamp):
        with open(stamp) as f:
            st = json.load(f)
        if st.get("params") == params and os.path.isdir(os.path.join(data_dir, "canonical")):
            st["stats"]["cached"] = True
            return st["stats"]
    t = time.time()
    os.makedirs(data_dir, exist_ok=True)
    for sub in ("canonical", "shops.json", "params.json"):
        p = os.path.join(data_dir, sub)
        if os.path.isdir(p):
            shutil.rmtree(p)
        elif os.path.exists(p):
            os.remove(p)
    for old in glob.glob(os.path.join(data_dir, ".gen-*")):
        shutil.rmtree(old, ignore_errors=True)
    tmp = tempfile.mkdtemp(prefix=".gen-", dir=data_dir)
    try:
        stats = _generate_into(tmp, lines_total, seed)
        stats["generate_seconds"] = round(time.time() - t, 1)
        os.rename(os.path.join(tmp, "canonical"), os.path.join(data_dir, "canonical"))
        os.rename(os.path.join(tmp, "shops.json"), os.path.join(data_dir, "shops.json"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    with open(stamp, "w") as f:
        json.dump({"params": params, "stats": stats}, f, indent=1)
    stats["cached"] = False
    return stats


def _generate_into(tmp, lines_total, seed):
    odir = os.path.join(tmp, "canonical", "orders", f"dt={DATE}")
    os.makedirs(odir)
    per = N_FILES // WORKERS
    share = [lines_total // WORKERS + (1 if w < lines_total % WORKERS else 0) for w in range(WORKERS)]
    jobs = [(w, odir, share[w], list(range(w * per, (w + 1) * per)), seed) for w in range(WORKERS)]
    import multiprocessing as mp
    with mp.get_context("fork").Pool(WORKERS) as pool:
        res = pool.map(_gen_orders_worker, jobs)
    stats = {k: sum(x[k] for x in res) for k in res[0]}
    stats["order_files"] = N_FILES
    prods = products(seed)
    inv, inv_stats = gen_inventory(seed, prods)
    for name, text in inv.items():
        rb, gb = _write_gz(os.path.join(tmp, "canonical", "inventory", f"dt={DATE}", f"{name}.jsonl.gz"), text)
        stats["raw_bytes"] += rb
        stats["gz_bytes"] += gb
    rb, gb = _write_gz(os.path.join(tmp, "canonical", "products", "products.jsonl.gz"),
                       gen_products_text(prods, seed))
    stats["raw_bytes"] += rb
    stats["gz_bytes"] += gb
    with open(os.path.join(tmp, "shops.json"), "w") as f:
        json.dump(shops_json(), f, indent=1, ensure_ascii=False)
    stats["inventory"] = inv_stats
    stats["files"] = len(glob.glob(os.path.join(tmp, "canonical", "**", "*.jsonl.gz"), recursive=True))
    return stats


# ---------------------------------------------------------------------------------- DuckDB
ORDER_COLUMNS = {
    "platform": "VARCHAR", "shop_id": "VARCHAR", "order_id": "VARCHAR", "version": "BIGINT",
    "status": "VARCHAR", "placed_at": "VARCHAR", "shipped_at": "VARCHAR",
    "delivered_at": "VARCHAR", "currency": "VARCHAR",
    "lines": "STRUCT(sku VARCHAR, quantity BIGINT, unit_price VARCHAR, discount VARCHAR, "
             "refunded_quantity BIGINT, refunded_amount VARCHAR)[]",
    "refunds": "STRUCT(refund_id VARCHAR, \"at\" VARCHAR, "
               "lines STRUCT(sku VARCHAR, quantity BIGINT, amount VARCHAR)[], shipping VARCHAR)[]",
    "store_id": "VARCHAR",
}
MOVEMENT_COLUMNS = {
    "movement_id": "VARCHAR", "type": "VARCHAR", "location_id": "VARCHAR", "sku": "VARCHAR",
    "quantity": "BIGINT", "unit_cost": "VARCHAR", "at": "VARCHAR", "reference": "VARCHAR",
}
PRODUCT_COLUMNS = {"sku": "VARCHAR", "standard_cost": "VARCHAR", "updated_at": "VARCHAR"}


def _lit(s):
    return "'" + str(s).replace("'", "''") + "'"


def _read_json(files, columns, filename=False):
    cols = ", ".join(f"{_lit(k)}: {_lit(v)}" for k, v in columns.items())
    lst = "[" + ", ".join(_lit(f) for f in files) + "]"
    return (f"read_json({lst}, format='newline_delimited', columns={{{cols}}}, "
            f"hive_partitioning=false{', filename=true' if filename else ''})")


def duckdb_child(data, out, date):
    """The DuckDB peer: sales_daily and inventory_daily of `date` from an empty prior state."""
    import duckdb
    t0 = time.time()
    con = duckdb.connect()
    steps = {}

    def c(sql):
        t = time.time()
        con.execute(sql)
        key = " ".join(sql.split()[:3])[:40]
        steps[key] = round(steps.get(key, 0) + time.time() - t, 2)
    c("SET threads = 2")
    c("SET TimeZone = 'UTC'")
    c("SET preserve_insertion_order = false")
    c("CREATE MACRO rdiv(num, den) AS "
      "CAST(sign(num) * ((2 * abs(CAST(num AS HUGEINT)) + den) // (2 * den)) AS HUGEINT)")
    c("CREATE MACRO cents(x) AS CAST(CAST(x AS DECIMAL(18,2)) * 100 AS BIGINT)")
    c("CREATE MACRO cost6(x) AS CAST(CAST(x AS DECIMAL(38,6)) * 1000000 AS HUGEINT)")
    c("CREATE MACRO dec2(x) AS CAST(CAST(x AS DECIMAL(18,2)) * 0.01 AS DECIMAL(18,2))")
    with open(os.path.join(data, "shops.json")) as f:
        shops = json.load(f)
    c("CREATE TABLE shops (format VARCHAR, shop_id VARCHAR, time_zone VARCHAR, location_id VARCHAR)")
    con.executemany("INSERT INTO shops VALUES (?, ?, ?, ?)",
                    [(s["format"], s["shop_id"], s["time_zone"], s.get("location_id")) for s in shops])

    def files(sub):
        return sorted(glob.glob(os.path.join(data, "canonical", sub, "**", "*.jsonl.gz"), recursive=True))

    D = f"DATE '{date}'"
    tz = _lit(TZ_NAME)
    # Latest version of each order; cancelled latest versions count nowhere.
    c(f"""
        CREATE TABLE o AS
        WITH latest AS (
          SELECT * FROM {_read_json(files('orders'), ORDER_COLUMNS)}
          QUALIFY row_number() OVER (PARTITION BY platform, shop_id, order_id ORDER BY version DESC) = 1)
        SELECT v.platform, v.shop_id, v.order_id, v.store_id, v.currency, s.time_zone AS tz,
               CAST(v.placed_at AS TIMESTAMPTZ) AS placed_ts,
               CAST(timezone(s.time_zone, CAST(v.placed_at AS TIMESTAMPTZ)) AS DATE) AS placed_date,
               CAST(timezone(s.time_zone, CAST(v.shipped_at AS TIMESTAMPTZ)) AS DATE) AS shipped_date,
               CAST(timezone(s.time_zone, CAST(v.delivered_at AS TIMESTAMPTZ)) AS DATE) AS delivered_date,
               CASE WHEN v.store_id IS NOT NULL THEN v.store_id ELSE coalesce(s.location_id, v.shop_id) END AS location_id,
               v.lines, v.refunds
        FROM latest v
        LEFT JOIN shops s ON s.shop_id = v.shop_id AND s.format =
             CASE WHEN v.platform IN ('shopify', 'woocommerce', 'youzan') THEN v.platform ELSE 'standard' END
        WHERE v.status <> 'cancelled'""")
    t_load = time.time() - t0
    c("""
        CREATE TABLE ol AS
        SELECT platform, shop_id, order_id, store_id, currency, location_id, placed_ts, placed_date,
               shipped_date, delivered_date, l.sku AS sku, l.quantity AS quantity,
               l.quantity * cents(l.unit_price) AS gross_c, cents(l.discount) AS discount_c
        FROM (SELECT * EXCLUDE (lines, refunds), unnest(lines) AS l FROM o)""")
    c("""
        CREATE TABLE rl AS
        SELECT platform, shop_id, order_id, store_id, currency, location_id, refund_id, ts AS refund_ts,
               CAST(timezone(tz, ts) AS DATE) AS refund_date,
               x.sku AS sku, coalesce(x.quantity, 0) AS quantity, cents(x.amount) AS amount_c
        FROM (SELECT *, unnest(r.lines) AS x FROM (
                SELECT platform, shop_id, order_id, store_id, currency, location_id, tz,
                       r.refund_id AS refund_id, CAST(r."at" AS TIMESTAMPTZ) AS ts, r
                FROM (SELECT *, unnest(refunds) AS r FROM o WHERE len(refunds) > 0)))""")
    c(f"""
        CREATE TABLE prod AS
        SELECT sku, cost6(standard_cost) AS std6
        FROM {_read_json(files('products'), PRODUCT_COLUMNS, filename=True)}
        QUALIFY row_number() OVER (PARTITION BY sku ORDER BY CAST(updated_at AS TIMESTAMPTZ) DESC NULLS LAST,
                                   filename DESC) = 1""")
    c(f"""
        CREATE TABLE mv AS
        SELECT movement_id, type, location_id, sku, quantity, cost6(unit_cost) AS uc6,
               CAST("at" AS TIMESTAMPTZ) AS at_ts,
               CAST(timezone({tz}, CAST("at" AS TIMESTAMPTZ)) AS DATE) AS mdate, reference
        FROM {_read_json(files('inventory'), MOVEMENT_COLUMNS, filename=True)}
        QUALIFY row_number() OVER (PARTITION BY movement_id ORDER BY filename) = 1""")
    # Weighted-average cost C/Q of every (location, sku) with an event: receipts up to D (empty
    # prior state: only these files), else the product's standard cost, else 0.
    c(f"""
        CREATE TABLE wac AS
        WITH pairs AS (
          SELECT DISTINCT location_id, sku FROM (
            SELECT location_id, sku FROM mv WHERE mdate <= {D}
            UNION ALL SELECT location_id, sku FROM ol WHERE placed_date = {D}
            UNION ALL SELECT location_id, sku FROM rl WHERE refund_date = {D})),
        rc AS (SELECT location_id, sku, sum(quantity) AS q, sum(quantity * uc6) AS c6
               FROM mv WHERE type = 'receipt' AND mdate <= {D} GROUP BY ALL)
        SELECT p.location_id, p.sku,
               CASE WHEN coalesce(rc.q, 0) > 0 THEN rc.c6 WHEN pr.std6 IS NOT NULL THEN pr.std6 ELSE 0 END AS cn,
               CASE WHEN coalesce(rc.q, 0) > 0 THEN rc.q ELSE 1 END AS qn
        FROM pairs p LEFT JOIN rc USING (location_id, sku) LEFT JOIN prod pr ON pr.sku = p.sku""")
    sales_sql = f"""
        WITH f AS (
          SELECT platform, shop_id, store_id, sku, currency, location_id, order_id,
                 quantity AS sold, 0 AS refunded, gross_c, discount_c, 0 AS refund_c
          FROM ol WHERE placed_date = {D}
          UNION ALL
          SELECT platform, shop_id, store_id, sku, currency, location_id, NULL,
                 0, quantity, 0, 0, amount_c
          FROM rl WHERE refund_date = {D}),
        byloc AS (
          SELECT f.platform, f.shop_id, f.store_id, f.sku, f.currency,
                 count(DISTINCT f.order_id) AS orders, sum(f.sold) AS units_sold,
                 sum(f.refunded) AS units_refunded, sum(f.gross_c) AS gross_c,
                 sum(f.discount_c) AS disc_c, sum(f.refund_c) AS refunds_c,
                 rdiv((sum(f.sold) - sum(f.refunded)) * any_value(w.cn), any_value(w.qn) * 10000) AS cogs_c
          FROM f JOIN wac w ON w.location_id = f.location_id AND w.sku = f.sku
          GROUP BY f.platform, f.shop_id, f.store_id, f.sku, f.currency, f.location_id),
        agg AS (
          SELECT platform, shop_id, store_id, sku, currency, sum(orders) AS orders,
                 sum(units_sold) AS units_sold, sum(units_refunded) AS units_refunded,
                 sum(gross_c) AS gross_c, sum(disc_c) AS disc_c, sum(refunds_c) AS refunds_c,
                 sum(cogs_c) AS cogs_c
          FROM byloc GROUP BY ALL),
        prev AS (
          SELECT platform, shop_id, store_id, sku, currency,
                 sum(gross_c - discount_c) AS net_c, sum(quantity) AS u
          FROM ol WHERE placed_date BETWEEN {D} - 28 AND {D} - 1 GROUP BY ALL),
        r AS (
          SELECT a.*, a.gross_c - a.disc_c - a.refunds_c AS net_c, p.net_c AS prev_net_c, p.u AS prev_u
          FROM agg a LEFT JOIN prev p ON p.platform = a.platform AND p.shop_id = a.shop_id
               AND p.store_id IS NOT DISTINCT FROM a.store_id AND p.sku = a.sku AND p.currency = a.currency)
        SELECT platform, shop_id, store_id, sku, currency,
               CAST(orders AS BIGINT) AS orders, CAST(units_sold AS BIGINT) AS units_sold,
               CAST(units_refunded AS BIGINT) AS units_refunded,
               dec2(gross_c) AS gross_sales, dec2(disc_c) AS discounts, dec2(refunds_c) AS refunds,
               dec2(net_c) AS net_sales, dec2(cogs_c) AS cogs, dec2(net_c - cogs_c) AS gross_margin,
               CASE WHEN net_c = 0 THEN NULL ELSE CAST(net_c - cogs_c AS DOUBLE) / CAST(net_c AS DOUBLE) END AS gross_margin_pct,
               CASE WHEN units_sold = 0 THEN NULL ELSE dec2(rdiv(gross_c - disc_c, units_sold)) END AS avg_unit_price,
               CASE WHEN coalesce(prev_u, 0) = 0 THEN NULL ELSE dec2(rdiv(prev_net_c, prev_u)) END AS avg_unit_price_prev_28d,
               CAST(0 AS BIGINT) AS customers, CAST(0 AS BIGINT) AS new_customers
        FROM r"""
    # Counts: the stock just before each count (events of the day in time order; at one
    # instant non-counts first, counts by movement_id), only for pairs with a count.
    c(f"""
        CREATE TABLE count_adj AS
        WITH cp AS (SELECT DISTINCT location_id, sku FROM mv WHERE type = 'count' AND mdate = {D}),
        ev AS (
          SELECT location_id, sku, at_ts AS ts, CAST(type = 'count' AS INTEGER) AS is_count, movement_id AS tb,
                 CASE type WHEN 'receipt' THEN quantity WHEN 'transfer_in' THEN quantity
                           WHEN 'transfer_out' THEN -quantity WHEN 'adjustment' THEN quantity ELSE 0 END AS delta,
                 CASE WHEN type = 'count' THEN quantity END AS count_q
          FROM mv JOIN cp USING (location_id, sku) WHERE type <> 'po_shipped' AND mdate = {D}
          UNION ALL
          SELECT location_id, sku, placed_ts, 0, '', -quantity, NULL
          FROM ol JOIN cp USING (location_id, sku) WHERE placed_date = {D}
          UNION ALL
          SELECT location_id, sku, refund_ts, 0, '', quantity, NULL
          FROM rl JOIN cp USING (location_id, sku) WHERE refund_date = {D}),
        e2 AS (SELECT *, sum(is_count) OVER w AS grp FROM ev
               WINDOW w AS (PARTITION BY location_id, sku ORDER BY ts, is_count, tb ROWS UNBOUNDED PRECEDING)),
        e3 AS (SELECT *, coalesce(first_value(count_q) OVER (PARTITION BY location_id, sku, grp ORDER BY ts, is_count, tb), 0)
                         + sum(delta) OVER (PARTITION BY location_id, sku, grp ORDER BY ts, is_count, tb
                                            ROWS UNBOUNDED PRECEDING) AS stock_after FROM e2),
        e4 AS (SELECT *, count_q - coalesce(lag(stock_after) OVER (PARTITION BY location_id, sku
                                                                   ORDER BY ts, is_count, tb), 0) AS adj FROM e3)
        SELECT location_id, sku, sum(adj) AS adj FROM e4 WHERE is_count = 1 GROUP BY ALL""")
    inv_sql = f"""
        WITH d AS (
          SELECT location_id, sku,
                 sum(received) AS received, sum(sold) AS sold, sum(returned) AS returned,
                 sum(adjusted) AS adjusted, sum(tin) AS tin, sum(tout) AS tout, sum(cogs_n) AS cogs_n
          FROM (
            SELECT location_id, sku,
                   CASE WHEN type = 'receipt' THEN quantity ELSE 0 END AS received, 0 AS sold, 0 AS returned,
                   CASE WHEN type = 'adjustment' THEN quantity ELSE 0 END AS adjusted,
                   CASE WHEN type = 'transfer_in' THEN quantity ELSE 0 END AS tin,
                   CASE WHEN type = 'transfer_out' THEN quantity ELSE 0 END AS tout, 0 AS cogs_n
            FROM mv WHERE mdate = {D}
            UNION ALL SELECT location_id, sku, 0, sum(quantity), 0, 0, 0, 0, sum(quantity)
            FROM ol WHERE placed_date = {D} GROUP BY ALL
            UNION ALL SELECT location_id, sku, 0, 0, sum(quantity), 0, 0, 0, -sum(quantity)
            FROM rl WHERE refund_date = {D} GROUP BY ALL
            UNION ALL SELECT location_id, sku, 0, 0, 0, adj, 0, 0, 0 FROM count_adj)
          GROUP BY ALL),
        inbound AS (
          SELECT location_id, sku, sum(greatest(0, s)) AS q FROM (
            SELECT reference, location_id, sku,
                   sum(CASE WHEN type = 'po_shipped' THEN quantity ELSE -quantity END) AS s
            FROM mv WHERE mdate <= {D}
              AND (type = 'po_shipped' OR (type = 'receipt' AND reference IS NOT NULL))
            GROUP BY ALL) GROUP BY ALL),
        t_out AS (SELECT reference, location_id, sku, sum(quantity) AS q FROM mv
                  WHERE type = 'transfer_out' AND mdate <= {D} GROUP BY ALL),
        t_in AS (SELECT reference, sku, sum(quantity) AS q FROM mv
                 WHERE type = 'transfer_in' AND mdate <= {D} GROUP BY ALL),
        outbound AS (
          SELECT location_id, sku, sum(q) AS q FROM (
            SELECT t_out.location_id, t_out.sku, greatest(0, t_out.q - coalesce(t_in.q, 0)) AS q
            FROM t_out LEFT JOIN t_in ON t_in.reference = t_out.reference AND t_in.sku = t_out.sku
            UNION ALL
            SELECT location_id, sku, quantity FROM ol
            WHERE shipped_date <= {D} AND (delivered_date IS NULL OR delivered_date > {D}))
          GROUP BY ALL),
        x AS (
          SELECT w.location_id, w.sku, w.cn, w.qn,
                 coalesce(d.received, 0) AS received, coalesce(d.sold, 0) AS sold,
                 coalesce(d.returned, 0) AS returned, coalesce(d.adjusted, 0) AS adjusted,
                 coalesce(d.tin, 0) AS tin, coalesce(d.tout, 0) AS tout, coalesce(d.cogs_n, 0) AS cogs_n
          FROM wac w LEFT JOIN d USING (location_id, sku)),
        y AS (
          SELECT *, received - sold + returned + adjusted + tin - tout AS closing FROM x),
        z AS (
          SELECT *, rdiv(closing * cn, qn * 10000) AS value_c, rdiv(cogs_n * cn, qn * 10000) AS cogs_c FROM y)
        SELECT z.location_id, z.sku, CAST(0 AS BIGINT) AS opening_qty,
               CAST(received AS BIGINT) AS received_qty, CAST(sold AS BIGINT) AS sold_qty,
               CAST(returned AS BIGINT) AS returned_qty, CAST(adjusted AS BIGINT) AS adjusted_qty,
               CAST(tin AS BIGINT) AS transfer_in_qty, CAST(tout AS BIGINT) AS transfer_out_qty,
               CAST(closing AS BIGINT) AS closing_qty,
               CAST(coalesce(i.q, 0) AS BIGINT) AS in_transit_inbound_qty,
               CAST(coalesce(ob.q, 0) AS BIGINT) AS in_transit_outbound_qty,
               dec2(rdiv(cn, qn * 10000)) AS avg_unit_cost, dec2(value_c) AS closing_value,
               CAST(sold AS BIGINT) AS units_sold_28d,
               CASE WHEN sold = 0 THEN NULL ELSE CAST(closing AS DOUBLE) / (CAST(sold AS DOUBLE) / 28) END AS days_of_cover,
               CASE WHEN value_c = 0 THEN NULL ELSE CAST(cogs_c AS DOUBLE) / (CAST(value_c AS DOUBLE) / 28) END AS turnover_28d
        FROM z LEFT JOIN inbound i USING (location_id, sku) LEFT JOIN outbound ob USING (location_id, sku)"""
    os.makedirs(out, exist_ok=True)
    res = {"orders_load_seconds": round(t_load, 2)}
    for name, sql in (("sales_daily", sales_sql), ("inventory_daily", inv_sql)):
        p = os.path.join(out, f"{name}.parquet")
        c(f"COPY ({sql}) TO {_lit(p)} (FORMAT parquet, COMPRESSION zstd)")
        res[name] = {"path": p}
    res["seconds"] = round(time.time() - t0, 2)
    res["steps"] = steps
    print(json.dumps(res))


# ---------------------------------------------------------------------------------- running
TIME_BIN = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None


def run_measured(cmd, log_path):
    """Runs cmd; returns (ok, wall s, peak RSS MiB of the child, CPU s (user+sys), stdout, rc).
    Peak RSS: /usr/bin/time %M when present, else os.wait4's rusage of that child alone."""
    with open(log_path + ".out", "w") as out, open(log_path + ".err", "w") as err:
        if TIME_BIN:
            tf = log_path + ".time"
            full = [TIME_BIN, "-f", "%e %M %U %S", "-o", tf] + cmd
        else:
            full = cmd
        t0 = time.perf_counter()
        p = subprocess.Popen(full, stdout=out, stderr=err)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
    rss_kb = ru.ru_maxrss
    cpu = ru.ru_utime + ru.ru_stime
    if TIME_BIN:
        try:
            with open(tf) as f:
                last = f.read().strip().splitlines()[-1].split()
            rss_kb = int(last[1])
            cpu = float(last[2]) + float(last[3])
        except (OSError, IndexError, ValueError):
            pass
    with open(log_path + ".out") as f:
        stdout = f.read()
    return p.returncode == 0, wall, rss_kb / 1024.0, cpu, stdout, p.returncode


def tail(path, n=15):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError:
        return ""


def busy_cpus(window=1.0):
    """CPUs kept busy by other work, sampled from /proc/stat over `window` seconds (Linux)."""
    def snap():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        return sum(v), v[3] + (v[4] if len(v) > 4 else 0)
    try:
        t1, i1 = snap()
        time.sleep(window)
        t2, i2 = snap()
    except (OSError, ValueError):
        return None
    if t2 == t1:
        return None
    return round((1 - (i2 - i1) / (t2 - t1)) * (os.cpu_count() or 1), 2)


def warm_up(data):
    t = time.time()
    n = 0
    for p in glob.glob(os.path.join(data, "canonical", "**", "*.jsonl.gz"), recursive=True):
        with open(p, "rb") as f:
            while True:
                b = f.read(1 << 20)
                if not b:
                    break
                n += len(b)
    return n, time.time() - t


def parquet_stats(files, sum_cols):
    import pyarrow.compute as pc
    import pyarrow.parquet as pq
    rows = 0
    sums = {}
    cols_present = None
    for p in files:
        pf = pq.ParquetFile(p)
        rows += pf.metadata.num_rows
        names = set(pf.schema_arrow.names)
        cols_present = names if cols_present is None else cols_present & names
        want = [c for c in sum_cols if c in names]
        if want:
            t = pf.read(columns=want)
            for c in want:
                v = pc.sum(t.column(c)).as_py()
                if v is not None:
                    sums[c] = sums.get(c, 0) + v
    return rows, {c: v for c, v in sums.items() if cols_present and c in cols_present}


SUM_COLS = {"sales_daily": ["units_sold", "units_refunded", "net_sales", "cogs"],
            "inventory_daily": ["sold_qty", "returned_qty", "received_qty", "closing_qty", "closing_value"]}


def compare_outputs(om_out, dk_out):
    res = {}
    for table, cols in SUM_COLS.items():
        om_files = sorted(glob.glob(os.path.join(om_out, "**", table, "**", "*.parquet"), recursive=True))
        dk_files = [os.path.join(dk_out, f"{table}.parquet")]
        dk_rows, dk_sums = parquet_stats(dk_files, cols)
        entry = {"duckdb_rows": dk_rows, "duckdb_sums": {k: str(v) for k, v in dk_sums.items()}}
        if not om_files:
            entry["omnilake"] = "no Parquet files found"
            entry["ok"] = False
        else:
            om_rows, om_sums = parquet_stats(om_files, cols)
            entry["omnilake_rows"] = om_rows
            entry["omnilake_sums"] = {k: str(v) for k, v in om_sums.items()}
            both = [c for c in cols if c in om_sums and c in dk_sums]
            entry["compared_sums"] = both
            entry["ok"] = om_rows == dk_rows and all(om_sums[c] == dk_sums[c] for c in both)
        res[table] = entry
    return res


def med(xs):
    return statistics.median(xs) if xs else None


def main():
    ap = argparse.ArgumentParser(description="omnilake rollup vs DuckDB on one business day")
    sub = ap.add_subparsers(dest="cmd")
    ch = sub.add_parser("duckdb-child", help="internal: the DuckDB run (one process)")
    ch.add_argument("--data", required=True)
    ch.add_argument("--out", required=True)
    ch.add_argument("--date", default=DATE)
    ap.add_argument("--data-dir", help="default target/bench-data/rollup-5m (rollup-N for --lines N)")
    ap.add_argument("--lines", type=int, default=5_000_000, help="order lines (default 5,000,000)")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--omnilake", default=os.path.join(ROOT, "target", "release", "omnilake"))
    ap.add_argument("--skip-omnilake", action="store_true")
    ap.add_argument("--skip-duckdb", action="store_true")
    ap.add_argument("--generate-only", action="store_true")
    ap.add_argument("--regen", action="store_true", help="regenerate even if cached")
    ap.add_argument("--keep", action="store_true", help="keep the last outputs and logs")
    a = ap.parse_args()
    if a.cmd == "duckdb-child":
        duckdb_child(a.data, a.out, a.date)
        return 0

    name = "rollup-5m" if a.lines == 5_000_000 else f"rollup-{a.lines}"
    data = os.path.abspath(a.data_dir or os.path.join(ROOT, "target", "bench-data", name))
    print(f"== data: {data}")
    st = ensure_data(data, a.lines, a.seed, a.regen)
    raw_mb = st["raw_bytes"] / 1e6
    gz_mb = st["gz_bytes"] / 1e6
    how = "cached" if st["cached"] else f"generated in {st['generate_seconds']}s"
    print(f"   {how}: {st['files']} files ({st['order_files']} order files), "
          f"{st['orders']:,} orders, {st['order_versions']:,} order versions, {st['lines']:,} lines, "
          f"{st['inventory']['movements']:,} movements, raw JSON {raw_mb:,.1f} MB, gz {gz_mb:,.1f} MB")
    if a.generate_only:
        return 0

    nb, secs = warm_up(data)
    print(f"== warm-up read: {nb / 1e6:,.1f} MB in {secs:.2f}s (untimed)")
    load0 = busy_cpus()
    if load0 is not None and load0 > 0.3:
        print(f"   WARNING: other processes keep {load0:.2f} of {os.cpu_count()} CPUs busy: "
              f"timings will be inflated")
    # outputs beside the data set, never inside it (omnilake reads DATA/canonical/**)
    work = tempfile.mkdtemp(prefix=os.path.basename(data) + "-run-", dir=os.path.dirname(data))
    om_bin = os.path.abspath(a.omnilake)
    om_ok = not a.skip_omnilake
    om_note = None
    if om_ok and not os.access(om_bin, os.X_OK):
        om_ok = False
        om_note = f"binary not found: {om_bin} (build: cargo build --release -p omnilake-cli)"
    if a.skip_omnilake:
        om_note = "skipped (--skip-omnilake)"
    runs = {"omnilake": [], "duckdb": []}
    last_out = {}
    dk_note = None
    dk_ok = not a.skip_duckdb
    print(f"== runs: {a.runs} each, alternating; peak RSS via "
          f"{'/usr/bin/time %M' if TIME_BIN else 'os.wait4 ru_maxrss'}")
    for i in range(a.runs):
        for side in ("omnilake", "duckdb"):
            if side == "omnilake" and om_ok:
                out = os.path.join(work, f"omnilake-{i}")
                cmd = [om_bin, "rollup", "--input-dir", data, "--shops", os.path.join(data, "shops.json"),
                       "--date", DATE, "--output-dir", out]
            elif side == "duckdb" and dk_ok:
                out = os.path.join(work, f"duckdb-{i}")
                cmd = [sys.executable, os.path.abspath(__file__), "duckdb-child", "--data", data,
                       "--out", out, "--date", DATE]
            else:
                continue
            log = os.path.join(work, f"{side}-{i}")
            la = busy_cpus()
            ok, wall, rss, cpu, stdout, rc = run_measured(cmd, log)
            if not ok:
                msg = f"`{' '.join(cmd[:2])} ...` exited {rc}; stderr tail:\n{tail(log + '.err')}"
                print(f"   {side} run {i + 1}: FAILED ({msg.strip()})")
                if side == "omnilake":
                    om_ok, om_note = False, f"failed: exit {rc}: {tail(log + '.err', 5).strip()}"
                else:
                    dk_ok, dk_note = False, f"failed: exit {rc}: {tail(log + '.err', 5).strip()}"
                shutil.rmtree(out, ignore_errors=True)
                continue
            print(f"   {side:8s} run {i + 1}: {wall:7.2f} s wall  {cpu:7.2f} s CPU  peak RSS {rss:8.1f} MiB"
                  f"   (busy CPUs before: {la if la is not None else '?'})")
            runs[side].append({"wall_s": round(wall, 3), "cpu_s": round(cpu, 2), "peak_rss_mib": round(rss, 1),
                               "busy_cpus_before": la})
            if side in last_out:
                shutil.rmtree(last_out[side], ignore_errors=True)
            last_out[side] = out

    summary = {"date": DATE, "data_dir": data, "data": st, "rss_method": "/usr/bin/time" if TIME_BIN else "wait4",
               "cpus": os.cpu_count(), "busy_cpus_before_runs": load0,
               "runs": runs, "targets": {"ratio_max": TARGET_RATIO, "omnilake_rss_max_mib": TARGET_RSS_MIB}}
    print("== results")
    meds = {}
    for side in ("omnilake", "duckdb"):
        rs = runs[side]
        if not rs:
            note = om_note if side == "omnilake" else (dk_note or "skipped")
            print(f"   {side:8s}: NOT MEASURED — {note}")
            summary[side] = {"error": note}
            continue
        w = med([r["wall_s"] for r in rs])
        m = max(r["peak_rss_mib"] for r in rs)
        cpu = med([r["cpu_s"] for r in rs])
        meds[side] = (w, m, cpu)
        summary[side] = {"median_wall_s": w, "median_cpu_s": cpu, "max_peak_rss_mib": m,
                         "median_peak_rss_mib": med([r["peak_rss_mib"] for r in rs]),
                         "gz_mb_per_s": round(gz_mb / w, 1), "raw_mb_per_s": round(raw_mb / w, 1)}
        print(f"   {side:8s}: median {w:.2f} s wall ({cpu:.2f} s CPU), peak RSS max {m:.1f} MiB, "
              f"input {gz_mb / w:,.1f} MB/s gz, {raw_mb / w:,.1f} MB/s raw JSON")
    checks = []
    if "omnilake" in meds and "duckdb" in meds:
        ratio = meds["omnilake"][0] / meds["duckdb"][0]
        summary["ratio_omnilake_over_duckdb"] = round(ratio, 3)
        cpu_ratio = meds["omnilake"][2] / meds["duckdb"][2] if meds["duckdb"][2] else None
        summary["cpu_ratio_omnilake_over_duckdb"] = cpu_ratio and round(cpu_ratio, 3)
        print(f"   ratio omnilake/duckdb (median wall): {ratio:.3f}"
              + (f"   (CPU time: {cpu_ratio:.3f})" if cpu_ratio else ""))
        checks.append(("ratio <= %.2f" % TARGET_RATIO, ratio <= TARGET_RATIO, f"{ratio:.3f}"))
    else:
        checks.append(("ratio <= %.2f" % TARGET_RATIO, False, "not measured"))
    if "omnilake" in meds:
        m = meds["omnilake"][1]
        checks.append((f"omnilake peak RSS <= {TARGET_RSS_MIB} MiB", m <= TARGET_RSS_MIB, f"{m:.1f} MiB"))
    else:
        checks.append((f"omnilake peak RSS <= {TARGET_RSS_MIB} MiB", False, "not measured"))
    if "omnilake" in last_out and "duckdb" in last_out:
        cmp = compare_outputs(last_out["omnilake"], last_out["duckdb"])
        summary["sanity"] = cmp
        print("== sanity (last run of each side)")
        for table, e in cmp.items():
            print(f"   {table}: rows omnilake {e.get('omnilake_rows', '-')} / duckdb {e['duckdb_rows']}; "
                  f"sums compared {e.get('compared_sums', [])}: "
                  + ("same" if e["ok"] else f"DIFFER omnilake {e.get('omnilake_sums', e.get('omnilake'))} "
                                            f"duckdb {e['duckdb_sums']}"))
            checks.append((f"{table} rows and totals match DuckDB", e["ok"], ""))
    elif "duckdb" in last_out:
        cmp = {}
        for table, cols in SUM_COLS.items():
            rows, sums = parquet_stats([os.path.join(last_out["duckdb"], f"{table}.parquet")], cols)
            cmp[table] = {"duckdb_rows": rows, "duckdb_sums": {k: str(v) for k, v in sums.items()}}
            print(f"   duckdb {table}: {rows} rows, " + ", ".join(f"{k}={v}" for k, v in sums.items()))
        summary["sanity"] = cmp
    summary["checks"] = [{"check": n, "pass": ok, "value": v} for n, ok, v in checks]
    for n, ok, v in checks:
        print(f"{'PASS' if ok else 'FAIL'} {n}" + (f" ({v})" if v else ""))
    res_path = os.path.join(data, "last-result.json")
    summary["finished_at"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    with open(res_path, "w") as f:
        json.dump(summary, f, indent=1, default=str)
    print(f"== summary: {res_path}")
    if a.keep:
        print(f"   outputs and logs kept in {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if all(ok for _, ok, _ in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
