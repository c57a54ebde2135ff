"""Thin Celery tasks for mentorships: ids in, a service does the work."""

from __future__ import annotations

from smtplib import SMTPException

from celery import shared_task

from . import notifications, reminders, services


@shared_task(
    autoretry_for=(SMTPException, ConnectionError, TimeoutError),
    retry_backoff=30,
    retry_backoff_max=600,
    max_retries=5,
)
def send_mentorship_event(
    mentorship_id: int, recipient_id: int, event: str, ids: dict[str, int] | None = None
) -> bool:
    return notifications.mentorship_event_send(
        mentorship_id=mentorship_id,
        recipient_id=recipient_id,
        event=event,
        checkin_id=(ids or {}).get("checkin"),
    )


@shared_task
def scan_reminders() -> int:
    """Write what fell due to the ledger and queue deliveries (run by beat)."""
    return reminders.reminders_scan().total


@shared_task
def deliver_reminders(user_ids: list[int]) -> dict[str, int]:
    """Deliver the due reminders of a batch of people: at most one email each.

    Failures are recorded on the ledger rows and retried by later scans with
    backoff, so this task itself never retries (a retry would race the scan).
    """
    outcomes: dict[str, int] = {}
    for user_id in user_ids:
        outcome = reminders.reminders_deliver(user_id=user_id)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes


@shared_task
def roll_academic_calendars() -> int:
    """Keep every institution's academic calendar a year ahead (run by beat)."""
    return services.academic_calendars_roll()
