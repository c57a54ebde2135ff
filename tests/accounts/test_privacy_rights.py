"""Privacy rights: a person downloads everything held about them, or deletes their account."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token

from accounts.models import (
    AuditEvent,
    Block,
    ConflictOfInterest,
    Demographics,
    Notification,
    NotificationSettings,
    Profile,
    User,
)
from accounts.privacy import account_delete, personal_data_export
from matching.models import Bookmark, MentorRequest, Report
from matching.services import request_send
from mentorship.exceptions import ApplicationError
from mentorship.models import CheckIn, Feedback, Mentorship, Note, Pulse
from tests.conftest import api_for, client_for
from tests.factories import DemographicsFactory, UserFactory
from tests.mentorship.conftest import make_pair

PASSWORD = "correct-horse-battery-staple"


@pytest.fixture
def mentorship(at, student: User, physician: User) -> Mentorship:
    """Maya and Dr Physician, with a completed and an upcoming check-in, notes and pulses."""
    pairing = make_pair(at, student, physician, sign=(student, physician))
    done = CheckIn.objects.create(
        mentorship=pairing,
        scheduled_at=timezone.now() - dt.timedelta(days=3),
        status=CheckIn.Status.COMPLETED,
        completed_at=timezone.now() - dt.timedelta(days=3),
        agenda="Talk about away rotations",
    )
    CheckIn.objects.create(mentorship=pairing, scheduled_at=timezone.now() + dt.timedelta(days=7))
    Note.objects.create(mentorship=pairing, author=student, body="MY PRIVATE NOTE")
    Note.objects.create(mentorship=pairing, author=student, body="MY SHARED NOTE", shared=True)
    Note.objects.create(mentorship=pairing, author=physician, body="HIS PRIVATE NOTE")
    Note.objects.create(mentorship=pairing, author=physician, body="HIS SHARED NOTE", shared=True)
    Pulse.objects.create(checkin=done, person=student, answer=Pulse.Answer.YES)
    Pulse.objects.create(checkin=done, person=physician, answer=Pulse.Answer.NO)
    return pairing


# --- Download my data -------------------------------------------------------------


def test_export_holds_the_persons_own_data(mentorship, student, physician, other_student):
    DemographicsFactory(user=student, gender="woman", ethnicities=["asian"])
    DemographicsFactory(user=other_student, gender="man", ethnicities=["black"])
    Bookmark.objects.create(user=student, mentor=physician)
    NotificationSettings.objects.create(user=student, delivery={"digest": "email"})
    Block.objects.create(blocker=student, blocked=other_student)
    request = MentorRequest.objects.get(mentee=student)
    Report.objects.create(
        reporter=student, reported=physician, request=request, reason="spam", details="MINE"
    )
    Report.objects.create(
        reporter=physician, reported=student, request=request, reason="other", details="HIS"
    )

    data = personal_data_export(user=student)
    json.dumps(data)  # JSON-ready as it is

    assert data["account"]["email"] == "student@test.example"
    assert data["account"]["full_name"] == "Maya Student"
    assert data["profile"]["institution"] == "Northlake School of Medicine"
    assert data["demographics"]["gender"] == "woman"
    assert data["demographics"]["ethnicities"] == ["asian"]
    assert data["notification_settings"]["delivery"] == {"digest": "email"}
    assert data["bookmarks"][0]["mentor"] == "Dr. Paul Physician"
    assert [b["person"] for b in data["people_blocked"]] == [other_student.display_name]
    # The reports the student made; not the one made about them.
    assert [(r["reason"], r["details"]) for r in data["reports_made"]] == [("spam", "MINE")]
    assert "HIS" not in json.dumps(data["reports_made"])
    [request] = data["requests"]
    assert (request["direction"], request["status"]) == ("sent", "accepted")
    assert request["expectations"] == "Monthly talks about research."
    [held] = data["mentorships"]
    assert (held["as"], held["other_party"]) == ("mentee", "Dr. Paul Physician")
    assert held["agreement"]["mentee_signed_at"] is not None
    assert {c["agenda"] for c in held["checkins"]} == {"Talk about away rotations", ""}
    assert {n["body"] for n in held["notes"]} == {
        "MY PRIVATE NOTE",
        "MY SHARED NOTE",
        "HIS SHARED NOTE",
    }
    assert [p["answer"] for p in held["pulses"]] == ["yes"]
    assert data["notifications"]  # the agreement notices


def test_export_leaves_out_other_peoples_private_data(
    mentorship, student, physician, other_student
):
    DemographicsFactory(user=other_student, gender="man", ethnicities=["black"])
    DemographicsFactory(user=physician, gender="man", ethnicities=["hispanic"])
    Feedback.objects.create(
        mentorship=mentorship, author=physician, rating=2, goals_met="no",
        comment="HIS PRIVATE COMMENT", thank_you="Thanks, Maya!",
    )  # fmt: skip

    data = personal_data_export(user=student)
    text = json.dumps(data)

    assert "HIS PRIVATE NOTE" not in text
    assert "HIS PRIVATE COMMENT" not in text
    assert '"no"' not in json.dumps(data["mentorships"][0]["pulses"])
    assert data["demographics"] is None
    assert "hispanic" not in text and "black" not in text
    assert "physician@test.example" not in text and "student2@test.example" not in text
    [held] = data["mentorships"]
    assert held["thank_yous_received"][0]["thank_you"] == "Thanks, Maya!"
    assert held["feedback_written"] == []


def test_mentor_export_shows_received_requests_and_own_side(mentorship, student, physician):
    data = personal_data_export(user=physician)
    text = json.dumps(data)
    assert data["requests"][0]["direction"] == "received"
    assert data["requests"][0]["other_party"] == "Maya Student"
    assert data["mentorships"][0]["as"] == "mentor"
    assert [p["answer"] for p in data["mentorships"][0]["pulses"]] == ["no"]
    assert "MY PRIVATE NOTE" not in text


def test_download_page_sends_a_dated_json_attachment_and_audits(mentorship, student):
    client = client_for(student)
    assert b"Download my data (JSON)" in client.get(reverse("accounts:privacy")).content

    response = client.get(reverse("accounts:privacy_export"))

    assert response.status_code == 200
    day = timezone.localdate().isoformat()
    assert response["Content-Disposition"] == f"attachment; filename=medmentor-data-{day}.json"
    assert json.loads(response.content)["account"]["email"] == "student@test.example"
    event = AuditEvent.objects.get(action="account.export")
    assert event.actor == student
    assert event.detail == {}


def test_export_api_returns_the_same_data(mentorship, student):
    response = api_for(student).get("/api/v1/me/export/")
    assert response.status_code == 200
    assert response.json()["mentorships"][0]["other_party"] == "Dr. Paul Physician"
    assert AuditEvent.objects.filter(action="account.export", actor=student).count() == 1


def test_export_needs_sign_in(db):
    assert api_for(None).get("/api/v1/me/export/").status_code in (401, 403)
    response = client_for(None).get(reverse("accounts:privacy_export"))
    assert response.status_code == 302


# --- Delete my account ------------------------------------------------------------


def test_wrong_password_deletes_nothing(mentorship, student):
    DemographicsFactory(user=student, gender="woman")
    with pytest.raises(ApplicationError) as error:
        account_delete(user=student, password="wrong", confirm="delete")
    assert "password" in error.value.fields
    student.refresh_from_db()
    assert student.email == "student@test.example" and student.is_active
    assert Demographics.objects.filter(user=student).exists()
    mentorship.refresh_from_db()
    assert mentorship.status == Mentorship.Status.ACTIVE
    assert not AuditEvent.objects.filter(action="account.delete").exists()


def test_missing_confirmation_deletes_nothing(student):
    with pytest.raises(ApplicationError) as error:
        account_delete(user=student, password=PASSWORD, confirm="yes")
    assert "confirm" in error.value.fields
    student.refresh_from_db()
    assert student.is_active


def test_deletion_anonymises_and_releases_everything(
    mentorship, student, physician, resident, django_capture_on_commit_callbacks
):
    physician.profile.refresh_from_db()
    assert physician.profile.active_mentees == 1
    DemographicsFactory(user=student, gender="woman")
    Bookmark.objects.create(user=student, mentor=resident)
    Token.objects.create(user=student)
    with django_capture_on_commit_callbacks(execute=True):
        [open_request] = request_send(
            mentee=student, mentors=[resident], expectations="Help with research, please."
        )

    with django_capture_on_commit_callbacks(execute=True):
        account_delete(user=student, password=PASSWORD, confirm="delete")

    student.refresh_from_db()
    assert student.email == f"deleted-{student.pk}@invalid.example"
    assert student.full_name == "Former member"
    assert not student.is_active and not student.has_usable_password()
    login = client_for(None)
    for email in ("student@test.example", student.email):
        login.post(reverse("accounts:login"), {"username": email, "password": PASSWORD})
        assert "_auth_user_id" not in login.session
    assert not Demographics.objects.filter(user=student).exists()
    assert not Bookmark.objects.filter(user=student).exists()
    assert not Token.objects.filter(user=student).exists()
    assert not Notification.objects.filter(user=student).exists()
    profile = Profile.objects.get(user=student)
    assert (profile.bio, profile.institution, profile.seeking_mentor) == ("", None, False)
    assert not profile.specialties.exists()
    # Private notes go; shared ones stay in the mentor's history.
    assert set(Note.objects.filter(author=student).values_list("body", flat=True)) == {
        "MY SHARED NOTE"
    }
    open_request.refresh_from_db()
    assert open_request.status == MentorRequest.Status.WITHDRAWN

    mentorship.refresh_from_db()
    assert mentorship.status == Mentorship.Status.ENDED
    assert not mentorship.checkins.filter(status=CheckIn.Status.SCHEDULED).exists()
    physician.profile.refresh_from_db()
    assert physician.profile.active_mentees == 0
    notice = Notification.objects.filter(user=physician).first()
    assert notice is not None and notice.message.startswith("Maya Student has left MedMentor")

    page = client_for(physician).get(reverse("mentorships:detail", args=[mentorship.pk]))
    assert page.status_code == 200
    assert "Former member" in page.content.decode()
    assert "Maya Student" not in page.content.decode()

    event = AuditEvent.objects.get(action="account.delete")
    assert event.actor_id == student.pk
    assert event.detail == {"mentorships_ended": 1}


def test_deleting_a_mentor_declines_waiting_requests(physician, student):
    [request] = request_send(mentee=student, mentors=[physician], expectations="Please help.")
    account_delete(user=physician, password=PASSWORD, confirm="delete")
    request.refresh_from_db()
    assert request.status == MentorRequest.Status.DECLINED
    assert not ConflictOfInterest.objects.filter(mentor=physician).exists()
    physician.refresh_from_db()
    assert physician.display_name == "Former member"  # no "Dr." before it


def test_coordinators_cannot_delete_themselves(coordinator):
    with pytest.raises(ApplicationError, match="school must"):
        account_delete(user=coordinator, password=PASSWORD, confirm="delete")
    coordinator.refresh_from_db()
    assert coordinator.is_active and coordinator.email == "coordinator@test.example"


def test_staff_cannot_delete_themselves(db):
    staff = UserFactory(is_staff=True)
    with pytest.raises(ApplicationError):
        account_delete(user=staff, password=PASSWORD, confirm="delete")


def test_delete_page_signs_out_and_says_it_is_done(student):
    client = client_for(student)
    response = client.post(reverse("accounts:privacy"), {"password": PASSWORD, "confirm": "delete"})
    assert response.status_code == 200
    assert "Your account is deleted" in response.content.decode()
    assert client.get(reverse("accounts:privacy")).status_code == 302  # signed out
    student.refresh_from_db()
    assert not student.is_active


def test_delete_page_shows_the_wrong_password(student):
    response = client_for(student).post(
        reverse("accounts:privacy"), {"password": "nope", "confirm": "delete"}
    )
    assert "That is not your current password." in response.content.decode()
    student.refresh_from_db()
    assert student.is_active


def test_other_sessions_end(student):
    other = client_for(student)
    client_for(student).post(
        reverse("accounts:privacy"), {"password": PASSWORD, "confirm": "delete"}
    )
    assert other.get(reverse("accounts:privacy")).status_code == 302


def test_delete_api(mentorship, student, physician):
    api = api_for(student)
    wrong = api.post("/api/v1/me/delete/", {"password": "wrong", "confirm": "delete"})
    assert wrong.status_code == 400
    assert "password" in wrong.json()["fields"]
    student.refresh_from_db()
    assert student.is_active

    response = api.post("/api/v1/me/delete/", {"password": PASSWORD, "confirm": "delete"})

    assert response.status_code == 204
    student.refresh_from_db()
    assert student.full_name == "Former member" and not student.is_active
    physician.profile.refresh_from_db()
    assert physician.profile.active_mentees == 0


def test_delete_api_refuses_coordinators(coordinator):
    response = api_for(coordinator).post(
        "/api/v1/me/delete/", {"password": PASSWORD, "confirm": "delete"}
    )
    assert response.status_code == 400
    assert "school must" in response.json()["message"]
    coordinator.refresh_from_db()
    assert coordinator.is_active


# --- Retention --------------------------------------------------------------------


def test_purge_deletes_only_inactive_peoples_demographics(student, other_student, resident):
    from django.core.management import call_command

    now = timezone.now()
    User.objects.filter(pk=student.pk).update(last_login=now - dt.timedelta(days=10))
    User.objects.filter(pk=other_student.pk).update(last_login=now - dt.timedelta(days=400))
    User.objects.filter(pk=resident.pk).update(is_active=False, last_login=now)
    for person in (student, other_student, resident):
        DemographicsFactory(user=person, gender="woman")

    call_command("purge_inactive_demographics", "--days", "365", stdout=io.StringIO())

    assert list(Demographics.objects.values_list("user_id", flat=True)) == [student.pk]
    assert AuditEvent.objects.get(action="demographics.purge").detail == {
        "days": 365,
        "deleted": 2,
    }
