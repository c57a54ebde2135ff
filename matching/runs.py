"""Match runs of coordinators' pairing programs: start, execute, review, compare, publish.

A run is one cohort-wide optimisation, stored so it can be reproduced (parameters, a
hash of the input, the engine version, timings) and reviewed before anything
happens to anyone. Coordinators then lock, remove, swap or place pairs by hand; these
decisions are ``PairRule`` rows that every later run honours. Publishing turns the
proposals into mentorships, all or nothing.

Writes (``run_*``, ``proposal_*``) and reads (``program_runs_page``,
``run_for_coordinator``, ``run_review``, ``runs_compare``) of runs live here
together; the engine is reached through :mod:`matching.adapters` only for rows.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np
from celery.exceptions import SoftTimeLimitExceeded
from django.db import transaction
from django.db.models import Max, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from accounts.choices import Stage
from accounts.mail import user_timezone
from accounts.models import Profile, User
from accounts.selectors import blocked_between
from accounts.services import audit_record
from mentorship.exceptions import ApplicationError
from mentorship.models import CADENCE_DAYS, Cadence, CheckIn, Mentorship
from mentorship.services import _tell, mentor_place_claim, mentor_place_release, mentorship_start

from .adapters import Cohort, build_cohort, with_program_places
from .engine import ENGINE_VERSION
from .engine.assign import (
    UNMATCHED_ALL_FULL,
    Assignment,
    AssignmentError,
    LockInfeasibleError,
    assign,
    assign_team,
)
from .engine.explain import explain
from .engine.scoring import (
    EXCLUSION_TEXT,
    Rules,
    ScoreModel,
    build_model,
    exclusion_rules,
    feasibility,
    normalise_weights,
    score_matrix,
)
from .models import Enrollment, MatchRun, PairRule, Program, Proposal
from .selectors import program_for_coordinator
from .services import _coordinator_institution, _own_program_locked

ENGINE_OBJECTIVE = {
    Program.Objective.QUALITY: "score",
    Program.Objective.PARTICIPATION: "coverage",
}
# Team programs: the two places of a mentee's team, in the engine's slot order.
SLOTS = ("near_peer", "senior")
SLOT_LABELS = {"": "Mentor", "near_peer": "Near-peer", "senior": "Senior physician"}
SLOT_NOUNS = {"near_peer": "near-peer resident or fellow", "senior": "senior physician"}

# A RUNNING run whose worker has been silent this long (well past Celery's hard time
# limit) was lost with its worker: a redelivered task may claim it again.
STALE_AFTER = dt.timedelta(minutes=10)
STEPS = {
    "loading": ("Loading participants", 5),
    "scoring": ("Scoring every pair", 25),
    "solving": ("Finding the best assignment", 45),
    "explaining": ("Writing the reasons", 75),
    "saving": ("Saving the proposals", 90),
}
HISTOGRAM_BINS = 10
FACTOR_LABELS = {
    "specialty": "Specialty",
    "stage": "Career stage wished for",
    "interests": "Interests",
    "goals": "Goals",
    "concordance": "Shared background (opt-in)",
    "language": "Language",
    "meeting": "Meeting mode",
    "timezone": "Time zone",
    "institution": "Institution wished for",
    "availability": "Mentor's time",
    "mentor_preference": "Mentor's preferred stages",
    "style": "Mentoring style",
}
COMPARE_MAX = 6

UNMATCHED_RULES = "No mentor fits the program's rules"
UNMATCHED_FULL = "Every suitable mentor is full"
REMOVED_IN_REVIEW = "Their proposed mentor was removed in review"

FIRST_CHECKIN_AT = dt.time(17, 0)
FIRST_AGENDA = (
    "Get to know each other: what you hope to get from the program, how you like to "
    "meet, and two or three goals for the year."
)


class PublishConflictError(ApplicationError):
    """Publishing would break something that changed since the run: nothing was written."""

    status_code = 409


def percent(score: float) -> int:
    """A fit in [0, 1] as the whole percent shown to coordinators."""
    return round(100 * score)


# --- The program's cohort as the engine sees it -------------------------------------


def _is_near_peer(stage: np.ndarray) -> np.ndarray:
    return (stage >= Stage.PGY1) & (stage <= Stage.FELLOW)


def _is_senior(stage: np.ndarray) -> np.ndarray:
    return stage >= Stage.ATTENDING_EARLY


SLOT_KIND = {"near_peer": _is_near_peer, "senior": _is_senior}


def _stage_rule_ok(rule: str, stage: np.ndarray) -> np.ndarray:
    if rule == Program.MentorStageRule.NEAR_PEER:
        return _is_near_peer(stage)
    if rule == Program.MentorStageRule.ATTENDING:
        return _is_senior(stage)
    return np.ones(stage.shape, dtype=bool)


STAGE_RULE_TEXT = {
    Program.MentorStageRule.NEAR_PEER: (
        "The program pairs mentees only with near-peers (residents and fellows)"
    ),
    Program.MentorStageRule.ATTENDING: "The program pairs mentees only with attendings",
}


def enrolled_profiles(program: Program, role: str) -> QuerySet[Profile]:
    return Profile.objects.filter(
        user__is_active=True,
        user_id__in=Enrollment.objects.filter(program=program, role=role).values("user_id"),
    )


def mentor_places(program: Program, mentors: Sequence[Profile]) -> list[int]:
    """Mentees each mentor can take in this run: their free places, or fewer if their
    enrolment says so."""
    limits = dict(
        Enrollment.objects.filter(program=program, role=Enrollment.Role.MENTOR).values_list(
            "user_id", "capacity"
        )
    )
    out = []
    for profile in mentors:
        free = max(profile.capacity - profile.active_mentees, 0)
        limit = limits.get(profile.user_id)
        out.append(free if limit is None else min(limit, free))
    return out


def _params(program: Program, objective: str) -> dict[str, Any]:
    """Everything a run depends on besides the people, as it is now."""
    rules = PairRule.objects.filter(program=program).order_by("mentee_id", "mentor_id")
    return {
        "objective": objective,
        "demand": program.demand,
        "weights": {name: float(value) for name, value in sorted(program.weights.items())},
        "mentor_stage_rule": program.mentor_stage_rule,
        "institution_rule": program.institution_rule,
        "respect_conflicts": program.respect_conflicts,
        "locks": [
            [r.mentee_id, r.mentor_id, r.slot] for r in rules if r.kind == PairRule.Kind.LOCK
        ],
        "exclusions": [
            [r.mentee_id, r.mentor_id] for r in rules if r.kind == PairRule.Kind.EXCLUDE
        ],
    }


@dataclass(frozen=True)
class _Setting:
    """A program's cohort under its rules: the engine's arrays and the hard-rule mask."""

    cohort: Cohort
    params: Mapping[str, Any]
    places: np.ndarray  # (m,) mentees each mentor can take in this run
    rules: Rules
    allowed: np.ndarray  # (n, m) hard rules only; capacity is the solver's business
    mentee_index: dict[int, int]  # user id -> row
    mentor_index: dict[int, int]  # user id -> column
    live_pairs: list[tuple[int, int]]  # (mentee, mentor) user ids already in a mentorship

    @property
    def team(self) -> bool:
        return self.params["demand"] == Program.Demand.TEAM

    def slot_masks(self) -> list[np.ndarray]:
        stage = self.cohort.encoded.mentors.stage
        return [self.allowed & SLOT_KIND[slot](stage)[None, :] for slot in SLOTS]


def _setting(
    program: Program, params: Mapping[str, Any], *, mentee_ids: Iterable[int] | None = None
) -> _Setting:
    """Load the program's people and apply its rules (``params``) as hard rules.

    ``mentee_ids`` narrows the mentees (a check on one pair); the mentors are always
    the whole pool, so the scores agree with the run's (rare shared interests count
    more, and rarity is measured over the pool).
    """
    mentees = enrolled_profiles(program, Enrollment.Role.MENTEE)
    if mentee_ids is not None:
        mentees = mentees.filter(user_id__in=list(mentee_ids))
    raw = build_cohort(mentees, enrolled_profiles(program, Enrollment.Role.MENTOR))
    places = np.asarray(mentor_places(program, raw.mentors), dtype=np.int64)
    cohort = with_program_places(raw, places.tolist(), conflicts=params["respect_conflicts"])
    mentee_index = {p.user_id: i for i, p in enumerate(cohort.mentees)}
    mentor_index = {p.user_id: j for j, p in enumerate(cohort.mentors)}
    # Blocks are not part of the run's recorded rules: whatever they are now, two people
    # who blocked one another are never paired.
    blocked = blocked_between(list(mentee_index), list(mentor_index))
    exclusions = [
        (mentee_index[a], mentor_index[b])
        for a, b in [*params["exclusions"], *sorted(blocked)]
        if a in mentee_index and b in mentor_index
    ]
    rule = params["institution_rule"]
    rules = Rules(
        exclusions=exclusions,
        institution_rule=None if rule == Program.InstitutionRule.ANY else rule,
    )
    enc = cohort.encoded
    m = enc.n_mentors
    # Asked about open mentors: a full mentor still fits, the solver knows they are full.
    open_mentors = replace(
        enc.mentors, capacity=np.ones(m, dtype=np.int64), active=np.zeros(m, dtype=np.int64)
    )
    allowed = feasibility(replace(enc, mentors=open_mentors), rules)
    allowed &= _stage_rule_ok(params["mentor_stage_rule"], enc.mentors.stage)[None, :]
    live = sorted(
        Mentorship.objects.filter(
            status__in=Mentorship.LIVE,
            mentee_id__in=mentees.values("user_id"),
            mentor_id__in=enrolled_profiles(program, Enrollment.Role.MENTOR).values("user_id"),
        ).values_list("mentee_id", "mentor_id")
    )
    if live:
        rows = [mentee_index[a] for a, _ in live]
        cols = [mentor_index[b] for _, b in live]
        allowed[rows, cols] = False
    return _Setting(
        cohort=cohort,
        params=params,
        places=places,
        rules=rules,
        allowed=allowed,
        mentee_index=mentee_index,
        mentor_index=mentor_index,
        live_pairs=live,
    )


def _columns(arrays: Any) -> dict[str, Any]:
    out = {}
    for column in fields(arrays):
        value = np.asarray(getattr(arrays, column.name))
        if value.dtype.kind == "f":
            out[column.name] = [None if np.isnan(x) else float(x) for x in value.ravel()]
        else:
            out[column.name] = value.tolist()
    return out


def _input_hash(setting: _Setting) -> str:
    """sha256 of a canonical JSON of everything the result depends on.

    The encoded arrays stand for each participant's relevant profile fields (stage,
    specialties, interests, goals, languages, time zone, preferences, places, and the
    opt-in concordance categories, which only ever leave here inside the digest).
    """
    cohort = setting.cohort
    enc = cohort.encoded
    payload = {
        "engine_version": ENGINE_VERSION,
        "params": dict(setting.params),
        "weights": normalise_weights(setting.params["weights"]),
        "mentees": [p.user_id for p in cohort.mentees],
        "mentors": [p.user_id for p in cohort.mentors],
        "places": setting.places.tolist(),
        "mentee_fields": _columns(enc.mentees),
        "mentor_fields": _columns(enc.mentors),
        "languages": list(enc.languages),
        "specialties": list(cohort.vocabulary.specialty_pk),
        "related": [list(pair) for pair in enc.taxonomy.related_specialties],
        "interests": sorted(cohort.vocabulary.interest_index),
        "live_pairs": [list(pair) for pair in setting.live_pairs],
    }
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _name(profile: Profile) -> str:
    return profile.user.display_name


def _locks(setting: _Setting) -> tuple[np.ndarray, list[str]]:
    """The coordinator's kept pairs as engine rows, and a warning for each one that can
    no longer be kept (left the program, breaks a rule now, no place left); these are
    dropped rather than failing the whole run."""
    cohort = setting.cohort
    masks = setting.slot_masks() if setting.team else [setting.allowed]
    people = User.objects.in_bulk({pid for lock in setting.params["locks"] for pid in lock[:2]})
    names = {pk: user.display_name for pk, user in people.items()}
    used = np.zeros(len(cohort.mentors), dtype=np.int64)
    taken: set[tuple[int, int]] = set()
    rows: list[tuple[int, ...]] = []
    warnings = []
    for mentee_id, mentor_id, slot in setting.params["locks"]:
        pair = f"{names.get(mentee_id, 'a mentee')} – {names.get(mentor_id, 'a mentor')}"
        i = setting.mentee_index.get(mentee_id)
        j = setting.mentor_index.get(mentor_id)
        why = ""
        t = 0
        if i is None:
            why = "the mentee is no longer in the program"
        elif j is None:
            why = "the mentor is no longer in the program"
        else:
            if setting.team:
                stage = cohort.encoded.mentors.stage[j : j + 1]
                kinds = [k for k, s in enumerate(SLOTS) if SLOT_KIND[s](stage)[0]]
                t = SLOTS.index(slot) if slot in SLOTS else (kinds[0] if kinds else 0)
            if not masks[t][i, j]:
                why = "the pair now breaks a rule of the program"
            elif used[j] >= setting.places[j]:
                why = "the mentor has no place left"
            elif (i, t) in taken:
                why = "the mentee already has a kept mentor for this place"
        if why:
            warnings.append(f"Kept pair {pair} was dropped: {why}.")
            continue
        assert i is not None and j is not None
        used[j] += 1
        taken.add((i, t))
        rows.append((i, j, t) if setting.team else (i, j))
    width = 3 if setting.team else 2
    return np.asarray(rows, dtype=np.int64).reshape(-1, width), warnings


# --- Executing a run (the Celery task's body) ---------------------------------------


class _Clock:
    """Progress a poller can see (short autocommit UPDATEs) and seconds per step."""

    def __init__(self, run_id: int, claimed_at: dt.datetime) -> None:
        self.run_id = run_id
        self.claimed_at = claimed_at
        self.timings: dict[str, float] = {}
        self._step = ""
        self._start = self._began = time.perf_counter()

    def step(self, key: str) -> None:
        self._close()
        label, progress = STEPS[key]
        self._step = key
        _mine(self.run_id, self.claimed_at).update(stage=label, progress=progress)

    def _close(self) -> None:
        now = time.perf_counter()
        if self._step:
            self.timings[self._step] = round(now - self._start, 4)
        self._start = now

    def stop(self) -> dict[str, float]:
        self._close()
        self._step = ""
        self.timings["total"] = round(time.perf_counter() - self._began, 4)
        return self.timings


def _mine(run_id: int, claimed_at: dt.datetime) -> QuerySet[MatchRun]:
    """The run, only while this execution's claim on it holds."""
    return MatchRun.objects.filter(pk=run_id, status=MatchRun.Status.RUNNING, started_at=claimed_at)


@dataclass
class _Outcome:
    input_hash: str
    proposals: list[Proposal]
    summary: dict[str, Any]


def run_execute(*, run_id: int) -> bool:
    """Compute a queued run: the Celery task's body. True if this call did the work.

    Claimed with a conditional UPDATE (QUEUED -> RUNNING, or a RUNNING run whose
    worker went silent for ``STALE_AFTER``), so a retried or redelivered task has
    one effect; a DONE or FAILED run is left alone. The proposals and DONE are
    written in one transaction guarded by the same claim. Must not run inside a
    transaction: progress is committed step by step for pollers.
    """
    now = timezone.now()
    claimed = (
        MatchRun.objects.filter(pk=run_id)
        .filter(
            Q(status=MatchRun.Status.QUEUED)
            | Q(status=MatchRun.Status.RUNNING, started_at__lt=now - STALE_AFTER)
        )
        .update(
            status=MatchRun.Status.RUNNING,
            started_at=now,
            finished_at=None,
            progress=0,
            stage=STEPS["loading"][0],
            error="",
        )
    )
    if not claimed:
        return False
    run = MatchRun.objects.select_related("program").get(pk=run_id)
    clock = _Clock(run_id, now)
    try:
        outcome = _compute(run, clock)
    except LockInfeasibleError as error:
        _fail(run_id, now, clock, f"The kept pairs cannot all be honoured ({error}). "
              "Unlock some of them and run again.")  # fmt: skip
        return False
    except (ApplicationError, AssignmentError) as error:
        _fail(run_id, now, clock, getattr(error, "message", None) or str(error))
        return False
    except SoftTimeLimitExceeded:
        _fail(run_id, now, clock, "The run took longer than allowed. Try again later.")
        return False
    except Exception:
        _fail(run_id, now, clock, "The run stopped on an unexpected error. Start it again.")
        raise
    clock.step("saving")
    with transaction.atomic():
        finished = _mine(run_id, now).update(
            status=MatchRun.Status.DONE,
            progress=100,
            stage="Ready for review",
            input_hash=outcome.input_hash,
            engine_version=ENGINE_VERSION,
            summary=outcome.summary,
            finished_at=timezone.now(),
        )
        if not finished:  # another execution re-claimed the run: its result stands
            return False
        Proposal.objects.bulk_create(outcome.proposals)
    _mine_done(run_id, clock.stop())
    return True


def _mine_done(run_id: int, timings: dict[str, float]) -> None:
    MatchRun.objects.filter(pk=run_id, status=MatchRun.Status.DONE).update(timings=timings)


def _fail(run_id: int, claimed_at: dt.datetime, clock: _Clock, message: str) -> None:
    _mine(run_id, claimed_at).update(
        status=MatchRun.Status.FAILED,
        stage="Failed",
        error=message,
        timings=clock.stop(),
        finished_at=timezone.now(),
    )


def _compute(run: MatchRun, clock: _Clock) -> _Outcome:
    params = run.params
    clock.step("loading")
    setting = _setting(run.program, params)
    cohort = setting.cohort
    enc = cohort.encoded
    if not cohort.mentees or not cohort.mentors:
        raise ApplicationError(
            "The program needs at least one enrolled mentee and one enrolled mentor."
        )
    locks, warnings = _locks(setting)
    input_hash = _input_hash(setting)

    clock.step("scoring")
    model = build_model(enc, params["weights"])
    scores = score_matrix(model)

    clock.step("solving")
    objective = ENGINE_OBJECTIVE[params["objective"]]
    groups = enc.mentees.stage
    result: Assignment
    if setting.team:
        result = assign_team(
            [scores, scores],
            setting.places,
            slot_allowed=setting.slot_masks(),
            locked=locks,
            objective=objective,
            groups=groups,
        )
    else:
        result = assign(
            scores,
            setting.places,
            allowed=setting.allowed,
            locked=locks,
            objective=objective,
            groups=groups,
        )

    clock.step("explaining")
    kept = {(int(r[0]), int(r[1])) for r in locks}
    proposals = []
    for k, (i, j) in enumerate(result.pairs.tolist()):
        slot = SLOTS[int(result.slots[k])] if result.slots is not None else ""
        proposals.append(
            Proposal(
                run_id=run.pk,
                mentee_id=cohort.mentees[i].user_id,
                mentor_id=cohort.mentors[j].user_id,
                slot=slot,
                score=float(scores[i, j]),
                reasons=explain(model, i, j).reasons,
                locked=(i, j) in kept,
                origin=Proposal.Origin.ENGINE,
            )
        )
    summary = _summary(setting, result, scores, warnings)
    return _Outcome(input_hash=input_hash, proposals=proposals, summary=summary)


def _unmatched_reason(fits_someone: bool) -> str:
    return UNMATCHED_FULL if fits_someone else UNMATCHED_RULES


def _summary(
    setting: _Setting, result: Assignment, scores: np.ndarray, warnings: list[str]
) -> dict[str, Any]:
    """Cohort figures for review and comparison: aggregates, never anyone's
    gender or ethnicity."""
    cohort = setting.cohort
    report = result.report
    pairs = result.pairs
    n = len(cohort.mentees)
    chosen = scores[pairs[:, 0], pairs[:, 1]].astype(np.float64) if len(pairs) else np.zeros(0)
    histogram, _ = np.histogram(np.clip(chosen * 100, 0, 100), bins=HISTOGRAM_BINS, range=(0, 100))
    masks = setting.slot_masks() if setting.team else [setting.allowed]
    fits = np.logical_or.reduce(masks)

    unmatched = {}
    for i, engine_reason in sorted(report.unmatched.items()):
        # The engine says "no feasible mentor" also when the only fitting mentors have
        # no place in this run: for a coordinator, that is "full".
        full = engine_reason == UNMATCHED_ALL_FULL or bool(fits[i].any())
        unmatched[str(cohort.mentees[i].user_id)] = _unmatched_reason(full)

    partial = {}
    if setting.team and len(pairs):
        slots = result.slots if result.slots is not None else np.zeros(len(pairs), dtype=np.int64)
        filled = {(int(i), int(t)) for i, t in zip(pairs[:, 0], slots, strict=True)}
        for i in sorted({int(i) for i in pairs[:, 0]}):
            missing = [t for t in range(len(SLOTS)) if (i, t) not in filled]
            if missing:
                t = missing[0]
                why = "every suitable one is full" if masks[t][i].any() else "none fits the rules"
                partial[str(cohort.mentees[i].user_id)] = f"No {SLOT_NOUNS[SLOTS[t]]}: {why}"

    groups = [
        {
            "group": Stage(stage).label,
            "mentees": g.mentees,
            "matched": g.matched,
            "coverage": g.coverage,
            "mean_score": g.mean_score,
        }
        for stage, g in sorted(report.groups.items())
    ]
    load = report.mentor_load
    return {
        "mentees": n,
        "mentors": len(cohort.mentors),
        "places": int(setting.places.sum()),
        "pairs": int(report.pairs),
        "places_wanted": n * (len(SLOTS) if setting.team else 1),
        "matched": int(report.matched_mentees),
        "unmatched_count": len(unmatched),
        "coverage": float(report.coverage),
        "mean_score": float(report.mean_score),
        "total_score": float(result.total_score),
        "histogram": [int(x) for x in histogram],
        "groups": groups,
        "mentor_load": {
            "distribution": [[k, v] for k, v in sorted(report.load_distribution.items())],
            "max": int(load.max()) if load.size else 0,
            "median": float(np.median(load)) if load.size else 0.0,
            "utilisation": float(report.mentor_utilisation),
        },
        "blocking_pairs": int(report.blocking_pairs),
        "warnings": warnings,
        "unmatched": unmatched,
        "partial": partial,
        "participants": {
            "mentees": [p.user_id for p in cohort.mentees],
            "places": {
                str(p.user_id): int(c) for p, c in zip(cohort.mentors, setting.places, strict=True)
            },
        },
    }


# --- Starting a run -----------------------------------------------------------------


def _refuse_if_final(program: Program) -> None:
    if program.status == Program.Status.CLOSED:
        raise ApplicationError("This program is closed.")
    published = program.runs.filter(published_at__isnull=False).first()
    if published is not None or program.status == Program.Status.PUBLISHED:
        number = f"Run {published.number}" if published else "A run"
        raise ApplicationError(
            f"{number} of this program is already published: its matches are final."
        )


@transaction.atomic
def run_start(
    *, user: User, program_id: int, objective: str | None = None
) -> tuple[MatchRun, bool]:
    """Queue a run of the program's matching; (run, created).

    A second click while an identical run (same parameters) is still queued or
    running returns that run instead of starting another. The program row is
    locked, so two clicks at once see each other.
    """
    institution_id = _coordinator_institution(user)
    program = _own_program_locked(institution_id, program_id)
    objective = objective or program.objective
    if objective not in Program.Objective.values:
        raise ApplicationError(
            "Choose what the matching should aim for.",
            fields={"objective": ["Choose best matches or everyone matched."]},
        )
    _refuse_if_final(program)
    mentees = enrolled_profiles(program, Enrollment.Role.MENTEE).count()
    mentors = enrolled_profiles(program, Enrollment.Role.MENTOR).count()
    if not mentees or not mentors:
        raise ApplicationError(
            "Enrol at least one mentee and one mentor before running the matching."
        )
    params = _params(program, objective)
    now = timezone.now()
    pending = program.runs.filter(
        Q(status=MatchRun.Status.QUEUED, created_at__gte=now - STALE_AFTER)
        | Q(status=MatchRun.Status.RUNNING, started_at__gte=now - STALE_AFTER)
    ).order_by("-number")
    for run in pending:
        if run.params == params:
            return run, False
    number = (program.runs.aggregate(top=Max("number"))["top"] or 0) + 1
    run = MatchRun.objects.create(
        program=program,
        number=number,
        objective=objective,
        params=params,
        engine_version=ENGINE_VERSION,
        stage="Waiting for a worker",
        created_by=user,
    )
    audit_record(
        actor=user,
        action="match_run.start",
        target=run,
        institution_id=institution_id,
        detail={
            "program": program.pk,
            "run": number,
            "objective": objective,
            "mentees": mentees,
            "mentors": mentors,
        },
    )
    from .tasks import execute_match_run  # tasks import this module

    run_id = run.pk
    transaction.on_commit(lambda: execute_match_run.delay(run_id))
    return run, True


# --- Reading runs -------------------------------------------------------------------


@dataclass(frozen=True)
class RunsPage:
    program: Program
    runs: list[MatchRun]
    current: MatchRun | None
    mentees: int
    mentors: int
    weights: list[tuple[str, float]]


def program_runs_page(*, user: User, program_id: int) -> RunsPage:
    """A program's runs, newest first, with what the next run would use."""
    program = program_for_coordinator(user=user, program_id=program_id)
    rows = list(program.runs.select_related("created_by").order_by("-number"))
    return RunsPage(
        program=program,
        runs=rows,
        current=rows[0] if rows else None,
        mentees=enrolled_profiles(program, Enrollment.Role.MENTEE).count(),
        mentors=enrolled_profiles(program, Enrollment.Role.MENTOR).count(),
        weights=[
            (FACTOR_LABELS.get(name, name), weight)
            for name, weight in sorted(
                normalise_weights(program.weights).items(), key=lambda kv: -kv[1]
            )
        ],
    )


def runs_for_program(*, user: User, program_id: int) -> QuerySet[MatchRun]:
    program = program_for_coordinator(user=user, program_id=program_id)
    return program.runs.order_by("-number")


def run_for_coordinator(*, user: User, program_id: int, run_id: int) -> MatchRun:
    """One run of a program of the coordinator's school; 404 for anyone else."""
    program = program_for_coordinator(user=user, program_id=program_id)
    run = MatchRun.objects.select_related("created_by").filter(pk=run_id, program=program).first()
    if run is None:
        raise Http404("No such run.")
    run.program = program
    return run


def proposals_of(run: MatchRun) -> QuerySet[Proposal]:
    return (
        Proposal.objects.filter(run=run)
        .select_related("mentee__profile", "mentor__profile")
        .order_by("mentee__full_name", "mentee_id", "slot", "pk")
    )


def _latest_live_run(program: Program) -> MatchRun | None:
    return program.runs.exclude(status=MatchRun.Status.FAILED).order_by("-number").first()


def _not_editable(program: Program, run: MatchRun) -> str:
    """Why the proposals of this run cannot change now ("" if they can)."""
    if run.published_at is not None or program.status == Program.Status.PUBLISHED:
        return "These matches are published: they can no longer change."
    if program.runs.filter(published_at__isnull=False).exists():
        return "Another run of this program is published."
    if run.status != MatchRun.Status.DONE:
        return f"Run {run.number} is not ready for review."
    latest = _latest_live_run(program)
    if latest is not None and latest.pk != run.pk:
        return f"Run {latest.number} is newer: review that one."
    return ""


@dataclass(frozen=True)
class Waiting:
    """A mentee of the run without (all) their mentors, and why."""

    mentee: User
    reason: str


@dataclass(frozen=True)
class MentorPlaces:
    mentor: User
    places: int
    taken: int

    @property
    def left(self) -> int:
        return max(self.places - self.taken, 0)


@dataclass(frozen=True)
class RunReview:
    program: Program
    run: MatchRun
    proposals: list[Proposal]
    unmatched: list[Waiting]
    partial: list[Waiting]
    mentors: list[MentorPlaces]
    why_locked: str  # why nothing can change now; "" while the run can be edited

    @property
    def editable(self) -> bool:
        return not self.why_locked

    @property
    def can_publish(self) -> bool:
        return (
            self.run.status == MatchRun.Status.DONE
            and self.run.published_at is None
            and self.program.status not in (Program.Status.PUBLISHED, Program.Status.CLOSED)
            and bool(self.proposals)
        )

    @property
    def waiting(self) -> list[Waiting]:
        """Mentees who can still be given a mentor by hand."""
        return self.unmatched + self.partial

    @property
    def slots(self) -> list[tuple[str, str]]:
        if self.run.params.get("demand") == Program.Demand.TEAM:
            return [(slot, SLOT_LABELS[slot]) for slot in SLOTS]
        return []


def run_review(*, user: User, program_id: int, run_id: int) -> RunReview:
    """Everything a coordinator reviews: proposals, who is left out and why, places."""
    run = run_for_coordinator(user=user, program_id=program_id, run_id=run_id)
    program = run.program
    proposals = list(proposals_of(run))
    summary = run.summary or {}
    participants = summary.get("participants", {})
    with_mentor: dict[int, int] = {}
    taken: dict[int, int] = {}
    for p in proposals:
        with_mentor[p.mentee_id] = with_mentor.get(p.mentee_id, 0) + 1
        taken[p.mentor_id] = taken.get(p.mentor_id, 0) + 1
    mentee_ids = participants.get("mentees", [])
    places = {int(k): v for k, v in participants.get("places", {}).items()}
    # Waiting mentees are shown with their stage: their profiles come in the same query.
    people = User.objects.select_related("profile").in_bulk([*mentee_ids, *places])
    unmatched_reason = summary.get("unmatched", {})
    partial_reason = summary.get("partial", {})
    team = run.params.get("demand") == Program.Demand.TEAM
    unmatched, partial = [], []
    for mentee_id in mentee_ids:
        person = people.get(mentee_id)
        if person is None:
            continue
        count = with_mentor.get(mentee_id, 0)
        if count == 0:
            reason = unmatched_reason.get(str(mentee_id), REMOVED_IN_REVIEW)
            unmatched.append(Waiting(person, reason))
        elif team and count < len(SLOTS):
            reason = partial_reason.get(str(mentee_id), REMOVED_IN_REVIEW)
            partial.append(Waiting(person, reason))
    mentors = [
        MentorPlaces(people[mid], n, taken.get(mid, 0))
        for mid, n in places.items()
        if mid in people
    ]
    mentors.sort(key=lambda row: (row.mentor.full_name, row.mentor.pk))
    unmatched.sort(key=lambda row: (row.mentee.full_name, row.mentee.pk))
    partial.sort(key=lambda row: (row.mentee.full_name, row.mentee.pk))
    return RunReview(
        program=program,
        run=run,
        proposals=proposals,
        unmatched=unmatched,
        partial=partial,
        mentors=mentors,
        why_locked=_not_editable(program, run),
    )


@dataclass(frozen=True)
class RunFigures:
    """One run's cohort figures, as compared side by side."""

    run: MatchRun
    coverage: float
    mean_score: float
    total_score: float
    histogram: list[int]
    unmatched: int
    matched: int
    pairs: int
    places_wanted: int
    groups: dict[str, float]
    load_max: int
    load_median: float
    load_distribution: list[list[int]]
    blocking_pairs: int

    @property
    def coverage_percent(self) -> int:
        return percent(self.coverage)

    @property
    def mean_percent(self) -> int:
        return percent(self.mean_score)


@dataclass(frozen=True)
class RunComparison:
    program: Program
    runs: list[RunFigures]
    # (group label, coverage % per run or None when the run had nobody in the group)
    groups: list[tuple[str, list[int | None]]] = field(default_factory=list)
    # (bin label "40–50%", pairs per run)
    histogram: list[tuple[str, list[int]]] = field(default_factory=list)
    # (mentees per mentor, mentors per run)
    loads: list[tuple[int, list[int]]] = field(default_factory=list)


def _figures(run: MatchRun) -> RunFigures:
    s = run.summary
    load = s.get("mentor_load", {})
    return RunFigures(
        run=run,
        coverage=float(s.get("coverage", 0.0)),
        mean_score=float(s.get("mean_score", 0.0)),
        total_score=float(s.get("total_score", 0.0)),
        histogram=list(s.get("histogram", [0] * HISTOGRAM_BINS)),
        unmatched=int(s.get("unmatched_count", 0)),
        matched=int(s.get("matched", 0)),
        pairs=int(s.get("pairs", 0)),
        places_wanted=int(s.get("places_wanted", 0)),
        groups={g["group"]: float(g["coverage"]) for g in s.get("groups", [])},
        load_max=int(load.get("max", 0)),
        load_median=float(load.get("median", 0.0)),
        load_distribution=[list(row) for row in load.get("distribution", [])],
        blocking_pairs=int(s.get("blocking_pairs", 0)),
    )


def runs_compare(*, user: User, program_id: int, run_ids: Sequence[int]) -> RunComparison:
    """Two or more finished runs of one program side by side, in the order asked."""
    program = program_for_coordinator(user=user, program_id=program_id)
    ids = list(dict.fromkeys(int(r) for r in run_ids))
    if not 2 <= len(ids) <= COMPARE_MAX:
        raise ApplicationError(
            f"Choose between 2 and {COMPARE_MAX} runs to compare.",
            fields={"runs": [f"Between 2 and {COMPARE_MAX} runs."]},
        )
    # An id too large for the database column names no run (and must not reach the query).
    found = MatchRun.objects.filter(program=program, pk__in=[r for r in ids if r < 2**63]).in_bulk()
    missing = [r for r in ids if r not in found]
    if missing:
        raise Http404("No such run.")
    unfinished = [found[r].number for r in ids if found[r].status != MatchRun.Status.DONE]
    if unfinished:
        raise ApplicationError(
            "Only finished runs can be compared: run "
            + ", ".join(str(n) for n in unfinished)
            + " has no result.",
            fields={"runs": ["Choose finished runs."]},
        )
    figures = [_figures(found[r]) for r in ids]
    labels = list(dict.fromkeys(label for f in figures for label in f.groups))
    step = 100 // HISTOGRAM_BINS
    loads = sorted({row[0] for f in figures for row in f.load_distribution})
    return RunComparison(
        program=program,
        runs=figures,
        groups=[
            (
                label,
                [percent(f.groups[label]) if label in f.groups else None for f in figures],
            )
            for label in labels
        ],
        histogram=[
            (f"{b * step}–{(b + 1) * step}%", [f.histogram[b] for f in figures])
            for b in range(HISTOGRAM_BINS)
        ],
        loads=[
            (load, [dict((r[0], r[1]) for r in f.load_distribution).get(load, 0) for f in figures])
            for load in loads
        ],
    )


# --- Reviewing: lock, unlock, remove, swap, place by hand ---------------------------


def _editable_run(user: User, program_id: int, run_id: int) -> tuple[Program, MatchRun]:
    """The program and run, row-locked, if this coordinator may change the run now."""
    program = _own_program_locked(_coordinator_institution(user), program_id)
    run = MatchRun.objects.select_for_update().filter(pk=run_id, program=program).first()
    if run is None:
        raise Http404("No such run.")
    why = _not_editable(program, run)
    if why:
        raise ApplicationError(why)
    return program, run


def _proposal(run: MatchRun, proposal_id: int) -> Proposal:
    proposal = (
        Proposal.objects.select_for_update()
        .select_related("mentee", "mentor")
        .filter(pk=proposal_id, run=run)
        .first()
    )
    if proposal is None:
        raise Http404("No such proposal.")
    return proposal


def _rule_set(
    program: Program, user: User, mentee_id: int, mentor_id: int, kind: str, slot: str = ""
) -> None:
    PairRule.objects.update_or_create(
        program=program,
        mentee_id=mentee_id,
        mentor_id=mentor_id,
        defaults={"kind": kind, "slot": slot, "created_by": user},
    )


@transaction.atomic
def proposal_lock(*, user: User, program_id: int, run_id: int, proposal_id: int) -> Proposal:
    """Keep this pair: every later run proposes it again (in its team place)."""
    program, run = _editable_run(user, program_id, run_id)
    proposal = _proposal(run, proposal_id)
    _rule_set(
        program, user, proposal.mentee_id, proposal.mentor_id, PairRule.Kind.LOCK, proposal.slot
    )
    proposal.locked = True
    proposal.save(update_fields=["locked"])
    return proposal


@transaction.atomic
def proposal_unlock(*, user: User, program_id: int, run_id: int, proposal_id: int) -> Proposal:
    """Let later runs decide this pair again."""
    program, run = _editable_run(user, program_id, run_id)
    proposal = _proposal(run, proposal_id)
    PairRule.objects.filter(
        program=program,
        mentee_id=proposal.mentee_id,
        mentor_id=proposal.mentor_id,
        kind=PairRule.Kind.LOCK,
    ).delete()
    proposal.locked = False
    proposal.save(update_fields=["locked"])
    return proposal


@transaction.atomic
def proposal_remove(*, user: User, program_id: int, run_id: int, proposal_id: int) -> None:
    """Drop the pair from this run and forbid it in every later run."""
    program, run = _editable_run(user, program_id, run_id)
    proposal = _proposal(run, proposal_id)
    _rule_set(program, user, proposal.mentee_id, proposal.mentor_id, PairRule.Kind.EXCLUDE)
    proposal.delete()


@dataclass(frozen=True)
class _PairCheck:
    problems: list[str]
    score: float
    reasons: list[str]


def _check_pairs(
    program: Program, run: MatchRun, pairs: Sequence[tuple[int, int, str]]
) -> list[_PairCheck]:
    """Hard rules, fit and reasons for (mentee, mentor, slot) pairs under the program's
    rules now: the same masks and scores a run would use."""
    params = _params(program, run.objective)
    setting = _setting(program, params, mentee_ids={p[0] for p in pairs})
    enc = setting.cohort.encoded
    m = enc.n_mentors
    # Capacity is checked against the run's places by the caller, not here.
    open_enc = replace(
        enc,
        mentors=replace(
            enc.mentors, capacity=np.ones(m, dtype=np.int64), active=np.zeros(m, dtype=np.int64)
        ),
    )
    live = set(setting.live_pairs)
    model: ScoreModel | None = None
    out = []
    for mentee_id, mentor_id, slot in pairs:
        i = setting.mentee_index.get(mentee_id)
        j = setting.mentor_index.get(mentor_id)
        if i is None or j is None:
            who = "mentee" if i is None else "mentor"
            out.append(_PairCheck([f"This {who} is no longer in the program."], 0.0, []))
            continue
        problems = [EXCLUSION_TEXT[key] for key in exclusion_rules(open_enc, i, j, setting.rules)]
        stage = enc.mentors.stage[j : j + 1]
        rule = params["mentor_stage_rule"]
        if rule in STAGE_RULE_TEXT and not _stage_rule_ok(rule, stage)[0]:
            problems.append(STAGE_RULE_TEXT[rule])
        if slot in SLOT_KIND and not SLOT_KIND[slot](stage)[0]:
            problems.append(f"This place is for a {SLOT_NOUNS[slot]}")
        if (mentee_id, mentor_id) in live:
            problems.append("These two are already in a mentorship together")
        if model is None:
            model = build_model(enc, params["weights"])
        why = explain(model, i, j)
        out.append(_PairCheck(problems, why.score, why.reasons))
    return out


def _pair_text(mentee: User, mentor: User, problems: list[str]) -> str:
    return f"{mentee.display_name} with {mentor.display_name}: " + "; ".join(problems) + "."


@transaction.atomic
def proposal_swap(
    *, user: User, program_id: int, run_id: int, proposal_a: int, proposal_b: int
) -> tuple[Proposal, Proposal]:
    """Exchange the mentors of two proposals of the same place; both new pairs are kept
    (locked). Refused, with the rule each breaks, if either new pair is not allowed."""
    program, run = _editable_run(user, program_id, run_id)
    if proposal_a == proposal_b:
        raise ApplicationError(
            "Choose two different pairs to swap.", fields={"b": ["Choose another pair."]}
        )
    a, b = _proposal(run, proposal_a), _proposal(run, proposal_b)
    if a.slot != b.slot:
        raise ApplicationError(
            "Swap mentors of the same place only (near-peer with near-peer, senior with senior).",
            fields={"b": ["Choose a pair of the same place."]},
        )
    if a.mentor_id == b.mentor_id:
        raise ApplicationError(
            "Both pairs have the same mentor: nothing to swap.",
            fields={"b": ["Choose a pair with another mentor."]},
        )
    clash = Proposal.objects.filter(run=run).exclude(pk__in=[a.pk, b.pk])
    if clash.filter(
        Q(mentee=a.mentee, mentor=b.mentor) | Q(mentee=b.mentee, mentor=a.mentor)
    ).exists():
        raise ApplicationError(
            "A mentee would have the same mentor twice.", fields={"b": ["Choose another pair."]}
        )
    checks = _check_pairs(
        program, run, [(a.mentee_id, b.mentor_id, a.slot), (b.mentee_id, a.mentor_id, b.slot)]
    )
    refusals = [
        _pair_text(mentee, mentor, check.problems)
        for (mentee, mentor), check in zip(
            [(a.mentee, b.mentor), (b.mentee, a.mentor)], checks, strict=True
        )
        if check.problems
    ]
    if refusals:
        raise ApplicationError(
            "This swap breaks a rule: " + " ".join(refusals), fields={"b": refusals}
        )
    PairRule.objects.filter(
        Q(mentee=a.mentee, mentor=a.mentor) | Q(mentee=b.mentee, mentor=b.mentor),
        program=program,
        kind=PairRule.Kind.LOCK,
    ).delete()
    old_a_mentor = a.mentor
    for proposal, mentor, check in ((a, b.mentor, checks[0]), (b, old_a_mentor, checks[1])):
        proposal.mentor = mentor
        proposal.score = check.score
        proposal.reasons = check.reasons
        proposal.locked = True
    for proposal in (a, b):
        proposal.save(update_fields=["mentor", "score", "reasons", "locked"])
        _rule_set(
            program, user, proposal.mentee_id, proposal.mentor_id, PairRule.Kind.LOCK, proposal.slot
        )
    return a, b


@transaction.atomic
def proposal_assign(
    *, user: User, program_id: int, run_id: int, mentee_id: int, mentor_id: int, slot: str = ""
) -> Proposal:
    """Place a pair by hand (kept in every later run). The mentee must still want a
    mentor (for this place), the mentor have a place left in this run, and the pair
    break no rule."""
    program, run = _editable_run(user, program_id, run_id)
    team = run.params.get("demand") == Program.Demand.TEAM
    errors: dict[str, list[str]] = {}
    if team and slot not in SLOTS:
        errors["slot"] = ["Choose the near-peer or the senior place."]
    slot = slot if team else ""
    participants = run.summary.get("participants", {})
    enrolled = Enrollment.objects.filter(program=program, user__is_active=True)
    if not enrolled.filter(user_id=mentee_id, role=Enrollment.Role.MENTEE).exists():
        errors["mentee"] = ["Not a mentee of this program."]
    elif mentee_id not in participants.get("mentees", []):
        errors["mentee"] = ["Joined after this run: run the matching again to include them."]
    if not enrolled.filter(user_id=mentor_id, role=Enrollment.Role.MENTOR).exists():
        errors["mentor"] = ["Not a mentor of this program."]
    elif str(mentor_id) not in participants.get("places", {}):
        errors["mentor"] = ["Joined after this run: run the matching again to include them."]
    if errors:
        raise ApplicationError("This pair cannot be placed.", fields=errors)
    proposals = Proposal.objects.filter(run=run)
    if proposals.filter(mentee_id=mentee_id, mentor_id=mentor_id).exists():
        raise ApplicationError("This pair is already proposed.")
    if proposals.filter(mentee_id=mentee_id, slot=slot).exists():
        raise ApplicationError(
            "This mentee already has a mentor"
            + (f" for the {SLOT_LABELS[slot].lower()} place." if team else "."),
            fields={"mentee": ["Remove their current pair first."]},
        )
    if proposals.filter(mentor_id=mentor_id).count() >= participants["places"][str(mentor_id)]:
        raise ApplicationError(
            "This mentor has no place left in this run.",
            fields={"mentor": ["Full in this run: remove one of their pairs first."]},
        )
    (check,) = _check_pairs(program, run, [(mentee_id, mentor_id, slot)])
    if check.problems:
        mentee, mentor = User.objects.get(pk=mentee_id), User.objects.get(pk=mentor_id)
        text = _pair_text(mentee, mentor, check.problems)
        raise ApplicationError("This pair breaks a rule: " + text, fields={"mentor": [text]})
    proposal = Proposal.objects.create(
        run=run,
        mentee_id=mentee_id,
        mentor_id=mentor_id,
        slot=slot,
        score=check.score,
        reasons=check.reasons,
        locked=True,
        origin=Proposal.Origin.MANUAL,
    )
    _rule_set(program, user, mentee_id, mentor_id, PairRule.Kind.LOCK, slot)
    return proposal


# --- Publishing ---------------------------------------------------------------------


@dataclass(frozen=True)
class PublishResult:
    run: MatchRun
    mentorships: int
    skipped: list[str]
    already_published: bool = False


def _published(run: MatchRun, *, already: bool) -> PublishResult:
    outcome = run.summary.get("publish", {})
    return PublishResult(
        run=run,
        mentorships=Proposal.objects.filter(run=run, mentorship__isnull=False).count(),
        skipped=list(outcome.get("skipped", [])),
        already_published=already,
    )


def first_checkin_at(program: Program, mentee: User) -> dt.datetime:
    """The program's start (or today, if later) plus one cadence, at 17:00 where the
    mentee lives: after classes and clinic, in their own evening."""
    tz = user_timezone(mentee)
    start = max(program.starts_on, timezone.localdate(timezone=tz))
    day = start + dt.timedelta(days=CADENCE_DAYS[Cadence(program.default_cadence)])
    return dt.datetime.combine(day, FIRST_CHECKIN_AT, tzinfo=tz)


def _start_pair(program: Program, proposal: Proposal, user: User) -> Mentorship | None:
    """The pair's mentorship, first check-in and notices; None if the two started a
    mentorship of their own since the live-pair check (an accept that committed while
    this publish waited for the mentors' rows): the place claimed for it is given back."""
    try:
        mentorship = mentorship_start(
            mentee_id=proposal.mentee_id,
            mentor=proposal.mentor,
            source=Mentorship.Source.PROGRAM,
            cadence=program.default_cadence,
        )
    except ApplicationError:
        mentor_place_release(mentor_id=proposal.mentor_id)
        return None
    Mentorship.objects.filter(pk=mentorship.pk).update(program=program)
    mentorship.program = program
    checkin = CheckIn.objects.create(
        mentorship=mentorship,
        scheduled_at=first_checkin_at(program, proposal.mentee),
        mode=mentorship.agreement.meeting_mode,
        agenda=FIRST_AGENDA,
        created_by=user,
    )
    for person_id in (proposal.mentee_id, proposal.mentor_id):
        _tell(mentorship, person_id, "program_match", checkin=checkin)
    return mentorship


@transaction.atomic
def run_publish(*, user: User, program_id: int, run_id: int) -> PublishResult:
    """Turn the run's proposals into mentorships: all of them or none.

    The program row is locked and the run claimed with a conditional UPDATE
    (published_at NULL -> now): publishing twice creates nothing the second time. Each
    mentor's place is claimed like a self-request's (without the "accepting new
    requests" switch: enrolment is consent); if any mentor filled up since the run,
    everything rolls back and the error names them. Pairs already in a live
    mentorship, or whose people left the program, are skipped and reported.
    """
    institution_id = _coordinator_institution(user)
    program = _own_program_locked(institution_id, program_id)
    run = MatchRun.objects.select_for_update().filter(pk=run_id, program=program).first()
    if run is None:
        raise Http404("No such run.")
    if run.published_at is not None:
        return _published(run, already=True)
    if program.status == Program.Status.CLOSED:
        raise ApplicationError("This program is closed.")
    other = program.runs.filter(published_at__isnull=False).exclude(pk=run.pk).first()
    if other is not None:
        raise ApplicationError(
            f"Run {other.number} of this program is already published; "
            "another run cannot replace its matches."
        )
    if run.status != MatchRun.Status.DONE:
        raise ApplicationError(f"Run {run.number} has no result to publish.")
    now = timezone.now()
    claimed = MatchRun.objects.filter(
        pk=run.pk, status=MatchRun.Status.DONE, published_at__isnull=True
    ).update(published_at=now, published_by=user)
    if not claimed:  # pragma: no cover - the program lock serialises publishes
        run.refresh_from_db()
        return _published(run, already=True)

    proposals = list(
        run.proposals.select_related("mentee__profile", "mentor__profile").order_by(
            "mentor_id", "mentee_id", "slot"
        )
    )
    if not proposals:
        raise ApplicationError("This run proposes no pairs: there is nothing to publish.")
    mentees = set(
        enrolled_profiles(program, Enrollment.Role.MENTEE).values_list("user_id", flat=True)
    )
    mentors = set(
        enrolled_profiles(program, Enrollment.Role.MENTOR).values_list("user_id", flat=True)
    )
    live = set(
        Mentorship.objects.filter(
            status__in=Mentorship.LIVE,
            mentee_id__in=[p.mentee_id for p in proposals],
            mentor_id__in=[p.mentor_id for p in proposals],
        ).values_list("mentee_id", "mentor_id")
    )
    # A block made since the run: the pair is not started (the reason stays private).
    blocked = blocked_between([p.mentee_id for p in proposals], [p.mentor_id for p in proposals])
    to_start: list[Proposal] = []
    skipped: list[str] = []
    for p in proposals:
        pair = f"{p.mentee.display_name} – {p.mentor.display_name}"
        if p.mentee_id not in mentees or p.mentor_id not in mentors:
            skipped.append(f"{pair}: no longer in the program")
        elif (p.mentee_id, p.mentor_id) in live:
            skipped.append(f"{pair}: already in a mentorship together")
        elif (p.mentee_id, p.mentor_id) in blocked:
            skipped.append(f"{pair}: can no longer be paired")
        else:
            to_start.append(p)
    # Places first, in mentor order (a stable lock order against other publishes), so
    # that a refusal can name every mentor who filled up, not just the first.
    full: dict[int, str] = {}
    for p in to_start:
        try:
            mentor_place_claim(mentor=p.mentor, require_accepting=False)
        except ApplicationError:
            full[p.mentor_id] = p.mentor.display_name
    if full:
        names = sorted(set(full.values()))
        raise PublishConflictError(
            f"{_and(names)} {'has' if len(names) == 1 else 'have'} no free place any more "
            "(they took mentees since this run). Nothing was published: run the matching "
            "again to use the places left.",
            fields={"mentors": names},
        )
    started: list[Proposal] = []
    for p in to_start:
        p.mentorship = _start_pair(program, p, user)
        if p.mentorship is None:
            skipped.append(f"{p.mentee.display_name} – {p.mentor.display_name}: "
                           "already in a mentorship together")  # fmt: skip
        else:
            started.append(p)
    to_start = started
    Proposal.objects.bulk_update(to_start, ["mentorship"])
    run.summary = {**run.summary, "publish": {"mentorships": len(to_start), "skipped": skipped}}
    run.published_at, run.published_by = now, user
    run.save(update_fields=["summary"])
    program.status = Program.Status.PUBLISHED
    program.save(update_fields=["status", "updated_at"])
    audit_record(
        actor=user,
        action="program.publish",
        target=program,
        institution_id=institution_id,
        detail={
            "run": run.pk,
            "number": run.number,
            "mentorships": len(to_start),
            "skipped": len(skipped),
        },
    )
    return PublishResult(run=run, mentorships=len(to_start), skipped=skipped)


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


# --- Decisions carried into every run: set ahead, listed, undone --------------------


def _rules_program(user: User, program_id: int) -> Program:
    """The program, row-locked, for one of its school's coordinators.

    Anyone else gets 404 (not the 403 of ``_coordinator_institution``): they must not
    learn that the program exists.
    """
    program_for_coordinator(user=user, program_id=program_id)
    return _own_program_locked(_coordinator_institution(user), program_id)


def _reviewed_run(program: Program) -> MatchRun | None:
    """The run under review, whose proposals a rule change must agree with."""
    latest = _latest_live_run(program)
    if latest is None or latest.status != MatchRun.Status.DONE or latest.published_at is not None:
        return None
    return latest


@transaction.atomic
def pair_rule_exclude(*, user: User, program_id: int, mentee_id: int, mentor_id: int) -> PairRule:
    """Never pair this enrolled mentee with this enrolled mentor in any later run.

    Replaces a kept pair (lock) of the same two. If the run under review proposes
    them, that proposal goes, as "Remove" in review does: a run that can still be
    published must not hold a pair its coordinator has forbidden.
    """
    program = _rules_program(user, program_id)
    _refuse_if_final(program)
    if mentee_id == mentor_id:
        raise ApplicationError(
            "Someone cannot be their own mentor.",
            fields={"mentor": ["Choose someone other than the mentee."]},
        )
    enrolled = Enrollment.objects.filter(program=program, user__is_active=True)
    errors: dict[str, list[str]] = {}
    if not enrolled.filter(user_id=mentee_id, role=Enrollment.Role.MENTEE).exists():
        errors["mentee"] = ["Not a mentee of this program."]
    if not enrolled.filter(user_id=mentor_id, role=Enrollment.Role.MENTOR).exists():
        errors["mentor"] = ["Not a mentor of this program."]
    if errors:
        raise ApplicationError("These two cannot be kept apart in this program.", fields=errors)
    _rule_set(program, user, mentee_id, mentor_id, PairRule.Kind.EXCLUDE)
    run = _reviewed_run(program)
    if run is not None:
        Proposal.objects.filter(run=run, mentee_id=mentee_id, mentor_id=mentor_id).delete()
    return PairRule.objects.get(program=program, mentee_id=mentee_id, mentor_id=mentor_id)


@transaction.atomic
def pair_rule_delete(*, user: User, program_id: int, rule_id: int) -> PairRule:
    """Undo a kept or forbidden pair: later runs decide the two freely again.

    Undoing a lock also unlocks the pair in the run under review, so its review shows
    what the next run will do. Returns the rule as it was.
    """
    program = _rules_program(user, program_id)
    rule = (
        PairRule.objects.select_for_update()
        .select_related("mentee", "mentor")
        .filter(pk=rule_id, program=program)
        .first()
    )
    if rule is None:
        raise Http404("No such rule.")
    _refuse_if_final(program)
    if rule.kind == PairRule.Kind.LOCK:
        run = _reviewed_run(program)
        if run is not None:
            Proposal.objects.filter(
                run=run, mentee_id=rule.mentee_id, mentor_id=rule.mentor_id, locked=True
            ).update(locked=False)
    rule.delete()
    return rule


def _rules_of(program: Program) -> QuerySet[PairRule]:
    return (
        PairRule.objects.filter(program=program)
        .select_related("mentee__profile", "mentor__profile", "created_by")
        # "lock" sorts after "exclude": descending puts the kept pairs first.
        .order_by("-kind", "mentee__full_name", "mentor__full_name", "pk")
    )


def pair_rules_of(*, user: User, program_id: int) -> QuerySet[PairRule]:
    """The program's kept pairs, then its forbidden ones, by mentee and mentor name."""
    return _rules_of(program_for_coordinator(user=user, program_id=program_id))


@dataclass(frozen=True)
class PairRulesPanel:
    """The Matching tab's decisions: every rule, and whom a new one may name."""

    rules: QuerySet[PairRule]
    mentees: list[User]  # enrolled and active, by name
    mentors: list[User]
    why_final: str  # why the rules can no longer change; "" while they can


def pair_rules_panel(*, user: User, program_id: int) -> PairRulesPanel:
    program = program_for_coordinator(user=user, program_id=program_id)
    rows = (
        Enrollment.objects.filter(program=program, user__is_active=True)
        .select_related("user")
        .order_by("user__full_name", "user_id")
    )
    mentees: list[User] = []
    mentors: list[User] = []
    for row in rows:
        (mentees if row.role == Enrollment.Role.MENTEE else mentors).append(row.user)
    try:
        _refuse_if_final(program)
    except ApplicationError as error:
        why_final = error.message
    else:
        why_final = ""
    return PairRulesPanel(
        rules=_rules_of(program), mentees=mentees, mentors=mentors, why_final=why_final
    )
