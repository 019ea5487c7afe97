"""`python bench/voice.py --corpus FILE.jsonl`: a merchant's own replies through the real checks."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA = {"trigger": "POST_PURCHASE", "language": "ru", "shop_name": "Moda Line", "customer_first_name": "Динара",
        "order_code": "1", "items": [{"name": "Платье Zarina миди 44", "quantity": 1, "category": "Платья"}],
        "recommendations": [], "delivery": "Заказ привезёт курьер магазина по вашему адресу."}
VOICE = "Обмен размера бесплатный в течение 14 дней."


def run(tmp_path, lines):
    corpus = tmp_path / "mine.jsonl"
    corpus.write_text("\n".join(json.dumps(line, ensure_ascii=False) for line in lines) + "\n", encoding="utf-8")
    return subprocess.run([sys.executable, "bench/voice.py", "--corpus", str(corpus)], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)


def test_it_prints_the_shares_per_category_and_a_json_summary_last(tmp_path):
    good = "Динара, спасибо! Платье Zarina уже в пути 💃 Обмен размера бесплатный в течение 14 дней."
    lines = [
        {"data": DATA, "voice": VOICE, "reply": good, "expect": "send", "category": "mine"},
        {"data": DATA, "voice": VOICE, "reply": good + " Доставка бесплатная.", "expect": "send", "category": "mine"},
        {"data": DATA, "voice": VOICE, "reply": "Скидка 10% на всё!", "expect": "catch", "category": "discount"},
    ]

    done = run(tmp_path, lines)

    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["sent_share"] == 0.5 and summary["caught_share"] == 1.0
    assert summary["sent_share_by_category"] == {"mine": 0.5}
    assert summary["caught_share_by_category"] == {"discount": 1.0}
    assert summary["refusal_reasons"] == {"POST_PURCHASE ru": {"promise": 1}} and not summary["targets_met"]
    assert "refused for: promise 1" in done.stdout


def test_a_line_that_is_not_a_corpus_line_is_a_clear_error(tmp_path):
    done = run(tmp_path, [{"reply": "Здравствуйте!", "expect": "maybe"}])

    assert done.returncode != 0 and "mine.jsonl:1: not a corpus line" in done.stderr
