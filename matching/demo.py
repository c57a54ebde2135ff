"""The demo school's pairing program: a cohort enrolled and ready for its first match run."""

from __future__ import annotations

import datetime as dt
import random

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.choices import Role, Stage
from accounts.models import Institution, Profile, User

from .models import Enrollment, Program

DEMO_PROGRAM = "MS1 mentoring program"
MENTEES = 60
MENTORS = 30


@transaction.atomic
def seed_programs(seed: int = 2026) -> Program | None:
    """Northlake's MS1 program with 60 enrolled MS1s and 30 residents and physicians.

    Idempotent: an existing demo program is left as it is (a coordinator may have run
    or published it since).
    """
    school = Institution.objects.filter(slug="northlake").first()
    coordinator = User.objects.filter(email="coordinator@northlake.example").first()
    if school is None or coordinator is None:
        return None
    today = timezone.localdate()
    year = today.year if today.month >= 7 else today.year - 1
    name = f"{DEMO_PROGRAM} {year}–{str(year + 1)[-2:]}"
    program, created = Program.objects.get_or_create(
        institution=school,
        name=name,
        defaults={
            "description": (
                "Every first-year student gets a mentor for the year: a resident who "
                "remembers MS1 well or a physician in the field they are curious about. "
                "Monthly check-ins; the first before the Step 1 study period starts."
            ),
            "starts_on": today,
            "ends_on": dt.date(year + 1, 6, 30),
            "enrol_by": today + dt.timedelta(days=14),
            "match_by": today + dt.timedelta(days=21),
            "status": Program.Status.OPEN,
            "created_by": coordinator,
        },
    )
    if not created:
        return program
    rng = random.Random(seed)
    students = list(
        Profile.objects.filter(
            institution=school, user__role=Role.STUDENT, stage=Stage.MS1, user__is_active=True
        )
        .exclude(user__mentorships_as_mentee__status__in=["active", "paused"])
        .order_by("pk")
        .values_list("user_id", flat=True)
    )
    mentors = list(
        Profile.objects.filter(institution=school, user__role__in=[Role.RESIDENT, Role.PHYSICIAN])
        .exclude(active_mentees__gte=F("capacity"))
        .order_by("pk")
        .values_list("user_id", flat=True)
    )
    rows = [
        Enrollment(program=program, user_id=user_id, role=Enrollment.Role.MENTEE)
        for user_id in rng.sample(students, min(MENTEES, len(students)))
    ] + [
        Enrollment(program=program, user_id=user_id, role=Enrollment.Role.MENTOR, capacity=2)
        for user_id in rng.sample(mentors, min(MENTORS, len(mentors)))
    ]
    Enrollment.objects.bulk_create(rows)
    return program
