"""A publish racing mentors' own accepts on real PostgreSQL: capacity is never exceeded,
and the publish either starts every pair or writes nothing."""

from __future__ import annotations

import pytest

from accounts.choices import Role, Stage
from accounts.models import Profile
from matching import runs
from matching.models import Enrollment, MatchRun, MentorRequest, Program, Proposal
from mentorship.models import Mentorship
from mentorship.services import request_accept
from tests.factories import UserFactory
from tests.matching.programs import SPECIALTY_ONLY, make_program
from tests.support.threads import together

pytestmark = pytest.mark.django_db(transaction=True)

CAPACITY = 4
PROGRAM_PAIRS = 2
ACCEPTS = 3
TRIALS = 10


def _people(school, role, n, **profile):
    return [UserFactory(role=role, profile={"institution": school, **profile}) for _ in range(n)]


@pytest.mark.postgres
def test_a_publish_racing_self_accepts_never_overfills_a_mentor_and_is_all_or_nothing(
    postgres, school, coordinator
):
    mentor = UserFactory(
        role=Role.PHYSICIAN,
        full_name="Race Mentor",
        profile={"institution": school, "stage": Stage.ATTENDING_SENIOR, "capacity": CAPACITY},
    )
    program = make_program(school, coordinator, weights=dict(SPECIALTY_ONLY))
    mentees = _people(school, Role.STUDENT, PROGRAM_PAIRS)
    for user in mentees:
        Enrollment.objects.create(program=program, user=user, role=Enrollment.Role.MENTEE)
    Enrollment.objects.create(program=program, user=mentor, role=Enrollment.Role.MENTOR)
    # In a transactional test the run's task runs eagerly as soon as run_start commits.
    run, _ = runs.run_start(user=coordinator, program_id=program.pk)
    run.refresh_from_db()
    assert run.status == MatchRun.Status.DONE, run.error
    assert Proposal.objects.filter(run=run).count() == PROGRAM_PAIRS
    askers = _people(school, Role.STUDENT, ACCEPTS)

    outcomes = []
    for trial in range(TRIALS):
        Mentorship.objects.all().delete()
        MentorRequest.objects.all().delete()
        Profile.objects.filter(user=mentor).update(active_mentees=0)
        MatchRun.objects.filter(pk=run.pk).update(published_at=None, published_by=None)
        Program.objects.filter(pk=program.pk).update(status=Program.Status.OPEN)
        requests = MentorRequest.objects.bulk_create(
            [
                MentorRequest(mentee=s, mentor=mentor, slot=1, expectations="Monthly calls.",
                              status=MentorRequest.Status.PENDING)
                for s in askers
            ]
        )  # fmt: skip

        def publish():
            runs.run_publish(user=coordinator, program_id=program.pk, run_id=run.pk)
            return "published"

        def accept(request_id):
            request_accept(mentor=mentor, request_id=request_id)
            return "accepted"

        results = together([publish] + [lambda r=r.pk: accept(r) for r in requests])

        active = Profile.objects.get(user=mentor).active_mentees
        live = Mentorship.objects.filter(mentor=mentor)
        from_program = live.filter(program=program).count()
        accepted = results.count("accepted")
        assert active <= CAPACITY, f"trial {trial}"
        assert active == live.count() == from_program + accepted, f"trial {trial}"
        published = MatchRun.objects.get(pk=run.pk).published_at is not None
        if "published" in results:
            assert (published, from_program) == (True, PROGRAM_PAIRS), f"trial {trial}"
            assert Proposal.objects.filter(run=run, mentorship__isnull=False).count() == 2
        else:
            refusal = next(r for r in results if r.startswith("Dr. Race Mentor"))
            assert "has no free place any more" in refusal
            assert (published, from_program) == (False, 0), f"trial {trial}"
            assert Program.objects.get(pk=program.pk).status == Program.Status.OPEN
        outcomes.append("published" if published else "refused")
        Proposal.objects.filter(run=run).update(mentorship=None)

    # Which side wins varies from trial to trial (both endings show up in a few runs of
    # this test); asserting a mix would make it flaky, so each ending is checked whole.
    assert len(outcomes) == TRIALS
