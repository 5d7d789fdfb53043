#!/usr/bin/env python3
"""DuckDB SQL oracle of the nightly rollup tables, written from docs/tables.md only.

    compute(data_dirs, shops_json, d, business_tz='Asia/Shanghai') -> {table: [row dict, ...]}

reads every canonical partition of every given directory (the base set, optionally the late
set) and computes, for business day d, every table of docs/tables.md. Unlike the Rust rollup,
which carries state from day to day, everything here is recomputed from the full history, so the
two implementations share no state and no code. `Oracle(...)` loads once and computes many days.

Exactness: money is integer cents (BIGINT/HUGEINT), unit costs are integers in 1e-6 of the
currency unit, and every rounding ("half away from zero") is the integer macro `rdiv`. Rows come
back with Python Decimal for decimal(18,2) columns, int, float, str, date, and UTC datetime.

CLI: oracle.py --data DIR [--data DIR2] --date D [--table T] prints the rows as JSON lines.
"""
import argparse
import datetime as dt
import glob
import json
import os
import sys
import time
from decimal import Decimal

import duckdb

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tables_meta import TABLES  # noqa: E402

# 1 currency unit = 1e6 cost units = 100 cents: cost(n) cents = rdiv(n * C6, Q * 10_000).
COST_SCALE = 1_000_000
CENTS_PER_COST = 10_000
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)

ORDER_COLUMNS = {
    "platform": "VARCHAR", "shop_id": "VARCHAR", "order_id": "VARCHAR", "version": "BIGINT",
    "status": "VARCHAR", "placed_at": "VARCHAR", "paid_at": "VARCHAR", "shipped_at": "VARCHAR",
    "delivered_at": "VARCHAR", "currency": "VARCHAR",
    "lines": "STRUCT(sku VARCHAR, quantity BIGINT, unit_price VARCHAR, discount VARCHAR, "
             "refunded_quantity BIGINT, refunded_amount VARCHAR)[]",
    "refunds": "STRUCT(refund_id VARCHAR, \"at\" VARCHAR, "
               "lines STRUCT(sku VARCHAR, quantity BIGINT, amount VARCHAR)[], shipping VARCHAR)[]",
    "store_id": "VARCHAR", "salesperson": "VARCHAR", "city": "VARCHAR",
    "source_raw_key": "VARCHAR",
}
MOVEMENT_COLUMNS = {
    "movement_id": "VARCHAR", "type": "VARCHAR", "location_id": "VARCHAR", "sku": "VARCHAR",
    "quantity": "BIGINT", "unit_cost": "VARCHAR", "at": "VARCHAR", "reference": "VARCHAR",
}
PRODUCT_COLUMNS = {
    "sku": "VARCHAR", "standard_cost": "VARCHAR", "requires_installation": "BOOLEAN",
    "updated_at": "VARCHAR",
}
MEMBER_COLUMNS = {
    "platform": "VARCHAR", "shop_id": "VARCHAR", "order_id": "VARCHAR", "version": "BIGINT",
    "member_id": "VARCHAR",
}
MERGE_COLUMNS = {"member_id": "VARCHAR", "merged_from": "VARCHAR[]", "at": "VARCHAR"}


def _files(dirs, sub):
    out = []
    for d in dirs:
        out += sorted(glob.glob(os.path.join(d, "canonical", sub, "**", "*.jsonl.gz"), recursive=True))
        out += sorted(glob.glob(os.path.join(d, "canonical", sub, "**", "*.jsonl"), recursive=True))
    return out


def _lit(s):
    return "'" + str(s).replace("'", "''") + "'"


class Oracle:
    def __init__(self, data_dirs, shops, business_tz="Asia/Shanghai"):
        if isinstance(shops, str):
            with open(shops) as f:
                shops = json.load(f)
        self.dirs = list(data_dirs)
        self.tz = business_tz
        self.con = duckdb.connect()
        self.con.execute("SET TimeZone = 'UTC'")
        self.con.execute("SET threads = 2")
        t = time.time()
        self._load(shops)
        self._derive()
        self.load_seconds = time.time() - t

    # -------------------------------------------------------------- inputs
    def _read(self, name, sub, columns):
        files = _files(self.dirs, sub)
        cols = ", ".join(f"{_lit(k)}: {_lit(v)}" for k, v in columns.items())
        if files:
            lst = "[" + ", ".join(_lit(f) for f in files) + "]"
            self.con.execute(
                f"CREATE TABLE {name} AS SELECT * FROM read_json({lst}, format='newline_delimited', "
                f"columns={{{cols}}}, filename=true, hive_partitioning=false)")
        else:
            decl = ", ".join(f'"{k}" {v}' for k, v in columns.items())
            self.con.execute(f"CREATE TABLE {name} ({decl}, filename VARCHAR)")

    def _load(self, shops):
        c = self.con
        # Exact rounding of num/den to an integer, half away from zero (den > 0).
        c.execute("CREATE MACRO rdiv(num, den) AS "
                  "CAST(sign(num) * ((2 * abs(CAST(num AS HUGEINT)) + den) // (2 * den)) AS HUGEINT)")
        # Decimal string in major units -> integer cents (rejects more than 2 decimals below).
        c.execute("CREATE MACRO cents(x) AS CAST(CAST(x AS DECIMAL(18,2)) * 100 AS BIGINT)")
        c.execute("CREATE MACRO cost6(x) AS CAST(CAST(x AS DECIMAL(38,6)) * 1000000 AS HUGEINT)")
        c.execute("CREATE TABLE shops (format VARCHAR, shop_id VARCHAR, time_zone VARCHAR, "
                  "currency VARCHAR, location_id VARCHAR)")
        c.executemany("INSERT INTO shops VALUES (?, ?, ?, ?, ?)",
                      [(s["format"], s["shop_id"], s["time_zone"], s.get("currency"),
                        s.get("location_id")) for s in shops])
        self._read("raw_orders", "orders", ORDER_COLUMNS)
        self._read("raw_movements", "inventory", MOVEMENT_COLUMNS)
        self._read("raw_products", "products", PRODUCT_COLUMNS)
        self._read("raw_members", "order_members", MEMBER_COLUMNS)
        self._read("raw_merges", "member_merges", MERGE_COLUMNS)
        bad = c.execute(r"""
            SELECT count(*) FROM (
              SELECT unnest(lines) l FROM raw_orders)
            WHERE NOT regexp_full_match(l.unit_price, '-?\d+(\.\d{1,2})?')
               OR NOT regexp_full_match(l.discount, '-?\d+(\.\d{1,2})?')
               OR NOT regexp_full_match(l.refunded_amount, '-?\d+(\.\d{1,2})?')""").fetchone()[0]
        assert bad == 0, f"{bad} money strings with more than 2 decimals"

    # -------------------------------------------------------------- day-independent derivations
    def _derive(self):
        c = self.con
        tz = _lit(self.tz)
        # Latest version of each order (docs: "the version with the greatest version counts";
        # equal versions are the same content, source_raw_key only makes the pick deterministic).
        c.execute("""
            CREATE TABLE latest AS SELECT * FROM raw_orders
            QUALIFY row_number() OVER (PARTITION BY platform, shop_id, order_id
                                       ORDER BY version DESC, source_raw_key) = 1""")
        # Members: the order_members line with the greatest version, then followed through
        # every merge (transitively) to the surviving member.
        c.execute("""
            CREATE TABLE merge_edge AS
            SELECT DISTINCT unnest(merged_from) AS alias, member_id AS target FROM raw_merges""")
        dup = c.execute("SELECT alias FROM merge_edge GROUP BY alias HAVING count(DISTINCT target) > 1").fetchall()
        assert not dup, f"member merged into two survivors: {dup[:5]}"
        c.execute("""
            CREATE TABLE alias_root AS
            WITH RECURSIVE walk(alias, target, depth) AS (
              SELECT alias, target, 1 FROM merge_edge
              UNION ALL
              SELECT w.alias, e.target, w.depth + 1 FROM walk w JOIN merge_edge e ON e.alias = w.target
              WHERE w.depth < 64)
            SELECT alias, arg_max(target, depth) AS root FROM walk GROUP BY alias""")
        c.execute("""
            CREATE TABLE order_member AS
            SELECT m.platform, m.shop_id, m.order_id, coalesce(a.root, m.member_id) AS member_id
            FROM (SELECT * FROM raw_members QUALIFY row_number() OVER (
                    PARTITION BY platform, shop_id, order_id ORDER BY version DESC, member_id) = 1) m
            LEFT JOIN alias_root a ON a.alias = m.member_id""")
        # Orders with their shop: business date/hour in the shop's zone, stock location.
        c.execute("""
            CREATE TABLE o AS
            SELECT v.platform, v.shop_id, v.order_id, v.version, v.status,
                   v.status <> 'cancelled' AS counted,
                   CAST(v.placed_at AS TIMESTAMPTZ) AS placed_ts, s.time_zone AS tz,
                   CAST(timezone(s.time_zone, CAST(v.placed_at AS TIMESTAMPTZ)) AS DATE) AS placed_date,
                   CAST(hour(timezone(s.time_zone, CAST(v.placed_at AS TIMESTAMPTZ))) AS INTEGER) AS hour,
                   CAST(timezone(s.time_zone, CAST(v.shipped_at AS TIMESTAMPTZ)) AS DATE) AS shipped_date,
                   CAST(timezone(s.time_zone, CAST(v.delivered_at AS TIMESTAMPTZ)) AS DATE) AS delivered_date,
                   v.store_id, v.salesperson, v.city,
                   CASE WHEN v.store_id IS NOT NULL THEN v.store_id
                        ELSE coalesce(s.location_id, v.shop_id) END AS location_id,
                   om.member_id, v.currency, v.lines, v.refunds, v.source_raw_key,
                   (SELECT coalesce(sum(l.quantity * cents(l.unit_price) - cents(l.discount)), 0)
                      FROM (SELECT unnest(v.lines) AS l)) AS subtotal_c
            FROM latest v
            LEFT JOIN shops s ON s.shop_id = v.shop_id AND s.format =
                 CASE WHEN v.platform IN ('shopify', 'woocommerce', 'youzan') THEN v.platform ELSE 'standard' END
            LEFT JOIN order_member om ON om.platform = v.platform AND om.shop_id = v.shop_id AND om.order_id = v.order_id""")
        missing = c.execute("SELECT DISTINCT platform, shop_id FROM o WHERE tz IS NULL").fetchall()
        assert not missing, f"orders of shops missing from shops.json: {missing}"
        c.execute("""
            CREATE TABLE ol AS
            SELECT * EXCLUDE (l, lines, refunds),
                   l.sku AS sku, l.quantity AS quantity, cents(l.unit_price) AS unit_price_c,
                   cents(l.discount) AS discount_c, l.quantity * cents(l.unit_price) AS gross_c,
                   coalesce(l.refunded_quantity, 0) AS refunded_quantity,
                   coalesce(cents(l.refunded_amount), 0) AS refunded_c
            FROM (SELECT *, unnest(range(len(lines))) AS line_no, unnest(lines) AS l FROM o)""")
        # Refund lines of counted orders, dated in the shop's zone.
        c.execute("""
            CREATE TABLE rl AS
            SELECT platform, shop_id, order_id, store_id, location_id, currency, member_id, tz,
                   refund_id, ts AS refund_ts,
                   CAST(timezone(tz, ts) AS DATE) AS refund_date,
                   CAST(hour(timezone(tz, ts)) AS INTEGER) AS refund_hour,
                   x.sku AS sku, coalesce(x.quantity, 0) AS quantity, cents(x.amount) AS amount_c
            FROM (SELECT *, unnest(r.lines) AS x FROM (
                    SELECT platform, shop_id, order_id, store_id, location_id, currency, member_id, tz,
                           r.refund_id AS refund_id, CAST(r."at" AS TIMESTAMPTZ) AS ts, r
                    FROM (SELECT *, unnest(refunds) AS r FROM o WHERE counted)))""")
        # Products: the record with the latest updated_at (file name breaks ties).
        c.execute("""
            CREATE TABLE prod AS
            SELECT sku, cost6(standard_cost) AS std6, coalesce(requires_installation, false) AS inst
            FROM raw_products QUALIFY row_number() OVER (
                PARTITION BY sku ORDER BY CAST(updated_at AS TIMESTAMPTZ) DESC NULLS LAST, filename DESC) = 1""")
        # Movements: movement_id is the idempotency key (a resend is the same movement).
        c.execute(f"""
            CREATE TABLE mv AS
            SELECT movement_id, type, location_id, sku, quantity, cost6(unit_cost) AS uc6,
                   CAST("at" AS TIMESTAMPTZ) AS at_ts,
                   CAST(timezone({tz}, CAST("at" AS TIMESTAMPTZ)) AS DATE) AS mdate, reference
            FROM raw_movements QUALIFY row_number() OVER (PARTITION BY movement_id ORDER BY filename) = 1""")
        # Stock events of every (location, sku), in the order docs/tables.md applies them: by
        # business day, then time; at one instant non-counts before counts, counts by movement_id.
        c.execute("""
            CREATE TABLE ev AS
            SELECT location_id, sku, mdate AS day, at_ts AS ts, CAST(type = 'count' AS INTEGER) AS is_count,
                   'M' || movement_id AS tb, type AS kind,
                   CASE type WHEN 'receipt' THEN quantity WHEN 'transfer_in' THEN quantity
                             WHEN 'transfer_out' THEN -quantity WHEN 'adjustment' THEN quantity
                             ELSE 0 END AS delta,
                   CASE WHEN type = 'count' THEN quantity END AS count_q
            FROM mv WHERE type <> 'po_shipped'
            UNION ALL
            SELECT location_id, sku, placed_date, placed_ts, 0,
                   'S' || platform || '/' || shop_id || '/' || order_id || '/' || line_no, 'sale',
                   -quantity, NULL
            FROM ol WHERE counted
            UNION ALL
            SELECT location_id, sku, refund_date, refund_ts, 0,
                   'R' || platform || '/' || shop_id || '/' || order_id || '/' || refund_id || '/' || sku,
                   'refund', quantity, NULL
            FROM rl""")
        c.execute("""
            CREATE TABLE ev2 AS SELECT *, sum(is_count) OVER (PARTITION BY location_id, sku
                ORDER BY day, ts, is_count, tb ROWS UNBOUNDED PRECEDING) AS grp FROM ev""")
        c.execute("""
            CREATE TABLE ev3 AS SELECT *,
                coalesce(first_value(count_q) OVER (PARTITION BY location_id, sku, grp
                         ORDER BY day, ts, is_count, tb), 0)
                + sum(delta) OVER (PARTITION BY location_id, sku, grp
                         ORDER BY day, ts, is_count, tb ROWS UNBOUNDED PRECEDING) AS stock_after
            FROM ev2""")
        c.execute("""
            CREATE TABLE ev4 AS SELECT *,
                CASE WHEN is_count = 1 THEN count_q - coalesce(lag(stock_after) OVER (
                    PARTITION BY location_id, sku ORDER BY day, ts, is_count, tb), 0) END AS count_adj
            FROM ev3""")
        c.execute("""
            CREATE TABLE inv_day AS
            SELECT location_id, sku, day,
                   sum(CASE WHEN kind = 'receipt' THEN delta ELSE 0 END) AS received,
                   sum(CASE WHEN kind = 'sale' THEN -delta ELSE 0 END) AS sold,
                   sum(CASE WHEN kind = 'refund' THEN delta ELSE 0 END) AS returned,
                   sum(CASE WHEN kind = 'adjustment' THEN delta WHEN kind = 'count' THEN count_adj ELSE 0 END) AS adjusted,
                   sum(CASE WHEN kind = 'transfer_in' THEN delta ELSE 0 END) AS tin,
                   sum(CASE WHEN kind = 'transfer_out' THEN -delta ELSE 0 END) AS tout,
                   arg_max(stock_after, (day, ts, is_count, tb)) AS last_stock
            FROM ev4 GROUP BY ALL""")
        # Rows carry forward from the first movement (any type, po_shipped too) or sale.
        c.execute("""
            CREATE TABLE pairs AS
            SELECT location_id, sku, min(day) AS first_day FROM (
              SELECT location_id, sku, mdate AS day FROM mv
              UNION ALL SELECT location_id, sku, day FROM ev) GROUP BY ALL""")
        c.execute("""CREATE TABLE rc AS SELECT location_id, sku, mdate AS day, sum(quantity) AS q,
                     sum(quantity * uc6) AS c6 FROM mv WHERE type = 'receipt' GROUP BY ALL""")
        self.cal_end = None

    def _calendar(self, end):
        """Per (location, sku, day) tables over the whole calendar up to `end`."""
        c = self.con
        lo, hi = c.execute("SELECT min(first_day), max(day) FROM (SELECT first_day, first_day AS day "
                           "FROM pairs UNION ALL SELECT day, day FROM ev)").fetchone()
        hi = max(hi, end)
        if self.cal_end is not None and self.cal_end >= hi:
            return
        for t in ("cal", "wac", "inv_all"):
            c.execute(f"DROP TABLE IF EXISTS {t}")
        c.execute(f"CREATE TABLE cal AS SELECT CAST(range AS DATE) AS day FROM "
                  f"range(DATE '{lo}' - INTERVAL 800 DAY, DATE '{hi}' + INTERVAL 1 DAY, INTERVAL 1 DAY)")
        # Weighted-average cost C/Q of day: every receipt of the pair with business date <= day;
        # without receipts the product's standard cost, else 0 (cn/qn is the fraction used).
        c.execute("""
            CREATE TABLE wac AS
            SELECT w.location_id, w.sku, w.day, w.q AS receipts_q,
                   CASE WHEN w.q > 0 THEN w.c6 WHEN p.std6 IS NOT NULL THEN p.std6 ELSE 0 END AS cn,
                   CASE WHEN w.q > 0 THEN w.q ELSE 1 END AS qn
            FROM (SELECT pr.location_id, pr.sku, cal.day, coalesce(sum(rc.q), 0) AS q, coalesce(sum(rc.c6), 0) AS c6
                  FROM pairs pr CROSS JOIN cal
                  LEFT JOIN rc ON rc.location_id = pr.location_id AND rc.sku = pr.sku AND rc.day <= cal.day
                  WHERE cal.day >= pr.first_day
                  GROUP BY ALL) w
            LEFT JOIN prod p ON p.sku = w.sku""")
        c.execute(f"""
            CREATE TABLE inv_all AS
            SELECT pr.location_id, pr.sku, cal.day,
                   coalesce(d.received, 0) AS received, coalesce(d.sold, 0) AS sold,
                   coalesce(d.returned, 0) AS returned, coalesce(d.adjusted, 0) AS adjusted,
                   coalesce(d.tin, 0) AS tin, coalesce(d.tout, 0) AS tout, d.last_stock,
                   sum(coalesce(d.received, 0) - coalesce(d.sold, 0) + coalesce(d.returned, 0)
                       + coalesce(d.adjusted, 0) + coalesce(d.tin, 0) - coalesce(d.tout, 0))
                     OVER (PARTITION BY pr.location_id, pr.sku ORDER BY cal.day) AS closing,
                   w.cn, w.qn
            FROM pairs pr JOIN cal ON cal.day >= pr.first_day
            LEFT JOIN inv_day d ON d.location_id = pr.location_id AND d.sku = pr.sku AND d.day = cal.day
            JOIN wac w ON w.location_id = pr.location_id AND w.sku = pr.sku AND w.day = cal.day""")
        # The closing formula must agree with the event-by-event stock (a self-check of the
        # count handling): on every day with events, closing = stock after its last event.
        bad = c.execute("SELECT count(*) FROM inv_all WHERE last_stock IS NOT NULL AND last_stock <> closing").fetchone()[0]
        assert bad == 0, f"{bad} inventory days where closing != stock after last event"
        self.cal_end = hi

    # -------------------------------------------------------------- per-day tables
    def compute(self, d):
        if isinstance(d, str):
            d = dt.date.fromisoformat(d)
        self._calendar(d)
        D = f"DATE '{d}'"
        out = {}
        for name, sql in self._queries(D).items():
            cur = self.con.execute(sql)
            cols = [x[0] for x in cur.description]
            want = [cn for cn, _ in TABLES[name]["columns"]]
            assert cols == want, f"{name}: oracle columns {cols} != {want}"
            types = dict(TABLES[name]["columns"])
            rows = []
            for tup in cur.fetchall():
                row = {}
                for k, v in zip(cols, tup):
                    if v is not None and types[k] == "dec":
                        v = Decimal(int(v)).scaleb(-2)
                    elif v is not None and types[k] == "ts":  # epoch µs -> aware UTC datetime
                        v = EPOCH + dt.timedelta(microseconds=int(v))
                    elif v is not None and types[k] in ("i64", "i32"):
                        v = int(v)
                    row[k] = v
                rows.append(row)
            out[name] = rows
        return out

    def _queries(self, D):
        q = {}
        q["order_lines"] = f"""
            SELECT platform, shop_id, order_id, version, status, epoch_us(placed_ts) AS placed_at, hour,
                   store_id, salesperson, city, location_id, member_id, currency,
                   CAST(line_no AS INTEGER) AS line_no, sku, quantity,
                   unit_price_c AS unit_price, discount_c AS discount, gross_c AS gross_sales,
                   refunded_quantity, refunded_c AS refunded_amount,
                   gross_c - discount_c - refunded_c AS net_sales, source_raw_key
            FROM ol WHERE placed_date = {D}
            ORDER BY platform, shop_id, order_id, line_no"""
        # First counted order of each member on any platform (new_customers of sales_daily).
        first_any = "(SELECT member_id, min(placed_date) AS first_day FROM o WHERE counted AND member_id IS NOT NULL GROUP BY member_id)"
        q["sales_daily"] = f"""
            WITH f AS (
              SELECT platform, shop_id, store_id, sku, currency, location_id, order_id, member_id,
                     quantity AS sold, 0 AS refunded, gross_c, discount_c, 0 AS refund_c
              FROM ol WHERE counted AND placed_date = {D}
              UNION ALL
              SELECT platform, shop_id, store_id, sku, currency, location_id, NULL, NULL,
                     0, quantity, 0, 0, amount_c
              FROM rl WHERE refund_date = {D}),
            byloc AS (
              SELECT f.platform, f.shop_id, f.store_id, f.sku, f.currency,
                     rdiv((sum(f.sold) - sum(f.refunded)) * any_value(w.cn), any_value(w.qn) * {CENTS_PER_COST}) AS cogs_c
              FROM f JOIN wac w ON w.location_id = f.location_id AND w.sku = f.sku AND w.day = {D}
              GROUP BY f.platform, f.shop_id, f.store_id, f.sku, f.currency, f.location_id),
            cg AS (SELECT platform, shop_id, store_id, sku, currency, sum(cogs_c) AS cogs_c FROM byloc GROUP BY ALL),
            agg AS (
              SELECT f.platform, f.shop_id, f.store_id, f.sku, f.currency,
                     count(DISTINCT f.order_id) AS orders, sum(f.sold) AS units_sold,
                     sum(f.refunded) AS units_refunded, sum(f.gross_c) AS gross_c,
                     sum(f.discount_c) AS disc_c, sum(f.refund_c) AS refunds_c,
                     count(DISTINCT f.member_id) AS customers,
                     count(DISTINCT f.member_id) FILTER (WHERE fa.first_day = {D}) AS new_customers
              FROM f LEFT JOIN {first_any} fa ON fa.member_id = f.member_id
              GROUP BY ALL),
            prev AS (
              SELECT platform, shop_id, store_id, sku, currency,
                     sum(gross_c - discount_c) AS net_c, sum(quantity) AS u
              FROM ol WHERE counted AND placed_date BETWEEN {D} - 28 AND {D} - 1 GROUP BY ALL),
            r AS (
              SELECT a.*, a.gross_c - a.disc_c - a.refunds_c AS net_c, cg.cogs_c, p.net_c AS prev_net_c, p.u AS prev_u
              FROM agg a
              JOIN cg ON cg.platform = a.platform AND cg.shop_id = a.shop_id
                     AND cg.store_id IS NOT DISTINCT FROM a.store_id AND cg.sku = a.sku AND cg.currency = a.currency
              LEFT JOIN prev p ON p.platform = a.platform AND p.shop_id = a.shop_id
                     AND p.store_id IS NOT DISTINCT FROM a.store_id AND p.sku = a.sku AND p.currency = a.currency)
            SELECT platform, shop_id, store_id, sku, currency, orders, units_sold, units_refunded,
                   gross_c AS gross_sales, disc_c AS discounts, refunds_c AS refunds, net_c AS net_sales,
                   cogs_c AS cogs, net_c - cogs_c AS gross_margin,
                   CASE WHEN net_c = 0 THEN NULL ELSE CAST(net_c - cogs_c AS DOUBLE) / CAST(net_c AS DOUBLE) END AS gross_margin_pct,
                   CASE WHEN units_sold = 0 THEN NULL ELSE rdiv(gross_c - disc_c, units_sold) END AS avg_unit_price,
                   CASE WHEN coalesce(prev_u, 0) = 0 THEN NULL ELSE rdiv(prev_net_c, prev_u) END AS avg_unit_price_prev_28d,
                   customers, new_customers
            FROM r ORDER BY ALL"""
        q["inventory_daily"] = f"""
            WITH cur AS (SELECT * FROM inv_all WHERE day = {D}),
            prev AS (SELECT location_id, sku, closing FROM inv_all WHERE day = {D} - 1),
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
                WHERE counted AND shipped_date <= {D} AND (delivered_date IS NULL OR delivered_date > {D}))
              GROUP BY ALL),
            win AS (
              SELECT location_id, sku, sum(sold) AS u28,
                     sum(rdiv((sold - returned) * cn, qn * {CENTS_PER_COST})) AS cogs28,
                     sum(rdiv(closing * cn, qn * {CENTS_PER_COST})) AS value28
              FROM inv_all WHERE day BETWEEN {D} - 27 AND {D} GROUP BY ALL)
            SELECT c.location_id, c.sku, coalesce(p.closing, 0) AS opening_qty,
                   c.received AS received_qty, c.sold AS sold_qty, c.returned AS returned_qty,
                   c.adjusted AS adjusted_qty, c.tin AS transfer_in_qty, c.tout AS transfer_out_qty,
                   c.closing AS closing_qty,
                   coalesce(i.q, 0) AS in_transit_inbound_qty, coalesce(ob.q, 0) AS in_transit_outbound_qty,
                   rdiv(c.cn, c.qn * {CENTS_PER_COST}) AS avg_unit_cost,
                   rdiv(c.closing * c.cn, c.qn * {CENTS_PER_COST}) AS closing_value,
                   w.u28 AS units_sold_28d,
                   CASE WHEN w.u28 = 0 THEN NULL ELSE CAST(c.closing AS DOUBLE) / (CAST(w.u28 AS DOUBLE) / 28) END AS days_of_cover,
                   CASE WHEN w.value28 = 0 THEN NULL ELSE CAST(w.cogs28 AS DOUBLE) / (CAST(w.value28 AS DOUBLE) / 28) END AS turnover_28d
            FROM cur c
            LEFT JOIN prev p USING (location_id, sku)
            LEFT JOIN inbound i USING (location_id, sku)
            LEFT JOIN outbound ob USING (location_id, sku)
            JOIN win w USING (location_id, sku)
            ORDER BY ALL"""
        q["shop_daily"] = f"""
            WITH ords AS (
              SELECT platform, shop_id, currency, count(*) AS orders, count(DISTINCT member_id) AS customers,
                     sum(subtotal_c) AS sub_c
              FROM o WHERE counted AND placed_date = {D} GROUP BY ALL),
            refs AS (SELECT platform, shop_id, currency, sum(amount_c) AS r_c FROM rl WHERE refund_date = {D} GROUP BY ALL),
            keys AS (SELECT platform, shop_id, currency FROM ords UNION SELECT platform, shop_id, currency FROM refs),
            sd AS ({q["sales_daily"].replace("ORDER BY ALL", "")}),
            cg AS (SELECT platform, shop_id, currency, sum(cogs) AS cogs_c FROM sd GROUP BY ALL)
            SELECT k.platform, k.shop_id, k.currency, coalesce(a.orders, 0) AS orders,
                   coalesce(a.customers, 0) AS customers,
                   coalesce(a.sub_c, 0) - coalesce(r.r_c, 0) AS net_sales,
                   coalesce(cg.cogs_c, 0) AS cogs,
                   coalesce(a.sub_c, 0) - coalesce(r.r_c, 0) - coalesce(cg.cogs_c, 0) AS gross_margin,
                   CASE WHEN coalesce(a.orders, 0) = 0 THEN NULL ELSE rdiv(a.sub_c, a.orders) END AS avg_order_value,
                   CAST(NULL AS BIGINT) AS points_issued, CAST(NULL AS BIGINT) AS points_redeemed,
                   CAST(NULL AS BIGINT) AS points_expired, CAST(NULL AS BIGINT) AS points_liability
            FROM keys k
            LEFT JOIN ords a USING (platform, shop_id, currency)
            LEFT JOIN refs r USING (platform, shop_id, currency)
            LEFT JOIN cg USING (platform, shop_id, currency)
            ORDER BY ALL"""
        q["customers_daily"] = f"""
            WITH co AS (SELECT platform AS scope, member_id, placed_date FROM o WHERE counted AND member_id IS NOT NULL
                        UNION ALL
                        SELECT 'all', member_id, placed_date FROM o WHERE counted AND member_id IS NOT NULL),
            scopes AS (SELECT DISTINCT platform AS scope FROM o WHERE counted AND placed_date = {D}
                       UNION SELECT 'all'),
            m AS (SELECT scope, member_id, min(placed_date) AS first_day,
                         count(*) FILTER (WHERE placed_date BETWEEN {D} - 364 AND {D}) AS n365,
                         bool_or(placed_date = {D}) AS on_d, bool_or(placed_date < {D}) AS before_d
                  FROM co GROUP BY ALL),
            agg AS (SELECT scope,
                         count(*) FILTER (WHERE n365 > 0) AS active,
                         count(*) FILTER (WHERE first_day = {D}) AS new_c,
                         count(*) FILTER (WHERE on_d AND before_d) AS returning_c,
                         count(*) FILTER (WHERE n365 >= 2) AS repeat_c,
                         count(*) FILTER (WHERE first_day BETWEEN {D} - 729 AND {D} - 365) AS cohort,
                         count(*) FILTER (WHERE first_day BETWEEN {D} - 729 AND {D} - 365 AND n365 > 0) AS retained
                    FROM m GROUP BY scope)
            SELECT s.scope AS platform, coalesce(a.active, 0) AS active_customers,
                   coalesce(a.new_c, 0) AS new_customers, coalesce(a.returning_c, 0) AS returning_customers,
                   CASE WHEN coalesce(a.active, 0) = 0 THEN NULL ELSE CAST(a.repeat_c AS DOUBLE) / CAST(a.active AS DOUBLE) END AS repurchase_rate_365d,
                   coalesce(a.cohort, 0) AS cohort_365d_size, coalesce(a.retained, 0) AS retained_365d
            FROM scopes s LEFT JOIN agg a USING (scope) ORDER BY ALL"""
        q["orders_hourly"] = f"""
            WITH a AS (SELECT platform, shop_id, hour, count(*) AS orders, sum(subtotal_c) AS sub_c
                       FROM o WHERE counted AND placed_date = {D} GROUP BY ALL),
            r AS (SELECT platform, shop_id, refund_hour AS hour, sum(amount_c) AS r_c
                  FROM rl WHERE refund_date = {D} GROUP BY ALL),
            k AS (SELECT platform, shop_id, hour FROM a UNION SELECT platform, shop_id, hour FROM r)
            SELECT k.platform, k.shop_id, CAST(k.hour AS INTEGER) AS hour, coalesce(a.orders, 0) AS orders,
                   coalesce(a.sub_c, 0) - coalesce(r.r_c, 0) AS net_sales
            FROM k LEFT JOIN a USING (platform, shop_id, hour) LEFT JOIN r USING (platform, shop_id, hour)
            ORDER BY ALL"""
        q["service_demand_daily"] = f"""
            SELECT ol.city, ol.sku, sum(ol.quantity - ol.refunded_quantity) AS units_requiring_installation
            FROM ol JOIN prod p ON p.sku = ol.sku
            WHERE ol.counted AND ol.placed_date = {D} AND p.inst
            GROUP BY ALL ORDER BY ALL"""
        q["member_value"] = f"""
            WITH mo AS (SELECT * FROM o WHERE counted AND member_id IS NOT NULL AND placed_date <= {D}),
            base AS (SELECT member_id, min(placed_date) AS first_order_date, max(placed_date) AS last_order_date,
                            count(*) AS orders, sum(subtotal_c) AS sub_c,
                            string_agg(DISTINCT platform, ',' ORDER BY platform) AS platforms
                     FROM mo GROUP BY member_id),
            refs AS (SELECT member_id, sum(amount_c) AS r_c FROM rl
                     WHERE member_id IS NOT NULL AND refund_date <= {D} GROUP BY member_id),
            units AS (SELECT member_id, platform, shop_id, order_id, day, location_id, sku, sum(n) AS n FROM (
                        SELECT member_id, platform, shop_id, order_id, placed_date AS day, location_id, sku, quantity AS n FROM ol
                        WHERE counted AND member_id IS NOT NULL AND placed_date <= {D}
                        UNION ALL
                        SELECT member_id, platform, shop_id, order_id, refund_date, location_id, sku, -quantity FROM rl
                        WHERE member_id IS NOT NULL AND refund_date <= {D}) GROUP BY ALL),
            cost AS (SELECT u.member_id, sum(rdiv(u.n * w.cn, w.qn * {CENTS_PER_COST})) AS cost_c
                     FROM units u JOIN wac w ON w.location_id = u.location_id AND w.sku = u.sku AND w.day = u.day
                     GROUP BY u.member_id)
            SELECT b.member_id, b.first_order_date, b.last_order_date, b.orders,
                   b.sub_c - coalesce(r.r_c, 0) AS lifetime_net_sales,
                   b.sub_c - coalesce(r.r_c, 0) - coalesce(c.cost_c, 0) AS lifetime_gross_margin,
                   b.platforms, CAST(NULL AS BIGINT) AS points_balance
            FROM base b LEFT JOIN refs r USING (member_id) LEFT JOIN cost c USING (member_id)
            ORDER BY ALL"""
        return q


def compute(data_dirs, shops_json, d, business_tz="Asia/Shanghai"):
    """Every table of docs/tables.md for business day d: {table: [row dict]}."""
    return Oracle(data_dirs, shops_json, business_tz).compute(d)


def main():
    ap = argparse.ArgumentParser(description="DuckDB oracle of docs/tables.md")
    ap.add_argument("--data", action="append", required=True, help="dataset dir (repeatable: base, late)")
    ap.add_argument("--shops", help="shops.json (default: DATA/shops.json of the first --data)")
    ap.add_argument("--date", required=True)
    ap.add_argument("--table", action="append")
    a = ap.parse_args()
    t = time.time()
    orc = Oracle(a.data, a.shops or os.path.join(a.data[0], "shops.json"))
    res = orc.compute(a.date)
    for name, rows in res.items():
        if a.table and name not in a.table:
            continue
        for r in rows:
            print(json.dumps({"table": name, **r}, default=str, ensure_ascii=False))
    print(f"# load {orc.load_seconds:.1f}s total {time.time() - t:.1f}s", file=sys.stderr)


if __name__ == "__main__":
    main()
