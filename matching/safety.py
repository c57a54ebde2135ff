"""Safety on requests: reporting a request or a message as inappropriate, blocking its
sender, and staff reviewing the reports.

- Either side of a request may report a message the other wrote; the mentor may also
  report the request itself (what the student wrote). The reported person is never told.
- Blocking (``accounts.models.Block``) declines the blocked person's open request to the
  blocker as an ordinary decline, hides the blocker from their mentor search, refuses
  their new requests and keeps cohort matches from pairing the two.
- Staff resolve a report in the admin: no action, a warning to the sender, or suspending
  the sender's account (signed out everywhere on their next request, tokens revoked).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from accounts.choices import Role
from accounts.models import Block, User
from accounts.services import audit_record, auth_tokens_revoke, notification_create
from mentorship.exceptions import ApplicationError

from .models import MentorRequest, Report, RequestMessage
from .selectors import requests_of_party
from .services import request_close, request_decline, request_send_next, requests_close_all

Status = MentorRequest.Status

ALREADY_REPORTED = "You already reported this. Staff will review it soon."


def party_request(*, user: User, request_id: int, lock: bool = False) -> MentorRequest:
    """A request its student or (once sent) its mentor may act on; 404 for anyone else."""
    rows = requests_of_party(user=user).select_related("mentee", "mentor")
    if lock:
        rows = rows.select_for_update(of=("self",))
    try:
        return rows.get(pk=request_id)
    except MentorRequest.DoesNotExist as exc:
        raise Http404("No such request.") from exc


def other_party(request: MentorRequest, user: User) -> User:
    return request.mentor if request.mentee_id == user.pk else request.mentee


# --- Blocking ----------------------------------------------------------------------------


def _block(blocker: User, blocked: User) -> tuple[Block, bool]:
    """Record the block (idempotent) and close what the blocked person has open with the
    blocker: their request to a blocking mentor is declined like any other ("can't take
    your request") and their ranked list moves on; a blocking student's request to the
    blocked mentor is withdrawn."""
    try:
        with transaction.atomic():
            block, created = Block.objects.get_or_create(blocker=blocker, blocked=blocked)
    except IntegrityError:  # the same block made at the same moment elsewhere
        return Block.objects.get(blocker=blocker, blocked=blocked), False
    now = timezone.now()
    open_rows = MentorRequest.objects.select_for_update().filter(
        Q(mentee=blocked, mentor=blocker) | Q(mentee=blocker, mentor=blocked),
        status__in=MentorRequest.OPEN,
    )
    for request in open_rows:
        if request.status == Status.QUEUED:
            # Not yet with the mentor: it just drops out of the student's list.
            request_close(request, Status.WITHDRAWN, now)
            request.save(update_fields=["status", "slot", "closed_at"])
        elif request.mentee_id == blocker.pk:
            # The student blocked the mentor asked now: their next choice is asked.
            request_close(request, Status.WITHDRAWN, now)
            request.save(update_fields=["status", "slot", "closed_at"])
            request_send_next(closed=request, now=now)
        else:
            request_decline(
                mentor=blocker, request_id=request.pk, reason=MentorRequest.DeclineReason.OTHER
            )
    return block, created


@transaction.atomic
def block_from_request(*, user: User, request_id: int) -> Block:
    """Block the other person on one of your requests."""
    request = party_request(user=user, request_id=request_id, lock=True)
    other = other_party(request, user)
    block, created = _block(user, other)
    if created:
        audit_record(actor=user, action="safety.block", target=block)
    return block


@transaction.atomic
def block_remove(*, user: User, block_id: int) -> None:
    deleted, _ = Block.objects.filter(pk=block_id, blocker=user).delete()
    if not deleted:
        raise Http404("No such block.")
    audit_record(actor=user, action="safety.unblock", detail={"block": block_id})


def blocks_made(*, user: User) -> QuerySet[Block]:
    return Block.objects.filter(blocker=user).select_related("blocked__profile")


# --- Reports -----------------------------------------------------------------------------


def report_create(
    *,
    user: User,
    request_id: int,
    reason: str,
    details: str = "",
    message_id: int | None = None,
    block: bool = False,
) -> Report:
    """Report the request (its mentor only) or a message on it from the other side."""
    errors: dict[str, list[str]] = {}
    if reason not in Report.Reason.values:
        errors["reason"] = ["Choose what was wrong."]
    details = (details or "").strip()
    if len(details) > 2000:
        errors["details"] = ["Keep it under 2,000 characters."]
    if errors:
        raise ApplicationError("Please correct the highlighted fields.", fields=errors)
    with transaction.atomic():
        request = party_request(user=user, request_id=request_id, lock=True)
        other = other_party(request, user)
        message: RequestMessage | None = None
        if message_id is not None:
            message = RequestMessage.objects.filter(pk=message_id, request=request).first()
            if message is None:
                raise ApplicationError(
                    "That message is not on this request.",
                    fields={"message": ["No such message on this request."]},
                )
            if message.author_id != other.pk:
                raise ApplicationError(
                    "You can only report what the other person wrote.",
                    fields={"message": ["This is your own message."]},
                )
        elif request.mentor_id != user.pk:
            raise ApplicationError(
                "Only the mentor can report a request; report one of the mentor's messages.",
                fields={"message": ["Choose the message you are reporting."]},
            )
        try:
            with transaction.atomic():
                report = Report.objects.create(
                    reporter=user, reported=other, request=request, message=message,
                    reason=reason, details=details,
                )  # fmt: skip
        except IntegrityError as exc:
            raise ApplicationError(ALREADY_REPORTED) from exc
        audit_record(actor=user, action="safety.report", target=report, detail={"reason": reason})
        if block:
            made, created = _block(user, other)
            if created:
                audit_record(actor=user, action="safety.block", target=made)
        _alert_staff(report)
    return report


def _alert_staff(report: Report) -> None:
    """An in-app notice for every active staff member now, an email after commit. Neither
    says who reported whom or what was written: that is for the admin to show."""
    from .tasks import send_report_alert

    url = reverse("admin:matching_report_change", args=[report.pk])
    staff = User.objects.filter(is_active=True, is_staff=True).values_list("pk", flat=True)
    for staff_id in staff:
        notification_create(
            user_id=staff_id,
            kind="safety.report",
            message="A new report needs review.",
            url=url,
        )
    report_id = report.pk
    transaction.on_commit(lambda: send_report_alert.delay(report_id))


def report_alert_send(*, report_id: int) -> int:
    """Email active staff that a report waits (ids only in the task, no content)."""
    from django.core.mail import send_mail

    report = Report.objects.filter(pk=report_id, status=Report.Status.OPEN).first()
    if report is None:
        return 0
    recipients = list(
        User.objects.filter(is_active=True, is_staff=True).values_list("email", flat=True)
    )
    if not recipients:
        return 0
    link = settings.SITE_URL + reverse("admin:matching_report_change", args=[report.pk])
    body = (
        f"A request or message was reported as {report.get_reason_display().lower()}.\n\n"
        f"Review it here: {link}\n"
    )
    return send_mail("A report needs review", body, settings.DEFAULT_FROM_EMAIL, recipients)


def reports_made(*, user: User) -> QuerySet[Report]:
    """The person's own reports and how they stand; never anyone else's."""
    return Report.objects.filter(reporter=user).select_related("reported", "request")


WARNING = (
    "Staff reviewed something you wrote on a mentoring request and found it broke the "
    "community guidelines. Please keep requests and messages respectful and professional; "
    "another report may suspend your account."
)


def can_be_suspended(user: User | None) -> bool:
    """Staff accounts are not suspended from a report (another staff member would lock
    them out of reviewing); a deleted one cannot be."""
    return user is not None and not user.is_staff and user.role != Role.STAFF


@transaction.atomic
def report_resolve(*, staff: User, report_id: int, outcome: str, note: str = "") -> Report:
    """Close a report with its outcome. Suspending deactivates the sender's account: their
    sessions end on their next request and their API tokens are revoked."""
    if not (staff.is_active and staff.is_staff):
        raise ApplicationError("Only staff review reports.")
    if outcome not in Report.Outcome.values:
        raise ApplicationError("Choose an outcome.", fields={"outcome": ["Choose an outcome."]})
    report = Report.objects.select_for_update().filter(pk=report_id).first()
    if report is None:
        raise Http404("No such report.")
    if report.status != Report.Status.OPEN:
        raise ApplicationError("This report was already reviewed.")
    reported = report.reported
    if outcome == Report.Outcome.SUSPENDED and not can_be_suspended(reported):
        raise ApplicationError(
            "This account cannot be suspended from a report.",
            fields={"outcome": ["Choose another outcome."]},
        )
    now = timezone.now()
    report.status = Report.Status.RESOLVED
    report.outcome = outcome
    report.staff_note = (note or "").strip()[:2000]
    report.resolved_by = staff
    report.resolved_at = now
    report.save()
    detail: dict[str, Any] = {"outcome": outcome}
    if reported is not None and outcome == Report.Outcome.WARNED:
        notification_create(user_id=reported.pk, kind="safety.warning", message=WARNING)
    if reported is not None and outcome == Report.Outcome.SUSPENDED:
        # Their open requests close as if answered: students move on to their next
        # choice, mentors stop waiting on them.
        requests_close_all(user=reported, now=now)
        reported.is_active = False
        reported.save(update_fields=["is_active"])
        detail["tokens_revoked"] = auth_tokens_revoke(user=reported)
    if report.reporter_id is not None:
        notification_create(
            user_id=report.reporter_id,
            kind="safety.report_reviewed",
            message="Staff reviewed your report. Thank you for telling us.",
            url=reverse("matching:safety"),
        )
    audit_record(actor=staff, action="safety.report_resolve", target=report, detail=detail)
    return report
