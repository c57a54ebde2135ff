"""``make loadtest``: the site under load, against a school of about 10,000 people.

Never the configured database: a throw-away one beside it (``<name>_load`` on the same
PostgreSQL server when DATABASE_URL is set, else a temporary SQLite file), filled with
the demo school copied to ``--users`` people, served by gunicorn on 127.0.0.1 with
DEBUG off, then walked by ``mentorship.loaddriver`` at each ``--concurrency``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from mentorship.benchdb import throwaway_database
from mentorship.loaddriver import Driver, RunResult, table
from mentorship.loadworld import role_counts, seed_load


@contextmanager
def load_database(*, keep: bool, write: Callable[[str], None]) -> Iterator[str]:
    """A throw-away database named ``<name>_load``, so a load test and a benchmark can
    run side by side; yields a DATABASE_URL for it."""
    with throwaway_database(
        prefix="medmentor-load-", keep=keep, write=write, suffix="load"
    ) as name:
        yield _database_url(name)


def _database_url(name: str) -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{name}"
    auth = quote(db["USER"] or "")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"])
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{name}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Command(BaseCommand):
    help = (
        "Load test: a throw-away database with the demo school copied to --users people, "
        "gunicorn on 127.0.0.1, the driver at each --concurrency; prints a Markdown table."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--users", type=int, default=10_000, help="People in the school.")
        parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8])
        parser.add_argument("--seconds", type=float, default=30.0, help="Per concurrency.")
        parser.add_argument("--workers", type=int, default=3, help="gunicorn workers.")
        parser.add_argument("--threads", type=int, default=1, help="Threads per worker.")
        parser.add_argument("--keep", action="store_true", help="Keep the load database.")

    def handle(self, *args: object, **options: Any) -> None:
        write = self.stdout.write
        with load_database(keep=options["keep"], write=write) as database_url:
            world = seed_load(users=options["users"])
            counts = role_counts()
            write(
                f"School: {world.users} people ({world.created} copied) in "
                f"{world.seconds:.1f} s: "
                + ", ".join(f"{n} {role}" for role, n in counts.items() if n)
                + f"; {len(world.mentors)} accepting mentors"
            )
            connection.close()  # the server's workers write to it from now on
            results = self._serve_and_drive(database_url, world, options)
        write("")
        write(table(results))
        failures = [e for r in results for e in r.errors]
        for error in failures[:10]:
            self.stderr.write(error)
        if failures:
            raise CommandError(f"{len(failures)} scenarios failed")

    def _serve_and_drive(self, database_url: str, world: Any, options: Any) -> list[RunResult]:
        tmp = Path(tempfile.mkdtemp(prefix="medmentor-load-server-"))
        try:
            # DEBUG off needs collected static files with their manifest: in a settings
            # module of its own, so var/staticfiles (the developer's) is never written.
            (tmp / "loadtest_settings.py").write_text(
                "from mentorship.settings.local import *  # noqa\n"
                f"STATIC_ROOT = {str(tmp / 'static')!r}\n"
            )
            env = {
                **os.environ,
                "PYTHONPATH": os.pathsep.join([str(tmp), str(settings.BASE_DIR)]),
                "DJANGO_SETTINGS_MODULE": "loadtest_settings",
                "DEBUG": "false",
                "DATABASE_URL": database_url,
                # Every sign-in is a different person, but all from one address.
                "THROTTLE_LOGIN_RATE": "1000000/min",
                "THROTTLE_WRITE_RATE": "1000000/min",
                # Tasks go to a broker no worker reads: never the development worker's.
                "CELERY_BROKER_URL": f"sqla+sqlite:///{tmp / 'broker.sqlite3'}",
                "ALLOWED_HOSTS": "127.0.0.1",
                "LOG_LEVEL": "WARNING",
            }
            python = sys.executable
            subprocess.run(  # noqa: S603 - our own interpreter and arguments
                [python, "manage.py", "collectstatic", "--noinput", "-v", "0"],
                cwd=settings.BASE_DIR,
                env=env,
                check=True,
                timeout=300,
            )
            port = _free_port()
            base_url = f"http://127.0.0.1:{port}"
            gunicorn = Path(python).with_name("gunicorn")
            server = subprocess.Popen(  # noqa: S603
                [
                    str(gunicorn),
                    "mentorship.wsgi:application",
                    f"--bind=127.0.0.1:{port}",
                    f"--workers={options['workers']}",
                    f"--threads={options['threads']}",
                    "--timeout=60",
                    "--log-level=warning",
                ],
                cwd=settings.BASE_DIR,
                env=env,
            )
            self.stdout.write(
                f"gunicorn (pid {server.pid}) on {base_url}: {options['workers']} workers, "
                f"{options['threads']} thread(s) each"
            )
            try:
                self._wait_until_up(base_url, server)
                driver = Driver(
                    base_url=base_url,
                    password=world.password,
                    mentees=world.mentees,
                    mentors=world.mentors,
                )
                results = []
                for users in options["concurrency"]:
                    self.stdout.write(f"{users} concurrent user(s) for {options['seconds']} s…")
                    results.append(driver.run(users=users, seconds=options["seconds"]))
                return results
            finally:
                server.terminate()
                try:
                    server.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    server.kill()
                    server.wait()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def _wait_until_up(self, base_url: str, server: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise CommandError(f"gunicorn exited with {server.returncode}")
            try:
                with urllib.request.urlopen(f"{base_url}/healthz/", timeout=5) as response:  # noqa: S310
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise CommandError("gunicorn did not answer /healthz/ within 60 s")
