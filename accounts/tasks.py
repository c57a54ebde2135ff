"""Thin Celery tasks: take ids, call a service."""

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
def send_welcome_email(user_id: int) -> bool:
    return notifications.welcome_email_send(user_id=user_id)
