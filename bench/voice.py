"""Evaluation of the seller's voice: model replies run through the real post-processing and
guardrails, as the generation step does.

    python bench/voice.py                      (or: make eval) the project's corpora
    python bench/voice.py --corpus FILE.jsonl  any corpus, e.g. a merchant's own replies

One JSON object a line: {"data": <the prompt's data block>, "voice": "<the shop's voice>",
"reply": "<the model's text>", "expect": "send" | "catch", "category": "<free text>"}.
Prints, per trigger and language, the share of `send` replies sent as written and the reasons for
the rest; per category the share of `catch` replies caught; a JSON summary last. Run on the
project's own corpora it also writes bench/results/voice.json. No database is needed.
"""

import argparse
import json
import os
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("SECRET_KEY", "bench-only-secret")
os.environ.setdefault("FIELD_ENCRYPTION_KEY", "Zq3mJ2l3oWcD6bq0y1o0e9V8rY3bHq2hYw5x9m8kQ2c=")

CORPORA = [ROOT / "bench" / "corpora" / "realistic.jsonl", ROOT / "bench" / "corpora" / "redteam.jsonl"]
RESULTS = ROOT / "bench" / "results" / "voice.json"
TARGETS = {"sent_share": 0.95, "caught_share": 1.0}


def read(paths):
    lines = []
    for path in paths:
        with open(path, encoding="utf-8") as source:
            for number, raw in enumerate(source, 1):
                if not raw.strip():
                    continue
                try:
                    line = json.loads(raw)
                    assert isinstance(line["data"], dict) and isinstance(line["reply"], str)
                    assert line["expect"] in ("send", "catch")
                except (ValueError, KeyError, TypeError, AssertionError):
                    sys.exit(f"{path}:{number}: not a corpus line: needs data (object), reply (text), "
                             'expect ("send" or "catch"), optional voice and category')
                lines.append(line)
    return lines


def share(part, whole):
    return round(part / whole, 4) if whole else None


def evaluate(lines):
    from seller import generation

    sent = defaultdict(lambda: [0, 0])  # trigger and language -> [sent as written, all]
    sent_by_category = defaultdict(lambda: [0, 0])
    reasons = defaultdict(Counter)
    caught = defaultdict(lambda: [0, 0])
    missed = []
    for line in lines:
        data, voice = line["data"], line.get("voice") or ""
        _, found = generation.checked(line["reply"], data, voice)
        if line["expect"] == "send":
            group = f"{data.get('trigger', '?')} {data.get('language', '?')}"
            sent[group][1] += 1
            sent[group][0] += not found
            reasons[group].update(found)
            category = sent_by_category[line.get("category") or "uncategorised"]
            category[0] += not found
            category[1] += 1
        else:
            group = line.get("category") or "uncategorised"
            caught[group][1] += 1
            caught[group][0] += bool(found)
            if not found:
                missed.append(line["reply"])
    return sent, sent_by_category, reasons, caught, missed


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", action="append", help="a JSON-lines corpus (repeatable); default: the project's")
    parser.add_argument("--show-missed", action="store_true", help="print the bad replies that were not caught")
    args = parser.parse_args()
    import django

    django.setup()
    lines = read(args.corpus or CORPORA)
    sent, sent_by_category, reasons, caught, missed = evaluate(lines)
    print("Sent as written (realistic replies), by trigger and language:")
    for group, (ok, total) in sorted(sent.items()):
        rest = ", ".join(f"{reason} {count}" for reason, count in reasons[group].most_common()) or "-"
        print(f"  {group:<22} {ok:>4}/{total:<4} {share(ok, total):>7.1%}   refused for: {rest}")
    print("Caught (bad replies), by category:")
    for group, (ok, total) in sorted(caught.items()):
        print(f"  {group:<22} {ok:>4}/{total:<4} {share(ok, total):>7.1%}")
    if args.show_missed:
        for text in missed:
            print("  missed:", text.replace("\n", " / "))
    sent_total = [sum(v[i] for v in sent.values()) for i in (0, 1)]
    caught_total = [sum(v[i] for v in caught.values()) for i in (0, 1)]
    summary = {
        "send_lines": sent_total[1], "catch_lines": caught_total[1],
        "sent_share": share(*sent_total), "caught_share": share(*caught_total),
        "sent_share_by_category": {g: share(*v) for g, v in sorted(sent_by_category.items())},
        "sent_share_by_trigger_language": {g: share(*v) for g, v in sorted(sent.items())},
        "refusal_reasons": {g: dict(c.most_common()) for g, c in sorted(reasons.items())},
        "caught_share_by_category": {g: share(*v) for g, v in sorted(caught.items())},
        "targets": TARGETS,
    }
    summary["targets_met"] = ((summary["sent_share"] or 0) >= TARGETS["sent_share"] or not sent_total[1]) and (
        (summary["caught_share"] or 0) >= TARGETS["caught_share"] or not caught_total[1])
    if not args.corpus:
        RESULTS.write_text(json.dumps(summary, ensure_ascii=False, indent=2) + "\n")
    print(json.dumps(summary, ensure_ascii=False))


if __name__ == "__main__":
    main()
