"""Opt-out by reply: keywords in Russian, Kazakh and English, found inside a longer reply too."""

import re

from django.db import IntegrityError, transaction

from .models import OptOut

KEYWORDS = (
    "стоп", "отписаться", "отписка", "отпишите", "не пишите", "больше не пишите", "не присылайте",
    "тоқтат", "тоқтату", "жазбаңыз", "жазба",
    "stop", "unsubscribe", "opt out", "optout",
)
RESUBSCRIBE = ("старт", "start", "подписаться")


def words(text: str) -> str:
    """Lower case, punctuation gone, spacing folded: «Стоп!!» and «  СТОП » read the same."""
    return " " + re.sub(r"\s+", " ", re.sub(r"[^\w\s]", " ", (text or "").lower())).strip() + " "


def opt_out_keyword(text: str) -> str | None:
    normalized = words(text)
    for keyword in KEYWORDS:
        if f" {keyword} " in normalized or (len(keyword) > 5 and f" {keyword}" in normalized):
            return keyword
    return None


def is_resubscribe(text: str) -> bool:
    return words(text).strip() in RESUBSCRIBE


def record_opt_out(phone: str, keyword: str = "", source=OptOut.Source.REPLY, shop=None) -> bool:
    """True when this phone had not opted out before."""
    try:
        with transaction.atomic():
            OptOut.objects.create(phone=phone, keyword=keyword, source=source, shop=shop)
    except IntegrityError:
        return False
    return True
