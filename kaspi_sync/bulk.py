"""New rows in bulk: by COPY on PostgreSQL, the fastest way in (a sync writes thousands of
rows); bulk_create elsewhere (SQLite, for a local try).

Values go to psycopg as Python holds them (str, int, Decimal, datetime, None), which is right
for plain fields like those of Order and OrderEntry, not for fields that convert their values
on the way to the database (encrypted, JSON)."""

from django.db import connection


def new_ids(model, count: int) -> list[int]:
    """Primary keys for `count` new rows of `model`, taken from its sequence."""
    if connection.vendor != "postgresql":
        last = model.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        return list(range(last + 1, last + 1 + count))  # SQLite: one writer at a time
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                       [model._meta.db_table, model._meta.pk.column, count])
        return [pk for (pk,) in cursor.fetchall()]


def insert_rows(model, names: list[str], rows: list):
    """New rows of `model` as sequences of values for the fields `names` (attnames: order_id).
    Tuples rather than model objects: building thousands of those costs more than the insert."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create([model(**dict(zip(names, row))) for row in rows])
        return
    quote, columns = connection.ops.quote_name, [model._meta.get_field(name).column for name in names]
    with connection.cursor() as cursor:
        with cursor.copy(f"COPY {quote(model._meta.db_table)} ({', '.join(map(quote, columns))}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
