"""Write the text of an eligible outbox row."""

from django.utils import timezone

from messaging import outbox
from messaging.models import OutboundMessage

from . import generation

Status = OutboundMessage.Status


def write_message(message_id: int) -> bool:
    message = OutboundMessage.objects.select_related("order", "shop").filter(pk=message_id).first()
    if message is None or message.status != Status.APPROVED:
        return False
    written = generation.write(message)
    return outbox.move(
        message_id,
        Status.APPROVED,
        Status.GENERATED,
        note=written.source,
        text=written.text,
        source=written.source,
        fallback_reason=written.fallback_reason,
        prompt_tokens=written.prompt_tokens,
        completion_tokens=written.completion_tokens,
        generation_ms=written.generation_ms,
        generated_at=timezone.now(),
    )
