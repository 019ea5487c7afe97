"""Per outbox row and outcome, when it first and last happened (`MessageOutcome`), kept from the
status history (`MessageEvent`) by PostgreSQL itself, so the metrics need not read every event.

A trigger on the events table adds each inserted batch in the inserting transaction: whatever
writes events (`outbox.move`, `create_messages`, a COPY, a test) keeps the summary right, and
concurrent writers only ever widen a row's [first_at, last_at] (LEAST/GREATEST commute), so the
order in which workers commit does not matter. `python manage.py rebuild_outcomes` rebuilds it
from the events (after a restore, or if anything else touched it). Elsewhere than PostgreSQL the
table stays empty and the metrics count from the events.
"""

from django.db import connection, transaction

from .models import MessageEvent, MessageOutcome, OutboundMessage

Status = OutboundMessage.Status

# The statuses whose event is each outcome (a read message was delivered too); `any`: every status.
OUTCOMES = {
    "sent": [Status.SENT],
    "delivered": [Status.DELIVERED, Status.READ],
    "read": [Status.READ],
    "failed": [Status.FAILED],
    "unknown": [Status.UNKNOWN],
    "deferred": [Status.DEFERRED],
    "cancelled": [Status.CANCELLED],
    "blocked": [Status.BLOCKED],
}
ANY = "any"

FUNCTION = "messaging_event_outcomes"
TRIGGER = "messaging_event_outcomes"


def pairs_sql() -> str:
    """VALUES (status, outcome) of every status, as SQL."""
    pairs = [(status, outcome) for outcome, statuses in OUTCOMES.items() for status in statuses]
    pairs += [(status, ANY) for status in Status.values]
    return ", ".join(f"('{status}', '{outcome}')" for status, outcome in pairs)


def upsert_sql(events: str) -> str:
    """Add the events of the table `events` to the summary. Ordered, so that two transactions
    adding to the same rows lock them in the same order (no deadlock)."""
    table, outbox = MessageOutcome._meta.db_table, OutboundMessage._meta.db_table
    return f"""
        INSERT INTO {table} (message_id, outcome, shop_id, "trigger", first_at, last_at)
        SELECT e.message_id, o.outcome, m.shop_id, m."trigger", MIN(e.at), MAX(e.at)
        FROM {events} e JOIN (VALUES {pairs_sql()}) AS o(status, outcome) ON o.status = e.status
             JOIN {outbox} m ON m.id = e.message_id
        GROUP BY e.message_id, o.outcome, m.shop_id, m."trigger"
        ORDER BY e.message_id, o.outcome
        ON CONFLICT (message_id, outcome) DO UPDATE
        SET first_at = LEAST({table}.first_at, EXCLUDED.first_at),
            last_at = GREATEST({table}.last_at, EXCLUDED.last_at)"""


def install_sql() -> list[str]:
    """The trigger: once per INSERT statement on the events, with the rows it inserted."""
    events = MessageEvent._meta.db_table
    return [
        f"""CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN {upsert_sql("added")}; RETURN NULL; END $$""",
        f"DROP TRIGGER IF EXISTS {TRIGGER} ON {events}",
        f"""CREATE TRIGGER {TRIGGER} AFTER INSERT ON {events} REFERENCING NEW TABLE AS added
            FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}()""",
    ]


def install():
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for sql in install_sql():
            cursor.execute(sql)


def rebuild() -> int:
    """The summary made anew from every event; returns its rows. The events table is locked
    against writers meanwhile (they wait; readers do not), so no event is missed or counted
    from a half-made summary."""
    if connection.vendor != "postgresql":
        return 0
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {MessageEvent._meta.db_table} IN SHARE MODE")
        cursor.execute(f"DELETE FROM {MessageOutcome._meta.db_table}")
        cursor.execute(upsert_sql(MessageEvent._meta.db_table))
        return cursor.rowcount
