import pytest

from tests.policy.conftest import make_message, policy_shop  # noqa: F401  (shared factories)

from .workers import WorkerProcess


@pytest.fixture
def worker_processes(transactional_db, sandbox, tmp_path):
    """Start real worker processes with `start(...)`; each is stopped (or was killed) at the end."""
    started = []

    def start(**options):
        worker = WorkerProcess(tmp_path / f"worker-{len(started)}.log", **options)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()
