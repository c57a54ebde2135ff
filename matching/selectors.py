"""Every read of the matching domain, given the requesting user."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.core.paginator import Page, Paginator
from django.db.models import (
    Case,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    IntegerField,
    Q,
    QuerySet,
    Value,
    When,
    Window,
)
from django.db.models.functions import RowNumber

from accounts.choices import MENTOR_ROLES
from accounts.models import Profile, User
from accounts.selectors import public_mentor_profile, public_mentor_profiles
from mentorship.exceptions import ApplicationError

from .adapters import build_pool_cohort
from .engine.explain import explain
from .engine.rank import top_k, top_k_from_row
from .engine.scoring import build_model, feasibility, score_matrix
from .filters import MentorFilter
from .models import Bookmark, Enrollment, MatchRun, MentorRequest, Program

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
    cohort = build_pool_cohort(Profile.objects.filter(user=user), pool)
    if not cohort.mentor_ids:
        return Recommendations(results=[], pool_size=0, filters=mentor_filter)
    model = build_model(cohort.encoded)
    ranked = [(int(index), explain(model, 0, int(index))) for index in top_k(model, 0, k=k).mentors]
    if mentor_filter.form.cleaned_data.get("accepting_only") == "false" and len(ranked) < k:
        allowed = feasibility(cohort.encoded, rows=np.array([0]))[0]
        row = score_matrix(model, rows=np.array([0]))[0]
        for index in top_k_from_row(row, ~allowed, k).mentors:
            why = explain(model, 0, int(index))
            if why.rules_broken and set(why.rules_broken) <= CAPACITY_RULES:
                ranked.append((int(index), why))
            if len(ranked) >= k:
                break
    rows = _pool_rows(pool, [cohort.mentor_ids[index] for index, _why in ranked])
    results = [
        Recommendation(
            rows[cohort.mentor_ids[index]],
            why.score,
            why.reasons,
            why.contributions,
            why.excluded_by,
        )
        for index, why in ranked
        if cohort.mentor_ids[index] in rows
    ]
    return Recommendations(results=results, pool_size=len(cohort.mentor_ids), filters=mentor_filter)


def _pool_rows(pool: QuerySet[Profile], profile_ids: list[int]) -> dict[int, Profile]:
    """The ORM rows of the mentors a page shows, with what their cards read."""
    return pool.in_bulk(profile_ids) if profile_ids else {}


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


def requests_of_party(*, user: User) -> QuerySet[MentorRequest]:
    """Requests the person is a side of: as their student, or as their mentor once sent."""
    from django.db.models import Q

    return MentorRequest.objects.filter(
        Q(mentee=user) | (Q(mentor=user) & ~Q(status=MentorRequest.Status.QUEUED))
    )


def request_for_party(*, user: User, request_id: int) -> MentorRequest:
    """A request seen by its student or by its mentor (once sent); 404 for anyone else."""
    from django.http import Http404

    try:
        return (
            requests_of_party(user=user)
            .select_related(*_REQUEST_RELATED)
            .prefetch_related("messages__author")
            .get(pk=request_id)
        )
    except MentorRequest.DoesNotExist as exc:
        raise Http404("No such request.") from exc


# A median over fewer answers says more about luck than about the mentor.
MIN_ANSWERED = 3


@dataclass(frozen=True)
class ResponseStats:
    """How a mentor answers requests.

    ``answered``: sent requests the mentor responded to (accepted, declined or asked
    a question); ``unanswered``: sent requests that expired without a response.
    Requests withdrawn before an answer, and those still waiting, count for neither.
    """

    answered: int = 0
    unanswered: int = 0
    median: dt.timedelta | None = None

    @property
    def decided(self) -> int:
        return self.answered + self.unanswered

    @property
    def rate_percent(self) -> int | None:
        if self.decided < MIN_ANSWERED:
            return None
        return round(100 * self.answered / self.decided)

    @property
    def median_days(self) -> int | None:
        """Whole days, at least 1; None until there are enough answers to say."""
        if self.answered < MIN_ANSWERED or self.median is None:
            return None
        return max(1, int(self.median / dt.timedelta(days=1) + 0.5))  # half a day rounds up

    @property
    def usually_responds(self) -> str:
        if self.median_days is None:
            return ""
        if self.median is not None and self.median <= dt.timedelta(days=1):
            return "Usually responds within a day"
        return f"Usually responds in {self.median_days} days"


def response_stats(*, viewer: User, mentor_ids: Iterable[int]) -> dict[int, ResponseStats]:
    """Response rate and median response time per mentor (user id), in two queries.

    Public figures about mentors: any signed-in viewer may see them. The median is
    computed in the database (the middle one or two answers of each mentor, found
    with window functions), so the rows read never grow with a mentor's history.
    """
    ids = list(set(mentor_ids))
    if not ids:
        return {}
    sent = MentorRequest.objects.filter(mentor_id__in=ids, sent_at__isnull=False)
    counts = {
        row["mentor_id"]: row
        for row in sent.values("mentor_id").annotate(
            answered=Count("pk", filter=Q(responded_at__isnull=False)),
            unanswered=Count(
                "pk",
                filter=Q(responded_at__isnull=True, status=MentorRequest.Status.EXPIRED),
            ),
        )
    }
    wait = ExpressionWrapper(F("responded_at") - F("sent_at"), output_field=DurationField())
    middle = (
        sent.filter(responded_at__isnull=False)
        .annotate(
            wait=wait,
            position=Window(RowNumber(), partition_by=F("mentor_id"), order_by=[wait.asc()]),
            total=Window(Count("pk"), partition_by=F("mentor_id")),
        )
        # Rows (n+1)//2 and (n+2)//2: the middle one when n is odd, the middle two when even.
        .filter(
            position__gte=ExpressionWrapper((F("total") + 1) / 2, output_field=IntegerField()),
            position__lte=ExpressionWrapper((F("total") + 2) / 2, output_field=IntegerField()),
        )
        .values_list("mentor_id", "wait")
    )
    waits: dict[int, list[dt.timedelta]] = {}
    for mentor_id, value in middle:
        waits.setdefault(mentor_id, []).append(value)
    stats = {}
    for mentor_id in ids:
        row = counts.get(mentor_id, {})
        middle_waits = waits.get(mentor_id)
        stats[mentor_id] = ResponseStats(
            answered=row.get("answered", 0),
            unanswered=row.get("unanswered", 0),
            median=sum(middle_waits, dt.timedelta()) / len(middle_waits) if middle_waits else None,
        )
    return stats


def saved_mentor_ids(*, user: User, mentor_ids: Iterable[int]) -> set[int]:
    """Which of these mentors (user ids) this person saved: one query."""
    return set(
        Bookmark.objects.filter(user=user, mentor_id__in=list(mentor_ids)).values_list(
            "mentor_id", flat=True
        )
    )


BROWSE_PAGE_SIZE = 20
CARD_REASONS = 3


@dataclass(frozen=True)
class MentorCard:
    """One mentor as a browse or saved-list card."""

    mentor: Profile
    response: ResponseStats
    saved: bool
    score: float | None = None
    reasons: list[str] = field(default_factory=list)
    excluded_by: list[str] = field(default_factory=list)

    @property
    def percent(self) -> int | None:
        return None if self.score is None else round(100 * self.score)

    @property
    def places_open(self) -> int:
        return max(self.mentor.capacity - self.mentor.active_mentees, 0)

    @property
    def open_now(self) -> bool:
        return self.mentor.accepting_mentees and self.places_open > 0

    @property
    def can_request(self) -> bool:
        return self.open_now and not self.excluded_by


@dataclass(frozen=True)
class MentorBrowse:
    page: Page[MentorCard]
    filters: MentorFilter
    by_fit: bool  # ranked by the engine's fit for this viewer; else open places first, by name


def _cards(
    user: User, profiles: list[Profile], ranked: dict[int, tuple[float, list[str], list[str]]]
) -> list[MentorCard]:
    """Cards for one page: response figures and saved flags in three queries."""
    mentor_ids = [p.user_id for p in profiles]
    stats = response_stats(viewer=user, mentor_ids=mentor_ids)
    saved = saved_mentor_ids(user=user, mentor_ids=mentor_ids)
    cards = []
    for profile in profiles:
        score, reasons, excluded = ranked.get(profile.pk, (None, [], []))
        cards.append(
            MentorCard(
                mentor=profile,
                response=stats.get(profile.user_id, ResponseStats()),
                saved=profile.user_id in saved,
                score=score,
                reasons=reasons,
                excluded_by=excluded,
            )
        )
    return cards


def _holding(page: Page[Any], cards: list[MentorCard]) -> Page[MentorCard]:
    """The same page (number, count, neighbours) holding cards instead of rows."""
    return Page(cards, page.number, page.paginator)


def browse_mentors(
    *,
    user: User,
    filters: Mapping[str, Any] | None = None,
    page: int | str | None = 1,
    per_page: int = BROWSE_PAGE_SIZE,
) -> MentorBrowse:
    """Every mentor matching the filters, a page at a time, in a fixed number of queries.

    A student or resident sees them ranked by the engine's fit against the whole
    filtered pool, mentors they could ask now first, each with its top reasons.
    Anyone else (a physician or coordinator looking around) gets mentors with an
    open place first, then by name, and no fit score.
    """
    mentor_filter, pool = _mentor_pool(user, filters or {})
    if not user.can_be_mentee:
        open_now = Case(
            When(accepting_mentees=True, active_mentees__lt=F("capacity"), then=Value(1)),
            default=Value(0),
            output_field=IntegerField(),
        )
        ordered = pool.annotate(open_now=open_now).order_by("-open_now", "user__full_name", "pk")
        rows = Paginator(ordered, per_page).get_page(page)
        cards = _cards(user, list(rows.object_list), {})
        return MentorBrowse(page=_holding(rows, cards), filters=mentor_filter, by_fit=False)

    cohort = build_pool_cohort(Profile.objects.filter(user=user), pool)
    if not cohort.mentor_ids:
        empty: Page[MentorCard] = Paginator([], per_page).get_page(page)
        return MentorBrowse(page=empty, filters=mentor_filter, by_fit=True)
    model = build_model(cohort.encoded)
    scores = score_matrix(model, rows=np.array([0]))[0]
    allowed = feasibility(cohort.encoded, rows=np.array([0]))[0]
    # Mentors the student could ask now first, then by fit; the index breaks ties.
    order = np.lexsort((np.arange(scores.size), -scores, ~allowed))
    indices = Paginator([int(i) for i in order], per_page).get_page(page)
    ranked = {}
    for index in indices.object_list:
        why = explain(model, 0, index)
        ranked[cohort.mentor_ids[index]] = (why.score, why.reasons[:CARD_REASONS], why.excluded_by)
    loaded = _pool_rows(pool, [cohort.mentor_ids[i] for i in indices.object_list])
    shown = [
        loaded[pk] for pk in (cohort.mentor_ids[i] for i in indices.object_list) if pk in loaded
    ]
    cards = _cards(user, shown, ranked)
    return MentorBrowse(page=_holding(indices, cards), filters=mentor_filter, by_fit=True)


def saved_mentors(*, user: User, page: int | str | None = 1) -> Page[MentorCard]:
    """The mentors this person saved, newest first, as cards. Only they see the list."""
    bookmarks = (
        Bookmark.objects.filter(
            user=user, mentor__is_active=True, mentor__role__in=list(MENTOR_ROLES)
        )
        .select_related("mentor__profile", "mentor__profile__institution")
        .prefetch_related("mentor__profile__specialties")
        .order_by("-created_at", "-pk")
    )
    rows = Paginator(bookmarks, BROWSE_PAGE_SIZE).get_page(page)
    profiles = [bookmark.mentor.profile for bookmark in rows.object_list]
    stats = response_stats(viewer=user, mentor_ids=[p.user_id for p in profiles])
    cards = [
        MentorCard(mentor=p, response=stats.get(p.user_id, ResponseStats()), saved=True)
        for p in profiles
    ]
    return _holding(rows, cards)


def mentor_card(*, user: User, mentor_profile_id: int) -> MentorCard:
    """One mentor's card (no fit score); 404 if they are not a mentor."""
    profile = public_mentor_profile(viewer=user, profile_id=mentor_profile_id)
    return _cards(user, [profile], {})[0]


MENTOR_SEARCH_LIMIT = 10
SHORTLIST_SIZE = 10


def available_mentors(*, user: User) -> QuerySet[Profile]:
    """Mentors this person may name in a request, or suggest to a student when declining:
    accepting mentees, not themselves, by name."""
    return (
        public_mentor_profiles(viewer=user)
        .exclude(user=user)
        .filter(accepting_mentees=True)
        .order_by("user__full_name", "pk")
    )


def mentor_search(*, user: User, query: str, limit: int = MENTOR_SEARCH_LIMIT) -> list[Profile]:
    """Available mentors whose name or a specialty holds every word of ``query``: at most
    ``limit``, by name, in a fixed number of queries."""
    rows = available_mentors(user=user)
    for word in query.split()[:5]:
        in_specialty = Profile.specialties.through.objects.filter(
            specialty__name__icontains=word
        ).values("profile_id")
        rows = rows.filter(Q(user__full_name__icontains=word) | Q(pk__in=in_specialty))
    return list(rows.prefetch_related(None)[:limit])


def request_shortlist(*, user: User) -> list[Profile]:
    """The mentors a request form offers before any search: the student's best matches
    now, then the mentors they saved who accept mentees."""
    best = [r.mentor for r in recommendations_for(user=user, k=SHORTLIST_SIZE).results]
    saved = available_mentors(user=user).filter(
        user__in=Bookmark.objects.filter(user=user).values("mentor")
    )
    seen = {p.pk for p in best}
    return best + [p for p in saved[:SHORTLIST_SIZE] if p.pk not in seen]


def programs_for(*, user: User) -> QuerySet[Program]:
    """Programs the person may see: all of their school's for its coordinators, else the
    ones they are enrolled in."""
    from accounts.choices import Role

    institution_id = getattr(getattr(user, "profile", None), "institution_id", None)
    if user.role == Role.COORDINATOR and institution_id is not None:
        rows = Program.objects.filter(institution_id=institution_id)
    else:
        rows = Program.objects.filter(enrollments__user=user).distinct()
    return rows.annotate(
        mentees=Count("enrollments", filter=Q(enrollments__role=Enrollment.Role.MENTEE)),
        mentors=Count("enrollments", filter=Q(enrollments__role=Enrollment.Role.MENTOR)),
    ).order_by("-starts_on", "name")


def program_for_coordinator(*, user: User, program_id: int) -> Program:
    """One program of the coordinator's own school; 404 for anyone else's."""
    from django.http import Http404

    program = programs_for(user=user).filter(pk=program_id).first()
    if program is None or not user.is_coordinator:
        raise Http404("No such program.")
    return program


def program_participants(*, user: User, program_id: int) -> QuerySet[Enrollment]:
    program = program_for_coordinator(user=user, program_id=program_id)
    return program.enrollments.select_related("user__profile").order_by("role", "pk")


def my_program_roles(*, user: User) -> dict[int, list[str]]:
    """Program id -> the person's roles in it ("mentee", "mentor"): one query."""
    roles: dict[int, list[str]] = {}
    for program_id, role in Enrollment.objects.filter(user=user).values_list("program_id", "role"):
        roles.setdefault(program_id, []).append(role)
    return roles


@dataclass(frozen=True)
class ProgramStep:
    title: str
    done: bool
    detail: str
    url_name: str


@dataclass(frozen=True)
class ProgramOverview:
    program: Program
    mentees: int
    mentors: int
    places: int  # mentor places the program can use now
    pairs: int  # mentorships the program made
    latest_run: MatchRun | None
    published_run: MatchRun | None
    steps: list[ProgramStep]


def program_overview(*, user: User, program_id: int) -> ProgramOverview:
    """What the program's front page shows: counts, the latest run, the next steps."""
    from mentorship.models import Mentorship

    from .runs import enrolled_profiles, mentor_places  # runs reads programs through here

    program = program_for_coordinator(user=user, program_id=program_id)  # scope, counts
    pool = list(
        enrolled_profiles(program, Enrollment.Role.MENTOR).only(
            "capacity", "active_mentees", "user_id"
        )
    )
    places = sum(mentor_places(program, pool))  # the places a run would have now
    runs = list(program.runs.order_by("-number")[:1])
    published = program.runs.filter(published_at__isnull=False).first()
    pairs = Mentorship.objects.filter(program=program).count()
    mentees, mentors = int(getattr(program, "mentees", 0)), int(getattr(program, "mentors", 0))
    latest = runs[0] if runs else None
    steps = [
        ProgramStep(
            "Enrol mentees and mentors",
            mentees > 0 and mentors > 0,
            f"{mentees} mentee{'s' if mentees != 1 else ''}, {mentors} mentor"
            f"{'s' if mentors != 1 else ''} with {places} free place{'s' if places != 1 else ''}",
            "programs:participants",
        ),
        ProgramStep(
            "Run the matching",
            latest is not None and latest.status == MatchRun.Status.DONE,
            f"Run {latest.number}: {latest.get_status_display().lower()}"
            if latest
            else "No run yet",
            "programs:runs",
        ),
        ProgramStep(
            "Review and publish the pairs",
            published is not None,
            f"Published from run {published.number}: {pairs} pairs"
            if published
            else "Lock, swap or remove pairs, then publish",
            "programs:runs",
        ),
        ProgramStep(
            "Watch the program's health",
            published is not None,
            "Check-ins, pulses, mentor load and the equity view",
            "programs:dashboard",
        ),
    ]
    return ProgramOverview(
        program=program,
        mentees=mentees,
        mentors=mentors,
        places=places,
        pairs=pairs,
        latest_run=latest,
        published_run=published,
        steps=steps,
    )
