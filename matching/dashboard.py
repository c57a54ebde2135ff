"""The figures a program's coordinators see: the dashboard and the equity view.

Selectors, scoped like every program read: ``program_for_coordinator`` answers 404 to
anyone but a coordinator of the program's school. Every figure is one aggregate
query (or one narrow row query) whatever the size of the program, so the pages issue
a fixed number of queries.

Demographics appear only in :func:`program_equity`, as group aggregates with small
groups suppressed; nothing here returns a person's gender or ethnicity.
"""

from __future__ import annotations

import datetime as dt
import statistics
import zoneinfo
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import (
    Avg,
    Case,
    Count,
    DateTimeField,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.choices import Ethnicity, Gender
from accounts.models import User
from accounts.services import audit_record
from mentorship.models import CADENCE_DAYS, Agreement, Cadence, CheckIn, Mentorship, Pulse
from mentorship.reminders import GRACE_DAYS

from .models import Enrollment, MatchRun, Program, Proposal
from .selectors import program_for_coordinator

SCORE_BINS = 10  # 0–10%, 10–20%, … 90–100%
# A mentor carrying more than this many times the median load, and at least
# LOAD_MARGIN more than it, is flagged: the "minority tax" falls on a few people.
LOAD_FACTOR = 2
LOAD_MARGIN = 2
MIN_GROUP = 5  # equity view: smaller groups are shown as "<5" with no figures
NOT_STATED = "not_stated"
EQUITY_VIEW_ACTION = "program.equity_view"


# ====================================================================================
# Dashboard
# ====================================================================================


@dataclass(frozen=True)
class ScoreBin:
    low: int  # percent, inclusive
    high: int  # percent, exclusive; the last bin also holds 100%
    count: int

    @property
    def label(self) -> str:
        return f"{self.low}–{self.high}%"


@dataclass(frozen=True)
class ScoreRun:
    id: int
    number: int
    published: bool


@dataclass(frozen=True)
class StatusCounts:
    active: int  # active and meeting: not stalled
    stalled: int  # active, but no check-in within the cadence plus the grace
    paused: int
    ended: int

    @property
    def total(self) -> int:
        return self.active + self.stalled + self.paused + self.ended


@dataclass(frozen=True)
class MonthAdherence:
    month: dt.date  # the 1st of the month
    live: int  # program mentorships live at some point in the month
    met: int  # of those, how many completed at least one check-in in the month

    @property
    def percent(self) -> float | None:
        return _percent(self.met, self.live)


@dataclass(frozen=True)
class PulseCounts:
    yes: int
    partly: int
    no: int

    @property
    def total(self) -> int:
        return self.yes + self.partly + self.no

    @property
    def negative_percent(self) -> float | None:
        return _percent(self.no, self.total)


@dataclass(frozen=True)
class MentorLoad:
    person: int
    name: str
    mentorships: int


@dataclass(frozen=True)
class LoadBucket:
    mentorships: int
    mentors: int  # how many mentors carry exactly that many


@dataclass(frozen=True)
class LoadSummary:
    mentors: tuple[MentorLoad, ...]  # most loaded first
    median: float | None
    flagged: tuple[MentorLoad, ...]

    @property
    def distribution(self) -> list[LoadBucket]:
        """Every load from 0 to the largest, with how many mentors carry it."""
        top = max((m.mentorships for m in self.mentors), default=-1)
        counts = [0] * (top + 1)
        for mentor in self.mentors:
            counts[mentor.mentorships] += 1
        return [LoadBucket(n, mentors) for n, mentors in enumerate(counts)]


@dataclass(frozen=True)
class ProgramDashboard:
    program: Program
    as_of: dt.datetime
    mentees: int
    mentors: int
    matched_mentees: int
    score_run: ScoreRun | None
    score_bins: tuple[ScoreBin, ...]
    statuses: StatusCounts
    adherence: tuple[MonthAdherence, ...]
    pulses: PulseCounts
    load: LoadSummary

    @property
    def match_rate(self) -> float | None:
        return _percent(self.matched_mentees, self.mentees)


def _percent(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def program_dashboard(
    *, user: User, program_id: int, now: dt.datetime | None = None
) -> ProgramDashboard:
    """Every figure of the program's dashboard, for a coordinator of its school."""
    program = program_for_coordinator(user=user, program_id=program_id)
    now = now or timezone.now()
    participants = _participants(program)
    run = _score_run(program)
    return ProgramDashboard(
        program=program,
        as_of=now,
        mentees=participants["mentees"],
        mentors=participants["mentors"],
        matched_mentees=participants["matched"],
        score_run=run,
        score_bins=_score_bins(run),
        statuses=_statuses(program, now),
        adherence=_adherence(program, now),
        pulses=_pulses(program),
        load=_mentor_load(program),
    )


def _participants(program: Program) -> dict[str, int]:
    paired = Mentorship.objects.filter(program=program, mentee=OuterRef("user_id"))
    mentee = Q(role=Enrollment.Role.MENTEE)
    return (
        Enrollment.objects.filter(program=program)
        .annotate(paired=Exists(paired))
        .aggregate(
            mentees=Count("pk", filter=mentee),
            mentors=Count("pk", filter=Q(role=Enrollment.Role.MENTOR)),
            matched=Count("pk", filter=mentee & Q(paired=True)),
        )
    )


def _score_run(program: Program) -> ScoreRun | None:
    """The published run if there is one, else the latest finished run."""
    run = (
        MatchRun.objects.filter(program=program)
        .filter(Q(published_at__isnull=False) | Q(status=MatchRun.Status.DONE))
        .order_by(F("published_at").desc(nulls_last=True), "-number")
        .values("pk", "number", "published_at")
        .first()
    )
    if run is None:
        return None
    return ScoreRun(run["pk"], run["number"], run["published_at"] is not None)


def _score_bins(run: ScoreRun | None) -> tuple[ScoreBin, ...]:
    width = 100 // SCORE_BINS
    bounds = [(i * width, (i + 1) * width) for i in range(SCORE_BINS)]
    if run is None:
        return tuple(ScoreBin(low, high, 0) for low, high in bounds)
    counts: dict[str, Any] = {}
    for i, (low, high) in enumerate(bounds):
        # The first bin takes anything below 10% and the last anything from 90% up, so
        # every proposal is counted once even at exactly 0 or 1.
        condition = Q()
        if i > 0:
            condition &= Q(score__gte=low / 100)
        if i < SCORE_BINS - 1:
            condition &= Q(score__lt=high / 100)
        counts[f"bin{i}"] = Count("pk", filter=condition)
    row = Proposal.objects.filter(run_id=run.id).aggregate(**counts)
    return tuple(ScoreBin(low, high, row[f"bin{i}"]) for i, (low, high) in enumerate(bounds))


def _at(value: Any) -> ExpressionWrapper:
    return ExpressionWrapper(value, output_field=DateTimeField())


def _stall_at(program: Program) -> Case:
    """When an active mentorship counts as stalled: the agreed cadence plus the same
    grace the overdue reminder uses, after the last completed check-in (or the start).
    Needs the ``stall_cadence`` annotation (:func:`_cadence`)."""
    done = CheckIn.objects.filter(
        mentorship=OuterRef("pk"), status=CheckIn.Status.COMPLETED
    ).order_by("-scheduled_at", "-pk")
    since = Coalesce(Subquery(done.values("scheduled_at")[:1]), F("started_at"))
    default = Cadence(program.default_cadence)
    return Case(
        *[
            When(
                Q(stall_cadence=cadence),
                then=_at(since + Value(dt.timedelta(days=days + GRACE_DAYS[cadence]))),
            )
            for cadence, days in CADENCE_DAYS.items()
        ],
        default=_at(since + Value(dt.timedelta(days=CADENCE_DAYS[default] + GRACE_DAYS[default]))),
        output_field=DateTimeField(),
    )


def _cadence(program: Program) -> Coalesce:
    """The cadence of the pair's agreement; without one, the program's default."""
    agreed = Agreement.objects.filter(mentorship=OuterRef("pk")).values("cadence")[:1]
    return Coalesce(Subquery(agreed), Value(program.default_cadence))


def stall_rules() -> list[tuple[str, int, int]]:
    """(cadence label, its days, the grace after it) for the page to explain "stalled"."""
    return [(c.label, days, GRACE_DAYS[c]) for c, days in CADENCE_DAYS.items()]


def _statuses(program: Program, now: dt.datetime) -> StatusCounts:
    active = Q(status=Mentorship.Status.ACTIVE)
    row = (
        Mentorship.objects.filter(program=program)
        .annotate(stall_cadence=_cadence(program))
        .annotate(stall_at=_stall_at(program))
        .aggregate(
            active=Count("pk", filter=active & Q(stall_at__gt=now)),
            stalled=Count("pk", filter=active & Q(stall_at__lte=now)),
            paused=Count("pk", filter=Q(status=Mentorship.Status.PAUSED)),
            ended=Count("pk", filter=Q(status=Mentorship.Status.ENDED)),
        )
    )
    return StatusCounts(**row)


def program_months(program: Program, now: dt.datetime) -> list[tuple[dt.datetime, dt.datetime]]:
    """[start, end) of each calendar month, in the school's time zone, from the program's
    first month to the current one (or its last, if it is over)."""
    zone = zoneinfo.ZoneInfo(program.institution.timezone)
    last = min(timezone.localtime(now, zone).date(), program.ends_on)
    year, month = program.starts_on.year, program.starts_on.month
    months = []
    while (year, month) <= (last.year, last.month):
        nxt = (year + month // 12, month % 12 + 1)
        months.append((dt.datetime(year, month, 1, tzinfo=zone), dt.datetime(*nxt, 1, tzinfo=zone)))
        year, month = nxt
    return months


def _adherence(program: Program, now: dt.datetime) -> tuple[MonthAdherence, ...]:
    months = program_months(program, now)
    if not months:
        return ()
    counts: dict[str, Any] = {}
    for i, (start, end) in enumerate(months):
        live = Q(started_at__lt=end) & (Q(ended_at__isnull=True) | Q(ended_at__gte=start))
        met = CheckIn.objects.filter(
            mentorship=OuterRef("pk"),
            status=CheckIn.Status.COMPLETED,
            scheduled_at__gte=start,
            scheduled_at__lt=end,
        )
        counts[f"live{i}"] = Count("pk", filter=live)
        counts[f"met{i}"] = Count("pk", filter=live & Q(Exists(met)))
    row = Mentorship.objects.filter(program=program).aggregate(**counts)
    return tuple(
        MonthAdherence(start.date(), row[f"live{i}"], row[f"met{i}"])
        for i, (start, _) in enumerate(months)
    )


def _pulses(program: Program) -> PulseCounts:
    answers = {answer: Count("pk", filter=Q(answer=answer)) for answer in Pulse.Answer.values}
    row = Pulse.objects.filter(checkin__mentorship__program=program).aggregate(**answers)
    return PulseCounts(yes=row["yes"], partly=row["partly"], no=row["no"])


def _mentor_load(program: Program) -> LoadSummary:
    """Live (active or paused) program mentorships of every enrolled mentor, zeros too."""
    live = (
        Mentorship.objects.filter(
            program=program, mentor=OuterRef("user_id"), status__in=Mentorship.LIVE
        )
        .order_by()
        .values("mentor")
        .annotate(n=Count("pk"))
        .values("n")
    )
    rows = (
        Enrollment.objects.filter(program=program, role=Enrollment.Role.MENTOR)
        .select_related("user")
        .annotate(load=Coalesce(Subquery(live, output_field=IntegerField()), Value(0)))
        .order_by("-load", "user__full_name", "pk")
    )
    mentors = tuple(MentorLoad(e.user_id, e.user.display_name, e.load) for e in rows)
    return summarise_load(mentors)


def summarise_load(mentors: Sequence[MentorLoad]) -> LoadSummary:
    if not mentors:
        return LoadSummary((), None, ())
    median = statistics.median(m.mentorships for m in mentors)
    flagged = tuple(
        m
        for m in mentors
        if m.mentorships > LOAD_FACTOR * median and m.mentorships >= median + LOAD_MARGIN
    )
    return LoadSummary(tuple(mentors), float(median), flagged)


# ====================================================================================
# Equity view
# ====================================================================================


@dataclass(frozen=True)
class GroupFigures:
    """One group's figures; all None (and ``suppressed``) when the group is too small."""

    key: str
    label: str
    suppressed: bool
    people: int | None
    matched: int | None
    coverage_percent: float | None
    mean_score_percent: float | None
    median_days_to_match: float | None


@dataclass(frozen=True)
class ProgramEquity:
    program: Program
    overall: GroupFigures
    by_gender: tuple[GroupFigures, ...]
    by_ethnicity: tuple[GroupFigures, ...]
    min_group: int = MIN_GROUP


@dataclass(frozen=True)
class _Mentee:
    """One enrolled mentee, inside this module only: never returned."""

    gender: str
    ethnicities: tuple[str, ...]
    days_to_match: float | None
    score: float | None


GENDER_LABELS = {**dict(Gender.choices), Gender.SELF_DESCRIBED.value: "Self-described"}
ETHNICITY_LABELS = {**dict(Ethnicity.choices), Ethnicity.SELF_DESCRIBED.value: "Self-described"}


def program_equity(*, user: User, program_id: int) -> ProgramEquity:
    """Coverage, mean match score and median time to match by self-reported gender and
    ethnicity, in aggregate, with groups under ``MIN_GROUP`` people suppressed."""
    program = program_for_coordinator(user=user, program_id=program_id)
    mentees = _mentees(program)
    by_gender: dict[str, list[_Mentee]] = {key: [] for key in [*Gender.values, NOT_STATED]}
    by_ethnicity: dict[str, list[_Mentee]] = {key: [] for key in [*Ethnicity.values, NOT_STATED]}
    for mentee in mentees:
        by_gender[mentee.gender].append(mentee)
        for ethnicity in mentee.ethnicities or (NOT_STATED,):
            by_ethnicity[ethnicity].append(mentee)
    gender_labels = {**GENDER_LABELS, NOT_STATED: "Not stated"}
    ethnicity_labels = {**ETHNICITY_LABELS, NOT_STATED: "Not stated"}
    return ProgramEquity(
        program=program,
        overall=_figures("all", "All mentees", mentees),
        by_gender=suppress(_figures(k, gender_labels[k], v) for k, v in by_gender.items()),
        by_ethnicity=suppress(_figures(k, ethnicity_labels[k], v) for k, v in by_ethnicity.items()),
    )


def program_equity_open(*, user: User, program_id: int, channel: str) -> ProgramEquity:
    """The equity figures, and an audit record that this coordinator looked at them
    (``channel``: "html" or "api"). Demographic aggregates are sensitive even when
    suppressed, so every view is on record."""
    equity = program_equity(user=user, program_id=program_id)
    audit_record(
        actor=user,
        action=EQUITY_VIEW_ACTION,
        target=equity.program,
        institution_id=equity.program.institution_id,
        detail={"channel": channel},
    )
    return equity


def _mentees(program: Program) -> list[_Mentee]:
    first_pair = (
        Mentorship.objects.filter(program=program, mentee=OuterRef("user_id"))
        .order_by("started_at", "pk")
        .values("started_at")[:1]
    )
    # The published run's pairs are the ones that became mentorships.
    score = (
        Proposal.objects.filter(
            run__program=program, run__published_at__isnull=False, mentee=OuterRef("user_id")
        )
        .order_by()
        .values("mentee")
        .annotate(mean=Avg("score"))
        .values("mean")
    )
    rows = (
        Enrollment.objects.filter(program=program, role=Enrollment.Role.MENTEE)
        .annotate(matched_at=Subquery(first_pair), score=Subquery(score))
        .values_list(
            "joined_at",
            "user__demographics__gender",
            "user__demographics__ethnicities",
            "matched_at",
            "score",
        )
    )
    mentees = []
    for joined_at, gender, ethnicities, matched_at, mean_score in rows:
        days = None
        if matched_at is not None:
            days = max((matched_at - joined_at).total_seconds() / 86400, 0.0)
        stated = [e for e in (ethnicities or []) if e in Ethnicity.values]
        mentees.append(
            _Mentee(
                gender=gender if gender in Gender.values else NOT_STATED,
                ethnicities=tuple(dict.fromkeys(stated)),
                days_to_match=days,
                score=mean_score if matched_at is not None else None,
            )
        )
    return mentees


def _figures(key: str, label: str, people: Sequence[_Mentee]) -> GroupFigures:
    matched = [p for p in people if p.days_to_match is not None]
    scores = [p.score for p in matched if p.score is not None]
    days = [p.days_to_match for p in matched if p.days_to_match is not None]
    return GroupFigures(
        key=key,
        label=label,
        suppressed=False,
        people=len(people),
        matched=len(matched),
        coverage_percent=_percent(len(matched), len(people)),
        mean_score_percent=round(100 * statistics.fmean(scores), 1) if scores else None,
        median_days_to_match=round(statistics.median(days), 1) if days else None,
    )


def suppress(groups: Iterable[GroupFigures]) -> tuple[GroupFigures, ...]:
    """Hide every group under ``MIN_GROUP`` people. When that hides exactly one group,
    its size would follow from the total minus the groups shown, so the next-smallest
    group is hidden too (complementary suppression)."""
    groups = list(groups)
    hidden = {g.key for g in groups if (g.people or 0) < MIN_GROUP}
    if len(hidden) == 1:
        shown = sorted((g for g in groups if g.key not in hidden), key=lambda g: g.people or 0)
        if shown:
            hidden.add(shown[0].key)
    return tuple(
        GroupFigures(g.key, g.label, True, None, None, None, None, None) if g.key in hidden else g
        for g in groups
    )
