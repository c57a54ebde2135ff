"""Reminders to a mentor who has not answered: day 3, day 7, and two days before expiry.

They go through the reminder ledger (``mentorship.reminders``): a scan writes what is
due, a delivery emails it, at most one email a day.
"""

import datetime as dt

import pytest
import time_machine
from django.conf import settings
from django.core import mail

from accounts.models import Notification
from matching import services
from mentorship import reminders, tasks
from mentorship.models import Reminder
from mentorship.services import request_accept

pytestmark = pytest.mark.django_db

SENT = dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC)  # a Monday; expires Monday, March 16
DAY = dt.timedelta(days=1)
WAITING = "Maya Student is waiting for your answer"
LAST_DAYS = "Last days to answer Maya Student"


def send(student, mentors, at):
    with at(SENT):
        created = services.request_send(
            mentee=student, mentors=mentors, expectations="Monthly calls about research."
        )
    mail.outbox.clear()
    return created


def scan(at, moment):
    """Run the beat's scan at ``moment`` (deliveries run inline); return the emails sent."""
    before = len(mail.outbox)
    with at(moment):
        tasks.scan_reminders.delay()
    return len(mail.outbox) - before


def reminders_sent():
    return [(m.to, m.subject) for m in mail.outbox]


def test_the_day_3_nudge_goes_out_once_even_if_the_scan_runs_twice(student, mentors, at):
    request = send(student, mentors[:1], at)[0]
    assert scan(at, SENT + 3 * DAY - dt.timedelta(minutes=1)) == 0
    assert scan(at, SENT + 3 * DAY) == 1
    assert scan(at, SENT + 3 * DAY + dt.timedelta(minutes=15)) == 0
    assert reminders_sent() == [([mentors[0].email], WAITING)]
    body = mail.outbox[0].body
    assert "Maya Student is still waiting for your answer (until Mon Mar 16)." in body
    assert f"{settings.SITE_URL}/matching/inbox/#request-{request.pk}" in body
    assert "Monthly calls about research." in body
    notice = Notification.objects.get(user=mentors[0], kind="reminder.request_nudge")
    assert notice.message == "Maya Student is still waiting for your answer (until Mon Mar 16)."
    assert notice.url == f"/matching/inbox/#request-{request.pk}"
    row = Reminder.objects.get()
    assert (row.kind, row.target_id, row.period, row.status) == (
        Reminder.Kind.REQUEST_NUDGE,
        request.pk,
        1,
        Reminder.Status.SENT,
    )


def test_the_day_7_nudge_follows_on_another_day(student, mentors, at):
    send(student, mentors[:2], at)
    scan(at, SENT + 3 * DAY)
    assert scan(at, SENT + 5 * DAY) == 0
    assert scan(at, SENT + 7 * DAY) == 1
    assert scan(at, SENT + 7 * DAY) == 0
    assert reminders_sent() == [([mentors[0].email], WAITING)] * 2
    assert list(Reminder.objects.values_list("period", flat=True)) == [1, 2]


def test_an_expiring_soon_notice_goes_out_two_days_before_expiry(student, mentors, at):
    request = send(student, mentors[:2], at)[0]
    for day in (3, 7, 11):
        scan(at, SENT + day * DAY)
    mail.outbox.clear()
    assert scan(at, SENT + 12 * DAY) == 1
    assert scan(at, SENT + 13 * DAY) == 0
    assert reminders_sent() == [([mentors[0].email], LAST_DAYS)]
    assert "the request closes on Mon Mar 16" in mail.outbox[0].body
    html = mail.outbox[0].alternatives[0][0]
    assert f'href="{settings.SITE_URL}/matching/inbox/#request-{request.pk}"' in html


@pytest.mark.parametrize(
    ("first_scan", "expected"), [(8, WAITING), (12.25, LAST_DAYS), (13.9, LAST_DAYS)]
)
def test_after_downtime_only_the_latest_due_reminder_goes_out(
    student, mentors, at, first_scan, expected
):
    send(student, mentors[:1], at)
    assert scan(at, SENT + first_scan * DAY) == 1
    assert reminders_sent() == [([mentors[0].email], expected)]
    assert (
        Notification.objects.filter(user=mentors[0]).exclude(kind="request.received").count() == 1
    )
    # The earlier ones are in the ledger too, closed as superseded rather than lost.
    statuses = set(Reminder.objects.values_list("status", "skip_reason"))
    assert (Reminder.Status.SENT, "") in statuses
    assert statuses <= {(Reminder.Status.SENT, ""), (Reminder.Status.SKIPPED, "superseded")}


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
        scan(at, SENT + day * DAY)
    # (An accepted request has an agreement to sign: those reminders are another story.)
    assert not [m for m in mail.outbox if m.subject in (WAITING, LAST_DAYS)]
    assert not Notification.objects.filter(kind__startswith="reminder.request")
    assert not Reminder.objects.filter(kind__startswith="request").exists()


def test_a_reminder_written_before_the_mentor_answers_is_dropped_not_sent(student, mentors, at):
    request = send(student, mentors[:1], at)[0]
    with time_machine.travel(SENT + 3 * DAY, tick=False):
        reminders.reminders_scan(enqueue=False)  # in the ledger, its delivery not run yet
        request_accept(mentor=mentors[0], request_id=request.pk)
        mail.outbox.clear()
        assert reminders.reminders_deliver(user_id=mentors[0].pk) == "nothing to email"
    assert mail.outbox == []
    row = Reminder.objects.get()
    assert (row.status, row.skip_reason) == (Reminder.Status.SKIPPED, "request answered or closed")


def test_the_question_and_answer_round_keeps_the_reminders_going(student, mentors, at):
    request = send(student, mentors[:1], at)[0]
    with at(SENT + DAY):
        _ask(student, mentors[0], request)
    assert scan(at, SENT + 3 * DAY) == 0  # waiting for the student, not the mentor
    with at(SENT + 4 * DAY):
        services.request_answer(mentee=student, request_id=request.pk, answer="Orthopaedics.")
    mail.outbox.clear()
    assert scan(at, SENT + 4 * DAY) == 1
    assert reminders_sent() == [([mentors[0].email], WAITING)]


def test_the_beat_runs_the_reminder_scan_every_5_minutes(student, mentors, at):
    schedule = {e["task"]: e["schedule"] for e in settings.CELERY_BEAT_SCHEDULE.values()}
    assert schedule["mentorship.tasks.scan_reminders"] == 5 * 60
    assert "matching.tasks.nudge_requests" not in schedule
    send(student, mentors[:1], at)
    with at(SENT + 3 * DAY):
        tasks.scan_reminders.delay()
        tasks.scan_reminders.delay()
    assert reminders_sent() == [([mentors[0].email], WAITING)]
