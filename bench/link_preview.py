"""How long a send with a link takes through the WAHA stand-in, with the link preview WAHA builds
by default and with `linkPreview: false` (what the client now asks for). The stand-in spends
`preview_delay` seconds on a preview (2 s by default: WAHA fetches the page before it sends;
the real figure depends on the linked site and the engine). No database needed.

    python bench/link_preview.py [--sends 5]
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402

from messaging.waha import WahaClient  # noqa: E402
from sandbox.server import start  # noqa: E402

TEXT = "Будем благодарны за отзыв: https://kaspi.kz/shop/review/productreview?orderCode=496149022&rating=5"
CHAT = "77011234567@c.us"
RESULT = Path(__file__).resolve().parent / "results" / "link_preview.json"


def timed(function) -> float:
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def main(sends: int):
    server = start(waha_api_key=settings.WAHA_API_KEY, ack_delay=0)
    settings.WAHA_URL = server.waha_url
    try:
        preview_delay = server.state.preview_delay
        client = WahaClient("default")
        # Before: the body the client sent until now (WAHA's default, linkPreview true).
        with_preview = [timed(lambda: client.request("POST", "/api/sendText", json={
            "session": "default", "chatId": CHAT, "text": TEXT})) for _ in range(sends)]
        without = [timed(lambda: client.send_text(CHAT, TEXT)) for _ in range(sends)]
        previews = [m["link_preview"] for m in requests.get(f"{server.url}/_sandbox/waha/sent", timeout=10).json()]
    finally:
        server.stop()
    assert previews == [True] * sends + [False] * sends, previews
    result = {"sends": sends, "sandbox_preview_delay_s": preview_delay, "waha_timeout_s": settings.WAHA_TIMEOUT,
              "median_s_with_preview": round(statistics.median(with_preview), 3),
              "median_s_without_preview": round(statistics.median(without), 3)}
    RESULT.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sends", type=int, default=5)
    main(parser.parse_args().sends)
