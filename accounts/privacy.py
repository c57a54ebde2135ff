"""A person's privacy rights: download everything we hold about them, delete their account.

This module reads and writes across all three apps (a person's data lives in each), so
unlike the rest of ``accounts`` it imports ``matching`` and ``mentorship``; nothing in
those apps imports it back.

Retention of demographics: kept only while the account is active; deleted with the
account (and by ``purge_inactive_demographics`` for accounts inactive for a year); the
person can clear them any time in their private settings. Program equity views compute
their aggregates on the fly and never store them.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from matching.models import Bookmark, Enrollment, MentorRequest, Report
from matching.services import requests_close_all
from mentorship.exceptions import ApplicationError
from mentorship.models import Feedback, Mentorship, Note, Pulse, Reminder, ReminderEmail
from mentorship.services import mentorship_close

from .choices import Role
from .models import (
    Block,
    ConflictOfInterest,
    Demographics,
    Notification,
    NotificationSettings,
    Profile,
    User,
)
from .services import (
    PROFILE_M2M_FIELDS,
    PROFILE_SCALAR_FIELDS,
    audit_record,
    auth_tokens_revoke,
    notification_create,
)

FORMER_MEMBER = "Former member"
CONFIRM_WORD = "delete"


# --- Download my data ---------------------------------------------------------------


def _when(value: dt.datetime | dt.date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _names(rows: Any) -> list[str]:
    return [row.name for row in rows.all()]


def _profile(profile: Profile | None) -> dict[str, Any] | None:
    if profile is None:
        return None
    return {
        "stage": profile.stage_label or None,
        "institution": profile.institution.name if profile.institution else None,
        "specialties": _names(profile.specialties),
        "interests": _names(profile.interests),
        "languages": _names(profile.languages),
        "headline": profile.headline,
        "bio": profile.bio,
        "timezone": profile.timezone,
        "meets_in_person": profile.meets_in_person,
        "meets_video": profile.meets_video,
        "meets_phone": profile.meets_phone,
        "seeking_mentor": profile.seeking_mentor,
        "goals": profile.goals,
        "offers": profile.offers,
        "mentor_stage_preference": profile.mentor_stage_preference,
        "institution_preference": profile.institution_preference,
        "style_preference": profile.style_preference,
        "accepting_mentees": profile.accepting_mentees,
        "capacity": profile.capacity,
        "active_mentees": profile.active_mentees,
        "hours_per_month": profile.hours_per_month,
        "strengths": profile.strengths,
        "preferred_mentee_stages": profile.preferred_mentee_stages,
        "mentoring_style": profile.mentoring_style,
        "created_at": _when(profile.created_at),
        "updated_at": _when(profile.updated_at),
    }


def _demographics(user: User) -> dict[str, Any] | None:
    row = Demographics.objects.filter(user=user).first()
    if row is None:
        return None
    return {
        "gender": row.gender,
        "gender_self_description": row.gender_self_description,
        "ethnicities": row.ethnicities,
        "ethnicity_self_description": row.ethnicity_self_description,
        "wants_same_gender": row.wants_same_gender,
        "gender_opted_in_at": _when(row.gender_opted_in_at),
        "wants_same_ethnicity": row.wants_same_ethnicity,
        "ethnicity_opted_in_at": _when(row.ethnicity_opted_in_at),
        "updated_at": _when(row.updated_at),
    }


def _notification_settings(user: User) -> dict[str, Any] | None:
    row = NotificationSettings.objects.filter(user=user).first()
    if row is None:
        return None
    return {
        "delivery": row.delivery,
        "checkin_lead_hours": row.checkin_lead.total_seconds() / 3600,
        "quiet_start": row.quiet_start.isoformat(),
        "quiet_end": row.quiet_end.isoformat(),
    }


def _requests(user: User) -> list[dict[str, Any]]:
    rows = (
        MentorRequest.objects.filter(Q(mentee=user) | Q(mentor=user))
        .exclude(~Q(mentee=user) & Q(status=MentorRequest.Status.QUEUED))  # mentor never saw it
        .select_related("mentee", "mentor")
        .prefetch_related("messages__author")
        .order_by("created_at", "pk")
    )
    out = []
    for r in rows:
        sent = r.mentee_id == user.pk
        out.append(
            {
                "direction": "sent" if sent else "received",
                "other_party": (r.mentor if sent else r.mentee).display_name,
                "status": r.status,
                "rank": r.rank,
                "goals": r.goals,
                "expectations": r.expectations,
                "offers": r.offers,
                "cadence": r.cadence,
                "meeting_mode": r.meeting_mode,
                "decline_reason": r.decline_reason,
                "decline_note": r.decline_note,
                "created_at": _when(r.created_at),
                "sent_at": _when(r.sent_at),
                "responded_at": _when(r.responded_at),
                "closed_at": _when(r.closed_at),
                "messages": [
                    {
                        "from": "you" if m.author_id == user.pk else m.author.display_name,
                        "body": m.body,
                        "at": _when(m.created_at),
                    }
                    for m in r.messages.all()
                ],
            }
        )
    return out


def _mentorships(user: User) -> list[dict[str, Any]]:
    rows = (
        Mentorship.objects.filter(Q(mentee=user) | Q(mentor=user))
        .select_related("mentee", "mentor", "agreement", "program")
        .prefetch_related("goals", "checkins")
        .order_by("started_at", "pk")
    )
    ids = [m.pk for m in rows]
    # Only the notes the person wrote, and the other side's notes they shared: never the
    # other side's private notes. Likewise only the person's own pulses, only the
    # feedback they wrote, and only the thank-yous written to them.
    notes = Note.objects.filter(mentorship_id__in=ids).filter(Q(author=user) | Q(shared=True))
    pulses = Pulse.objects.filter(checkin__mentorship_id__in=ids, person=user)
    feedback = Feedback.objects.filter(mentorship_id__in=ids)
    by_mentorship: dict[int, dict[str, list[dict[str, Any]]]] = {
        pk: {"notes": [], "pulses": [], "feedback_written": [], "thank_yous_received": []}
        for pk in ids
    }
    for n in notes.order_by("created_at", "pk"):
        by_mentorship[n.mentorship_id]["notes"].append(
            {
                "written_by": "you" if n.author_id == user.pk else "the other side",
                "shared": n.shared,
                "checkin_id": n.checkin_id,
                "body": n.body,
                "at": _when(n.created_at),
            }
        )
    for p in pulses.select_related("checkin"):
        by_mentorship[p.checkin.mentorship_id]["pulses"].append(
            {"checkin_id": p.checkin_id, "answer": p.answer, "at": _when(p.created_at)}
        )
    for f in feedback:
        if f.author_id == user.pk:
            by_mentorship[f.mentorship_id]["feedback_written"].append(
                {
                    "rating": f.rating,
                    "goals_met": f.goals_met,
                    "would_recommend": f.would_recommend,
                    "comment": f.comment,
                    "thank_you": f.thank_you,
                    "at": _when(f.created_at),
                }
            )
        elif f.thank_you:
            by_mentorship[f.mentorship_id]["thank_yous_received"].append(
                {"thank_you": f.thank_you, "at": _when(f.created_at)}
            )
    out = []
    for m in rows:
        as_mentee = m.mentee_id == user.pk
        agreement = getattr(m, "agreement", None)
        out.append(
            {
                "as": "mentee" if as_mentee else "mentor",
                "other_party": (m.mentor if as_mentee else m.mentee).display_name,
                "status": m.status,
                "source": m.source,
                "program": m.program.name if m.program else None,
                "started_at": _when(m.started_at),
                "ended_at": _when(m.ended_at),
                "end_reason": m.end_reason,
                "agreement": None
                if agreement is None
                else {
                    "cadence": agreement.cadence,
                    "meeting_mode": agreement.meeting_mode,
                    "scheduler": agreement.scheduler,
                    "confidentiality": agreement.confidentiality,
                    "duration": agreement.duration,
                    "review_date": _when(agreement.review_date),
                    "version": agreement.version,
                    "mentee_signed_at": _when(agreement.mentee_signed_at),
                    "mentor_signed_at": _when(agreement.mentor_signed_at),
                },
                "goals": [
                    {
                        "title": g.title,
                        "target_date": _when(g.target_date),
                        "progress": g.progress,
                    }
                    for g in m.goals.all()
                ],
                "checkins": [
                    {
                        "id": c.pk,
                        "scheduled_at": _when(c.scheduled_at),
                        "duration_minutes": c.duration_minutes,
                        "mode": c.mode,
                        "location": c.location,
                        "agenda": c.agenda,
                        "status": c.status,
                        "completed_at": _when(c.completed_at),
                    }
                    for c in m.checkins.all()
                ],
                **by_mentorship[m.pk],
            }
        )
    return out


def personal_data_export(*, user: User) -> dict[str, Any]:
    """Everything we hold about ``user`` that is theirs to see, as JSON-ready data.

    The other side of a request or mentorship appears by display name only; their
    private notes, pulses and feedback are not the person's data and are left out.
    """
    profile = Profile.objects.filter(user=user).select_related("institution").first()
    return {
        "exported_at": _when(timezone.now()),
        "account": {
            "email": user.email,
            "full_name": user.full_name,
            "role": user.role,
            "date_joined": _when(user.date_joined),
            "last_login": _when(user.last_login),
        },
        "profile": _profile(profile),
        "demographics": _demographics(user),
        "notification_settings": _notification_settings(user),
        "requests": _requests(user),
        "mentorships": _mentorships(user),
        "notifications": [
            {
                "kind": n.kind,
                "message": n.message,
                "url": n.url,
                "created_at": _when(n.created_at),
                "read_at": _when(n.read_at),
            }
            for n in Notification.objects.filter(user=user)
        ],
        "bookmarks": [
            {"mentor": b.mentor.display_name, "created_at": _when(b.created_at)}
            for b in Bookmark.objects.filter(user=user).select_related("mentor")
        ],
        "people_blocked": [
            {"person": b.blocked.display_name, "created_at": _when(b.created_at)}
            for b in Block.objects.filter(blocker=user).select_related("blocked")
        ],
        # Reports the person made. Reports about them are kept from them: they would
        # name, or point to, whoever reported (see the privacy page).
        "reports_made": [
            {
                "reason": r.reason,
                "details": r.details,
                "status": r.status,
                "created_at": _when(r.created_at),
            }
            for r in Report.objects.filter(reporter=user)
        ],
        "program_enrollments": [
            {
                "program": e.program.name,
                "institution": e.program.institution.name,
                "role": e.role,
                "capacity": e.capacity,
                "joined_at": _when(e.joined_at),
            }
            for e in Enrollment.objects.filter(user=user).select_related("program__institution")
        ],
        "conflicts_declared": [
            {
                "kind": c.kind,
                "institution": c.institution.name if c.institution else None,
                "stage": c.stage,
                "description": c.description,
                "created_at": _when(c.created_at),
            }
            for c in ConflictOfInterest.objects.filter(mentor=user).select_related("institution")
        ],
    }


@transaction.atomic
def personal_data_export_record(*, user: User) -> None:
    audit_record(actor=user, action="account.export", target=user)


# --- Delete my account --------------------------------------------------------------


def _mentorships_end(user: User, now: dt.datetime) -> int:
    """The effects of ``mentorship_end`` for each live mentorship, with an in-app notice
    that says the person left (no email: the address it would name is about to go)."""
    live = list(
        Mentorship.objects.select_for_update()
        .filter(Q(mentee=user) | Q(mentor=user), status__in=Mentorship.LIVE)
        .order_by("pk")
    )
    name = user.display_name
    for mentorship in live:
        mentorship_close(mentorship, by=user, reason=Mentorship.EndReason.OTHER, now=now)
        notification_create(
            user_id=mentorship.other_party_id(user.pk),
            kind="mentorship.ended",
            message=f"{name} has left {settings.SITE_NAME}, so your mentorship has ended.",
            url=reverse("mentorships:detail", args=[mentorship.pk]),
        )
    return len(live)


def _profile_clear(user: User) -> None:
    profile = Profile.objects.filter(user=user).first()
    if profile is None:
        return
    for name in PROFILE_M2M_FIELDS:
        getattr(profile, name).clear()
    defaults = Profile()
    for field in PROFILE_SCALAR_FIELDS:  # every field a person can edit, back to its default
        setattr(profile, field, getattr(defaults, field))
    # Every live mentorship just ended, so no place is held.
    profile.active_mentees = 0
    profile.save()


def account_can_delete(user: User) -> bool:
    """Coordinators and staff hold other people's programs and records: a school must
    reassign them first, so they cannot delete themselves."""
    return not (user.is_staff or user.is_superuser or user.role in (Role.COORDINATOR, Role.STAFF))


@transaction.atomic
def account_delete(*, user: User, password: str, confirm: str) -> None:
    """Delete the person's account at their request.

    The user row stays, anonymised, so that the other side's mentorships, check-ins and
    shared notes remain whole and show "Former member"; everything that is only theirs
    (demographics, private notes, settings, bookmarks, enrolments, tokens) is deleted.
    """
    if not account_can_delete(user):
        raise ApplicationError(
            "Coordinator and staff accounts cannot be deleted here: your school must "
            "first hand your programs to someone else. Ask your administrator."
        )
    errors: dict[str, list[str]] = {}
    if not password or not user.check_password(password):
        errors["password"] = ["That is not your current password."]
    if (confirm or "").strip().lower() != CONFIRM_WORD:
        errors["confirm"] = [f"Type “{CONFIRM_WORD}” to confirm."]
    if errors:
        raise ApplicationError("Your account was not deleted.", fields=errors)

    user = User.objects.select_for_update().get(pk=user.pk)
    now = timezone.now()
    ended = _mentorships_end(user, now)
    requests_close_all(user=user, now=now)
    Enrollment.objects.filter(user=user).delete()
    Demographics.objects.filter(user=user).delete()
    ConflictOfInterest.objects.filter(mentor=user).delete()
    Bookmark.objects.filter(user=user).delete()
    Block.objects.filter(blocker=user).delete()
    Notification.objects.filter(user=user).delete()
    NotificationSettings.objects.filter(user=user).delete()
    Note.objects.filter(author=user, shared=False).delete()
    Reminder.objects.filter(user=user).delete()
    ReminderEmail.objects.filter(user=user).delete()
    TOTPDevice.objects.filter(user=user).delete()
    auth_tokens_revoke(user=user)
    _profile_clear(user)
    audit_record(
        actor=user, action="account.delete", target=user, detail={"mentorships_ended": ended}
    )

    user.email = f"deleted-{user.pk}@invalid.example"
    user.full_name = FORMER_MEMBER
    user.set_unusable_password()
    user.is_active = False
    # With the password gone every session's hash already fails; a fresh nonce makes it so
    # whatever the password hash does (User.get_session_auth_hash).
    user.session_nonce = secrets.token_hex(16)
    user.save()


# --- Retention ----------------------------------------------------------------------


@transaction.atomic
def demographics_purge_inactive(*, days: int, now: dt.datetime | None = None) -> int:
    """Delete the demographics of accounts switched off, or not signed into for ``days``
    (an account never signed into counts from the day it joined). Returns how many."""
    if days < 1:
        raise ApplicationError("Keep demographics at least one day.", fields={"days": [">= 1"]})
    cutoff = (now or timezone.now()) - dt.timedelta(days=days)
    inactive = (
        Q(user__is_active=False)
        | Q(user__last_login__lt=cutoff)
        | Q(user__last_login__isnull=True, user__date_joined__lt=cutoff)
    )
    deleted, _ = Demographics.objects.filter(inactive).delete()
    audit_record(actor=None, action="demographics.purge", detail={"days": days, "deleted": deleted})
    return deleted
