"""Builders shared by the program test modules: programs, people, enrolment, runs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.utils import timezone

from accounts.choices import Role, Stage
from accounts.models import Specialty, User
from matching import runs
from matching.models import Enrollment, MatchRun, Program, Proposal
from tests.factories import UserFactory

SPECIALTY_ONLY = {
    "specialty": 10, "stage": 0, "interests": 0, "goals": 0, "concordance": 0,
    "language": 0, "institution": 0, "availability": 0, "style": 0,
}  # fmt: skip


def make_program(school, coordinator, **fields) -> Program:
    today = timezone.localdate()
    values = {
        "name": "MS2 mentoring",
        "starts_on": today + dt.timedelta(days=7),
        "ends_on": today + dt.timedelta(days=300),
        "status": Program.Status.OPEN,
        "weights": dict(SPECIALTY_ONLY),
        "created_by": coordinator,
    }
    values.update(fields)
    return Program.objects.create(institution=school, **values)


def person(school, role: str, name: str, *, stage=None, wants=(), practises=(), **profile) -> User:
    """A mentee who wants ``wants`` specialties, or a mentor who practises ``practises``."""
    user = UserFactory(
        role=role,
        full_name=name,
        profile={"institution": school, **({"stage": stage} if stage is not None else {}),
                 **profile},
    )  # fmt: skip
    slugs = list(wants) + list(practises)
    if slugs:
        user.profile.specialties.set(Specialty.objects.filter(slug__in=slugs))
    return user


def mentee(school, name: str, *wants: str, stage=Stage.MS2, **profile) -> User:
    return person(school, Role.STUDENT, name, stage=stage, wants=wants, **profile)


def mentor(school, name: str, *practises: str, capacity=2, stage=Stage.ATTENDING_MID,
           **profile) -> User:  # fmt: skip
    role = Role.PHYSICIAN if stage >= Stage.ATTENDING_EARLY else Role.RESIDENT
    return person(
        school, role, name, stage=stage, practises=practises, capacity=capacity, **profile
    )


def enrol(program: Program, users: Iterable[User], role: str, capacity=None) -> None:
    for user in users:
        Enrollment.objects.create(program=program, user=user, role=role, capacity=capacity)


def run_now(user: User, program: Program, objective: str | None = None) -> MatchRun:
    """Start a run and execute its task body, as the worker would."""
    run, created = runs.run_start(user=user, program_id=program.pk, objective=objective)
    assert created
    assert runs.run_execute(run_id=run.pk) is True
    run.refresh_from_db()
    assert run.status == MatchRun.Status.DONE, run.error
    return run


def pairs(run: MatchRun) -> set[tuple[str, str]]:
    return {
        (p.mentee.display_name, p.mentor.display_name)
        for p in Proposal.objects.filter(run=run).select_related("mentee", "mentor")
    }


def trio_program(school, coordinator) -> tuple[Program, dict[str, User]]:
    """3 mentees x 2 mentors whose best assignment is known.

    Anna wants orthopaedics or cardiology, Ben orthopaedics, Cleo cardiology; Dr. Ortho
    has 1 place, Dr. Cardio 2. Giving Anna the orthopaedist (first come) would leave Ben
    with a cardiologist he did not ask for: the optimum gives Ben the orthopaedist and
    Anna and Cleo the cardiologist (3 pairs in the wanted specialty).
    """
    program = make_program(school, coordinator)
    people = {
        "anna": mentee(school, "Anna", "orthopaedic-surgery", "cardiology"),
        "ben": mentee(school, "Ben", "orthopaedic-surgery"),
        "cleo": mentee(school, "Cleo", "cardiology"),
        "ortho": mentor(school, "Ortho", "orthopaedic-surgery", capacity=1),
        "cardio": mentor(school, "Cardio", "cardiology", capacity=2),
    }
    enrol(program, [people["anna"], people["ben"], people["cleo"]], Enrollment.Role.MENTEE)
    enrol(program, [people["ortho"], people["cardio"]], Enrollment.Role.MENTOR)
    return program, people
