"""Personas and real-service fixtures shared by the whole suite.

Tests that need a real service (Redis, a Celery worker, Chromium, PostgreSQL)
skip with a clear reason when it is missing, except under CI=true, where a
missing service fails the run instead.
"""

from __future__ import annotations

import os
import shutil

import pytest
from django.core.cache import cache
from django.test import Client
from rest_framework.test import APIClient

from accounts.choices import Role, Stage
from accounts.models import Institution, User
from tests.factories import InstitutionFactory, UserFactory

PASSWORD = "correct-horse-battery-staple"


def require_service(what: str) -> None:
    """Skip locally, fail in CI: CI must never pass by skipping a real-component test."""
    message = f"{what} is not available"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{message}, and CI=true requires it.")
    pytest.skip(message)


@pytest.fixture(autouse=True)
def _empty_cache() -> None:
    """Each test starts with an empty cache. SQLite hands out the same ids again after a
    rollback, so a version stamp made of ids (``matching.adapters.relations_stamp``)
    could otherwise find an entry a previous test left for other rows."""
    cache.clear()


@pytest.fixture
def school(db: None) -> Institution:
    return InstitutionFactory(
        name="Northlake School of Medicine",
        slug="northlake-test",
        short_name="Northlake",
        timezone="America/Chicago",
    )


@pytest.fixture
def other_school(db: None) -> Institution:
    return InstitutionFactory(
        name="Riverside College of Medicine",
        slug="riverside-test",
        short_name="Riverside",
        timezone="America/Los_Angeles",
    )


@pytest.fixture
def student(school: Institution) -> User:
    return UserFactory(
        email="student@test.example",
        full_name="Maya Student",
        role=Role.STUDENT,
        profile={"institution": school, "stage": Stage.MS2},
    )


@pytest.fixture
def other_student(school: Institution) -> User:
    return UserFactory(
        email="student2@test.example",
        full_name="Sam Classmate",
        role=Role.STUDENT,
        profile={"institution": school, "stage": Stage.MS1},
    )


@pytest.fixture
def resident(school: Institution) -> User:
    return UserFactory(
        email="resident@test.example",
        full_name="Rita Resident",
        role=Role.RESIDENT,
        profile={"institution": school, "stage": Stage.PGY2},
    )


@pytest.fixture
def physician(school: Institution) -> User:
    return UserFactory(
        email="physician@test.example",
        full_name="Paul Physician",
        role=Role.PHYSICIAN,
        profile={
            "institution": school,
            "stage": Stage.ATTENDING_SENIOR,
            "capacity": 3,
            "bio": "Orthopaedic surgeon.",
        },
    )


@pytest.fixture
def coordinator(school: Institution) -> User:
    return UserFactory(
        email="coordinator@test.example",
        full_name="Cora Coordinator",
        role=Role.COORDINATOR,
        profile={"institution": school, "stage": None},
    )


@pytest.fixture
def outsider(other_school: Institution) -> User:
    """A student of another school."""
    return UserFactory(
        email="outsider@test.example",
        full_name="Otto Outsider",
        role=Role.STUDENT,
        profile={"institution": other_school},
    )


@pytest.fixture
def other_coordinator(other_school: Institution) -> User:
    return UserFactory(
        email="coordinator2@test.example",
        full_name="Olga Coordinator",
        role=Role.COORDINATOR,
        profile={"institution": other_school, "stage": None},
    )


def api_for(user: User | None = None) -> APIClient:
    """A DRF test client authenticated as ``user`` (anonymous with None)."""
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def client_for(user: User | None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def redis_url() -> str:
    url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    try:
        import redis

        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except Exception:
        require_service(f"Redis at {url}")
    return url


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
    if not os.path.exists(path):
        require_service("Chromium (apt install chromium)")
    return path


@pytest.fixture
def postgres() -> None:
    """For races that only PostgreSQL's row locks can settle (SQLite serialises writers)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        require_service("PostgreSQL (set DATABASE_URL)")


@pytest.fixture
def at(django_capture_on_commit_callbacks):
    """``with at(moment):`` runs the block at ``moment`` with after-commit work executed
    (Celery runs eagerly in tests, so queued emails and deliveries happen inline)."""
    import time_machine

    class At:
        def __call__(self, moment):
            self.travel = time_machine.travel(moment, tick=False)
            self.commit = django_capture_on_commit_callbacks(execute=True)
            return self

        def __enter__(self):
            self.travel.__enter__()
            self.commit.__enter__()

        def __exit__(self, *exc):
            self.commit.__exit__(*exc)
            self.travel.__exit__(*exc)

    return At()
