"""Column lists, types and row keys of the rollup tables, transcribed from docs/tables.md.

One place for the oracle, the Parquet checker and the Glue-schema check, so a column added to
docs/tables.md is added here once. Types use short names:
  s = string, i64 = bigint, i32 = int, dec = decimal(18,2), f64 = double, date = date,
  ts = timestamp (UTC, microseconds).
"""

TABLES = {
    "order_lines": {
        "prefix": "curated/order_lines",
        "key": ["platform", "shop_id", "order_id", "line_no"],
        "columns": [
            ("platform", "s"), ("shop_id", "s"), ("order_id", "s"), ("version", "i64"),
            ("status", "s"), ("placed_at", "ts"), ("hour", "i32"), ("store_id", "s"),
            ("salesperson", "s"), ("city", "s"), ("location_id", "s"), ("member_id", "s"),
            ("currency", "s"), ("line_no", "i32"), ("sku", "s"), ("quantity", "i64"),
            ("unit_price", "dec"), ("discount", "dec"), ("gross_sales", "dec"),
            ("refunded_quantity", "i64"), ("refunded_amount", "dec"), ("net_sales", "dec"),
            ("source_raw_key", "s"),
        ],
    },
    "sales_daily": {
        "prefix": "rollups/sales_daily",
        "key": ["platform", "shop_id", "store_id", "sku", "currency"],
        "columns": [
            ("platform", "s"), ("shop_id", "s"), ("store_id", "s"), ("sku", "s"), ("currency", "s"),
            ("orders", "i64"), ("units_sold", "i64"), ("units_refunded", "i64"),
            ("gross_sales", "dec"), ("discounts", "dec"), ("refunds", "dec"), ("net_sales", "dec"),
            ("cogs", "dec"), ("gross_margin", "dec"), ("gross_margin_pct", "f64"),
            ("avg_unit_price", "dec"), ("avg_unit_price_prev_28d", "dec"),
            ("customers", "i64"), ("new_customers", "i64"),
        ],
    },
    "inventory_daily": {
        "prefix": "rollups/inventory_daily",
        "key": ["location_id", "sku"],
        "columns": [
            ("location_id", "s"), ("sku", "s"), ("opening_qty", "i64"), ("received_qty", "i64"),
            ("sold_qty", "i64"), ("returned_qty", "i64"), ("adjusted_qty", "i64"),
            ("transfer_in_qty", "i64"), ("transfer_out_qty", "i64"), ("closing_qty", "i64"),
            ("in_transit_inbound_qty", "i64"), ("in_transit_outbound_qty", "i64"),
            ("avg_unit_cost", "dec"), ("closing_value", "dec"), ("units_sold_28d", "i64"),
            ("days_of_cover", "f64"), ("turnover_28d", "f64"),
        ],
    },
    "shop_daily": {
        "prefix": "rollups/shop_daily",
        "key": ["platform", "shop_id", "currency"],
        "columns": [
            ("platform", "s"), ("shop_id", "s"), ("currency", "s"), ("orders", "i64"),
            ("customers", "i64"), ("net_sales", "dec"), ("cogs", "dec"), ("gross_margin", "dec"),
            ("avg_order_value", "dec"), ("points_issued", "i64"), ("points_redeemed", "i64"),
            ("points_expired", "i64"), ("points_liability", "i64"),
        ],
    },
    "customers_daily": {
        "prefix": "rollups/customers_daily",
        "key": ["platform"],
        "columns": [
            ("platform", "s"), ("active_customers", "i64"), ("new_customers", "i64"),
            ("returning_customers", "i64"), ("repurchase_rate_365d", "f64"),
            ("cohort_365d_size", "i64"), ("retained_365d", "i64"),
        ],
    },
    "orders_hourly": {
        "prefix": "rollups/orders_hourly",
        "key": ["platform", "shop_id", "hour"],
        "columns": [
            ("platform", "s"), ("shop_id", "s"), ("hour", "i32"), ("orders", "i64"),
            ("net_sales", "dec"),
        ],
    },
    "service_demand_daily": {
        "prefix": "rollups/service_demand_daily",
        "key": ["city", "sku"],
        "columns": [("city", "s"), ("sku", "s"), ("units_requiring_installation", "i64")],
    },
    "member_value": {
        "prefix": "rollups/member_value",
        "key": ["member_id"],
        "columns": [
            ("member_id", "s"), ("first_order_date", "date"), ("last_order_date", "date"),
            ("orders", "i64"), ("lifetime_net_sales", "dec"), ("lifetime_gross_margin", "dec"),
            ("platforms", "s"), ("points_balance", "i64"),
        ],
    },
}

# Glue type names of the short types (docs/tables.md "Money is DECIMAL(18,2) ...").
GLUE_TYPE = {
    "s": "string", "i64": "bigint", "i32": "int", "dec": "decimal(18,2)", "f64": "double",
    "date": "date", "ts": "timestamp",
}


def column_types(table):
    return dict(TABLES[table]["columns"])
