import http.client
import json
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

from .conftest import WAHA_KEY

ROOT = Path(__file__).resolve().parents[2]


def test_it_binds_loopback_only():
    with pytest.raises(ValueError):
        start(host="0.0.0.0")


def test_the_index_lists_the_three_base_urls(box):
    urls = box.look("")
    assert urls["KASPI_API_URL"] == f"{box.url}/kaspi/shop/api/v2"
    assert urls["WAHA_URL"] == f"{box.url}/waha" and urls["OPENAI_BASE_URL"] == f"{box.url}/openai/v1"


def test_a_connection_stays_open_between_requests_as_wahas_does(box):
    """Even after a request whose body the stand-in does not read (a wrong API key)."""
    connection = http.client.HTTPConnection(box.url.removeprefix("http://"), timeout=10)
    try:
        answers = []
        for key in ("wrong-key", WAHA_KEY, WAHA_KEY):
            connection.request("POST", "/waha/api/sendText", body=json.dumps(
                {"session": "default", "chatId": "77011234567@c.us", "text": "Спасибо!"}),
                headers={"X-Api-Key": key, "Content-Type": "application/json"})
            response = connection.getresponse()
            answers.append((response.status, response.getheader("Connection")))
            response.read()
        assert answers == [(401, None), (201, None), (201, None)]
        assert len(box.look("waha/sent")) == 2
    finally:
        connection.close()


def test_a_stopped_server_answers_no_more_on_a_kept_connection():
    server = start()
    connection = http.client.HTTPConnection(server.url.removeprefix("http://"), timeout=10)
    try:
        connection.request("GET", "/")
        connection.getresponse().read()
        server.stop()
        with pytest.raises((ConnectionError, http.client.HTTPException)):
            connection.request("GET", "/")
            connection.getresponse().read()
    finally:
        connection.close()


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
