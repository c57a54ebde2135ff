import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from accounts.demo import DEMO_LOGINS, DEMO_PASSWORD, seed_demo
from matching.demo import seed_programs
from mentorship.demo import seed_relationships
from mentorship.services import academic_calendars_roll


class Command(BaseCommand):
    help = (
        "Load the demo schools and their mentoring activity (deterministic and idempotent) "
        "and print the demo logins."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=2026)
        parser.add_argument("--quiet", action="store_true", help="Do not print the logins.")

    def handle(self, *args: object, **options: Any) -> None:
        started = time.perf_counter()
        result = seed_demo(seed=options["seed"])
        pairs = seed_relationships(seed=options["seed"])
        academic_calendars_roll()  # each school's US academic calendar (idempotent)
        seed_programs(seed=options["seed"])  # Northlake's MS1 program, enrolled, not yet run
        elapsed = time.perf_counter() - started
        if result.created:
            self.stdout.write(
                f"Demo data: created {result.created} people and {pairs} mentorships "
                f"in {elapsed:.1f} s."
            )
        else:
            self.stdout.write(f"Demo data already present ({result.existing} people).")
        if not options["quiet"]:
            self.stdout.write("")
            self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
            for email, name, _role, what in DEMO_LOGINS:
                self.stdout.write(f"  {email:<32} {name:<16} {what}")
