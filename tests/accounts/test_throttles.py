"""API rate limits: the token login per address, writes per person. Rates are set small
here; the clock is frozen so the "try again in N seconds" is exact."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.models import User
from tests.conftest import PASSWORD, api_for

NOW = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def rates(settings):
    def set_rates(*, login: str = "100/min", write: str = "100/min") -> None:
        settings.REST_FRAMEWORK = {
            **settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": {"login": login, "write": write},
        }

    return set_rates


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def token_login(email: str, password: str, **headers: str):
    return APIClient().post(
        reverse("api:token"), {"email": email, "password": password}, format="json", **headers
    )


def test_the_token_login_answers_429_with_a_message_after_its_limit(rates, clock, student):
    rates(login="3/min")
    assert [token_login(student.email, "not-it").status_code for _ in range(2)] == [400, 400]
    assert token_login(student.email, PASSWORD).status_code == 200
    clock.shift(dt.timedelta(seconds=15))
    response = token_login(student.email, PASSWORD)
    assert response.status_code == 429
    assert response.json() == {
        "message": "Too many attempts: try again in 45 seconds.",
        "fields": {},
    }
    assert response["Retry-After"] == "45"
    Token.objects.filter(user=student).delete()
    clock.shift(dt.timedelta(seconds=46))
    assert token_login(student.email, PASSWORD).status_code == 200
    assert Token.objects.filter(user=student).count() == 1


def test_the_token_login_limit_is_per_address_and_ignores_x_forwarded_for(
    rates, clock, student, other_student
):
    rates(login="2/min")
    for n in range(2):
        token_login(student.email, "not-it", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")
    spoofed = token_login(other_student.email, PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.9")
    assert spoofed.status_code == 429
    elsewhere = token_login(other_student.email, PASSWORD, REMOTE_ADDR="192.0.2.44")
    assert elsewhere.status_code == 200


def test_a_write_endpoint_answers_429_after_its_limit(rates, clock, student, other_student):
    rates(write="2/min")
    api = api_for(student)
    for name in ("Maya One", "Maya Two"):
        assert api.patch(reverse("api:me"), {"full_name": name}).status_code == 200
    response = api.patch(reverse("api:me"), {"full_name": "Maya Three"})
    assert response.status_code == 429
    assert response.json() == {
        "message": "Too many attempts: try again in 60 seconds.",
        "fields": {},
    }
    assert User.objects.get(pk=student.pk).full_name == "Maya Two"
    # Reads go on, and the limit is per person.
    assert api.get(reverse("api:me")).json()["full_name"] == "Maya Two"
    assert api_for(other_student).patch(reverse("api:me"), {"full_name": "Sam"}).status_code == 200
    clock.shift(dt.timedelta(seconds=61))
    assert api.patch(reverse("api:me"), {"full_name": "Maya Three"}).status_code == 200


def test_reads_are_never_throttled(rates, student):
    rates(write="1/min")
    api = api_for(student)
    assert {api.get(reverse("api:me")).status_code for _ in range(5)} == {200}
