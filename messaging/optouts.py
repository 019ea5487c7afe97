"""Opt-outs: by reply (keywords in Russian, Kazakh and English, found inside a longer reply
too), by an operator, or from a CSV file. Phones are stored as E.164."""

import csv
import io
import re
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.utils import timezone

from .models import LidOptOut, OptOut
from .phones import normalize_phone

# Whole words or phrases; those marked with a trailing "*" also match longer word forms
# («тоқтат*»: тоқтату, тоқтатыңыз; «отпис*»: отписаться, отпишите, отписка).
KEYWORDS = (
    "стоп", "stop", "отпис*", "не пиши*", "не присылай*", "не надо писать", "хватит писать",
    "тоқтат*", "токтат*", "жазбаңыз", "жазбаныз", "жазба", "жібермеңіз",
    "unsubscribe", "opt out", "optout",
)
RESUBSCRIBE = ("старт", "start", "подписаться", "бастау")


def confirmation(shop_name: str = "") -> str:
    """The one reply to an opt-out, in Russian and Kazakh: whose messages stop, and how to
    undo it (СТАРТ is one of RESUBSCRIBE). Without a shop (no message of ours was answered)
    it speaks for "our" messages."""
    if shop_name:
        ru, kk = f"сообщений магазина «{shop_name}»", f"«{shop_name}» дүкенінің хабарламаларынан"
    else:
        ru, kk = "наших сообщений", "біздің хабарламаларымыздан"
    return (f"Вы отписались от {ru}; чтобы снова получать их, напишите СТАРТ.\n"
            f"Сіз {kk} бас тарттыңыз; қайта алу үшін СТАРТ деп жазыңыз.")


def words(text: str) -> str:
    """Lower case, punctuation gone, spacing folded: «Стоп!!» and «  СТОП » read the same."""
    text = (text or "").lower().replace("ё", "е")
    return " " + re.sub(r"\s+", " ", re.sub(r"[^\w\s]|_", " ", text)).strip() + " "


def opt_out_keyword(text: str) -> str | None:
    normalized = words(text)
    for keyword in KEYWORDS:
        stem = keyword.rstrip("*")
        if f" {stem} " in normalized or (keyword.endswith("*") and f" {stem}" in normalized):
            return stem
    return None


def is_resubscribe(text: str) -> bool:
    return words(text).strip() in RESUBSCRIBE


def record_opt_out(phone: str, keyword: str = "", source=OptOut.Source.REPLY, shop=None) -> bool:
    """True when this phone had not opted out before."""
    try:
        with transaction.atomic():
            OptOut.objects.create(phone=phone, keyword=keyword[:100], source=source, shop=shop)
    except IntegrityError:
        return False
    return True


def hold_for_lid(lid: str, session: str, keyword: str) -> bool:
    """An opt-out from a sender WAHA names only by an @lid: kept against the lid until its phone
    is known. True when this lid had not opted out before."""
    _, created = LidOptOut.objects.get_or_create(lid=lid, defaults={"session": session, "keyword": keyword[:100]})
    return created


def lid_mapped(lid: str, phone: str) -> int:
    """The phone behind a lid is known: an opt-out held against the lid now blocks the phone.
    Returns how many held opt-outs this applied."""
    applied = 0
    for held in LidOptOut.objects.filter(lid=lid, mapped_at__isnull=True):
        with transaction.atomic():
            if LidOptOut.objects.filter(pk=held.pk, mapped_at__isnull=True).update(phone=phone, mapped_at=timezone.now()):
                record_opt_out(phone, held.keyword or "lid")
                applied += 1
    return applied


def resubscribe(phone: str) -> bool:
    """«старт» undoes an opt-out the customer made by reply; one an operator made stays."""
    return OptOut.objects.filter(phone=phone, source=OptOut.Source.REPLY).delete()[0] > 0


@dataclass
class ImportResult:
    added: int = 0
    existing: int = 0
    refused: list = field(default_factory=list)  # (line number, what was there)


def import_csv(text: str, shop=None) -> ImportResult:
    """One phone per line, in the first column, in any usual format; a header line is fine.
    Lines that hold no valid Kazakhstan mobile are reported, not guessed."""
    result = ImportResult()
    for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        cell = row[0].strip() if row else ""
        if not cell or (number == 1 and not any(ch.isdigit() for ch in cell)):
            continue  # blank line or header
        phone = normalize_phone(cell)
        if phone is None:
            result.refused.append((number, cell[:40]))
        elif record_opt_out(phone, source=OptOut.Source.IMPORT, shop=shop):
            result.added += 1
        else:
            result.existing += 1
    return result


def export_csv(opt_outs) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["phone", "source", "keyword", "shop", "created_at"])
    for opt_out in opt_outs.select_related("shop"):
        writer.writerow([opt_out.phone, opt_out.source, opt_out.keyword, opt_out.shop or "", opt_out.created_at.isoformat()])
    return out.getvalue()
