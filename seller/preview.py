"""What the seller would send, written now, without sending or saving anything."""

from dataclasses import dataclass

from kaspi_sync.models import Order
from messaging.models import OutboundMessage, Trigger

from . import generation

MAX_PREVIEWS = 10  # each one may wait seconds for the model


@dataclass(frozen=True)
class Preview:
    message: OutboundMessage  # the outbox row, or an unsaved one when the order has none yet
    written: generation.Written

    @property
    def stored_text(self) -> str:
        """What the row already carries (a message generated or sent earlier)."""
        return self.message.text if self.message.pk else ""


def preview_message(message: OutboundMessage) -> Preview:
    return Preview(message, generation.write(message))


def preview_order(order: Order) -> list[Preview]:
    """Both triggers of an order, from its outbox rows where they exist."""
    rows = {row.trigger: row for row in order.messages.select_related("order", "shop")}
    return [
        preview_message(
            rows.get(trigger)
            or OutboundMessage(order=order, shop=order.shop, trigger=trigger, phone=order.customer_phone)
        )
        for trigger in Trigger.values
    ]
