"""Customer phones: whatever Kaspi or a person typed, as E.164, or None."""

import functools

import phonenumbers


@functools.lru_cache(maxsize=4096)  # asked several times per message: phonenumbers' parse is slow
def normalize_phone(raw: str | None) -> str | None:
    """A valid Kazakhstan mobile number as E.164 (+77011234567), else None.

    Kaspi gives ten digits without the country code (7011234567); people also write
    +7, 8 or 7 first, with spaces, brackets and dashes.
    """
    digits = "".join(ch for ch in str(raw or "") if ch.isdigit())
    if len(digits) == 11 and digits[0] in "78":
        digits = digits[1:]
    if len(digits) != 10:
        return None
    try:
        number = phonenumbers.parse("+7" + digits)
    except phonenumbers.NumberParseException:
        return None
    if phonenumbers.region_code_for_number(number) != "KZ" or not phonenumbers.is_valid_number(number):
        return None
    if phonenumbers.number_type(number) != phonenumbers.PhoneNumberType.MOBILE:
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def chat_id(e164: str) -> str:
    """WAHA's chat id for a person: international digits, no plus, then @c.us."""
    return e164.lstrip("+") + "@c.us"


def mask(e164: str | None) -> str:
    """For logs and admin lists: never the whole number."""
    return f"***{e164[-2:]}" if e164 else ""
