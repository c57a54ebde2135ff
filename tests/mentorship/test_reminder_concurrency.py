"""Overlapping reminder scans and deliveries on real PostgreSQL with real threads.

Several threads, released together, each run the beat's scan and then a delivery for
every person, all at the same frozen moment (passed as ``now=``: time_machine is not
for threads). Whatever the interleaving, each due reminder is written to the ledger
once, and each person gets one email carrying all of theirs: a mentor with six
students waiting (three of them long enough for a second nudge, which supersedes the
first) and a check-in tomorrow gets a single email with seven reminders.
"""

from __future__ import annotations

from collections import Counter

import pytest
from django.core import mail

from accounts.choices import Role, Stage
from accounts.models import Institution, Notification, User
from matching.models import MentorRequest
from matching.services import request_send
from mentorship import reminders
from mentorship.models import CheckIn, Mentorship, Reminder, ReminderEmail
from mentorship.services import checkin_schedule
from tests.factories import UserFactory
from tests.support.threads import together

from .conftest import DAY, T0, make_pair

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

THREADS = 8
TRIALS = 10
NOW = T0 + 4 * DAY  # Friday 10:00 in New York, where everyone lives: not quiet hours
WAITING = 6  # students waiting for the physician's answer
LONG_WAITING = 3  # of them, waiting 8 days: a second nudge is due too

Nudge, Upcoming = Reminder.Kind.REQUEST_NUDGE, Reminder.Kind.CHECKIN_UPCOMING


def _student(school: Institution, name: str) -> User:
    return UserFactory(
        full_name=name, role=Role.STUDENT, profile={"institution": school, "stage": Stage.MS2}
    )


@pytest.mark.usefixtures("postgres")
def test_concurrent_scans_and_deliveries_write_each_reminder_once_and_send_one_email_each(
    at, school, student, physician, other_student, resident
):
    third_mentor = UserFactory(
        full_name="Ines Internist",
        role=Role.PHYSICIAN,
        profile={"institution": school, "stage": Stage.ATTENDING_MID},
    )
    pairs = [
        make_pair(at, student, physician, sign=(student, physician)),
        make_pair(at, other_student, resident, sign=(other_student, resident)),
    ]
    third_mentee = _student(school, "Theo Third")
    pairs.append(make_pair(at, third_mentee, third_mentor, sign=(third_mentee, third_mentor)))
    checkins: list[CheckIn] = []
    with at(T0):
        for pair in pairs:  # tomorrow from NOW: the 2-day reminder is due for both sides
            checkins.append(
                checkin_schedule(
                    user=pair.mentee,
                    mentorship_id=pair.pk,
                    data={"scheduled_at": NOW + DAY, "duration_minutes": 30},
                )
            )
        waiting = [_student(school, f"Wanda Waiting {i}") for i in range(WAITING)]
        requests = [
            request_send(mentee=s, mentors=[physician], expectations="Monthly calls.")[0]
            for s in waiting
        ]
    long_waiting = requests[:LONG_WAITING]
    MentorRequest.objects.filter(pk__in=[r.pk for r in long_waiting]).update(sent_at=T0 - 4 * DAY)
    assert all(r.status == MentorRequest.Status.PENDING for r in requests)

    expected = Counter(
        [(physician.pk, Nudge, r.pk, 1) for r in requests]
        + [(physician.pk, Nudge, r.pk, 2) for r in long_waiting]
        + [
            (person.pk, Upcoming, c.pk, c.sequence)
            for c, pair in zip(checkins, pairs, strict=True)
            for person in (pair.mentee, pair.mentor)
        ]
    )
    superseded = {(physician.pk, Nudge, r.pk, 1) for r in long_waiting}
    recipients = {p.pk: p.email for pair in pairs for p in (pair.mentee, pair.mentor)}
    everyone = sorted(User.objects.values_list("pk", flat=True))
    assert Mentorship.objects.count() == len(pairs)

    def scan_then_deliver() -> dict[int, str]:
        reminders.reminders_scan(now=NOW, enqueue=False)
        # Everyone in the same order: the threads arrive at each person together (in
        # trials, a send overlapped about five other deliveries to the same person).
        return {u: reminders.reminders_deliver(user_id=u, now=NOW) for u in everyone}

    for trial in range(TRIALS):
        ReminderEmail.objects.all().delete()
        Reminder.objects.all().delete()
        Notification.objects.filter(kind__startswith="reminder.").delete()
        mail.outbox.clear()

        results = together([scan_then_deliver] * THREADS)

        where = f"trial {trial}"
        rows = list(Reminder.objects.all())
        assert Counter((r.user_id, r.kind, r.target_id, r.period) for r in rows) == expected, where
        emails = {e.user_id: e for e in ReminderEmail.objects.all()}
        assert set(emails) == set(recipients), where
        for row in rows:
            key = (row.user_id, row.kind, row.target_id, row.period)
            if key in superseded:
                assert (row.status, row.skip_reason) == ("skipped", "superseded"), (where, key)
            else:
                assert row.status == Reminder.Status.SENT, (where, key, row.skip_reason)
                assert row.email_id == emails[row.user_id].pk, (where, key)
            assert (row.attempts, row.last_error, row.not_before) == (0, "", None), (where, key)

        # One delivery per person did the work; every other one found nothing to do, or
        # found another delivery for that person under way (its advisory lock) and left.
        for user_id in everyone:
            outcomes = Counter(result[user_id] for result in results)
            sends = 1 if user_id in recipients else 0
            assert outcomes["sent"] == sends, (where, user_id, outcomes)
            assert set(outcomes) - {"sent"} <= {"nothing due", "busy"}, (where, user_id, outcomes)
            assert sum(outcomes.values()) == THREADS, (where, user_id, outcomes)

        sent = mail.outbox[:]
        assert sorted(m.to[0] for m in sent) == sorted(recipients.values()), where
        assert len({m.extra_headers["Message-ID"] for m in sent}) == len(recipients), where
        [to_mentor] = [m for m in sent if m.to == [physician.email]]
        assert to_mentor.subject.endswith(", and 6 more reminders"), (where, to_mentor.subject)
        for mentee in [student, *waiting]:
            assert mentee.full_name in to_mentor.body, (where, mentee.full_name)
        notices = Counter(
            Notification.objects.filter(kind__startswith="reminder.").values_list(
                "user_id", flat=True
            )
        )
        assert notices == {p: 1 + WAITING * (p == physician.pk) for p in recipients}, where
