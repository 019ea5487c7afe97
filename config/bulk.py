"""New rows in bulk: by COPY on PostgreSQL, the fastest way in (a sync writes thousands of
rows); bulk_create elsewhere (SQLite, for a local try).

Rows are tuples, not model objects: building thousands of those costs more than the insert.
Values go to psycopg as Python holds them (str, int, Decimal, datetime, None), which is right
for plain fields like those of Order, OrderEntry and the outbox, not for fields that convert
their values on the way to the database (encrypted, JSON)."""

from django.db import connection


def insert_rows(model, names: list[str], rows: list, return_ids: bool = False) -> list[int]:
    """New rows of `model` as sequences of values for the fields `names` (attnames: order_id).
    With `return_ids`, the new rows' primary keys, in order."""
    if not rows:
        return []
    if connection.vendor != "postgresql":
        created = model.objects.bulk_create([model(**dict(zip(names, row))) for row in rows])
        return [obj.pk for obj in created] if return_ids else []
    meta, quote = model._meta, connection.ops.quote_name
    ids = []
    with connection.cursor() as cursor:
        if return_ids:  # taken from the table's sequence first, as COPY returns nothing
            cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                           [meta.db_table, meta.pk.column, len(rows)])
            ids = [pk for (pk,) in cursor.fetchall()]
            names, rows = [meta.pk.attname, *names], [(pk, *row) for pk, row in zip(ids, rows)]
        columns = ", ".join(quote(meta.get_field(name).column) for name in names)
        with connection.wrap_database_errors:  # Django's IntegrityError and kin, as for any query
            with cursor.copy(f"COPY {quote(meta.db_table)} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
    return ids


def insert_objects(model, objects: list):
    """Save new `objects` of `model` (plain fields only, see above) and set their primary keys,
    as bulk_create does."""
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    ids = insert_rows(model, [field.attname for field in fields],
                      [[field.pre_save(obj, True) for field in fields] for obj in objects], return_ids=True)
    for obj, pk in zip(objects, ids):
        obj.pk, obj._state.adding, obj._state.db = pk, False, connection.alias
