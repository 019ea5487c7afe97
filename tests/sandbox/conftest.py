"""Fixtures for the stand-ins' own tests: one server per session, reset before each test,
and a tiny webhook receiver. Nothing here needs Django."""

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from sandbox.server import start

JSONAPI = "application/vnd.api+json"
DAY_MS = 86_400_000
WAHA_KEY = "sandbox-waha-key"


class Box:
    """The running stand-ins as a test talks to them: real HTTP only."""

    def __init__(self, server):
        self.server = server
        self.url = server.url

    def control(self, path, expect=None, **body):
        response = requests.post(f"{self.url}/_sandbox/{path}", json=body, timeout=10)
        if expect is None:
            assert response.ok, response.text
        else:
            assert response.status_code == expect, response.text
        return response.json()

    def look(self, path, **params):
        response = requests.get(f"{self.url}/_sandbox/{path}", params=params, timeout=10)
        assert response.ok, response.text
        return response.json()

    def kaspi(self, path, token="shop-token", accept=JSONAPI, **params):
        headers = {"Accept": accept, "Content-Type": JSONAPI, "User-Agent": "sandbox-tests"}
        if token is not None:
            headers["X-Auth-Token"] = token
        return requests.get(f"{self.server.kaspi_url}{path}", params=params, headers=headers, timeout=10)

    def orders(self, token="shop-token", state="NEW", page=0, size=100, days=14, le=None, **extra):
        le = le or int(time.time() * 1000)
        params = {"page[number]": page, "page[size]": size, "filter[orders][state]": state,
                  "filter[orders][creationDate][$ge]": int(le - days * DAY_MS),
                  "filter[orders][creationDate][$le]": le}
        params.update(extra)
        return self.kaspi("/orders", token=token, **params)

    def waha(self, method, path, key=WAHA_KEY, **kwargs):
        headers = {"X-Api-Key": key} if key is not None else {}
        return requests.request(method, f"{self.server.waha_url}{path}", headers=headers, timeout=10, **kwargs)


@pytest.fixture(scope="session")
def stand_ins():
    server = start(ack_delay=0.05)
    yield server
    server.stop()


@pytest.fixture
def box(stand_ins):
    requests.post(f"{stand_ins.url}/_sandbox/reset", timeout=10).raise_for_status()
    return Box(stand_ins)


class Receiver:
    """Records what is POSTed to it (raw body and headers) and answers `status`."""

    def __init__(self):
        self.received, self.status = [], 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.received.append({"body": body, "headers": dict(self.headers)})
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/webhooks/waha"
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()

    def wait_for(self, count, timeout=5.0):
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.received


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.httpd.shutdown()
    r.httpd.server_close()
