"""The WAHA client against the sandbox: reply shapes, and which errors mean what."""

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
