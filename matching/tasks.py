"""Thin Celery tasks for the matching domain."""

from __future__ import annotations

from smtplib import SMTPException

from celery import shared_task
from django.db import transaction

from . import notifications, services
from .models import MentorRequest


@shared_task
def expire_requests() -> int:
    """Expire unanswered requests and pass ranked ones on (idempotent; run by beat)."""
    return services.requests_expire_due()


@shared_task(
    autoretry_for=(SMTPException, ConnectionError, TimeoutError),
    retry_backoff=30,
    retry_backoff_max=600,
    max_retries=5,
)
def send_request_event(request_id: int, event: str) -> bool:
    return notifications.request_event_send(request_id=request_id, event=event)


def notify_after_commit(request: MentorRequest, event: str) -> None:
    """Queue the email only once the change it describes is committed."""
    request_id = request.pk
    transaction.on_commit(lambda: send_request_event.delay(request_id, event))
