"""Plain SQL for the hottest reads (building the ORM's query can cost more CPU than running it):
values passed to the database and read back as the model's own fields do it, on PostgreSQL as
on SQLite."""

from django.db import connection


def to_db(field, value):
    """`value` as the field sends it in a query's parameters."""
    return field.get_db_prep_value(value, connection)


def converters(field, alias: str | None = None) -> tuple:
    """What turns the field's column (of table `alias`) into the field's value, as the ORM does:
    (column, converters); no converters for most fields."""
    column = field.get_col(alias or field.model._meta.db_table)
    return column, connection.ops.get_db_converters(column) + field.get_db_converters(connection)


def converted(value, column, found: list):
    for convert in found:
        value = convert(value, column, connection)
    return value


def from_db(field, value):
    """A column's value as the ORM would give it for this field (a datetime, not SQLite's text)."""
    return converted(value, *converters(field))
