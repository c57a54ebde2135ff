"""Sessions and tokens end when they should: a new key at sign-in, sign-out, deactivation,
password change, "sign out everywhere", and the idle and absolute time limits."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.models import AuditEvent, User
from tests.conftest import PASSWORD

NOW = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)
PROFILE = reverse("accounts:profile")


def sign_in(email: str, password: str = PASSWORD) -> Client:
    client = Client()
    response = client.post(reverse("accounts:login"), {"username": email, "password": password})
    assert response.status_code == 302, response.content.decode()
    return client


def token_for(user: User) -> APIClient:
    response = APIClient().post(
        reverse("api:token"), {"email": user.email, "password": PASSWORD}, format="json"
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    return client


def is_signed_in(client: Client) -> bool:
    """The profile page opens (it sends anyone else to the sign-in page)."""
    response = client.get(PROFILE)
    if response.status_code == 200:
        return True
    assert response.status_code == 302 and response.url.startswith(reverse("accounts:login"))
    return False


def test_signing_in_gives_the_session_a_new_key(student):
    client = Client()
    before = client.session
    before["probe"] = "planted before sign-in"
    before.save()
    client.post(reverse("accounts:login"), {"username": student.email, "password": PASSWORD})
    after = client.cookies["sessionid"].value
    assert after != before.session_key
    assert not Session.objects.filter(session_key=before.session_key).exists()
    assert client.session[SESSION_KEY] == str(student.pk)


def test_signing_out_ends_the_session_on_the_server(student):
    client = sign_in(student.email)
    key = client.cookies["sessionid"].value
    client.post(reverse("accounts:logout"))
    assert not Session.objects.filter(session_key=key).exists()
    replay = Client()
    replay.cookies["sessionid"] = key
    assert not is_signed_in(replay)


def test_a_deactivated_person_is_refused_on_the_next_request_with_a_session(student):
    client = sign_in(student.email)
    assert is_signed_in(client)
    User.objects.filter(pk=student.pk).update(is_active=False)
    assert not is_signed_in(client)
    response = client.get(reverse("api:me"))
    assert response.status_code == 403
    assert response.json() == {
        "message": "Authentication credentials were not provided.",
        "fields": {},
    }


def test_a_deactivated_person_is_refused_on_the_next_request_with_a_token(student):
    api = token_for(student)
    assert api.get(reverse("api:me")).json()["email"] == student.email
    User.objects.filter(pk=student.pk).update(is_active=False)
    response = api.get(reverse("api:me"))
    # 403, not 401: DRF answers with the first authenticator's (the session's) status.
    assert response.status_code == 403
    assert response.json() == {"message": "User inactive or deleted.", "fields": {}}


def test_a_password_change_keeps_this_session_and_ends_the_others_and_the_token(student):
    here, elsewhere, api = sign_in(student.email), sign_in(student.email), token_for(student)
    new = "another-long-passphrase"
    response = here.post(
        reverse("accounts:password_change"),
        {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
    )
    assert response.status_code == 302
    assert is_signed_in(here)
    assert not is_signed_in(elsewhere)
    assert api.get(reverse("api:me")).json() == {"message": "Invalid token.", "fields": {}}
    assert not Token.objects.filter(user=student).exists()


def test_sign_out_everywhere_ends_every_session_and_the_token(student):
    here, elsewhere, api = sign_in(student.email), sign_in(student.email), token_for(student)
    response = here.post(reverse("accounts:sign_out_everywhere"), follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("accounts:login"))
    assert "You are signed out on every device" in response.content.decode()
    assert not is_signed_in(here)
    assert not is_signed_in(elsewhere)
    assert api.get(reverse("api:me")).json() == {"message": "Invalid token.", "fields": {}}
    assert not Token.objects.filter(user=student).exists()
    assert AuditEvent.objects.filter(action="account.sign_out_everywhere", actor=student).exists()
    # Signing in again works: the new sessions carry the new hash.
    assert is_signed_in(sign_in(student.email))


def test_sign_out_everywhere_takes_a_post(student):
    client = sign_in(student.email)
    assert client.get(reverse("accounts:sign_out_everywhere")).status_code == 405
    assert is_signed_in(client)


def test_sessions_from_before_the_nonce_stay_valid(student):
    # An empty nonce gives Django's own hash, so deploying this signs nobody out.
    assert student.session_nonce == ""
    assert student.get_session_auth_hash() == AbstractBaseUser._get_session_auth_hash(student)


@pytest.mark.parametrize("idle_minutes", [30, 5])
def test_a_session_ends_after_the_idle_time(settings, student, idle_minutes):
    settings.SESSION_IDLE_TIMEOUT = idle_minutes * 60
    with time_machine.travel(NOW, tick=False) as clock:
        client = sign_in(student.email)
        key = client.cookies["sessionid"].value
        for _ in range(3):  # activity keeps it going well past one idle period
            clock.shift(dt.timedelta(minutes=idle_minutes - 1))
            assert is_signed_in(client)
        clock.shift(dt.timedelta(minutes=idle_minutes, seconds=1))
        response = client.get(PROFILE, follow=True)
        assert response.redirect_chain[-1][0].startswith(reverse("accounts:login"))
        assert (
            f"You were signed out after {idle_minutes} minutes without activity."
            in response.content.decode()
        )
        assert not Session.objects.filter(session_key=key).exists()
        assert is_signed_in(sign_in(student.email))


def test_a_session_ends_hours_after_sign_in_however_active(student):
    with time_machine.travel(NOW, tick=False) as clock:
        client = sign_in(student.email)
        for _ in range(35):  # every 20 minutes until 11 h 40 min
            clock.shift(dt.timedelta(minutes=20))
            assert is_signed_in(client)
        clock.shift(dt.timedelta(minutes=20))
        response = client.get(PROFILE, follow=True)
        assert "sessions end after 12 hours" in response.content.decode()
        assert not is_signed_in(client)
