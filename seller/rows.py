"""An outbox row with its order and shop, as the writing and sending steps read it at each step:
one plain SQL statement instead of the ORM's `select_related("order", "shop").get(pk=...)`,
whose building cost a fifth of a send step's CPU (three models, some 80 columns, every time).

The columns come from the models' own fields, and each value goes through the field's own
converters, as the ORM does: the instances are the same as the ORM's. The shop's Kaspi token is
left out (deferred: read on access); the steps never use it, and decrypting it costs."""

import functools

from django.db import connection

from config import sql
from kaspi_sync.models import Order, Shop
from messaging.models import OutboundMessage

TABLES = (("m", OutboundMessage), ("o", Order), ("s", Shop))
LEFT_OUT = {Shop: {"kaspi_token"}}


@functools.lru_cache(maxsize=4)
def statement(vendor: str) -> tuple[str, tuple]:
    """The SELECT, and per model its fields' attribute names and converters (once per process)."""
    quote = connection.ops.quote_name
    columns, layout = [], []
    for alias, model in TABLES:
        fields = [f for f in model._meta.concrete_fields if f.name not in LEFT_OUT.get(model, ())]
        columns += [f"{alias}.{quote(f.column)}" for f in fields]
        converting = [sql.converters(f, alias) for f in fields]
        layout.append((model, [f.attname for f in fields], [found if found[1] else None for found in converting]))
    message, order, shop = (model._meta for _, model in TABLES)
    select = (f"SELECT {', '.join(columns)} FROM {quote(message.db_table)} m "
           f"JOIN {quote(order.db_table)} o ON o.{quote(order.pk.column)} = m.{quote(message.get_field('order').column)} "
           f"JOIN {quote(shop.db_table)} s ON s.{quote(shop.pk.column)} = m.{quote(message.get_field('shop').column)} "
           f"WHERE m.{quote(message.pk.column)} = %s")
    return select, tuple(layout)


def read(message_id: int) -> OutboundMessage | None:
    """The row with `order` and `shop` loaded (and the order's shop, the same one), or None."""
    select, layout = statement(connection.vendor)
    with connection.cursor() as cursor:
        cursor.execute(select, [message_id])
        row = cursor.fetchone()
    if row is None:
        return None
    instances, start = [], 0
    for model, names, converters in layout:
        values = list(row[start:start + len(names)])
        start += len(names)
        for i, converting in enumerate(converters):
            if converting:
                values[i] = sql.converted(values[i], *converting)
        instances.append(model.from_db(connection.alias, names, values))
    message, order, shop = instances
    message.order, message.shop = order, shop
    if order.shop_id == shop.pk:
        order.shop = shop
    return message
