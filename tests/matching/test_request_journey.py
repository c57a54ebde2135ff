"""Who is told what along a request's life: in-app notices and emails, after commit."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.core import mail
from django.db import transaction
from django.utils import timezone

from accounts.models import Notification
from matching import services
from matching.models import MentorRequest
from matching.notifications import EVENTS, request_event_send
from mentorship.services import request_accept

pytestmark = pytest.mark.django_db


def send(student, mentors):
    return services.request_send(
        mentee=student, mentors=mentors, expectations="Monthly calls about research."
    )


def notices(user):
    return list(Notification.objects.filter(user=user).values_list("kind", "message", "url"))


def test_on_decline_the_student_learns_which_choice_has_it_now(
    student, mentors, django_capture_on_commit_callbacks
):
    first, _ = send(student, mentors[:2])
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.request_decline(mentor=mentors[0], request_id=first.pk, reason="no_capacity")
    told = mail.outbox[0]
    assert told.to == [student.email]
    assert "Your request has passed to your next choice, Dr. Mentor 1" in told.body
    assert "<strong>Dr. Mentor 1</strong>" in told.alternatives[0][0]
    assert notices(student) == [
        (
            "request.declined",
            "Dr. Mentor 0 can't take your request. "
            "Your request passed to your next choice, Dr. Mentor 1.",
            f"/matching/requests/#request-{first.pk}",
        )
    ]
    assert [n[0] for n in notices(mentors[1])] == ["request.received"]


def test_on_expiry_the_student_learns_which_choice_has_it_now(
    student, mentors, django_capture_on_commit_callbacks
):
    send(student, mentors[:2])
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.requests_expire_due(now=timezone.now() + dt.timedelta(days=15))
    assert [(m.to, m.subject) for m in mail.outbox] == [
        ([student.email], "Your request to Dr. Mentor 0 expired"),
        ([mentors[1].email], "Maya Student would like you as a mentor"),
    ]
    assert "passed to your next choice, Dr. Mentor 1" in mail.outbox[0].body
    assert notices(student)[0][1] == (
        "Dr. Mentor 0 did not answer in time. "
        "Your request passed to your next choice, Dr. Mentor 1."
    )


@pytest.mark.parametrize("how", ["decline", "expire"])
def test_when_the_list_runs_out_the_student_gets_fresh_recommendations(
    student, mentors, django_capture_on_commit_callbacks, how
):
    first, second = send(student, mentors[:2])
    with django_capture_on_commit_callbacks(execute=True):
        services.request_decline(mentor=mentors[0], request_id=first.pk, reason="not_my_field")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        if how == "decline":
            services.request_decline(mentor=mentors[1], request_id=second.pk, reason="other")
        else:
            services.requests_expire_due(now=timezone.now() + dt.timedelta(days=15))
    (told,) = mail.outbox
    assert told.to == [student.email]
    assert "No more mentors are left on your list" in told.body
    assert f"{settings.SITE_URL}/matching/recommendations/" in told.body
    # The mentors the student has not asked yet, never the two who said no.
    for name in ("Dr. Mentor 2", "Dr. Mentor 3"):
        assert name in told.body
        assert name in told.alternatives[0][0]
    for name in ("Dr. Mentor 0", "Dr. Mentor 1"):
        assert f"- {name}" not in told.body
    assert f"{settings.SITE_URL}/mentors/{mentors[2].profile.pk}/" in told.body
    kind, message, url = notices(student)[0]
    assert kind == f"request.{'declined' if how == 'decline' else 'expired'}"
    assert message.endswith("No more mentors on your list: see fresh recommendations.")
    assert url == "/matching/recommendations/"


def test_each_step_writes_a_notice_for_the_person_who_must_act_or_know(student, mentors):
    request = send(student, mentors[:1])[0]
    services.request_ask_info(mentor=mentors[0], request_id=request.pk, question="Which field?")
    services.request_answer(mentee=student, request_id=request.pk, answer="Orthopaedics.")
    request_accept(mentor=mentors[0], request_id=request.pk)
    inbox = f"/matching/inbox/#request-{request.pk}"
    mine = f"/matching/requests/#request-{request.pk}"
    assert sorted(
        (n.user_id, n.kind, n.url) for n in Notification.objects.filter(kind__startswith="request.")
    ) == sorted(
        [
            (mentors[0].pk, "request.received", inbox),
            (student.pk, "request.info_requested", mine),
            (mentors[0].pk, "request.answered", inbox),
            (student.pk, "request.accepted", mine),
        ]
    )
    received = Notification.objects.get(kind="request.received")
    deadline = timezone.localtime(request.expires_at, ZoneInfo(mentors[0].profile.timezone))
    assert received.message == (
        f"Maya Student would like you as a mentor. Please answer by {deadline:%b} {deadline.day}."
    )
    assert received.read_at is None


def test_a_rolled_back_change_leaves_no_notice_and_no_email(
    student, mentors, django_capture_on_commit_callbacks
):
    first, _ = send(student, mentors[:2])
    before = Notification.objects.count()
    mail.outbox.clear()
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        services.request_decline(mentor=mentors[0], request_id=first.pk, reason="other")
        assert Notification.objects.count() == before + 2  # the student and the next mentor
        raise RuntimeError("something later in the same transaction failed")
    assert Notification.objects.count() == before
    assert mail.outbox == []
    assert MentorRequest.objects.get(pk=first.pk).status == MentorRequest.Status.PENDING


@pytest.mark.parametrize("event", sorted(EVENTS))
def test_every_request_email_has_a_text_and_an_html_part_with_the_link(student, mentors, event):
    first, _ = send(student, mentors[:2])
    if event in ("declined", "expired"):
        services.request_decline(mentor=mentors[0], request_id=first.pk, reason="other")
    mail.outbox.clear()
    assert request_event_send(request_id=first.pk, event=event)
    (message,) = mail.outbox
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert message.body.startswith("Hello ")
    assert "{%" not in message.body and "{{" not in message.body
    link = f"{settings.SITE_URL}/matching/"
    assert link in message.body
    assert f'href="{link}' in html
    assert html.count("<p>") >= 2
