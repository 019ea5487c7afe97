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


@pytest.mark.parametrize(
    "raw",
    ["7011234567", "+7 701 123 4567", "8(701)1234567", "+7-701-123-45-67", "8 (701) 123-45-67", "+7 (701) 123 45 67",
     "7 701 123 45 67", "\u202a+7 701 123 45 67\u202c"],
)
def test_every_other_usual_format_reads_the_same(raw):
    assert normalize_phone(raw) == "+77011234567"


@pytest.mark.parametrize("raw", ["87272123456", "+7 727 212 34 56", "+380501234567", "+1 202 555 0143", "7011234"])
def test_landlines_and_foreign_numbers_are_not_kazakhstan_mobiles(raw):
    assert normalize_phone(raw) is None


@pytest.mark.parametrize("raw", ["7272123456", "+74951234567", "123"])
def test_a_message_to_a_number_that_is_no_kazakhstan_mobile_is_blocked(make_message, raw):
    from seller import eligibility

    message = make_message(phone=raw)
    assert not eligibility.check_message(message.pk)
    message.refresh_from_db()
    assert (message.status, message.reason) == ("blocked", "invalid_phone")
