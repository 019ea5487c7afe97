"""How well the reply classifier sorts customers' replies: the corpus in bench/replies.tsv
(Russian, Kazakh, mixed, with typos), each line also lower-cased without punctuation and with
one typo more, through the keyword pass alone and through the keyword pass plus the model.

The model is the sandbox's stand-in unless OPENAI_BASE_URL / OPENAI_API_KEY / OPENAI_MODEL
point at a real one (--real): the stand-in's figures measure our code and the prompt's shapes,
a real model's figures measure the model.

    python bench/classifier.py [--real]     -> bench/results/classifier.json
"""

import argparse
import json
import os
import random
import re
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402

from seller.conversations import classifier  # noqa: E402

CORPUS = ROOT / "bench" / "replies.tsv"
HOLDOUT = ROOT / "bench" / "replies_holdout.tsv"  # written after tuning, never tuned on
RESULT = ROOT / "bench" / "results" / "classifier.json"
TARGETS = {"opt_out_recall": 0.98, "complaint_recall": 0.98, "accuracy": 0.90}


def corpus(path: Path) -> list[tuple[str, str]]:
    base = [line.split("\t", 1) for line in path.read_text().splitlines() if line and not line.startswith("#")]
    rng = random.Random(14)
    seen, lines = set(), []
    for label, text in base:
        for variant in (text, plain(text), typo(text, rng)):
            if (label, variant) not in seen:
                seen.add((label, variant))
                lines.append((label, variant))
    return lines


def plain(text: str) -> str:
    """How many people type: lower case, no punctuation."""
    return re.sub(r"\s+", " ", re.sub(r"[^\w\s]", " ", text.lower())).strip() or text


def typo(text: str, rng: random.Random) -> str:
    """One more slip in one longer word: two letters swapped, or one dropped."""
    words = text.split()
    long = [i for i, word in enumerate(words) if len(word) >= 5 and word.isalpha()]
    if not long:
        return text
    i = rng.choice(long)
    word, at = words[i], rng.randrange(1, len(words[i]) - 2)
    words[i] = word[:at] + word[at + 1] + word[at] + word[at + 2:] if rng.random() < 0.5 else word[:at] + word[at + 1:]
    return " ".join(words)


def evaluate(lines, use_model: bool) -> dict:
    per_class, predicted, wrong = defaultdict(Counter), Counter(), []
    started = time.monotonic()
    for label, text in lines:
        got = classifier.classify(text, use_model=use_model).label
        per_class[label]["n"] += 1
        per_class[label]["correct"] += got == label
        predicted[got] += 1
        if got != label:
            wrong.append({"text": text, "expected": label, "got": got})
    correct = sum(c["correct"] for c in per_class.values())
    classes = {label: {"n": c["n"], "recall": round(c["correct"] / c["n"], 4),
                       "precision": round(c["correct"] / predicted[label], 4) if predicted[label] else None}
               for label, c in sorted(per_class.items())}
    return {"accuracy": round(correct / len(lines), 4), "classes": classes,
            "ms_per_reply": round((time.monotonic() - started) * 1000 / len(lines), 1),
            "meets_targets": classes["opt_out"]["recall"] >= TARGETS["opt_out_recall"]
            and classes["complaint"]["recall"] >= TARGETS["complaint_recall"]
            and correct / len(lines) >= TARGETS["accuracy"],
            "misclassified": wrong}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real", action="store_true", help="the model in OPENAI_* instead of the sandbox's stand-in")
    args = parser.parse_args()
    server = None
    if not args.real:
        from sandbox.server import start

        server = start()
        settings.OPENAI_BASE_URL, settings.OPENAI_API_KEY = server.openai_url, "sandbox"
    lines, held_out = corpus(CORPUS), corpus(HOLDOUT)
    result = {"corpus": {"lines": len(lines), "by_class": dict(Counter(label for label, _ in lines))},
              "held_out": {"lines": len(held_out), "by_class": dict(Counter(label for label, _ in held_out))},
              "targets": TARGETS, "model": "real: " + settings.OPENAI_MODEL if args.real else "sandbox stand-in",
              "keywords_only": evaluate(lines, use_model=False),
              "keywords_and_model": evaluate(lines, use_model=True),
              "held_out_keywords_and_model": evaluate(held_out, use_model=True)}
    if server:
        server.stop()
    RESULT.parent.mkdir(exist_ok=True)
    RESULT.write_text(json.dumps(result, ensure_ascii=False, indent=1))
    for name in ("keywords_only", "keywords_and_model", "held_out_keywords_and_model"):
        run = result[name]
        recalls = ", ".join(f"{label} {c['recall']:.0%}" for label, c in run["classes"].items())
        print(f"{name}: accuracy {run['accuracy']:.1%} ({recalls}); targets met: {run['meets_targets']}")
    print(f"{len(lines)} replies (+{len(held_out)} held out); written to {RESULT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
