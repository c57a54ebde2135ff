"""Races on real PostgreSQL with real threads: duplicate requests.

Overlapping reminder scans are in tests/mentorship/test_reminder_concurrency.py."""

import pytest
from django.core import mail

from accounts.choices import Role, Stage
from accounts.models import Notification
from matching import services
from matching.models import MentorRequest
from tests.factories import UserFactory
from tests.support.threads import together

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 8
TRIALS = 10
DUPLICATE = "You already have an open request with this mentor."


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
        outcomes = together([ask] * THREADS)
        assert sorted(outcomes) == [DUPLICATE] * (THREADS - 1) + ["sent"], f"trial {trial}"
        open_rows = MentorRequest.objects.filter(mentee=student, status__in=MentorRequest.OPEN)
        assert open_rows.count() == 1, f"trial {trial}"
        assert MentorRequest.objects.count() == 1, f"trial {trial}"
        # The losers told nobody anything.
        assert Notification.objects.filter(user=mentor).count() == 1, f"trial {trial}"
        assert [m.to for m in mail.outbox] == [[mentor.email]], f"trial {trial}"
