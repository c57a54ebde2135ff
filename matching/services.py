"""Every write of the matching domain: requests from students to mentors.

Accepting a request creates a mentorship, so it lives in ``mentorship.services``
(data flows accounts -> matching -> mentorship, never back).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import Profile, User
from accounts.selectors import blocked_between, coordinated_institution_id
from accounts.services import notification_create
from mentorship.exceptions import ApplicationError

from .engine.scoring import DEFAULT_WEIGHTS
from .models import Bookmark, Enrollment, MentorRequest, Program, RequestMessage
from .notifications import request_notice

Status = MentorRequest.Status


ANSWER_GRACE_DAYS = 3


def _expiry_days() -> int:
    return int(getattr(settings, "MENTOR_REQUEST_EXPIRY_DAYS", 14))


def _open_requests(mentee: User) -> QuerySet[MentorRequest]:
    return MentorRequest.objects.filter(mentee=mentee, status__in=MentorRequest.OPEN)


def _send_now(request: MentorRequest, now: dt.datetime) -> None:
    request.status = Status.PENDING
    request.sent_at = now
    request.expires_at = now + dt.timedelta(days=_expiry_days())


def request_send(
    *,
    mentee: User,
    mentors: Sequence[User],
    expectations: str,
    goals: dict[str, int] | None = None,
    offers: str = "",
    cadence: str = MentorRequest.Cadence.MONTHLY,
    meeting_mode: str = "",
    single_mentor: bool = True,
) -> list[MentorRequest]:
    """Ask one mentor, or up to three in ranked order (only the first is sent now).

    The rest wait and pass to the mentor automatically when an earlier one is
    declined or expires.
    """
    errors: dict[str, list[str]] = {}
    if not mentee.can_be_mentee:
        raise ApplicationError("Only students and residents can ask for a mentor.")
    mentors = list(mentors)
    if not 1 <= len(mentors) <= MentorRequest.MAX_OPEN:
        errors["mentors"] = ["Choose one to three mentors, in order of preference."]
    elif len({m.pk for m in mentors}) != len(mentors):
        errors["mentors"] = ["Each mentor can appear only once."]
    if not (expectations or "").strip():
        errors["expectations"] = ["Tell the mentor what you hope for and how often you'd meet."]
    if cadence not in MentorRequest.Cadence.values:
        errors["cadence"] = ["Choose weekly, every 2 weeks, monthly or quarterly."]
    if errors:
        raise ApplicationError("Please correct the highlighted fields.", fields=errors)

    mentee_profile = Profile.objects.get(user=mentee)
    # Either way round: a mentor who blocked the student, or one the student blocked.
    blocked_by = {mentor for _, mentor in blocked_between([mentee.pk], [m.pk for m in mentors])}
    profiles = {
        p.user_id: p for p in Profile.objects.filter(user__in=mentors).select_related("user")
    }
    for mentor in mentors:
        profile = profiles.get(mentor.pk)
        name = mentor.display_name
        if mentor.pk == mentee.pk:
            errors.setdefault("mentors", []).append("You cannot ask yourself to be your mentor.")
        elif mentor.pk in blocked_by:
            errors.setdefault("mentors", []).append(f"{name} cannot take your request.")
        elif profile is None or not mentor.can_mentor or not mentor.is_active:
            errors.setdefault("mentors", []).append(f"{name} is not a mentor.")
        elif not profile.accepting_mentees or profile.active_mentees >= profile.capacity:
            errors.setdefault("mentors", []).append(f"{name} has no free place right now.")
        elif (
            mentee_profile.stage is not None
            and profile.stage is not None
            and profile.stage <= mentee_profile.stage
        ):
            errors.setdefault("mentors", []).append(f"{name} is not farther along than you.")
    if errors:
        raise ApplicationError("Some of these mentors cannot take your request.", fields=errors)

    now = timezone.now()
    try:
        with transaction.atomic():
            # Lock the student's profile: slots are handed out one request at a time.
            Profile.objects.select_for_update().get(user=mentee)
            open_requests = list(_open_requests(mentee))
            already = {r.mentor_id for r in open_requests} & {m.pk for m in mentors}
            if already:
                raise ApplicationError(
                    "You already have an open request with this mentor.",
                    fields={"mentors": ["You already have an open request with this mentor."]},
                )
            free = sorted({1, 2, 3} - {r.slot for r in open_requests if r.slot})
            if len(free) < len(mentors):
                raise ApplicationError(
                    f"You can have at most {MentorRequest.MAX_OPEN} open requests; "
                    f"you have {len(open_requests)}. Withdraw one first.",
                    fields={"mentors": ["Too many open requests."]},
                )
            created = []
            batch = None
            for rank, (mentor, slot) in enumerate(zip(mentors, free, strict=False), start=1):
                request = MentorRequest(
                    mentee=mentee, mentor=mentor, rank=rank, slot=slot,
                    single_mentor=single_mentor, status=Status.QUEUED,
                    goals=goals if goals is not None else dict(mentee_profile.goals),
                    expectations=expectations.strip(), offers=(offers or "").strip(),
                    cadence=cadence, meeting_mode=meeting_mode,
                )  # fmt: skip
                if batch is None:
                    batch = request.batch
                    _send_now(request, now)
                request.batch = batch
                request.save()
                created.append(request)
            notify(created[0], "received")
    except IntegrityError as exc:  # a concurrent identical request won the race
        raise ApplicationError(
            "You already have an open request with this mentor.",
            fields={"mentors": ["You already have an open request with this mentor."]},
        ) from exc
    return created


def notify(
    request: MentorRequest, event: str, *, next_request: MentorRequest | None = None
) -> None:
    """Tell the other side (see ``matching.notifications.EVENTS``).

    The in-app notice is written in the caller's transaction, so a rollback leaves
    none; the email is queued only after commit. ``next_request``: where a decline
    or expiry passed the student's ranked list on to (None: the list ran out).
    """
    # Imported here: tasks import this module for the scans.
    from .tasks import notify_after_commit

    recipient, message, url = request_notice(request, event, next_request=next_request)
    notification_create(user_id=recipient.pk, kind=f"request.{event}", message=message, url=url)
    notify_after_commit(request, event)


def request_close(request: MentorRequest, status: str, now: dt.datetime) -> None:
    """Close an open request: it gives back the student's slot. Caller holds the lock."""
    request.status = status
    request.slot = None
    request.closed_at = now


def _next_queued(closed: MentorRequest) -> MentorRequest | None:
    return (
        MentorRequest.objects.select_for_update(of=("self",))
        .filter(batch=closed.batch, status=Status.QUEUED)
        .select_related("mentor")
        .order_by("rank")
        .first()
    )


def _send_following(following: MentorRequest | None, now: dt.datetime) -> None:
    if following is not None:
        _send_now(following, now)
        following.save(update_fields=["status", "sent_at", "expires_at"])
        notify(following, "received")


def _pass_on(closed: MentorRequest, event: str, now: dt.datetime) -> MentorRequest | None:
    """After a decline or expiry: tell the student, then send the batch's next queued
    request, if any. Caller holds the lock on ``closed``."""
    following = _next_queued(closed)
    # The student hears first, naming the next choice or pointing to fresh recommendations.
    notify(closed, event, next_request=following)
    _send_following(following, now)
    return following


def request_send_next(*, closed: MentorRequest, now: dt.datetime) -> MentorRequest | None:
    """Send the batch's next queued request after the student closed ``closed``
    themselves (nobody needs telling but the next mentor). Caller holds the lock."""
    following = _next_queued(closed)
    _send_following(following, now)
    return following


def request_locked(request_id: int, **scope: Any) -> MentorRequest:
    """The request, row-locked, if it matches ``scope`` (its mentee or mentor); else 404.

    A mentor cannot see a request still queued behind the student's earlier choices,
    so for them it does not exist yet.
    """
    rows = MentorRequest.objects.select_for_update()
    if "mentor" in scope:
        rows = rows.exclude(status=Status.QUEUED)
    try:
        return rows.get(pk=request_id, **scope)
    except MentorRequest.DoesNotExist as exc:
        from django.http import Http404

        raise Http404("No such request.") from exc


@transaction.atomic
def request_withdraw(*, mentee: User, request_id: int) -> MentorRequest:
    """The student takes back a request (and the ones queued after it in the batch)."""
    request = request_locked(request_id, mentee=mentee)
    if not request.is_open:
        raise ApplicationError("This request is already closed.")
    now = timezone.now()
    later = MentorRequest.objects.select_for_update().filter(
        batch=request.batch, status=Status.QUEUED, rank__gt=request.rank
    )
    for other in later:
        request_close(other, Status.WITHDRAWN, now)
        other.save(update_fields=["status", "slot", "closed_at"])
    request_close(request, Status.WITHDRAWN, now)
    request.save(update_fields=["status", "slot", "closed_at"])
    return request


@transaction.atomic
def request_decline(
    *,
    mentor: User,
    request_id: int,
    reason: str,
    note: str = "",
    suggested_mentor: User | None = None,
) -> MentorRequest:
    """Decline with a structured reason; the next ranked request goes out at once."""
    if reason not in MentorRequest.DeclineReason.values:
        raise ApplicationError("Choose a reason.", fields={"reason": ["Choose a reason."]})
    if suggested_mentor is not None and (
        not suggested_mentor.can_mentor or suggested_mentor.pk in (mentor.pk,)
    ):
        raise ApplicationError(
            "Suggest another mentor.", fields={"suggested_mentor": ["Not a mentor."]}
        )
    request = request_locked(request_id, mentor=mentor)
    if request.status not in (Status.PENDING, Status.INFO_REQUESTED):
        raise ApplicationError("This request is no longer waiting for your answer.")
    now = timezone.now()
    request_close(request, Status.DECLINED, now)
    request.responded_at = now
    request.decline_reason = reason
    request.decline_note = (note or "").strip()
    request.suggested_mentor = suggested_mentor
    request.save()
    _pass_on(request, "declined", now)
    return request


@transaction.atomic
def request_ask_info(*, mentor: User, request_id: int, question: str) -> RequestMessage:
    """Instead of a bare yes or no, the mentor asks the student something."""
    if not (question or "").strip():
        raise ApplicationError("Write your question.", fields={"question": ["Required."]})
    request = request_locked(request_id, mentor=mentor)
    if request.status not in (Status.PENDING, Status.INFO_REQUESTED):
        raise ApplicationError("This request is no longer waiting for your answer.")
    if request.expires_at is not None and request.expires_at <= timezone.now():
        # Past its deadline it is about to pass on; a question would leave it hanging.
        raise ApplicationError("This request has expired.")
    request.status = Status.INFO_REQUESTED
    request.responded_at = request.responded_at or timezone.now()
    request.save(update_fields=["status", "responded_at"])
    notify(request, "info_requested")
    return RequestMessage.objects.create(request=request, author=mentor, body=question.strip())


@transaction.atomic
def request_answer(*, mentee: User, request_id: int, answer: str) -> RequestMessage:
    if not (answer or "").strip():
        raise ApplicationError("Write your answer.", fields={"answer": ["Required."]})
    request = request_locked(request_id, mentee=mentee)
    if request.status != Status.INFO_REQUESTED:
        raise ApplicationError("The mentor has not asked anything on this request.")
    request.status = Status.PENDING
    # The mentor gets at least a few days to decide after the answer, even if the
    # original deadline passed while the student was writing it.
    floor = timezone.now() + dt.timedelta(days=ANSWER_GRACE_DAYS)
    if request.expires_at is None or request.expires_at < floor:
        request.expires_at = floor
    request.save(update_fields=["status", "expires_at"])
    notify(request, "answered")
    return RequestMessage.objects.create(request=request, author=mentee, body=answer.strip())


def requests_close_all(*, user: User, now: dt.datetime) -> None:
    """Close every open request the person is a side of, as if they had answered each:
    for an account deleted or suspended. Call inside a transaction."""
    # As a student: withdrawing the first open request of a batch also closes the ones
    # queued behind it, so look each one up again before withdrawing it.
    for pk in (
        MentorRequest.objects.filter(mentee=user, status__in=MentorRequest.OPEN)
        .order_by("rank", "pk")
        .values_list("pk", flat=True)
    ):
        if MentorRequest.objects.filter(pk=pk, status__in=MentorRequest.OPEN).exists():
            request_withdraw(mentee=user, request_id=pk)
    # As a mentor: the requests waiting for an answer are declined, which sends each
    # student's next ranked choice out at once; the ones still queued behind another
    # choice were never seen and simply close.
    waiting = MentorRequest.objects.filter(
        mentor=user,
        status__in=(MentorRequest.Status.PENDING, MentorRequest.Status.INFO_REQUESTED),
    )
    for pk in waiting.values_list("pk", flat=True):
        request_decline(mentor=user, request_id=pk, reason=MentorRequest.DeclineReason.OTHER)
    for queued in MentorRequest.objects.select_for_update().filter(
        mentor=user, status=MentorRequest.Status.QUEUED
    ):
        request_close(queued, MentorRequest.Status.DECLINED, now)
        queued.save(update_fields=["status", "slot", "closed_at"])


def requests_expire_due(*, now: dt.datetime | None = None) -> int:
    """Expire unanswered requests and pass each batch on. Safe to run any number of times."""
    now = now or timezone.now()
    expired = 0
    due = MentorRequest.objects.filter(status=Status.PENDING, expires_at__lte=now).values_list(
        "pk", flat=True
    )
    for request_id in list(due):
        with transaction.atomic():
            request = MentorRequest.objects.select_for_update().get(pk=request_id)
            # Re-checked under the lock: the mentor may have answered meanwhile.
            if request.status != Status.PENDING or request.expires_at is None:
                continue
            if request.expires_at > now:
                continue
            request_close(request, Status.EXPIRED, now)
            request.save(update_fields=["status", "slot", "closed_at"])
            _pass_on(request, "expired", now)
            expired += 1
    return expired


def bookmark_add(*, user: User, mentor_profile_id: int) -> tuple[Bookmark, bool]:
    """Save a mentor to come back to; saving again keeps the one bookmark.

    Returns the bookmark and whether it is new. An unknown id gets the same answer
    as a non-mentor, so the endpoint does not reveal which profile ids exist.
    """
    profile = Profile.objects.select_related("user").filter(pk=mentor_profile_id).first()
    if profile is None or not profile.user.can_mentor or not profile.user.is_active:
        raise ApplicationError(
            "Only mentors can be saved.", fields={"mentor": ["No mentor with this id."]}
        )
    if profile.user_id == user.pk:
        raise ApplicationError(
            "You cannot save yourself.", fields={"mentor": ["This is your own profile."]}
        )
    try:
        # The savepoint keeps an outer transaction usable when the constraint fires.
        with transaction.atomic():
            return Bookmark.objects.create(user=user, mentor=profile.user), True
    except IntegrityError:
        # Already saved, perhaps by a double click racing this one: the constraint decided.
        return Bookmark.objects.get(user=user, mentor=profile.user), False


def bookmark_remove(*, user: User, mentor_profile_id: int) -> bool:
    """Forget a saved mentor. Removing one that is not saved is not an error."""
    deleted, _ = Bookmark.objects.filter(user=user, mentor__profile__pk=mentor_profile_id).delete()
    return deleted > 0


# --- Pairing programs (run by a school's coordinators) -------------------------------


def _coordinator_institution(user: User) -> int:
    return coordinated_institution_id(user=user, action="run its programs")


PROGRAM_FIELDS = (
    "name", "description", "starts_on", "ends_on", "enrol_by", "match_by", "status",
    "objective", "demand", "mentor_stage_rule", "institution_rule", "respect_conflicts",
    "weights", "default_cadence",
)  # fmt: skip
WEIGHT_FACTORS = set(DEFAULT_WEIGHTS)


def _check_program(program: Program) -> None:
    errors: dict[str, list[str]] = {}
    if not program.name.strip():
        errors["name"] = ["Give the program a name."]
    if program.starts_on and program.ends_on and program.ends_on < program.starts_on:
        errors["ends_on"] = ["The program must end after it starts."]
    for field in ("enrol_by", "match_by"):
        day = getattr(program, field)
        if day and program.ends_on and day > program.ends_on:
            errors[field] = ["Choose a day before the program ends."]
    if not isinstance(program.weights, dict):
        errors["weights"] = ["Give weights as factor: number."]
    else:
        for factor, weight in program.weights.items():
            if factor not in WEIGHT_FACTORS:
                errors.setdefault("weights", []).append(f"Unknown factor: {factor}.")
            elif not isinstance(weight, int | float) or not 0 <= weight <= 10:
                errors.setdefault("weights", []).append(f"{factor}: a number from 0 to 10.")
    if errors:
        raise ApplicationError("Please correct the highlighted fields.", fields=errors)


@transaction.atomic
def program_save(*, user: User, data: dict[str, Any], program_id: int | None = None) -> Program:
    """Create a program for the coordinator's school, or change one of its programs."""
    institution_id = _coordinator_institution(user)
    if program_id is None:
        program = Program(institution_id=institution_id, created_by=user)
    else:
        program = _own_program_locked(institution_id, program_id)
    for field in PROGRAM_FIELDS:
        if field in data:
            setattr(program, field, data[field])
    _check_program(program)
    try:
        with transaction.atomic():
            program.save()
    except IntegrityError as exc:
        raise ApplicationError(
            "Your school already has a program with this name.",
            fields={"name": ["Already used by another program of your school."]},
        ) from exc
    return program


def _own_program_locked(institution_id: int, program_id: int) -> Program:
    from django.http import Http404

    program = (
        Program.objects.select_for_update()
        .filter(pk=program_id, institution_id=institution_id)
        .first()
    )
    if program is None:
        raise Http404("No such program.")
    return program


@transaction.atomic
def enrollment_add(
    *, user: User, program_id: int, person_id: int, role: str, capacity: int | None = None
) -> Enrollment:
    """Enrol one person of the coordinator's school (mentors may come from anywhere)."""
    from accounts.choices import MENTEE_ROLES, MENTOR_ROLES

    program = _own_program_locked(_coordinator_institution(user), program_id)
    person = User.objects.select_related("profile").filter(pk=person_id, is_active=True).first()
    errors: dict[str, list[str]] = {}
    if person is None:
        raise ApplicationError("No such person.", fields={"person": ["No such person."]})
    if role == Enrollment.Role.MENTEE:
        if person.role not in MENTEE_ROLES:
            errors["role"] = ["Only students and residents can be mentees."]
        elif getattr(person.profile, "institution_id", None) != program.institution_id:
            errors["person"] = ["Mentees must be students of your school."]
        if capacity is not None:
            errors["capacity"] = ["Only mentors have a capacity."]
    elif role == Enrollment.Role.MENTOR:
        if person.role not in MENTOR_ROLES:
            errors["role"] = ["Only residents and physicians can mentor."]
        if capacity is not None and not 1 <= capacity <= 20:
            errors["capacity"] = ["Between 1 and 20 mentees."]
    else:
        errors["role"] = ["Choose mentee or mentor."]
    if errors:
        raise ApplicationError("This person cannot join the program this way.", fields=errors)
    enrollment, created = Enrollment.objects.get_or_create(
        program=program, user=person, role=role, defaults={"capacity": capacity}
    )
    if not created and enrollment.capacity != capacity:
        enrollment.capacity = capacity
        enrollment.save(update_fields=["capacity"])
    return enrollment
