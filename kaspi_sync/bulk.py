"""New rows in bulk: by COPY on PostgreSQL, the fastest way in (a sync's page is hundreds of
rows); bulk_create elsewhere (SQLite, for a local try)."""

from django.db import connection


def insert(model, objects: list):
    """Save new `objects` of `model` and set their primary keys, as bulk_create does.

    Values go to psycopg as Python holds them (str, int, Decimal, datetime, None), which is
    right for plain fields like those of Order and OrderEntry, not for fields that convert
    their values on the way to the database (encrypted, JSON)."""
    if not objects:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create(objects)
        return
    meta, quote = model._meta, connection.ops.quote_name
    fields = meta.concrete_fields
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                       [meta.db_table, meta.pk.column, len(objects)])
        for obj, (pk,) in zip(objects, cursor.fetchall()):
            obj.pk = pk
        columns = ", ".join(quote(field.column) for field in fields)
        with cursor.copy(f"COPY {quote(meta.db_table)} ({columns}) FROM STDIN") as copy:
            for obj in objects:
                copy.write_row([field.pre_save(obj, True) for field in fields])
    for obj in objects:
        obj._state.adding, obj._state.db = False, connection.alias
