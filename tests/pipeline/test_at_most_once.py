"""Once a row is `sending`, only an error that proves nothing reached WAHA returns it to
`generated`; anything after the connection was made means "maybe sent": `unknown`, settled from
WAHA's chat history, never resent blindly."""

import socket
import threading
from datetime import timedelta

import pytest
from django.utils import timezone

from messaging.models import OutboundMessage
from messaging.waha import WahaClient, WahaMaybeSent, WahaTransientError
from seller import reconciler, sending

from .conftest import CHAT, TEXT

Status = OutboundMessage.Status


class ReadsThenHangsUp:
    """A server that reads the whole request and closes the connection without answering."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.requests = []
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            data = conn.recv(65536)
            self.requests.append(data)
            conn.close()

    def close(self):
        self.sock.close()


def closed_port() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.fixture
def hangs_up(settings):
    server = ReadsThenHangsUp()
    settings.WAHA_URL = server.url
    yield server
    server.close()


def test_a_refused_connection_proves_nothing_left(settings):
    settings.WAHA_URL = closed_port()
    with pytest.raises(WahaTransientError) as caught:
        WahaClient().send_text(CHAT, TEXT)
    assert not caught.value.maybe_sent


def test_a_connection_dropped_after_the_request_was_read_may_have_sent(hangs_up):
    with pytest.raises(WahaMaybeSent):
        WahaClient().send_text(CHAT, TEXT)
    assert b"/api/sendText" in hangs_up.requests[0]


def test_a_read_dropped_the_same_way_is_only_transient(hangs_up):
    with pytest.raises(WahaTransientError):
        WahaClient().session_status()


def test_waha_dropping_the_connection_after_sending_never_sends_twice(db, sandbox, written, settings):
    settings.SELLER_UNKNOWN_GRACE_MINUTES = 0
    sandbox.control("waha/faults", responses=["drop"])
    message = written()

    sending.send_message(message.pk)
    assert OutboundMessage.objects.get(pk=message.pk).status == Status.UNKNOWN
    assert len(sandbox.sent(CHAT)) == 1

    reconciler.reconcile()

    row = OutboundMessage.objects.get(pk=message.pk)
    assert row.status == Status.SENT and row.waha_message_id == sandbox.sent(CHAT)[0]["id"]
    assert len(sandbox.sent(CHAT)) == 1
    assert row.events.last().note == "found in WAHA's chat history"


def test_an_unknown_row_missing_from_the_chat_is_sent_once_more_after_the_grace_period(db, sandbox, written,
                                                                                      settings):
    settings.SELLER_UNKNOWN_GRACE_MINUTES = 10
    message = written()
    OutboundMessage.objects.filter(pk=message.pk).update(status=Status.UNKNOWN)  # the request never got there

    assert sending.resolve_unknown(message.pk) == "waiting"
    later = timezone.now() + timedelta(minutes=11)
    assert sending.resolve_unknown(message.pk, now=later) == "retry"
    sending.send_message(message.pk)

    row = OutboundMessage.objects.get(pk=message.pk)
    assert row.status == Status.SENT and [m["text"] for m in sandbox.sent(CHAT)] == [TEXT]
    assert "not in WAHA's chat history: sent once more" in row.events.values_list("note", flat=True)


def test_an_unknown_row_stays_unknown_while_waha_cannot_be_asked(db, sandbox, written, settings):
    settings.SELLER_UNKNOWN_GRACE_MINUTES = 0
    message = written()
    OutboundMessage.objects.filter(pk=message.pk).update(status=Status.UNKNOWN)
    settings.WAHA_URL = closed_port()

    assert sending.resolve_unknown(message.pk, now=timezone.now() + timedelta(hours=1)) == "unreachable"

    row = OutboundMessage.objects.get(pk=message.pk)
    assert row.status == Status.UNKNOWN and row.last_error.startswith("resolving:")


def test_noweb_without_its_store_cannot_tell_so_the_row_stays_unknown(db, sandbox, written, settings):
    settings.SELLER_UNKNOWN_GRACE_MINUTES = 0
    sandbox.control("waha/sessions", name="default", status="WORKING", engine="NOWEB")
    message = written()
    OutboundMessage.objects.filter(pk=message.pk).update(status=Status.UNKNOWN)

    assert sending.resolve_unknown(message.pk, now=timezone.now() + timedelta(hours=1)) == "unreachable"
    assert sandbox.sent(CHAT) == []


def test_a_row_left_sending_by_a_lost_worker_becomes_unknown_then_settles(db, sandbox, written, settings):
    settings.SELLER_UNKNOWN_GRACE_MINUTES = 0
    message = written()
    sending.send_message(message.pk)  # really sent; then pretend the worker died before recording it
    OutboundMessage.objects.filter(pk=message.pk).update(status=Status.SENDING, waha_message_id="",
                                                         updated_at=timezone.now() - timedelta(minutes=5))

    done = reconciler.reconcile()

    row = OutboundMessage.objects.get(pk=message.pk)
    assert done["sending_to_unknown"] == 1 and row.status == Status.SENT and row.waha_message_id
    assert len(sandbox.sent(CHAT)) == 1
