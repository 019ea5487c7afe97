"""Does it sell: attributed orders and the lift against the holdout, from the orders and the outbox.

- Attribution: orders credited to a message (`Order.attributed_to`, see `seller.attribution`),
  placed in the period, not cancelled or returned.
- Lift: the customers first reached in the period (messaged: the message was delivered, or sent
  when no ack came; held out: the row was blocked `holdout` when it would have gone), and for
  each whether they bought again within SELLER_ATTRIBUTION_DAYS after that moment (orders not
  cancelled or returned) and for how much. Customers reached less than a window ago have had
  less time to buy; that is the same for both groups, so it lowers both rates alike.
"""

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection
from django.db.models import Count, F, Q, Sum
from django.db.models.functions import TruncDate

from kaspi_sync.models import Order

from messaging.models import OutboundMessage

from seller import attribution, reached
from seller.lift import Group, lift, wilson

logger = logging.getLogger(__name__)

Status = OutboundMessage.Status
ARMS = ("messaged", "holdout")


# Each arm's outbox rows and the moment the customer was reached (or would have been): delivered,
# or sent when no ack came; a held-out row never moves again, so its last update is that moment.
ARM_SQL = {
    "messaged": ("m.status IN ('sent', 'delivered', 'read') AND m.sent_at IS NOT NULL",
                 "COALESCE(m.delivered_at, m.sent_at)"),
    "holdout": ("m.status = 'blocked' AND m.reason = 'holdout'", "m.updated_at"),
}
KEY_COLUMNS = {"shop_id": "shop_id", "trigger": "trigger", "variant": "variant"}


def groups(arm: str, win, keys: tuple, by: tuple) -> dict:
    """{values of `by`: Group} for one arm: each customer (per `keys` too, e.g. the trigger) once,
    from the first time they were reached in the period, with the orders they placed within the
    window after it. One query: the first moments, then a join on the customer's orders."""
    with connection.cursor() as cursor:
        cursor.execute(*groups_query(arm, win, keys, by))
        rows = cursor.fetchall()
    n = len(by)
    return {tuple(row[:n]): Group(row[n], int(row[n + 1] or 0), float(row[n + 2] or 0), float(row[n + 3] or 0))
            for row in rows}


def groups_query(arm: str, win, keys: tuple, by: tuple) -> tuple[str, list]:
    where, exposed = ARM_SQL[arm]
    params = []
    if win.start:
        where += f" AND {exposed} >= %s"
        params.append(win.start)
    where += f" AND {exposed} <= %s"
    params.append(win.end)
    if win.shop_id:
        where += " AND m.shop_id = %s"
        params.append(win.shop_id)
    if win.shop_ids is not None:  # a merchant's shops only
        where += f" AND m.shop_id IN ({', '.join(['%s'] * len(win.shop_ids)) or 'NULL'})"
        params += list(win.shop_ids)
    per = ", ".join(KEY_COLUMNS[key] for key in ("shop_id", *keys))
    per_f = ", ".join(f"f.{KEY_COLUMNS[key]}" for key in ("shop_id", *keys))
    grouped = ", ".join(KEY_COLUMNS[key] for key in by)
    sql = f"""
        WITH reached AS (
            SELECT m.shop_id, m.phone, m.trigger, m.variant, {exposed} AS at
            FROM {OutboundMessage._meta.db_table} m WHERE {where}
        ), first AS (
            SELECT {per}, phone, MIN(at) AS at FROM reached GROUP BY {per}, phone
        ), outcome AS (
            SELECT {per_f}, f.phone, COUNT(o.id) AS orders, SUM(o.total_price) AS revenue
            FROM first f LEFT JOIN {Order._meta.db_table} o
              ON o.shop_id = f.shop_id AND o.customer_phone = f.phone AND o.created_at_kaspi > f.at
             AND o.created_at_kaspi <= {plus_seconds("f.at")} AND o.state NOT IN (%s, %s)
            GROUP BY {per_f}, f.phone
        )
        SELECT {grouped}, COUNT(*), SUM(CASE WHEN orders > 0 THEN 1 ELSE 0 END), SUM(revenue), SUM(revenue * revenue)
        FROM outcome GROUP BY {grouped}"""
    params += [attribution.window().total_seconds(), *attribution.NOT_COUNTED]
    return sql, [connection.ops.adapt_datetimefield_value(p) if isinstance(p, datetime) else p for p in params]


def groups_each_on_its_own(win) -> tuple[dict, dict, dict]:
    """{arm: groups} per shop and per trigger, and the messaged groups per variant: a query each
    (any database; `groups_in_one_pass` gives the same from one query on PostgreSQL)."""
    per_shop = {arm: groups(arm, win, (), ("shop_id",)) for arm in ARMS}
    per_trigger = {arm: groups(arm, win, ("trigger",), ("trigger",)) for arm in ARMS}
    return per_shop, per_trigger, groups("messaged", win, ("trigger", "variant"), ("trigger", "variant"))


# GROUPING(trigger, variant) of each grouping set of `groups_in_one_pass`: per shop, trigger, variant.
GROUPED_BY = {3: "shop", 1: "trigger", 0: "variant"}


def groups_in_one_pass(win) -> tuple[dict, dict, dict]:
    """What `groups` gives per shop, per trigger (both arms) and per variant (messaged), from one
    query (PostgreSQL): each grouping's first moments per customer, then the customer's orders
    after each distinct moment, read once for all five (a customer reached once has one moment)."""
    return read_groups(*one_pass_query(win))


def read_groups(sql: str, params: dict) -> tuple[dict, dict, dict]:
    """Runs a query whose rows are (arm, GROUPED_BY bits, shop, trigger, variant, customers,
    buyers, revenue, revenue squared): per shop and per trigger {arm: groups}, and per variant the
    messaged groups."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    found = {by: {arm: {} for arm in ARMS} for by in GROUPED_BY.values()}
    for arm, bits, shop_id, trigger, variant, customers, buyers, revenue, squares in rows:
        by = GROUPED_BY[bits]
        key = {"shop": (shop_id,), "trigger": (trigger,), "variant": (trigger, variant)}[by]
        found[by][arm][key] = Group(customers, int(buyers or 0), float(revenue or 0), float(squares or 0))
    return found["shop"], found["trigger"], found["variant"]["messaged"]


def one_pass_query(win) -> tuple[str, dict]:
    reached = []
    for arm in ARMS:
        where, exposed = ARM_SQL[arm]
        where += f" AND {exposed} <= %(end)s"
        if win.start:
            where += f" AND {exposed} >= %(start)s"
        if win.shop_id:
            where += " AND m.shop_id = %(shop_id)s"
        if win.shop_ids is not None:  # a merchant's shops only
            where += " AND m.shop_id = ANY(%(shop_ids)s)"
        reached.append(f"""SELECT '{arm}' AS arm, m.shop_id, m."trigger", m.variant, m.phone, {exposed} AS at
                           FROM {OutboundMessage._meta.db_table} m WHERE {where}""")
    # Per customer and variant the first moment; from it, per trigger and per shop the first (the
    # earliest of theirs), and one row to count the customer by. Their orders are joined once, from
    # the earliest moment to the latest one's window, and counted in each of the three windows.
    counted = {level: f"o.created_at_kaspi > r.at_{level} AND o.created_at_kaspi <= r.at_{level} + %(window)s * INTERVAL '1 second'"
               for level in ("shop", "trigger", "variant")}
    sql = f"""
        WITH reached AS ({" UNION ALL ".join(reached)}),
        per_variant AS (
            SELECT arm, shop_id, "trigger", variant, phone, MIN(at) AS at_variant FROM reached GROUP BY 1, 2, 3, 4, 5
        ), ranked AS (
            SELECT *, MIN(at_variant) OVER per_shop AS at_shop, MIN(at_variant) OVER per_trigger AS at_trigger,
                   ROW_NUMBER() OVER per_shop = 1 AS shop_row, ROW_NUMBER() OVER per_trigger = 1 AS trigger_row
            FROM per_variant
            -- one window each, the whole partition its frame (MIN) and ordered (ROW_NUMBER): two passes;
            -- byte order sorts faster than the database's collation, and any order will do here
            WINDOW per_shop AS (PARTITION BY arm, shop_id, phone COLLATE "C" ORDER BY "trigger" COLLATE "C",
                                variant COLLATE "C" ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING),
                   per_trigger AS (PARTITION BY arm, shop_id, phone COLLATE "C", "trigger" COLLATE "C"
                                   ORDER BY variant COLLATE "C" ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
        ), bought AS (
            SELECT r.arm, r.shop_id, r."trigger", r.variant, r.shop_row, r.trigger_row, b.*
            FROM ranked r CROSS JOIN LATERAL (
                SELECT COUNT(*) FILTER (WHERE {counted["shop"]}) AS orders_shop,
                       SUM(o.total_price) FILTER (WHERE {counted["shop"]}) AS revenue_shop,
                       COUNT(*) FILTER (WHERE {counted["trigger"]}) AS orders_trigger,
                       SUM(o.total_price) FILTER (WHERE {counted["trigger"]}) AS revenue_trigger,
                       COUNT(*) FILTER (WHERE {counted["variant"]}) AS orders_variant,
                       SUM(o.total_price) FILTER (WHERE {counted["variant"]}) AS revenue_variant
                FROM {Order._meta.db_table} o
                WHERE o.shop_id = r.shop_id AND o.customer_phone = r.phone AND o.created_at_kaspi > r.at_shop
                  AND o.created_at_kaspi <= r.at_variant + %(window)s * INTERVAL '1 second'
                  AND o.state <> ALL(%(not_counted)s)) b
        )
        SELECT arm, 3, shop_id, NULL, NULL, COUNT(*), COUNT(*) FILTER (WHERE orders_shop > 0), SUM(revenue_shop),
               SUM(revenue_shop * revenue_shop)
        FROM bought WHERE shop_row GROUP BY arm, shop_id
        UNION ALL
        SELECT arm, 1, NULL, "trigger", NULL, COUNT(*), COUNT(*) FILTER (WHERE orders_trigger > 0), SUM(revenue_trigger),
               SUM(revenue_trigger * revenue_trigger)
        FROM bought WHERE trigger_row GROUP BY arm, "trigger"
        UNION ALL
        SELECT arm, 0, NULL, "trigger", variant, COUNT(*), COUNT(*) FILTER (WHERE orders_variant > 0), SUM(revenue_variant),
               SUM(revenue_variant * revenue_variant)
        FROM bought WHERE arm = 'messaged' GROUP BY arm, "trigger", variant"""
    return sql, {"start": win.start, "end": win.end, "shop_id": win.shop_id,
                 "shop_ids": list(win.shop_ids) if win.shop_ids is not None else None,
                 "window": attribution.window().total_seconds(), "not_counted": list(attribution.NOT_COUNTED)}


def plus_seconds(column: str) -> str:
    """`column` + %s seconds, in this database's words (PostgreSQL; SQLite for a local try)."""
    if connection.vendor == "sqlite":
        return f"datetime({column}, '+' || %s || ' seconds')"
    return f"{column} + %s * INTERVAL '1 second'"


def effect(messaged: Group, held_out: Group) -> dict:
    return {
        "messaged": messaged.as_dict(),
        "holdout": held_out.as_dict(),
        "lift": lift(messaged, held_out, settings.SELLER_LIFT_MAX_CI_WIDTH),
    }


def add(groups_: list) -> Group:
    return Group(sum(g.customers for g in groups_), sum(g.buyers for g in groups_), sum(g.revenue for g in groups_),
                 sum(g.revenue_squares for g in groups_))


EMPTY = Group(0, 0, 0.0)


def attributed(win, by: tuple) -> dict:
    """{group values: (orders, revenue)} of orders credited to a message, placed in the period."""
    orders = win.rows(attribution.counted_orders().filter(attributed_to__isnull=False), "created_at_kaspi")
    if not by:
        row = orders.aggregate(orders=Count("pk"), revenue=Sum("total_price"))
        return {(): (row["orders"], float(row["revenue"] or 0))}
    named = {"shop": F("shop_id"), "trigger": F("attributed_to__trigger"), "variant": F("attributed_to__variant"),
             "day": TruncDate("created_at_kaspi", tzinfo=win_zone())}
    rows = orders.order_by().values(**{f"by_{name}": named[name] for name in by})
    return {tuple(row[f"by_{name}"] for name in by): (row["n"], float(row["revenue"] or 0))
            for row in rows.annotate(n=Count("pk"), revenue=Sum("total_price"))}


def win_zone() -> ZoneInfo:
    return ZoneInfo(settings.SELLER_TIMEZONE)  # days are the merchants' days, as in the other figures


def attribution_figures(found: tuple | None) -> dict:
    orders, revenue = found or (0, 0.0)
    return {"window_days": settings.SELLER_ATTRIBUTION_DAYS, "orders": orders, "revenue": round(revenue, 2)}


def sends_by_variant(win) -> dict:
    """{(trigger, variant): sent, replied, reply rate and its interval} of the rows sent in the period."""
    rows = win.rows(OutboundMessage.objects.filter(sent_at__isnull=False).exclude(variant=""), "sent_at")
    counted = rows.order_by().values("trigger", "variant").annotate(
        sent=Count("pk"), replied=Count("pk", filter=Q(replied_at__isnull=False)))
    return {(row["trigger"], row["variant"]): replies_figures(row["sent"], row["replied"]) for row in counted}


def replies_figures(sent: int, replied: int) -> dict:
    low, high = wilson(replied, sent)
    return {"sent": sent, "replied": replied, "reply_rate": round(replied / sent, 4) if sent else None,
            "reply_rate_ci95": [round(low, 4), round(high, 4)] if sent else None}


def groups_from_reached(win) -> tuple[dict, dict, dict]:
    """What `groups_in_one_pass` gives, read from the figures PostgreSQL keeps per reached message
    (`seller.reached`): no order is read."""
    return read_groups(*reached_query(win))


def reached_query(win) -> tuple[str, dict]:
    """Per grouping (shop; trigger; trigger and variant) and customer, the figures of their
    earliest message in the period: hash aggregates, no sort. A customer's rows at one moment
    have the same figures (same shop, customer and window), so the least [moment, orders,
    revenue] is the earliest message's, whichever of them it is."""
    where = ["moment <= %(end)s"]
    if win.start:
        where.append("moment >= %(start)s")
    if win.shop_id:
        where.append("shop_id = %(shop_id)s")
    if win.shop_ids is not None:  # a merchant's shops only
        where.append("shop_id = ANY(%(shop_ids)s)")
    sql = f"""
        WITH first AS (
            SELECT arm, shop_id, "trigger", variant, GROUPING("trigger", variant) AS bits,
                   MIN(ARRAY[EXTRACT(EPOCH FROM moment), orders, revenue]) AS bought
            FROM {reached.ReachedMessage._meta.db_table} WHERE {" AND ".join(where)}
            GROUP BY GROUPING SETS ((arm, shop_id, phone), (arm, shop_id, "trigger", phone),
                                    (arm, shop_id, "trigger", variant, phone))
        )
        SELECT arm, bits, CASE WHEN bits = 3 THEN shop_id END, "trigger", variant, COUNT(*),
               COUNT(*) FILTER (WHERE bought[2] > 0), SUM(bought[3]), SUM(bought[3] * bought[3])
        FROM first WHERE bits <> 0 OR arm = 'messaged'
        GROUP BY arm, bits, 3, "trigger", variant"""
    return sql, {"start": win.start, "end": win.end, "shop_id": win.shop_id,
                 "shop_ids": list(win.shop_ids) if win.shop_ids is not None else None}


def all_groups(win) -> tuple[dict, dict, dict]:
    """The lift's groups per shop, per trigger and per variant (the costly part of `report`): from
    the stored figures when they count today's window, else from the orders (with a warning)."""
    if connection.vendor != "postgresql":
        return groups_each_on_its_own(win)
    ok, why = reached.ready()
    if ok:
        return groups_from_reached(win)
    logger.warning("lift counted from the orders: %s", why)
    return groups_in_one_pass(win)


def report(win) -> dict:
    """Everything on sales for `metrics.summary`: totals, and per shop, trigger, variant and day."""
    attributed_by = {by: attributed(win, by) for by in [(), ("shop",), ("trigger",), ("trigger", "variant"), ("day",)]}
    variant_sends = sends_by_variant(win)
    per_shop, per_trigger, per_variant = all_groups(win)

    shops = set(per_shop["messaged"]) | set(per_shop["holdout"]) | set(attributed_by[("shop",)])
    triggers = set(per_trigger["messaged"]) | set(per_trigger["holdout"]) | set(attributed_by[("trigger",)])
    variants = {key for key in set(per_variant) | set(attributed_by[("trigger", "variant")]) | set(variant_sends)
                if key[1]}
    return {
        "total": {
            "attribution": attribution_figures(attributed_by[()].get(())),
            **effect(add(list(per_shop["messaged"].values())), add(list(per_shop["holdout"].values()))),
        },
        "by_shop": {
            key[0]: {"attribution": attribution_figures(attributed_by[("shop",)].get(key)),
                     **effect(per_shop["messaged"].get(key, EMPTY), per_shop["holdout"].get(key, EMPTY))}
            for key in shops
        },
        "by_trigger": {
            key[0]: {"attribution": attribution_figures(attributed_by[("trigger",)].get(key)),
                     **effect(per_trigger["messaged"].get(key, EMPTY), per_trigger["holdout"].get(key, EMPTY))}
            for key in triggers
        },
        # Each variant against the whole holdout of its trigger: customers are split at random
        # between the variants and the holdout alike, so it is the fair control, and a larger one.
        "by_variant": [
            {"trigger": key[0], "variant": key[1], **variant_sends.get(key, replies_figures(0, 0)),
             "attribution": attribution_figures(attributed_by[("trigger", "variant")].get(key)),
             **effect(per_variant.get(key, EMPTY), per_trigger["holdout"].get((key[0],), EMPTY))}
            for key in sorted(variants)
        ],
        "by_day": {key[0]: attribution_figures(value) for key, value in attributed_by[("day",)].items()},
    }
