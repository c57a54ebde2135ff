"""The audit log: a row for every sign-in and failed sign-in on both doors, sign-outs,
wrong second-factor codes and every change made in the admin; staff browse it; nobody
changes or deletes a row, on PostgreSQL not even with raw SQL."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, InternalError, ProgrammingError, connection, transaction
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.choices import Role
from accounts.models import AuditEvent, AuditLogIsAppendOnly, Institution, User
from tests.conftest import PASSWORD, client_for
from tests.factories import UserFactory


@pytest.fixture
def superuser(db) -> User:
    return UserFactory(email="root@test.example", role=Role.STAFF, is_staff=True, is_superuser=True)


def events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("pk"))


def html_login(email: str, password: str) -> Client:
    client = Client()
    client.post(reverse("accounts:login"), {"username": email, "password": password})
    return client


def api_login(email: str, password: str) -> int:
    response = APIClient().post(
        reverse("api:token"), {"email": email, "password": password}, format="json"
    )
    return response.status_code


# --- Sign-ins ----------------------------------------------------------------------------


def test_a_web_sign_in_is_recorded_with_who_and_which_school(student, school):
    html_login(student.email, PASSWORD)
    (event,) = events("auth.sign_in")
    assert event.actor == student
    assert (event.object_type, event.object_id) == ("accounts.user", str(student.pk))
    assert event.institution == school
    assert event.detail == {"via": "web"}


def test_an_api_token_sign_in_is_recorded(student):
    assert api_login(student.email, PASSWORD) == 200
    (event,) = events("auth.sign_in")
    assert event.actor == student and event.detail == {"via": "api"}


def test_a_wrong_password_is_recorded_against_the_account_without_what_was_typed(student, school):
    html_login(student.email.upper(), "not-my-password-123")
    assert api_login(student.email, "another-wrong-one-456") == 400
    web, api = events("auth.sign_in_failed")
    for event, via in ((web, "web"), (api, "api")):
        assert event.actor is None  # whoever typed it is not known to be the person
        assert event.object_id == str(student.pk) and event.institution == school
        assert event.detail == {"via": via, "reason": "wrong password"}
    stored = str(list(AuditEvent.objects.values()))
    assert "not-my-password" not in stored and "another-wrong" not in stored
    assert not events("auth.sign_in")


def test_an_unknown_address_is_recorded_without_the_address(db):
    html_login("nobody-here@test.example", "whatever-it-is-1")
    (event,) = events("auth.sign_in_failed")
    assert (event.object_id, event.institution) == ("", None)
    assert event.detail == {"via": "web", "reason": "unknown account"}
    assert "nobody-here" not in str(list(AuditEvent.objects.values()))


def test_attempts_on_a_locked_account_are_recorded_as_locked(student, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT + 1):
        html_login(student.email, "not-my-password-123")
    html_login(student.email, PASSWORD)
    reasons = [event.detail["reason"] for event in events("auth.sign_in_failed")]
    # The attempt that reaches the limit is refused as locked, as is every one after it,
    # the right password included.
    limit = settings.AXES_FAILURE_LIMIT
    assert reasons == ["wrong password"] * (limit - 1) + ["locked"] * 3
    assert not events("auth.sign_in")


def test_signing_out_is_recorded(student):
    client = html_login(student.email, PASSWORD)
    client.post(reverse("accounts:logout"))
    (event,) = events("auth.sign_out")
    assert event.actor == student


def test_a_wrong_second_factor_code_is_recorded(coordinator, school):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from accounts import services

    TOTPDevice.objects.create(user=coordinator, name="phone", confirmed=True)
    with pytest.raises(services.ApplicationError):
        services.two_factor_verify(user=coordinator, code="000000x")
    (event,) = events("auth.second_factor_failed")
    assert event.actor is None and event.object_id == str(coordinator.pk)
    assert event.institution == school


# --- The admin ---------------------------------------------------------------------------


def test_an_admin_change_records_who_changed_which_fields_but_not_the_values(superuser, student):
    client = client_for(superuser)
    url = reverse("admin:accounts_user_change", args=[student.pk])
    form = {
        "email": student.email,
        "full_name": "Renamed By Staff",
        "role": student.role,
        "is_active": "on",
        "last_login_0": "",
        "last_login_1": "",
        "date_joined_0": "2026-01-01",
        "date_joined_1": "09:00:00",
    }
    response = client.post(url, form)
    assert response.status_code == 302, response.content.decode()[:2000]
    (event,) = events("admin.change")
    assert event.actor == superuser
    assert (event.object_type, event.object_id) == ("accounts.user", str(student.pk))
    assert "Full name" in event.detail["fields"]
    assert "Renamed By Staff" not in str(event.detail)


def test_admin_additions_and_deletions_are_recorded(superuser):
    client = client_for(superuser)
    response = client.post(
        reverse("admin:accounts_institution_add"),
        {
            "name": "Harbor College of Medicine",
            "slug": "harbor",
            "kind": "medical_school",
            "timezone": "America/New_York",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    harbor = Institution.objects.get(slug="harbor")
    (added,) = events("admin.add")
    assert added.actor == superuser and added.object_id == str(harbor.pk)
    assert added.institution_id == harbor.pk

    response = client.post(
        reverse("admin:accounts_institution_delete", args=[harbor.pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    assert not Institution.objects.filter(pk=harbor.pk).exists()
    (deleted,) = events("admin.delete")
    assert deleted.actor == superuser and deleted.object_id == str(harbor.pk)
    # The school's rows outlive it, without the link (the one change a row may undergo).
    kept = AuditEvent.objects.get(pk=added.pk)
    assert kept.object_id == str(harbor.pk) and kept.institution_id is None


def test_staff_browse_the_log_and_cannot_add_change_or_delete_rows(superuser, student):
    html_login(student.email, PASSWORD)
    event = AuditEvent.objects.get(action="auth.sign_in", actor=student)
    client = client_for(superuser)
    listing = client.get(reverse("admin:accounts_auditevent_changelist"))
    assert listing.status_code == 200 and "auth.sign_in" in listing.content.decode()
    assert client.get(reverse("admin:accounts_auditevent_add")).status_code == 403
    detail = client.get(reverse("admin:accounts_auditevent_change", args=[event.pk]))
    assert detail.status_code == 200 and 'name="_save"' not in detail.content.decode()
    assert (
        client.post(reverse("admin:accounts_auditevent_delete", args=[event.pk])).status_code == 403
    )
    assert AuditEvent.objects.filter(pk=event.pk).exists()


# --- Append-only -------------------------------------------------------------------------


def test_the_application_cannot_change_or_delete_a_row(student):
    event = AuditEvent.objects.create(actor=student, action="test.event")
    event.action = "test.rewritten"
    with pytest.raises(AuditLogIsAppendOnly):
        event.save()
    with pytest.raises(AuditLogIsAppendOnly):
        event.delete()
    with pytest.raises(AuditLogIsAppendOnly):
        AuditEvent.objects.filter(pk=event.pk).update(action="test.rewritten")
    with pytest.raises(AuditLogIsAppendOnly):
        AuditEvent.objects.filter(pk=event.pk).delete()
    assert AuditEvent.objects.get(pk=event.pk).action == "test.event"


@pytest.mark.postgres
def test_on_postgresql_not_even_raw_sql_changes_or_deletes_a_row(postgres, student, school):
    event = AuditEvent.objects.create(actor=student, action="test.event", institution=school)
    for sql in (
        "UPDATE accounts_auditevent SET action = 'test.rewritten' WHERE id = %s",
        "UPDATE accounts_auditevent SET actor_id = NULL, detail = '{\"x\": 1}' WHERE id = %s",
        "DELETE FROM accounts_auditevent WHERE id = %s",
    ):
        refused = pytest.raises((InternalError, ProgrammingError, IntegrityError))
        with refused, transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [event.pk])
    assert AuditEvent.objects.get(pk=event.pk).action == "test.event"

    # Deleting the person keeps their rows, without the link (ON DELETE SET NULL).
    User.objects.filter(pk=student.pk).delete()
    kept = AuditEvent.objects.get(pk=event.pk)
    assert kept.actor_id is None and kept.institution_id == school.pk
