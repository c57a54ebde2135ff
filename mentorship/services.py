"""Every write about mentorships."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import Profile, User
from matching.models import MentorRequest
from matching.services import notify, request_close, request_locked

from .exceptions import ApplicationError
from .models import Mentorship


def mentor_place_claim(*, mentor: User) -> None:
    """Take one of the mentor's free places, or fail. Must run inside a transaction.

    A conditional UPDATE decides: under any number of concurrent accepts or
    program publishes, only as many succeed as there are places, and the
    database's check constraint (active <= capacity) backs it.
    """
    claimed = Profile.objects.filter(
        user=mentor, accepting_mentees=True, active_mentees__lt=F("capacity")
    ).update(active_mentees=F("active_mentees") + 1)
    if not claimed:
        raise ApplicationError(
            "You have no free place: raise your capacity in your mentoring settings, "
            "or decline this request."
        )


@transaction.atomic
def request_accept(*, mentor: User, request_id: int) -> Mentorship:
    """Accept a request: claim a place, start the mentorship, tidy the student's batch."""
    request = request_locked(request_id, mentor=mentor)
    now = timezone.now()
    if request.status not in (MentorRequest.Status.PENDING, MentorRequest.Status.INFO_REQUESTED):
        raise ApplicationError("This request is no longer open.")
    if request.expires_at is not None and request.expires_at <= now:
        raise ApplicationError("This request has expired.")
    mentor_place_claim(mentor=mentor)
    try:
        with transaction.atomic():
            mentorship = Mentorship.objects.create(
                mentee_id=request.mentee_id, mentor=mentor, request=request,
                source=Mentorship.Source.REQUEST,
            )  # fmt: skip
    except IntegrityError as exc:
        raise ApplicationError("You already mentor this student.") from exc
    request_close(request, MentorRequest.Status.ACCEPTED, now)
    request.responded_at = now
    request.save(update_fields=["status", "slot", "closed_at", "responded_at"])
    notify(request, "accepted")
    if request.single_mentor:
        for other in MentorRequest.objects.select_for_update().filter(
            batch=request.batch, status__in=MentorRequest.OPEN
        ):
            request_close(other, MentorRequest.Status.WITHDRAWN, now)
            other.save(update_fields=["status", "slot", "closed_at"])
    return mentorship
