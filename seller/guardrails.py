"""Checks on every model reply before it may be sent in the shop's name."""

import re

MAX_LENGTH = 600
URL = re.compile(r"(?i)\b(?:https?://|www\.)[^\s<>\"')]+|\b[a-z0-9.-]+\.(?:kz|com|ru|net|org|io|me|ly)/\S*")
PHONE = re.compile(r"(?:\+?\d[\s\-()]*){10,}")
PLACEHOLDER = re.compile(r"\{[^}]*\}|\[[A-Z_ ]+\]|<[^>]+>")
MARKUP = re.compile(r"\*\*|__|```|^#+\s", re.MULTILINE)
CYRILLIC = re.compile(r"[а-яёәіңғүұқөһ]", re.IGNORECASE)
LATIN = re.compile(r"[a-z]", re.IGNORECASE)


def problems(text: str, data: dict) -> list[str]:
    """What is wrong with `text` given the data the model saw; empty when it may be sent."""
    text = (text or "").strip()
    if not text:
        return ["empty"]
    found = []
    if len(text) > MAX_LENGTH:
        found.append("too_long")
    allowed = {link for link in allowed_links(data)}
    for link in URL.findall(text):
        if link.rstrip(".,!?;:") not in allowed:
            found.append("link")
            break
    if PHONE.search(URL.sub("", text)):
        found.append("phone")
    if PLACEHOLDER.search(text):
        found.append("placeholder")
    if MARKUP.search(text):
        found.append("markup")
    words = URL.sub("", text)
    if data.get("language", "ru") in ("ru", "kk") and len(LATIN.findall(words)) > len(CYRILLIC.findall(words)):
        found.append("language")
    return found


def allowed_links(data: dict) -> list[str]:
    links = [item["url"] for item in data.get("recommendations", [])]
    if data.get("review_link"):
        links.append(data["review_link"])
    return links
