"""Every read about mentorships, scoped to the people in them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Avg, Count, F, Prefetch, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from accounts.choices import Role
from accounts.models import Profile, User
from matching.selectors import ResponseStats, response_stats

from .models import AcademicDate, Agreement, CheckIn, Feedback, Goal, Mentorship, Note, Pulse


def mentorships_for(*, user: User) -> QuerySet[Mentorship]:
    """Mentorships this person is in, as mentee or mentor; nobody else sees them."""
    return (
        Mentorship.objects.filter(Q(mentee=user) | Q(mentor=user))
        .select_related("mentee", "mentor", "mentee__profile", "mentor__profile",
                        "mentor__profile__institution")
        .order_by("status", "-started_at")
    )  # fmt: skip


def mentorship_for_party(*, user: User, mentorship_id: int) -> Mentorship:
    """One mentorship, for its mentee or mentor only: 404 for anyone else."""
    try:
        return mentorships_for(user=user).select_related("agreement").get(pk=mentorship_id)
    except Mentorship.DoesNotExist as exc:
        raise Http404("No such mentorship.") from exc


def notes_visible(*, user: User, mentorship: Mentorship) -> QuerySet[Note]:
    """Your own notes, and the notes the other side shared. Never their private ones."""
    return (
        Note.objects.filter(mentorship=mentorship)
        .filter(Q(author=user) | Q(shared=True))
        .select_related("author", "checkin")
    )


@dataclass(frozen=True)
class MentorshipPage:
    mentorship: Mentorship
    role: str  # "mentor" or "mentee": the viewer's side
    other: User
    agreement: Agreement
    goals: list[Goal]
    upcoming: list[CheckIn]
    past: list[CheckIn]
    notes: list[Note]
    pulse_due: list[CheckIn]
    my_feedback: Feedback | None
    thank_you_received: str

    @property
    def i_signed(self) -> bool:
        return self.agreement.is_signed_by(self.role)

    @property
    def other_signed(self) -> bool:
        return self.agreement.is_signed_by("mentee" if self.role == "mentor" else "mentor")

    @property
    def next_due(self) -> dt.date | None:
        """When the next check-in is due by the agreed cadence, counting from the last one."""
        last = max((c.completed_at for c in self.past if c.completed_at), default=None)
        start = last or self.mentorship.started_at
        return (start + dt.timedelta(days=self.agreement.cadence_days)).date()


def mentorship_page(*, user: User, mentorship_id: int) -> MentorshipPage:
    """Everything the pair's page shows to one side of it, in a fixed number of queries."""
    mentorship = mentorship_for_party(user=user, mentorship_id=mentorship_id)
    role = "mentor" if mentorship.mentor_id == user.pk else "mentee"
    other = mentorship.mentee if role == "mentor" else mentorship.mentor
    checkins: list[CheckIn] = list(
        CheckIn.objects.filter(mentorship=mentorship).prefetch_related(
            Prefetch("pulses", queryset=Pulse.objects.filter(person=user), to_attr="my_pulses")
        )
    )
    upcoming = [c for c in checkins if c.status == CheckIn.Status.SCHEDULED]
    past = sorted(
        (c for c in checkins if c.status != CheckIn.Status.SCHEDULED),
        key=lambda c: c.scheduled_at,
        reverse=True,
    )
    pulse_due = [
        c for c in past if c.status == CheckIn.Status.COMPLETED and not getattr(c, "my_pulses", [])
    ]
    feedback = list(Feedback.objects.filter(mentorship=mentorship))
    mine = next((f for f in feedback if f.author_id == user.pk), None)
    theirs = next((f for f in feedback if f.author_id != user.pk), None)
    return MentorshipPage(
        mentorship=mentorship,
        role=role,
        other=other,
        agreement=mentorship.agreement,
        goals=list(Goal.objects.filter(mentorship=mentorship)),
        upcoming=upcoming,
        past=past,
        notes=list(notes_visible(user=user, mentorship=mentorship)),
        pulse_due=pulse_due[:1],
        my_feedback=mine,
        thank_you_received=theirs.thank_you if theirs else "",
    )


def checkins_upcoming(*, user: User, limit: int = 5) -> QuerySet[CheckIn]:
    """The person's next check-ins across all their live mentorships, soonest first."""
    return (
        CheckIn.objects.filter(
            Q(mentorship__mentee=user) | Q(mentorship__mentor=user),
            mentorship__status__in=Mentorship.LIVE,
            status=CheckIn.Status.SCHEDULED,
            scheduled_at__gte=timezone.now() - dt.timedelta(hours=2),
        )
        .select_related("mentorship__mentee", "mentorship__mentor")
        .order_by("scheduled_at")[:limit]
    )


def checkin_for_party(*, user: User, checkin_id: int) -> CheckIn:
    try:
        return CheckIn.objects.select_related("mentorship__mentee", "mentorship__mentor").get(
            Q(mentorship__mentee=user) | Q(mentorship__mentor=user), pk=checkin_id
        )
    except CheckIn.DoesNotExist as exc:
        raise Http404("No such check-in.") from exc


# An average of one or two ratings says more about those pairs than about the mentor.
MIN_RATINGS = 3


@dataclass(frozen=True)
class TrackRecord:
    """What a mentor's past says about them, as anyone signed in may see it."""

    active_mentees: int
    past_mentees: int
    response: ResponseStats
    rating_count: int
    rating_average: float | None  # None until there are MIN_RATINGS ratings


def mentor_track_record(*, viewer: User, profile: Profile) -> TrackRecord:
    """Mentees now and before, how the mentor answers requests, and their mentees' rating.

    ``profile`` comes from ``accounts.selectors.public_mentor_profile`` for this viewer.
    Only counts and an average leave this function: no mentee, comment or single
    rating is ever shown. Four queries whatever the history.
    """
    mentor_id = profile.user_id
    counts = Mentorship.objects.filter(mentor_id=mentor_id).aggregate(
        active=Count("mentee", distinct=True, filter=Q(status__in=Mentorship.LIVE)),
        past=Count("mentee", distinct=True, filter=Q(status=Mentorship.Status.ENDED)),
    )
    # Only the mentee's side rates the mentor; the mentor's own survey is about the mentee.
    ratings = Feedback.objects.filter(
        mentorship__mentor_id=mentor_id, author_id=F("mentorship__mentee_id")
    ).aggregate(n=Count("pk"), average=Avg("rating"))
    response = response_stats(viewer=viewer, mentor_ids=[mentor_id])[mentor_id]
    enough = ratings["n"] >= MIN_RATINGS
    return TrackRecord(
        active_mentees=counts["active"],
        past_mentees=counts["past"],
        response=response,
        rating_count=ratings["n"],
        rating_average=round(float(ratings["average"]), 1) if enough else None,
    )


def academic_calendar(*, user: User, include_off: bool = False) -> QuerySet[AcademicDate]:
    """The academic calendar of the person's institution, from the last month on.

    Switched-off dates are shown only to the institution's coordinators (to switch
    them back on); nobody sees another institution's calendar.
    """
    institution_id = getattr(getattr(user, "profile", None), "institution_id", None)
    if institution_id is None:
        return AcademicDate.objects.none()
    dates = AcademicDate.objects.filter(
        institution_id=institution_id,
        date__gte=timezone.localdate() - dt.timedelta(days=31),
    )
    if not (include_off and user.role == Role.COORDINATOR):
        dates = dates.filter(active=True)
    return dates.order_by("date", "title")
