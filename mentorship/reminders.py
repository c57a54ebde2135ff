"""Reminders: what falls due, the ledger that records it once, and respectful delivery.

Two steps, both safe to run any number of times, also concurrently:

1. ``reminders_scan`` (beat, every few minutes) asks the database what is due now
   (upcoming and overdue check-ins, unsigned agreements, requests waiting for a
   mentor, academic-calendar prompts and program deadlines, the monthly digest)
   and writes one ledger row per (person, kind, target, window) with
   ``INSERT ... SELECT ... ON CONFLICT DO NOTHING``: one statement per kind, however
   many mentorships there are. Whatever fell due while nothing ran is found by
   the next scan. It then queues a delivery for every person with pending rows.
2. ``reminders_deliver`` (a task per batch of people) locks one person's pending
   rows (``SELECT ... FOR UPDATE SKIP LOCKED``), drops those no longer relevant
   (mentorship ended or paused, request answered, check-in moved), honours the
   person's settings (kind switched off or kept for the digest, quiet hours, at
   most one reminder email a day), then sends one email carrying all of them and
   marks them sent in the same transaction. A worker killed half-way rolls the
   transaction back and the rows stay pending for the redelivered task; an SMTP
   error is recorded on the rows and retried with backoff, and after
   ``MAX_ATTEMPTS`` the rows are marked failed for staff to see.
"""

from __future__ import annotations

import datetime as dt
import logging
import zoneinfo
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import (
    Case,
    DateTimeField,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Greatest
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from accounts.choices import Delivery, EmailKind, Stage
from accounts.mail import compose, local_time, settings_of, user_timezone, zone
from accounts.models import NotificationSettings, User
from accounts.services import notification_create
from matching.models import MentorRequest

from .models import (
    CADENCE_DAYS,
    AcademicDate,
    Agreement,
    Cadence,
    CheckIn,
    Mentorship,
    Reminder,
    ReminderEmail,
)

logger = logging.getLogger(__name__)

Kind = Reminder.Kind
Status = Reminder.Status

# --- When things fall due ----------------------------------------------------------
AGREEMENT_WAIT = dt.timedelta(days=7)
# Overdue: no check-in logged within the agreed cadence plus this grace.
GRACE_DAYS = {Cadence.WEEKLY: 3, Cadence.BIWEEKLY: 5, Cadence.MONTHLY: 7, Cadence.QUARTERLY: 14}
# Reminders to a mentor about a waiting request: day 3, day 7, then 2 days before expiry.
NUDGE_AFTER = {1: dt.timedelta(days=3), 2: dt.timedelta(days=7)}
EXPIRY_WARNING = dt.timedelta(days=2)
EXPIRING_PERIOD = 3
MAX_LEAD = dt.timedelta(days=14)  # the longest check-in lead time a person may choose
CALENDAR_HORIZON = dt.timedelta(days=120)  # the longest lead an academic date may have
# The month's digest is due on the 1st; a scan this many days later still writes it
# (catch-up after downtime), but switching the digest on later waits for the next 1st.
DIGEST_CATCH_UP_DAYS = 7

# --- Delivery ----------------------------------------------------------------------
MAX_ATTEMPTS = 5
BACKOFF = (
    dt.timedelta(minutes=1),
    dt.timedelta(minutes=5),
    dt.timedelta(minutes=30),
    dt.timedelta(hours=2),
)
# A person queued for delivery is queued again if nothing happened after this long
# (a lost message); the claim in delivery makes the duplicate harmless.
REQUEUE_AFTER = dt.timedelta(minutes=15)
USERS_PER_TASK = 100

EMAIL_KIND = {
    Kind.REQUEST_NUDGE: EmailKind.REQUEST_REMINDERS,
    Kind.REQUEST_EXPIRING: EmailKind.REQUEST_REMINDERS,
    Kind.CHECKIN_UPCOMING: EmailKind.CHECKIN_UPCOMING,
    Kind.CHECKIN_OVERDUE: EmailKind.CHECKIN_OVERDUE,
    Kind.AGREEMENT_UNSIGNED: EmailKind.AGREEMENT_UNSIGNED,
    Kind.CALENDAR: EmailKind.CALENDAR,
    Kind.PROGRAM_DEADLINE: EmailKind.PROGRAM_DEADLINE,
    Kind.DIGEST: EmailKind.DIGEST,
}
# The order of items in an email, most time-critical first (it also names the subject).
PRIORITY: dict[str, int] = {
    kind: rank
    for rank, kind in enumerate(
        [
            Kind.CHECKIN_UPCOMING,
            Kind.REQUEST_EXPIRING,
            Kind.REQUEST_NUDGE,
            Kind.AGREEMENT_UNSIGNED,
            Kind.CHECKIN_OVERDUE,
            Kind.PROGRAM_DEADLINE,
            Kind.CALENDAR,
            Kind.DIGEST,
        ]
    )
}
MENTORSHIP_KINDS = {
    Kind.CHECKIN_OVERDUE,
    Kind.AGREEMENT_UNSIGNED,
    Kind.CALENDAR,
    Kind.PROGRAM_DEADLINE,
}
REQUEST_KINDS = {Kind.REQUEST_NUDGE, Kind.REQUEST_EXPIRING}
SIDES = ("mentee", "mentor")


# ====================================================================================
# 1. The scan
# ====================================================================================


@dataclass
class ScanResult:
    inserted: dict[str, int] = field(default_factory=dict)
    user_ids: list[int] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.inserted.values())


def reminders_scan(*, now: dt.datetime | None = None, enqueue: bool = True) -> ScanResult:
    """Write every reminder due at ``now`` to the ledger and queue their delivery.

    Idempotent: a reminder already in the ledger is not written again, and a person
    already queued is not queued again until ``REQUEUE_AFTER`` has passed.
    """
    now = now or timezone.now()
    result = ScanResult()
    queued: set[int] = set()
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # These statements run once and briefly: compiling them costs more than it saves.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL jit = off")
        for kind, rows in _due(now):
            inserted = _insert(rows, kind, now)
            result.inserted[kind] = result.inserted.get(kind, 0) + len(inserted)
            queued.update(inserted)
        queued.update(_mark_queued(now))  # deferred, retried or lost earlier: due again
        result.user_ids = sorted(queued)
        if enqueue and result.user_ids:
            user_ids = result.user_ids
            transaction.on_commit(lambda: _enqueue(user_ids))
    return result


def _enqueue(user_ids: Sequence[int]) -> None:
    from .tasks import deliver_reminders

    for start in range(0, len(user_ids), USERS_PER_TASK):
        deliver_reminders.delay(list(user_ids[start : start + USERS_PER_TASK]))


def _live_pairs(prefix: str = "") -> Q:
    """Active (not paused, not ended) mentorships whose two people are still active."""
    return Q(
        **{
            f"{prefix}status": Mentorship.Status.ACTIVE,
            f"{prefix}mentee__is_active": True,
            f"{prefix}mentor__is_active": True,
        }
    )


def _at(value: Any) -> ExpressionWrapper:
    return ExpressionWrapper(value, output_field=DateTimeField())


def _due(now: dt.datetime) -> Iterable[tuple[str, QuerySet[Any]]]:
    """(kind, queryset) pairs; each queryset annotates r_user, r_target, r_period, r_due."""
    # Agreements waiting 7 days for a side's signature; a new version restarts the clock.
    agreements = Agreement.objects.filter(
        _live_pairs("mentorship__"), drafted_at__lte=now - AGREEMENT_WAIT
    ).order_by()
    for side in SIDES:
        yield (
            Kind.AGREEMENT_UNSIGNED,
            agreements.filter(**{f"{side}_signed_at__isnull": True}).annotate(
                r_user=F(f"mentorship__{side}_id"),
                r_target=F("mentorship_id"),
                r_period=F("version"),
                r_due=_at(F("drafted_at") + Value(AGREEMENT_WAIT)),
            ),
        )

    # Upcoming check-ins, each person with their own lead time (default 2 days). A
    # check-in booked inside the lead time already announced itself by email.
    upcoming = CheckIn.objects.filter(
        _live_pairs("mentorship__"),
        status=CheckIn.Status.SCHEDULED,
        scheduled_at__gt=now,
        scheduled_at__lte=now + MAX_LEAD,
    ).order_by()
    for side in SIDES:
        lead = Coalesce(
            F(f"mentorship__{side}__notification_settings__checkin_lead"),
            Value(NotificationSettings.DEFAULT_LEAD, output_field=DurationField()),
        )
        yield (
            Kind.CHECKIN_UPCOMING,
            upcoming.annotate(r_due=_at(F("scheduled_at") - lead))
            .filter(r_due__lte=now, created_at__lte=F("r_due"))
            .annotate(
                r_user=F(f"mentorship__{side}_id"),
                r_target=F("pk"),
                r_period=F("sequence"),
            ),
        )

    # Overdue: nothing logged within cadence + grace since the last logged check-in
    # (or since both signed), and nothing booked. Each overdue spell is reminded once:
    # its window is the last logged check-in.
    done = CheckIn.objects.filter(
        mentorship=OuterRef("pk"), status=CheckIn.Status.COMPLETED
    ).order_by("-scheduled_at", "-pk")
    booked = CheckIn.objects.filter(
        mentorship=OuterRef("pk"), status=CheckIn.Status.SCHEDULED, scheduled_at__gt=now
    )
    since = Coalesce(
        Subquery(done.values("scheduled_at")[:1]),
        Greatest("agreement__mentee_signed_at", "agreement__mentor_signed_at"),
    )
    overdue_at = Case(
        *[
            When(
                agreement__cadence=cadence,
                then=_at(since + Value(dt.timedelta(days=days + GRACE_DAYS[cadence]))),
            )
            for cadence, days in CADENCE_DAYS.items()
        ],
        output_field=DateTimeField(),
    )
    overdue = (
        Mentorship.objects.filter(
            _live_pairs(),
            agreement__mentee_signed_at__isnull=False,
            agreement__mentor_signed_at__isnull=False,
        )
        .order_by()
        .annotate(r_due=overdue_at)
        .filter(r_due__lte=now)
        .exclude(Exists(booked))
        .annotate(
            r_target=F("pk"),
            r_period=Coalesce(Subquery(done.values("pk")[:1]), Value(0)),
        )
    )
    for side in SIDES:
        yield Kind.CHECKIN_OVERDUE, overdue.annotate(r_user=F(f"{side}_id"))

    # Requests still waiting for the mentor.
    waiting = MentorRequest.objects.filter(
        status=MentorRequest.Status.PENDING,
        sent_at__isnull=False,
        expires_at__gt=now,
        mentor__is_active=True,
    ).order_by()
    for period, after in NUDGE_AFTER.items():
        yield (
            Kind.REQUEST_NUDGE,
            waiting.filter(sent_at__lte=now - after).annotate(
                r_user=F("mentor_id"),
                r_target=F("pk"),
                r_period=Value(period, output_field=IntegerField()),
                r_due=_at(F("sent_at") + Value(after)),
            ),
        )
    yield (
        Kind.REQUEST_EXPIRING,
        waiting.filter(expires_at__lte=now + EXPIRY_WARNING).annotate(
            r_user=F("mentor_id"),
            r_target=F("pk"),
            r_period=Value(EXPIRING_PERIOD, output_field=IntegerField()),
            r_due=_at(F("expires_at") - Value(EXPIRY_WARNING)),
        ),
    )

    # Academic calendar and program deadlines. Schools share most dates (the US
    # defaults), so dates due the same day for the same stages are grouped across
    # schools: one statement per group and side, not per school and date.
    today = now.date()
    groups: dict[tuple[str, dt.date, tuple[int, ...], int], dict[int, int]] = {}
    for date in AcademicDate.objects.filter(
        active=True, date__gt=today, date__lte=today + CALENDAR_HORIZON
    ).order_by("pk"):
        starts = date.date - dt.timedelta(days=date.lead_days)
        if starts > today:
            continue
        kind: str = (
            Kind.PROGRAM_DEADLINE if date.category == date.Category.PROGRAM else Kind.CALENDAR
        )
        copy = 0  # a school with two such dates the same day needs a second group
        while date.institution_id in groups.get((kind, starts, tuple(date.stages), copy), {}):
            copy += 1
        groups.setdefault((kind, starts, tuple(date.stages), copy), {})[date.institution_id] = (
            date.pk
        )
    for (date_kind, starts, stages, _copy), date_of_school in groups.items():
        school = "mentee__profile__institution_id"
        pairs = Mentorship.objects.filter(
            _live_pairs(), **{f"{school}__in": list(date_of_school)}
        ).order_by()
        if stages:
            pairs = pairs.filter(mentee__profile__stage__in=stages)
        date_id = Case(
            *[When(**{school: i}, then=Value(pk)) for i, pk in date_of_school.items()],
            output_field=IntegerField(),
        )
        due_at = dt.datetime.combine(starts, dt.time(0), tzinfo=dt.UTC)
        for side in SIDES:
            yield (
                date_kind,
                pairs.annotate(
                    r_user=F(f"{side}_id"),
                    r_target=F("pk"),
                    r_period=date_id,
                    r_due=Value(due_at, output_field=DateTimeField()),
                ),
            )

    # The monthly digest for those who asked for it, due at midnight on the 1st in each
    # reader's time zone: one statement per time zone readers live in, and none after
    # the first week (switched on mid-month, the first digest comes on the next 1st).
    if now.day <= DIGEST_CATCH_UP_DAYS + 1:  # no time zone is still in the first week
        readers = NotificationSettings.objects.filter(
            delivery__digest=Delivery.EMAIL, user__is_active=True, user__profile__isnull=False
        ).order_by()
        zones = readers.values_list("user__profile__timezone", flat=True).distinct()
        for tz_name in zones:
            local = now.astimezone(zone(tz_name))
            if local.day > DIGEST_CATCH_UP_DAYS:
                continue
            first = dt.datetime.combine(local.date().replace(day=1), dt.time(0), local.tzinfo)
            yield (
                Kind.DIGEST,
                readers.filter(user__profile__timezone=tz_name).annotate(
                    r_user=F("user_id"),
                    r_target=Value(0, output_field=IntegerField()),
                    r_period=Value(local.year * 100 + local.month, output_field=IntegerField()),
                    r_due=Value(first, output_field=DateTimeField()),
                ),
            )


def _insert(rows: QuerySet[Any], kind: str, now: dt.datetime) -> list[int]:
    """``INSERT INTO ledger SELECT <rows> ON CONFLICT DO NOTHING``: one statement, any size.

    New rows are due now, so they are written already marked queued; the statement
    returns the person of each new row (rows already in the ledger return nothing).
    """
    inner, params = rows.values("r_user", "r_target", "r_period", "r_due").query.sql_with_params()
    quote = connection.ops.quote_name
    columns = ", ".join(
        quote(c)
        for c in (
            "user_id", "kind", "target_id", "period", "due_at", "status",
            "attempts", "last_error", "skip_reason", "created_at", "queued_at",
        )
    )  # fmt: skip
    # "WHERE true" keeps SQLite from reading ON CONFLICT as a join constraint. Only
    # quoted identifiers and Django's compiled SQL are formatted in; values are params.
    sql = (
        f"INSERT INTO {quote(Reminder._meta.db_table)} ({columns}) "  # noqa: S608
        f"SELECT s.r_user, %s, s.r_target, s.r_period, s.r_due, %s, 0, '', '', %s, %s "
        f"FROM ({inner}) s WHERE true ON CONFLICT DO NOTHING RETURNING user_id"
    )
    created = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        cursor.execute(sql, [kind, Status.PENDING, created, created, *params])
        return [row[0] for row in cursor.fetchall()]


def _ready(now: dt.datetime) -> Q:
    return Q(status=Status.PENDING, due_at__lte=now) & (
        Q(not_before__isnull=True) | Q(not_before__lte=now)
    )


def _mark_queued(now: dt.datetime) -> list[int]:
    """Stamp ready rows as queued and return their people, in one statement."""
    quote = connection.ops.quote_name
    adapt = connection.ops.adapt_datetimefield_value
    # The table name is quoted; every value is a parameter.
    sql = (
        f"UPDATE {quote(Reminder._meta.db_table)} SET queued_at = %s "  # noqa: S608
        "WHERE status = %s AND due_at <= %s AND (not_before IS NULL OR not_before <= %s) "
        "AND (queued_at IS NULL OR queued_at <= %s) RETURNING user_id"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            [adapt(now), Status.PENDING, adapt(now), adapt(now), adapt(now - REQUEUE_AFTER)],
        )
        return sorted({row[0] for row in cursor.fetchall()})


# ====================================================================================
# 2. Delivery
# ====================================================================================


@dataclass
class Item:
    """One reminder as the person reads it, in the email and in the app."""

    reminder: Reminder
    subject: str
    message: str
    url: str  # a path on this site
    detail: str = ""
    ics: bytes | None = None

    @property
    def email_kind(self) -> str:
        return EMAIL_KIND[Kind(self.reminder.kind)]


def quiet_until(now: dt.datetime, prefs: NotificationSettings, tz: zoneinfo.ZoneInfo) -> Any:
    """The end of the person's quiet hours if ``now`` falls inside them, else None."""
    start, end = prefs.quiet_start, prefs.quiet_end
    if start == end:
        return None
    local = now.astimezone(tz)
    moment = local.time().replace(tzinfo=None)
    if start < end:  # e.g. 13:00-14:00 within one day
        inside = start <= moment < end
        end_day = local.date()
    else:  # e.g. 21:00-08:00 across midnight
        inside = moment >= start or moment < end
        end_day = local.date() + dt.timedelta(days=1) if moment >= start else local.date()
    if not inside:
        return None
    return dt.datetime.combine(end_day, end, tzinfo=tz).astimezone(dt.UTC)


def next_send_time(
    now: dt.datetime, prefs: NotificationSettings, tz: zoneinfo.ZoneInfo, *, sent_today: bool
) -> dt.datetime | None:
    """When a reminder email may go out: None for now, else the first allowed moment."""
    when = now
    if sent_today:
        tomorrow = now.astimezone(tz).date() + dt.timedelta(days=1)
        when = dt.datetime.combine(tomorrow, dt.time(0), tzinfo=tz).astimezone(dt.UTC)
    quiet = quiet_until(when, prefs, tz)
    if quiet is not None:
        when = quiet
    return None if when == now else when


def reminders_deliver(*, user_id: int, now: dt.datetime | None = None) -> str:
    """Deliver one person's due reminders: at most one email. Returns what happened."""
    now = now or timezone.now()
    try:
        with transaction.atomic():
            return _deliver(user_id, now)
    except Exception as exc:  # SMTP, provider or rendering: recorded, retried, then failed
        logger.exception("Reminder delivery to user %s failed", user_id)
        return _attempt_failed(user_id, now, exc)


def _close(rows: Iterable[Reminder], status: str, now: dt.datetime, reason: str = "") -> None:
    ids = [row.pk for row in rows]
    if ids:
        Reminder.objects.filter(pk__in=ids).update(
            status=status, done_at=now, skip_reason=reason[:100], queued_at=None
        )


# Namespace of the PostgreSQL advisory locks that make one delivery per person at a time.
DELIVERY_LOCK = 7_2026


def _deliver(user_id: int, now: dt.datetime) -> str:
    if connection.vendor == "postgresql":
        # One delivery per person at a time, so one of them claims all the person's rows
        # (row locks alone are taken one by one and could split them between two emails).
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", [DELIVERY_LOCK, user_id])
            if not cursor.fetchone()[0]:
                return "busy"
    rows = list(
        Reminder.objects.select_for_update(skip_locked=True)
        .filter(_ready(now), user_id=user_id)
        .order_by("due_at", "pk")
    )
    if not rows:
        return "nothing due"
    user = (
        User.objects.select_related("profile", "notification_settings").filter(pk=user_id).first()
    )
    if user is None or not user.is_active:
        _close(rows, Status.SKIPPED, now, "account inactive")
        return "skipped"
    prefs = settings_of(user)
    tz = user_timezone(user)
    items, stale = _resolve(rows, user, now, tz)
    for row, reason in stale:
        _close([row], Status.SKIPPED, now, reason)

    digest = next((item for item in items if item.reminder.kind == Kind.DIGEST), None)
    if digest is not None and prefs.delivery_of(EmailKind.DIGEST) == Delivery.OFF:
        _close([digest.reminder], Status.SKIPPED, now, "digest switched off")
        digest = None
    to_send: list[Item] = []
    for item in items:
        if item.reminder.kind == Kind.DIGEST:
            continue
        route = prefs.delivery_of(item.email_kind)
        if route == Delivery.OFF:
            _close([item.reminder], Status.SKIPPED, now, "email switched off")
            _notice(item)
        elif route == Delivery.DIGEST:
            Reminder.objects.filter(pk=item.reminder.pk).update(status=Status.HELD, queued_at=None)
            _notice(item)
        else:
            to_send.append(item)
    to_send = sorted(_fold_requests(to_send, now), key=lambda i: PRIORITY[i.reminder.kind])
    if not to_send and digest is None:
        return "nothing to email"

    day = now.astimezone(tz).date()
    sent_today = ReminderEmail.objects.filter(user_id=user_id, day=day).exists()
    later = next_send_time(now, prefs, tz, sent_today=sent_today)
    waiting = [item.reminder.pk for item in to_send] + ([digest.reminder.pk] if digest else [])
    if later is not None:
        Reminder.objects.filter(pk__in=waiting).update(not_before=later, queued_at=None)
        return "deferred"

    held: list[Item] = []
    if digest is not None:
        held = _held_items(user, now, tz)
    subject = _subject(to_send, digest, now, tz)
    host = settings.SITE_URL.split("//")[-1].split("/")[0].split(":")[0] or "medmentor.example"
    message_id = f"<reminders.{user_id}.{day:%Y%m%d}@{host}>"
    try:
        with transaction.atomic():  # the daily cap, guaranteed by a unique constraint
            email = ReminderEmail.objects.create(
                user_id=user_id,
                day=day,
                kind=ReminderEmail.Kind.DIGEST if digest else ReminderEmail.Kind.DAILY,
                subject=subject[:300],
                message_id=message_id,
                sent_at=now,
            )
    except IntegrityError:
        later = next_send_time(now, prefs, tz, sent_today=True)
        Reminder.objects.filter(pk__in=waiting).update(not_before=later, queued_at=None)
        return "deferred"
    carried = waiting + [item.reminder.pk for item in held]
    # The claim: only rows still pending (or held for this digest) change, all or none.
    claimed = Reminder.objects.filter(
        pk__in=carried, status__in=[Status.PENDING, Status.HELD]
    ).update(status=Status.SENT, done_at=now, email=email, queued_at=None, last_error="")
    if claimed != len(carried):
        raise RuntimeError("Reminder rows changed under the lock")  # never expected
    for item in to_send:
        _notice(item)
    _email(user, to_send, held, digest, subject, message_id, now, tz).send()
    return "sent"


def _attempt_failed(user_id: int, now: dt.datetime, exc: BaseException) -> str:
    """Record a failed attempt on the rows it carried: retry later, or fail for good."""
    outcome = "retry"
    with transaction.atomic():
        rows = list(
            Reminder.objects.select_for_update(skip_locked=True).filter(
                _ready(now), user_id=user_id
            )
        )
        for row in rows:
            row.attempts += 1
            row.last_error = f"{type(exc).__name__}: {exc}"[:500]
            row.queued_at = None
            if row.attempts >= MAX_ATTEMPTS:
                row.status = Status.FAILED
                row.done_at = now
                outcome = "failed"
            else:
                row.not_before = now + BACKOFF[min(row.attempts, len(BACKOFF)) - 1]
            row.save(
                update_fields=[
                    "attempts", "last_error", "queued_at", "status", "done_at", "not_before",
                ]
            )  # fmt: skip
    return outcome


def _fold_requests(items: list[Item], now: dt.datetime) -> list[Item]:
    """Several reminders about one request in one email: only the latest is worth reading."""
    latest: dict[int, Item] = {}
    others: list[Item] = []
    for item in items:
        if item.reminder.kind not in REQUEST_KINDS:
            others.append(item)
            continue
        current = latest.get(item.reminder.target_id)
        if current is None or item.reminder.period > current.reminder.period:
            if current is not None:
                _close([current.reminder], Status.SKIPPED, now, "superseded")
            latest[item.reminder.target_id] = item
        else:
            _close([item.reminder], Status.SKIPPED, now, "superseded")
    return others + list(latest.values())


def _notice(item: Item) -> None:
    notification_create(
        user_id=item.reminder.user_id,
        kind=f"reminder.{item.reminder.kind}",
        message=item.message,
        url=item.url,
    )


# --- What each reminder says -------------------------------------------------------


def _day(day: dt.date) -> str:
    return date_format(day, "D M j")


def _relative(day: dt.date, today: dt.date) -> str:
    days = (day - today).days
    if days <= 0:
        return "today"
    if days == 1:
        return "tomorrow"
    if days < 14:
        return f"in {days} days"
    return f"in {round(days / 7)} weeks"


def _other(mentorship: Mentorship, user_id: int) -> User:
    return mentorship.mentor if user_id == mentorship.mentee_id else mentorship.mentee


def _live(mentorship: Mentorship) -> bool:
    """Reminders are for active pairs of two active people: not paused, ended or left."""
    return (
        mentorship.status == Mentorship.Status.ACTIVE
        and mentorship.mentee.is_active
        and mentorship.mentor.is_active
    )


def _detail_url(mentorship_id: int) -> str:
    return reverse("mentorships:detail", args=[mentorship_id])


def _resolve(
    rows: list[Reminder], user: User, now: dt.datetime, tz: zoneinfo.ZoneInfo
) -> tuple[list[Item], list[tuple[Reminder, str]]]:
    """Turn ledger rows into items, re-checking each against the current state."""
    from .notifications import checkin_ics

    ids: dict[str, set[int]] = defaultdict(set)
    for row in rows:
        ids[row.kind].add(row.target_id)
    mentorship_ids = set().union(*(ids[k] for k in MENTORSHIP_KINDS))
    pairs = Mentorship.objects.select_related(
        "mentee__profile", "mentor__profile", "agreement"
    ).in_bulk(mentorship_ids)
    checkins = CheckIn.objects.select_related(
        "mentorship__mentee__profile", "mentorship__mentor__profile"
    ).in_bulk(ids[Kind.CHECKIN_UPCOMING])
    requests = MentorRequest.objects.select_related("mentee__profile").in_bulk(
        set().union(*(ids[k] for k in REQUEST_KINDS))
    )
    date_ids = {r.period for r in rows if r.kind in (Kind.CALENDAR, Kind.PROGRAM_DEADLINE)}
    dates = AcademicDate.objects.in_bulk(date_ids)
    last_done: dict[int, tuple[int, dt.datetime]] = {}
    booked: set[int] = set()
    if ids[Kind.CHECKIN_OVERDUE]:
        for pk, mentorship_id, at in (
            CheckIn.objects.filter(
                mentorship_id__in=ids[Kind.CHECKIN_OVERDUE], status=CheckIn.Status.COMPLETED
            )
            .order_by("scheduled_at", "pk")
            .values_list("pk", "mentorship_id", "scheduled_at")
        ):
            last_done[mentorship_id] = (pk, at)
        booked = set(
            CheckIn.objects.filter(
                mentorship_id__in=ids[Kind.CHECKIN_OVERDUE],
                status=CheckIn.Status.SCHEDULED,
                scheduled_at__gt=now,
            ).values_list("mentorship_id", flat=True)
        )

    items: list[Item] = []
    stale: list[tuple[Reminder, str]] = []
    today = now.astimezone(tz).date()
    for row in rows:
        kind = row.kind
        if kind == Kind.DIGEST:
            items.append(Item(row, "", "Your monthly mentoring digest.", reverse("home")))
            continue
        if kind == Kind.CHECKIN_UPCOMING:
            checkin = checkins.get(row.target_id)
            if (
                checkin is None
                or checkin.status != CheckIn.Status.SCHEDULED
                or checkin.sequence != row.period
                or checkin.scheduled_at <= now
                or not _live(checkin.mentorship)
            ):
                stale.append((row, "check-in moved, cancelled or over"))
                continue
            other = _other(checkin.mentorship, row.user_id)
            when = local_time(checkin.scheduled_at, tz)
            items.append(
                Item(
                    row,
                    subject=f"Check-in with {other.display_name}: {when}",
                    message=f"Coming up: your check-in with {other.display_name} on {when}.",
                    url=_detail_url(checkin.mentorship_id),
                    detail=(
                        f"Agenda: {checkin.agenda}"
                        if checkin.agenda
                        else "No agenda yet: two or three points make the time count."
                    ),
                    ics=checkin_ics(checkin),
                )
            )
            continue
        if kind in REQUEST_KINDS:
            request = requests.get(row.target_id)
            if (
                request is None
                or request.status != MentorRequest.Status.PENDING
                or request.expires_at is None
                or request.expires_at <= now
            ):
                stale.append((row, "request answered or closed"))
                continue
            mentee = request.mentee.display_name
            deadline = _day(request.expires_at.astimezone(tz).date())
            if kind == Kind.REQUEST_EXPIRING:
                subject = f"Last days to answer {mentee}"
                message = (
                    f"Last days to answer {mentee}: the request closes on {deadline}. "
                    "A short “no, but try…” helps more than silence."
                )
            else:
                subject = f"{mentee} is waiting for your answer"
                message = f"{mentee} is still waiting for your answer (until {deadline})."
            items.append(
                Item(
                    row,
                    subject,
                    message,
                    reverse("matching:inbox") + f"#request-{request.pk}",
                    detail=f"“{request.expectations}”" if request.expectations else "",
                )
            )
            continue
        mentorship = pairs.get(row.target_id)
        if mentorship is None or not _live(mentorship):
            stale.append((row, "mentorship paused or ended"))
            continue
        other = _other(mentorship, row.user_id)
        side = "mentee" if row.user_id == mentorship.mentee_id else "mentor"
        if kind == Kind.AGREEMENT_UNSIGNED:
            agreement = getattr(mentorship, "agreement", None)
            if agreement is None or agreement.version != row.period:
                stale.append((row, "agreement changed"))
                continue
            if agreement.is_signed_by(side):
                stale.append((row, "already signed"))
                continue
            items.append(
                Item(
                    row,
                    f"Your agreement with {other.display_name} is waiting for you",
                    f"Your mentoring agreement with {other.display_name} has waited for your "
                    f"signature since {_day(agreement.drafted_at.astimezone(tz).date())}. "
                    "Read it, change what you need, and sign.",
                    reverse("mentorships:agreement", args=[mentorship.pk]),
                )
            )
        elif kind == Kind.CHECKIN_OVERDUE:
            last = last_done.get(mentorship.pk)
            if (last[0] if last else 0) != row.period or mentorship.pk in booked:
                stale.append((row, "a check-in was logged or booked"))
                continue
            agreement = mentorship.agreement
            cadence = agreement.get_cadence_display().lower()
            if last is None:
                message = (
                    f"You and {other.display_name} have not had a check-in yet; you agreed "
                    f"to meet {cadence}. Pick a time for the first one."
                )
            else:
                weeks = max(1, (now - last[1]).days // 7)
                message = (
                    f"It has been {weeks} week{'s' if weeks != 1 else ''} since your last "
                    f"check-in with {other.display_name}; you agreed to meet {cadence}. "
                    "Pick a time for the next one."
                )
            items.append(
                Item(
                    row,
                    f"Time for a check-in with {other.display_name}",
                    message,
                    _detail_url(mentorship.pk),
                )
            )
        else:  # calendar and program deadlines
            date = dates.get(row.period)
            mentee_stage = mentorship.mentee.profile.stage
            if (
                date is None
                or not date.active
                or date.date < today
                or (date.stages and mentee_stage not in date.stages)
            ):
                stale.append((row, "date moved, passed or no longer for this stage"))
                continue
            when = f"{date.title} {_relative(date.date, today)} ({_day(date.date)})"
            if side == "mentor":
                stage = Stage(mentee_stage).label if mentee_stage is not None else ""
                about = f" For your mentee {other.display_name}" + (f" ({stage})" if stage else "")
                message = f"{when}.{about}: {date.prompt}"
            else:
                message = f"{when}: {date.prompt} Talk it over with {other.display_name}."
            items.append(Item(row, when, message, _detail_url(mentorship.pk)))
    return items, stale


def _held_items(user: User, now: dt.datetime, tz: zoneinfo.ZoneInfo) -> list[Item]:
    """Reminders kept for the digest that are still worth reading; the rest are dropped."""
    rows = list(
        Reminder.objects.select_for_update()
        .filter(user=user, status=Status.HELD)
        .order_by("due_at", "pk")
    )
    items, stale = _resolve(rows, user, now, tz)
    for row, reason in stale:
        _close([row], Status.SKIPPED, now, reason)
    return items


def _subject(
    items: list[Item], digest: Item | None, now: dt.datetime, tz: zoneinfo.ZoneInfo
) -> str:
    if digest is not None:
        return f"Your {now.astimezone(tz):%B} mentoring digest"
    if len(items) == 1:
        return items[0].subject
    return f"{items[0].subject}, and {len(items) - 1} more reminder{'s' if len(items) > 2 else ''}"


def _digest_summary(user: User, now: dt.datetime, tz: zoneinfo.ZoneInfo) -> dict[str, Any]:
    """What the person's month looked like and what comes next, for the digest."""
    month_ago = now - dt.timedelta(days=30)
    pairs = list(
        Mentorship.objects.filter(Q(mentee=user) | Q(mentor=user), status__in=Mentorship.LIVE)
        .select_related("mentee", "mentor")
        .order_by("started_at")
    )
    pair_ids = [p.pk for p in pairs]
    done = CheckIn.objects.filter(
        mentorship_id__in=pair_ids, status=CheckIn.Status.COMPLETED, scheduled_at__gte=month_ago
    ).count()
    upcoming = list(
        CheckIn.objects.filter(
            mentorship_id__in=pair_ids,
            status=CheckIn.Status.SCHEDULED,
            scheduled_at__gt=now,
            scheduled_at__lte=now + dt.timedelta(days=31),
        )
        .select_related("mentorship__mentee", "mentorship__mentor")
        .order_by("scheduled_at")
    )
    profile = getattr(user, "profile", None)
    dates: list[AcademicDate] = []
    if profile is not None and profile.institution_id:
        today = now.astimezone(tz).date()
        dates = [
            d
            for d in AcademicDate.objects.filter(
                institution_id=profile.institution_id,
                date__gt=today,
                date__lte=today + dt.timedelta(days=62),
            )
            if d.active and (not d.stages or profile.stage in d.stages or user.can_mentor)
        ]
    return {
        "pairs": [
            {"other": _other(p, user.pk).display_name, "url": _detail_url(p.pk)} for p in pairs
        ],
        "checkins_done": done,
        "upcoming": [
            {
                "other": _other(c.mentorship, user.pk).display_name,
                "when": local_time(c.scheduled_at, tz),
            }
            for c in upcoming
        ],
        "dates": [{"title": d.title, "day": _day(d.date)} for d in dates],
    }


def _email(
    user: User,
    items: list[Item],
    held: list[Item],
    digest: Item | None,
    subject: str,
    message_id: str,
    now: dt.datetime,
    tz: zoneinfo.ZoneInfo,
) -> Any:
    site = settings.SITE_URL
    kinds = {item.email_kind for item in items + held}
    if digest is not None:
        kinds.add(EmailKind.DIGEST)
    context = {
        "recipient": user,
        "items": [{"message": i.message, "detail": i.detail, "url": site + i.url} for i in items],
        "held": [{"message": i.message, "url": site + i.url} for i in held],
        "digest": _digest_summary(user, now, tz) if digest is not None else None,
        "site_url": site,
    }
    message = compose(
        user=user,
        kinds=sorted(kinds),
        subject=subject,
        template="emails/reminders",
        context=context,
        headers={"Message-ID": message_id},
    )
    for item in items:
        if item.ics is not None:
            message.attach(f"checkin-{item.reminder.target_id}.ics", item.ics, "text/calendar")
    return message
