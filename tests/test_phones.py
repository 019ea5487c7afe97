import pytest

from messaging.phones import chat_id, normalize_phone


@pytest.mark.parametrize(
    "raw",
    ["7011234567", "+77011234567", "87011234567", "77011234567", "+7 (701) 123-45-67", "8 701 123 45 67", " 701-123-4567 "],
)
def test_it_reads_every_way_a_kazakhstan_mobile_is_written(raw):
    assert normalize_phone(raw) == "+77011234567"


@pytest.mark.parametrize("raw", ["", None, "123", "7272123456", "+74951234567", "70112345678901", "abcdefghij"])
def test_it_refuses_what_is_not_a_kazakhstan_mobile(raw):
    assert normalize_phone(raw) is None


def test_the_chat_id_is_digits_at_c_us():
    assert chat_id("+77011234567") == "77011234567@c.us"
