"""Every read about people. Always given the requesting user; scoped to what they may see."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Count, Prefetch, Q, QuerySet, prefetch_related_objects
from django.http import Http404
from django_otp.plugins.otp_totp.models import TOTPDevice

from .choices import MENTOR_ROLES, Role
from .models import (
    Block,
    CompletenessItem,
    ConflictOfInterest,
    Demographics,
    Institution,
    Interest,
    Language,
    Notification,
    Profile,
    Specialty,
    User,
    profile_completeness,
)


def own_profile(*, user: User) -> Profile:
    return (
        Profile.objects.select_related("user", "institution")
        .prefetch_related("specialties", "interests", "languages")
        .get(user=user)
    )


def own_demographics(*, user: User) -> Demographics:
    demographics, _ = Demographics.objects.get_or_create(user=user)
    return demographics


def own_conflicts(*, user: User) -> QuerySet[ConflictOfInterest]:
    return ConflictOfInterest.objects.filter(mentor=user).select_related("institution")


def two_factor_device(*, user: User) -> TOTPDevice | None:
    """The confirmed authenticator app that signing in asks a code from, if any."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()


def completeness(*, profile: Profile) -> tuple[int, list[CompletenessItem]]:
    """Percentage complete and the checklist, using the profile's prefetched sets."""
    items = profile_completeness(
        profile,
        specialty_count=len(profile.specialties.all()),
        interest_count=len(profile.interests.all()),
        language_count=len(profile.languages.all()),
    )
    done = sum(item.done for item in items)
    return round(100 * done / len(items)), items


def public_mentor_profiles(*, viewer: User) -> QuerySet[Profile]:
    """Mentor profiles any signed-in person may read: active residents and physicians.

    Never joins ``Demographics``: sensitive fields cannot reach a public page. Leaves out
    mentors who blocked the viewer, and those the viewer blocked.
    """
    rows = Profile.objects.filter(user__is_active=True, user__role__in=list(MENTOR_ROLES))
    if viewer.is_authenticated:
        rows = rows.exclude(user__blocks_made__blocked=viewer).exclude(
            user__blocks_received__blocker=viewer
        )
    return rows.select_related("user", "institution").prefetch_related(
        "specialties", "interests", "languages"
    )


def blocked_between(user_ids: Iterable[int], other_ids: Iterable[int]) -> set[tuple[int, int]]:
    """(user, other) for every block, either way round, between someone in ``user_ids``
    and someone in ``other_ids``: pairs that must never be asked or matched."""
    users, others = set(user_ids), set(other_ids)
    rows = Block.objects.filter(
        Q(blocker_id__in=users, blocked_id__in=others)
        | Q(blocker_id__in=others, blocked_id__in=users)
    ).values_list("blocker_id", "blocked_id")
    return {(a, b) if a in users else (b, a) for a, b in rows}


def public_mentor_profile(*, viewer: User, profile_id: int) -> Profile:
    try:
        return public_mentor_profiles(viewer=viewer).get(pk=profile_id)
    except Profile.DoesNotExist as exc:
        raise Http404("No such mentor.") from exc


def public_mentor_detail(*, viewer: User, profile_id: int) -> Profile:
    """``public_mentor_profile`` with each specialty's related specialties, which the API's
    mentor detail lists: one query for all of them, not one per specialty."""
    profile = public_mentor_profile(viewer=viewer, profile_id=profile_id)
    prefetch_related_objects(
        [profile], Prefetch("specialties__related", queryset=Specialty.objects.only("id", "slug"))
    )
    return profile


def specialty_list() -> QuerySet[Specialty]:
    return Specialty.objects.prefetch_related(
        Prefetch("related", queryset=Specialty.objects.only("id", "slug"))
    )


def interest_list() -> QuerySet[Interest]:
    return Interest.objects.all()


def language_list() -> QuerySet[Language]:
    return Language.objects.all()


def institution_list() -> QuerySet[Institution]:
    return Institution.objects.all()


def coordinator_institution_summary(*, user: User) -> dict[str, object]:
    """Headcounts for the coordinator's own institution only."""
    profile = Profile.objects.select_related("institution").get(user=user)
    if user.role != Role.COORDINATOR or profile.institution_id is None:
        raise Http404("No institution to summarise.")
    counts = Profile.objects.filter(
        institution_id=profile.institution_id, user__is_active=True
    ).aggregate(
        students=Count("pk", filter=Q(user__role=Role.STUDENT)),
        seeking=Count("pk", filter=Q(user__role=Role.STUDENT, seeking_mentor=True)),
        residents=Count("pk", filter=Q(user__role=Role.RESIDENT)),
        physicians=Count("pk", filter=Q(user__role=Role.PHYSICIAN)),
        accepting=Count("pk", filter=Q(user__role__in=list(MENTOR_ROLES), accepting_mentees=True)),
    )
    by_stage = list(
        Profile.objects.filter(
            institution_id=profile.institution_id, user__is_active=True, stage__isnull=False
        )
        .values("stage")
        .annotate(n=Count("pk"))
        .order_by("stage")
    )
    return {"institution": profile.institution, "counts": counts, "by_stage": by_stage}


def notification_list(*, user: User) -> QuerySet[Notification]:
    """The person's own in-app notices, newest first."""
    return Notification.objects.filter(user=user).order_by("-created_at", "-pk")


def notification_unread_count(*, user: User) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


def coordinated_institution_id(*, user: User, action: str) -> int:
    """The school a coordinator runs, for ``action`` ("change its calendar"); anyone else
    is refused with a 403 that says who may."""
    from django.core.exceptions import PermissionDenied

    institution_id = getattr(getattr(user, "profile", None), "institution_id", None)
    if user.role != Role.COORDINATOR or institution_id is None:
        raise PermissionDenied(f"Only your school's coordinators can {action}.")
    return institution_id
