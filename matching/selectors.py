"""Every read of the matching domain, given the requesting user."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.db.models import QuerySet

from accounts.models import Profile, User
from accounts.selectors import public_mentor_profiles
from mentorship.exceptions import ApplicationError

from .adapters import build_cohort
from .engine.explain import explain
from .engine.rank import top_k, top_k_from_row
from .engine.scoring import build_model, feasibility, score_matrix
from .filters import MentorFilter
from .models import MentorRequest

# Rules that only say "not now": worth showing when the student asks to see everyone.
CAPACITY_RULES = {"not_accepting", "full"}


class PermissionDeniedError(ApplicationError):
    status_code = 403


@dataclass(frozen=True)
class Recommendation:
    mentor: Profile
    score: float
    reasons: list[str]
    contributions: dict[str, float]
    excluded_by: list[str] = field(default_factory=list)

    @property
    def percent(self) -> int:
        return round(100 * self.score)


@dataclass(frozen=True)
class Recommendations:
    results: list[Recommendation]
    pool_size: int
    filters: MentorFilter


def _mentor_pool(user: User, filters: Mapping[str, Any]) -> tuple[MentorFilter, QuerySet[Profile]]:
    data = {key: value for key, value in filters.items() if value not in ("", None)}
    data.setdefault("accepting_only", "true")
    mentor_filter = MentorFilter(
        data=data, queryset=public_mentor_profiles(viewer=user).exclude(user=user)
    )
    if not mentor_filter.is_valid():
        raise ApplicationError(
            "Some filters are not valid.",
            fields={k: [str(e) for e in v] for k, v in mentor_filter.errors.items()},
        )
    return mentor_filter, mentor_filter.qs


def recommendations_for(
    *, user: User, filters: Mapping[str, Any] | None = None, k: int = 10
) -> Recommendations:
    """Top-k mentors for this student, computed on the fly, with reasons.

    With ``accepting_only`` off, mentors who would fit but have no place now are
    listed after the feasible ones, with the reason they cannot take a mentee.
    """
    if not user.can_be_mentee:
        raise PermissionDeniedError(
            "Recommendations are for students and residents looking for a mentor."
        )
    if not 1 <= k <= 50:
        raise ApplicationError("k must be between 1 and 50.", fields={"k": ["Between 1 and 50."]})
    mentor_filter, pool = _mentor_pool(user, filters or {})
    cohort = build_cohort(Profile.objects.filter(user=user), pool)
    if not cohort.mentors:
        return Recommendations(results=[], pool_size=0, filters=mentor_filter)
    model = build_model(cohort.encoded)
    ranked = top_k(model, 0, k=k)
    results = []
    for index in ranked.mentors:
        why = explain(model, 0, int(index))
        results.append(
            Recommendation(cohort.mentors[int(index)], why.score, why.reasons, why.contributions)
        )
    if mentor_filter.form.cleaned_data.get("accepting_only") == "false" and len(results) < k:
        allowed = feasibility(cohort.encoded, rows=np.array([0]))[0]
        row = score_matrix(model, rows=np.array([0]))[0]
        for index in top_k_from_row(row, ~allowed, k).mentors:
            why = explain(model, 0, int(index))
            if why.rules_broken and set(why.rules_broken) <= CAPACITY_RULES:
                results.append(
                    Recommendation(
                        cohort.mentors[int(index)],
                        why.score,
                        why.reasons,
                        why.contributions,
                        why.excluded_by,
                    )
                )
            if len(results) >= k:
                break
    return Recommendations(results=results, pool_size=len(cohort.mentors), filters=mentor_filter)


_REQUEST_RELATED = (
    "mentee__profile__institution",
    "mentor__profile__institution",
    "suggested_mentor__profile",
)


def requests_sent(*, user: User) -> QuerySet[MentorRequest]:
    """The student's own requests, newest batch first."""
    return (
        MentorRequest.objects.filter(mentee=user)
        .select_related(*_REQUEST_RELATED)
        .prefetch_related("messages__author")
        .order_by("-created_at", "rank")
    )  # fmt: skip


def inbox(*, user: User) -> QuerySet[MentorRequest]:
    """Requests addressed to this mentor that are (or were) theirs to answer.

    Queued requests are not shown: the mentor sees a request only when it is sent.
    """
    return (
        MentorRequest.objects.filter(mentor=user)
        .exclude(status=MentorRequest.Status.QUEUED)
        .select_related(*_REQUEST_RELATED)
        .prefetch_related("messages__author", "mentee__profile__specialties")
        .order_by("expires_at", "-created_at")
    )


def request_for_party(*, user: User, request_id: int) -> MentorRequest:
    """A request seen by its student or by its mentor (once sent); 404 for anyone else."""
    from django.db.models import Q
    from django.http import Http404

    visible = MentorRequest.objects.filter(
        Q(mentee=user) | (Q(mentor=user) & ~Q(status=MentorRequest.Status.QUEUED))
    )
    try:
        return (
            visible.select_related(*_REQUEST_RELATED)
            .prefetch_related("messages__author")
            .get(pk=request_id)
        )
    except MentorRequest.DoesNotExist as exc:
        raise Http404("No such request.") from exc
