"""Retention rule: demographics are kept only while an account is in use."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from accounts.privacy import demographics_purge_inactive


class Command(BaseCommand):
    help = (
        "Delete the demographics of accounts that are switched off or have not signed in "
        "for --days days (default 365)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=365)

    def handle(self, *args: Any, days: int, **options: Any) -> None:
        deleted = demographics_purge_inactive(days=days)
        self.stdout.write(f"Deleted the demographics of {deleted} inactive account(s).")
