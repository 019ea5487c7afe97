"""An outbox row in words an operator understands: what state it is in and why, who wrote its
text, in the shop's time zone. The admin, the order and customer pages and the demo use it."""

from config.localtime import when

from .models import OutboundMessage

Status = OutboundMessage.Status

STATUS_WORDS = {
    Status.PENDING: "waiting for the policy check",
    Status.APPROVED: "allowed (place reserved), being written",
    Status.GENERATED: "written, waiting to be sent",
    Status.SENDING: "being sent",
    Status.SENT: "sent",
    Status.DELIVERED: "delivered",
    Status.READ: "read",
    Status.UNKNOWN: "may have been sent (the request left, no answer): being checked in WhatsApp",
    Status.DRY_RUN: "written, not sent: the shop is in dry mode",
}

REASON_WORDS = {
    # blocked
    "opt_out": "the customer opted out",
    "cap": "the customer already got the most messages allowed in the cap window",
    "invalid_phone": "the phone is not a Kazakhstan mobile",
    "no_whatsapp": "the phone is not on WhatsApp",
    "disabled": "the shop or this trigger is switched off",
    "shop_off": "the shop's mode is off",
    "expired": "too late: not sent within the longest wait after its event",
    "holdout": "kept back for comparison (holdout)",
    # cancelled
    "order_cancelled": "the order was cancelled",
    "order_returned": "the order was returned",
    "operator": "an operator cancelled it",
    # failed
    "retries_exhausted": "WhatsApp (WAHA) kept failing; tries used up",
    "ack_error": "WhatsApp reported a delivery error",
    "reachout_timelock": "WhatsApp refused a new contact (463): the number is paused for new contacts",
    "waha_no_session": "the shop's WAHA session does not exist (Connect WhatsApp in admin)",
    "waha_core_default_only": "WAHA Core serves only the `default` session (one number per shop needs WAHA Plus)",
    "waha_invalid_lid": "WAHA refused the customer's WhatsApp id as invalid",
    "dry_mode": "the shop is in dry mode",
    # deferred (the first word of the deferring event's note)
    "quiet_hours": "quiet hours",
    "cooldown": "cooldown after the last message to this customer",
    "daily_cap": "the shop's daily cap is reached",
    "delay": "the trigger's delay after its event",
    "session": "WhatsApp paused new contacts on this number (463)",
    "reachout": "WhatsApp paused new contacts on this number (463)",
}

FALLBACK_WORDS = {
    "no_api_key": "no model is configured (OPENAI_API_KEY is empty)",
    "timeout": "the model did not answer in time",
    "refusal": "the model refused",
    "truncated": "the model's reply was cut off",
}


def reason_words(reason: str) -> str:
    if not reason:
        return ""
    if reason.startswith("waha_http_"):
        return f"WhatsApp (WAHA) refused it (HTTP {reason.removeprefix('waha_http_')})"
    return REASON_WORDS.get(reason, reason.replace("_", " "))


def defer_reason(message: OutboundMessage) -> str:
    """Why the row waits: the note of the move that deferred it ("quiet_hours at send time")."""
    events = [event for event in message.events.all() if event.status == Status.DEFERRED]
    if not events:
        return ""
    note = events[-1].note
    first = note.split(" ", 1)[0].rstrip(":")
    return REASON_WORDS.get(first, note)


def status_words(message: OutboundMessage) -> str:
    """"held until 09:00 30.11.2026 Almaty: quiet hours", "blocked: the customer opted out"."""
    tz_name = message.shop.tz_name
    if message.status == Status.DEFERRED:
        why = defer_reason(message)
        return f"held until {when(message.not_before, tz_name)}" + (f": {why}" if why else "")
    if message.status in (Status.BLOCKED, Status.CANCELLED, Status.FAILED):
        words = reason_words(message.reason)
        return f"{message.status}: {words}" if words else message.status
    return STATUS_WORDS.get(message.status, message.status)


def author_words(message: OutboundMessage) -> str:
    """Who wrote the text: the model, or the shop's template and why."""
    if message.source == OutboundMessage.Source.AI:
        return "AI (the model's text passed every check)"
    if message.source == OutboundMessage.Source.FALLBACK:
        return f"template, because {fallback_words(message.fallback_reason)}"
    return "not written yet"


def fallback_words(reason: str) -> str:
    if reason.startswith("guardrail:"):
        return f"the model's text broke the rules ({reason.removeprefix('guardrail:').replace(',', ', ')})"
    if reason.startswith("error:"):
        return f"the model answered with an error ({reason.removeprefix('error:')})"
    return FALLBACK_WORDS.get(reason, reason or "unknown")


def short_text(message: OutboundMessage, length: int = 80) -> str:
    text = " ".join(message.text.split())
    return text if len(text) <= length else text[: length - 1] + "…"
