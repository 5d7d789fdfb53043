#!/usr/bin/env python3
"""Seeded multi-day canonical dataset for the rollup oracle test.

Writes files laid out like the data bucket (canonical/orders, canonical/inventory,
canonical/products, canonical/order_members, canonical/member_merges), a shops.json, a `late/`
set (later versions of orders placed on LAST-2, a late merge, a late movement) and stats.json.
Everything derives from one random.Random(seed), gzip members carry mtime=0, so a seed gives
byte-identical files.

Usage: generate.py --out DIR [--seed N] [--days 21] [--start 2026-10-01] [--orders-per-day 2600]

Money is kept in integer cents here and written as decimal strings; all times are RFC 3339 with
the shop's (orders) or Asia/Shanghai's (inventory) offset.
"""
import argparse
import datetime as dt
import gzip
import json
import os
import random
import time
from zoneinfo import ZoneInfo

SH = ZoneInfo("Asia/Shanghai")
UTC = dt.timezone.utc

# Shops as the DynamoDB shops table holds them. Shop ids are unique across formats, and the
# two warehouses are shared: WH-INTL by the non-Shanghai online shops, WH-SH by the Shanghai ones.
SHOPS = [
    {"format": "shopify", "shop_id": "acme-us", "time_zone": "America/Los_Angeles",
     "currency": "USD", "location_id": "WH-INTL", "channels": ["shopify"]},
    {"format": "woocommerce", "shop_id": "acme-eu", "time_zone": "Europe/Berlin",
     "currency": "EUR", "location_id": "WH-INTL", "channels": ["woocommerce"]},
    {"format": "youzan", "shop_id": "acme-yz", "time_zone": "Asia/Shanghai",
     "currency": "CNY", "location_id": "WH-SH", "channels": ["youzan"]},
    {"format": "standard", "shop_id": "acme-pos", "time_zone": "Asia/Shanghai",
     "currency": "CNY", "location_id": "WH-SH", "channels": ["pos"]},
    {"format": "standard", "shop_id": "acme-mkt", "time_zone": "Asia/Shanghai",
     "currency": "CNY", "location_id": "WH-SH", "channels": ["tmall", "jd"]},
]
# channel -> (shop_id, share of the day's orders, member pool)
CHANNELS = {
    "shopify": ("acme-us", 0.14, "us"),
    "woocommerce": ("acme-eu", 0.10, "eu"),
    "youzan": ("acme-yz", 0.20, "cn"),
    "pos": ("acme-pos", 0.26, "cn"),
    "tmall": ("acme-mkt", 0.16, "cn"),
    "jd": ("acme-mkt", 0.14, "cn"),
}
# POS stores: each is its own stock location (location = store_id).
STORES = [
    ("SZ-NS-01", "深圳", ["王芳", "李强", "张伟"]),
    ("SZ-FT-02", "深圳", ["陈静", "刘洋"]),
    ("GZ-TH-03", "广州", ["黄磊", "周敏"]),
]
CITIES = {
    "cn": ["深圳", "广州", "上海", "北京", "杭州", "成都", "南京"],
    "us": ["Los Angeles", "San Francisco", "Seattle", "Portland", "San Diego"],
    "eu": ["Berlin", "München", "Hamburg", "Köln", "Frankfurt am Main"],
}

# sku, name, category, CNY price (cents), standard cost (cents or None), requires_installation,
# is_consumable, selection weight. Cost of the warehouses' receipts is derived from standard cost.
PRODUCTS = [
    ("PUR-RO-500", "RO purifier 500G", "purifier", 299900, 142000, True, False, 5),
    ("PUR-RO-800", "RO purifier 800G", "purifier", 429900, 205000, True, False, 3),
    ("PUR-UF-300", "UF purifier 300", "purifier", 129900, 61000, True, False, 4),
    ("PUR-UV-200", "UV purifier 200", "purifier", 189900, 88000, True, False, 2),
    ("PUR-CTR-100", "Countertop purifier", "purifier", 159900, 72000, False, False, 3),
    ("HTR-WALL-01", "Wall water heater", "heater", 249900, 118000, True, False, 2),
    ("SOFT-WH-01", "Whole-house softener", "softener", 699900, 335000, True, False, 1),
    # Sold only by the forced orders of gen_orders (weight 0): its refunds land on days
    # without a sale of it, giving sales_daily rows with units_refunded but no units_sold.
    ("PUR-RO-1200", "Commercial RO 1200G", "purifier", 1599900, 760000, True, False, 0),
    ("DSP-HC-01", "Hot/cold dispenser", "dispenser", 219900, 99000, False, False, 2),
    ("FLT-RO-500", "RO membrane 500G", "filter", 39900, 15500, False, True, 8),
    ("FLT-RO-800", "RO membrane 800G", "filter", 49900, 19800, False, True, 5),
    ("FLT-PP-10", "PP cotton 10in", "filter", 4900, 1650, False, True, 10),
    ("FLT-CTO-10", "Carbon block 10in", "filter", 6900, 2400, False, True, 10),
    ("FLT-UF-300", "UF cartridge", "filter", 19900, 7300, False, True, 6),
    ("FLT-UV-LAMP", "UV lamp", "filter", 29900, 11800, False, True, 3),
    ("FLT-SOFT-SALT", "Softener salt 10kg", "filter", 8900, 3100, False, True, 4),
    ("FLT-PITCHER-3", "Pitcher filter 3-pack", "filter", 15900, 5400, False, True, 6),
    ("ACC-FAUCET-01", "Dedicated faucet", "accessory", 19900, 7900, False, False, 3),
    ("ACC-TDS-PEN", "TDS pen", "accessory", 9900, 3100, False, False, 4),
    ("ACC-BOOSTER", "Booster pump", "accessory", 39900, 16500, True, False, 2),
    ("ACC-TEE-VALVE", "Tee valve", "accessory", 2900, 800, False, False, 3),
    ("ACC-HOSE-KIT", "Hose kit", "accessory", 4900, 1500, False, False, 3),
    ("ACC-BOTTLE-1L", "Glass bottle 1L", "accessory", 5900, 1800, False, False, 5),
    # A product without standard_cost and never received: its cost is 0 everywhere.
    ("ACC-SAMPLE", "Sample sachet", None, 1900, None, False, True, 1),
]
# Sold but absent from the product catalog (and never received): cost 0, no installation.
NO_PRODUCT_SKU = ("ACC-GIFT-BAG", 990)
# Never received anywhere: COGS falls back to standard_cost (stock arrives by count/adjustment
# at the warehouses and by transfer at the stores).
NO_RECEIPT_SKUS = {"FLT-PP-10", "ACC-SAMPLE", "ACC-GIFT-BAG"}
# Stores buy these from a local supplier (their own receipts and weighted cost); everything
# else reaches a store by transfer from WH-SH (units only, so its cost there is standard_cost).
STORE_DIRECT = {"FLT-RO-500", "FLT-CTO-10", "ACC-BOTTLE-1L"}
FX = {"CNY": 1.0, "USD": 6.9, "EUR": 7.8}
SHIPPING = {"USD": [0, 0, 1500], "EUR": [0, 990], "CNY": [0, 0, 0, 1000]}
TAX_RATE = {"USD": 0.0825, "EUR": 0.19}  # on top; CNY prices include VAT (tax "0.00")


def money(c):
    """cents -> decimal string in major units ("1299.00")."""
    sign = "-" if c < 0 else ""
    c = abs(c)
    return f"{sign}{c // 100}.{c % 100:02d}"


def rhu(num, den):
    """num/den rounded half up (non-negative ints)."""
    return (2 * num + den) // (2 * den)


def iso(ts, tz, ms=False):
    return ts.astimezone(tz).isoformat(timespec="milliseconds" if ms else "seconds")


def ms_of(ts):
    return int(round(ts.timestamp() * 1000))


class Gen:
    def __init__(self, seed, days, start, orders_per_day):
        self.r = random.Random(seed)
        self.days = days
        self.start = start
        self.last = start + dt.timedelta(days=days - 1)
        self.opd = orders_per_day
        self.shop = {s["shop_id"]: s for s in SHOPS}
        self.prod = {p[0]: p for p in PRODUCTS}
        self.skus = [p[0] for p in PRODUCTS] + [NO_PRODUCT_SKU[0]]
        self.weights = [p[7] for p in PRODUCTS] + [2]
        self.orders = []  # every order: dict with versions, final snapshot, meta
        self.raw_n = 0
        self.mv_n = 0

    # ------------------------------------------------------------------ helpers
    def raw_key(self, fmt, shop, ts):
        self.raw_n += 1
        return (f"raw/platform={fmt}/shop={shop}/dt={ts.astimezone(UTC).date()}/"
                f"{self.r.getrandbits(64):016x}{self.raw_n:06d}.json")

    def horizon(self, tz):
        """Last instant of the LAST business day in zone tz: no event is generated after it."""
        end = dt.datetime.combine(self.last + dt.timedelta(days=1), dt.time(0), tz)
        return end - dt.timedelta(seconds=1)

    def price(self, sku, cur):
        cny = self.prod[sku][3] if sku in self.prod else NO_PRODUCT_SKU[1]
        if cur == "CNY":
            return cny
        major = int(cny / 100 / FX[cur])
        return max(major, 1) * 100 - 1  # x.99

    def local_time(self, day, tz, channel):
        """A placement instant on local `day`: business-hour weighted, some near midnight."""
        r = self.r
        if channel in ("shopify", "woocommerce") and r.random() < 0.03:
            if r.random() < 0.5:
                secs = 24 * 3600 - 1 - r.randrange(600)  # 23:50:00..23:59:59
            else:
                secs = r.randrange(600)  # 00:00:00..00:09:59
        elif channel == "pos":
            secs = r.randrange(9 * 3600, 21 * 3600)
        else:
            hour = r.choices(range(24), weights=[2, 1, 1, 1, 1, 1, 2, 3, 4, 5, 6, 6, 6, 6, 5, 5,
                                                   5, 6, 7, 8, 9, 9, 7, 4])[0]
            secs = hour * 3600 + r.randrange(3600)
        naive = dt.datetime.combine(day, dt.time(0)) + dt.timedelta(seconds=secs)
        ts = naive.replace(tzinfo=tz)
        if channel == "pos":
            ts += dt.timedelta(milliseconds=r.randrange(1, 1000))  # POS sends milliseconds
        return ts

    # ------------------------------------------------------------------ members and merges
    def plan_members(self):
        r = self.r
        self.pool = {"cn": [f"m-cn-{i:06d}" for i in range(1, 9001)],
                     "us": [f"m-us-{i:05d}" for i in range(1, 1801)],
                     "eu": [f"m-eu-{i:05d}" for i in range(1, 1201)]}
        # Zipf-like weights: a few members buy often, most once or twice.
        self.pool_w = {k: [1.0 / (i + 150) ** 0.9 for i in range(len(v))] for k, v in self.pool.items()}
        self.merges = []  # {"member_id", "merged_from", "at"}
        used = set()

        def pick(pool, top=1500):
            # among frequent buyers, so that merged members have orders on both sides
            while True:
                m = r.choice(self.pool[pool][:top])
                if m not in used:
                    used.add(m)
                    return m

        def at_day(i):
            d = self.start + dt.timedelta(days=i)
            return dt.datetime.combine(d, dt.time(0), SH) + dt.timedelta(seconds=r.randrange(8 * 3600, 22 * 3600))

        for pool, n in (("cn", 110), ("us", 10), ("eu", 6)):
            for _ in range(n):
                x, y = pick(pool), pick(pool)
                self.merges.append({"member_id": y, "merged_from": [x],
                                    "at": at_day(r.randrange(1, self.days))})
        # One sign-up merging two members at once, and the chain A -> B (day 4), B -> C (day 11).
        x1, x2, y = pick("cn", 200), pick("cn", 200), pick("cn", 200)
        self.merges.append({"member_id": y, "merged_from": [x1, x2], "at": at_day(7)})
        a, b, c = pick("cn", 100), pick("cn", 100), pick("cn", 100)
        self.merges.append({"member_id": b, "merged_from": [a], "at": at_day(min(3, self.days - 1))})
        self.merges.append({"member_id": c, "merged_from": [b], "at": at_day(min(10, self.days - 1))})
        self.chain = (a, b, c)
        self.merge_used = used
        self.merges.sort(key=lambda m: m["at"])
        self.merge_of = {x: (mg["at"], mg["member_id"]) for mg in self.merges for x in mg["merged_from"]}

    def effective_member(self, m, ts):
        """The member id unify-points would have written at `ts`: merges known by then applied."""
        while m in self.merge_of and self.merge_of[m][0] <= ts:
            m = self.merge_of[m][1]
        return m

    # ------------------------------------------------------------------ orders
    def make_lines(self, cur, channel):
        r = self.r
        k = r.choices([1, 2, 3, 4], weights=[55, 30, 10, 5])[0]
        skus = []
        while len(skus) < k:
            s = r.choices(self.skus, weights=self.weights)[0]
            if s == "ACC-GIFT-BAG" and channel != "pos":
                continue
            if s not in skus:  # one line per SKU: refund lines are matched to lines by sku
                skus.append(s)
        lines = []
        for s in skus:
            cat = self.prod[s][2] if s in self.prod else "accessory"
            if cat in ("purifier", "heater", "softener", "dispenser"):
                q = 1 if r.random() < 0.9 else 2
            elif cat == "filter":
                q = r.choice([1, 1, 2, 2, 3, 4, 6])
            else:
                q = r.choice([1, 1, 1, 2, 3])
            p = self.price(s, cur)
            d = 0
            if r.random() < 0.3:
                d = rhu(q * p * r.choice([5, 10, 15, 20]), 100)
            lines.append({"sku": s, "quantity": q, "unit_price": p, "discount": d,
                          "refunded_quantity": 0, "refunded_amount": 0})
        return lines

    def new_order(self, day, channel, seq):
        r = self.r
        shop_id, _, pool = CHANNELS[channel]
        shop = self.shop[shop_id]
        tz = ZoneInfo(shop["time_zone"])
        cur = shop["currency"]
        placed = self.local_time(day, tz, channel)
        ymd = day.strftime("%Y%m%d")
        o = {"platform": channel, "shop_id": shop_id, "fmt": shop["format"], "tz": tz,
             "currency": cur, "placed": placed, "pool": pool}
        if channel == "shopify":
            o["order_id"] = str(5_100_000_000_000 + int(ymd[2:]) * 10_000 + seq)
        elif channel == "woocommerce":
            o["order_id"] = str(40_000 + (day - self.start).days * 1000 + seq)
        elif channel == "youzan":
            o["order_id"] = f"E{ymd}{seq:06d}{r.randrange(10**6):06d}"
        elif channel == "pos":
            store = r.choice(STORES)
            o["store"] = store
            o["salesperson"] = r.choice(store[2])
            o["order_id"] = f"POS-{store[0]}-{ymd}-{seq:04d}"
        elif channel == "tmall":
            o["order_id"] = f"3{ymd}{seq:05d}{r.randrange(10**5):05d}"
        else:
            o["order_id"] = f"28{ymd[2:]}{seq:05d}{r.randrange(10**4):04d}"
        o["lines"] = self.make_lines(cur, channel)
        # Member or guest (guests: no order_members line).
        guest_p = 0.35 if channel == "pos" else 0.22
        if r.random() < guest_p:
            o["person"] = None
        else:
            o["person"] = r.choices(self.pool[pool], weights=self.pool_w[pool])[0]
        if channel == "pos":
            o["city"] = o["store"][1]
        elif r.random() < 0.93:
            o["city"] = r.choice(CITIES[pool])
        o["shipping"] = r.choice(SHIPPING[cur])
        sub = sum(l["quantity"] * l["unit_price"] - l["discount"] for l in o["lines"])
        o["tax"] = rhu(int(sub * TAX_RATE[cur] * 10000), 10000) if cur in TAX_RATE else 0
        o["taxes_included"] = cur == "CNY"
        cust = {}
        if o["person"]:
            h = r.randrange(10**8)
            if pool == "cn":
                cust["phone"] = f"+86138{h:08d}"
            else:
                cust["email"] = f"{o['person']}@example.com"
            if channel != "pos":
                cust["platform_customer_id"] = f"c{h}"
        elif channel != "pos" and r.random() < 0.7:
            cust["email"] = f"guest{r.randrange(10**7)}@example.org"
        o["customer"] = cust
        o["events"] = self.lifecycle(o, channel)
        return o

    def lifecycle(self, o, channel):
        """Timeline [(ts, kind, data)] of the order, cut at the horizon of its shop's zone."""
        r = self.r
        t0 = o["placed"]
        hz = self.horizon(o["tz"])
        ev = [(t0, "placed", None)]
        x = r.random()
        install = any(self.prod.get(l["sku"], (0,) * 6)[5] for l in o["lines"])
        if channel == "pos":
            if x < 0.02:
                return ev  # open tab: pending for good
            if x < 0.035:
                return ev + [(t0 + dt.timedelta(minutes=r.randrange(1, 30)), "cancel", None)]
            ev[0] = (t0, "placed_paid", None)
            paid = t0
            shipped = None
            if install:  # delivered and installed from the store a day or so later
                shipped = t0 + dt.timedelta(hours=r.uniform(12, 36))
                ev.append((shipped, "ship", None))
                if r.random() < 0.97:
                    ev.append((shipped + dt.timedelta(hours=r.uniform(10, 72)), "deliver", None))
            refund_p = 0.07
        else:
            if x < 0.035:
                return ev
            if x < 0.065:
                return ev + [(t0 + dt.timedelta(minutes=r.randrange(5, 180)), "cancel", None)]
            paid = t0 + dt.timedelta(seconds=r.choice([0, r.randrange(30, 1200)]))
            ev.append((paid, "pay", None))
            if x < 0.075:
                return ev + [(paid + dt.timedelta(hours=r.uniform(1, 10)), "cancel", None)]
            shipped = paid + dt.timedelta(hours=r.uniform(8, 60))
            ev.append((shipped, "ship", None))
            if r.random() < 0.96:
                ev.append((shipped + dt.timedelta(hours=r.uniform(20, 100)), "deliver", None))
            refund_p = 0.09
        if r.random() < refund_p:
            if r.random() < 0.3:
                rt = paid + dt.timedelta(minutes=r.randrange(20, 300))  # often the same day
            else:
                rt = paid + dt.timedelta(hours=r.uniform(12, 8 * 24))
            full = r.random() < 0.4
            ev.append((rt, "refund", "full" if full else "partial"))
            if not full and r.random() < 0.25:
                ev.append((rt + dt.timedelta(hours=r.uniform(6, 96)), "refund",
                           "full" if r.random() < 0.3 else "partial"))
        ev = [e for e in ev if e[0] <= hz]
        ev.sort(key=lambda e: e[0])
        return ev

    def apply_refund(self, o, state, ts, kind):
        r = self.r
        lines = state["lines"]
        remaining = [(i, l) for i, l in enumerate(lines)
                     if l["quantity"] * l["unit_price"] - l["discount"] - l["refunded_amount"] > 0]
        if not remaining:
            return False
        rlines = []
        ship = 0
        if kind == "full":
            for i, l in remaining:
                q = l["quantity"] - l["refunded_quantity"]
                a = l["quantity"] * l["unit_price"] - l["discount"] - l["refunded_amount"]
                rlines.append((i, q, a))
            ship = o["shipping"]
        else:
            i, l = r.choice(remaining)
            net = l["quantity"] * l["unit_price"] - l["discount"]
            left_a = net - l["refunded_amount"]
            left_q = l["quantity"] - l["refunded_quantity"]
            if left_q > 0 and r.random() < 0.7:
                k = r.randrange(1, left_q + 1) if left_q > 1 else 1
                a = left_a if k == left_q else min(left_a, rhu(net * k, l["quantity"]))
                rlines.append((i, k, a))
            else:  # an amount-only refund (price adjustment): quantity 0
                a = max(1, rhu(left_a * r.choice([5, 10, 20, 25]), 100))
                rlines.append((i, 0, min(a, left_a)))
        for i, q, a in rlines:
            lines[i]["refunded_quantity"] += q
            lines[i]["refunded_amount"] += a
        state["refunds"].append({
            "refund_id": f"rf-{o['order_id']}-{len(state['refunds']) + 1}",
            "at": ts,
            "lines": [{"sku": lines[i]["sku"], "quantity": q, "amount": a} for i, q, a in rlines],
            "shipping": ship,
        })
        return True

    def build_versions(self, o):
        """Replay the timeline into snapshots; emit some of them as versions (the last always)."""
        r = self.r
        state = {"status": "pending", "paid_at": None, "shipped_at": None, "delivered_at": None,
                 "lines": [dict(l) for l in o["lines"]], "refunds": [], "cancelled": False}
        snaps = []
        last_v = 0
        for ts, kind, data in o["events"]:
            if kind in ("placed_paid", "pay"):
                state["paid_at"] = ts
            elif kind == "ship":
                state["shipped_at"] = ts
            elif kind == "deliver":
                state["delivered_at"] = ts
            elif kind == "cancel":
                state["cancelled"] = True
            elif kind == "refund":
                if not self.apply_refund(o, state, ts, data):
                    continue
            v = max(ms_of(ts), last_v + 1)
            last_v = v
            snaps.append((v, ts, self.snapshot(o, state)))
        keep = [s for i, s in enumerate(snaps) if i == len(snaps) - 1 or r.random() < 0.7]
        o["versions"] = [(v, ts, self.to_json(o, snap, v, ts)) for v, ts, snap in keep]
        o["final_state"] = snaps[-1][2]

    def snapshot(self, o, st):
        if st["cancelled"]:
            status = "cancelled"
        elif st["refunds"]:
            full = all(l["refunded_quantity"] == l["quantity"] and
                       l["refunded_amount"] == l["quantity"] * l["unit_price"] - l["discount"]
                       for l in st["lines"])
            status = "refunded" if full else "partially_refunded"
        elif st["delivered_at"]:
            status = "delivered"
        elif st["shipped_at"]:
            status = "shipped"
        elif st["paid_at"]:
            status = "paid"
        else:
            status = "pending"
        return {"status": status, "paid_at": st["paid_at"], "shipped_at": st["shipped_at"],
                "delivered_at": st["delivered_at"],
                "lines": [dict(l) for l in st["lines"]],
                "refunds": [dict(rf, lines=[dict(x) for x in rf["lines"]]) for rf in st["refunds"]]}

    def to_json(self, o, snap, v, ts):
        tz = o["tz"]
        pos = o["platform"] == "pos"
        rec = {"platform": o["platform"], "shop_id": o["shop_id"], "order_id": o["order_id"],
               "version": v, "status": snap["status"], "placed_at": iso(o["placed"], tz, pos)}
        for f in ("paid_at", "shipped_at", "delivered_at"):
            if snap[f] is not None:
                rec[f] = iso(snap[f], tz, pos)
        rec["currency"] = o["currency"]
        rec["customer"] = o["customer"]
        rec["lines"] = [{"sku": l["sku"], "quantity": l["quantity"],
                         "unit_price": money(l["unit_price"]), "discount": money(l["discount"]),
                         "refunded_quantity": l["refunded_quantity"],
                         "refunded_amount": money(l["refunded_amount"])} for l in snap["lines"]]
        rec["shipping"] = money(o["shipping"])
        rec["tax"] = money(o["tax"])
        rec["taxes_included"] = o["taxes_included"]
        rec["refunds"] = [{"refund_id": rf["refund_id"], "at": iso(rf["at"], tz, pos),
                           "lines": [{"sku": x["sku"], "quantity": x["quantity"],
                                      "amount": money(x["amount"])} for x in rf["lines"]],
                           "shipping": money(rf["shipping"])} for rf in snap["refunds"]]
        if pos:
            rec["store_id"] = o["store"][0]
            rec["salesperson"] = o["salesperson"]
        if "city" in o:
            rec["city"] = o["city"]
        rec["source_raw_key"] = self.raw_key(o["fmt"], o["shop_id"], ts)
        return rec

    def member_lines(self, o):
        """order_members lines of an order's versions (not every version has one)."""
        r = self.r
        if not o["person"]:
            o["member_lines"] = []
            return
        out = []
        vs = o["versions"]
        for i, (v, ts, _) in enumerate(vs):
            if r.random() < 0.85 or (i == len(vs) - 1 and not out):
                out.append({"platform": o["platform"], "shop_id": o["shop_id"],
                            "order_id": o["order_id"], "version": v,
                            "member_id": self.effective_member(o["person"], ts)})
        # Rarely the first version was linked to another member (a shared phone corrected
        # later): the line with the greatest version decides.
        if len(out) >= 2 and r.random() < 0.03:
            out[0] = dict(out[0], member_id=r.choice(self.pool[o["pool"]][-300:]))
        o["member_lines"] = out

    def gen_orders(self):
        r = self.r
        for di in range(self.days):
            day = self.start + dt.timedelta(days=di)
            n = int(self.opd * r.uniform(0.9, 1.1))
            seqs = {}
            for _ in range(n):
                ch = r.choices(list(CHANNELS), weights=[c[1] for c in CHANNELS.values()])[0]
                seqs[ch] = seqs.get(ch, 0) + 1
                o = self.new_order(day, ch, seqs[ch])
                self.build_versions(o)
                self.member_lines(o)
                self.orders.append(o)
            # A rare SKU sold once and refunded a few days later, on a few channels.
            if di % 4 == 1 and di + 4 < self.days:
                ch = ["shopify", "pos", "youzan", "woocommerce", "jd", "tmall"][(di // 4) % 6]
                seqs[ch] = seqs.get(ch, 0) + 1
                o = self.new_order(day, ch, seqs[ch])
                o["lines"] = [{"sku": "PUR-RO-1200", "quantity": 1,
                               "unit_price": self.price("PUR-RO-1200", o["currency"]),
                               "discount": 0, "refunded_quantity": 0, "refunded_amount": 0}]
                t0 = o["placed"]
                o["events"] = [(t0, "placed_paid", None),
                               (t0 + dt.timedelta(hours=20), "ship", None),
                               (t0 + dt.timedelta(hours=50), "deliver", None),
                               (t0 + dt.timedelta(days=r.choice([2, 3]), hours=r.randrange(1, 5)),
                                "refund", r.choice(["full", "partial"]))]
                self.build_versions(o)
                self.member_lines(o)
                self.orders.append(o)

    # ------------------------------------------------------------------ inventory
    def mv(self, typ, loc, sku, qty, at, **kw):
        self.mv_n += 1
        m = {"movement_id": f"mv-{self.mv_n:07d}", "type": typ, "location_id": loc, "sku": sku,
             "quantity": qty}
        if "unit_cost" in kw:
            m["unit_cost"] = money(kw["unit_cost"])
        m["at"] = iso(at, SH)
        if kw.get("reference"):
            m["reference"] = kw["reference"]
        if kw.get("expected_at"):
            m["expected_at"] = iso(kw["expected_at"], SH)
        m["source_raw_key"] = f"raw/platform=standard/shop=erp/dt={at.astimezone(UTC).date()}/ev{self.mv_n:07d}.json"
        self.movements.append(m)
        return m

    def at(self, di, h0, h1):
        d = self.start + dt.timedelta(days=di)
        return dt.datetime.combine(d, dt.time(0), SH) + dt.timedelta(seconds=self.r.randrange(int(h0 * 3600), int(h1 * 3600)))

    def gen_inventory(self):
        r = self.r
        self.movements = []
        D = self.days
        # Daily demand per (location, sku) from the final state of counted orders.
        dem = {}
        for o in self.orders:
            if o["final_state"]["status"] == "cancelled":
                continue
            loc = o["store"][0] if "store" in o else self.shop[o["shop_id"]]["location_id"]
            di = (o["placed"].astimezone(o["tz"]).date() - self.start).days
            for l in o["final_state"]["lines"]:
                dem.setdefault((loc, l["sku"]), [0] * D)[di] += l["quantity"]

        def demand(loc, sku, a, b):
            v = dem.get((loc, sku), [0] * D)
            return sum(v[max(a, 0):min(b, D)])

        stores = [s[0] for s in STORES]
        received = [p[0] for p in PRODUCTS if p[0] not in NO_RECEIPT_SKUS]
        self.po_n = 0
        self.tr_n = 0
        base_cost = {p[0]: p[4] for p in PRODUCTS if p[4]}

        def cost_for(loc, sku):
            c = base_cost[sku]
            if loc == "WH-INTL":  # bought abroad, in the sales currencies' price level
                c = int(c * 1.12 / 7.3)
            return int(c * r.uniform(0.92, 1.08))

        def run_po(loc, sku, day, qty):
            """po_shipped on `day`, receipt(s) a few days later (some partial, some short)."""
            self.po_n += 1
            ref = f"PO-{loc}-{self.po_n:05d}"
            ship_at = self.at(day, 8, 18)
            self.mv("po_shipped", loc, sku, qty, ship_at, reference=ref,
                    expected_at=ship_at + dt.timedelta(days=3))
            uc = cost_for(loc, sku)
            rday = day + r.choice([1, 2, 2, 3, 4])
            x = r.random()
            if x < 0.2:  # partial receipts on two days
                q1 = max(1, int(qty * r.uniform(0.5, 0.8)))
                parts = [(rday, q1), (rday + r.choice([1, 2, 3]), qty - q1)]
            elif x < 0.25:  # supplier short-shipped: the rest stays "in transit"
                parts = [(rday, max(1, qty - r.randrange(1, 4)))]
            else:
                parts = [(rday, qty)]
            for pd, pq in parts:
                if pd < D and pq > 0:
                    self.mv("receipt", loc, sku, pq, self.at(pd, 9, 17), unit_cost=uc, reference=ref)

        def run_transfer(src, dst, sku, day, qty):
            self.tr_n += 1
            ref = f"TR-{self.tr_n:05d}"
            out_at = self.at(day, 7, 16)
            self.mv("transfer_out", src, sku, qty, out_at, reference=ref)
            x = r.random()
            in_at = out_at + dt.timedelta(hours=(r.uniform(2, 6) if x < 0.25 else
                                                  r.uniform(18, 30) if x < 0.8 else r.uniform(40, 56)))
            if (in_at.astimezone(SH).date() - self.start).days < D:
                self.mv("transfer_in", dst, sku, qty, in_at, reference=ref)

        # Opening stock on the first day, before any sale: receipts without reference at the
        # warehouses (two cost levels for some), counts for the never-received SKUs.
        for wh in ("WH-SH", "WH-INTL"):
            for sku in received:
                need = demand(wh, sku, 0, 8) + (sum(demand(s, sku, 0, 8) for s in stores) if wh == "WH-SH" else 0)
                need += r.randrange(5, 30)
                if r.random() < 0.3:
                    q1 = need // 2
                    self.mv("receipt", wh, sku, q1, self.at(0, 0.2, 1.5), unit_cost=cost_for(wh, sku))
                    self.mv("receipt", wh, sku, need - q1, self.at(0, 1.6, 3), unit_cost=cost_for(wh, sku))
                else:
                    self.mv("receipt", wh, sku, need, self.at(0, 0.2, 3), unit_cost=cost_for(wh, sku))
            self.mv("count", wh, "FLT-PP-10", demand(wh, "FLT-PP-10", 0, 12) + 40, self.at(0, 0.1, 0.5))
        self.mv("adjustment", "WH-SH", "ACC-SAMPLE", 300, self.at(0, 0.1, 0.5))
        # Stores: first stock by transfer the first night; direct SKUs also from a supplier.
        for st in stores:
            for sku in received + ["FLT-PP-10"]:
                q = demand(st, sku, 0, 5) + r.randrange(2, 6)
                self.tr_n += 1
                ref = f"TR-{self.tr_n:05d}"
                self.mv("transfer_out", "WH-SH", sku, q, self.at(0, 3, 4), reference=ref)
                self.mv("transfer_in", st, sku, q, self.at(0, 5, 6), reference=ref)
            for sku in sorted(STORE_DIRECT):
                self.mv("receipt", st, sku, demand(st, sku, 0, 4) + 5, self.at(0, 6, 8.5),
                        unit_cost=int(base_cost[sku] * r.uniform(0.85, 1.0)))
        # Replenishment.
        for wh in ("WH-SH", "WH-INTL"):
            for sku in received:
                day = r.randrange(2, 5)
                while day < D:
                    span = r.randrange(4, 7)
                    q = demand(wh, sku, day + 2, day + 2 + span)
                    if wh == "WH-SH":
                        q += sum(demand(s, sku, day + 2, day + 2 + span) for s in stores)
                    q = int(q * 1.1) + r.randrange(3, 15)
                    run_po(wh, sku, day, q)
                    day += span
        for st in stores:
            for sku in received + ["FLT-PP-10"]:
                day = r.randrange(1, 4)
                while day < D:
                    span = r.randrange(3, 5)
                    q = demand(st, sku, day + 1, day + 1 + span) + r.randrange(0, 4)
                    if q > 0:
                        run_transfer("WH-SH", st, sku, day, q)
                    day += span
            for sku in sorted(STORE_DIRECT):
                for day in range(4, D, 6):
                    run_po(st, sku, day, demand(st, sku, day + 1, day + 7) + 5)
        for sku in ("ACC-TDS-PEN", "FLT-UV-LAMP"):  # warehouse-to-warehouse transfers
            for day in (5, 12, D - 2):
                if 0 < day < D:
                    run_transfer("WH-SH", "WH-INTL", sku, day, r.randrange(5, 20))
        # PP cotton "found" at the warehouses mid-period (never received: cost = standard).
        for wh in ("WH-SH", "WH-INTL"):
            for day in range(6, D, 7):
                self.mv("adjustment", wh, "FLT-PP-10", demand(wh, "FLT-PP-10", day, day + 7) + 10,
                        self.at(day, 6, 8))
        # Shrinkage/found adjustments (signed) and cycle counts at the Shanghai locations, at
        # mid-day so that sales fall on both sides of the count.
        locs = ["WH-SH"] + stores
        for di in range(D):
            for _ in range(3):
                loc = r.choice(locs + ["WH-INTL"])
                sku = r.choice(received)
                q = r.choice([-5, -3, -2, -1, -1, 1, 2, 4])
                self.mv("adjustment", loc, sku, q, self.at(di, 0, 24))
            for _ in range(3):
                loc = r.choice(locs)
                sku = r.choice(received[:16])
                est = max(0, demand(loc, sku, di + 1, di + 4) + r.randrange(-3, 8))
                self.mv("count", loc, sku, est, self.at(di, 12, 15))
        # Tie rules of docs/tables.md: an adjustment at the very instant of a count comes before
        # it; two counts at one instant apply in movement_id order (the file lists them reversed).
        t = self.at(min(9, D - 1), 13, 14)
        self.mv("adjustment", "SZ-NS-01", "FLT-CTO-10", 2, t)
        self.mv("count", "SZ-NS-01", "FLT-CTO-10", 7, t)
        t2 = self.at(min(13, D - 1), 13, 14)
        c1 = self.mv("count", "WH-SH", "FLT-RO-500", 40, t2)
        c2 = self.mv("count", "WH-SH", "FLT-RO-500", 44, t2)
        i1, i2 = self.movements.index(c1), self.movements.index(c2)
        self.movements[i1], self.movements[i2] = c2, c1

    # ------------------------------------------------------------------ late set
    def gen_late(self):
        """Later versions of orders placed on LAST-2 (cancel, refund change, quantity change),
        their order_members lines, a late merge and a late movement."""
        r = self.r
        target = self.last - dt.timedelta(days=2)
        cands = [o for o in self.orders if o["placed"].astimezone(o["tz"]).date() == target
                 and o["final_state"]["status"] != "cancelled"]
        r.shuffle(cands)
        self.late_orders = []
        used = set()

        def take(pred, n):
            out = []
            for o in cands:
                if len(out) == n:
                    break
                if o["order_id"] not in used and pred(o):
                    used.add(o["order_id"])
                    out.append(o)
            return out

        no_ref = lambda o: not o["final_state"]["refunds"]
        changes = ([(o, "cancel") for o in take(no_ref, 12)]
                   + [(o, "refund") for o in take(lambda o: o["final_state"]["paid_at"] is not None, 12)]
                   + [(o, "qty") for o in take(lambda o: no_ref(o) and o["final_state"]["status"] in ("pending", "paid", "shipped"), 10)])
        for i, (o, what) in enumerate(changes):
            st = o["final_state"]
            state = {"status": st["status"], "paid_at": st["paid_at"], "shipped_at": st["shipped_at"],
                     "delivered_at": st["delivered_at"], "lines": [dict(l) for l in st["lines"]],
                     "refunds": [dict(rf, lines=[dict(x) for x in rf["lines"]]) for rf in st["refunds"]],
                     "cancelled": what == "cancel"}
            if what == "refund":
                day = self.last - dt.timedelta(days=r.choice([0, 1, 2]))
                ts = dt.datetime.combine(day, dt.time(0), o["tz"]) + dt.timedelta(seconds=r.randrange(3600, 80000))
                ts = max(ts, o["placed"] + dt.timedelta(minutes=5))
                if not self.apply_refund(o, state, ts, "partial" if r.random() < 0.7 else "full"):
                    continue
            elif what == "qty":
                l = r.choice(state["lines"])
                l["quantity"] = l["quantity"] + 1 if (l["quantity"] == 1 or r.random() < 0.5) else l["quantity"] - 1
                l["discount"] = min(l["discount"], l["quantity"] * l["unit_price"])
            ts = self.horizon(o["tz"]) - dt.timedelta(minutes=30 - i)
            v = max(o["versions"][-1][0], ms_of(ts)) + 1000 + i
            rec = self.to_json(o, self.snapshot(o, state), v, ts)
            ml = None
            if o["person"]:
                ml = {"platform": o["platform"], "shop_id": o["shop_id"], "order_id": o["order_id"],
                      "version": v, "member_id": self.effective_member(o["person"], ts)}
            self.late_orders.append((o, what, rec, ml))
        # A late merge of two members who both bought before LAST-2.
        buyers = {}
        for o in self.orders:
            if o["person"] and o["pool"] == "cn" and o["person"] not in self.merge_used \
                    and o["final_state"]["status"] != "cancelled":
                buyers.setdefault(o["person"], set()).add(o["placed"].date())
        pair = [m for m, ds in sorted(buyers.items()) if len(ds) >= 2 and min(ds) < target][:2]
        self.late_merge = None
        if len(pair) == 2:
            self.late_merge = {"member_id": pair[1], "merged_from": [pair[0]],
                               "at": dt.datetime.combine(self.last, dt.time(10), SH)}
        self.mv_n += 100000
        self.late_mv = []
        keep = self.movements
        self.movements = self.late_mv
        self.mv("adjustment", "WH-SH", "FLT-CTO-10", -4,
                dt.datetime.combine(target, dt.time(14, 30), SH))
        self.movements = keep

    # ------------------------------------------------------------------ output
    def write(self, out):
        r = self.r
        files = {}  # path -> list of json lines

        def add(path, rec):
            files.setdefault(path, []).append(rec)

        # Orders: one file per (partition, shop, arrival day, batch); 10% of versions land in
        # another file of their partition, 3% are written twice (a redelivery).
        for o in self.orders:
            dt_ = o["placed"].astimezone(o["tz"]).date()
            for v, ts, rec in o["versions"]:
                # batches of three arrival days keep the object count moderate (~25 a partition)
                arr = (ts.astimezone(SH).date() - self.start).days // 3
                name = f"{o['shop_id']}-arrival{arr:02d}"
                if r.random() < 0.1:
                    name = f"{o['shop_id']}-misc"
                add(f"canonical/orders/dt={dt_}/{name}.jsonl.gz", rec)
                if r.random() < 0.03:
                    add(f"canonical/orders/dt={dt_}/{o['shop_id']}-redelivery.jsonl.gz", rec)
            for ml in o["member_lines"]:
                add(f"canonical/order_members/dt={dt_}/unify-{r.randrange(2):03d}.jsonl.gz", ml)
                if r.random() < 0.02:
                    add(f"canonical/order_members/dt={dt_}/unify-retry.jsonl.gz", ml)
        for i, mg in enumerate(self.merges):
            d = mg["at"].astimezone(SH).date()
            rec = {"member_id": mg["member_id"], "merged_from": mg["merged_from"], "at": iso(mg["at"], SH)}
            add(f"canonical/member_merges/dt={d}/merges-000.jsonl.gz", rec)
            if i % 20 == 0:
                add(f"canonical/member_merges/dt={d}/merges-retry.jsonl.gz", rec)
        for i, m in enumerate(self.movements):
            d = dt.datetime.fromisoformat(m["at"]).date()
            add(f"canonical/inventory/dt={d}/erp-{(i // 50) % 3:03d}.jsonl.gz", m)
            if r.random() < 0.015:
                add(f"canonical/inventory/dt={d}/erp-resend.jsonl.gz", m)
        prod_day = self.start
        for p in PRODUCTS:
            rec = {"sku": p[0], "name": p[1]}
            if p[2]:
                rec["category"] = p[2]
            if p[4] is not None:
                rec["standard_cost"] = money(p[4])
            rec.update({"requires_installation": p[5], "is_consumable": p[6],
                        "updated_at": iso(dt.datetime(2026, 9, 1, 9, 0, tzinfo=SH), SH),
                        "source_raw_key": f"raw/feed=products/catalog-2026-09-01.csv#{p[0]}"})
            add(f"canonical/products/dt={prod_day}/catalog-0001.jsonl.gz", rec)
        # Two products updated later (the latest `updated_at` wins): a new standard cost.
        for sku, c in (("FLT-PP-10", 1790), ("PUR-CTR-100", 69500)):
            p = self.prod[sku]
            rec = {"sku": sku, "name": p[1], "category": p[2], "standard_cost": money(c),
                   "requires_installation": p[5], "is_consumable": p[6],
                   "updated_at": iso(dt.datetime(2026, 9, 20, 9, 0, tzinfo=SH), SH),
                   "source_raw_key": f"raw/feed=products/catalog-2026-09-20.csv#{sku}"}
            add(f"canonical/products/dt={prod_day}/catalog-0002.jsonl.gz", rec)

        for path, recs in files.items():
            if "/orders/" in path or "/inventory/" in path:
                # out of order inside files too (the counts pair keeps its reversed order)
                if "/orders/" in path:
                    r.shuffle(recs)
            write_gz(os.path.join(out, path), recs)

        late = {}
        for o, what, rec, ml in self.late_orders:
            dt_ = o["placed"].astimezone(o["tz"]).date()
            late.setdefault(f"canonical/orders/dt={dt_}/late-0001.jsonl.gz", []).append(rec)
            if ml:
                late.setdefault(f"canonical/order_members/dt={dt_}/late-0001.jsonl.gz", []).append(ml)
        mg = self.late_merge
        if mg:
            late[f"canonical/member_merges/dt={mg['at'].date()}/late-0001.jsonl.gz"] = [
                {"member_id": mg["member_id"], "merged_from": mg["merged_from"], "at": iso(mg["at"], SH)}]
        for m in self.late_mv:
            d = dt.datetime.fromisoformat(m["at"]).date()
            late.setdefault(f"canonical/inventory/dt={d}/late-0001.jsonl.gz", []).append(m)
        for path, recs in late.items():
            write_gz(os.path.join(out, "late", path), recs)
        with open(os.path.join(out, "shops.json"), "w") as f:
            json.dump(SHOPS, f, indent=1, ensure_ascii=False)
        return files

    def stats(self, files):
        vers = sum(len(o["versions"]) for o in self.orders)
        recs = sum(len(v) for k, v in files.items() if "/orders/" in k)
        fin = [o["final_state"] for o in self.orders]
        refunds = [(o, rf) for o in self.orders for rf in o["final_state"]["refunds"]]
        later = sum(1 for o, rf in refunds if rf["at"].astimezone(o["tz"]).date() > o["placed"].astimezone(o["tz"]).date())
        hz = {tz: self.horizon(ZoneInfo(tz)) for tz in sorted({s["time_zone"] for s in SHOPS})}
        undelivered = sum(1 for f in fin if f["shipped_at"] and not f["delivered_at"] and f["status"] != "cancelled")
        mv = {}
        for m in self.movements:
            mv[m["type"]] = mv.get(m["type"], 0) + 1
        po_ship = {}
        for m in self.movements:
            if m["type"] == "po_shipped":
                po_ship[m["reference"]] = m["quantity"]
        for m in self.movements:
            if m["type"] == "receipt" and m.get("reference"):
                po_ship[m["reference"]] -= m["quantity"]
        tr = {}
        for m in self.movements:
            if m["type"] in ("transfer_out", "transfer_in"):
                tr[m["reference"]] = tr.get(m["reference"], 0) + (m["quantity"] if m["type"] == "transfer_out" else -m["quantity"])
        cn_platforms = {}
        for o in self.orders:
            if o["person"]:
                cn_platforms.setdefault(o["person"], set()).add(o["platform"])
        return {
            "days": self.days, "first": str(self.start), "last": str(self.last),
            "orders": len(self.orders), "order_versions": vers, "order_version_records": recs,
            "latest_lines": sum(len(f["lines"]) for f in fin),
            "cancelled_latest": sum(1 for f in fin if f["status"] == "cancelled"),
            "pending_latest": sum(1 for f in fin if f["status"] == "pending"),
            "refunded_latest": sum(1 for f in fin if f["status"] == "refunded"),
            "partially_refunded_latest": sum(1 for f in fin if f["status"] == "partially_refunded"),
            "refunds": len(refunds), "refunds_after_placed_day": later,
            "shipped_undelivered_at_end": undelivered,
            "guest_orders": sum(1 for o in self.orders if not o["person"]),
            "members_2plus_platforms": sum(1 for v in cn_platforms.values() if len(v) >= 2),
            "merges": len(self.merges), "merge_chain": list(self.chain),
            "movements": mv, "po_in_transit_at_end": sum(1 for v in po_ship.values() if v > 0),
            "transfers_in_transit_at_end": sum(1 for v in tr.values() if v > 0),
            "late_changes": [(o["order_id"], w) for o, w, _, _ in self.late_orders],
            "late_merge": self.late_merge and {"member_id": self.late_merge["member_id"],
                                               "merged_from": self.late_merge["merged_from"]},
            "horizons": {k: str(v) for k, v in hz.items()},
        }


def write_gz(path, recs):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    data = "".join(json.dumps(x, ensure_ascii=False, separators=(",", ":")) + "\n" for x in recs).encode()
    with open(path, "wb") as f:
        with gzip.GzipFile(fileobj=f, mode="wb", mtime=0, compresslevel=5) as g:
            g.write(data)


def generate(out, seed=7, days=21, start=dt.date(2026, 10, 1), orders_per_day=2600):
    t = time.time()
    g = Gen(seed, days, start, orders_per_day)
    g.plan_members()
    g.gen_orders()
    g.gen_inventory()
    g.gen_late()
    files = g.write(out)
    st = g.stats(files)
    st["seconds"] = round(time.time() - t, 1)
    with open(os.path.join(out, "stats.json"), "w") as f:
        json.dump(st, f, indent=1, ensure_ascii=False)
    return st


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--days", type=int, default=21)
    ap.add_argument("--start", default="2026-10-01")
    ap.add_argument("--orders-per-day", type=int, default=2600)
    a = ap.parse_args()
    st = generate(a.out, a.seed, a.days, dt.date.fromisoformat(a.start), a.orders_per_day)
    print(json.dumps({k: v for k, v in st.items() if k != "late_changes"}, ensure_ascii=False))


if __name__ == "__main__":
    main()
