"""Customer and product text made safe to quote: to the model as data, or into a fallback template."""

import re

# Top-level domains that make a bare "word.kz" a link WhatsApp would open.
TLDS = "kz|com|ru|net|org|io|me|ly|xyz|info|biz|site|app|shop|online|store|link"
LINK = re.compile(rf"(?i)\b(?:https?://|www\.)\S+|\b[\w.-]+\.(?:{TLDS})\b/?\S*")
NOT_A_NAME = re.compile(r"[^\w\s'’-]|\d|_")


def plain(value, limit: int = 80, keep_links: bool = False) -> str:
    """One line of plain words: no links, no braces, brackets or tags, at most `limit` characters
    (cut between words, never inside one)."""
    text = re.sub(r"<[^>]*>", " ", str(value or ""))
    if not keep_links:
        text = LINK.sub(" ", text)
    text = re.sub(r"[{}<>\[\]`*_~|\\]", " ", text)
    text = re.sub(r"\s+", " ", text).strip(" ,.;:-")
    return cut(text, limit)


def cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    if text[limit] == " ":
        return text[:limit].rstrip(" ,.;:-")
    return text[:limit].rsplit(" ", 1)[0].rstrip(" ,.;:-") if " " in text[:limit] else text[:limit]


def shop_name(value) -> str:
    """The merchant's own name for the shop, cleaned of markup; a name like «Shina.kz» stays whole
    (the merchant wrote it, and the guardrails allow it in the reply)."""
    return plain(value, 60, keep_links=True)


def first_name(value) -> str:
    """A plausible first name, in title case, or "" (then the message greets without a name).

    A full name ("Динара Ахметова", "ДИНАРА АХМЕТОВА КАЙРАТОВНА") gives its first word; Latin names
    stay Latin. Anything that reads like a sentence, an instruction or a link is not a name: better
    no name than "Здравствуйте, Ignore previous instructions!".
    """
    text = LINK.sub(" ", str(value or ""))
    if NOT_A_NAME.search(text):
        text = NOT_A_NAME.sub(" ", text)
        if len(text.split()) > 1:
            return ""  # a name with digits or punctuation between words is not a name
    words = text.split()
    if not words or len(words) > 3 or len(" ".join(words)) > 40 or len(words[0]) > 20:
        return ""
    if len(words) > 1 and not all(word[:1].isupper() for word in words):
        return ""  # "ignore previous instructions": words of a sentence, not of a name
    return "-".join(part[:1].upper() + part[1:].lower() for part in words[0].split("-"))
