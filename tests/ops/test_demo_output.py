"""`make demo` explains itself: besides each sent message (with who wrote it) it prints the held,
blocked, failed and dry-run ones with why, once per state."""

import importlib.util
from datetime import datetime
from datetime import timezone as dt_timezone
from pathlib import Path

import pytest

from .story_data import seed

pytestmark = pytest.mark.django_db


def demo_module():
    spec = importlib.util.spec_from_file_location("demo", Path(__file__).resolve().parents[2] / "scripts" / "demo.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_demo_prints_held_blocked_failed_and_fallback_rows_as_well_as_sent_ones(capsys):
    seed()
    demo, seen = demo_module(), set()

    demo.print_messages(seen, since=datetime(2026, 1, 1, tzinfo=dt_timezone.utc))
    demo.print_messages(seen, since=datetime(2026, 1, 1, tzinfo=dt_timezone.utc))  # nothing twice

    out = capsys.readouterr().out
    assert ">>> WhatsApp to Айгерим Сейткали (***67), order #496149022, order placed, written by AI" in out
    assert "Айгерим, спасибо за заказ JBL Tune 520BT черный!" in out
    assert "--- held until 09:00 27.11.2026 Almaty: quiet hours · Айгерим Сейткали (***67), order #496149022" in out
    assert "--- blocked: the customer opted out · Нурлан" in out
    assert "--- failed: WhatsApp (WAHA) refused it (HTTP 400) · Данияр" in out
    assert "--- written, not sent: the shop is in dry mode · Асель" in out
    assert out.count("order #496149022, order placed") == 1
    assert "+7701" not in out  # phones masked
