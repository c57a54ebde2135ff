"""A real Celery worker on Redis, killed with SIGKILL half-way through 500 reminders.

The work is real and due now: 500 mentors, each with one request a student sent four
days ago and that is still waiting, so the ledger's own scan (run here, in the test
process) writes 500 request nudges for 500 different people, one each, and the daily
cap never interferes. The mentors live in a time zone where it is midday now, so
their default quiet hours (21:00-08:00, no settings row) defer nothing. The test
queues the deliveries as ``reminders._enqueue`` does, in batches, but of 10 people
rather than 100: a batch takes well under the shortened visibility timeout (a task
outliving it would be handed out again while still running: harmless thanks to the
row locks, but not what this test is about), and a batch redelivered after the kill
holds people who were already sent, for whom it must do nothing.

The worker is ``celery -A mentorship worker`` (prefork, 2 processes) in its own process
group, with ``mentorship.settings.worker_test``. It sends through
``tests.support.mail_sink``, which writes each email to a table in the delivery's
transaction: an email counts only if the transaction that marked its ledger rows
committed. Once 100 emails are in, the sink is told to park every send after writing
its row, transaction still open; when both pool processes are parked there (seen in
``pg_stat_activity``), the whole process group gets SIGKILL. That is the worst moment
for a crash, "sent but not committed", hit on purpose rather than by luck:
PostgreSQL rolls both deliveries back and their tasks stay unacknowledged in Redis.
(With real SMTP those two emails would have left: the ledger gives exactly-once up to
that unavoidable window, which delivery keeps as short as it can by sending last.)

A fresh worker must then take the rest of the queue and, after the visibility timeout
(5 s here, with kombu's restore sweep every second), the two interrupted tasks. Once
300 emails are in, it is hit the other way a kernel's OOM killer would: only its two
pool processes get SIGKILL, again parked between send and commit, and its main process
must requeue their tasks at once (``task_reject_on_worker_lost``; without it they are
acknowledged and lost) and fork new pool processes.

The assertions: at the first kill, the ledger, the reminder emails and the sink
agree, strictly between 0 and 500, the sink's sequence shows the two sends that were
rolled back, and Redis holds their unacknowledged tasks; at the end, every reminder is
sent, with exactly 500 emails, 500 distinct Message-IDs to 500 mentors (and four sends
rolled back), one ``ReminderEmail`` and one in-app notice per person, and nothing left
in the queue or unacknowledged.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import pytest
from celery import Celery
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import connection
from django.utils import timezone

from accounts.choices import Role, Stage
from accounts.models import Notification, Profile, User
from matching.models import MentorRequest
from mentorship import reminders
from mentorship.models import Reminder, ReminderEmail
from tests.support import mail_sink

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.celery_worker,
]

PEOPLE = 500
BATCH = 10  # people per delivery task (production: reminders.USERS_PER_TASK)
POOL = 2  # worker processes
KILL_AFTER = 100  # emails committed before the whole worker is killed
KILL_POOL_AFTER = 300  # ... and before the second worker's pool processes are
REDIS_DB = 7
VISIBILITY_TIMEOUT = 5  # seconds
QUEUE = "celery"  # the default queue: a Redis list of that name
UNACKED = "unacked"  # kombu's hash of delivered, unacknowledged messages
CELERY = Path(sys.executable).with_name("celery")


@pytest.fixture
def broker(postgres: None, redis_url: str) -> Iterator[str]:
    """A Redis database of its own, emptied before and after."""
    import redis

    url = urlunsplit(urlsplit(redis_url)._replace(path=f"/{REDIS_DB}"))
    client = redis.Redis.from_url(url)
    client.flushdb()
    try:
        yield url
    finally:
        client.flushdb()
        client.close()


@pytest.fixture
def sink(postgres: None) -> Iterator[None]:
    with connection.cursor() as cursor:
        cursor.execute(mail_sink.DROP_SQL)
        cursor.execute(mail_sink.CREATE_SQL)
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(mail_sink.DROP_SQL)


def _one(sql: str) -> Any:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchone()


def _sent() -> int:
    return _one(f"SELECT count(*) FROM {mail_sink.TABLE}")[0]  # noqa: S608


def _parked() -> int:
    return _one(mail_sink.PARKED_SQL)[0]


def _other_backends() -> int:
    return _one(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
    )[0]


def _midday_zone(now: dt.datetime) -> str:
    """A time-zone name where it is 12:xx now (Etc/GMT-N is N hours *ahead* of UTC)."""
    offset = 12 - now.astimezone(dt.UTC).hour  # -11 .. 12
    return "UTC" if offset == 0 else f"Etc/GMT{-offset:+d}"


def _due_requests(now: dt.datetime) -> list[int]:
    """500 mentors, each with one request sent 4 days ago and still waiting; their ids."""
    password = make_password(None)
    run = uuid.uuid4().hex[:8]

    def people(role: str, name: str) -> list[User]:
        return User.objects.bulk_create(
            User(
                email=f"{name}{i}.{run}@worker.test",
                full_name=f"{name.title()} {i}",
                role=role,
                password=password,
            )
            for i in range(PEOPLE)
        )

    mentors = people(Role.PHYSICIAN, "mentor")
    mentees = people(Role.STUDENT, "student")
    zone = _midday_zone(now)
    Profile.objects.bulk_create(
        [
            Profile(user=m, stage=Stage.ATTENDING_MID, timezone=zone, accepting_mentees=True)
            for m in mentors
        ]
        + [Profile(user=s, stage=Stage.MS2, seeking_mentor=True) for s in mentees]
    )
    sent = now - dt.timedelta(days=4)
    MentorRequest.objects.bulk_create(
        MentorRequest(
            mentee=s,
            mentor=m,
            slot=1,
            status=MentorRequest.Status.PENDING,
            expectations="Monthly calls about a career in medicine.",
            sent_at=sent,
            expires_at=sent + dt.timedelta(days=14),
        )
        for s, m in zip(mentees, mentors, strict=True)
    )
    return [m.pk for m in mentors]


def _test_database_url() -> str:
    db = connection.settings_dict
    auth = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        auth += ":" + quote(db["PASSWORD"], safe="")
    host = db["HOST"] or "localhost"
    port = f":{db['PORT']}" if db["PORT"] else ""
    return f"postgres://{auth}@{host}{port}/{quote(db['NAME'], safe='')}"


def _start_worker(broker_url: str, name: str, log: Path, hold: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "mentorship.settings.worker_test",
        "DATABASE_URL": _test_database_url(),
        "REDIS_URL": broker_url,
        "CELERY_BROKER_URL": broker_url,
        "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT),
        "MAIL_SINK_HOLD_FILE": str(hold),
        "PYTHONPATH": str(settings.BASE_DIR),
    }
    env.pop("CELERY_TASK_ALWAYS_EAGER", None)
    argv = [str(CELERY), "-A", "mentorship", "worker", "--pool=prefork", f"--concurrency={POOL}"]
    argv += ["--loglevel=WARNING", "--without-gossip", "--without-mingle", "--without-heartbeat"]
    argv += ["-n", f"{name}@%h"]
    with log.open("ab") as out:
        return subprocess.Popen(
            argv,
            cwd=settings.BASE_DIR,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the pool dies with it
        )


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (the prefork pool of a worker), from /proc."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process ended meanwhile
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _kill(worker: subprocess.Popen) -> None:
    if worker.poll() is None:
        os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(timeout=10)


def _stop(worker: subprocess.Popen) -> None:
    """Warm shutdown: running tasks finish, prefetched ones go back to Redis."""
    os.killpg(worker.pid, signal.SIGTERM)
    try:
        worker.wait(timeout=30)
    except subprocess.TimeoutExpired:
        pytest.fail("the worker did not stop on SIGTERM")


def _wait_for(condition: Callable[[], bool], what: str, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
    pytest.fail(f"timed out waiting for {what}; worker log:\n{tail}")


def test_a_worker_killed_between_send_and_commit_then_restarted_sends_each_reminder_once(
    broker, sink, tmp_path
):
    import redis

    now = timezone.now()
    mentor_ids = _due_requests(now)
    scan = reminders.reminders_scan(now=now, enqueue=False)
    assert scan.inserted[Reminder.Kind.REQUEST_NUDGE] == PEOPLE
    assert scan.total == PEOPLE
    assert scan.user_ids == sorted(mentor_ids)

    producer = Celery("reminder-worker-test", set_as_current=False)
    producer.config_from_object("django.conf:settings", namespace="CELERY")
    producer.conf.update(broker_url=broker, task_always_eager=False)
    client = redis.Redis.from_url(broker)
    log, hold = tmp_path / "worker.log", tmp_path / "hold"
    workers: list[subprocess.Popen] = []
    try:
        for start in range(0, PEOPLE, BATCH):
            producer.send_task(
                "mentorship.tasks.deliver_reminders", args=[scan.user_ids[start : start + BATCH]]
            )
        assert client.llen(QUEUE) == PEOPLE // BATCH

        # Sessions of earlier tests (a live server's thread, say) may still be open.
        before = _other_backends()
        workers.append(_start_worker(broker, "first", log, hold))
        _wait_for(lambda: _sent() >= KILL_AFTER, f"{KILL_AFTER} emails", log, timeout=60)
        hold.touch()
        _wait_for(lambda: _parked() == POOL, "both sends to park", log, timeout=30)
        _kill(workers[0])
        hold.unlink()
        _wait_for(
            lambda: _other_backends() <= before, "the killed sessions to end", log, timeout=30
        )

        # The cut: what committed agrees, and what was sent but not committed is gone.
        at_kill = _sent()
        assert 0 < at_kill < PEOPLE, "the kill did not land half-way"
        assert Reminder.objects.filter(status=Reminder.Status.SENT).count() == at_kill
        assert Reminder.objects.filter(status=Reminder.Status.PENDING).count() == PEOPLE - at_kill
        assert ReminderEmail.objects.count() == at_kill
        [attempted] = _one(f"SELECT last_value FROM {mail_sink.TABLE}_id_seq")  # noqa: S608
        assert attempted == at_kill + POOL, "the parked sends were not rolled back"
        assert client.hlen(UNACKED) >= POOL, "the interrupted tasks are not awaiting redelivery"

        workers.append(_start_worker(broker, "second", log, hold))
        # The second worker loses its two pool processes, again parked between send
        # and commit; its main process lives on, reports the tasks lost, requeues them
        # (reject_on_worker_lost) and forks new pool processes.
        _wait_for(lambda: _sent() >= KILL_POOL_AFTER, f"{KILL_POOL_AFTER} emails", log, 60)
        hold.touch()
        _wait_for(lambda: _parked() == POOL, "both sends to park", log, timeout=30)
        pool = _children(workers[1].pid)
        assert len(pool) == POOL
        for pid in pool:
            os.kill(pid, signal.SIGKILL)
        hold.unlink()
        assert workers[1].poll() is None, "the main worker process died with its pool"

        _wait_for(
            lambda: not Reminder.objects.exclude(status=Reminder.Status.SENT).exists(),
            "every reminder to be sent",
            log,
            timeout=120,
        )
        # The interrupted tasks may come back after the rest: let them run (they find
        # nothing due) so that anything they sent twice would be counted below.
        _wait_for(
            lambda: client.llen(QUEUE) == 0 and client.hlen(UNACKED) == 0,
            "the redelivered tasks",
            log,
            timeout=60,
        )
        _stop(workers[1])
        assert (client.llen(QUEUE), client.hlen(UNACKED)) == (0, 0)
    finally:
        for worker in workers:
            _kill(worker)
        hold.unlink(missing_ok=True)
        client.close()
        producer.close()

    rows, ids, recipients = _one(
        "SELECT count(*), count(DISTINCT message_id), count(DISTINCT recipient) "  # noqa: S608
        f"FROM {mail_sink.TABLE}"
    )
    assert (rows, ids, recipients) == (PEOPLE, PEOPLE, PEOPLE)
    [attempted] = _one(f"SELECT last_value FROM {mail_sink.TABLE}_id_seq")  # noqa: S608
    assert attempted == PEOPLE + 2 * POOL  # the four sends killed before their commit
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT recipient FROM {mail_sink.TABLE}")  # noqa: S608
        emailed = {row[0] for row in cursor.fetchall()}
    assert emailed == set(User.objects.filter(pk__in=mentor_ids).values_list("email", flat=True))
    assert Reminder.objects.count() == PEOPLE
    assert Reminder.objects.filter(status=Reminder.Status.SENT, attempts=0).count() == PEOPLE
    assert ReminderEmail.objects.count() == PEOPLE
    assert ReminderEmail.objects.values("user").distinct().count() == PEOPLE
    assert Notification.objects.filter(kind="reminder.request_nudge").count() == PEOPLE
    assert Notification.objects.values("user").distinct().count() == PEOPLE
