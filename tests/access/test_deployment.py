"""Hardening: `check --deploy` clean with production settings, webhook bodies over the limit
refused, admin logins rate-limited, encryption keys rotated without losing a token."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.conf import settings
from django.db import connection

from kaspi_sync.models import Shop
from messaging.models import InboundMessage

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DJANGO_SETTINGS_MODULE": "config.settings",
    "SECRET_KEY": "p" + "Zk3#rT9vQ2mX7wL1yB8nC4jH6fD0sA5gE!uI@oP^kM&zR*tV(" * 2,
    "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
    "ALLOWED_HOSTS": "seller.example.kz",
    "SECURE_PROXY_SSL_HEADER": "X-Forwarded-Proto",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/unused",
}


def manage(*args, env: dict) -> subprocess.CompletedProcess:
    clean = {key: value for key, value in os.environ.items() if not key.startswith(("DEBUG", "HTTPS", "SECURE_"))}
    clean["ENV_FILE"] = "none"  # a development .env in the checkout must not count
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env={**clean, **env}, capture_output=True,
                          text=True, timeout=120)


def test_check_deploy_is_clean_with_production_settings():
    result = manage("check", "--deploy", env=PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout + result.stderr, result.stdout + result.stderr


def test_check_deploy_warns_when_https_is_turned_off():
    result = manage("check", "--deploy", env={**PRODUCTION, "HTTPS": "false"})
    assert "security.W008" in result.stderr and "security.W012" in result.stderr  # redirect, secure cookie


def test_a_webhook_body_over_the_limit_is_refused_before_it_is_read(client, db, settings):
    settings.WAHA_WEBHOOK_MAX_BYTES = 1000
    body = b'{"event": "message", "payload": {"id": "x", "from": "77011234567@c.us", "body": "' + b"a" * 2000 + b'"}}'
    answer = client.post("/webhooks/waha", body, content_type="application/json")
    assert answer.status_code == 413
    assert answer.json() == {"error": "body larger than 1000 bytes"}
    assert not InboundMessage.objects.exists()


def test_admin_logins_are_locked_after_too_many_wrong_passwords(client, django_user_model, db):
    django_user_model.objects.create_superuser("owner", "o@example.kz", "right-password")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        answer = client.post("/admin/login/", {"username": "owner", "password": "wrong"})
        assert answer.status_code == 200  # the form again, with its error
    assert client.post("/admin/login/", {"username": "owner", "password": "wrong"}).status_code == 429
    locked = client.post("/admin/login/", {"username": "owner", "password": "right-password"})
    assert locked.status_code == 429
    assert "Too many failed logins" in locked.content.decode()
    assert client.get("/admin/").status_code == 302  # still not logged in


def test_the_right_password_before_the_limit_logs_in(client, django_user_model, db):
    django_user_model.objects.create_superuser("owner", "o@example.kz", "right-password")
    client.post("/admin/login/", {"username": "owner", "password": "wrong"})
    assert client.post("/admin/login/", {"username": "owner", "password": "right-password"}).status_code == 302
    assert client.get("/admin/").status_code == 200


def stored_token(pk) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT kaspi_token FROM kaspi_sync_shop WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def test_the_key_rotation_re_encrypts_every_token_with_the_new_key(transactional_db):
    old = settings.FIELD_ENCRYPTION_KEY
    shops = [Shop.objects.create(name=f"Shop {n}", kaspi_token=f"kaspi-token-rotation-{n}") for n in range(3)]
    new = Fernet.generate_key().decode()
    test_db = {"TEST_DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{connection.settings_dict['NAME']}",
               "DJANGO_SETTINGS_MODULE": "tests.settings"}

    result = manage("rotate_encryption_key", env={**test_db, "FIELD_ENCRYPTION_KEY": f"{new},{old}"})

    assert result.returncode == 0, result.stderr
    assert "3 token(s) re-encrypted" in result.stdout
    for n, shop in enumerate(shops):
        assert Fernet(new).decrypt(stored_token(shop.pk).encode()).decode() == f"kaspi-token-rotation-{n}"
    read_back = manage("shell", "-c", "from kaspi_sync.models import Shop; print(sorted(s.kaspi_token for s in Shop.objects.all()))",
                       env={**test_db, "FIELD_ENCRYPTION_KEY": new})
    assert "['kaspi-token-rotation-0', 'kaspi-token-rotation-1', 'kaspi-token-rotation-2']" in read_back.stdout


def test_the_rotation_refuses_when_no_key_opens_a_token_and_changes_nothing(transactional_db):
    shop = Shop.objects.create(name="Shop", kaspi_token="kaspi-token-rotation-x")
    before = stored_token(shop.pk)
    test_db = {"TEST_DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{connection.settings_dict['NAME']}",
               "DJANGO_SETTINGS_MODULE": "tests.settings"}

    result = manage("rotate_encryption_key", env={**test_db, "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode()})

    assert result.returncode != 0
    assert f"shops [{shop.pk}]" in result.stderr and "opens with none of the keys" in result.stderr
    assert stored_token(shop.pk) == before
