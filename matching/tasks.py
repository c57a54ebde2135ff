"""Thin Celery tasks for the matching domain."""

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task
def expire_requests() -> int:
    """Expire unanswered requests and pass ranked ones on (idempotent; run by beat)."""
    return services.requests_expire_due()
