"""Invariants under any interleaving of the services that touch places and requests.

A hypothesis state machine drives the real services (send, accept, decline, withdraw,
expire, a coordinator's run and publish, a mentor's capacity change) over a small fixed
cast; after every step plain ORM queries check the rules the database and the services
promise together. A refusal (``ApplicationError``) is a legitimate outcome of a step;
any other error fails the test.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
import time_machine
from django.db import transaction
from django.db.models import Count, Q
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from accounts.models import Profile, User
from accounts.services import profile_update
from matching import runs
from matching.models import Enrollment, MatchRun, MentorRequest, Proposal
from matching.services import request_decline, request_send, request_withdraw, requests_expire_due
from mentorship.exceptions import ApplicationError
from mentorship.models import Mentorship
from mentorship.services import request_accept
from tests.matching.programs import enrol, make_program, mentee, mentor

pytestmark = pytest.mark.django_db

STUDENTS = 3
MENTORS = 3
START = dt.datetime(2027, 3, 1, 15, 0, tzinfo=dt.UTC)
OPEN = MentorRequest.OPEN


@pytest.fixture
def cast(school, coordinator):
    """3 students and 3 cardiologists (1, 2 and 3 places), all enrolled in one program."""
    with time_machine.travel(START, tick=False):
        program = make_program(school, coordinator)
        students = [mentee(school, f"Student {n}", "cardiology") for n in range(STUDENTS)]
        mentors = [
            mentor(school, f"Mentor {n}", "cardiology", capacity=c, accepting_mentees=True)
            for n, c in enumerate([1, 2, 3])
        ]
        enrol(program, students, Enrollment.Role.MENTEE)
        enrol(program, mentors, Enrollment.Role.MENTOR)
    return {
        "program": program.pk,
        "coordinator": coordinator.pk,
        "students": [u.pk for u in students],
        "mentors": [u.pk for u in mentors],
    }


def _machine(cast, outcomes: Counter):
    class Matching(RuleBasedStateMachine):
        """One example = one savepoint, rolled back in ``teardown``: every example starts
        from the same cast, and the cast is built once per test rather than per example."""

        def __init__(self):
            super().__init__()
            self._example = transaction.atomic()
            self._example.__enter__()
            self.clock = START
            self.coordinator = User.objects.get(pk=cast["coordinator"])
            self.students = list(User.objects.filter(pk__in=cast["students"]).order_by("pk"))
            self.mentors = list(User.objects.filter(pk__in=cast["mentors"]).order_by("pk"))
            self.program_id = cast["program"]

        def teardown(self):
            transaction.set_rollback(True)
            self._example.__exit__(None, None, None)

        def _state(self):
            return (
                list(MentorRequest.objects.order_by("pk").values_list("pk", "status", "slot")),
                list(Mentorship.objects.order_by("pk").values_list("pk", "status")),
                list(Profile.objects.order_by("pk").values_list("pk", "capacity", "active_mentees",
                                                                "accepting_mentees")),
                list(MatchRun.objects.order_by("pk").values_list("pk", "status", "published_at")),
                list(Proposal.objects.order_by("pk").values_list("pk", "mentorship_id")),
            )  # fmt: skip

        def _step(self, name, work):
            """Run ``work`` at the machine's clock; a refusal must leave the data unchanged."""
            before = self._state()
            with time_machine.travel(self.clock, tick=False):
                try:
                    result = work()
                except ApplicationError:
                    outcomes[f"{name}: refused"] += 1
                    assert self._state() == before, f"{name} was refused but wrote"
                    return None
            outcomes[f"{name}: done"] += 1
            return result

        def _request(self, index: int, where: Q) -> MentorRequest | None:
            rows = list(MentorRequest.objects.filter(where).order_by("pk"))
            return rows[index % len(rows)] if rows else None

        # --- steps --------------------------------------------------------------------

        @initialize()
        def each_student_asks_a_mentor(self):
            # Every example starts with requests waiting, so that answers have something
            # to act on even when hypothesis leaves "send" out of an example.
            for asker, asked in zip(self.students, self.mentors, strict=True):
                self._step(
                    "send",
                    lambda s=asker, m=asked: request_send(
                        mentee=s, mentors=[m], expectations="Monthly calls about cardiology."
                    ),
                )

        @rule(
            student=st.integers(0, STUDENTS - 1),
            choices=st.lists(st.integers(0, MENTORS - 1), min_size=1, max_size=3, unique=True),
            single=st.booleans(),
        )
        def send(self, student, choices, single):
            self._step(
                "send",
                lambda: request_send(
                    mentee=self.students[student],
                    mentors=[self.mentors[i] for i in choices],
                    expectations="Monthly calls about cardiology.",
                    single_mentor=single,
                ),
            )

        @rule(mentor=st.integers(0, MENTORS - 1), pick=st.integers(0, 20), waiting=st.booleans())
        def accept(self, mentor, pick, waiting):
            # A request waiting for this mentor, or any they can see: closed ones must be
            # refused.
            user = self.mentors[mentor]
            where = Q(mentor=user) & ~Q(status=MentorRequest.Status.QUEUED)
            if waiting:
                where &= Q(status__in=OPEN)
            request = self._request(pick, where)
            if request is not None:
                self._step("accept", lambda: request_accept(mentor=user, request_id=request.pk))

        @rule(mentor=st.integers(0, MENTORS - 1), pick=st.integers(0, 20))
        def decline(self, mentor, pick):
            user = self.mentors[mentor]
            request = self._request(pick, Q(mentor=user) & ~Q(status=MentorRequest.Status.QUEUED))
            if request is not None:
                self._step(
                    "decline",
                    lambda: request_decline(
                        mentor=user,
                        request_id=request.pk,
                        reason=MentorRequest.DeclineReason.values[0],
                    ),
                )

        @rule(student=st.integers(0, STUDENTS - 1), pick=st.integers(0, 20))
        def withdraw(self, student, pick):
            user = self.students[student]
            request = self._request(pick, Q(mentee=user))
            if request is not None:
                self._step("withdraw", lambda: request_withdraw(mentee=user, request_id=request.pk))

        @rule(days=st.integers(1, 20))
        def time_passes(self, days):
            self.clock += dt.timedelta(days=days)
            if self._step("expire", lambda: requests_expire_due(now=self.clock)):
                outcomes["expire: expired some"] += 1

        @rule()
        def run_matching(self):
            def work():
                run, created = runs.run_start(user=self.coordinator, program_id=self.program_id)
                if created:
                    # The worker's task body: on_commit never fires inside the test's
                    # transaction.
                    runs.run_execute(run_id=run.pk)

            self._step("run", work)

        @rule()
        def publish(self):
            run = MatchRun.objects.filter(program_id=self.program_id).order_by("-number").first()
            if run is not None:
                result = self._step(
                    "publish",
                    lambda: runs.run_publish(
                        user=self.coordinator, program_id=self.program_id, run_id=run.pk
                    ),
                )
                if result is not None and not result.already_published:
                    outcomes["publish: started pairs"] += 1

        @rule(
            mentor=st.integers(0, MENTORS - 1),
            capacity=st.integers(0, 4),
            # Mostly still accepting: a mentor who stops leaves every later send refused.
            accepting=st.sampled_from([True, True, True, False]),
        )
        def change_capacity(self, mentor, capacity, accepting):
            self._step(
                "capacity",
                lambda: profile_update(
                    user=self.mentors[mentor],
                    data={"capacity": capacity, "accepting_mentees": accepting},
                ),
            )

        # --- invariants ---------------------------------------------------------------

        @invariant()
        def places_match_live_mentorships(self):
            live = Counter(
                Mentorship.objects.filter(status__in=Mentorship.LIVE).values_list(
                    "mentor_id", flat=True
                )
            )
            for profile in Profile.objects.filter(user__in=self.mentors):
                assert profile.active_mentees == live[profile.user_id], profile.user_id
                assert profile.active_mentees <= profile.capacity, profile.user_id

        @invariant()
        def one_open_request_per_pair_and_three_per_student(self):
            pairs = (
                MentorRequest.objects.filter(status__in=OPEN)
                .values("mentee", "mentor")
                .annotate(n=Count("pk"))
                .filter(n__gt=1)
            )
            assert not list(pairs)
            per_student = (
                MentorRequest.objects.filter(status__in=OPEN)
                .values("mentee")
                .annotate(n=Count("pk"))
                .filter(n__gt=MentorRequest.MAX_OPEN)
            )
            assert not list(per_student)
            # Every open request holds one of its student's three slots, and only open ones do.
            slots = list(
                MentorRequest.objects.filter(status__in=OPEN).values_list("mentee_id", "slot")
            )
            assert all(slot in (1, 2, 3) for _, slot in slots), slots
            assert len(set(slots)) == len(slots), slots
            assert not MentorRequest.objects.exclude(status__in=OPEN).exclude(slot=None).exists()

        @invariant()
        def every_mentorship_has_two_different_people(self):
            for mentee_id, mentor_id in Mentorship.objects.values_list("mentee_id", "mentor_id"):
                assert mentee_id != mentor_id
                assert User.objects.filter(pk__in=[mentee_id, mentor_id]).count() == 2

        @invariant()
        def an_accepted_request_has_exactly_its_mentorship(self):
            accepted = MentorRequest.objects.filter(status=MentorRequest.Status.ACCEPTED)
            for request in accepted:
                ships = list(Mentorship.objects.filter(request=request))
                assert len(ships) == 1, request.pk
                assert (ships[0].mentee_id, ships[0].mentor_id) == (
                    request.mentee_id,
                    request.mentor_id,
                )
            assert (
                not Mentorship.objects.filter(
                    source=Mentorship.Source.REQUEST,
                )
                .exclude(request__status=MentorRequest.Status.ACCEPTED)
                .exists()
            )

        @invariant()
        def a_published_run_started_or_skipped_every_proposal(self):
            for run in MatchRun.objects.filter(published_at__isnull=False):
                proposals = list(Proposal.objects.filter(run=run).select_related("mentorship"))
                started = [p for p in proposals if p.mentorship is not None]
                for p in started:
                    assert (p.mentorship.mentee_id, p.mentorship.mentor_id) == (
                        p.mentee_id,
                        p.mentor_id,
                    )
                    assert p.mentorship.program_id == run.program_id
                publish = run.summary["publish"]
                assert publish["mentorships"] == len(started)
                assert len(publish["skipped"]) == len(proposals) - len(started)
            # Nothing unpublished carries a mentorship: a refused publish wrote nothing.
            assert not Proposal.objects.filter(
                run__published_at__isnull=True, mentorship__isnull=False
            ).exists()
            assert (
                not Mentorship.objects.filter(program__isnull=False)
                .exclude(program__runs__published_at__isnull=False)
                .exists()
            )

    return Matching


def test_no_sequence_of_requests_accepts_publishes_and_capacity_changes_breaks_the_rules(cast):
    outcomes: Counter[str] = Counter()
    run_state_machine_as_test(
        _machine(cast, outcomes),
        settings=settings(
            max_examples=30,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        ),
    )
    # Guard against a cast in which every step is refused, which would prove nothing.
    for step in ("send: done", "accept: done", "publish: started pairs"):
        assert outcomes[step], f"never {step}: {dict(outcomes)}"
