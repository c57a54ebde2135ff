"""Reminders through the ledger: when each falls due, for whom, and how they are delivered."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from smtplib import SMTPServerDisconnected

import pytest
import time_machine
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from accounts.choices import Role, Stage
from accounts.models import Notification, NotificationSettings, Profile, User
from accounts.services import notification_settings_update
from mentorship import reminders, tasks
from mentorship.models import AcademicDate, Mentorship, Reminder, ReminderEmail
from mentorship.services import (
    agreement_sign,
    agreement_update,
    checkin_complete,
    checkin_schedule,
    mentorship_end,
)
from tests.factories import UserFactory

from .conftest import DAY, HOUR, T0, make_pair

pytestmark = pytest.mark.django_db

UPCOMING = "Check-in with {other}: Thu Oct 15, 10:00 AM EDT"
DR = "Dr. Paul Physician"


def schedule(at, pair, who, when, agenda=""):
    with at(T0):
        checkin = checkin_schedule(
            user=who,
            mentorship_id=pair.pk,
            data={"scheduled_at": when, "duration_minutes": 30, "agenda": agenda},
        )
    mail.outbox.clear()
    return checkin


def recipients(emails):
    return sorted(m.to[0] for m in emails)


# --- Upcoming check-ins -------------------------------------------------------------


def test_an_upcoming_check_in_is_reminded_two_days_ahead_to_both_with_the_invitation(
    signed, at, run, student, physician
):
    checkin = schedule(at, signed, student, T0 + 10 * DAY, agenda="Research plan")
    assert run(T0 + 8 * DAY - dt.timedelta(minutes=1)) == []
    sent = run(T0 + 8 * DAY)
    assert recipients(sent) == sorted([student.email, physician.email])
    to_student = next(m for m in sent if m.to == [student.email])
    assert to_student.subject == UPCOMING.format(other=DR)
    assert "Agenda: Research plan" in to_student.body
    [(name, ics, mimetype)] = to_student.attachments
    assert (name, mimetype) == (f"checkin-{checkin.pk}.ics", "text/calendar")
    assert "DTSTART:20261015T140000Z" in ics
    assert run(T0 + 8 * DAY + HOUR) == []  # the scan runs again: nothing twice
    assert Notification.objects.filter(kind="reminder.checkin_upcoming").count() == 2


def test_each_person_gets_the_reminder_at_their_own_lead_time(signed, at, run, student, physician):
    notification_settings_update(user=student, data={"checkin_lead_days": "7"})
    schedule(at, signed, physician, T0 + 10 * DAY)
    assert recipients(run(T0 + 3 * DAY)) == [student.email]
    assert recipients(run(T0 + 8 * DAY)) == [physician.email]


def test_a_moved_check_in_is_reminded_again_for_its_new_time(signed, at, run, student, physician):
    from mentorship.services import checkin_update

    checkin = schedule(at, signed, student, T0 + 10 * DAY)
    run(T0 + 8 * DAY)
    with at(T0 + 8 * DAY + HOUR):
        checkin_update(user=student, checkin_id=checkin.pk, data={"scheduled_at": T0 + 20 * DAY})
    mail.outbox.clear()
    assert run(T0 + 18 * DAY - HOUR) == []
    assert recipients(run(T0 + 18 * DAY)) == sorted([student.email, physician.email])
    assert sorted(Reminder.objects.values_list("period", flat=True)) == [0, 0, 1, 1]


# --- Time zones, daylight saving time and quiet hours ---------------------------------

NY = zoneinfo.ZoneInfo("America/New_York")


@pytest.mark.parametrize(
    ("now", "tz", "expected"),
    [
        # 00:30 EDT on the night US clocks fall back: quiet until 08:00 EST, i.e. 13:00 UTC.
        (dt.datetime(2026, 11, 1, 4, 30, tzinfo=dt.UTC), NY, dt.datetime(2026, 11, 1, 13, 0)),
        # 23:00 on the night before, still EDT: quiet until 08:00 EST the next morning.
        (dt.datetime(2026, 11, 1, 3, 0, tzinfo=dt.UTC), NY, dt.datetime(2026, 11, 1, 13, 0)),
        # 22:00 the night US clocks spring forward: 08:00 EDT is 12:00 UTC.
        (dt.datetime(2026, 3, 8, 3, 0, tzinfo=dt.UTC), NY, dt.datetime(2026, 3, 8, 12, 0)),
        # London moves to BST at 01:00 UTC on March 29: 08:00 BST is 07:00 UTC.
        (
            dt.datetime(2026, 3, 28, 23, 0, tzinfo=dt.UTC),
            zoneinfo.ZoneInfo("Europe/London"),
            dt.datetime(2026, 3, 29, 7, 0),
        ),
        # Tokyo has no DST; 06:00 JST is quiet until 08:00 JST the same day.
        (
            dt.datetime(2026, 11, 1, 21, 0, tzinfo=dt.UTC),
            zoneinfo.ZoneInfo("Asia/Tokyo"),
            dt.datetime(2026, 11, 1, 23, 0),
        ),
        (dt.datetime(2026, 11, 1, 15, 0, tzinfo=dt.UTC), NY, None),  # 10:00: not quiet
    ],
)
def test_quiet_hours_end_in_the_persons_own_time_zone_across_dst(now, tz, expected):
    prefs = NotificationSettings()  # 21:00 to 08:00
    until = reminders.quiet_until(now, prefs, tz)
    assert until == (expected.replace(tzinfo=dt.UTC) if expected else None)


def test_quiet_hours_within_one_day_and_none_at_all():
    prefs = NotificationSettings(quiet_start=dt.time(13, 0), quiet_end=dt.time(14, 0))
    noon_thirty = dt.datetime(2026, 7, 1, 17, 30, tzinfo=dt.UTC)  # 13:30 EDT
    assert reminders.quiet_until(noon_thirty, prefs, NY) == dt.datetime(
        2026, 7, 1, 18, 0, tzinfo=dt.UTC
    )
    prefs.quiet_end = prefs.quiet_start
    assert reminders.quiet_until(noon_thirty, prefs, NY) is None


def test_a_reminder_due_at_night_after_the_clocks_change_waits_for_local_morning(
    signed, at, run, student, physician
):
    Profile.objects.filter(user=physician).update(timezone="Asia/Tokyo")
    # Due 2 days ahead: Sun Nov 1, 11:30 UTC = 06:30 EST (the clocks fell back at 06:00 UTC)
    # for the student, but 20:30 in Tokyo for the physician.
    schedule(at, signed, student, dt.datetime(2026, 11, 3, 11, 30, tzinfo=dt.UTC))
    assert recipients(run(dt.datetime(2026, 11, 1, 11, 30, tzinfo=dt.UTC))) == [physician.email]
    waiting = Reminder.objects.get(user=student)
    assert waiting.not_before == dt.datetime(2026, 11, 1, 13, 0, tzinfo=dt.UTC)  # 08:00 EST
    assert run(dt.datetime(2026, 11, 1, 12, 55, tzinfo=dt.UTC)) == []
    assert recipients(run(dt.datetime(2026, 11, 1, 13, 0, tzinfo=dt.UTC))) == [student.email]


def test_chosen_quiet_hours_are_honoured(signed, at, run, student, physician):
    notification_settings_update(
        user=student, data={"quiet_start": "09:00", "quiet_end": "17:00"}
    )  # a student in lectures all day
    schedule(at, signed, physician, T0 + 10 * DAY)
    assert recipients(run(T0 + 8 * DAY)) == [physician.email]  # 10:00 EDT
    assert run(T0 + 8 * DAY + 6 * HOUR) == []  # 16:00 EDT
    assert recipients(run(T0 + 8 * DAY + 7 * HOUR)) == [student.email]  # 17:00 EDT


# --- One email a day, folding --------------------------------------------------------


def test_reminders_due_together_fold_into_one_email_and_later_ones_wait_for_tomorrow(
    signed, at, run, student, physician, school
):
    AcademicDate.objects.create(
        institution=school,
        title="Step 1 season",
        category=AcademicDate.Category.EXAM,
        date=(T0 + 29 * DAY).date(),
        stages=[Stage.MS2],
        lead_days=21,
        prompt="build a study schedule together.",
    )
    schedule(at, signed, student, T0 + 10 * DAY)  # Thu 10:00 EDT
    schedule(at, signed, student, T0 + 10 * DAY + 6 * HOUR)  # Thu 16:00 EDT
    first = run(T0 + 8 * DAY)
    assert recipients(first) == sorted([student.email, physician.email])
    to_student = next(m for m in first if m.to == [student.email])
    assert to_student.subject == (UPCOMING.format(other=DR) + ", and 1 more reminder")
    assert "* Step 1 season in 3 weeks (Tue Nov 3): build a study schedule together." in (
        to_student.body
    )
    # The second check-in's reminders fall due at 16:00 the same day: tomorrow, 08:00 local.
    assert run(T0 + 8 * DAY + 6 * HOUR) == []
    assert set(Reminder.objects.filter(status="pending").values_list("not_before", flat=True)) == {
        dt.datetime(2026, 10, 14, 12, 0, tzinfo=dt.UTC)
    }
    assert run(T0 + 9 * DAY - 2 * HOUR - dt.timedelta(minutes=1)) == []
    second = run(T0 + 9 * DAY - 2 * HOUR)  # Oct 14, 08:00 EDT
    assert recipients(second) == sorted([student.email, physician.email])
    assert all("4:00 PM EDT" in m.subject for m in second)
    per_day = ReminderEmail.objects.filter(user=student).values_list("day", flat=True)
    assert sorted(per_day) == [dt.date(2026, 10, 13), dt.date(2026, 10, 14)]


# --- Overdue check-ins and unsigned agreements ---------------------------------------


def test_an_overdue_check_in_is_reminded_once_per_spell_after_cadence_and_grace(
    signed, at, run, student, physician
):
    # Monthly: 30 days + 7 days of grace after both signed at T0.
    assert run(T0 + 37 * DAY - HOUR) == []
    sent = run(T0 + 37 * DAY)
    assert recipients(sent) == sorted([student.email, physician.email])
    assert sent[0].subject.startswith("Time for a check-in with ")
    assert "have not had a check-in yet; you agreed to meet monthly" in sent[0].body
    assert run(T0 + 38 * DAY) == []  # the same spell is not reminded again
    # They meet on day 39; the next spell starts from there.
    with at(T0 + 38 * DAY + HOUR):
        checkin = checkin_schedule(
            user=student, mentorship_id=signed.pk, data={"scheduled_at": T0 + 39 * DAY}
        )
    with at(T0 + 39 * DAY + HOUR):
        checkin_complete(user=student, checkin_id=checkin.pk)
    mail.outbox.clear()
    assert run(T0 + 39 * DAY + 37 * DAY - HOUR) == []
    again = run(T0 + 39 * DAY + 37 * DAY)
    assert recipients(again) == sorted([student.email, physician.email])
    assert "It has been 5 weeks since your last check-in" in again[0].body


def test_a_booked_check_in_means_not_overdue(signed, at, run):
    schedule(at, signed, signed.mentee, T0 + 40 * DAY)
    assert not [m for m in run(T0 + 37 * DAY) if m.subject.startswith("Time for")]


def test_an_unsigned_agreement_is_reminded_after_7_days_to_whoever_has_not_signed(
    at, run, student, physician
):
    pair = make_pair(at, student, physician, sign=(student,))
    assert run(T0 + 7 * DAY - HOUR) == []
    [email] = run(T0 + 7 * DAY)
    assert email.to == [physician.email]
    assert email.subject == "Your agreement with Maya Student is waiting for you"
    # A change is a new version: both must sign it, and its clock starts again.
    with at(T0 + 8 * DAY):
        agreement_update(user=student, mentorship_id=pair.pk, data={"cadence": "biweekly"})
    mail.outbox.clear()
    assert run(T0 + 15 * DAY - HOUR) == []
    assert recipients(run(T0 + 15 * DAY)) == sorted([student.email, physician.email])
    with at(T0 + 16 * DAY):
        agreement_sign(user=student, mentorship_id=pair.pk)
        agreement_sign(user=physician, mentorship_id=pair.pk)
    assert run(T0 + 30 * DAY) == []


# --- The academic calendar ----------------------------------------------------------


def test_calendar_prompts_reach_only_pairs_whose_mentee_is_at_that_stage(
    at, run, school, student, physician, resident
):
    ms4 = UserFactory(
        email="ms4@test.example",
        full_name="Ines Fourth",
        role=Role.STUDENT,
        profile={"institution": school, "stage": Stage.MS4},
    )
    make_pair(at, ms4, resident, sign=(ms4, resident))
    make_pair(at, student, physician, sign=(student, physician))  # an MS2
    AcademicDate.objects.create(
        institution=school,
        title="ERAS opens",
        category=AcademicDate.Category.APPLICATION,
        date=(T0 + 24 * DAY).date(),
        stages=[Stage.MS3, Stage.MS4],
        lead_days=21,
        prompt="a good time to review the personal statement together.",
    )
    AcademicDate.objects.create(
        institution=school,
        title="Mentoring program survey due",
        category=AcademicDate.Category.PROGRAM,
        date=(T0 + 10 * DAY).date(),
        lead_days=7,
        prompt="fill in the mid-year survey.",
    )
    sent = run(T0 + 3 * DAY)
    assert recipients(sent) == sorted([ms4.email, resident.email, student.email, physician.email])
    to_ms4 = next(m for m in sent if m.to == [ms4.email])
    assert "ERAS opens in 3 weeks (Thu Oct 29): a good time to review the personal " in (
        to_ms4.body
    )
    to_mentor = next(m for m in sent if m.to == [resident.email])
    assert "For your mentee Ines Fourth (MS4)" in to_mentor.body
    to_ms2 = next(m for m in sent if m.to == [student.email])
    assert "ERAS" not in to_ms2.body
    assert "Mentoring program survey due in 7 days (Thu Oct 15)" in to_ms2.body
    kinds = set(Reminder.objects.values_list("kind", flat=True))
    assert kinds == {Reminder.Kind.CALENDAR, Reminder.Kind.PROGRAM_DEADLINE}


# --- Settings: switched off, kept for the digest --------------------------------------


def test_a_kind_switched_off_is_not_emailed_but_still_shown_in_the_app(
    signed, at, run, student, physician
):
    notification_settings_update(user=student, data={"delivery": {"checkin_upcoming": "off"}})
    schedule(at, signed, physician, T0 + 10 * DAY)
    assert recipients(run(T0 + 8 * DAY)) == [physician.email]
    row = Reminder.objects.get(user=student)
    assert (row.status, row.skip_reason) == ("skipped", "email switched off")
    assert Notification.objects.filter(user=student, kind="reminder.checkin_upcoming").exists()


def test_reminders_kept_for_the_digest_arrive_in_it_on_the_first_of_the_month(
    signed, at, run, student, school
):
    notification_settings_update(user=student, data={"delivery": {"calendar": "digest"}})
    AcademicDate.objects.create(
        institution=school,
        title="Step 1 season",
        date=dt.date(2026, 11, 20),
        stages=[Stage.MS2],
        lead_days=40,
        prompt="build a study schedule together.",
    )
    schedule(at, signed, student, dt.datetime(2026, 11, 10, 15, 0, tzinfo=dt.UTC))
    early = [m.subject for m in run(T0 + 8 * DAY) if m.to == [student.email]]
    assert early == [], early
    assert Reminder.objects.get(user=student, kind="calendar").status == "held"
    # The digest is due at midnight on Nov 1 in New York: it waits for the end of quiet hours.
    assert not [
        m for m in run(dt.datetime(2026, 11, 1, 6, 0, tzinfo=dt.UTC)) if m.to == [student.email]
    ]
    [digest] = [
        m for m in run(dt.datetime(2026, 11, 1, 13, 0, tzinfo=dt.UTC)) if m.to == [student.email]
    ]
    assert digest.subject == "Your November mentoring digest"
    assert "Kept for this digest:" in digest.body
    assert "Step 1 season in 3 weeks (Fri Nov 20): build a study schedule together." in (
        digest.body
    )
    assert "Check-in with Dr. Paul Physician, Tue Nov 10, 10:00 AM EST" in digest.body
    assert Reminder.objects.get(user=student, kind="calendar").status == "sent"
    assert not [
        m for m in run(dt.datetime(2026, 11, 2, 15, 0, tzinfo=dt.UTC)) if "digest" in m.subject
    ]


# --- Nothing for ended, paused or inactive ------------------------------------------


def _end(pair, student, physician):
    mentorship_end(user=student, mentorship_id=pair.pk, reason="goals_met")


def _pause(pair, student, physician):
    Mentorship.objects.filter(pk=pair.pk).update(status=Mentorship.Status.PAUSED)


def _deactivate(pair, student, physician):
    User.objects.filter(pk=student.pk).update(is_active=False)


@pytest.mark.parametrize("stop", [_end, _pause, _deactivate])
def test_nothing_is_sent_for_ended_paused_or_inactive(signed, at, run, student, physician, stop):
    schedule(at, signed, student, T0 + 10 * DAY)
    with time_machine.travel(T0 + 8 * DAY, tick=False):
        reminders.reminders_scan(enqueue=False)  # already in the ledger when it stops
    with at(T0 + 8 * DAY + HOUR):
        stop(signed, student, physician)
    mail.outbox.clear()
    with at(T0 + 8 * DAY + 2 * HOUR):
        for user_id in (student.pk, physician.pk):
            reminders.reminders_deliver(user_id=user_id)
    for day in (9, 37, 60):
        run(T0 + day * DAY)
    assert [m for m in mail.outbox if "Check-in" in m.subject or "Time for" in m.subject] == []
    assert not Reminder.objects.filter(status="sent").exists()


# --- Exactly once ------------------------------------------------------------------


def test_running_the_delivery_task_twice_sends_one_email(signed, at, student, physician):
    schedule(at, signed, student, T0 + 10 * DAY)
    with at(T0 + 8 * DAY):
        result = reminders.reminders_scan(enqueue=False)
        tasks.deliver_reminders.delay(result.user_ids)
        tasks.deliver_reminders.delay(result.user_ids)
    assert recipients(mail.outbox) == sorted([student.email, physician.email])


def test_enqueueing_every_reminder_twice_sends_one_email_each(signed, at, student, physician):
    schedule(at, signed, student, T0 + 10 * DAY)
    with at(T0 + 8 * DAY):
        first = reminders.reminders_scan()
        second = reminders.reminders_scan()  # nothing new; nobody queued twice
        reminders._enqueue(first.user_ids)  # a duplicate message anyway
    assert first.total == 2 and second.total == 0 and second.user_ids == []
    assert recipients(mail.outbox) == sorted([student.email, physician.email])


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_transaction_enqueues_nothing(signed, at, student, physician):
    schedule(at, signed, student, T0 + 10 * DAY)

    class Boom(Exception):
        pass

    with time_machine.travel(T0 + 8 * DAY, tick=False):
        with pytest.raises(Boom), transaction.atomic():
            assert reminders.reminders_scan().total == 2
            raise Boom
        assert Reminder.objects.count() == 0
        assert mail.outbox == []
        # The same scan, committed, enqueues and sends: the test above is not vacuous.
        assert reminders.reminders_scan().total == 2
    assert recipients(mail.outbox) == sorted([student.email, physician.email])


# --- Failures ----------------------------------------------------------------------


def test_smtp_errors_are_retried_with_backoff_then_failed_for_staff(
    signed, at, student, physician, monkeypatch, admin_client
):
    schedule(at, signed, student, T0 + 10 * DAY)

    def refuse(self, fail_silently=False):
        raise SMTPServerDisconnected("Connection unexpectedly closed")

    monkeypatch.setattr(EmailMultiAlternatives, "send", refuse)
    now = T0 + 8 * DAY
    with at(now):
        reminders.reminders_scan(enqueue=False)
    notices_before = Notification.objects.count()
    outcomes = []
    for _ in range(reminders.MAX_ATTEMPTS):
        with at(now):
            outcomes.append(reminders.reminders_deliver(user_id=student.pk))
        row = Reminder.objects.get(user=student)
        if row.status == "pending":
            assert row.not_before > now
            now = row.not_before
    assert outcomes == ["retry"] * (reminders.MAX_ATTEMPTS - 1) + ["failed"]
    row = Reminder.objects.get(user=student)
    assert (row.status, row.attempts) == ("failed", reminders.MAX_ATTEMPTS)
    assert row.last_error == "SMTPServerDisconnected: Connection unexpectedly closed"
    assert not ReminderEmail.objects.filter(user=student).exists()  # rolled back each time
    assert Notification.objects.count() == notices_before
    page = admin_client.get("/admin/mentorship/reminder/?status__exact=failed")
    assert page.status_code == 200
    assert "SMTPServerDisconnected" in page.content.decode()
    # Staff retry it once the mail server is back.
    monkeypatch.undo()
    admin_client.post(
        "/admin/mentorship/reminder/",
        {"action": "retry", "_selected_action": [row.pk]},
    )
    with at(now + HOUR):
        assert reminders.reminders_deliver(user_id=student.pk) == "sent"
    assert [m.to for m in mail.outbox] == [[student.email]]


# --- The scan is batched ---------------------------------------------------------------


def test_the_scan_runs_the_same_number_of_queries_for_1_or_20_due_pairs(at, school, physician):
    def pairs(count):
        Profile.objects.filter(user=physician).update(capacity=20)
        for _ in range(count):
            mentee = UserFactory(
                role=Role.STUDENT, profile={"institution": school, "stage": Stage.MS2}
            )
            make_pair(at, mentee, physician, sign=())

    def queries_at(moment):
        with time_machine.travel(moment, tick=False), CaptureQueriesContext(connection) as ctx:
            result = reminders.reminders_scan(enqueue=False)
        return len(ctx.captured_queries), result.total

    pairs(1)
    one = queries_at(T0 + 7 * DAY)
    Reminder.objects.all().delete()
    pairs(19)
    twenty = queries_at(T0 + 7 * DAY)
    assert one[1] == 2 and twenty[1] == 40  # both sides of each unsigned agreement
    assert one[0] == twenty[0]


def test_a_digest_switched_off_before_it_goes_out_is_not_sent(at, student):
    notification_settings_update(user=student, data={"delivery": {"digest": "email"}})
    first = dt.datetime(2026, 11, 1, 5, 0, tzinfo=dt.UTC)  # midnight in New York: quiet
    with at(first):
        reminders.reminders_scan()
    assert Reminder.objects.get(user=student, kind="digest").status == "pending"
    notification_settings_update(user=student, data={"delivery": {"digest": "off"}})
    with at(first + 9 * HOUR):
        reminders.reminders_scan()
    row = Reminder.objects.get(user=student, kind="digest")
    assert (row.status, row.skip_reason) == ("skipped", "digest switched off")
    assert mail.outbox == []


def test_a_date_shared_by_schools_prompts_each_pair_with_its_own_schools_date(
    at, run, school, other_school, resident
):
    other_mentor = UserFactory(
        role=Role.PHYSICIAN, profile={"institution": other_school, "stage": Stage.ATTENDING_MID}
    )
    pairs = []
    for institution, mentor in ((school, resident), (other_school, other_mentor)):
        mentee = UserFactory(
            role=Role.STUDENT, profile={"institution": institution, "stage": Stage.MS4}
        )
        pairs.append(make_pair(at, mentee, mentor, sign=(mentee, mentor)))
    dates = [
        AcademicDate.objects.create(
            institution=institution,
            title="ERAS opens",
            date=(T0 + 24 * DAY).date(),
            stages=[Stage.MS4],
            lead_days=21,
            prompt="review the personal statement.",
        )
        for institution in (school, other_school)
    ]
    with time_machine.travel(T0 + 3 * DAY, tick=False), CaptureQueriesContext(connection) as ctx:
        reminders.reminders_scan(enqueue=False)
    calendar_inserts = [
        q for q in ctx.captured_queries if "INSERT" in q["sql"] and "'calendar'" in q["sql"]
    ]
    assert len(calendar_inserts) <= 2  # one statement per side for both schools
    for pair, date in zip(pairs, dates, strict=True):
        periods = set(
            Reminder.objects.filter(kind="calendar", target_id=pair.pk).values_list(
                "period", flat=True
            )
        )
        assert periods == {date.pk}
    assert Reminder.objects.filter(kind="calendar").count() == 4
