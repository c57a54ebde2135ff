"""Every write about mentorships: the pair's agreement, check-ins, notes, pulses, ending.

Each change that someone else must know about writes an in-app notification in
the same transaction and queues an email after commit (``_tell``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.http import Http404
from django.utils import timezone

from accounts.choices import Goal as GoalChoice
from accounts.choices import MeetingMode
from accounts.models import Profile, User
from accounts.selectors import coordinated_institution_id
from accounts.services import notification_create
from matching.models import MentorRequest
from matching.services import notify, request_close, request_locked

from .exceptions import ApplicationError
from .models import AcademicDate, Agreement, CheckIn, Feedback, Goal, Mentorship, Note, Pulse


def mentor_place_claim(*, mentor: User, require_accepting: bool = True) -> None:
    """Take one of the mentor's free places, or fail. Must run inside a transaction.

    A conditional UPDATE decides: under any number of concurrent accepts or
    program publishes, only as many succeed as there are places, and the
    database's check constraint (active <= capacity) backs it. A program publish
    passes ``require_accepting=False``: enrolling in the program was the mentor's
    consent, even while their profile takes no new self-requests.
    """
    rows = Profile.objects.filter(user=mentor, active_mentees__lt=F("capacity"))
    if require_accepting:
        rows = rows.filter(accepting_mentees=True)
    claimed = rows.update(active_mentees=F("active_mentees") + 1)
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
    mentorship = mentorship_start(
        mentee_id=request.mentee_id, mentor=mentor, source=Mentorship.Source.REQUEST,
        request=request, cadence=request.cadence, meeting_mode=request.meeting_mode,
        goals=_by_priority(request.goals),
    )  # fmt: skip
    request_close(request, MentorRequest.Status.ACCEPTED, now)
    request.responded_at = request.responded_at or now  # a first question was the answer
    request.save(update_fields=["status", "slot", "closed_at", "responded_at"])
    notify(request, "accepted")
    if request.single_mentor:
        for other in MentorRequest.objects.select_for_update().filter(
            batch=request.batch, status__in=MentorRequest.OPEN
        ):
            request_close(other, MentorRequest.Status.WITHDRAWN, now)
            other.save(update_fields=["status", "slot", "closed_at"])
    return mentorship


# --- Starting a mentorship -------------------------------------------------------

REVIEW_AFTER_DAYS = {
    Agreement.Duration.TASK: 42,
    Agreement.Duration.SHORT: 120,
    Agreement.Duration.LONG: 365,
}
MAX_GOALS = 8


def _by_priority(goals: Mapping[str, int]) -> list[str]:
    """Most important first; ties in the order of the goal list (JSON keys have no order)."""
    order = {goal: index for index, goal in enumerate(GoalChoice.values)}
    return sorted(goals, key=lambda goal: (-int(goals[goal] or 0), order.get(goal, 99)))


def mentorship_start(
    *,
    mentee_id: int,
    mentor: User,
    source: str,
    request: MentorRequest | None = None,
    cadence: str = MentorRequest.Cadence.MONTHLY,
    meeting_mode: str = "",
    goals: Sequence[str] = (),
) -> Mentorship:
    """Create the mentorship with a draft agreement for both to sign. Place already claimed."""
    try:
        with transaction.atomic():
            mentorship = Mentorship.objects.create(
                mentee_id=mentee_id, mentor=mentor, request=request, source=source
            )
    except IntegrityError as exc:
        raise ApplicationError("You already mentor this student.") from exc
    today = timezone.localdate()
    Agreement.objects.create(
        mentorship=mentorship,
        cadence=cadence if cadence in MentorRequest.Cadence.values else "monthly",
        meeting_mode=meeting_mode if meeting_mode in MeetingMode.values else MeetingMode.VIDEO,
        duration=Agreement.Duration.SHORT,
        review_date=today + dt.timedelta(days=REVIEW_AFTER_DAYS[Agreement.Duration.SHORT]),
    )
    labels = dict(GoalChoice.choices)
    Goal.objects.bulk_create(
        [Goal(mentorship=mentorship, title=labels[g]) for g in goals if g in labels][:MAX_GOALS]
    )
    # In the app only: the student's "accepted" email already points to the agreement,
    # and the mentor has just accepted on the site.
    for person_id in (mentee_id, mentor.pk):
        _tell(mentorship, person_id, "agreement_to_sign", email=False)
    return mentorship


# --- Reading a mentorship for a write --------------------------------------------


def _locked_for_party(user: User, mentorship_id: int, *, live: bool = True) -> Mentorship:
    """The mentorship, row-locked, if ``user`` is in it; else 404."""
    try:
        mentorship = (
            Mentorship.objects.select_for_update().filter(_party(user)).get(pk=mentorship_id)
        )
    except Mentorship.DoesNotExist as exc:
        raise Http404("No such mentorship.") from exc
    if live and not mentorship.is_live:
        raise ApplicationError("This mentorship has ended.")
    return mentorship


def _party(user: User, prefix: str = "") -> Q:
    return Q(**{f"{prefix}mentee": user}) | Q(**{f"{prefix}mentor": user})


def _tell(
    mentorship: Mentorship,
    recipient_id: int,
    event: str,
    checkin: CheckIn | None = None,
    *,
    email: bool = True,
) -> None:
    """In-app notice now (rolled back with the change), email after commit, ids only."""
    from .notifications import EVENTS, event_message
    from .tasks import send_mentorship_event

    _, url_name = EVENTS[event]
    notification_create(
        user_id=recipient_id,
        kind=f"mentorship.{event}",
        message=event_message(mentorship, recipient_id, event, checkin),
        url=_url(url_name, mentorship),
    )
    if not email:
        return
    mentorship_id = mentorship.pk
    ids = {"checkin": checkin.pk} if checkin is not None else None
    transaction.on_commit(
        lambda: send_mentorship_event.delay(mentorship_id, recipient_id, event, ids)
    )


def _url(url_name: str, mentorship: Mentorship) -> str:
    from django.urls import reverse

    return reverse(url_name, args=[mentorship.pk])


# --- Agreement ---------------------------------------------------------------------


def _clean_date(value: Any, field: str, errors: dict[str, list[str]]) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        errors.setdefault(field, []).append("Enter a date as YYYY-MM-DD.")
        return None


@transaction.atomic
def agreement_update(*, user: User, mentorship_id: int, data: Mapping[str, Any]) -> Agreement:
    """Change the agreement. A real change clears both signatures: both sign the new text."""
    mentorship = _locked_for_party(user, mentorship_id)
    agreement = Agreement.objects.select_for_update().get(mentorship=mentorship)
    errors: dict[str, list[str]] = {}
    today = timezone.localdate()
    choices = {
        "cadence": MentorRequest.Cadence.values,
        "meeting_mode": MeetingMode.values,
        "scheduler": Agreement.Scheduler.values,
        "duration": Agreement.Duration.values,
    }
    changed = False
    for field, allowed in choices.items():
        if field in data:
            if data[field] not in allowed:
                errors[field] = ["Choose one of the options."]
            elif data[field] != getattr(agreement, field):
                setattr(agreement, field, data[field])
                changed = True
    if "confidentiality" in data:
        text = str(data["confidentiality"] or "").strip()
        if len(text) > 2000:
            errors["confidentiality"] = ["Keep it under 2,000 characters."]
        elif text != agreement.confidentiality:
            agreement.confidentiality = text
            changed = True
    if "review_date" in data:
        review = _clean_date(data["review_date"], "review_date", errors)
        if review is None and "review_date" not in errors:
            errors["review_date"] = ["Choose a date to review how it is going."]
        elif review == agreement.review_date:
            pass  # unchanged: a review date that has passed does not block other edits
        elif review is not None and not today < review <= today + dt.timedelta(days=730):
            errors["review_date"] = ["Choose a date in the next two years."]
        elif review is not None and review != agreement.review_date:
            agreement.review_date = review
            changed = True
    goals = data.get("goals")
    if goals is not None:
        goal_rows, goal_errors = _clean_goals(goals, today)
        if goal_errors:
            errors["goals"] = goal_errors
    if errors:
        raise ApplicationError("Please correct the highlighted fields.", fields=errors)
    if goals is not None:
        changed = _goals_replace(mentorship, goal_rows) or changed
    if changed:
        agreement.mentee_signed_at = None
        agreement.mentor_signed_at = None
        agreement.version += 1
        agreement.drafted_at = timezone.now()
        agreement.save()
        _tell(mentorship, mentorship.other_party_id(user.pk), "agreement_to_sign")
    return agreement


def _clean_goals(
    goals: Sequence[Mapping[str, Any]], today: dt.date
) -> tuple[list[dict[str, Any]], list[str]]:
    rows: list[dict[str, Any]] = []
    errors: list[str] = []
    if not isinstance(goals, list | tuple):
        return rows, ["Goals must be a list."]
    for number, goal in enumerate(goals, start=1):
        if not isinstance(goal, Mapping):
            errors.append(f"Goal {number}: expected a title and a target date.")
            continue
        title = str(goal.get("title") or "").strip()
        if not title:
            continue  # an empty row in the form: ignored
        if len(title) > 200:
            errors.append(f"Goal {number}: keep the title under 200 characters.")
        date_errors: dict[str, list[str]] = {}
        target = _clean_date(goal.get("target_date"), "target_date", date_errors)
        if date_errors:
            errors.append(f"Goal {number}: enter the target date as YYYY-MM-DD.")
        elif target is not None and target < today:
            errors.append(f"Goal {number}: the target date is in the past.")
        goal_id = goal.get("id")
        rows.append({"id": goal_id, "title": title, "target_date": target})
    if not rows and not errors:
        errors.append("Agree on at least one goal.")
    if len(rows) > MAX_GOALS:
        errors.append(f"Agree on at most {MAX_GOALS} goals: a few clear ones work best.")
    return rows, errors


def _goals_replace(mentorship: Mentorship, rows: list[dict[str, Any]]) -> bool:
    """Keep goals whose id is given (progress stays), add new ones, drop the rest."""
    existing = {goal.pk: goal for goal in Goal.objects.filter(mentorship=mentorship)}
    changed = False
    kept: set[int] = set()
    for row in rows:
        goal = existing.get(_int_or_none(row["id"]) or 0)
        if goal is None:
            Goal.objects.create(
                mentorship=mentorship, title=row["title"], target_date=row["target_date"]
            )
            changed = True
            continue
        kept.add(goal.pk)
        if (goal.title, goal.target_date) != (row["title"], row["target_date"]):
            goal.title, goal.target_date = row["title"], row["target_date"]
            goal.save(update_fields=["title", "target_date", "updated_at"])
            changed = True
    dropped = set(existing) - kept
    if dropped:
        Goal.objects.filter(pk__in=dropped).delete()
        changed = True
    return changed


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@transaction.atomic
def agreement_sign(*, user: User, mentorship_id: int) -> Agreement:
    mentorship = _locked_for_party(user, mentorship_id)
    agreement = Agreement.objects.select_for_update().get(mentorship=mentorship)
    if not Goal.objects.filter(mentorship=mentorship).exists():
        raise ApplicationError("Agree on at least one goal before signing.")
    field = "mentee_signed_at" if user.pk == mentorship.mentee_id else "mentor_signed_at"
    if getattr(agreement, field) is not None:
        raise ApplicationError("You have already signed this agreement.")
    setattr(agreement, field, timezone.now())
    agreement.save(update_fields=[field, "updated_at"])
    other = mentorship.other_party_id(user.pk)
    _tell(mentorship, other, "agreement_signed" if agreement.is_signed else "agreement_to_sign")
    return agreement


# --- Check-ins ---------------------------------------------------------------------


def _clean_checkin(data: Mapping[str, Any], now: dt.datetime) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    if "scheduled_at" in data:
        when = data["scheduled_at"]
        if isinstance(when, str):
            from django.utils.dateparse import parse_datetime

            when = parse_datetime(when) if when else None
        if not isinstance(when, dt.datetime):
            errors["scheduled_at"] = ["Enter a date and time."]
        else:
            if timezone.is_naive(when):
                when = timezone.make_aware(when)
            if not now - dt.timedelta(days=60) <= when <= now + dt.timedelta(days=366):
                errors["scheduled_at"] = ["Choose a time within the next year."]
            cleaned["scheduled_at"] = when
    if "duration_minutes" in data:
        minutes = _int_or_none(data["duration_minutes"])
        if minutes is None or not 5 <= minutes <= 480:
            errors["duration_minutes"] = ["Between 5 minutes and 8 hours."]
        cleaned["duration_minutes"] = minutes
    if "mode" in data:
        if data["mode"] not in MeetingMode.values:
            errors["mode"] = ["Choose in person, video call or phone."]
        cleaned["mode"] = data["mode"]
    for field, limit in (("location", 300), ("agenda", 4000)):
        if field in data:
            text = str(data[field] or "").strip()
            if len(text) > limit:
                errors[field] = [f"Keep it under {limit:,} characters."]
            cleaned[field] = text
    if errors:
        raise ApplicationError("Please correct the highlighted fields.", fields=errors)
    return cleaned


@transaction.atomic
def checkin_schedule(*, user: User, mentorship_id: int, data: Mapping[str, Any]) -> CheckIn:
    """Put the next check-in in both diaries (the email carries an .ics invitation)."""
    mentorship = _locked_for_party(user, mentorship_id)
    if "scheduled_at" not in data:
        raise ApplicationError(
            "Choose when you will meet.", fields={"scheduled_at": ["Enter a date and time."]}
        )
    cleaned = _clean_checkin(data, timezone.now())
    if cleaned["scheduled_at"] < timezone.now():
        raise ApplicationError(
            "A new check-in must be in the future.",
            fields={"scheduled_at": ["Choose a time in the future."]},
        )
    checkin = CheckIn.objects.create(mentorship=mentorship, created_by=user, **cleaned)
    _tell(mentorship, mentorship.other_party_id(user.pk), "checkin_scheduled", checkin=checkin)
    return checkin


def _locked_checkin(user: User, checkin_id: int) -> CheckIn:
    try:
        checkin = (
            CheckIn.objects.select_for_update()
            .select_related("mentorship")
            .filter(_party(user, "mentorship__"))
            .get(pk=checkin_id)
        )
    except CheckIn.DoesNotExist as exc:
        raise Http404("No such check-in.") from exc
    if not checkin.mentorship.is_live:
        raise ApplicationError("This mentorship has ended.")
    return checkin


@transaction.atomic
def checkin_update(*, user: User, checkin_id: int, data: Mapping[str, Any]) -> CheckIn:
    """Reschedule or prepare the agenda of a check-in that has not happened yet."""
    checkin = _locked_checkin(user, checkin_id)
    if checkin.status != CheckIn.Status.SCHEDULED:
        raise ApplicationError("Only a scheduled check-in can be changed.")
    cleaned = _clean_checkin(data, timezone.now())
    moved = "scheduled_at" in cleaned and cleaned["scheduled_at"] != checkin.scheduled_at
    for field, value in cleaned.items():
        setattr(checkin, field, value)
    if moved:
        checkin.sequence += 1
    checkin.save()
    if moved:
        mentorship = checkin.mentorship
        _tell(mentorship, mentorship.other_party_id(user.pk), "checkin_moved", checkin=checkin)
    return checkin


@transaction.atomic
def checkin_cancel(*, user: User, checkin_id: int) -> CheckIn:
    checkin = _locked_checkin(user, checkin_id)
    if checkin.status != CheckIn.Status.SCHEDULED:
        raise ApplicationError("Only a scheduled check-in can be cancelled.")
    checkin.status = CheckIn.Status.CANCELLED
    checkin.save(update_fields=["status"])
    mentorship = checkin.mentorship
    _tell(mentorship, mentorship.other_party_id(user.pk), "checkin_cancelled", checkin=checkin)
    return checkin


@transaction.atomic
def checkin_complete(
    *,
    user: User,
    checkin_id: int,
    goal_progress: Mapping[Any, Any] | None = None,
    note: str = "",
    note_shared: bool = True,
) -> CheckIn:
    """Log that the check-in happened, with goal progress and an optional note.

    Both sides are then asked the one-question pulse.
    """
    checkin = _locked_checkin(user, checkin_id)
    if checkin.status != CheckIn.Status.SCHEDULED:
        raise ApplicationError("This check-in is already logged or was cancelled.")
    now = timezone.now()
    if checkin.scheduled_at > now + dt.timedelta(hours=1):
        raise ApplicationError("This check-in has not happened yet.")
    mentorship = checkin.mentorship
    goals = {goal.pk: goal for goal in Goal.objects.filter(mentorship=mentorship)}
    errors: list[str] = []
    updates: list[Goal] = []
    for key, value in (goal_progress or {}).items():
        goal = goals.get(_int_or_none(key) or -1)
        percent = _int_or_none(value)
        if goal is None:
            errors.append(f"Goal {key} is not one of this mentorship's goals.")
        elif percent is None or not 0 <= percent <= 100:
            errors.append(f"Progress on “{goal.title}” must be between 0 and 100%.")
        elif percent != goal.progress:
            goal.progress = percent
            updates.append(goal)
    if len((note or "").strip()) > 5000:
        errors.append("Keep the note under 5,000 characters.")
    if errors:
        raise ApplicationError("Please correct the goal progress.", fields={"goals": errors})
    for goal in updates:
        goal.save(update_fields=["progress", "updated_at"])
    checkin.status = CheckIn.Status.COMPLETED
    checkin.completed_at = now
    checkin.save(update_fields=["status", "completed_at"])
    if (note or "").strip():
        Note.objects.create(
            mentorship=mentorship, checkin=checkin, author=user, body=note.strip(),
            shared=note_shared,
        )  # fmt: skip
    for person_id in (mentorship.mentee_id, mentorship.mentor_id):
        _tell(mentorship, person_id, "pulse", checkin=checkin)
    return checkin


@transaction.atomic
def pulse_record(*, user: User, checkin_id: int, answer: str) -> Pulse:
    """ "Is this mentorship working for you?" Two "no"s in a row from one side offer the
    mentee a re-match and tell the mentor, kindly. The answer itself stays private."""
    if answer not in Pulse.Answer.values:
        raise ApplicationError("Choose an answer.", fields={"answer": ["Choose an answer."]})
    checkin = _locked_checkin(user, checkin_id)
    if checkin.status != CheckIn.Status.COMPLETED:
        raise ApplicationError("The pulse opens once the check-in is logged.")
    try:
        with transaction.atomic():
            pulse = Pulse.objects.create(checkin=checkin, person=user, answer=answer)
    except IntegrityError as exc:
        raise ApplicationError("You have already answered for this check-in.") from exc
    mentorship = checkin.mentorship
    last_two = list(
        Pulse.objects.filter(checkin__mentorship=mentorship, person=user)
        .order_by("-checkin__scheduled_at", "-pk")
        .values_list("answer", flat=True)[:2]
    )
    if last_two == [Pulse.Answer.NO, Pulse.Answer.NO]:
        offered = Mentorship.objects.filter(
            pk=mentorship.pk, rematch_offered_at__isnull=True
        ).update(rematch_offered_at=timezone.now())
        if offered:
            _tell(mentorship, mentorship.mentee_id, "rematch_offered")
            _tell(mentorship, mentorship.mentor_id, "rematch_mentor")
    return pulse


# --- Notes -------------------------------------------------------------------------


@transaction.atomic
def note_add(
    *, user: User, mentorship_id: int, body: str, shared: bool = False,
    checkin_id: int | None = None,
) -> Note:  # fmt: skip
    """A note private to its author, or shared with the other side of the pair."""
    mentorship = _locked_for_party(user, mentorship_id, live=False)
    text = (body or "").strip()
    if not text:
        raise ApplicationError("Write something first.", fields={"body": ["Required."]})
    if len(text) > 5000:
        raise ApplicationError("Keep notes under 5,000 characters.", fields={"body": ["Too long."]})
    checkin = None
    if checkin_id is not None:
        checkin = CheckIn.objects.filter(pk=checkin_id, mentorship=mentorship).first()
        if checkin is None:
            raise ApplicationError(
                "That check-in is not part of this mentorship.",
                fields={"checkin": ["Unknown check-in."]},
            )
    note = Note.objects.create(
        mentorship=mentorship, checkin=checkin, author=user, body=text, shared=bool(shared)
    )
    if note.shared:
        _tell(mentorship, mentorship.other_party_id(user.pk), "note_shared")
    return note


@transaction.atomic
def note_delete(*, user: User, note_id: int) -> None:
    deleted, _ = Note.objects.filter(pk=note_id, author=user).delete()
    if not deleted:
        raise Http404("No such note.")


# --- Ending and renewing -----------------------------------------------------------


def mentor_place_release(*, mentor_id: int) -> None:
    """Give the mentor's place back. Caller is in the transaction that ends the mentorship."""
    Profile.objects.filter(user_id=mentor_id, active_mentees__gt=0).update(
        active_mentees=F("active_mentees") - 1
    )


@transaction.atomic
def mentorship_end(*, user: User, mentorship_id: int, reason: str) -> Mentorship:
    """End the mentorship for both; each side is then asked the short closing survey."""
    if reason not in Mentorship.EndReason.values:
        raise ApplicationError("Tell us why it ends.", fields={"reason": ["Choose a reason."]})
    mentorship = _locked_for_party(user, mentorship_id)
    mentorship_close(mentorship, by=user, reason=reason, now=timezone.now())
    _tell(mentorship, mentorship.other_party_id(user.pk), "ended")
    return mentorship


def mentorship_close(mentorship: Mentorship, *, by: User, reason: str, now: dt.datetime) -> None:
    """The effects of ending a locked, live mentorship: dated, the mentor's place given
    back, scheduled check-ins cancelled. The caller tells the other side."""
    mentorship.status = Mentorship.Status.ENDED
    mentorship.ended_at = now
    mentorship.ended_by = by
    mentorship.end_reason = reason
    mentorship.save(update_fields=["status", "ended_at", "ended_by", "end_reason"])
    mentor_place_release(mentor_id=mentorship.mentor_id)
    CheckIn.objects.filter(mentorship=mentorship, status=CheckIn.Status.SCHEDULED).update(
        status=CheckIn.Status.CANCELLED
    )


@transaction.atomic
def mentorship_renew(*, user: User, mentorship_id: int, review_date: Any) -> Agreement:
    """Carry on together: the review date moves later; nothing else changes."""
    mentorship = _locked_for_party(user, mentorship_id)
    agreement = Agreement.objects.select_for_update().get(mentorship=mentorship)
    errors: dict[str, list[str]] = {}
    new_date = _clean_date(review_date, "review_date", errors)
    today = timezone.localdate()
    if new_date is None and not errors:
        errors["review_date"] = ["Choose the next review date."]
    elif new_date is not None and new_date <= max(agreement.review_date, today):
        errors["review_date"] = ["Choose a date later than the current review date."]
    elif new_date is not None and new_date > today + dt.timedelta(days=730):
        errors["review_date"] = ["Choose a date in the next two years."]
    if errors:
        raise ApplicationError("Please correct the review date.", fields=errors)
    assert new_date is not None
    agreement.review_date = new_date
    agreement.save(update_fields=["review_date", "updated_at"])
    if mentorship.status == Mentorship.Status.PAUSED:
        mentorship.status = Mentorship.Status.ACTIVE
        mentorship.save(update_fields=["status"])
    _tell(mentorship, mentorship.other_party_id(user.pk), "renewed")
    return agreement


@transaction.atomic
def feedback_submit(
    *, user: User, mentorship_id: int, rating: Any, goals_met: str,
    would_recommend: bool = True, comment: str = "", thank_you: str = "",
) -> Feedback:  # fmt: skip
    """The closing survey, once per side, after the mentorship ended. A thank-you note,
    if written, is shown to the other side; the rest is private."""
    mentorship = _locked_for_party(user, mentorship_id, live=False)
    if mentorship.is_live:
        raise ApplicationError("The closing survey opens when the mentorship ends.")
    errors: dict[str, list[str]] = {}
    stars = _int_or_none(rating)
    if stars is None or not 1 <= stars <= 5:
        errors["rating"] = ["Choose 1 to 5."]
    if goals_met not in Feedback.GoalsMet.values:
        errors["goals_met"] = ["Choose yes, partly or no."]
    for field, text in (("comment", comment), ("thank_you", thank_you)):
        if len((text or "").strip()) > 2000:
            errors[field] = ["Keep it under 2,000 characters."]
    if errors:
        raise ApplicationError("Please correct the highlighted fields.", fields=errors)
    assert stars is not None
    try:
        with transaction.atomic():
            feedback = Feedback.objects.create(
                mentorship=mentorship, author=user, rating=stars, goals_met=goals_met,
                would_recommend=bool(would_recommend), comment=(comment or "").strip(),
                thank_you=(thank_you or "").strip(),
            )  # fmt: skip
    except IntegrityError as exc:
        raise ApplicationError("You have already answered the closing survey.") from exc
    if feedback.thank_you:
        _tell(mentorship, mentorship.other_party_id(user.pk), "thank_you")
    return feedback


@transaction.atomic
def mentoring_switch_on(*, user: User) -> Profile:
    """Pay it forward: a former mentee opens places to mentor others, in one click."""
    if not user.can_mentor:
        raise ApplicationError(
            "Mentoring opens to residents and physicians: switch it on when you start residency."
        )
    profile = Profile.objects.select_for_update().get(user=user)
    profile.accepting_mentees = True
    profile.capacity = max(profile.capacity, profile.active_mentees + 1, 1)
    profile.save(update_fields=["accepting_mentees", "capacity", "updated_at"])
    return profile


# --- The academic calendar -------------------------------------------------------


def academic_calendars_roll(*, today: dt.date | None = None) -> int:
    """Give every institution the US default dates for this academic year and the next.

    Idempotent: a default already there (even switched off or moved by a
    coordinator) is left alone. Returns how many dates were added.
    """
    from accounts.models import Institution

    from .calendar import DEFAULTS, academic_year, occurs_on

    today = today or timezone.localdate()
    year = academic_year(today)
    rows = [
        AcademicDate(
            institution_id=institution_id,
            title=default.title,
            category=default.category,
            date=occurs_on(default, y),
            stages=list(default.stages),
            lead_days=default.lead_days,
            prompt=default.prompt,
            default_key=default.key,
            academic_year=y,
        )
        for institution_id in Institution.objects.values_list("pk", flat=True)
        for y in (year, year + 1)
        for default in DEFAULTS
    ]
    before = AcademicDate.objects.count()
    AcademicDate.objects.bulk_create(rows, ignore_conflicts=True, batch_size=500)
    return AcademicDate.objects.count() - before


def _coordinated_institution(user: User) -> int:
    return coordinated_institution_id(user=user, action="change its academic calendar")


def _calendar_date_locked(institution_id: int, date_id: int) -> AcademicDate:
    """A date of the coordinator's own calendar, row-locked; 404 for any other school's."""

    date = (
        AcademicDate.objects.select_for_update()
        .filter(pk=date_id, institution_id=institution_id)
        .first()
    )
    if date is None:
        raise Http404("No such date in your calendar.")
    return date


def _clean_academic_date(data: Mapping[str, Any], errors: dict[str, list[str]]) -> dict[str, Any]:
    from accounts.choices import STUDENT_STAGES, Stage

    cleaned: dict[str, Any] = {}
    title = str(data.get("title") or "").strip()
    if not title:
        errors["title"] = ["Give the date a name, e.g. “ERAS opens”."]
    elif len(title) > 120:
        errors["title"] = ["Keep the name under 120 characters."]
    cleaned["title"] = title
    category = data.get("category") or AcademicDate.Category.OTHER
    if category not in AcademicDate.Category.values:
        errors["category"] = ["Choose one of the options."]
    cleaned["category"] = category
    cleaned["date"] = _clean_date(data.get("date"), "date", errors)
    if cleaned["date"] is None and "date" not in errors:
        errors["date"] = ["Choose the date."]
    stages = data.get("stages") or []
    if isinstance(stages, str | int):
        stages = [stages]
    try:
        stage_values = sorted({int(s) for s in stages})
    except (TypeError, ValueError):
        stage_values = [-1]
    allowed = {int(s) for s in STUDENT_STAGES} | {int(Stage.PGY1), int(Stage.PGY2)}
    if any(s not in allowed for s in stage_values):
        errors["stages"] = ["Choose stages from pre-med to PGY-2."]
    cleaned["stages"] = stage_values
    lead = _int_or_none(data.get("lead_days", 21))
    if lead is None or not 1 <= lead <= 120:
        errors["lead_days"] = ["Prompt between 1 and 120 days ahead."]
    cleaned["lead_days"] = lead
    prompt = str(data.get("prompt") or "").strip()
    if not prompt:
        errors["prompt"] = ["Say what pairs could do, e.g. “review the personal statement”."]
    elif len(prompt) > 300:
        errors["prompt"] = ["Keep the prompt under 300 characters."]
    cleaned["prompt"] = prompt
    return cleaned


@transaction.atomic
def academic_date_save(
    *, user: User, data: Mapping[str, Any], date_id: int | None = None
) -> AcademicDate:
    """Add a date to the coordinator's calendar, or change one (404 for other schools')."""

    institution_id = _coordinated_institution(user)
    if date_id is None:
        date = AcademicDate(institution_id=institution_id)
    else:
        date = _calendar_date_locked(institution_id, date_id)
    errors: dict[str, list[str]] = {}
    cleaned = _clean_academic_date(data, errors)
    if errors:
        raise ApplicationError("Please correct the highlighted fields.", fields=errors)
    for name, value in cleaned.items():
        setattr(date, name, value)
    date.active = True
    try:
        with transaction.atomic():
            date.save()
    except IntegrityError as exc:
        raise ApplicationError(
            "Your calendar already has a date with this name on that day.",
            fields={"title": ["Already on the calendar for that day."]},
        ) from exc
    return date


@transaction.atomic
def academic_date_remove(*, user: User, date_id: int) -> None:
    """Take a date off the calendar. A US default is switched off so it does not return."""

    date = _calendar_date_locked(_coordinated_institution(user), date_id)
    if date.default_key:
        date.active = False
        date.save(update_fields=["active", "updated_at"])
    else:
        date.delete()
