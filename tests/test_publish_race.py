"""A coordinator's publish racing fifty self-request accepts on real PostgreSQL.

Five mentors with six places each are in a program whose run proposes ten pairs (two
per mentor); fifty students, ten of them the run's own mentees, each have a pending
request to one of those mentors (two of the run's mentees ask their proposed mentor).
Trials alternate between that capacity and a roomy one where only such a pair can stop
the publish. Whatever order the threads land in: no mentor exceeds capacity, each
mentor's places taken equal their live mentorships, and the publish started every pair
(but those already started) or wrote nothing.
"""

from __future__ import annotations

from collections import Counter

import pytest

from accounts.choices import Role, Stage
from accounts.models import Profile
from matching import runs
from matching.models import Enrollment, MatchRun, MentorRequest, Program, Proposal
from mentorship.models import CheckIn, Mentorship
from mentorship.services import request_accept
from tests.factories import UserFactory
from tests.matching.programs import SPECIALTY_ONLY, make_program
from tests.support.threads import together

pytestmark = pytest.mark.django_db(transaction=True)

MENTORS = 5
CAPACITY = 6
# Up to eleven asks and two run places per mentor: with this capacity everyone fits, so
# the only thing that can stop the publish is a pair that started on its own meanwhile.
ROOMY = 13
PER_MENTOR_IN_RUN = 2
PROGRAM_MENTEES = MENTORS * PER_MENTOR_IN_RUN
ASKERS = 50
TRIALS = 9
CLASHES = 2  # run mentees who also ask the mentor the run proposes them


def _reset(mentors, program, run, capacity):
    Mentorship.objects.all().delete()
    MentorRequest.objects.all().delete()
    Profile.objects.filter(user__in=mentors).update(active_mentees=0, capacity=capacity)
    MatchRun.objects.filter(pk=run.pk).update(published_at=None, published_by=None)
    Program.objects.filter(pk=program.pk).update(status=Program.Status.OPEN)
    Proposal.objects.filter(run=run).update(mentorship=None)


@pytest.mark.postgres
def test_a_publish_racing_fifty_accepts_keeps_every_mentor_within_capacity(
    postgres, school, coordinator
):
    mentors = [
        UserFactory(
            role=Role.PHYSICIAN,
            full_name=f"Race Mentor {n}",
            profile={
                "institution": school,
                "stage": Stage.ATTENDING_SENIOR,
                "capacity": CAPACITY,
                "accepting_mentees": True,
            },
        )
        for n in range(MENTORS)
    ]
    students = [
        UserFactory(role=Role.STUDENT, profile={"institution": school, "stage": Stage.MS2})
        for _ in range(ASKERS)
    ]
    program = make_program(school, coordinator, weights=dict(SPECIALTY_ONLY))
    for user in students[:PROGRAM_MENTEES]:
        Enrollment.objects.create(program=program, user=user, role=Enrollment.Role.MENTEE)
    for user in mentors:
        # The enrolment caps each mentor at two run places: ten pairs, two per mentor.
        Enrollment.objects.create(
            program=program, user=user, role=Enrollment.Role.MENTOR, capacity=PER_MENTOR_IN_RUN
        )
    # In a transactional test the run's task runs eagerly as soon as run_start commits.
    run, _ = runs.run_start(user=coordinator, program_id=program.pk)
    run.refresh_from_db()
    assert run.status == MatchRun.Status.DONE, run.error
    proposed = dict(Proposal.objects.filter(run=run).values_list("mentee_id", "mentor_id"))
    assert len(proposed) == PROGRAM_MENTEES
    assert Counter(proposed.values()) == {m.pk: PER_MENTOR_IN_RUN for m in mentors}

    by_id = {m.pk: m for m in mentors}
    order = [m.pk for m in mentors]

    def asks(clashes):
        """Who asks whom: the first ``clashes`` run mentees ask the mentor the run proposes
        them (the publish must skip that pair, or refuse if it started meanwhile); the
        other run mentees ask the next mentor; the rest are spread evenly."""
        asked = {}
        for i, student in enumerate(students):
            if i < clashes:
                asked[student.pk] = proposed[student.pk]
            elif i < PROGRAM_MENTEES:
                asked[student.pk] = order[(order.index(proposed[student.pk]) + 1) % MENTORS]
            else:
                asked[student.pk] = order[i % MENTORS]
        per_mentor = Counter(asked.values()).values()
        # Contested: every mentor has more asks than places left beside the run's pairs;
        # roomy: room for all of them and the run's pairs.
        assert min(per_mentor) > CAPACITY - PER_MENTOR_IN_RUN
        assert max(per_mentor) <= ROOMY - PER_MENTOR_IN_RUN
        return asked

    endings = Counter()
    for trial in range(TRIALS):
        # Contested (the publish loses if it comes late), roomy with clashing pairs (it
        # loses if one of them starts while it runs), roomy without (it must win).
        capacity, clashes = [(CAPACITY, CLASHES), (ROOMY, CLASHES), (ROOMY, 0)][trial % 3]
        asked = asks(clashes)
        _reset(mentors, program, run, capacity)
        requests = MentorRequest.objects.bulk_create(
            [
                MentorRequest(mentee_id=mentee_id, mentor_id=mentor_id, slot=1,
                              expectations="Monthly calls.", status=MentorRequest.Status.PENDING)
                for mentee_id, mentor_id in asked.items()
            ]
        )  # fmt: skip

        def publish():
            result = runs.run_publish(user=coordinator, program_id=program.pk, run_id=run.pk)
            return ("published", result.mentorships, tuple(result.skipped))

        def accept(request):
            request_accept(mentor=by_id[request.mentor_id], request_id=request.pk)
            return ("accepted", request.mentee_id, request.mentor_id)

        results = together([publish] + [lambda r=r: accept(r) for r in requests])

        where = f"trial {trial}: {results!r}"
        # Every refusal is one this trial can explain, nothing else.
        refusals = [r for r in results if isinstance(r, str)]
        expected = []
        if clashes:
            expected += ["started a mentorship of their own", "You already mentor this student."]
        if capacity == CAPACITY:
            expected.append("no free place")
        assert all(any(e in r for e in expected) for r in refusals), where
        accepted = [r[1:] for r in results if isinstance(r, tuple) and r[0] == "accepted"]
        for profile in Profile.objects.filter(user__in=mentors):
            live = Mentorship.objects.filter(mentor_id=profile.user_id, status__in=Mentorship.LIVE)
            assert profile.active_mentees <= profile.capacity == capacity, where
            assert profile.active_mentees == live.count(), where
        from_requests = Mentorship.objects.filter(source=Mentorship.Source.REQUEST)
        assert sorted(from_requests.values_list("mentee_id", "mentor_id")) == sorted(accepted), (
            where
        )
        assert MentorRequest.objects.filter(status=MentorRequest.Status.ACCEPTED).count() == len(
            accepted
        ), where

        run.refresh_from_db()
        from_program = Mentorship.objects.filter(program=program)
        published = [r for r in results if isinstance(r, tuple) and r[0] == "published"]
        if published:
            _, started, skipped = published[0]
            assert run.published_at is not None, where
            assert Program.objects.get(pk=program.pk).status == Program.Status.PUBLISHED
            # Every proposal became a mentorship unless its pair already had one.
            assert started + len(skipped) == PROGRAM_MENTEES, where
            assert from_program.count() == started, where
            assert CheckIn.objects.filter(mentorship__program=program).count() == started
            for mentee_id, mentor_id in proposed.items():
                proposal = Proposal.objects.get(run=run, mentee_id=mentee_id)
                if proposal.mentorship_id is None:
                    assert (mentee_id, mentor_id) in accepted, where
                else:
                    pair = (proposal.mentorship.mentee_id, proposal.mentorship.mentor_id)
                    assert pair == (mentee_id, mentor_id), where
            if clashes == 0 and capacity == ROOMY:
                assert (len(accepted), started) == (ASKERS, PROGRAM_MENTEES), where
            endings[f"published ({capacity=}, {clashes=})"] += 1
        else:
            assert run.published_at is None, where
            assert run.published_by is None, where
            assert Program.objects.get(pk=program.pk).status == Program.Status.OPEN
            assert not from_program.exists(), where
            assert not Proposal.objects.filter(run=run, mentorship__isnull=False).exists()
            assert not CheckIn.objects.filter(mentorship__source=Mentorship.Source.PROGRAM).exists()
            endings[f"refused ({capacity=}, {clashes=})"] += 1

    # Which side wins a contested trial varies; each ending is checked whole above. With
    # room for everyone and no clashing pair, nothing may stop the publish.
    assert endings["published (capacity=13, clashes=0)"] == TRIALS // 3, dict(endings)
