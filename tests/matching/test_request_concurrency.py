"""Races on real PostgreSQL with real threads: duplicate requests.

Overlapping reminder scans are in tests/mentorship/test_reminder_concurrency.py."""

import threading

import pytest
from django.core import mail
from django.db import connection, connections

from accounts.choices import Role, Stage
from accounts.models import Notification
from matching import services
from matching.models import MentorRequest
from mentorship.exceptions import ApplicationError
from tests.conftest import require_service
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 8
TRIALS = 10
DUPLICATE = "You already have an open request with this mentor."


@pytest.fixture
def postgres():
    if connection.vendor != "postgresql":
        require_service("PostgreSQL (set DATABASE_URL)")


def _together(work, count):
    """Run ``work()`` in ``count`` threads released at the same instant; their outcomes."""
    barrier = threading.Barrier(count)
    outcomes = []
    lock = threading.Lock()

    def run():
        try:
            barrier.wait()
            result = work()
        except ApplicationError as error:
            result = error.message
        finally:
            connections.close_all()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(outcomes) == count, "a thread did not finish"
    return outcomes


@pytest.mark.postgres
def test_concurrent_duplicate_requests_leave_exactly_one_open_request(postgres, school):
    mentor = UserFactory(
        role=Role.PHYSICIAN, profile={"institution": school, "stage": Stage.ATTENDING_SENIOR}
    )
    student = UserFactory(role=Role.STUDENT, profile={"institution": school})

    def ask():
        services.request_send(mentee=student, mentors=[mentor], expectations="Monthly calls.")
        return "sent"

    for trial in range(TRIALS):
        MentorRequest.objects.all().delete()
        Notification.objects.all().delete()
        mail.outbox.clear()
        outcomes = _together(ask, THREADS)
        assert sorted(outcomes) == [DUPLICATE] * (THREADS - 1) + ["sent"], f"trial {trial}"
        open_rows = MentorRequest.objects.filter(mentee=student, status__in=MentorRequest.OPEN)
        assert open_rows.count() == 1, f"trial {trial}"
        assert MentorRequest.objects.count() == 1, f"trial {trial}"
        # The losers told nobody anything.
        assert Notification.objects.filter(user=mentor).count() == 1, f"trial {trial}"
        assert [m.to for m in mail.outbox] == [[mentor.email]], f"trial {trial}"
