"""A database and a Celery broker of their own for the ``bench_*`` management commands.

A benchmark never touches the configured database or broker: it creates a fresh
database beside the configured one with Django's test-database machinery (on
PostgreSQL ``<name>_bench`` on the same server, on SQLite a file in a new temporary
directory), migrates it (so the taxonomy tables are filled as in production), and
drops it at the end. Tasks are published to a broker no worker reads, then drained
and counted by the command: the configured broker's workers would act on the
development database.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from queue import Empty
from typing import Any

from django.core.management.base import CommandError
from django.db import connection

from mentorship.celery import app as celery_app


@contextmanager
def throwaway_database(
    *, prefix: str, keep: bool, write: Callable[[str], None], suffix: str = "bench"
) -> Iterator[str]:
    """Connect to a new, migrated database for the block; yields its name.

    ``<name>_<suffix>`` on PostgreSQL (the load test uses its own suffix, so it can run
    beside a benchmark). Dropped afterwards (and the connection pointed back at the
    configured database) unless ``keep``.
    """
    old_name = connection.settings_dict["NAME"]
    test_settings = connection.settings_dict.setdefault("TEST", {})
    old_test_name = test_settings.get("NAME")
    tmp_dir: Path | None = None
    if connection.vendor == "sqlite":
        tmp_dir = Path(tempfile.mkdtemp(prefix=prefix))
        bench_name = str(tmp_dir / "db.sqlite3")
    else:
        bench_name = f"{old_name}_{suffix}"
    connection.close()
    test_settings["NAME"] = bench_name
    try:
        started = time.perf_counter()
        connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
        if connection.settings_dict["NAME"] != bench_name or bench_name == old_name:
            raise CommandError(f"Refusing to run: connected to {connection.settings_dict['NAME']}")
        write(
            f"Throw-away database {bench_name} ({connection.vendor}) created and migrated "
            f"in {time.perf_counter() - started:.1f} s"
        )
        try:
            yield bench_name
        finally:
            if keep:
                write(f"Kept the throw-away database: {bench_name}")
            else:
                connection.close()
                connection.creation.destroy_test_db(old_name, verbosity=0)
                if tmp_dir is not None:
                    shutil.rmtree(tmp_dir, ignore_errors=True)
    finally:
        # Under pytest, the test run's own test database (TEST NAME) must stay what it was.
        test_settings["NAME"] = old_test_name


@contextmanager
def throwaway_broker(kind: str = "memory", *, prefix: str) -> Iterator[str]:
    """Publish tasks to a broker no worker reads, never eagerly; yields its description.

    ``kind`` is "memory" (kombu's in-memory transport) or "sqlite" (the SQLAlchemy
    transport of ``make run`` on a temporary file). The Celery app's configuration is
    restored afterwards.
    """
    directory = Path(tempfile.mkdtemp(prefix=prefix))
    # Only what was set on the app itself: the rest is read live from Django's settings.
    changes = celery_app.conf.changes
    assert changes is not None  # reading app.conf has loaded the configuration
    saved = dict(changes)
    try:
        url = "memory://localhost/" if kind == "memory" else f"sqla+sqlite:///{directory}/broker.db"
        _forget_connections()
        celery_app.conf.update(broker_url=url, broker_transport_options={}, task_always_eager=False)
        # Where .delay() really publishes: the producer pool's connection.
        with celery_app.producer_or_acquire() as producer:
            uri = producer.connection.as_uri()
        if not (uri.startswith("memory://") or str(directory) in uri):
            raise CommandError(f"Refusing to run: the broker is {uri}")
        yield "kombu's in-memory transport" if kind == "memory" else f"a throw-away {url}"
    finally:
        _forget_connections()  # before their directory goes
        changes.clear()
        changes.update(saved)
        shutil.rmtree(directory, ignore_errors=True)


def _forget_connections() -> None:
    """Drop the app's broker connection and producer pools, so the next task is published
    to the broker configured now: what Celery itself does after a fork.

    Not ``app.close()``: it keeps the producer pool, bound to the broker it was made for
    (in a test run, eager tasks have made it for the configured broker), and it
    deregisters the app, so task modules imported later (``mentorship.tasks`` on first
    use) would no longer register their tasks on it.
    """
    celery_app._pool = None  # type: ignore[attr-defined]  # not in the stubs
    amqp = celery_app.__dict__.get("amqp")
    if amqp is not None:
        amqp._producer_pool = None


def drain_tasks() -> list[tuple[str, list[Any], dict[str, Any]]]:
    """(task name, args, kwargs) of every task published to the throw-away broker, oldest
    first; the queue is left empty."""
    tasks = []
    with celery_app.connection_for_write() as conn:
        queue = conn.SimpleQueue(celery_app.conf.task_default_queue, no_ack=True)
        try:
            while True:
                try:
                    message = queue.get_nowait()
                except Empty:
                    break
                args, kwargs, _embed = message.payload
                tasks.append((str(message.headers.get("task")), list(args), dict(kwargs)))
        finally:
            queue.close()
    return tasks
