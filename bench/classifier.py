"""How well the reply classifier sorts customers' replies: each corpus (Russian, Kazakh, mixed,
with typos; `label<TAB>reply` lines, `#` comments), each line also lower-cased without punctuation
and with one typo more, through the rule pass alone and through the rule pass plus the model.

The model is the sandbox's stand-in unless OPENAI_BASE_URL / OPENAI_API_KEY / OPENAI_MODEL
point at a real one (--real): the stand-in's figures measure our code and the prompt's shapes,
a real model's figures measure the model. The rule pass alone is what answers when the model
is down, and what decides opt-outs, complaints and requests for a person in any case.

    python bench/classifier.py [--real] [--corpus PATH ...] [--out PATH]   -> bench/results/classifier.json

BENCH_APP_DIR: another checkout's code to measure (e.g. main, for "before"); the corpora are
always this checkout's.

bench/replies.tsv, bench/replies_holdout.tsv and bench/replies_fresh.tsv are always run; all have
been tuned on (the second was held out until issue #14's rule pass was written, the third until
the pass after it), so --corpus adds a set that was not.
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
APP = Path(os.environ.get("BENCH_APP_DIR", ROOT)).resolve()
CALLED_FROM = Path.cwd()
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(APP))
os.chdir(APP)  # Celery's Django fix-up puts the working directory first on sys.path
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402

from seller.conversations import classifier  # noqa: E402

CORPORA = [ROOT / "bench" / name for name in ("replies.tsv", "replies_holdout.tsv", "replies_fresh.tsv")]
RESULT = ROOT / "bench" / "results" / "classifier.json"
TARGETS = {"opt_out_recall": 0.98, "complaint_recall": 0.98, "accuracy": 0.90}
SAFETY = ("opt_out", "complaint")


def corpus(path: Path) -> list[tuple[str, str]]:
    base = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        label, tab, text = line.partition("\t")
        if not tab or label.strip() not in classifier.LABELS or not text.strip():
            raise SystemExit(f"{path}:{number}: expected <label><TAB><reply>, label one of {', '.join(classifier.LABELS)}")
        base.append((label.strip(), text.strip()))
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
    confusion = {label: Counter() for label in SAFETY}
    started = time.monotonic()
    for label, text in lines:
        got = classifier.classify(text, use_model=use_model).label
        per_class[label]["n"] += 1
        per_class[label]["correct"] += got == label
        predicted[got] += 1
        if label in SAFETY:
            confusion[label][got] += 1
        if got != label:
            wrong.append({"text": text, "expected": label, "got": got})
    correct = sum(c["correct"] for c in per_class.values())
    classes = {label: {"n": c["n"], "recall": round(c["correct"] / c["n"], 4),
                       "precision": round(c["correct"] / predicted[label], 4) if predicted[label] else None}
               for label, c in sorted(per_class.items())}
    recall = {label: classes.get(label, {}).get("recall", 1.0) for label in SAFETY}
    return {"accuracy": round(correct / len(lines), 4), "classes": classes,
            "ms_per_reply": round((time.monotonic() - started) * 1000 / len(lines), 1),
            "meets_targets": recall["opt_out"] >= TARGETS["opt_out_recall"]
            and recall["complaint"] >= TARGETS["complaint_recall"] and correct / len(lines) >= TARGETS["accuracy"],
            # what each safety class's replies became, and what was taken for one wrongly
            "safety_confusion": {label: dict(confusion[label].most_common()) for label in SAFETY},
            "false_safety": {label: dict(Counter(w["expected"] for w in wrong if w["got"] == label).most_common())
                             for label in SAFETY},
            "safety_misses": [w for w in wrong if w["expected"] in SAFETY],
            "misclassified": wrong}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real", action="store_true", help="the model in OPENAI_* instead of the sandbox's stand-in")
    parser.add_argument("--corpus", action="append", type=Path, default=[], metavar="PATH",
                        help="one more TSV corpus (label<TAB>reply) to run; repeatable")
    parser.add_argument("--out", type=Path, default=RESULT, help=f"where the JSON goes (default {RESULT.relative_to(ROOT)})")
    args = parser.parse_args()
    args.corpus = [CALLED_FROM / path for path in args.corpus]
    args.out = CALLED_FROM / args.out
    for path in args.corpus:
        if not path.is_file():
            parser.error(f"no such corpus: {path}")
    server = None
    if not args.real:
        from sandbox.server import start

        server = start()
        settings.OPENAI_BASE_URL, settings.OPENAI_API_KEY = server.openai_url, "sandbox"
    result = {"targets": TARGETS, "model": "real: " + settings.OPENAI_MODEL if args.real else "sandbox stand-in",
              "code": "this checkout" if APP == ROOT else f"{APP.name} (BENCH_APP_DIR)",
              "tuned_on": [path.name for path in CORPORA], "corpora": {}}
    try:
        for path in CORPORA + args.corpus:
            lines = corpus(path)
            result["corpora"][str(path.relative_to(ROOT) if path.resolve().is_relative_to(ROOT) else path)] = {
                "lines": len(lines), "by_class": dict(Counter(label for label, _ in lines)),
                "keywords_only": evaluate(lines, use_model=False),
                "keywords_and_model": evaluate(lines, use_model=True)}
    finally:
        if server:
            server.stop()
    args.out.parent.mkdir(exist_ok=True)
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=1))
    for name, runs in result["corpora"].items():
        print(f"{name} ({runs['lines']} replies):")
        for run_name in ("keywords_only", "keywords_and_model"):
            run = runs[run_name]
            recalls = ", ".join(f"{label} {c['recall']:.0%}/{c['precision'] or 0:.0%}" for label, c in run["classes"].items())
            print(f"  {run_name}: accuracy {run['accuracy']:.1%}; recall/precision: {recalls}; "
                  f"targets met: {run['meets_targets']}")
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
