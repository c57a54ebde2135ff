"""Benchmark: a coordinator's pairing program end to end, in a database of its own.

``python manage.py bench_programs [--sizes 500x100,2000x500] [--import-rows 10000]
[--demands one,team] [--keep]``

Never touches the configured database or broker (:mod:`mentorship.benchdb`): it
creates a fresh database beside the configured one (PostgreSQL ``<name>_bench``, else
a temporary SQLite file), migrates it, so the specialties, interests and languages
are the real taxonomy, and drops it at the end unless ``--keep``.

Each size (mentees x mentors) is a seeded synthetic school of its own in that
database: mentees MS1-MS4 with the specialties, interests and goals students
consider, mentors who are residents, fellows or attendings (60% at the school, the
rest at four hospitals) with 1-4 places, half of everyone with demographics (some
mentees opting in to a concordant mentor), 3% of mentors with a declared conflict,
and a coordinator. Everyone is enrolled (bulk_create) in one program per demand,
created with ``program_save``; every tenth mentor caps their places at one.

What is measured, through the production services:

1. Match runs, best matches ("quality") and everyone first ("participation"), for
   each demand: ``run_start`` (its task is published to a throw-away broker, drained
   and checked, never delivered) then the task's body ``run_execute`` called here.
   The figures are the run's own stored timings, its coverage and mean score, and
   the statements both calls ran (CaptureQueriesContext).
2. Publishing the first run (``run_publish``) with Celery eager and Django's locmem
   email backend: the program-match emails are built inside the timed call and sent
   nowhere.
3. A CSV import (``--import-rows``, 0 for none) into a new program of the last
   school: ``import_start`` stores the file, then ``import_check`` (the dry run) and,
   once ``import_confirm`` has claimed it, ``import_run`` are timed. About 5% of the
   rows are people who already have an account. The welcome-email tasks are
   published and counted, not run.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import logging
import os
import random
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from celery.signals import task_postrun, task_prerun
from django.core import mail
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, models
from django.test.utils import CaptureQueriesContext, override_settings
from django.utils import timezone

from accounts.choices import (
    Ethnicity,
    Gender,
    Goal,
    InstitutionPreference,
    MentoringStyle,
    MentorStagePreference,
    Role,
    Stage,
)
from accounts.demo import (
    ETHNICITY_OPT_IN,
    ETHNICITY_WEIGHTS,
    GENDER_OPT_IN,
    HOSPITAL_SPECIALTIES,
    POPULAR_STUDENT_SPECIALTIES,
)
from accounts.models import (
    ConflictOfInterest,
    Demographics,
    Institution,
    Interest,
    Language,
    Profile,
    Specialty,
    User,
)
from matching.imports import COLUMNS, import_check, import_confirm, import_run, import_start
from matching.models import Enrollment, ImportJob, MatchRun, Program
from matching.runs import run_execute, run_publish, run_start
from matching.services import program_save
from mentorship.benchdb import drain_tasks, throwaway_broker, throwaway_database
from mentorship.celery import app as celery_app

M = TypeVar("M", bound=models.Model)

BATCH = 2000
HOSPITALS = (
    ("Bench General Hospital", "America/New_York"),
    ("Bench Children's Hospital", "America/Chicago"),
    ("Bench University Medical Center", "America/Denver"),
    ("Bench Veterans Hospital", "America/Los_Angeles"),
)
MENTEE_STAGES = (Stage.MS1, Stage.MS2, Stage.MS3, Stage.MS4)
MENTEE_STAGE_WEIGHTS = (0.3, 0.3, 0.2, 0.2)
RESIDENT_SHARE = 0.45  # the rest are attendings
AT_SCHOOL_SHARE = 0.6
DEMOGRAPHICS_SHARE = 0.5
CONFLICT_SHARE = 0.03
CAPPED_SHARE = 0.1  # mentors whose enrolment caps their places at one
EXISTING_SHARE = 0.05  # CSV rows for people who already have an account
GOALS = list(Goal.values)
STEPS = ("loading", "scoring", "solving", "explaining", "saving", "total")
OBJECTIVES = (Program.Objective.QUALITY, Program.Objective.PARTICIPATION)
TASK = "matching.tasks.{}"


def _sizes(text: str) -> list[tuple[int, int]]:
    sizes = []
    for part in text.split(","):
        try:
            mentees, mentors = (int(x) for x in part.lower().split("x"))
        except ValueError as exc:
            raise argparse.ArgumentTypeError(
                f"{part!r}: give mentees x mentors, e.g. 500x100"
            ) from exc
        if mentees < 1 or mentors < 1:
            raise argparse.ArgumentTypeError(f"{part!r}: at least one mentee and one mentor")
        sizes.append((mentees, mentors))
    return sizes


def _demands(text: str) -> list[str]:
    demands = [d.strip() for d in text.split(",") if d.strip()]
    unknown = set(demands) - set(Program.Demand.values)
    if unknown or not demands:
        raise argparse.ArgumentTypeError(f"choose from {', '.join(Program.Demand.values)}")
    return list(dict.fromkeys(demands))


def _size(n: int, m: int) -> str:
    return f"{n:,} × {m:,}"


@dataclass
class School:
    tag: str
    institution: Institution
    coordinator: User
    mentee_ids: list[int]
    mentor_ids: list[int]
    setup_s: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)


@dataclass
class RunRow:
    size: str
    demand: str
    objective: str
    timings: dict[str, float]
    pairs: int
    coverage: float
    mean_score: float
    queries: int  # run_start + run_execute
    proposal_inserts: int


@dataclass
class PublishRow:
    size: str
    run: str
    mentorships: int
    emails: int
    seconds: float
    email_tasks: int
    email_s: float  # of ``seconds``, in the email tasks
    queries: int
    email_queries: int  # of ``queries``, in the email tasks


@dataclass
class ImportRow:
    rows: int
    new_accounts: int
    existing_accounts: int
    check_s: float
    check_queries: int
    import_s: float
    import_queries: int
    welcome_tasks: int
    welcome_people: int


@dataclass
class Results:
    database: str
    schools: list[School] = field(default_factory=list)
    runs: list[RunRow] = field(default_factory=list)
    publishes: list[PublishRow] = field(default_factory=list)
    imports: list[ImportRow] = field(default_factory=list)


class Command(BaseCommand):
    help = (
        "Time a pairing program's match runs, their publishing and a CSV import of its "
        "participants over synthetic schools, in a separate, throw-away database."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--sizes",
            type=_sizes,
            default=_sizes("500x100,2000x500"),
            help="mentees x mentors, comma-separated (default 500x100,2000x500)",
        )
        parser.add_argument(
            "--demands",
            type=_demands,
            default=list(Program.Demand.values),
            help="one, team or both (default one,team)",
        )
        parser.add_argument(
            "--import-rows", type=int, default=10_000, help="rows of the CSV import (0: none)"
        )
        parser.add_argument("--seed", type=int, default=2026)
        parser.add_argument(
            "--keep", action="store_true", help="keep the benchmark database instead of dropping it"
        )

    def handle(self, *args: object, **options: Any) -> None:
        if options["import_rows"] < 0:
            raise CommandError("--import-rows must be 0 or more.")
        # DEBUG off: the setup's bulk inserts are not kept in connection.queries. Emails
        # go to memory whatever happens; only the publish's are expected.
        with (
            throwaway_broker("memory", prefix="bench-programs-broker-"),
            override_settings(
                DEBUG=False, EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"
            ),
            throwaway_database(
                prefix="bench-programs-", keep=options["keep"], write=self.stdout.write
            ) as name,
        ):
            results = Results(database=f"{_database_label()} ({name})")
            self._run(results, options)
        self._report(results, options["seed"])

    def _say(self, text: str) -> None:
        self.stdout.write(text)
        self.stdout.flush()

    def _run(self, results: Results, options: dict[str, Any]) -> None:
        rng = random.Random(options["seed"])
        hospitals = [
            Institution.objects.create(
                name=name, short_name=name.removeprefix("Bench "), slug=f"bench-hospital-{k}",
                kind=Institution.Kind.HOSPITAL, timezone=zone,
            )
            for k, (name, zone) in enumerate(HOSPITALS, start=1)
        ]  # fmt: skip
        vocab = _Vocabulary.load()
        school: School | None = None
        for n, m in options["sizes"]:
            started = time.perf_counter()
            school = populate(n, m, rng, vocab, hospitals)
            programs = {d: _program(school, d) for d in options["demands"]}
            _enrol(school, programs.values(), rng)
            _analyze()
            school.setup_s = time.perf_counter() - started
            results.schools.append(school)
            self._say(
                f"{_size(n, m)}: set up in {school.setup_s:.1f} s ("
                + ", ".join(f"{v:,} {k}" for k, v in school.counts.items())
                + ")"
            )
            first: MatchRun | None = None
            for demand, program in programs.items():
                for objective in OBJECTIVES:
                    run, row = self._match_run(school, program, demand, objective, _size(n, m))
                    results.runs.append(row)
                    first = first or run
                    self._say(
                        f"  run {demand} / {objective}: {row.timings['total']:.2f} s, "
                        f"{row.pairs:,} pairs"
                    )
            assert first is not None
            results.publishes.append(self._publish(school, first, _size(n, m)))
        if options["import_rows"] and school is not None:
            results.imports.append(self._import(school, options["import_rows"], rng, vocab))

    # --- The measured steps ----------------------------------------------------------

    def _match_run(
        self, school: School, program: Program, demand: str, objective: str, size: str
    ) -> tuple[MatchRun, RunRow]:
        user = school.coordinator
        connection.queries_log.clear()  # CaptureQueriesContext sees at most the last 9,000
        with CaptureQueriesContext(connection) as queries:
            run, created = run_start(user=user, program_id=program.pk, objective=objective)
            _expect(TASK.format("execute_match_run"), run.pk)
            done = run_execute(run_id=run.pk)
        run.refresh_from_db()
        if not (created and done) or run.status != MatchRun.Status.DONE:
            raise CommandError(f"Run {run.number} of {program.name}: {run.status} {run.error}")
        statements = _statements(queries)
        summary = run.summary
        return run, RunRow(
            size=size,
            demand=demand,
            objective=objective,
            timings={step: float(run.timings.get(step, 0.0)) for step in STEPS},
            pairs=int(summary["pairs"]),
            coverage=float(summary["coverage"]),
            mean_score=float(summary["mean_score"]),
            queries=len(statements),
            proposal_inserts=sum(
                1 for sql in statements if sql.startswith('INSERT INTO "matching_proposal"')
            ),
        )

    def _publish(self, school: School, run: MatchRun, size: str) -> PublishRow:
        outbox = _outbox()
        sent_before = len(outbox)
        with _eager_tasks() as tasks, connection.execute_wrapper(counter := _Statements(tasks)):
            started = time.perf_counter()
            result = run_publish(user=school.coordinator, program_id=run.program_id, run_id=run.pk)
            seconds = time.perf_counter() - started
        emails = len(outbox) - sent_before
        del outbox[sent_before:]
        if drain_tasks():
            raise CommandError("Publishing left tasks on the broker; they should have run eagerly.")
        self._say(f"  published {result.mentorships:,} mentorships in {seconds:.2f} s")
        return PublishRow(
            size=size,
            run=f"{run.params['demand']} / {run.objective}",
            mentorships=result.mentorships,
            emails=emails,
            seconds=seconds,
            email_tasks=tasks.tasks,
            email_s=tasks.seconds,
            queries=counter.count,
            email_queries=counter.in_tasks,
        )

    def _import(
        self, school: School, rows: int, rng: random.Random, vocab: _Vocabulary
    ) -> ImportRow:
        user = school.coordinator
        program = _program(school, Program.Demand.ONE, name=f"Bench CSV import {school.tag}")
        text, existing = import_csv(rows, school, rng, vocab)
        job = import_start(user=user, program_id=program.pk, data=text, filename="bench.csv")
        _expect(TASK.format("check_import"), job.pk)

        connection.queries_log.clear()
        with CaptureQueriesContext(connection) as check_queries:
            started = time.perf_counter()
            checked = import_check(job_id=job.pk)
            check_s = time.perf_counter() - started
        if checked is None or checked.status != ImportJob.Status.CHECKED:
            problems = checked.problems[:3] if checked else []
            raise CommandError(
                f"The CSV did not pass its check: {checked and checked.status} {problems}"
            )
        self._say(f"  import of {rows:,} rows checked in {check_s:.2f} s")

        import_confirm(user=user, program_id=program.pk, import_id=job.pk)
        _expect(TASK.format("run_import"), job.pk)
        connection.queries_log.clear()
        with CaptureQueriesContext(connection) as import_queries:
            started = time.perf_counter()
            done = import_run(job_id=job.pk)
            import_s = time.perf_counter() - started
        if done is None or done.status != ImportJob.Status.DONE:
            raise CommandError(
                f"The import did not finish: {done and done.status} {done and done.error}"
            )
        self._say(f"  imported in {import_s:.2f} s")
        welcomes: list[list[Any]] = [
            args for name, args, _ in drain_tasks() if name == TASK.format("send_import_welcomes")
        ]
        return ImportRow(
            rows=rows,
            new_accounts=int(done.result["created_accounts"]),
            existing_accounts=existing,
            check_s=check_s,
            check_queries=len(_statements(check_queries)),
            import_s=import_s,
            import_queries=len(_statements(import_queries)),
            welcome_tasks=len(welcomes),
            welcome_people=sum(len(user_ids) for user_ids, _program_id in welcomes),
        )

    # --- The report ----------------------------------------------------------------

    def _report(self, results: Results, seed: int) -> None:
        w = self.stdout.write
        w("")
        w(f"{results.database}; {os.cpu_count()} cores; seed {seed}")
        for s in results.schools:
            size = _size(len(s.mentee_ids), len(s.mentor_ids))
            w(f"Setup of {size} (not timed below): {s.setup_s:.1f} s")
        w("")
        w(
            "Match runs: run_start, then the task's body run_execute called here. Seconds are the "
            "run's own timings (MatchRun.timings); queries are every statement of both calls "
            "(CaptureQueriesContext), of which the proposals' INSERT batches."
        )
        w("")
        _table(
            w,
            ("mentees × mentors", "demand", "objective", "load s", "score s", "solve s",
             "explain s", "save s", "total s", "pairs", "coverage", "mean score", "queries",
             "proposal INSERTs"),
            [
                (r.size, r.demand, r.objective, *(f"{r.timings[s]:.2f}" for s in STEPS),
                 f"{r.pairs:,}", f"{r.coverage:.3f}", f"{r.mean_score:.3f}", str(r.queries),
                 str(r.proposal_inserts))
                for r in results.runs
            ],
        )  # fmt: skip
        w("")
        w(
            "Publish: run_publish of the first run, Celery eager and the locmem email backend: "
            "the email tasks run inside the call after its commit (built, sent nowhere; in "
            "production a worker runs them). Every statement is counted, the emails' included."
        )
        w("")
        _table(
            w,
            ("mentees × mentors", "run", "mentorships", "emails", "publish s",
             "of which email tasks s", "queries", "of which email tasks",
             "queries per pair (publish + emails)"),
            [
                (p.size, p.run, f"{p.mentorships:,}", f"{p.emails:,}", f"{p.seconds:.2f}",
                 f"{p.email_s:.2f}", f"{p.queries:,}", f"{p.email_queries:,}",
                 f"{(p.queries - p.email_queries) / max(p.mentorships, 1):.1f} + "
                 f"{p.email_queries / max(p.mentorships, 1):.1f}")
                for p in results.publishes
            ],
        )  # fmt: skip
        if not results.imports:
            return
        w("")
        w(
            "CSV import: import_check (the dry run) and import_run (the confirmed import, one "
            "transaction); the welcome-email tasks are published and counted, not run."
        )
        w("")
        _table(
            w,
            ("rows", "new accounts", "existing", "check s", "check rows/s", "check queries",
             "import s", "import rows/s", "import queries", "welcome tasks (people)"),
            [
                (f"{i.rows:,}", f"{i.new_accounts:,}", f"{i.existing_accounts:,}",
                 f"{i.check_s:.2f}", f"{i.rows / i.check_s:,.0f}", str(i.check_queries),
                 f"{i.import_s:.2f}", f"{i.rows / i.import_s:,.0f}", str(i.import_queries),
                 f"{i.welcome_tasks} ({i.welcome_people:,})")
                for i in results.imports
            ],
        )  # fmt: skip


def _table(write: Callable[[str], None], header: Sequence[str], rows: list[Sequence[str]]) -> None:
    write("| " + " | ".join(header) + " |")
    write("|" + " --- |" * len(header))
    for row in rows:
        write("| " + " | ".join(row) + " |")


def _database_label() -> str:
    if connection.vendor == "postgresql":
        version = connection.pg_version  # type: ignore[attr-defined]
        return f"PostgreSQL {version // 10000}.{version % 10000}"
    if connection.vendor == "sqlite":
        return f"SQLite {connection.Database.sqlite_version}"  # type: ignore[attr-defined]
    return connection.vendor


# --- Tasks, statements, emails -------------------------------------------------------


def _expect(task: str, job_id: int) -> None:
    """The one task a service published after commit; drained, never delivered."""
    published = drain_tasks()
    if published != [(task, [job_id], {})]:
        raise CommandError(f"Expected {task}({job_id}) on the broker, found {published}")


def _statements(queries: CaptureQueriesContext) -> list[str]:
    if len(queries) >= connection.queries_limit:
        raise CommandError("More statements than CaptureQueriesContext keeps: the count is wrong.")
    return [q["sql"].lstrip() for q in queries.captured_queries]


class _TaskClock:
    """Seconds spent inside tasks (their bodies, run eagerly) and how many ran."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.tasks = 0
        self._started: dict[str, float] = {}

    @property
    def running(self) -> bool:
        return bool(self._started)

    def prerun(self, task_id: str, **_: Any) -> None:
        self._started[task_id] = time.perf_counter()

    def postrun(self, task_id: str, **_: Any) -> None:
        self.seconds += time.perf_counter() - self._started.pop(task_id)
        self.tasks += 1


class _Statements:
    """Counts every statement run, and those run inside tasks. CaptureQueriesContext
    keeps only the last 9,000, and a publish runs several per pair."""

    def __init__(self, clock: _TaskClock) -> None:
        self.clock = clock
        self.count = 0
        self.in_tasks = 0

    def __call__(self, execute: Callable[..., Any], sql: str, params: Any, many: bool,
                 context: dict[str, Any]) -> Any:  # fmt: skip
        self.count += 1
        self.in_tasks += self.clock.running
        return execute(sql, params, many, context)


@contextmanager
def _eager_tasks() -> Iterator[_TaskClock]:
    """Run tasks inline, in the call that queues them (Celery's eager mode), for a block;
    yields the time spent in them.

    The throw-away broker set ``task_always_eager`` on the app itself, where it
    outranks Django's settings: both are changed, and put back.
    """
    conf = celery_app.conf
    saved = conf.task_always_eager, conf.task_eager_propagates
    trace = logging.getLogger("celery.app.trace")  # an INFO line per task otherwise
    level = trace.level
    clock = _TaskClock()
    task_prerun.connect(clock.prerun, weak=False)
    task_postrun.connect(clock.postrun, weak=False)
    with override_settings(CELERY_TASK_ALWAYS_EAGER=True, CELERY_TASK_EAGER_PROPAGATES=True):
        conf.update(task_always_eager=True, task_eager_propagates=True)
        trace.setLevel(logging.WARNING)
        try:
            yield clock
        finally:
            trace.setLevel(level)
            conf.update(task_always_eager=saved[0], task_eager_propagates=saved[1])
            task_prerun.disconnect(clock.prerun)
            task_postrun.disconnect(clock.postrun)


def _outbox() -> list[Any]:
    if not hasattr(mail, "outbox"):
        mail.outbox = []  # what the locmem backend starts with
    return mail.outbox


# --- The synthetic schools -----------------------------------------------------------


@dataclass
class _Vocabulary:
    """The real taxonomy, as the benchmark draws from it."""

    student_specialties: list[tuple[int, int]]  # (Specialty pk, weight)
    hospital_specialties: list[tuple[int, int]]
    interests: list[int]
    languages: dict[str, int]  # code -> Language pk
    specialty_names: dict[int, str]
    interest_names: dict[int, str]

    @classmethod
    def load(cls) -> _Vocabulary:
        by_slug = dict(Specialty.objects.values_list("slug", "pk"))
        if not by_slug:
            raise CommandError("The benchmark database has no specialties: migrations did not run.")
        return cls(
            student_specialties=[
                (by_slug[s], w) for s, w in POPULAR_STUDENT_SPECIALTIES if s in by_slug
            ],
            hospital_specialties=[(by_slug[s], w) for s, w in HOSPITAL_SPECIALTIES if s in by_slug],
            interests=list(Interest.objects.order_by("pk").values_list("pk", flat=True)),
            languages=dict(Language.objects.values_list("code", "pk")),
            specialty_names=dict(Specialty.objects.values_list("pk", "name")),
            interest_names=dict(Interest.objects.values_list("pk", "name")),
        )


def _pick(rng: random.Random, weighted: Sequence[tuple[int, int]], k: int) -> list[int]:
    """``k`` distinct items drawn by weight."""
    items = [item for item, _ in weighted]
    weights = [w for _, w in weighted]
    picked: list[int] = []
    while len(picked) < min(k, len(items)):
        item = rng.choices(items, weights)[0]
        if item not in picked:
            picked.append(item)
    return picked


def _bulk(model: type[M], objects: list[M]) -> list[M]:
    done = model._default_manager.bulk_create(objects, batch_size=BATCH)
    if any(obj.pk is None for obj in done):
        raise CommandError("This database returns no ids from bulk inserts; the setup needs them.")
    return done


def populate(
    n: int, m: int, rng: random.Random, vocab: _Vocabulary, hospitals: list[Institution]
) -> School:
    """A school with ``n`` mentees, ``m`` mentors (some at the hospitals) and a coordinator."""
    tag = f"{n}x{m}"
    zone = rng.choice([z for _, z in HOSPITALS])
    institution = Institution.objects.create(
        name=f"Bench School of Medicine {tag}", short_name=f"Bench {tag}", slug=f"bench-{tag}",
        timezone=zone,
    )  # fmt: skip
    coordinator = User.objects.create(
        email=f"coordinator.{tag}@bench.example", full_name=f"Coordinator {tag}",
        role=Role.COORDINATOR, password="!bench",  # noqa: S106 - unusable password
    )  # fmt: skip
    Profile.objects.create(user=coordinator, institution=institution, stage=None, timezone=zone)

    resident = [rng.random() < RESIDENT_SHARE for _ in range(m)]
    users = _bulk(
        User,
        [
            User(email=f"mentee{i + 1}.{tag}@bench.example", full_name=f"Mentee {i + 1} {tag}",
                 role=Role.STUDENT, password="!bench")  # noqa: S106
            for i in range(n)
        ]
        + [
            User(email=f"mentor{j + 1}.{tag}@bench.example", full_name=f"Mentor {j + 1} {tag}",
                 role=Role.RESIDENT if resident[j] else Role.PHYSICIAN,
                 password="!bench")  # noqa: S106
            for j in range(m)
        ],
    )  # fmt: skip
    mentees, mentors = users[:n], users[n:]

    profiles: list[Profile] = []
    specialties: list[list[int]] = []
    for user in mentees:
        stage = rng.choices(MENTEE_STAGES, MENTEE_STAGE_WEIGHTS)[0]
        k = rng.choices((0, 1, 2, 3), (0.1, 0.4, 0.35, 0.15))[0]
        specialties.append(_pick(rng, vocab.student_specialties, k))
        goals = rng.sample(GOALS, rng.randint(1, 3))
        profiles.append(
            Profile(
                user=user, stage=stage, institution=institution, timezone=zone,
                seeking_mentor=True, meets_in_person=rng.random() < 0.8,
                meets_phone=rng.random() < 0.3,
                goals={g: rng.randint(1, 3) for g in goals},
                mentor_stage_preference=rng.choices(
                    list(MentorStagePreference), (0.6, 0.2, 0.2))[0],
                institution_preference=rng.choices(
                    list(InstitutionPreference), (0.8, 0.1, 0.1))[0],
                style_preference=rng.choices(list(MentoringStyle), (0.7, 0.2, 0.1))[0],
            )
        )  # fmt: skip
    for user, is_resident in zip(mentors, resident, strict=True):
        place = institution if rng.random() < AT_SCHOOL_SHARE else rng.choice(hospitals)
        rung = _mentor_stage(rng, is_resident)
        specialties.append(
            _pick(rng, vocab.hospital_specialties, rng.choices((1, 2), (0.7, 0.3))[0])
        )
        wanted = rng.sample(MENTEE_STAGES, rng.randint(1, 2)) if rng.random() < 0.25 else []
        profiles.append(
            Profile(
                user=user, stage=rung, institution=place, timezone=place.timezone,
                accepting_mentees=True, capacity=rng.randint(1, 4),
                hours_per_month=rng.randint(1, 6),
                strengths=rng.sample(GOALS, rng.randint(1, 3)),
                preferred_mentee_stages=[int(s) for s in wanted],
                mentoring_style=rng.choices(list(MentoringStyle), (0.6, 0.25, 0.15))[0],
                meets_phone=rng.random() < 0.3,
            )
        )  # fmt: skip
    profiles = _bulk(Profile, profiles)

    specialty_link = Profile.specialties.through
    interest_link = Profile.interests.through
    language_link = Profile.languages.through
    others = [pk for code, pk in vocab.languages.items() if code != "en"]
    links: dict[str, list[Any]] = {
        "specialty links": _bulk(specialty_link, [
            specialty_link(profile_id=p.pk, specialty_id=s)
            for p, chosen in zip(profiles, specialties, strict=True) for s in chosen
        ]),
        "interest links": _bulk(interest_link, [
            interest_link(profile_id=p.pk, interest_id=i)
            for p in profiles for i in rng.sample(vocab.interests, rng.randint(0, 3))
        ]),
        "language links": _bulk(language_link, [
            language_link(profile_id=p.pk, language_id=lang)
            for p in profiles
            for lang in [vocab.languages["en"]]
            + ([rng.choice(others)] if rng.random() < 0.2 else [])
        ]),
    }  # fmt: skip

    now = timezone.now()
    genders = (Gender.WOMAN, Gender.MAN, Gender.NON_BINARY)
    demographics = []
    for k, user in enumerate(users):
        if rng.random() >= DEMOGRAPHICS_SHARE:
            continue
        gender = rng.choices(genders, (0.5, 0.45, 0.05))[0]
        ethnicity = rng.choices(list(ETHNICITY_WEIGHTS), list(ETHNICITY_WEIGHTS.values()))[0]
        mentee = k < n
        same_gender = mentee and rng.random() < GENDER_OPT_IN.get(gender, 0.0)
        same_ethnicity = mentee and rng.random() < ETHNICITY_OPT_IN.get(Ethnicity(ethnicity), 0.0)
        demographics.append(
            Demographics(
                user=user, gender=gender, ethnicities=[str(ethnicity)],
                wants_same_gender=same_gender, gender_opted_in_at=now if same_gender else None,
                wants_same_ethnicity=same_ethnicity,
                ethnicity_opted_in_at=now if same_ethnicity else None,
            )
        )  # fmt: skip
    _bulk(Demographics, demographics)
    conflicts = _bulk(
        ConflictOfInterest,
        [
            ConflictOfInterest(
                mentor=user, kind=ConflictOfInterest.Kind.GRADES, institution=institution,
                stage=rng.choice((Stage.MS3, Stage.MS4)),
                description="I grade clerkship students at this school",
            )
            for user in mentors
            if rng.random() < CONFLICT_SHARE
        ],
    )  # fmt: skip
    counts = {
        "mentees": n,
        "mentors": m,
        **{k: len(v) for k, v in links.items()},
        "demographics": len(demographics),
        "conflicts": len(conflicts),
    }
    return School(
        tag=tag,
        institution=institution,
        coordinator=coordinator,
        mentee_ids=[u.pk for u in mentees],
        mentor_ids=[u.pk for u in mentors],
        counts=counts,
    )


def _program(school: School, demand: str, *, name: str = "") -> Program:
    today = timezone.localdate()
    return program_save(
        user=school.coordinator,
        data={
            "name": name or f"Bench {demand} {school.tag}",
            "starts_on": today + dt.timedelta(days=14),
            "ends_on": today + dt.timedelta(days=300),
            "status": Program.Status.OPEN,
            "demand": demand,
        },
    )


def _enrol(school: School, programs: Iterable[Program], rng: random.Random) -> None:
    capped = {pk for pk in school.mentor_ids if rng.random() < CAPPED_SHARE}
    for program in programs:
        _bulk(
            Enrollment,
            [Enrollment(program=program, user_id=pk, role=Enrollment.Role.MENTEE)
             for pk in school.mentee_ids]
            + [Enrollment(program=program, user_id=pk, role=Enrollment.Role.MENTOR,
                          capacity=1 if pk in capped else None)
               for pk in school.mentor_ids],
        )  # fmt: skip
        school.counts["enrolments"] = (
            school.counts.get("enrolments", 0) + len(school.mentee_ids) + len(school.mentor_ids)
        )


def _analyze() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # What autovacuum does on a live database: fresh statistics, visibility map.
            cursor.execute("VACUUM ANALYZE")


def import_csv(
    rows: int, school: School, rng: random.Random, vocab: _Vocabulary
) -> tuple[str, int]:
    """A clean participants file of ``rows`` rows in the import's columns, as a coordinator
    would export it from a spreadsheet; (text, rows for people who already have an account).
    """
    existing = min(int(rows * EXISTING_SHARE), len(school.mentee_ids))
    ids = rng.sample(school.mentee_ids, existing)
    emails = list(User.objects.filter(pk__in=ids).values_list("email", flat=True))
    hospitals = [name for name, _ in HOSPITALS]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for email in emails:  # already has an account: the email and the role are enough
        writer.writerow([email, "", "mentee", "", "", "", "", "", ""])
    for k in range(1, rows - len(emails) + 1):
        email = f"import{k}.{school.tag}@bench.example"
        chosen = rng.sample(vocab.interests, rng.randint(0, 2))
        interests = "; ".join(vocab.interest_names[i] for i in chosen)
        if rng.random() < 0.7:
            stage = rng.choices(MENTEE_STAGES, MENTEE_STAGE_WEIGHTS)[0]
            fields = _pick(rng, vocab.student_specialties, rng.randint(0, 3))
            person = [f"Imported Mentee {k}", "mentee", "student", Stage(stage).label]
            extra = ["", ""]
        else:
            is_resident = rng.random() < RESIDENT_SHARE
            fields = _pick(rng, vocab.hospital_specialties, 1)
            user_type = "resident" if is_resident else "physician"
            label = Stage(_mentor_stage(rng, is_resident)).label
            person = [f"Imported Mentor {k}", "mentor", user_type, label]
            extra = [str(rng.randint(1, 4)), rng.choice(hospitals) if rng.random() < 0.4 else ""]
        specialties = "; ".join(vocab.specialty_names[s] for s in fields)
        writer.writerow([email, *person, specialties, interests, *extra])
    return out.getvalue(), len(emails)


def _mentor_stage(rng: random.Random, resident: bool) -> int:
    if resident:
        return rng.randint(Stage.PGY1, Stage.FELLOW)
    return rng.randint(Stage.ATTENDING_EARLY, Stage.ATTENDING_SENIOR)
