"""The load-test school on its own, kept for a look: ``manage.py seed_load --users 10000``.

Never the configured database: it makes the throw-away load database (``<name>_load``
beside DATABASE_URL's, else a temporary SQLite file), fills it and keeps it, printing
the DATABASE_URL that reaches it.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from mentorship.loadworld import role_counts, seed_load
from mentorship.management.commands.loadtest import load_database


class Command(BaseCommand):
    help = "A kept throw-away database with the demo school copied to --users people."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--users", type=int, default=10_000)
        parser.add_argument("--seed", type=int, default=2026)

    def handle(self, *args: object, **options: Any) -> None:
        with load_database(keep=True, write=self.stdout.write):
            world = seed_load(users=options["users"], seed=options["seed"])
            self.stdout.write(
                f"{world.users} people ({world.created} copied) in {world.seconds:.1f} s: "
                + ", ".join(f"{n} {role}" for role, n in role_counts().items() if n)
            )
