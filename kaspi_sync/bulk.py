"""New rows in bulk: by COPY on PostgreSQL, the fastest way in (a sync writes thousands of
rows); bulk_create elsewhere (SQLite, for a local try).

Values go to psycopg as Python holds them (str, int, Decimal, datetime, None), which is right
for plain fields like those of Order and OrderEntry, not for fields that convert their values
on the way to the database (encrypted, JSON)."""

from django.db import connection


def insert(model, objects: list):
    """Save new `objects` of `model` and set their primary keys, as bulk_create does."""
    if not objects:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create(objects)
        return
    meta = model._meta
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                       [meta.db_table, meta.pk.column, len(objects)])
        for obj, (pk,) in zip(objects, cursor.fetchall()):
            obj.pk = pk
    fields = meta.concrete_fields
    insert_rows(model, [field.attname for field in fields],
                [[field.pre_save(obj, True) for field in fields] for obj in objects])
    for obj in objects:
        obj._state.adding, obj._state.db = False, connection.alias


def insert_rows(model, names: list[str], rows: list):
    """New rows of `model` as sequences of values for the fields `names` (attnames: order_id)."""
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
