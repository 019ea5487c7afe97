"""`python manage.py …` in a fresh checkout works without setting anything (it writes a local
development .env and says so); in production a missing setting is one clear line."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def manage(*args, **env):
    clean = {"PATH": "/usr/bin:/bin", "HOME": "/tmp", **env}
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=clean, capture_output=True, text=True,
                          timeout=60)


def test_the_first_command_in_a_checkout_writes_a_development_env_and_says_so(tmp_path):
    env_file = tmp_path / ".env"
    first = manage("check", ENV_FILE=str(env_file))
    again = manage("check", ENV_FILE=str(env_file))

    assert first.returncode == 0, first.stderr
    assert "wrote" in first.stderr and "for local development (DEBUG=1" in first.stderr
    lines = env_file.read_text().splitlines()
    assert "DEBUG=1" in lines and any(line.startswith("SECRET_KEY=") and len(line) > 40 for line in lines)
    assert again.returncode == 0 and "wrote" not in again.stderr


def test_in_production_a_missing_secret_is_one_clear_line_and_nothing_is_written(tmp_path):
    env_file = tmp_path / ".env"
    answer = manage("migrate", ENV_FILE=str(env_file), DATABASE_URL="postgres://nobody@127.0.0.1:1/none")

    assert answer.returncode == 1
    assert answer.stderr.strip().splitlines() == [
        "manage.py: SECRET_KEY is not set: set it in the environment (production), or DEBUG=1 for local development"]
    assert not env_file.exists()
