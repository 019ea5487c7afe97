"""Customer and product text made safe to quote: to the model as data, or into a fallback template."""

import re

# Top-level domains that make a bare "word.kz" a link WhatsApp would open.
TLDS = "kz|com|ru|net|org|io|me|ly|xyz|info|biz|site|app|shop|online|store|link"
LINK = re.compile(rf"(?i)\b(?:https?://|www\.)\S+|\b[\w.-]+\.(?:{TLDS})\b/?\S*")
NOT_A_NAME = re.compile(r"[^\w\s'’-]|\d|_")


def plain(value, limit: int = 80) -> str:
    """One line of plain words: no links, no braces, brackets or tags, at most `limit` characters
    (cut at a word boundary)."""
    text = LINK.sub(" ", re.sub(r"<[^>]*>", " ", str(value or "")))
    text = re.sub(r"[{}<>\[\]`*_~|\\]", " ", text)
    text = re.sub(r"\s+", " ", text).strip(" ,.;:-")
    if len(text) > limit:
        text = text[:limit].rsplit(" ", 1)[0].rstrip(" ,.;:-")
    return text


def first_name(value) -> str:
    """A plausible first name, or "" (then the message greets without a name).

    Anything that reads like a sentence, an instruction or a link is not a name: better no name
    than "Здравствуйте, Ignore previous instructions!".
    """
    text = LINK.sub(" ", str(value or ""))
    if NOT_A_NAME.search(text):
        text = NOT_A_NAME.sub(" ", text)
        if len(text.split()) > 1:
            return ""  # a name with digits or punctuation between words is not a name
    words = text.split()
    if not words or len(words) > 2 or len(" ".join(words)) > 30:
        return ""
    return " ".join(word[:1].upper() + word[1:] for word in words)
