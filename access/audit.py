"""The audit trail: `record` writes who did what, to what, in which shop. Never secrets or
phone numbers in full (details go through the log redaction)."""

from config.logging import redact

from .models import AuditEntry

Action = AuditEntry.Action


def record(user, action: str, *, shop_id: int | None = None, target: str = "", detail: str = "",
           actor: str = "") -> AuditEntry:
    """`user` is whoever was logged in (None for a customer's reply, then say so in `actor`)."""
    person = user if getattr(user, "is_authenticated", False) else None
    return AuditEntry.objects.create(
        user=person, actor=actor or (person.get_username() if person else "system"), action=action, shop_id=shop_id,
        target=redact(str(target))[:200], detail=redact(str(detail))[:2000],
    )
