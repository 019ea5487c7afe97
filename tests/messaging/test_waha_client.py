"""The WAHA client against the sandbox: reply shapes, and which errors mean what."""

import socket

import pytest

from messaging.waha import WahaClient, WahaError, WahaReachoutTimelock, WahaTransientError, is_reachout_timelock

CHAT = "77011234567@c.us"


@pytest.mark.parametrize("engine", ["GOWS", "WEBJS", "NOWEB"])
def test_the_message_id_is_read_from_every_engines_reply(sandbox, engine):
    sandbox.control("waha/sessions", name="default", engine=engine)
    sent = WahaClient().send_text(CHAT, "Спасибо!")
    assert sent.message_id and sent.message_id.endswith(sandbox.sent(CHAT)[0]["raw_id"])


@pytest.mark.parametrize("fault, error, reason", [
    (500, WahaTransientError, "waha_unavailable"),
    (422, WahaTransientError, "waha_unavailable"),
    ("463", WahaReachoutTimelock, "reachout_timelock"),
    (400, WahaError, "waha_http_400"),
    (404, WahaError, "waha_http_404"),
])
def test_each_error_is_classified(sandbox, fault, error, reason):
    sandbox.control("waha/faults", responses=[fault])
    with pytest.raises(error) as raised:
        WahaClient().send_text(CHAT, "Спасибо!")
    assert raised.value.reason == reason
    assert raised.value.transient == (fault in (500, 422))


def test_a_wrong_api_key_is_a_permanent_error(sandbox, settings):
    settings.WAHA_API_KEY = "wrong"
    with pytest.raises(WahaError) as raised:
        WahaClient().send_text(CHAT, "Спасибо!")
    assert (raised.value.reason, raised.value.transient) == ("waha_http_401", False)
    assert sandbox.sent() == []


@pytest.mark.parametrize("message, timelock", [
    ("Failed to send message: server returned error 463", True),
    ("reachout timelock: this account cannot message new contacts for now", True),
    ("Connection Closed", False),
    ("Request failed after 14632 ms", False),
])
def test_only_whatsapps_463_is_a_reachout_timelock(message, timelock):
    assert is_reachout_timelock(message) == timelock


@pytest.fixture
def proxy_environment(monkeypatch):
    """HTTP_PROXY and NO_PROXY as an operator sets them; the client reads them afresh here."""
    from messaging import waha

    def use(**variables):
        for name in ("HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy"):
            monkeypatch.delenv(name, raising=False)
        for name, value in variables.items():
            monkeypatch.setenv(name, value)
        waha.environment.cache_clear()

    yield use
    waha.environment.cache_clear()


def test_the_proxy_from_the_environment_is_used_for_waha(sandbox, proxy_environment):
    with socket.socket() as closed:  # a port nothing listens on: the proxy is down
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    proxy_environment(HTTP_PROXY=f"http://127.0.0.1:{port}")
    with pytest.raises(WahaTransientError):
        WahaClient().number_exists("77011234567")
    proxy_environment(HTTP_PROXY=f"http://127.0.0.1:{port}", NO_PROXY="127.0.0.1,localhost")
    assert WahaClient().number_exists("77011234567") is True
