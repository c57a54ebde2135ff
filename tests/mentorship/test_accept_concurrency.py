"""Concurrent accepts on real PostgreSQL: a mentor can never exceed capacity."""

import pytest

from accounts.choices import Role, Stage
from accounts.models import Profile
from matching.models import MentorRequest
from mentorship.models import Mentorship
from mentorship.services import request_accept
from tests.factories import UserFactory
from tests.support.threads import together

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 50
TRIALS = 20


def _run_concurrently(mentor, request_ids):
    def accept(request_id):
        request_accept(mentor=mentor, request_id=request_id)
        return "ok"

    outcomes = together([lambda rid=rid: accept(rid) for rid in request_ids])
    return ["ok" if outcome == "ok" else "full" for outcome in outcomes]


@pytest.mark.postgres
def test_fifty_concurrent_accepts_for_the_last_place_make_exactly_one_mentorship(postgres, school):
    mentor = UserFactory(
        role=Role.PHYSICIAN,
        profile={"institution": school, "stage": Stage.ATTENDING_SENIOR, "capacity": 1},
    )
    students = [
        UserFactory(role=Role.STUDENT, profile={"institution": school}) for _ in range(THREADS)
    ]
    for trial in range(TRIALS):
        Mentorship.objects.all().delete()
        MentorRequest.objects.all().delete()
        Profile.objects.filter(user=mentor).update(active_mentees=0, capacity=1)
        requests = MentorRequest.objects.bulk_create(
            [
                MentorRequest(
                    mentee=s,
                    mentor=mentor,
                    slot=1,
                    status=MentorRequest.Status.PENDING,
                    expectations="Monthly calls.",
                )
                for s in students
            ]
        )
        outcomes = _run_concurrently(mentor, [r.pk for r in requests])
        assert sorted(outcomes) == ["full"] * (THREADS - 1) + ["ok"], f"trial {trial}"
        assert Mentorship.objects.filter(mentor=mentor).count() == 1, f"trial {trial}"
        assert Profile.objects.get(user=mentor).active_mentees == 1
