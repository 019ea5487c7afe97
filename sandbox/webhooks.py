"""WAHA's webhooks back to the app: the envelope, the HMAC-SHA512 headers, and delivery.

Delivery never holds the state lock: the app's handler may call back into the sandbox.
"""

import hashlib
import hmac
import json
import secrets
import threading
import time
import urllib.error
import urllib.request

from . import data

TIMEOUT_SECONDS = 10


def raw_id():
    return "3EB0" + secrets.token_hex(9).upper()


def lid_for(phone):
    """A stable 15-digit @lid id for a phone, the way WhatsApp hides numbers more and more."""
    return str(int(hashlib.sha256(phone.encode()).hexdigest(), 16))[:15] + "@lid"


def envelope(session, event, payload):
    engine = session["engine"]
    return {"id": "evt_" + secrets.token_hex(13), "timestamp": int(time.time() * 1000),
            "event": event, "session": session["name"], "metadata": {}, "me": session["me"],
            "payload": payload, "engine": engine,
            "environment": {"version": "2026.7.1", "engine": engine, "tier": "CORE", "browser": None}}


def deliver(state, body):
    """POST one event to the app, signed like WAHA; returns the app's status (None: unreachable)."""
    with state.lock:
        url, key = state.webhook_url, state.webhook_hmac_key
        # A session created with its own webhook (POST /api/sessions) posts there, signed with its key.
        own = (state.sessions.get(body.get("session")) or {}).get("webhooks") or []
        if own and own[0].get("url"):
            url, key = own[0]["url"], (own[0].get("hmac") or {}).get("key") or ""
    if not url:
        return None
    raw = json.dumps(body, ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json",
               "X-Webhook-Request-Id": secrets.token_hex(16),
               "X-Webhook-Timestamp": str(int(time.time() * 1000))}
    if key:
        headers["X-Webhook-Hmac"] = hmac.new(key.encode(), raw, hashlib.sha512).hexdigest()
        headers["X-Webhook-Hmac-Algorithm"] = "sha512"
    try:
        request = urllib.request.Request(url, data=raw, headers=headers, method="POST")
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except (urllib.error.URLError, OSError):
        status = None
    with state.lock:
        state.webhooks.append({"event": body["event"], "id": body["id"],
                               "payload_id": body["payload"].get("id"), "url": url,
                               "status": status, "time": time.time()})
    return status


def inbound(state, session, phone, text, as_lid=False, lid_known=True, alt=False):
    """A customer writes to the shop's number: the `message` event WAHA would post. With `as_lid`
    the sender is an @lid, which the lids endpoint maps to the phone unless `lid_known` is false
    (pn: null); `alt` adds the phone the way NOWEB does (`_data.key.remoteJidAlt`)."""
    number = data.international(phone)
    chat = f"{number}@c.us"
    extra = {}
    if as_lid:
        chat = lid_for(number)
        if lid_known:
            with state.lock:
                state.lids[chat] = number
        if alt:
            extra = {"key": {"remoteJid": chat, "remoteJidAlt": f"{number}@s.whatsapp.net", "fromMe": False}}
    payload = {"id": f"false_{chat}_{raw_id()}", "timestamp": int(time.time()), "from": chat,
               "fromMe": False, "source": "app", "to": session["me"]["id"], "participant": None,
               "body": text, "hasMedia": False, "media": None, "ack": 2, "ackName": "DEVICE",
               "location": None, "vCards": [], "replyTo": None, "_data": extra}
    event = envelope(session, "message", payload)
    return deliver(state, event), event


def acks_later(state, session, message, failure=None):
    """After a send: DEVICE then READ receipts, from a thread, a little later, like a phone. With
    `failure` ("ack-error" or "ack-463") one ERROR ack (-1) instead: how WEBJS and NOWEB report a
    message WhatsApp refused, 463 included (NOWEB carries the code in messageStubParameters)."""
    with state.lock:
        delay, generation = state.ack_delay, state.generation
    if not delay:
        return
    acks = [(2, "DEVICE", {}), (3, "READ", {})]
    if failure:
        acks = [(-1, "ERROR", {"messageStubParameters": ["463"]} if failure == "ack-463" else {})]

    def run():
        for ack, name, extra in acks:
            if state.stopping.wait(delay) or state.generation != generation:
                return
            payload = {"id": message["id"], "from": message["chatId"], "to": session["me"]["id"],
                       "participant": None, "fromMe": True, "ack": ack, "ackName": name, "_data": extra}
            deliver(state, envelope(session, "message.ack", payload))

    threading.Thread(target=run, daemon=True, name="sandbox-acks").start()


def session_status_later(state, session):
    """A session changed status: tell the app, as WAHA's session.status event does."""
    payload = {"name": session["name"], "status": session["status"],
               "statuses": [{"status": session["status"], "timestamp": int(time.time() * 1000)}],
               "data": None}
    threading.Thread(target=deliver, args=(state, envelope(session, "session.status", payload)),
                     daemon=True, name="sandbox-session-status").start()
