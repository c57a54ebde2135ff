"""Reminders to a mentor who has not answered: day 3, day 7, and two days before expiry."""

import datetime as dt

import pytest
import time_machine
from django.conf import settings
from django.core import mail

from accounts.models import Notification
from matching import services, tasks
from matching.models import MentorRequest
from matching.notifications import request_event_send
from mentorship.services import request_accept

pytestmark = pytest.mark.django_db

SENT = dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC)  # a Monday; expires Monday, March 16
DAY = dt.timedelta(days=1)
WAITING = "Maya Student is waiting for your answer"
LAST_DAYS = "Last days to answer Maya Student"


@pytest.fixture
def at(django_capture_on_commit_callbacks):
    """Run a block at a given moment, with after-commit emails sent."""

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


def send(student, mentors, at):
    with at(SENT):
        created = services.request_send(
            mentee=student, mentors=mentors, expectations="Monthly calls about research."
        )
    mail.outbox.clear()
    return created


def scan(at, moment):
    with at(moment):
        return services.requests_nudge_due()


def reminders():
    return [(m.to, m.subject) for m in mail.outbox]


def test_the_day_3_nudge_goes_out_once_even_if_the_scan_runs_twice(student, mentors, at):
    request = send(student, mentors[:1], at)[0]
    assert scan(at, SENT + 3 * DAY - dt.timedelta(minutes=1)) == 0
    assert scan(at, SENT + 3 * DAY) == 1
    assert scan(at, SENT + 3 * DAY + dt.timedelta(minutes=15)) == 0
    assert reminders() == [([mentors[0].email], WAITING)]
    request.refresh_from_db()
    assert request.nudges_sent == 1
    body = mail.outbox[0].body
    assert "Maya is waiting for your answer; the request closes on Monday, March 16." in body
    assert f"{settings.SITE_URL}/matching/inbox/#request-{request.pk}" in body
    notice = Notification.objects.get(user=mentors[0], kind="request.nudge")
    assert notice.message == "Maya Student is still waiting for your answer (until Mar 16)."
    assert notice.url == f"/matching/inbox/#request-{request.pk}"


def test_the_day_7_nudge_follows_and_names_the_deadline_of_the_next_choice(student, mentors, at):
    request = send(student, mentors[:2], at)[0]
    scan(at, SENT + 3 * DAY)
    assert scan(at, SENT + 5 * DAY) == 0
    assert scan(at, SENT + 7 * DAY) == 1
    assert scan(at, SENT + 7 * DAY) == 0
    assert reminders() == [([mentors[0].email], WAITING)] * 2
    assert (
        "Maya is waiting for your answer; the request passes to their next choice on "
        "Monday, March 16." in mail.outbox[1].body
    )
    request.refresh_from_db()
    assert request.nudges_sent == 2


def test_an_expiring_soon_notice_goes_out_two_days_before_expiry(student, mentors, at):
    request = send(student, mentors[:2], at)[0]
    for day in (3, 7, 11):
        scan(at, SENT + day * DAY)
    mail.outbox.clear()
    assert scan(at, SENT + 12 * DAY) == 1
    assert scan(at, SENT + 13 * DAY) == 0
    assert reminders() == [([mentors[0].email], LAST_DAYS)]
    assert "the request passes to their next choice on Monday, March 16" in mail.outbox[0].body
    html = mail.outbox[0].alternatives[0][0]
    assert f'href="{settings.SITE_URL}/matching/inbox/#request-{request.pk}"' in html
    assert "<strong>Monday, March 16</strong>" in html
    request.refresh_from_db()
    assert request.nudges_sent == services.EXPIRING_SOON


@pytest.mark.parametrize(
    ("first_scan", "expected"), [(8, WAITING), (12.5, LAST_DAYS), (13.9, LAST_DAYS)]
)
def test_after_downtime_only_the_latest_due_reminder_goes_out(
    student, mentors, at, first_scan, expected
):
    send(student, mentors[:1], at)
    assert scan(at, SENT + first_scan * DAY) == 1
    assert reminders() == [([mentors[0].email], expected)]
    assert (
        Notification.objects.filter(user=mentors[0]).exclude(kind="request.received").count() == 1
    )


def test_no_reminder_once_the_request_expired(student, mentors, at):
    send(student, mentors[:1], at)
    assert scan(at, SENT + 14 * DAY) == 0
    assert mail.outbox == []


def _ask(student, mentor, request):
    services.request_ask_info(mentor=mentor, request_id=request.pk, question="Which field?")


def _withdraw(student, mentor, request):
    services.request_withdraw(mentee=student, request_id=request.pk)


def _decline(student, mentor, request):
    services.request_decline(mentor=mentor, request_id=request.pk, reason="no_capacity")


def _accept(student, mentor, request):
    request_accept(mentor=mentor, request_id=request.pk)


@pytest.mark.parametrize("answer", [_ask, _withdraw, _decline, _accept])
def test_answered_or_closed_requests_get_no_reminder(student, mentors, at, answer):
    request = send(student, mentors[:1], at)[0]
    with at(SENT + DAY):
        answer(student, mentors[0], request)
    mail.outbox.clear()
    for day in (3, 7, 12):
        assert scan(at, SENT + day * DAY) == 0
    assert mail.outbox == []
    assert not Notification.objects.filter(kind__in=["request.nudge", "request.expiring_soon"])
    request.refresh_from_db()
    assert request.nudges_sent == 0


def test_a_reminder_still_queued_when_the_mentor_answers_is_not_emailed(student, mentors, at):
    request = send(student, mentors[:1], at)[0]
    with time_machine.travel(SENT + 3 * DAY, tick=False):
        services.requests_nudge_due()  # claimed, but its email has not left yet
        request_accept(mentor=mentors[0], request_id=request.pk)
    assert request_event_send(request_id=request.pk, event="nudge") is False
    assert mail.outbox == []


def test_the_question_and_answer_round_keeps_the_reminders_going(student, mentors, at):
    request = send(student, mentors[:1], at)[0]
    with at(SENT + DAY):
        _ask(student, mentors[0], request)
    assert scan(at, SENT + 3 * DAY) == 0  # waiting for the student, not the mentor
    with at(SENT + 4 * DAY):
        services.request_answer(mentee=student, request_id=request.pk, answer="Orthopaedics.")
    mail.outbox.clear()
    assert scan(at, SENT + 4 * DAY) == 1
    assert reminders() == [([mentors[0].email], WAITING)]


def test_the_beat_runs_the_reminder_scan_every_15_minutes(student, mentors, at):
    schedule = {e["task"]: e["schedule"] for e in settings.CELERY_BEAT_SCHEDULE.values()}
    assert schedule["matching.tasks.nudge_requests"] == 15 * 60
    send(student, mentors[:1], at)
    with at(SENT + 3 * DAY):
        tasks.nudge_requests.delay()
        tasks.nudge_requests.delay()
    assert reminders() == [([mentors[0].email], WAITING)]
    assert MentorRequest.objects.get().nudges_sent == 1
