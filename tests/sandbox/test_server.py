import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from sandbox.server import start

ROOT = Path(__file__).resolve().parents[2]


def test_it_binds_loopback_only():
    with pytest.raises(ValueError):
        start(host="0.0.0.0")


def test_the_index_lists_the_three_base_urls(box):
    urls = box.look("")
    assert urls["KASPI_API_URL"] == f"{box.url}/kaspi/shop/api/v2"
    assert urls["WAHA_URL"] == f"{box.url}/waha" and urls["OPENAI_BASE_URL"] == f"{box.url}/openai/v1"


def test_the_demo_brings_new_orders_and_moves_them_on():
    server = start(demo=True, tick_seconds=0.05)
    try:
        shop = server.state.register_shop("demo", orders=0)
        deadline = time.monotonic() + 10
        while "COMPLETED" not in {o.status for o in shop.orders} and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "COMPLETED" in {o.status for o in shop.orders} and len(shop.orders) > 1
    finally:
        server.stop()


def test_python_m_sandbox_serves_until_interrupted():
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--port", "0", "--shop-token", "cli-shop", "--orders", "20"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env=dict(os.environ, PYTHONUNBUFFERED="1"))
    try:
        first = process.stdout.readline()
        kaspi_url = re.match(r"KASPI_API_URL=(\S+)", first).group(1)
        now = int(time.time() * 1000)
        response = requests.get(f"{kaspi_url}/orders", timeout=5, headers={
            "Accept": "application/vnd.api+json", "X-Auth-Token": "cli-shop"}, params={
            "page[number]": 0, "page[size]": 10, "filter[orders][state]": "ARCHIVE",
            "filter[orders][creationDate][$ge]": now - 13 * 86_400_000})
        assert response.status_code == 200 and response.json()["data"]
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
