"""The sign-in lockout (django-axes) on both doors, the HTML form and the API token, and
the password rules on sign-up, change and reset."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from axes.models import AccessAttempt
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.password_validation import validate_password
from django.core import mail
from django.test import Client, RequestFactory
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.demo import DEMO_PASSWORD
from accounts.models import User
from accounts.security import client_ip
from tests.conftest import PASSWORD

LOCKED = "Too many failed sign-in attempts for this account. Try again in 15 minutes"
NOW = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)


def html_login(client: Client, email: str, password: str, **headers: str):
    return client.post(
        reverse("accounts:login"), {"username": email, "password": password}, **headers
    )


def api_login(email: str, password: str, **headers: str):
    return APIClient().post(
        reverse("api:token"), {"email": email, "password": password}, format="json", **headers
    )


def signed_in(client: Client) -> bool:
    return SESSION_KEY in client.session


def fail(email: str, times: int, *, path: str = "html") -> None:
    for _ in range(times):
        if path == "html":
            html_login(Client(), email, "not-my-password")
        else:
            api_login(email, "not-my-password")


# --- Lockout ---------------------------------------------------------------------------


def test_five_wrong_passwords_lock_the_html_login_even_with_the_right_one(student):
    client = Client()
    for _ in range(4):
        response = html_login(client, student.email, "not-my-password")
        assert response.status_code == 200
        assert "Please enter a correct" in response.content.decode()
    fifth = html_login(client, student.email, "not-my-password")
    assert fifth.status_code == 429
    assert LOCKED in fifth.content.decode()

    response = html_login(client, student.email, PASSWORD)
    assert response.status_code == 429
    page = response.content.decode()
    assert LOCKED in page and reverse("accounts:password_reset") in page
    assert not signed_in(client)
    assert AccessAttempt.objects.get(username=student.email).failures_since_start == 5


def test_five_wrong_passwords_lock_the_api_token_login_even_with_the_right_one(student):
    for attempt in range(5):
        response = api_login(student.email, "not-my-password")
        expected = 429 if attempt == 4 else 400
        assert response.status_code == expected
    response = api_login(student.email, PASSWORD)
    assert response.status_code == 429
    assert response.json() == {"message": response.json()["message"], "fields": {}}
    assert response.json()["message"].startswith(LOCKED)
    assert not Token.objects.filter(user=student).exists()


def test_both_doors_count_against_one_account(student):
    fail(student.email, 3, path="html")
    fail(student.email, 2, path="api")
    assert api_login(student.email, PASSWORD).status_code == 429
    assert html_login(Client(), student.email, PASSWORD).status_code == 429


def test_rotating_x_forwarded_for_user_agent_and_letter_case_does_not_help(student):
    for n in range(5):
        html_login(
            Client(),
            student.email.upper() if n % 2 else student.email,
            "not-my-password",
            HTTP_X_FORWARDED_FOR=f"203.0.113.{n}",
            HTTP_USER_AGENT=f"bot/{n}",
        )
    response = api_login(student.email, PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.7")
    assert response.status_code == 429
    # The header was never believed: every failure is recorded from the real address.
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"127.0.0.1"}
    assert set(AccessAttempt.objects.values_list("username", flat=True)) == {student.email}


def test_x_forwarded_for_is_read_only_behind_the_configured_proxies(settings):
    request = RequestFactory().get(
        "/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.20"
    )
    assert client_ip(request) == "10.0.0.2"
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    # The entry our one proxy appended, not the one the client wrote before it.
    assert client_ip(request) == "198.51.100.20"


def test_another_person_is_unaffected(student, other_student):
    fail(student.email, 5)
    client = Client()
    assert html_login(client, other_student.email, PASSWORD).status_code == 302
    assert signed_in(client)
    assert api_login(other_student.email, PASSWORD).status_code == 200


def test_an_unknown_email_locks_the_same_way_so_it_reveals_nothing(student):
    fail("nobody@test.example", 5)
    response = html_login(Client(), "nobody@test.example", "anything-at-all")
    assert response.status_code == 429 and LOCKED in response.content.decode()


def test_the_lock_lifts_after_the_cool_off(student):
    with time_machine.travel(NOW, tick=False) as clock:
        fail(student.email, 5)
        clock.shift(dt.timedelta(minutes=14))
        assert html_login(Client(), student.email, PASSWORD).status_code == 429
        # Trying during the lockout does not prolong it.
        clock.shift(dt.timedelta(minutes=1, seconds=1))
        client = Client()
        assert html_login(client, student.email, PASSWORD).status_code == 302
        assert signed_in(client)
    assert not AccessAttempt.objects.filter(username=student.email).exists()


def test_a_successful_sign_in_starts_the_count_again(student):
    fail(student.email, 4)
    assert html_login(Client(), student.email, PASSWORD).status_code == 302
    fail(student.email, 4, path="api")
    assert api_login(student.email, PASSWORD).status_code == 200
    fail(student.email, 4)
    client = Client()
    assert html_login(client, student.email, PASSWORD).status_code == 302
    assert signed_in(client)


def test_a_password_reset_by_email_lifts_the_lock(student):
    fail(student.email, 5)
    client = Client()
    client.post(reverse("accounts:password_reset"), {"email": student.email})
    link = re.search(r"https?://[^/]+(/accounts/password/reset/\S+/)", mail.outbox[0].body)
    form_url = client.get(link.group(1)).url
    new = "a-brand-new-long-passphrase"
    client.post(form_url, {"new_password1": new, "new_password2": new})
    assert html_login(client, student.email, new).status_code == 302
    assert signed_in(client)


# --- Password rules --------------------------------------------------------------------

SHORT = "tulip-bloom"  # 11 characters
COMMON = "password1234"


@pytest.mark.parametrize(
    ("password", "message"),
    [
        (SHORT, "This password is too short. It must contain at least 12 characters."),
        (COMMON, "This password is too common."),
        ("483920175629", "This password is entirely numeric."),
        ("florencenightingale", "The password is too similar to the full name."),
    ],
)
def test_sign_up_refuses_weak_passwords_and_says_why(db, client, password, message):
    response = client.post(
        reverse("accounts:signup"),
        {
            "full_name": "Florence Nightingale",
            "email": "florence@test.example",
            "role": "student",
            "password": password,
        },
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not User.objects.filter(email="florence@test.example").exists()


@pytest.mark.parametrize(
    ("password", "message"),
    [(SHORT, "This password is too short."), (COMMON, "This password is too common.")],
)
def test_password_change_refuses_weak_passwords(student, password, message):
    client = Client()
    html_login(client, student.email, PASSWORD)
    response = client.post(
        reverse("accounts:password_change"),
        {"old_password": PASSWORD, "new_password1": password, "new_password2": password},
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert User.objects.get(pk=student.pk).check_password(PASSWORD)


@pytest.mark.parametrize(
    ("password", "message"),
    [(SHORT, "This password is too short."), (COMMON, "This password is too common.")],
)
def test_password_reset_refuses_weak_passwords(client, student, password, message):
    client.post(reverse("accounts:password_reset"), {"email": student.email})
    link = re.search(r"https?://[^/]+(/accounts/password/reset/\S+/)", mail.outbox[0].body)
    form_url = client.get(link.group(1)).url
    response = client.post(form_url, {"new_password1": password, "new_password2": password})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert User.objects.get(pk=student.pk).check_password(PASSWORD)


def test_the_demo_and_test_passwords_meet_the_rules():
    for email, password in [
        ("student@northlake.example", DEMO_PASSWORD),
        ("person@example.org", PASSWORD),
    ]:
        validate_password(password, User(email=email, full_name="Maya Okafor"))
