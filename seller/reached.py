"""Per outbox row that reached its customer (or was held out), what the customer bought within
the attribution window after that moment (`ReachedMessage`), kept by PostgreSQL itself, so the
lift (`seller.ops.sales`) reads one row per message instead of probing the orders of each.

The arms and moments are the lift's (`sales.ARM_SQL`): messaged (sent, delivered or read, at
delivery, or sending when no ack came) and held out (blocked `holdout`, at its last update). The
figures are the orders of the same customer at the same shop placed in (moment, moment + window],
not cancelled or returned (`attribution.NOT_COUNTED`).

Triggers keep it exact in the writing transaction:
- on the outbox, when a row enters or leaves an arm, or its moment or customer changes (the
  pipeline's moves before sending call nothing: a WHEN clause on the status);
- on the orders, when orders are inserted (once per statement: a sync batch's COPY is one), and
  when an order counted or not, its customer, date or price changes, or it is deleted: the rows
  of the old and the new customer whose window covers the order are counted again.
Both take a lock on the customer before counting (until commit): a message's exclusive, an
order's shared. So a message and an order of one customer written at once by two transactions
wait for each other and the second sees the first's rows (READ COMMITTED: each statement of the
trigger sees what committed before it); two orders need not wait: their recounts of the same
stored row are serialised by its row lock, and the second counts again once the first committed.

The window (SELLER_ATTRIBUTION_DAYS) is stored in the database, in a function the triggers read.
When the setting differs (changed since the last rebuild), `ready()` is false and the lift is
counted the slow way from the orders, with a warning, until `python manage.py rebuild_metrics`
counts every row again with the new window. Elsewhere than PostgreSQL the table stays empty.
"""

from django.db import connection, transaction

from kaspi_sync.models import Order
from messaging.models import OutboundMessage

from seller import attribution
from seller.models import ReachedMessage

WINDOW_FUNCTION = "seller_reached_window"  # the window the stored figures count, as an interval
BOUGHT_FUNCTION = "seller_reached_bought"  # (orders, revenue) of a customer after a moment
RECOUNT_FUNCTION = "seller_reached_recount"  # count again the rows whose window covers an order
MESSAGE_FUNCTION = "seller_reached_message"
ORDER_FUNCTION = "seller_reached_order"
ORDERS_ADDED_FUNCTION = "seller_reached_orders_added"
MESSAGE_TRIGGERS = ("seller_reached_message_insert", "seller_reached_message_update", "seller_reached_message_delete")
ORDER_TRIGGERS = ("seller_reached_order_insert", "seller_reached_order_update", "seller_reached_order_delete")


def messaged_sql(row: str) -> str:
    return (f"({row}.status = 'sent' OR {row}.status = 'delivered' OR {row}.status = 'read') "
            f"AND {row}.sent_at IS NOT NULL")


def arm_sql(row: str) -> str:
    """SQL: the arm of the outbox row `row` (OLD, NEW, m), NULL when in none."""
    return (f"CASE WHEN {messaged_sql(row)} THEN 'messaged' "
            f"WHEN {row}.status = 'blocked' AND {row}.reason = 'holdout' THEN 'holdout' END")


def moment_sql(row: str) -> str:
    """SQL: when the row's customer was reached (or would have been): as `sales.ARM_SQL` says."""
    return (f"CASE WHEN {messaged_sql(row)} THEN COALESCE({row}.delivered_at, {row}.sent_at) "
            f"WHEN {row}.status = 'blocked' AND {row}.reason = 'holdout' THEN {row}.updated_at END")


# A trigger's WHEN clause is read and prepared anew for each statement (~0.1 ms for one the size of
# `changed_sql`, measured), so the outbox's says only "a status of an arm, before or after": one
# constant array each side. The pipeline's moves before sending (pending ... sending) call nothing;
# the function then checks exactly (`changed_sql`), with its expressions prepared once a session.
ARM_STATUSES = "'{sent,delivered,read,blocked}'::text[]"


def may_change_sql() -> str:
    return f"OLD.status::text = ANY ({ARM_STATUSES}) OR NEW.status::text = ANY ({ARM_STATUSES})"


def changed_sql() -> str:
    """SQL: an update changes what is stored of the row (its arm; in an arm, its moment or customer,
    trigger or variant)."""
    return (f"({arm_sql('OLD')}) IS DISTINCT FROM ({arm_sql('NEW')}) OR (({arm_sql('NEW')}) IS NOT NULL AND "
            f"(({moment_sql('OLD')}) IS DISTINCT FROM ({moment_sql('NEW')}) OR OLD.shop_id <> NEW.shop_id "
            f"OR OLD.phone <> NEW.phone OR OLD.\"trigger\" <> NEW.\"trigger\" OR OLD.variant <> NEW.variant))")


def counted_sql(row: str) -> str:
    """SQL: the order `row` counts (not cancelled or returned); one constant array (see ARM_STATUSES)."""
    states = ",".join(attribution.NOT_COUNTED)
    return f"{row}.state::text <> ALL ('{{{states}}}'::text[])"


def not_counted_sql() -> str:
    return ", ".join(f"'{state}'" for state in attribution.NOT_COUNTED)


def slot_sql(shop: str, phone: str) -> str:
    """SQL: the customer's lock (see the module's doc), one of 1024, so that a transaction writing
    many orders (a sync batch, an import) holds a bounded number of PostgreSQL's locks."""
    return f"hashtext({shop}::text || ' ' || {phone}) & 1023"


def window_body(seconds: float) -> str:
    return f"SELECT {float(seconds)!r} * INTERVAL '1 second'"


def install_sql(seconds: float) -> list[str]:
    outbox, orders, table = OutboundMessage._meta.db_table, Order._meta.db_table, ReachedMessage._meta.db_table
    not_counted = not_counted_sql()
    return [
        # IMMUTABLE: inlined as a constant where it is used.
        f"""CREATE OR REPLACE FUNCTION {WINDOW_FUNCTION}() RETURNS interval LANGUAGE sql IMMUTABLE
            AS $$ {window_body(seconds)} $$""",
        # PL/pgSQL, not SQL: its plan is kept for the session (a SQL function is planned at each call).
        # Volatile: it reads with a snapshot of its own, so a recount that waited for another's row
        # sees that transaction's orders once it committed.
        f"""CREATE OR REPLACE FUNCTION {BOUGHT_FUNCTION}(shop bigint, customer text, moment timestamptz,
                OUT orders integer, OUT revenue numeric) LANGUAGE plpgsql VOLATILE AS $$
            BEGIN
                SELECT COUNT(*)::integer, COALESCE(SUM(o.total_price), 0) INTO orders, revenue FROM {orders} o
                WHERE o.shop_id = shop AND o.customer_phone = customer AND o.created_at_kaspi > moment
                  AND o.created_at_kaspi <= moment + {WINDOW_FUNCTION}() AND o.state NOT IN ({not_counted});
            END $$""",
        f"""CREATE OR REPLACE FUNCTION {RECOUNT_FUNCTION}(shop bigint, customer text, placed timestamptz)
                RETURNS void LANGUAGE plpgsql AS $$
            BEGIN
                PERFORM pg_advisory_xact_lock_shared(hashtext('{table}'), {slot_sql("shop", "customer")});
                UPDATE {table} r SET (orders, revenue) = (SELECT * FROM {BOUGHT_FUNCTION}(r.shop_id, r.phone, r.moment))
                WHERE r.shop_id = shop AND r.phone = customer AND r.moment < placed
                  AND r.moment >= placed - {WINDOW_FUNCTION}();
            END $$""",
        # Orders inserted (a sync batch's COPY): once per statement, the customers' locks in one
        # order, then one UPDATE joining the inserted orders to the stored rows whose window covers them.
        f"""CREATE OR REPLACE FUNCTION {ORDERS_ADDED_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                PERFORM pg_advisory_xact_lock_shared(hashtext('{table}'), slot)
                FROM (SELECT DISTINCT {slot_sql("shop_id", "customer_phone")} AS slot
                      FROM added WHERE {counted_sql("added")} ORDER BY 1) slots;
                UPDATE {table} r SET (orders, revenue) = (SELECT * FROM {BOUGHT_FUNCTION}(r.shop_id, r.phone, r.moment))
                FROM (SELECT DISTINCT shop_id, customer_phone, created_at_kaspi FROM added
                      WHERE {counted_sql("added")}) a
                WHERE r.shop_id = a.shop_id AND r.phone = a.customer_phone AND r.moment < a.created_at_kaspi
                  AND r.moment >= a.created_at_kaspi - {WINDOW_FUNCTION}();
                RETURN NULL;
            END $$""",
        f"""CREATE OR REPLACE FUNCTION {MESSAGE_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
            DECLARE arm text := NULL; moment timestamptz; bought record; old_slot integer; new_slot integer;
            BEGIN
                IF TG_OP = 'UPDATE' AND NOT ({changed_sql()}) THEN
                    RETURN NULL;  -- e.g. delivered, then read: nothing stored changes
                END IF;
                IF TG_OP <> 'DELETE' THEN
                    arm := {arm_sql("NEW")};
                END IF;
                -- The customers' locks (old and new, in one order) before the stored row, as the
                -- orders' triggers take theirs before the rows: taking the row first (the DELETE)
                -- could wait in a circle with a sync batch holding the lock and wanting the row.
                IF TG_OP <> 'INSERT' THEN
                    old_slot := {slot_sql("OLD.shop_id", "OLD.phone")};
                END IF;
                IF arm IS NOT NULL THEN
                    new_slot := {slot_sql("NEW.shop_id", "NEW.phone")};
                END IF;
                PERFORM pg_advisory_xact_lock(hashtext('{table}'), slot)
                FROM (SELECT DISTINCT slot FROM unnest(ARRAY[old_slot, new_slot]) slot
                      WHERE slot IS NOT NULL ORDER BY 1) slots;
                IF TG_OP <> 'INSERT' THEN
                    DELETE FROM {table} WHERE message_id = OLD.id;
                END IF;
                IF arm IS NOT NULL THEN
                    moment := {moment_sql("NEW")};
                    bought := {BOUGHT_FUNCTION}(NEW.shop_id, NEW.phone, moment);
                    INSERT INTO {table} (message_id, arm, shop_id, phone, "trigger", variant, moment, orders, revenue)
                    VALUES (NEW.id, arm, NEW.shop_id, NEW.phone, NEW."trigger", NEW.variant, moment, bought.orders,
                            bought.revenue);
                END IF;
                RETURN NULL;
            END $$""",
        f"""CREATE OR REPLACE FUNCTION {ORDER_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP <> 'INSERT' THEN
                    PERFORM {RECOUNT_FUNCTION}(OLD.shop_id, OLD.customer_phone, OLD.created_at_kaspi);
                END IF;
                IF TG_OP <> 'DELETE' AND (TG_OP = 'INSERT' OR (OLD.shop_id, OLD.customer_phone, OLD.created_at_kaspi)
                                          IS DISTINCT FROM (NEW.shop_id, NEW.customer_phone, NEW.created_at_kaspi)) THEN
                    PERFORM {RECOUNT_FUNCTION}(NEW.shop_id, NEW.customer_phone, NEW.created_at_kaspi);
                END IF;
                RETURN NULL;
            END $$""",
        *[f"DROP TRIGGER IF EXISTS {name} ON {outbox}" for name in MESSAGE_TRIGGERS],
        *[f"DROP TRIGGER IF EXISTS {name} ON {orders}" for name in ORDER_TRIGGERS],
        # The outbox: only rows with a status of an arm, before or after (see ARM_STATUSES).
        f"""CREATE TRIGGER {MESSAGE_TRIGGERS[0]} AFTER INSERT ON {outbox} FOR EACH ROW
            WHEN (NEW.status::text = ANY ({ARM_STATUSES})) EXECUTE FUNCTION {MESSAGE_FUNCTION}()""",
        f"""CREATE TRIGGER {MESSAGE_TRIGGERS[1]} AFTER UPDATE ON {outbox} FOR EACH ROW
            WHEN ({may_change_sql()}) EXECUTE FUNCTION {MESSAGE_FUNCTION}()""",
        f"""CREATE TRIGGER {MESSAGE_TRIGGERS[2]} AFTER DELETE ON {outbox} FOR EACH ROW
            WHEN (OLD.status::text = ANY ({ARM_STATUSES})) EXECUTE FUNCTION {MESSAGE_FUNCTION}()""",
        # The orders: only those that count, or whose counting, customer, date or price changes.
        f"""CREATE TRIGGER {ORDER_TRIGGERS[0]} AFTER INSERT ON {orders} REFERENCING NEW TABLE AS added
            FOR EACH STATEMENT EXECUTE FUNCTION {ORDERS_ADDED_FUNCTION}()""",
        f"""CREATE TRIGGER {ORDER_TRIGGERS[1]} AFTER UPDATE ON {orders} FOR EACH ROW
            WHEN (({counted_sql("OLD")}) <> ({counted_sql("NEW")}) OR (({counted_sql("NEW")}) AND (
                  OLD.shop_id <> NEW.shop_id OR OLD.customer_phone <> NEW.customer_phone
                  OR OLD.created_at_kaspi <> NEW.created_at_kaspi OR OLD.total_price <> NEW.total_price)))
            EXECUTE FUNCTION {ORDER_FUNCTION}()""",
        f"""CREATE TRIGGER {ORDER_TRIGGERS[2]} AFTER DELETE ON {orders} FOR EACH ROW
            WHEN ({counted_sql("OLD")}) EXECUTE FUNCTION {ORDER_FUNCTION}()""",
    ]


def fill_sql() -> str:
    """Every row in an arm, counted: what the triggers keep."""
    outbox, table = OutboundMessage._meta.db_table, ReachedMessage._meta.db_table
    return f"""
        INSERT INTO {table} (message_id, arm, shop_id, phone, "trigger", variant, moment, orders, revenue)
        SELECT m.id, m.arm, m.shop_id, m.phone, m."trigger", m.variant, m.moment, bought.*
        FROM (SELECT m.*, {arm_sql("m")} AS arm, {moment_sql("m")} AS moment FROM {outbox} m) m,
             LATERAL {BOUGHT_FUNCTION}(m.shop_id, m.phone, m.moment) bought
        WHERE m.arm IS NOT NULL"""


def rebuild() -> int:
    """Install the triggers with today's window and count every row anew; returns the rows. The
    outbox and the orders are locked against writers meanwhile (they wait; readers do not)."""
    if connection.vendor != "postgresql":
        return 0
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {OutboundMessage._meta.db_table}, {Order._meta.db_table} IN SHARE MODE")
        for sql in install_sql(attribution.window().total_seconds()):
            cursor.execute(sql)
        cursor.execute(f"DELETE FROM {ReachedMessage._meta.db_table}")
        cursor.execute(fill_sql())
        rows = cursor.rowcount
        cursor.execute(f"ANALYZE {ReachedMessage._meta.db_table}")  # plans fit for the new rows at once
        return rows


def ready() -> tuple[bool, str]:
    """Whether the stored figures can be read: the triggers are there and enabled, and count the
    window the settings ask for; if not, why (for the logs and the status page)."""
    if connection.vendor != "postgresql":
        return False, "the stored lift figures are kept on PostgreSQL only"
    names = [*MESSAGE_TRIGGERS, *ORDER_TRIGGERS]
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT (SELECT prosrc FROM pg_proc WHERE proname = %s LIMIT 1),
                       (SELECT COUNT(*) FROM pg_trigger WHERE tgname = ANY(%s) AND tgenabled <> 'D')""",
            [WINDOW_FUNCTION, names])
        body, enabled = cursor.fetchone()
    if enabled != len(names):
        return False, "the stored lift figures' triggers are missing or disabled: run `manage.py rebuild_metrics`"
    seconds = attribution.window().total_seconds()
    if (body or "").strip() != window_body(seconds):
        return False, (f"the stored lift figures count another attribution window than SELLER_ATTRIBUTION_DAYS="
                       f"{seconds / 86400:g}: run `manage.py rebuild_metrics` (until then the lift is counted "
                       f"from the orders, slower)")
    return True, ""
