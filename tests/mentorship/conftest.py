import datetime as dt

import pytest
from django.core import mail

from accounts.models import User
from matching.services import request_send
from mentorship import tasks
from mentorship.models import Mentorship
from mentorship.services import agreement_sign, request_accept


@pytest.fixture
def pair(student: User, physician: User, django_capture_on_commit_callbacks) -> Mentorship:
    """A live mentorship made the normal way: the student asked, the physician accepted."""
    with django_capture_on_commit_callbacks(execute=True):
        [request] = request_send(
            mentee=student,
            mentors=[physician],
            expectations="Monthly talks about orthopaedics and research.",
            goals={"career_guidance": 3, "research": 2},
        )
        return request_accept(mentor=physician, request_id=request.pk)


# --- Reminders -----------------------------------------------------------------
# A Monday, 10:00 in New York (EDT), where both test people live by default.
T0 = dt.datetime(2026, 10, 5, 14, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)


@pytest.fixture
def run(at):
    """Run the beat's reminder scan at a moment; return the emails it sent."""

    def scan(moment):
        before = len(mail.outbox)
        with at(moment):
            tasks.scan_reminders.delay()
        return mail.outbox[before:]

    return scan


def make_pair(at, mentee: User, mentor: User, *, sign: tuple[User, ...] = ()) -> Mentorship:
    """A mentorship made at T0 the normal way; ``sign``: who signs the agreement then."""
    with at(T0):
        [request] = request_send(
            mentee=mentee,
            mentors=[mentor],
            expectations="Monthly talks about research.",
            goals={"career_guidance": 3},
        )
        mentorship = request_accept(mentor=mentor, request_id=request.pk)
        for person in sign:
            agreement_sign(user=person, mentorship_id=mentorship.pk)
    mail.outbox.clear()
    return mentorship


@pytest.fixture
def signed(at, student, physician) -> Mentorship:
    """Maya (MS2) and Dr Physician, agreement signed by both at T0 (monthly cadence)."""
    return make_pair(at, student, physician, sign=(student, physician))
