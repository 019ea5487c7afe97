"""Flower as the Procfile starts it: behind basic auth from FLOWER_BASIC_AUTH, and not at all without it."""

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from django.conf import settings

from ..helpers import wait_until

ROOT = Path(__file__).resolve().parents[2]


def procfile_command(name: str) -> str:
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.startswith(f"{name}:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"no {name} in the Procfile")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start(extra_env: dict) -> subprocess.Popen:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "TEST_REDIS_URL": settings.REDIS_URL,
           "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}", **extra_env}
    return subprocess.Popen(["bash", "-c", "exec " + procfile_command("flower")], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@pytest.fixture
def flower():
    port = free_port()
    process = start({"FLOWER_PORT": str(port), "FLOWER_BASIC_AUTH": "ops:night-shift-7"})
    url = f"http://127.0.0.1:{port}"

    def answering():
        try:
            return requests.get(url, timeout=1).status_code  # (a 401 Response is falsy)
        except requests.ConnectionError:
            assert process.poll() is None, process.stdout.read()
            return None

    try:
        wait_until(answering, timeout=30, what="Flower to listen")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=15)


def test_flower_asks_for_the_password_from_the_environment(flower):
    assert requests.get(flower, timeout=5).status_code == 401
    assert requests.get(flower, auth=("ops", "wrong"), timeout=5).status_code == 401
    answer = requests.get(f"{flower}/workers", auth=("ops", "night-shift-7"), timeout=5)
    assert answer.status_code == 200 and "Flower" in answer.text


def test_flower_is_read_only_unless_told_otherwise(flower):
    """Revoking, terminating or starting tasks and restarting workers are refused (Flower's own
    read-only mode); an owner who needs them starts one with FLOWER_READ_ONLY=false."""
    auth = ("ops", "night-shift-7")
    for path in ("/api/task/async-apply/seller.reconcile", "/api/task/revoke/0f0c9f6e-1111-4111-8111-000000000001",
                 "/api/worker/pool/restart/any@host"):
        answer = requests.post(f"{flower}{path}", auth=auth, json={}, timeout=5)
        assert answer.status_code == 403, (path, answer.status_code, answer.text[:200])


def test_flower_listens_on_loopback_only(flower):
    port = int(flower.rsplit(":", 1)[1])
    outside = other_address()
    if outside is None:
        pytest.skip("this machine has no address but loopback")
    with pytest.raises(OSError):
        socket.create_connection((outside, port), timeout=2).close()


def other_address() -> str | None:
    """An address of this machine that is not loopback (the one a route out would use)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 1))  # UDP: nothing is sent
            address = probe.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") else address


def test_flower_does_not_start_without_a_password():
    process = start({"FLOWER_PORT": str(free_port()), "FLOWER_BASIC_AUTH": ""})

    output, _ = process.communicate(timeout=30)

    assert process.returncode != 0
    assert "set FLOWER_BASIC_AUTH=user:password" in output
