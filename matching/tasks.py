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


@shared_task(
    autoretry_for=(SMTPException, ConnectionError, TimeoutError),
    retry_backoff=30,
    retry_backoff_max=600,
    max_retries=5,
)
def send_report_alert(report_id: int) -> int:
    """Email staff that a report waits for review (the id only; see ``safety``)."""
    from .safety import report_alert_send

    return report_alert_send(report_id=report_id)


# --- Program enrolment: CSV imports (the work is in ``imports``) ---------------------------


@shared_task
def check_import(job_id: int) -> str | None:
    """Validate an uploaded CSV; writes only the job (problems, preview)."""
    from . import imports

    job = imports.import_check(job_id=job_id)
    return job.status if job else None


@shared_task(soft_time_limit=15 * 60, time_limit=16 * 60)
def run_import(job_id: int) -> str | None:
    """Import a confirmed CSV in one transaction; a second delivery finds it done."""
    from . import imports

    job = imports.import_run(job_id=job_id)
    return job.status if job else None


@shared_task(
    autoretry_for=(SMTPException, ConnectionError, TimeoutError),
    retry_backoff=30,
    retry_backoff_max=600,
    max_retries=5,
)
def send_import_welcomes(user_ids: list[int], program_id: int) -> int:
    """Welcome imported people with a link to set their password; each is claimed once,
    so a retry after an SMTP error skips those already sent."""
    from . import imports

    return sum(imports.import_welcome_send(user_id=u, program_id=program_id) for u in user_ids)


# --- Program match runs (the work is in ``runs``) -----------------------------------------


@shared_task
def execute_match_run(run_id: int) -> bool:
    """Compute one queued match run. Claimed with a conditional UPDATE, so a retried or
    redelivered message does nothing twice (see ``runs.run_execute``)."""
    from . import runs  # runs enqueues this task: import at call time

    return runs.run_execute(run_id=run_id)
