"""Reporting a request or a message, blocking its sender, and staff resolving reports."""

from __future__ import annotations

import pytest
from django.core import mail
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.choices import Role
from accounts.models import AuditEvent, Block, Notification, User
from matching import runs, safety, services
from matching.models import MentorRequest, Report
from mentorship.exceptions import ApplicationError
from mentorship.models import Mentorship
from tests.conftest import client_for
from tests.factories import UserFactory
from tests.matching.programs import pairs, run_now, trio_program

pytestmark = pytest.mark.django_db

CREEPY = "Send me photos of yourself first, then we can talk about research."


def api(user: User | None = None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


@pytest.fixture
def staff(db) -> User:
    return UserFactory(email="safety@test.example", role=Role.STAFF, is_staff=True,
                       is_superuser=True)  # fmt: skip


@pytest.fixture
def asked(student, mentors) -> MentorRequest:
    """A student's pending request to mentor 0, with a question from the mentor."""
    (request,) = services.request_send(
        mentee=student, mentors=[mentors[0]], expectations="Research and residency advice."
    )
    services.request_ask_info(mentor=mentors[0], request_id=request.pk, question=CREEPY)
    request.refresh_from_db()
    return request


def report(user, request, **data):
    body = {"reason": "harassment", **data}
    return api(user).post(reverse("api:request_report", args=[request.pk]), body, format="json")


# --- Reporting ---------------------------------------------------------------------------


def test_a_mentor_reports_a_request_and_blocks_the_sender(
    student, mentors, staff, django_capture_on_commit_callbacks
):
    (request,) = services.request_send(
        mentee=student, mentors=[mentors[0], mentors[1]][:1], expectations="Be my friend?"
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = report(mentors[0], request, reason="spam", details="Selling courses", block=True)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["reason"], body["status"], body["message"], body["about"]) == (
        "spam", "open", None, student.display_name,
    )  # fmt: skip

    row = Report.objects.get()
    assert (row.reporter, row.reported, row.request_id, row.message) == (
        mentors[0], student, request.pk, None,
    )  # fmt: skip
    assert Block.objects.filter(blocker=mentors[0], blocked=student).exists()
    # The open request is declined like any other: the student is not told why.
    request.refresh_from_db()
    assert request.status == MentorRequest.Status.DECLINED and request.slot is None
    notice = Notification.objects.filter(user=student).latest("pk")
    assert notice.message.startswith(f"{mentors[0].display_name} can't take your request.")
    # Staff hear of it, without who or what.
    alert = Notification.objects.get(user=staff, kind="safety.report")
    assert alert.url == reverse("admin:matching_report_change", args=[row.pk])
    (email,) = [m for m in mail.outbox if m.subject == "A report needs review"]
    assert email.to == [staff.email]
    assert "Selling" not in email.body and student.email not in email.body
    assert set(AuditEvent.objects.values_list("action", flat=True)) >= {
        "safety.report",
        "safety.block",
    }


def test_a_student_reports_a_mentors_message(student, mentors, asked):
    message = asked.messages.get()
    response = report(student, asked, reason="sexual", message=message.pk)
    assert response.status_code == 201, response.json()
    row = Report.objects.get()
    assert (row.reporter, row.reported, row.message) == (student, mentors[0], message)
    # Reporting alone does not block or close anything.
    asked.refresh_from_db()
    assert asked.status == MentorRequest.Status.INFO_REQUESTED
    assert not Block.objects.exists()


@pytest.mark.parametrize(
    "who, data, expected",
    [
        ("student", {}, "Only the mentor can report a request"),
        ("mentor", {"message": "own"}, "You can only report what the other person wrote."),
        ("student", {"message": 999999}, "That message is not on this request."),
        ("student", {"reason": "rude"}, None),
    ],
    ids=["student-reports-own-request", "own-message", "foreign-message", "bad-reason"],
)
def test_reports_that_make_no_sense_get_a_clear_400(student, mentors, asked, who, data, expected):
    user = student if who == "student" else mentors[0]
    if data.get("message") == "own":
        data = {"message": asked.messages.get().pk}
    response = report(user, asked, **data)
    assert response.status_code == 400
    if expected:
        assert response.json()["message"].startswith(expected)
    else:
        assert "reason" in response.json()["fields"]
    assert not Report.objects.exists()


def test_reporting_twice_files_one_report(student, mentors, asked):
    message = asked.messages.get().pk
    assert report(student, asked, message=message).status_code == 201
    again = report(student, asked, message=message)
    assert again.status_code == 400
    assert again.json()["message"] == safety.ALREADY_REPORTED
    assert Report.objects.count() == 1


def test_nobody_else_can_report_or_block_on_a_request(asked, other_student, mentors, outsider):
    for user in (other_student, mentors[1], outsider):
        assert report(user, asked).status_code == 404
        response = api(user).post(reverse("api:request_block", args=[asked.pk]))
        assert response.status_code == 404
        assert (
            client_for(user).get(reverse("matching:request_report", args=[asked.pk])).status_code
            == 404
        )
    assert not Report.objects.exists() and not Block.objects.exists()


def test_a_mentor_cannot_act_on_a_request_still_queued_behind_others(student, mentors):
    _first, second = services.request_send(
        mentee=student, mentors=mentors[:2], expectations="Research advice, please."
    )
    assert report(mentors[1], second).status_code == 404
    block = api(mentors[1]).post(reverse("api:request_block", args=[second.pk]))
    assert block.status_code == 404
    assert not Block.objects.exists() and not Report.objects.exists()


def test_the_reported_person_never_sees_the_report(student, mentors, asked):
    report(student, asked, message=asked.messages.get().pk, details="He asked for photos")
    assert api(mentors[0]).get(reverse("api:reports")).json() == []
    mine = api(student).get(reverse("api:reports")).json()
    assert [(r["reason"], r["details"], r["status"]) for r in mine] == [
        ("harassment", "He asked for photos", "open")
    ]
    page = client_for(mentors[0]).get(reverse("matching:safety")).content.decode()
    assert "He asked for photos" not in page and "harassment" not in page.lower()


# --- Blocking ----------------------------------------------------------------------------


def test_a_blocked_student_no_longer_finds_or_asks_the_mentor(student, mentors, asked):
    response = api(mentors[0]).post(reverse("api:request_block", args=[asked.pk]))
    assert response.status_code == 201
    assert response.json()["display_name"] == student.display_name
    # Blocking twice is the same block.
    assert api(mentors[0]).post(reverse("api:request_block", args=[asked.pk])).status_code == 201
    assert Block.objects.count() == 1

    listed = api(student).get(reverse("api:mentors")).json()["results"]
    assert mentors[0].profile.pk not in [row["mentor"]["id"] for row in listed]
    assert mentors[1].profile.pk in [row["mentor"]["id"] for row in listed]
    assert api(student).get(reverse("api:mentor", args=[mentors[0].profile.pk])).status_code == 404
    with pytest.raises(ApplicationError) as refused:
        services.request_send(mentee=student, mentors=[mentors[0]], expectations="Again?")
    assert refused.value.fields["mentors"] == [
        f"{mentors[0].display_name} cannot take your request."
    ]

    # Unblocking undoes all of it.
    (block,) = api(mentors[0]).get(reverse("api:blocks")).json()
    assert api(mentors[0]).delete(reverse("api:block", args=[block["id"]])).status_code == 204
    assert services.request_send(mentee=student, mentors=[mentors[0]], expectations="Again?")


def test_only_the_blocker_sees_or_removes_a_block(student, mentors, asked):
    safety.block_from_request(user=mentors[0], request_id=asked.pk)
    block = Block.objects.get()
    assert api(student).get(reverse("api:blocks")).json() == []
    assert api(student).delete(reverse("api:block", args=[block.pk])).status_code == 404
    assert Block.objects.filter(pk=block.pk).exists()


def test_a_student_who_blocks_a_mentor_withdraws_the_request(student, mentors, asked):
    safety.block_from_request(user=student, request_id=asked.pk)
    asked.refresh_from_db()
    assert asked.status == MentorRequest.Status.WITHDRAWN
    assert Block.objects.filter(blocker=student, blocked=mentors[0]).exists()
    listed = api(student).get(reverse("api:mentors")).json()["results"]
    assert mentors[0].profile.pk not in [row["mentor"]["id"] for row in listed]


def test_a_student_who_blocks_the_mentor_asked_now_moves_on_to_the_next_choice(student, mentors):
    first, second = services.request_send(
        mentee=student, mentors=mentors[:2], expectations="Research advice, please."
    )
    safety.block_from_request(user=student, request_id=first.pk)
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == ("withdrawn", "pending")
    assert Notification.objects.filter(user=mentors[1], kind="request.received").exists()
    assert not Notification.objects.filter(user=student, kind="request.declined").exists()


def test_a_cohort_match_never_pairs_two_people_who_blocked_each_other(school, coordinator):
    program, people = trio_program(school, coordinator)
    assert ("Ben", "Dr. Ortho") in pairs(run_now(coordinator, program))
    Block.objects.create(blocker=people["ortho"], blocked=people["ben"])
    run = run_now(coordinator, program)
    assert not any(pair == ("Ben", "Dr. Ortho") for pair in pairs(run))
    # Placing the pair by hand is refused too (after freeing Ben and Dr. Ortho).
    for proposal in run.proposals.filter(mentee=people["ben"]) | run.proposals.filter(
        mentor=people["ortho"]
    ):
        runs.proposal_remove(
            user=coordinator, program_id=program.pk, run_id=run.pk, proposal_id=proposal.pk
        )
    with pytest.raises(ApplicationError, match="breaks a rule"):
        runs.proposal_assign(
            user=coordinator,
            program_id=program.pk,
            run_id=run.pk,
            mentee_id=people["ben"].pk,
            mentor_id=people["ortho"].pk,
        )
    assert not run.proposals.filter(mentee=people["ben"], mentor=people["ortho"]).exists()
    # The other way round (the student blocked the mentor) holds too.
    Block.objects.all().delete()
    Block.objects.create(blocker=people["ben"], blocked=people["ortho"])
    assert ("Ben", "Dr. Ortho") not in pairs(run_now(coordinator, program))


# --- Staff review ------------------------------------------------------------------------


def open_report(student, asked) -> Report:
    return safety.report_create(
        user=student, request_id=asked.pk, message_id=asked.messages.get().pk, reason="sexual"
    )


def test_staff_warn_the_sender_and_thank_the_reporter(student, mentors, asked, staff):
    row = open_report(student, asked)
    safety.report_resolve(staff=staff, report_id=row.pk, outcome="warned", note="First time")
    row.refresh_from_db()
    assert (row.status, row.outcome, row.resolved_by) == ("resolved", "warned", staff)
    warning = Notification.objects.get(user=mentors[0], kind="safety.warning")
    assert "community guidelines" in warning.message and student.display_name not in warning.message
    assert Notification.objects.filter(user=student, kind="safety.report_reviewed").exists()
    with pytest.raises(ApplicationError, match="already reviewed"):
        safety.report_resolve(staff=staff, report_id=row.pk, outcome="no_action")


def test_suspending_the_sender_ends_their_sessions_and_tokens(student, mentors, asked, staff):
    row = open_report(student, asked)
    session = client_for(mentors[0])
    Token.objects.create(user=mentors[0])
    safety.report_resolve(staff=staff, report_id=row.pk, outcome="suspended")
    mentors[0].refresh_from_db()
    assert not mentors[0].is_active and not Token.objects.filter(user=mentors[0]).exists()
    response = session.get(reverse("matching:inbox"))
    assert response.status_code == 302 and reverse("accounts:login") in response["Location"]
    assert AuditEvent.objects.get(action="safety.report_resolve").detail == {
        "outcome": "suspended",
        "tokens_revoked": 1,
    }


def test_a_suspended_students_requests_close_and_a_publish_skips_a_blocked_pair(
    student, mentors, staff
):
    first, second = services.request_send(
        mentee=student, mentors=mentors[:2], expectations="Research advice, please."
    )
    services.request_ask_info(mentor=mentors[0], request_id=first.pk, question=CREEPY)
    row = safety.report_create(
        user=student, request_id=first.pk, message_id=first.messages.get().pk, reason="sexual"
    )
    mentor_report = safety.report_create(user=mentors[0], request_id=first.pk, reason="spam")
    safety.report_resolve(staff=staff, report_id=mentor_report.pk, outcome="suspended")
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == ("withdrawn", "withdrawn")
    assert not MentorRequest.objects.filter(mentee=student, status__in=MentorRequest.OPEN)
    assert Report.objects.get(pk=row.pk).status == "open"


def test_a_block_made_after_the_run_keeps_the_pair_from_being_published(school, coordinator):
    program, people = trio_program(school, coordinator)
    run = run_now(coordinator, program)
    assert ("Ben", "Dr. Ortho") in pairs(run)
    Block.objects.create(blocker=people["ortho"], blocked=people["ben"])
    runs.run_publish(user=coordinator, program_id=program.pk, run_id=run.pk)
    started = set(Mentorship.objects.values_list("mentee__full_name", "mentor__full_name"))
    assert ("Ben", "Ortho") not in started and len(started) == 2


def test_only_staff_resolve_and_staff_are_not_suspended_from_a_report(student, mentors, asked):
    row = open_report(student, asked)
    with pytest.raises(ApplicationError, match="Only staff"):
        safety.report_resolve(staff=mentors[1], report_id=row.pk, outcome="no_action")
    mentors[0].is_staff = True
    mentors[0].save()
    boss = UserFactory(role=Role.STAFF, is_staff=True)
    with pytest.raises(ApplicationError, match="cannot be suspended"):
        safety.report_resolve(staff=boss, report_id=row.pk, outcome="suspended")
    assert Report.objects.get(pk=row.pk).status == "open"


def test_staff_resolve_in_the_admin(student, mentors, asked, staff):
    row = open_report(student, asked)
    client = client_for(staff)
    url = reverse("admin:matching_report_change", args=[row.pk])
    page = client.get(url)
    assert page.status_code == 200 and CREEPY in page.content.decode()
    missing = client.post(url, {"outcome": "", "staff_note": ""})
    assert missing.status_code == 200 and "Choose an outcome" in missing.content.decode()
    response = client.post(url, {"outcome": "no_action", "staff_note": "Ambiguous"})
    assert response.status_code == 302
    row.refresh_from_db()
    assert (row.status, row.outcome, row.staff_note) == ("resolved", "no_action", "Ambiguous")
    # A resolved report is read-only.
    assert 'name="_save"' not in client.get(url).content.decode()


# --- Pages -------------------------------------------------------------------------------


def test_the_report_page_quotes_the_message_and_files_the_report(student, mentors, asked):
    client = client_for(student)
    message = asked.messages.get()
    requests_page = client.get(reverse("matching:requests")).content.decode()
    link = reverse("matching:request_report", args=[asked.pk]) + f"?message={message.pk}"
    assert link in requests_page

    page = client.get(link)
    assert page.status_code == 200 and CREEPY in page.content.decode()
    bad = client.post(link, {"message": message.pk, "reason": ""})
    assert bad.status_code == 200 and "This field is required" in bad.content.decode()
    response = client.post(link, {"message": message.pk, "reason": "sexual", "block": "on"})
    assert response.status_code == 302
    assert Report.objects.filter(reporter=student, message=message).exists()
    assert Block.objects.filter(blocker=student, blocked=mentors[0]).exists()

    safety_page = client.get(reverse("matching:safety")).content.decode()
    assert mentors[0].display_name in safety_page and "Waiting for review" in safety_page
    block = Block.objects.get()
    client.post(reverse("matching:block_remove", args=[block.pk]))
    assert not Block.objects.exists()


def test_the_inbox_offers_report_or_block_and_blocking_works(student, mentors, asked):
    client = client_for(mentors[0])
    inbox = client.get(reverse("matching:inbox")).content.decode()
    assert reverse("matching:request_report", args=[asked.pk]) in inbox
    response = client.post(reverse("matching:request_block", args=[asked.pk]))
    assert response.status_code == 302
    asked.refresh_from_db()
    assert asked.status == MentorRequest.Status.DECLINED
    assert student.display_name in client.get(reverse("matching:safety")).content.decode()
