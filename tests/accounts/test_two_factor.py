"""Optional two-factor sign-in (TOTP, django-otp) for staff and coordinators: enrolment,
the second sign-in step, the admin, the API token, and turning it off."""

from __future__ import annotations

import base64
import datetime as dt
import re

import pytest
import time_machine
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.choices import Role
from accounts.models import AuditEvent, User
from accounts.services import WRONG_CODE
from tests.conftest import PASSWORD
from tests.factories import UserFactory

NOW = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)
HALF_MINUTE = dt.timedelta(seconds=31)  # a fresh code; also past the wait after a wrong one


@pytest.fixture
def staff(db) -> User:
    return UserFactory(email="staff@test.example", role=Role.STAFF, is_staff=True)


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def code_for(device: TOTPDevice) -> str:
    """What the person's authenticator app shows now."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():0{device.digits}d}"


def wrong_code_for(device: TOTPDevice) -> str:
    return f"{(int(code_for(device)) + 1) % 10**6:06d}"


def sign_in_password(email: str) -> tuple[Client, object]:
    client = Client()
    response = client.post(reverse("accounts:login"), {"username": email, "password": PASSWORD})
    return client, response


def enrol(user: User, clock) -> tuple[Client, TOTPDevice]:
    client = Client()
    client.force_login(user)
    client.get(reverse("accounts:two_factor_setup"))
    device = TOTPDevice.objects.get(user=user)
    response = client.post(reverse("accounts:two_factor_setup"), {"code": code_for(device)})
    assert response.status_code == 302
    clock.shift(HALF_MINUTE)  # each code works once: the next step needs the next one
    return client, TOTPDevice.objects.get(user=user, confirmed=True)


def test_setup_shows_a_qr_code_and_the_key_and_a_code_turns_it_on(coordinator, clock):
    client = Client()
    client.force_login(coordinator)
    page = client.get(reverse("accounts:two_factor_setup")).content.decode()
    device = TOTPDevice.objects.get(user=coordinator, confirmed=False)
    secret = base64.b32encode(device.bin_key).decode()

    image = re.search(r'src="data:image/svg\+xml;base64,([^"]+)"', page)
    svg = base64.b64decode(image.group(1)).decode()
    assert "<svg" in svg and "<path" in svg and "<script" not in svg
    assert " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)) in page
    assert "<script" not in page.split("<main", 1)[1]  # nothing inline, nothing from outside
    # Reloading keeps the same secret, so a half-finished scan still works.
    client.get(reverse("accounts:two_factor_setup"))
    assert list(TOTPDevice.objects.filter(user=coordinator)) == [device]

    response = client.post(reverse("accounts:two_factor_setup"), {"code": wrong_code_for(device)})
    assert WRONG_CODE in response.content.decode()
    assert not TOTPDevice.objects.filter(user=coordinator, confirmed=True).exists()

    clock.shift(HALF_MINUTE)
    response = client.post(
        reverse("accounts:two_factor_setup"), {"code": code_for(device)}, follow=True
    )
    assert "Two-factor sign-in is on" in response.content.decode()
    assert TOTPDevice.objects.get(user=coordinator).confirmed
    assert client.session[DEVICE_ID_SESSION_KEY] == device.persistent_id
    assert AuditEvent.objects.filter(action="account.two_factor_enable", actor=coordinator).exists()


@pytest.mark.parametrize("persona", ["student", "resident", "physician"])
def test_students_residents_and_physicians_never_see_the_setup(request, persona):
    user = request.getfixturevalue(persona)
    client = Client()
    client.force_login(user)
    page = client.get(reverse("accounts:security")).content.decode()
    assert "Sign out everywhere" in page and "Two-factor" not in page
    assert client.get(reverse("accounts:two_factor_setup")).status_code == 404
    assert not TOTPDevice.objects.exists()


def test_staff_and_coordinators_are_offered_the_setup(coordinator, staff):
    for user in (coordinator, staff):
        client = Client()
        client.force_login(user)
        page = client.get(reverse("accounts:security")).content.decode()
        assert reverse("accounts:two_factor_setup") in page


def test_sign_in_asks_for_the_code_after_the_password(coordinator, clock):
    _, device = enrol(coordinator, clock)
    client, response = sign_in_password(coordinator.email)
    assert response.url == reverse("accounts:login_verify")
    assert SESSION_KEY not in client.session  # the password alone signs nobody in
    assert client.get(reverse("accounts:profile")).url.startswith(reverse("accounts:login"))
    before = client.cookies["sessionid"].value

    response = client.post(reverse("accounts:login_verify"), {"code": wrong_code_for(device)})
    assert response.status_code == 200
    assert WRONG_CODE in response.content.decode()
    assert SESSION_KEY not in client.session

    clock.shift(HALF_MINUTE)
    response = client.post(reverse("accounts:login_verify"), {"code": code_for(device)})
    assert response.status_code == 302 and response.url == reverse("home")
    assert client.session[SESSION_KEY] == str(coordinator.pk)
    assert client.session[DEVICE_ID_SESSION_KEY] == device.persistent_id
    assert client.cookies["sessionid"].value != before
    assert client.get(reverse("accounts:profile")).status_code == 200


def test_a_code_works_only_once(coordinator, clock):
    _, device = enrol(coordinator, clock)
    code = code_for(device)
    first, _ = sign_in_password(coordinator.email)
    assert first.post(reverse("accounts:login_verify"), {"code": code}).status_code == 302
    second, _ = sign_in_password(coordinator.email)
    response = second.post(reverse("accounts:login_verify"), {"code": code})
    assert WRONG_CODE in response.content.decode()
    assert SESSION_KEY not in second.session


def test_the_code_step_expires(coordinator, clock):
    _, device = enrol(coordinator, clock)
    client, _ = sign_in_password(coordinator.email)
    clock.shift(dt.timedelta(minutes=6))
    response = client.post(
        reverse("accounts:login_verify"), {"code": code_for(device)}, follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("accounts:login")
    assert "That took too long: sign in again." in response.content.decode()
    assert SESSION_KEY not in client.session


def test_people_without_a_device_sign_in_as_before(coordinator, student):
    for user in (coordinator, student):
        client, response = sign_in_password(user.email)
        assert response.url == reverse("home")
        assert client.session[SESSION_KEY] == str(user.pk)


def test_enrolling_ends_the_other_sessions_and_the_token(coordinator, clock):
    elsewhere, _ = sign_in_password(coordinator.email)
    APIClient().post(
        reverse("api:token"), {"email": coordinator.email, "password": PASSWORD}, format="json"
    )
    here, _ = enrol(coordinator, clock)
    assert here.get(reverse("accounts:profile")).status_code == 200
    assert elsewhere.get(reverse("accounts:profile")).status_code == 302
    assert not Token.objects.filter(user=coordinator).exists()


def test_the_token_login_needs_the_code_too(coordinator, clock):
    _, device = enrol(coordinator, clock)
    url, credentials = reverse("api:token"), {"email": coordinator.email, "password": PASSWORD}
    response = APIClient().post(url, credentials, format="json")
    assert response.status_code == 400
    assert "code" in response.json()["fields"]
    response = APIClient().post(url, {**credentials, "code": wrong_code_for(device)}, format="json")
    assert response.json() == {"message": WRONG_CODE, "fields": {"code": [WRONG_CODE]}}
    assert not Token.objects.filter(user=coordinator).exists()
    clock.shift(HALF_MINUTE)
    response = APIClient().post(url, {**credentials, "code": code_for(device)}, format="json")
    assert response.json()["token"] == Token.objects.get(user=coordinator).key


def test_the_admin_asks_enrolled_staff_for_their_code(staff, clock):
    _, device = enrol(staff, clock)
    staff.refresh_from_db()  # enrolling gave it a new session nonce
    client = Client()
    client.force_login(staff)  # a session opened without the code
    response = client.get("/admin/", follow=True)
    assert response.redirect_chain[-1][0] == reverse("accounts:login_verify") + "?next=/admin/"
    response = client.post(
        reverse("accounts:login_verify"), {"code": code_for(device), "next": "/admin/"}
    )
    assert response.url == "/admin/"
    assert "MedMentor administration" in client.get("/admin/").content.decode()


def test_the_admin_lets_staff_without_a_device_in_and_sends_others_to_sign_in(staff, student):
    client = Client()
    client.force_login(staff)
    assert client.get("/admin/").status_code == 200
    response = Client().get("/admin/", follow=True)
    assert response.redirect_chain[-1][0] == reverse("accounts:login") + "?next=/admin/"
    student_client = Client()
    student_client.force_login(student)
    assert student_client.get("/admin/", follow=True).status_code == 403


def test_turning_it_off_needs_a_current_code(coordinator, clock):
    client, device = enrol(coordinator, clock)
    response = client.post(
        reverse("accounts:two_factor_disable"), {"code": wrong_code_for(device)}, follow=True
    )
    assert WRONG_CODE in response.content.decode()
    assert TOTPDevice.objects.filter(user=coordinator, confirmed=True).exists()
    clock.shift(HALF_MINUTE)
    response = client.post(
        reverse("accounts:two_factor_disable"), {"code": code_for(device)}, follow=True
    )
    assert "Two-factor sign-in is off." in response.content.decode()
    assert not TOTPDevice.objects.filter(user=coordinator).exists()
    assert AuditEvent.objects.filter(action="account.two_factor_disable").count() == 1
    _, response = sign_in_password(coordinator.email)
    assert response.url == reverse("home")
