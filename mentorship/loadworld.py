"""A school big enough to load-test: the demo population copied until it reaches a size.

Only ever run against a throw-away database (``manage.py loadtest`` makes one). Copies
keep each demo person's role, stage, school, answers, specialties, interests and
languages, so the proportions of students, residents and physicians stay the demo's;
they start with no mentorships and no requests. Deterministic: the same demo and the
same target give the same rows.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from accounts.choices import MENTOR_ROLES, Role
from accounts.demo import DEMO_PASSWORD, seed_demo
from accounts.models import Profile, User
from matching.demo import seed_programs
from mentorship.demo import seed_relationships
from mentorship.services import academic_calendars_roll

COPIED_ROLES = [Role.STUDENT, Role.RESIDENT, Role.PHYSICIAN]
BATCH = 2000


@dataclass
class LoadWorld:
    users: int
    created: int
    seconds: float
    password: str
    mentees: list[str]  # emails of copied students (never signed in, no requests yet)
    mentors: dict[int, str]  # profile id -> email of every accepting mentor


def seed_load(*, users: int = 10_000, seed: int = 2026) -> LoadWorld:
    """The demo school (seeded if missing), then copies of its students, residents and
    physicians until there are about ``users`` people."""
    started = time.perf_counter()
    seed_demo(seed=seed)
    seed_relationships(seed=seed)
    academic_calendars_roll()
    seed_programs(seed=seed)
    created = _copy_people(target=users)
    return LoadWorld(
        users=User.objects.count(),
        created=created,
        seconds=time.perf_counter() - started,
        password=DEMO_PASSWORD,
        mentees=list(
            User.objects.filter(email__contains="+load", role=Role.STUDENT)
            .order_by("pk")
            .values_list("email", flat=True)
        ),
        mentors=dict(
            Profile.objects.filter(
                user__role__in=list(MENTOR_ROLES), user__is_active=True, accepting_mentees=True
            )
            .order_by("pk")
            .values_list("pk", "user__email")
        ),
    )


@transaction.atomic
def _copy_people(*, target: int) -> int:
    originals = list(
        Profile.objects.filter(user__role__in=COPIED_ROLES, user__is_active=True)
        .exclude(user__email__contains="+load")
        .select_related("user")
        .order_by("pk")
    )
    missing = target - User.objects.count()
    if missing <= 0 or not originals:
        return 0
    m2m: dict[str, dict[int, list[int]]] = {}
    for attr, column in (
        ("specialties", "specialty_id"),
        ("interests", "interest_id"),
        ("languages", "language_id"),
    ):
        through: Any = getattr(Profile, attr).through
        links: dict[int, list[int]] = {}
        for profile_id, other_id in through.objects.values_list("profile_id", column):
            links.setdefault(profile_id, []).append(other_id)
        m2m[attr] = links
    copy_fields = [
        f.attname
        for f in Profile._meta.concrete_fields
        if f.attname not in {"id", "user_id", "active_mentees", "created_at", "updated_at"}
    ]
    start = User.objects.filter(email__contains="+load").count()
    plan = [
        ((start + n) // len(originals) + 1, originals[(start + n) % len(originals)])
        for n in range(missing)
    ]
    created = 0
    for offset in range(0, len(plan), BATCH):
        chunk = plan[offset : offset + BATCH]
        users = [
            User(
                email=_copy_email(profile.user.email, copy),
                full_name=profile.user.full_name,
                role=profile.user.role,
                password=profile.user.password,  # the demo's hash: one password for all
                date_joined=profile.user.date_joined,
            )
            for copy, profile in chunk
        ]
        User.objects.bulk_create(users)
        by_email = dict(
            User.objects.filter(email__in=[u.email for u in users]).values_list("email", "pk")
        )
        profiles = Profile.objects.bulk_create(
            [
                Profile(
                    user_id=by_email[_copy_email(profile.user.email, copy)],
                    **{name: getattr(profile, name) for name in copy_fields},
                )
                for copy, profile in chunk
            ]
        )
        new_ids = dict(
            Profile.objects.filter(user_id__in=list(by_email.values())).values_list("user_id", "pk")
        )
        for attr, links in m2m.items():
            through = getattr(Profile, attr).through
            column = {
                "specialties": "specialty_id",
                "interests": "interest_id",
                "languages": "language_id",
            }[attr]
            through.objects.bulk_create(
                [
                    through(
                        profile_id=new_ids[by_email[_copy_email(original.user.email, copy)]],
                        **{column: other},
                    )
                    for copy, original in chunk
                    for other in links.get(original.pk, [])
                ]
            )
        created += len(profiles)
    return created


def _copy_email(email: str, copy: int) -> str:
    local, _, domain = email.partition("@")
    return f"{local}+load{copy}@{domain}"


def role_counts() -> dict[str, int]:
    counts = dict.fromkeys([r.value for r in Role], 0)
    for role in User.objects.values_list("role", flat=True):
        counts[role] += 1
    return counts
