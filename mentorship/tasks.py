"""Thin Celery tasks for mentorships: ids in, a service does the work."""

from __future__ import annotations

from smtplib import SMTPException

from celery import shared_task

from . import notifications


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
