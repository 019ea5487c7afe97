"""The one place that talks to WAHA (WhatsApp HTTP API)."""

import base64
import functools
import logging
import re
import threading
import time
from dataclasses import dataclass

import requests
from django.conf import settings
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

log = logging.getLogger(__name__)


class WahaError(Exception):
    """WAHA refused or failed. `transient`: try again later. `maybe_sent`: the request
    may have reached WhatsApp, so sending again could duplicate the message."""

    transient = False
    maybe_sent = False
    reason = "waha_error"
    status_code = None  # WAHA's HTTP status, when it answered


class WahaTransientError(WahaError):
    transient = True
    reason = "waha_unavailable"


class WahaMaybeSent(WahaError):
    maybe_sent = True
    reason = "no_answer"


class WahaReachoutTimelock(WahaError):
    """WhatsApp's 463: the account may not start new chats for a while."""

    reason = "reachout_timelock"


@dataclass(frozen=True)
class SentMessage:
    message_id: str
    chat_id: str


def message_id_from(body: dict) -> str:
    """The message id from whichever reply shape the engine gives (GOWS, WEBJS, NOWEB)."""
    ident = body.get("id")
    if isinstance(ident, str) and ident:
        return ident  # GOWS
    if isinstance(ident, dict):
        return ident.get("_serialized") or ident.get("id") or ""  # WEBJS
    key = body.get("key")
    if isinstance(key, dict):
        return key.get("id") or ""  # NOWEB
    return ""


def error_message(response: requests.Response) -> str:
    """The message of WAHA's error body (`exception.message`, else `message`), not the whole
    body: its timestamp may hold any digits."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    if not isinstance(body, dict):
        return ""
    exception = body.get("exception")
    message = exception.get("message") if isinstance(exception, dict) else body.get("message")
    return message if isinstance(message, str) else str(message or "")


def is_reachout_timelock(message: str) -> bool:
    """WhatsApp's error 463: the account may not start new chats for a while."""
    return bool(re.search(r"(?<!\d)463(?!\d)", message)) or "reachout" in message.lower()


# 422s that no retry will fix (WAHA's getWorkingSession and lids checks); any other 422, above
# all "Session status is not as expected" ({error, session, status, expected}), is transient.
PERMANENT_422 = (
    ("does not exist", "waha_no_session"),
    ("support only", "waha_core_default_only"),  # WAHA Core serves only the `default` session
    ("supports only", "waha_core_default_only"),
    ("invalid lid", "waha_invalid_lid"),
)
WEBHOOK_EVENTS = ["message", "message.ack", "session.status"]


def permanent_422_reason(response: requests.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    if not isinstance(body, dict) or "expected" in body:
        return None
    text = " ".join(str(body.get(key) or "") for key in ("error", "message")) + " " + error_message(response)
    return next((reason for phrase, reason in PERMANENT_422 if phrase in text.lower()), None)


def raw_id(message_id: str) -> str:
    """`true_<chat>_<raw>` and `<raw>` name the same message: acks may use either."""
    return message_id.rsplit("_", 1)[-1]


def never_left(exc: requests.RequestException) -> bool:
    """True only when the error proves no byte of the request reached WAHA: the connection was
    refused, the name did not resolve, or connecting timed out. A connection dropped after it
    was made (reset, closed, a truncated answer, a read timeout) proves nothing."""
    if isinstance(exc, (requests.ConnectTimeout, requests.exceptions.SSLError)):
        return True
    if not isinstance(exc, requests.ConnectionError):
        return False
    cause = exc.args[0] if exc.args else None
    reason = getattr(cause, "reason", cause)  # a MaxRetryError carries the real cause as `reason`
    return isinstance(reason, (NewConnectionError, ConnectTimeoutError))


@dataclass(frozen=True)
class ChatMessage:
    message_id: str
    body: str
    timestamp: int  # seconds


@dataclass(frozen=True)
class SessionInfo:
    name: str
    status: str
    phone: str  # the connected number's digits, once WORKING; else ""
    push_name: str


local = threading.local()


def http_session() -> requests.Session:
    """This thread's HTTP session, kept between clients: a message reuses the open connection to
    WAHA instead of connecting anew for each of its calls. It does not read the environment
    itself (`environment` does, once)."""
    if getattr(local, "session", None) is None:
        local.session = requests.Session()
        local.session.trust_env = False
    return local.session


@functools.lru_cache(maxsize=16)
def environment(base_url: str) -> dict:
    """The proxy (HTTP(S)_PROXY, NO_PROXY) and CA bundle (REQUESTS_CA_BUNDLE) settings for WAHA,
    read from the environment once per process: requests would read them again on every request,
    which cost more CPU than the rest of the request."""
    found = requests.Session().merge_environment_settings(base_url, {}, None, None, None)
    return {"proxies": found["proxies"], "verify": found["verify"]}


class WahaClient:
    def __init__(self, session: str | None = None):
        self.base_url = settings.WAHA_URL.rstrip("/")
        self.session_name = session or settings.WAHA_SESSION
        self.http = http_session()
        self.headers = {"X-Api-Key": settings.WAHA_API_KEY, "Accept": "application/json"}
        self.timeout = (5, settings.WAHA_TIMEOUT)

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        try:
            response = self.http.request(method, self.base_url + path, timeout=self.timeout, headers=headers,
                                         **environment(self.base_url), **kwargs)
        except requests.RequestException as exc:
            if never_left(exc):
                raise WahaTransientError(f"{method} {path}: cannot connect") from exc
            if method == "POST":
                # Connected, then no (whole) answer: WAHA may have read the request and sent it.
                raise WahaMaybeSent(f"{method} {path}: {type(exc).__name__} after connecting") from exc
            raise WahaTransientError(f"{method} {path}: {type(exc).__name__}") from exc
        if response.status_code < 400:
            return response
        detail = response.text[:300]
        if response.status_code == 500 and is_reachout_timelock(error_message(response)):
            raise WahaReachoutTimelock(f"{method} {path}: HTTP 500: {detail}")
        permanent = permanent_422_reason(response) if response.status_code == 422 else None
        if not permanent and (response.status_code in (422, 429) or response.status_code >= 500):
            raise WahaTransientError(f"{method} {path}: HTTP {response.status_code}: {detail}")
        error = WahaError(f"{method} {path}: HTTP {response.status_code}: {detail}")
        error.reason = permanent or f"waha_http_{response.status_code}"
        error.status_code = response.status_code
        raise error

    def json(self, response: requests.Response) -> dict:
        try:
            body = response.json()
        except ValueError as exc:
            raise WahaTransientError(f"WAHA answered HTTP {response.status_code} without JSON") from exc
        if not isinstance(body, dict):
            raise WahaTransientError(f"WAHA answered HTTP {response.status_code} with {type(body).__name__}")
        return body

    def send_text(self, chat_id: str, text: str) -> SentMessage:
        # No link preview: WAHA fetches the page before sending, which made sends with a link
        # slow enough to time out (and a timeout leaves the row `unknown`).
        body = {"session": self.session_name, "chatId": chat_id, "text": text, "linkPreview": False}
        response = self.request("POST", "/api/sendText", json=body)
        try:
            message_id = message_id_from(response.json())
        except ValueError:
            message_id = ""  # sent (2xx) but unreadable: keep the send, lose only the id
        return SentMessage(message_id=message_id, chat_id=chat_id)

    def our_recent_messages(self, chat_id: str, since_s: int, limit: int = 50) -> list[ChatMessage]:
        """Our own messages in the chat since `since_s` (WAHA's chat history; NOWEB needs its store).
        Filters are asked of WAHA and applied again here: not every engine honours them."""
        params = {"limit": limit, "downloadMedia": "false", "filter.fromMe": "true", "filter.timestamp.gte": since_s}
        response = self.request("GET", f"/api/{self.session_name}/chats/{chat_id}/messages", params=params)
        try:
            body = response.json()
        except ValueError as exc:
            raise WahaTransientError("WAHA's chat history is not JSON") from exc
        if not isinstance(body, list):
            raise WahaTransientError(f"WAHA's chat history is a {type(body).__name__}, not a list")
        found = []
        for item in body:
            if not isinstance(item, dict) or item.get("fromMe") is False:
                continue
            timestamp = item.get("timestamp")
            timestamp = int(timestamp) if isinstance(timestamp, (int, float)) else since_s
            if timestamp >= since_s:
                found.append(ChatMessage(message_id_from(item), str(item.get("body") or ""), timestamp))
        return found

    def show_typing(self, chat_id: str, seconds: float):
        """Seen, typing for a while, then stop: what a person does before answering."""
        body = {"session": self.session_name, "chatId": chat_id}
        self.request("POST", "/api/sendSeen", json=body)
        self.request("POST", "/api/startTyping", json=body)
        time.sleep(seconds)
        self.request("POST", "/api/stopTyping", json=body)

    def number_exists(self, phone_digits: str) -> bool:
        response = self.request("GET", "/api/contacts/check-exists", params={"phone": phone_digits, "session": self.session_name})
        return bool(self.json(response).get("numberExists"))

    def phone_for_lid(self, lid: str) -> str | None:
        response = self.request("GET", f"/api/{self.session_name}/lids/{lid}")
        pn = self.json(response).get("pn")
        return pn.split("@")[0] if pn else None

    def lid_for_phone(self, phone_digits: str) -> str | None:
        """The reverse lookup (`lids/pn/{phone}`): the customer's @lid, if WAHA knows it."""
        lid = self.json(self.request("GET", f"/api/{self.session_name}/lids/pn/{phone_digits}")).get("lid")
        return lid if isinstance(lid, str) and lid.endswith("@lid") else None

    def session_status(self) -> str:
        response = self.request("GET", f"/api/sessions/{self.session_name}")
        return str(self.json(response).get("status") or "UNKNOWN")

    # --- Session management (admin's "Connect WhatsApp") ---------------------------------
    def session_body(self) -> dict | None:
        """WAHA's own description of the session; None when it has no such session."""
        try:
            return self.json(self.request("GET", f"/api/sessions/{self.session_name}"))
        except WahaError as exc:
            if exc.status_code == 404:
                return None
            raise

    def session_info(self) -> SessionInfo | None:
        """The session's state and connected number; None when WAHA has no such session."""
        body = self.session_body()
        if body is None:
            return None
        me = body.get("me") if isinstance(body.get("me"), dict) else {}
        phone = str(me.get("id") or "").split("@")[0]
        return SessionInfo(self.session_name, str(body.get("status") or "UNKNOWN"), phone if phone.isdigit() else "",
                           str(me.get("pushName") or ""))

    def connect(self, webhook_url: str, hmac_key: str) -> SessionInfo:
        """Create the session with our webhook (URL, events, HMAC key) and start it. An existing
        one keeps the rest of its configuration (engine store, proxy, other webhooks: PUT replaces
        the whole config) with our webhook first, and is started if it was stopped."""
        webhook = {"url": webhook_url, "events": WEBHOOK_EVENTS,
                   "hmac": {"key": hmac_key} if hmac_key else None,
                   "retries": {"policy": "constant", "delaySeconds": 2, "attempts": 15}}
        body = self.session_body()
        if body is None:
            self.request("POST", "/api/sessions",
                         json={"name": self.session_name, "start": True, "config": {"webhooks": [webhook]}})
        else:
            config = body.get("config") if isinstance(body.get("config"), dict) else {}
            others = [hook for hook in config.get("webhooks") or []
                      if isinstance(hook, dict) and hook.get("url") != webhook_url]
            config = {**config, "webhooks": [webhook, *others]}
            self.request("PUT", f"/api/sessions/{self.session_name}", json={"name": self.session_name, "config": config})
            if body.get("status") in ("STOPPED", "FAILED"):
                self.request("POST", f"/api/sessions/{self.session_name}/start")
        return self.session_info() or SessionInfo(self.session_name, "STARTING", "", "")

    def stop(self):
        self.request("POST", f"/api/sessions/{self.session_name}/stop")

    def logout(self):
        """Unlinks the WhatsApp account from the session; a new QR scan is needed after."""
        self.request("POST", f"/api/sessions/{self.session_name}/logout")

    def qr_code(self) -> tuple[str, str]:
        """(mimetype, base64 data) of the QR code to scan, while the status is SCAN_QR_CODE."""
        response = self.request("GET", f"/api/{self.session_name}/auth/qr", params={"format": "image"})
        if response.headers.get("Content-Type", "").startswith("image/"):
            return response.headers["Content-Type"].split(";")[0], base64.b64encode(response.content).decode()
        body = self.json(response)
        return str(body.get("mimetype") or "image/png"), str(body.get("data") or "")
