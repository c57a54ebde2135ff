"""Benchmark: one reminders scan over N active mentorships, in a database of its own.

``python manage.py bench_reminders [--mentorships 100000] [--also 10000] [--keep]``

Never touches the configured database: it creates a fresh one beside it with
Django's test-database machinery (on PostgreSQL ``<name>_bench`` on the same
server, on SQLite a file in a new temporary directory), migrates it, and drops it
at the end unless ``--keep``.

Each size is a seeded synthetic school: N mentees, one mentor for every four of
them, N active mentorships with their agreements and check-in history, 20
institutions with their academic dates, and a realistic share due at the scan's
``now``: about 10% of pairs with a check-in inside the lead time, 5% overdue, 2%
with an agreement unsigned for over 7 days, 2% of mentees with a request waiting
up to 13 days, a Step 2 CK prompt for every MS4 pair (20% of mentees), one school's
program deadline, 3% of people subscribed to the monthly digest; the rest not due.

The timed scan is the production call, ``reminders_scan(now=...)`` with
``enqueue=True``: the delivery tasks are really published after commit, to a
throw-away broker that no worker reads (kombu's in-memory transport, or with
``--broker sqlite`` the SQLAlchemy-on-SQLite transport of ``make run`` on a
temporary file), then drained and counted here: the enqueue is measured and
nothing is delivered. The configured broker is deliberately not offered: its
workers would deliver against the development database. A second scan at the
same ``now`` shows the steady state (everything already in the ledger, nobody to
queue again).
"""

from __future__ import annotations

import datetime as dt
import math
import random
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, TypeVar, cast

from django.core import mail
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.management.color import no_style
from django.db import connection, models
from django.test.utils import CaptureQueriesContext, override_settings
from django.utils import timezone

from accounts.choices import Delivery, EmailKind, Role, Stage
from accounts.models import Institution, NotificationSettings, Profile, User
from matching.models import MentorRequest
from mentorship.benchdb import drain_tasks, throwaway_broker, throwaway_database
from mentorship.models import (
    CADENCE_DAYS,
    AcademicDate,
    Agreement,
    Cadence,
    CheckIn,
    Mentorship,
)
from mentorship.reminders import GRACE_DAYS, ScanResult, reminders_scan

M = TypeVar("M", bound=models.Model)

BATCH = 5000
MENTEES_PER_MENTOR = 4
INSTITUTIONS = 20
TIMEZONES = (
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "America/Phoenix",
    "Pacific/Honolulu",
)
MENTEE_STAGES = (Stage.PREMED, Stage.MS1, Stage.MS2, Stage.MS3, Stage.MS4)
MENTEE_STAGE_WEIGHTS = (0.05, 0.25, 0.25, 0.25, 0.20)
CADENCES = (Cadence.WEEKLY, Cadence.BIWEEKLY, Cadence.MONTHLY, Cadence.QUARTERLY)
CADENCE_WEIGHTS = (0.1, 0.3, 0.5, 0.1)
LEADS = (dt.timedelta(days=1), dt.timedelta(days=2), dt.timedelta(days=7))
DAY = dt.timedelta(days=1)


@dataclass
class Row:
    mentorships: int
    setup_s: float = 0.0
    scan: ScanResult = field(default_factory=ScanResult)
    scan_s: float = 0.0
    queries: list[str] = field(default_factory=list)
    slowest: list[tuple[float, str]] = field(default_factory=list)
    tasks: int = 0
    repeat_s: float = 0.0
    repeat_queries: int = 0
    repeat_written: int = 0
    repeat_queued: int = 0


class Command(BaseCommand):
    help = (
        "Time one reminders scan (find what is due, write the ledger, enqueue delivery) "
        "over N synthetic active mentorships in a separate, throw-away database."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--mentorships", type=int, default=100_000)
        parser.add_argument(
            "--also",
            type=int,
            default=10_000,
            help="a second, smaller size to show the query count does not grow (0: none)",
        )
        parser.add_argument("--seed", type=int, default=2026)
        parser.add_argument(
            "--now",
            type=dt.datetime.fromisoformat,
            default=None,
            help="the scan's moment, ISO 8601 (default: 15:00 UTC on the 1st of this month, "
            "the busiest scan of a month: the monthly digest is due as well)",
        )
        parser.add_argument(
            "--broker",
            choices=("memory", "sqlite"),
            default="memory",
            help="where the tasks are published (and drained): kombu's in-memory transport, "
            "or the SQLAlchemy transport on a temporary SQLite file (as `make run` uses)",
        )
        parser.add_argument(
            "--keep",
            action="store_true",
            help="keep the benchmark database (with the largest size) instead of dropping it",
        )

    def handle(self, *args: object, **options: Any) -> None:
        self.verbosity = options["verbosity"]
        sizes = sorted({n for n in (options["also"], options["mentorships"]) if n > 0})
        if not sizes:
            raise CommandError("Nothing to do: --mentorships must be positive.")
        # Belt and braces: nothing should be delivered, and if it were, no email leaves.
        # DEBUG off: the setup's bulk inserts are not kept in connection.queries.
        with (
            throwaway_broker(options["broker"], prefix="bench-reminders-broker-") as broker,
            override_settings(
                DEBUG=False, EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"
            ),
        ):
            now = _moment(options["now"])
            rows = self._run(sizes, options["seed"], options["keep"], now)
        if getattr(mail, "outbox", []):
            raise CommandError("An email was sent during the benchmark; nothing should be.")
        self._report(rows, now, broker)

    # --- The database of its own ------------------------------------------------------

    def _run(self, sizes: list[int], seed: int, keep: bool, now: dt.datetime) -> list[Row]:
        rows: list[Row] = []
        with throwaway_database(prefix="bench-reminders-", keep=keep, write=self.stdout.write):
            for i, n in enumerate(sizes):
                if i:
                    call_command("flush", interactive=False, verbosity=0)
                rows.append(self._one(n, seed, now))
        return rows

    def _one(self, n: int, seed: int, now: dt.datetime) -> Row:
        row = Row(mentorships=n)
        started = time.perf_counter()
        counts = populate(n, now, seed)
        row.setup_s = time.perf_counter() - started
        self.stdout.write(
            f"{n:,} mentorships: set up in {row.setup_s:.1f} s ("
            + ", ".join(f"{v:,} {k}" for k, v in counts.items())
            + ")"
        )
        _drain()
        assert not connection.in_atomic_block  # the scan's own transaction commits
        connection.queries_log.clear()  # CaptureQueriesContext sees at most the last 9,000
        with CaptureQueriesContext(connection) as first:
            started = time.perf_counter()
            row.scan = reminders_scan(now=now)  # enqueue=True: published on commit
            row.scan_s = time.perf_counter() - started
        row.queries = [q["sql"] for q in first.captured_queries]
        row.slowest = sorted(
            ((float(q["time"]), _label(q["sql"])) for q in first.captured_queries), reverse=True
        )[:8]
        row.tasks, people = _drain()
        if people != len(row.scan.user_ids):
            raise CommandError(f"{people} people in the tasks, {len(row.scan.user_ids)} queued")
        connection.queries_log.clear()
        with CaptureQueriesContext(connection) as again:
            started = time.perf_counter()
            repeat = reminders_scan(now=now)
            row.repeat_s = time.perf_counter() - started
        row.repeat_queries = len(again.captured_queries)
        row.repeat_written, row.repeat_queued = repeat.total, len(repeat.user_ids)
        _drain()
        return row

    # --- The report ----------------------------------------------------------------

    def _report(self, rows: list[Row], now: dt.datetime, broker: str) -> None:
        w = self.stdout.write
        w("")
        w(f"now: {now:%Y-%m-%d %H:%M} UTC; everything below is relative to it")
        w("scan: reminders_scan(now=...) with enqueue=True, one transaction, tasks published")
        w(f"      after commit to {broker} (drained and counted, never delivered)")
        w("queries: every statement the scan ran (ledger INSERT ... SELECT / digest / other)")
        w("again: a second scan at the same moment (everything already in the ledger)")
        header = (
            f"{'mentorships':>11} {'setup s':>8} {'written':>8} {'people':>7} {'tasks':>6} "
            f"{'scan s':>7} {'queries':>19} {'again s':>8} {'again q':>8}"
        )
        w(header)
        w("-" * len(header))
        for r in rows:
            ledger, digest, other = _classify(r.queries)
            split = f"{len(r.queries)} ({ledger}/{digest}/{other})"
            w(
                f"{r.mentorships:>11,} {r.setup_s:>8.1f} {r.scan.total:>8,} "
                f"{len(r.scan.user_ids):>7,} {r.tasks:>6,} {r.scan_s:>7.2f} {split:>19} "
                f"{r.repeat_s:>8.2f} {r.repeat_queries:>8}"
            )
        w("")
        for r in rows:
            kinds = ", ".join(f"{k} {v:,}" for k, v in sorted(r.scan.inserted.items()) if v)
            w(f"{r.mentorships:>11,}: {kinds}")
            if r.repeat_written or r.repeat_queued:
                w(f"  second scan wrote {r.repeat_written} and queued {r.repeat_queued} (want 0)")
            if self.verbosity >= 2:
                w("  slowest statements of the scan:")
                for seconds, label in r.slowest:
                    w(f"  {seconds:7.2f} s  {label}")


def _moment(value: dt.datetime | None) -> dt.datetime:
    if value is None:
        return timezone.now().replace(day=1, hour=15, minute=0, second=0, microsecond=0)
    return value if timezone.is_aware(value) else value.replace(tzinfo=dt.UTC)


# --- Broker ------------------------------------------------------------------------


def _drain() -> tuple[int, int]:
    """(tasks, people in them) published to the throw-away broker; the queue is left empty."""
    tasks = people = 0
    for name, (user_ids,), _kwargs in drain_tasks():
        if name != "mentorship.tasks.deliver_reminders":
            raise CommandError(f"Unexpected task {name}")
        tasks += 1
        people += len(user_ids)
    return tasks, people


def _label(sql: str) -> str:
    """The statement's start and its first literal (the reminder kind, for the ledger)."""
    parts = sql.split("'")
    return " ".join(sql[:32].split()) + (f" … {parts[1]}" if len(parts) > 2 else "")


def _classify(queries: list[str]) -> tuple[int, int, int]:
    """(ledger INSERT ... SELECT, digest readers' time zones, other) among the scan's queries."""
    ledger = sum(1 for sql in queries if sql.lstrip().upper().startswith("INSERT"))
    digest = sum(
        1
        for sql in queries
        if not sql.lstrip().upper().startswith("INSERT") and "NOTIFICATIONSETTINGS" in sql.upper()
    )
    return ledger, digest, len(queries) - ledger - digest


# --- The synthetic school ------------------------------------------------------------


def _bulk(model: type[M], objects: Iterable[M]) -> int:
    """bulk_create in batches without holding every object in memory."""
    done = 0
    it = iter(objects)
    while chunk := list(islice(it, BATCH)):
        model._default_manager.bulk_create(chunk, batch_size=BATCH)
        done += len(chunk)
    return done


@contextmanager
def _own_dates(*fields: tuple[type[models.Model], str]) -> Iterator[None]:
    """Let bulk_create keep the dates given instead of stamping auto_now_add ones."""
    saved = []
    for model, name in fields:
        f = cast(models.DateTimeField, model._meta.get_field(name))
        saved.append((f, f.auto_now_add))
        f.auto_now_add = False
    try:
        yield
    finally:
        for f, value in saved:
            f.auto_now_add = value


def populate(n: int, now: dt.datetime, seed: int) -> dict[str, int]:
    """Write the synthetic school for ``n`` mentorships; returns row counts per table.

    Ids are given explicitly (a fresh database), so no row has to be read back.
    """
    rng = random.Random(seed)
    m = math.ceil(n / MENTEES_PER_MENTOR)
    mentor_id = n + 1  # mentees are users 1..n, mentors n+1..n+m
    today = now.date()
    counts: dict[str, int] = {}

    institutions = [
        Institution(id=k, name=f"Bench School {k}", slug=f"bench-{k}", timezone=TIMEZONES[k % 4])
        for k in range(1, INSTITUTIONS + 1)
    ]
    Institution.objects.bulk_create(institutions)
    dates = []
    for k in range(1, INSTITUTIONS + 1):
        # Due now for MS4 pairs: starts 11 days ago. Not due yet: starts in 39 days.
        dates.append(
            AcademicDate(
                institution_id=k, title="Step 2 CK", category=AcademicDate.Category.EXAM,
                date=today + 10 * DAY, stages=[Stage.MS4.value], lead_days=21,
                prompt="Plan your dedicated study period.",
            )
        )  # fmt: skip
        dates.append(
            AcademicDate(
                institution_id=k, title="ERAS opens", category=AcademicDate.Category.APPLICATION,
                date=today + 60 * DAY, stages=[Stage.MS3.value, Stage.MS4.value], lead_days=21,
                prompt="Start your personal statement.",
            )
        )  # fmt: skip
    dates.append(
        AcademicDate(
            institution_id=1, title="Program survey", category=AcademicDate.Category.PROGRAM,
            date=today + 5 * DAY, stages=[], lead_days=7, prompt="Answer the program survey.",
        )
    )  # fmt: skip
    AcademicDate.objects.bulk_create(dates)

    inactive_mentors = set(rng.sample(range(m), max(1, m // 200)))  # 0.5% left

    def users() -> Iterator[User]:
        for i in range(n):
            yield User(
                id=i + 1, email=f"mentee{i + 1}@bench.example", full_name=f"Mentee {i + 1}",
                role=Role.STUDENT, password="!bench",  # noqa: S106 - unusable password
            )  # fmt: skip
        for j in range(m):
            yield User(
                id=mentor_id + j, email=f"mentor{j + 1}@bench.example",
                full_name=f"Mentor {j + 1}", role=Role.PHYSICIAN,
                is_active=j not in inactive_mentors, password="!bench",  # noqa: S106
            )  # fmt: skip

    def profiles() -> Iterator[Profile]:
        for i in range(n):
            yield Profile(
                id=i + 1, user_id=i + 1,
                stage=rng.choices(MENTEE_STAGES, MENTEE_STAGE_WEIGHTS)[0],
                institution_id=rng.randint(1, INSTITUTIONS), timezone=rng.choice(TIMEZONES),
                seeking_mentor=False,
            )  # fmt: skip
        for j in range(m):
            mentees = min(MENTEES_PER_MENTOR, n - j * MENTEES_PER_MENTOR)
            yield Profile(
                id=mentor_id + j, user_id=mentor_id + j,
                stage=rng.randint(Stage.PGY1, Stage.ATTENDING_SENIOR),
                institution_id=rng.randint(1, INSTITUTIONS), timezone=rng.choice(TIMEZONES),
                accepting_mentees=True, capacity=MENTEES_PER_MENTOR, active_mentees=mentees,
            )  # fmt: skip

    def settings() -> Iterator[NotificationSettings]:
        for user_id in range(1, n + m + 1):
            if rng.random() < 0.10:
                digest = rng.random() < 0.3  # 3% of everyone
                yield NotificationSettings(
                    user_id=user_id,
                    checkin_lead=rng.choices(LEADS, (0.4, 0.3, 0.3))[0],
                    delivery={EmailKind.DIGEST.value: Delivery.EMAIL.value} if digest else {},
                )

    counts["users"] = _bulk(User, users())
    counts["profiles"] = _bulk(Profile, profiles())
    counts["notification settings"] = _bulk(NotificationSettings, settings())

    # Mentorships, agreements and check-ins, decided together per pair.
    pairs: list[Mentorship] = []
    agreements: list[Agreement] = []
    checkins: list[CheckIn] = []
    totals = {"mentorships": 0, "check-ins": 0}
    checkin_id = 0

    def flush_pairs() -> None:
        Mentorship.objects.bulk_create(pairs, batch_size=BATCH)
        Agreement.objects.bulk_create(agreements, batch_size=BATCH)
        CheckIn.objects.bulk_create(checkins, batch_size=BATCH)
        totals["mentorships"] += len(pairs)
        totals["check-ins"] += len(checkins)
        pairs.clear()
        agreements.clear()
        checkins.clear()

    def checkin(pair: int, at: dt.datetime, status: str, created: dt.datetime) -> CheckIn:
        nonlocal checkin_id
        checkin_id += 1
        done = status == CheckIn.Status.COMPLETED
        return CheckIn(
            id=checkin_id, mentorship_id=pair, scheduled_at=at, status=status,
            completed_at=at + dt.timedelta(minutes=30) if done else None,
            created_at=created, created_by_id=pair,  # the mentee: same id as the pair
        )  # fmt: skip

    with _own_dates((Mentorship, "started_at"), (Agreement, "created_at"), (CheckIn, "created_at")):
        for i in range(n):
            pk_pair = mentee = i + 1
            cadence = rng.choices(CADENCES, CADENCE_WEIGHTS)[0]
            every = CADENCE_DAYS[cadence] * DAY
            overdue_after = every + GRACE_DAYS[cadence] * DAY
            r = rng.random()
            if r < 0.03:  # agreement not signed: 2% for over 7 days (due), 1% recent
                started = now - (rng.uniform(8, 40) if r < 0.02 else rng.uniform(0.5, 6)) * DAY
                signed: dt.datetime | None = None
                mentee_signed = rng.random() < 0.7
            else:
                started = now - rng.uniform(overdue_after.days + 30, 400) * DAY
                signed = started + rng.uniform(0.5, 3) * DAY
                mentee_signed = True
            pairs.append(
                Mentorship(
                    id=pk_pair, mentee_id=mentee, mentor_id=mentor_id + i // MENTEES_PER_MENTOR,
                    status=Mentorship.Status.ACTIVE, started_at=started,
                )
            )  # fmt: skip
            agreements.append(
                Agreement(
                    id=pk_pair, mentorship_id=pk_pair, cadence=cadence,
                    review_date=(started + 180 * DAY).date(), drafted_at=started,
                    mentee_signed_at=signed or (started if mentee_signed else None),
                    mentor_signed_at=signed, created_at=started,
                )
            )  # fmt: skip
            if len(pairs) >= BATCH:
                flush_pairs()
            if signed is None:
                continue
            # The last logged check-in, and what is booked next.
            booked: dt.datetime | None = None
            if r < 0.13:  # 10%: a check-in inside the (default 2-day) lead time
                last = now - rng.uniform(0.3, 0.9) * every
                booked = now + rng.uniform(1, 47) * dt.timedelta(hours=1)
            elif r < 0.18:  # 5%: overdue, nothing booked
                last = now - overdue_after - rng.uniform(1, 30) * DAY
            else:  # not due: met within the cadence, 60% with the next one booked
                last = now - rng.uniform(0.1, 0.9) * every
                if rng.random() < 0.6:
                    booked = now + rng.uniform(3, 30) * DAY
            history = [last - k * every for k in range(rng.randint(1, 4))]
            for at in reversed(history):
                if at > signed:
                    checkins.append(checkin(pk_pair, at, CheckIn.Status.COMPLETED, at - 7 * DAY))
            if rng.random() < 0.05:  # a cancelled one now and then
                at = last + 0.5 * every
                checkins.append(checkin(pk_pair, at, CheckIn.Status.CANCELLED, last))
            if booked is not None:
                created = last + dt.timedelta(hours=1)
                checkins.append(checkin(pk_pair, booked, CheckIn.Status.SCHEDULED, created))
        flush_pairs()
    counts.update(totals)

    # Requests waiting for a mentor (not the mentee's own): sent 0-13.5 days ago.
    def requests() -> Iterator[MentorRequest]:
        for i in rng.sample(range(n), n // 50):
            sent = now - rng.uniform(0, 13.5) * DAY
            yield MentorRequest(
                mentee_id=i + 1, mentor_id=mentor_id + (i // MENTEES_PER_MENTOR + 1) % m,
                status=MentorRequest.Status.PENDING, slot=1, rank=1,
                expectations="Advice on my specialty choice.", sent_at=sent,
                expires_at=sent + 14 * DAY, created_at=sent,
            )  # fmt: skip

    with _own_dates((MentorRequest, "created_at")):
        counts["pending requests"] = _bulk(MentorRequest, requests()) if m > 1 else 0

    models_with_ids = [Institution, User, Profile, Mentorship, Agreement, CheckIn]
    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(no_style(), models_with_ids):
            cursor.execute(sql)
        if connection.vendor == "postgresql":
            # What autovacuum does on a live database: fresh statistics, visibility map.
            cursor.execute("VACUUM ANALYZE")
    return counts
