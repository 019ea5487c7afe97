"""WAHA stand-in: the endpoints the app uses, with every reply shape in shared/apis/waha.md."""

import base64
import json
import re
import socket
import struct
import time
import zlib
from datetime import datetime, timezone

import qrcode
from werkzeug.routing import Rule
from werkzeug.wrappers import Response

from . import data, talk, webhooks

PREFIX = "/waha"
CHAT_ID = re.compile(r"^\d{5,20}@(c\.us|lid)$")
REACHOUT_TIMELOCK = ("Failed to send message: server returned error 463 "
                     "(reachout timelock: this account cannot message new contacts for now)")


def reply(body, status=200):
    return Response(json.dumps(body, ensure_ascii=False), status, content_type="application/json")


def bad_request(messages):
    return reply({"statusCode": 400, "message": messages, "error": "Bad Request"}, 400)


def no_session(name):
    return reply({"statusCode": 404, "error": "Not Found",
                  "message": f"We didn't find a session with name '{name}'. "
                             f"Please start it first by using POST /api/sessions/{name}/start request"}, 404)


def not_working(name, status):
    return reply({"error": "Session status is not as expected. Try again later or restart the session",
                  "session": name, "status": status, "expected": ["WORKING"]}, 422)


def unprocessable(message):
    """NestJS's UnprocessableEntityException, as WAHA throws it for permanent 422s."""
    return reply({"message": message, "error": "Unprocessable Entity", "statusCode": 422}, 422)


def no_such_session_422(name):
    return reply({"error": f'Session "{name}" does not exist'}, 422)


CORE_ONLY = ("WAHA Core support only 'default' session. If you want to run more then one WhatsApp account "
             "- please get WAHA PLUS version. Check this out: https://waha.devlike.pro/docs/how-to/plus-version/")


def failure(message, status=500):
    return reply({"statusCode": status, "timestamp": datetime.now(timezone.utc).isoformat(),
                  "exception": {"message": message, "name": "Error"},
                  "version": {"version": "2026.7.1", "engine": "GOWS", "tier": "CORE"}}, status)


def endpoint(view):
    def wrapped(state, request, **values):
        if request.headers.get("X-Api-Key") != state.waha_api_key:
            return reply({"message": "Unauthorized", "statusCode": 401}, 401)
        if state.waha_latency:
            state.stopping.wait(state.waha_latency)
        flaky = state.take_waha_flaky()
        if flaky:  # before anything happens: nothing was sent
            return failure("Connection Closed", flaky)
        return view(state, request, **values)
    return wrapped


def _refusal(state, name):
    """None when the session may act, else what WAHA answers instead."""
    if state.waha_tier == "CORE" and name != "default":
        return unprocessable(CORE_ONLY)
    session = state.session_now(name)
    if session is None:
        return no_session(name)
    if session["status"] != "WORKING":
        return not_working(name, session["status"])
    return None


def _chat_request(request, *fields):
    """The JSON body and class-validator style complaints about the fields it needs."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return {}, ["body must be a JSON object"]
    problems = [f"{f} should not be empty" for f in fields
                if not isinstance(body.get(f), str) or not body[f].strip()]
    chat_id = body.get("chatId")
    if "chatId" in fields and isinstance(chat_id, str) and chat_id and not CHAT_ID.match(chat_id):
        problems.append("chatId must be a phone number with @c.us (77011234567@c.us) or an @lid id")
    return body, problems


@endpoint
def get_session(state, request, name):
    with state.lock:
        session = state.session_now(name)
        return reply(_session_body(state, session)) if session else no_session(name)


@endpoint
def list_sessions(state, request):
    with state.lock:
        return reply([_session_body(state, s) for s in state.sessions.values()])


def _session_body(state, session):
    webhooks_config = session.get("webhooks")
    if webhooks_config is None:
        webhooks_config = [{"url": state.webhook_url, "events": ["message", "message.ack", "session.status"],
                            "hmac": {"key": state.webhook_hmac_key} if state.webhook_hmac_key else None}
                           ] if state.webhook_url else []
    working = session["status"] == "WORKING"
    return {"name": session["name"], "status": session["status"],
            "config": {"metadata": None, "webhooks": webhooks_config},
            "me": session["me"] if working else None, "engine": {"engine": session["engine"]}}


@endpoint
def send_text(state, request):
    fault = state.take_waha_fault()
    body, problems = _chat_request(request, "session", "chatId", "text")
    ack_failure = fault if fault in ACK_FAULTS else None
    if fault is not None and not ack_failure and fault != "drop":
        return _fault(fault, body.get("session") or "default")
    if problems:
        return bad_request(problems)
    with state.lock:
        refusal = _refusal(state, body["session"])
        if refusal:
            return refusal
        session = dict(state.sessions[body["session"]])
        raw, chat_id = webhooks.raw_id(), body["chatId"]
        message = {"session": session["name"], "chatId": chat_id, "text": body["text"],
                   "id": f"true_{chat_id}_{raw}", "raw_id": raw, "engine": session["engine"],
                   "timestamp": time.time(), "time": datetime.now().isoformat(timespec="seconds")}
        # WAHA builds a link preview unless told not to: it fetches the page first.
        preview = body.get("linkPreview", True) is not False and bool(LINK.search(body["text"]))
        message["link_preview"] = preview
        delay = state.waha_delay + (state.preview_delay if preview else 0)
        if not ack_failure:
            state.sent.append(message)
    if delay:
        # The message has left; only the answer is late (what a crash test needs).
        state.stopping.wait(delay)
    webhooks.acks_later(state, session, message, failure=ack_failure)
    talk.maybe_reply_later(state, session, message)
    if fault == "drop":
        return _drop_connection(request)  # the message has left; the answer never comes
    return reply(_sent_body(session, message), 201)


ACK_FAULTS = ("ack-error", "ack-463")  # sendText answers 201, then an ack -1 follows
LINK = re.compile(r"https?://", re.IGNORECASE)


def _drop_connection(request):
    """Close the client's connection without a word, as a proxy or a crashed WAHA does after
    reading the whole request: the client sees the connection reset or closed."""
    sock = request.environ.get("werkzeug.socket")
    if sock is not None:
        sock.shutdown(socket.SHUT_RDWR)
        sock.close()
    return reply({}, 500)  # never reaches the client


@endpoint
def chat_messages(state, request, session, chat_id):
    """`GET /api/{session}/chats/{chatId}/messages`: the chat's messages, newest first, as
    WAHA's WAMessage; `filter.fromMe`, `filter.timestamp.gte` (s) and `limit` honoured. NOWEB
    without its store refuses, as the real one does."""
    with state.lock:
        refusal = _refusal(state, session)
        if refusal:
            return refusal
        engine = state.sessions[session]["engine"]
        sent = [dict(m) for m in state.sent if m["session"] == session and m["chatId"] == chat_id]
    if engine == "NOWEB":
        return reply({"statusCode": 400, "message": "Enable NOWEB store 'config.noweb.store.enabled=True' and "
                      "'config.noweb.store.full_sync=True' when starting a new session", "error": "Bad Request"}, 400)
    try:
        limit = int(request.args.get("limit", 100))
        since = float(request.args.get("filter.timestamp.gte", 0))
    except ValueError:
        return bad_request(["limit and filter.timestamp.gte must be numbers"])
    only_mine = request.args.get("filter.fromMe")
    messages = [{"id": m["id"], "timestamp": int(m["timestamp"]), "from": state.sessions[session]["me"]["id"],
                 "fromMe": True, "to": chat_id, "body": m["text"], "hasMedia": False, "ack": 1, "ackName": "SERVER"}
                for m in sent if m["timestamp"] >= since]
    if only_mine == "false":
        messages = []  # the sandbox's chats hold only what we sent
    return reply(sorted(messages, key=lambda m: -m["timestamp"])[:limit])


def _fault(fault, session_name):
    if str(fault) == "463":
        return failure(REACHOUT_TIMELOCK)
    if fault == "422-no-session":
        return no_such_session_422(session_name)
    if fault == "422-core":
        return unprocessable(CORE_ONLY)
    code = int(fault)
    if code == 400:
        return bad_request(["chatId must be a phone number with @c.us (77011234567@c.us) or an @lid id"])
    if code == 401:
        return reply({"message": "Unauthorized", "statusCode": 401}, 401)
    if code == 404:
        return no_session(session_name)
    if code == 422:
        return not_working(session_name, "STARTING")
    return failure("Connection Closed" if code >= 500 else "Request failed", code)


def _sent_body(session, message):
    """The 201 body differs by engine; clients must read the id from whichever is there."""
    chat_id, raw, text = message["chatId"], message["raw_id"], message["text"]
    now, me = int(message["timestamp"]), session["me"]["id"]
    if session["engine"] == "NOWEB":
        digits, _, server = chat_id.partition("@")
        jid = f"{digits}@{'lid' if server == 'lid' else 's.whatsapp.net'}"
        return {"key": {"remoteJid": jid, "fromMe": True, "id": raw},
                "message": {"extendedTextMessage": {"text": text}},
                "messageTimestamp": str(now), "status": "PENDING"}
    if session["engine"] in ("WEBJS", "WPP"):
        return {"id": {"fromMe": True, "remote": chat_id, "id": raw, "_serialized": message["id"]},
                "ack": 0, "hasMedia": False, "body": text, "type": "chat", "timestamp": now,
                "from": me, "to": chat_id, "deviceType": "web", "isForwarded": False,
                "fromMe": True, "_data": {"id": {"_serialized": message["id"]}, "body": text}}
    return {"id": message["id"],
            "_data": {"Info": {"ID": raw, "Chat": chat_id, "Sender": me, "IsFromMe": True,
                               "Timestamp": datetime.fromtimestamp(now, timezone.utc).isoformat()},
                      "Message": {"conversation": text}}}


@endpoint
def check_exists(state, request):
    phone = request.args.get("phone", "").strip()
    if not phone:
        return bad_request(["phone should not be empty"])
    with state.lock:
        refusal = _refusal(state, request.args.get("session", "default"))
        if refusal:
            return refusal
        number = data.international(phone)
        if number in state.not_on_whatsapp or number.endswith("0000"):
            return reply({"numberExists": False})
    return reply({"numberExists": True, "chatId": f"{number}@c.us"})


def _chat_action(name, result):
    @endpoint
    def view(state, request):
        body, problems = _chat_request(request, "session", "chatId")
        if problems:
            return bad_request(problems)
        with state.lock:
            refusal = _refusal(state, body["session"])
            if refusal:
                return refusal
            state.chat_actions.append({"action": name, "chatId": body["chatId"], "session": body["session"],
                                       "timestamp": time.time()})
            return reply(result, 201)
    return view


@endpoint
def lid_to_phone(state, request, session, lid):
    lid = lid if "@" in lid else f"{lid}@lid"
    with state.lock:
        refusal = _refusal(state, session)
        if refusal:
            return refusal
        mode, number = state.lids_mode, state.lids.get(lid)
    if mode == "400":
        return bad_request(["Enable NOWEB store 'config.noweb.store.enabled=True' and "
                            "'config.noweb.store.full_sync=True' when starting a new session"])
    if mode == "404":  # WAHA before 2025.5.4 has no lids endpoint
        return reply({"message": f"Cannot GET /api/{session}/lids/{lid}", "error": "Not Found", "statusCode": 404}, 404)
    if mode == "500":
        return failure("Evaluation failed: TypeError: Cannot read properties of undefined (reading 'getPhoneNumber')")
    if mode == "422" or not re.match(r"^\d{5,20}@lid$", lid):
        return unprocessable("Invalid LID")
    return reply({"lid": lid, "pn": f"{number}@c.us" if number and mode != "pn_null" else None})


@endpoint
def phone_to_lid(state, request, session, phone):
    number = data.international(phone.split("@")[0])
    with state.lock:
        if session not in state.sessions:
            return no_session(session)
        lid = next((lid for lid, pn in state.lids.items() if pn == number), None)
    return reply({"lid": lid, "pn": f"{number}@c.us"})


# --- Sessions: create, configure, start, stop, log out, QR -----------------------------------
def _session_config(body):
    config = body.get("config") if isinstance(body.get("config"), dict) else {}
    hooks = config.get("webhooks")
    if hooks is None:
        return None, []
    if not isinstance(hooks, list) or not all(isinstance(h, dict) and isinstance(h.get("url"), str) for h in hooks):
        return None, ["config.webhooks must be a list of {url, events, hmac, retries}"]
    return hooks, []


def _changed(state, session):
    webhooks.session_status_later(state, dict(session))
    return reply(_session_body(state, session), 201)


@endpoint
def create_session(state, request):
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return bad_request(["body must be a JSON object"])
    name = body.get("name") or "default"
    hooks, problems = _session_config(body)
    if problems or not re.match(r"^[A-Za-z0-9_-]{1,54}$", str(name)):
        return bad_request(problems or ["name must be letters, digits, _ or -"])
    with state.lock:
        if state.waha_tier == "CORE" and name != "default":
            return unprocessable(CORE_ONLY)
        if name in state.sessions:
            return unprocessable(f"Session '{name}' already exists. Use PUT to update it.")
        session = state.set_session(name, "STARTING" if body.get("start", True) else "STOPPED", webhooks=hooks or [])
        session["me"] = None
    return _changed(state, session)


@endpoint
def update_session(state, request, name):
    body = request.get_json(silent=True)
    hooks, problems = _session_config(body if isinstance(body, dict) else {})
    if problems:
        return bad_request(problems)
    with state.lock:
        refusal = _core_or_missing(state, name)
        if refusal:
            return refusal
        session = state.sessions[name]
        if hooks is not None:
            session["webhooks"] = hooks
        return reply(_session_body(state, session))


def _core_or_missing(state, name):
    if state.waha_tier == "CORE" and name != "default":
        return unprocessable(CORE_ONLY)
    return None if name in state.sessions else no_session(name)


def _lifecycle(action):
    @endpoint
    def view(state, request, name):
        with state.lock:
            refusal = _core_or_missing(state, name)
            if refusal:
                return refusal
            session = state.sessions[name]
            if action == "start":
                if session["status"] in ("STOPPED", "FAILED"):
                    session.update(status="STARTING", changed_at=time.time())
                    if not session.get("linked"):
                        session["me"] = None
                    else:
                        session["status"] = "WORKING"  # a linked account reconnects without a QR
            elif action == "stop":
                session.update(status="STOPPED", changed_at=time.time())
            else:  # logout: the account is unlinked; the session starts again, waiting for a scan
                session.update(status="STARTING", changed_at=time.time(), me=None, linked=False)
            session = dict(session)
        return _changed(state, session)
    return view


@endpoint
def auth_qr(state, request, session):
    with state.lock:
        refusal = _core_or_missing(state, session)
        if refusal:
            return refusal
        current = state.session_now(session)
        if current["status"] != "SCAN_QR_CODE":
            return reply({"error": "Session status is not as expected.", "session": session,
                          "status": current["status"], "expected": ["SCAN_QR_CODE"]}, 422)
        state.qr_served += 1
        value = f"2@sandbox{state.qr_served},{session},{int(time.time()) // 20}"  # WhatsApp rotates it
    if request.args.get("format") == "raw":
        return reply({"value": value})
    png = qr_png(value)
    if "application/json" in request.headers.get("Accept", ""):
        return reply({"mimetype": "image/png", "data": base64.b64encode(png).decode()})
    return Response(png, 200, content_type="image/png")


def qr_png(value, scale=6, border=4):
    """A scannable QR code of `value` as a black and white PNG."""
    code = qrcode.QRCode(border=border)
    code.add_data(value)
    matrix = code.get_matrix()
    rows = []
    for line in matrix:
        row = bytes(0 if dark else 255 for dark in line for _ in range(scale))
        rows.extend([b"\x00" + row] * scale)
    size = len(matrix) * scale

    def chunk(kind, payload):
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"".join(rows))) + chunk(b"IEND", b""))


@endpoint
def not_found(state, request, rest=""):
    return reply({"message": f"Cannot {request.method} {request.path[len(PREFIX):]}",
                  "error": "Not Found", "statusCode": 404}, 404)


RULES = [
    Rule(f"{PREFIX}/api/sessions", endpoint=list_sessions, methods=["GET"]),
    Rule(f"{PREFIX}/api/sessions", endpoint=create_session, methods=["POST"]),
    Rule(f"{PREFIX}/api/sessions/<name>", endpoint=get_session, methods=["GET"]),
    Rule(f"{PREFIX}/api/sessions/<name>", endpoint=update_session, methods=["PUT"]),
    Rule(f"{PREFIX}/api/sessions/<name>/start", endpoint=_lifecycle("start"), methods=["POST"]),
    Rule(f"{PREFIX}/api/sessions/<name>/stop", endpoint=_lifecycle("stop"), methods=["POST"]),
    Rule(f"{PREFIX}/api/sessions/<name>/logout", endpoint=_lifecycle("logout"), methods=["POST"]),
    Rule(f"{PREFIX}/api/<session>/auth/qr", endpoint=auth_qr, methods=["GET"]),
    Rule(f"{PREFIX}/api/sendText", endpoint=send_text, methods=["POST"]),
    Rule(f"{PREFIX}/api/sendSeen", endpoint=_chat_action("sendSeen", {}), methods=["POST"]),
    Rule(f"{PREFIX}/api/startTyping", endpoint=_chat_action("startTyping", {"result": True}), methods=["POST"]),
    Rule(f"{PREFIX}/api/stopTyping", endpoint=_chat_action("stopTyping", {"result": True}), methods=["POST"]),
    Rule(f"{PREFIX}/api/contacts/check-exists", endpoint=check_exists, methods=["GET"]),
    Rule(f"{PREFIX}/api/<session>/lids/pn/<phone>", endpoint=phone_to_lid, methods=["GET"]),
    Rule(f"{PREFIX}/api/<session>/lids/<lid>", endpoint=lid_to_phone, methods=["GET"]),
    Rule(f"{PREFIX}/api/<session>/chats/<chat_id>/messages", endpoint=chat_messages, methods=["GET"]),
    Rule(f"{PREFIX}/<path:rest>", endpoint=not_found),
]
