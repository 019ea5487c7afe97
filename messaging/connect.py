"""Connecting a shop's WhatsApp number from the admin: the WAHA session with our webhook, its
state and QR code until it is WORKING, a test message, stop and log out."""

import logging
from dataclasses import asdict

from django.conf import settings

from .phones import chat_id, mask, normalize_phone
from .waha import WahaClient

log = logging.getLogger(__name__)
TEST_MESSAGE = ("Тестовое сообщение: WhatsApp магазина подключён. / Дүкеннің WhatsApp-ы қосылды. / "
                "Test message: the shop's WhatsApp is connected.")
CORE_NOTE = ("WAHA Core serves only the `default` session: one WhatsApp number per shop needs WAHA Plus "
             "(leave a shop's WAHA session empty to use WAHA_SESSION).")


def connect(session: str, webhook_url: str) -> dict:
    """Create or start the session with our webhook: its URL, the events we read, our HMAC key."""
    info = WahaClient(session).connect(settings.WAHA_WEBHOOK_URL or webhook_url, settings.WAHA_WEBHOOK_HMAC_KEY)
    log.info("WAHA session %s connected (status %s)", session, info.status)
    return asdict(info)


def state(session: str) -> dict:
    """What the page shows: {exists, status, phone, push_name, qr (a data: URL while SCAN_QR_CODE)}."""
    waha = WahaClient(session)
    info = waha.session_info()
    if info is None:
        return {"session": session, "exists": False, "status": "NO SESSION", "phone": "", "push_name": "", "qr": ""}
    qr = ""
    if info.status == "SCAN_QR_CODE":
        mimetype, data = waha.qr_code()
        qr = f"data:{mimetype};base64,{data}" if data else ""
    return {**asdict(info), "session": session, "exists": True, "phone": f"+{info.phone}" if info.phone else "",
            "qr": qr}


def send_test(session: str, raw_phone: str) -> str:
    """A test message to the operator's own phone; returns the masked number. ValueError for a bad one."""
    phone = normalize_phone(raw_phone)
    if phone is None:
        raise ValueError("Not a Kazakhstan mobile number (e.g. +7 701 123 45 67).")
    WahaClient(session).send_text(chat_id(phone), TEST_MESSAGE)
    return mask(phone)


def stop(session: str):
    WahaClient(session).stop()


def logout(session: str):
    WahaClient(session).logout()
