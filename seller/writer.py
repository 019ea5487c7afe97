"""Write the text of an eligible outbox row."""

from django.utils import timezone

from kaspi_sync.models import Shop
from config.logging import tag_row
from messaging import outbox
from messaging.models import OutboundMessage

from . import generation, rows

Status = OutboundMessage.Status


def write_message(message_id: int) -> bool:
    """True when the row is written and may be sent; a shop in review mode holds it in `review`
    until an operator approves it in admin (`approve`)."""
    message = rows.read(message_id)  # with its order and shop, in one plain SQL read
    if message is None:
        return False
    if message.status != Status.APPROVED:
        return False
    tag_row(message)
    written = generation.write(message)
    in_review = message.shop.mode == Shop.Mode.REVIEW
    moved = outbox.move(
        message_id,
        Status.APPROVED,
        Status.REVIEW if in_review else Status.GENERATED,
        note=written.source + (", waiting for an operator's review" if in_review else ""),
        text=written.text,
        source=written.source,
        fallback_reason=written.fallback_reason,
        first_reply=written.first_reply,
        repair_reason=written.repair_reason,
        second_reply=written.second_reply,
        prompt_tokens=written.prompt_tokens,
        completion_tokens=written.completion_tokens,
        generation_ms=written.generation_ms,
        variant=written.variant,
        generated_at=timezone.now(),
    )
    return moved and not in_review


def approve(message_ids, user: str) -> list[int]:
    """An operator lets reviewed rows go: they wait for the send step like any written row."""
    return [pk for pk in message_ids
            if outbox.move(pk, Status.REVIEW, Status.GENERATED, note=f"approved by {user}"[:300])]


def reject(message_ids, user: str) -> int:
    """An operator stops reviewed rows; their place under the caps is given back."""
    return sum(outbox.move(pk, Status.REVIEW, Status.CANCELLED, note=f"rejected by {user}"[:300], reason="rejected")
               for pk in message_ids)
