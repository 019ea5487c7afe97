"""The way from dry mode to live, per shop: each step checks something real (one Kaspi read, the
WAHA session, a webhook seen, the model's own answer, a message to the operator's phone), keeps
what it found, and the shop goes live only when every step is done."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from kaspi_sync.client import KaspiClient, KaspiError, parse_orders, to_ms
from kaspi_sync.models import Shop
from messaging.models import InboundMessage, OutboundMessage
from messaging.phones import chat_id, normalize_phone
from messaging.waha import WahaClient, WahaError

from . import preview
from .models import GoLiveStep

Step = GoLiveStep.Step
TEST_TEXT = "Проверка связи от «{shop}»: так ваши покупатели получат сообщения. / «{shop}» байланыс тексеруі."


def steps(shop: Shop) -> list[GoLiveStep]:
    """Every step in order, the ones never checked as unsaved `ok=False` rows."""
    done = {step.step: step for step in shop.go_live_steps.all()}
    return [done.get(step) or GoLiveStep(shop=shop, step=step, ok=False, checked_at=None) for step in Step.values]


def missing(shop: Shop) -> list[str]:
    return [step.get_step_display() for step in steps(shop) if not step.ok]


def record(shop: Shop, step: str, ok: bool, detail: str, user: str = "") -> GoLiveStep:
    row, _ = GoLiveStep.objects.update_or_create(
        shop=shop, step=step, defaults={"ok": ok, "detail": detail[:2000], "checked_at": timezone.now(), "checked_by": user})
    return row


def check_kaspi(shop: Shop, user: str = "") -> GoLiveStep:
    """One read: the shop's new orders of the last two weeks, one per page (only the count matters)."""
    now = timezone.now()
    params = {"page[number]": 0, "page[size]": 1, "filter[orders][state]": "NEW",
              "filter[orders][creationDate][$ge]": to_ms(now - timedelta(days=14)),
              "filter[orders][creationDate][$le]": to_ms(now)}
    try:
        _, meta = KaspiClient(shop.kaspi_token, shop_label=f"shop {shop.pk}").read("/orders", params, parse_orders)
    except KaspiError as exc:
        return record(shop, Step.KASPI, False, f"Kaspi refused: {exc}", user)
    count = meta.get("totalCount", "?")
    return record(shop, Step.KASPI, True, f"Kaspi answered: {count} new order(s) in the last 14 days.", user)


def check_waha(shop: Shop, user: str = "") -> GoLiveStep:
    try:
        status = WahaClient(shop.session_name).session_status()
    except WahaError as exc:
        return record(shop, Step.WAHA, False, f"WAHA session {shop.session_name!r}: {exc}", user)
    hint = "" if status == "WORKING" else " (scan the QR code on the WhatsApp session page, then check again)"
    return record(shop, Step.WAHA, status == "WORKING", f"WAHA session {shop.session_name!r}: {status}{hint}", user)


def check_webhook(shop: Shop, user: str = "") -> GoLiveStep:
    """Seen when WAHA told us anything about this session: a reply, or a delivery ack."""
    reply = InboundMessage.objects.filter(session=shop.session_name).order_by("-received_at").first()
    acked = OutboundMessage.objects.filter(shop=shop, delivered_at__isnull=False).exists()
    if reply or acked:
        return record(shop, Step.WEBHOOK, True, "A webhook from WAHA arrived" + (
            f" (a reply at {reply.received_at:%Y-%m-%d %H:%M} UTC)." if reply else " (a delivery ack)."), user)
    return record(shop, Step.WEBHOOK, False, "No webhook from WAHA yet: point WAHA's webhook at /webhooks/waha "
                  "with the HMAC key, then answer the test message from your phone.", user)


def check_model(shop: Shop, user: str = "") -> GoLiveStep:
    order = shop.orders.order_by("-created_at_kaspi").first()
    if order is None:
        return record(shop, Step.MODEL, False, "No order to write about yet: sync the shop first.", user)
    written = preview.preview_order(order)[0].written
    if written.source == OutboundMessage.Source.AI:
        return record(shop, Step.MODEL, True, f"The model wrote for order #{order.code} in {written.generation_ms} ms:"
                      f"\n{written.text}", user)
    return record(shop, Step.MODEL, False, f"The template was used ({written.fallback_reason}) for order "
                  f"#{order.code}: check OPENAI_API_KEY, OPENAI_BASE_URL and OPENAI_MODEL.", user)


def review_policy(shop: Shop, user: str = "") -> GoLiveStep:
    return record(shop, Step.POLICY, True, "Reviewed: " + "; ".join(f"{name} {value}" for name, value in policy_summary(shop)), user)


def policy_summary(shop: Shop) -> list[tuple[str, str]]:
    return [
        ("time zone", shop.tz_name),
        ("quiet hours", shop.setting("quiet_hours") or "none"),
        ("cap", f"{shop.setting('max_messages')} per customer per {shop.setting('cap_window_days')} days"),
        ("daily cap", f"{shop.setting('max_daily_messages')} per day"),
        ("cooldown", f"{shop.setting('cooldown_hours')} h"),
        ("order placed", f"{'on' if shop.post_purchase_enabled else 'off'}, after {shop.setting('post_purchase_delay_hours')} h"),
        ("order delivered", f"{'on' if shop.order_delivered_enabled else 'off'}, after {shop.setting('delivered_delay_hours')} h"),
        ("language", shop.get_language_display()),
    ]


def send_test_message(shop: Shop, phone: str, user: str = "") -> GoLiveStep:
    """To the operator's own number, through the shop's own session: the real path, one message."""
    normalized = normalize_phone(phone)
    if normalized is None:
        return record(shop, Step.TEST_MESSAGE, False, f"{phone!r} is not a Kazakhstan mobile number.", user)
    try:
        sent = WahaClient(shop.session_name).send_text(chat_id(normalized), TEST_TEXT.format(shop=shop.name))
    except WahaError as exc:
        return record(shop, Step.TEST_MESSAGE, False, f"WAHA did not send it: {exc}", user)
    return record(shop, Step.TEST_MESSAGE, True, f"Sent to {normalized} (WAHA id {sent.message_id}). "
                  "Answer it from that phone to check the webhook.", user)


def go_live(shop: Shop) -> list[str]:
    """Switch the shop live if every step is done; else the steps still missing."""
    with transaction.atomic():
        still = missing(shop)
        if not still:
            Shop.objects.filter(pk=shop.pk).update(mode=Shop.Mode.LIVE)
    return still
