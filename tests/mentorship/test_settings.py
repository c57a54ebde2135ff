import os
import subprocess
import sys
from pathlib import Path

import pytest

from mentorship.settings.env import ImproperlyConfiguredEnv, env_bool, env_int, env_list, env_str

ROOT = Path(__file__).resolve().parents[2]


def _manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in ("SECRET_KEY", "ALLOWED_HOSTS", "DJANGO_ALLOW_ASYNC_UNSAFE")
    }
    clean.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_env_helpers_parse_and_refuse_garbage(monkeypatch):
    monkeypatch.setenv("X_BOOL", "yes")
    monkeypatch.setenv("X_INT", "42")
    monkeypatch.setenv("X_LIST", "a.example, b.example,,")
    assert env_bool("X_BOOL") is True
    assert env_int("X_INT", 1) == 42
    assert env_list("X_LIST") == ["a.example", "b.example"]
    assert env_str("X_MISSING", "fallback") == "fallback"
    monkeypatch.setenv("X_BOOL", "maybe")
    with pytest.raises(ImproperlyConfiguredEnv):
        env_bool("X_BOOL")
    monkeypatch.setenv("X_INT", "many")
    with pytest.raises(ImproperlyConfiguredEnv):
        env_int("X_INT", 1)
    with pytest.raises(ImproperlyConfiguredEnv):
        env_str("X_MISSING", required=True)


def test_production_refuses_to_start_without_a_secret_key():
    result = _manage(
        "check",
        env={
            "DJANGO_SETTINGS_MODULE": "mentorship.settings.production",
            "ALLOWED_HOSTS": "mentor.example",
        },
    )
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_passes_check_deploy_with_zero_warnings():
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        env={
            "DJANGO_SETTINGS_MODULE": "mentorship.settings.production",
            "SECRET_KEY": "x" * 20 + "a-real-looking-secret-key-for-the-check-0123456789",
            "ALLOWED_HOSTS": "mentor.example",
        },
    )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_responses_carry_the_security_headers():
    from django.test import Client, override_settings

    with override_settings(SECURE_SSL_REDIRECT=False, DEBUG=False):
        response = Client(HTTP_HOST="127.0.0.1").get("/accounts/login/")
    csp = response["Content-Security-Policy"]
    for directive in (
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "script-src 'self'",
    ):
        assert directive in csp
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
