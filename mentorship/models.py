"""The relationship after a pair is made: agreement, goals, check-ins, notes, pulses, feedback."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q

from accounts.choices import MeetingMode
from matching.models import MentorRequest

Cadence = MentorRequest.Cadence
CADENCE_DAYS = {Cadence.WEEKLY: 7, Cadence.BIWEEKLY: 14, Cadence.MONTHLY: 30, Cadence.QUARTERLY: 91}


class Mentorship(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Paused"
        ENDED = "ended", "Ended"

    class Source(models.TextChoices):
        REQUEST = "request", "Student request"
        PROGRAM = "program", "School program"

    LIVE = (Status.ACTIVE, Status.PAUSED)

    mentee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mentorships_as_mentee"
    )
    mentor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mentorships_as_mentor"
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    source = models.CharField(max_length=20, choices=Source.choices, default=Source.REQUEST)
    request = models.OneToOneField(
        "matching.MentorRequest", on_delete=models.SET_NULL, null=True, blank=True,
        related_name="mentorship",
    )  # fmt: skip

    class EndReason(models.TextChoices):
        GOALS_MET = "goals_met", "We reached our goals"
        TERM_OVER = "term_over", "The agreed term is over"
        NOT_A_FIT = "not_a_fit", "It was not a good fit"
        NO_TIME = "no_time", "Not enough time on one side"
        OTHER = "other", "Other"

    started_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+",
    )  # fmt: skip
    end_reason = models.CharField(max_length=20, choices=EndReason.choices, blank=True)
    # Set when two negative pulses in a row made us offer the mentee a re-match.
    rematch_offered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["mentee", "mentor"],
                condition=Q(status__in=["active", "paused"]),
                name="one_live_mentorship_per_pair",
            ),
            models.CheckConstraint(
                condition=~Q(mentee=models.F("mentor")), name="mentorship_not_with_self"
            ),
            models.CheckConstraint(
                condition=Q(status="ended", ended_at__isnull=False)
                | (~Q(status="ended") & Q(ended_at__isnull=True)),
                name="mentorship_ended_iff_dated",
            ),
        ]

    def __str__(self) -> str:
        return f"Mentorship {self.pk}: {self.mentor_id} mentors {self.mentee_id} ({self.status})"

    @property
    def is_live(self) -> bool:
        return self.status in self.LIVE

    def other_party_id(self, user_id: int) -> int:
        return self.mentor_id if user_id == self.mentee_id else self.mentee_id


class Agreement(models.Model):
    """What the pair agree at the start, signed by both. Any change asks both to sign again."""

    class Scheduler(models.TextChoices):
        MENTEE = "mentee", "The mentee"
        MENTOR = "mentor", "The mentor"
        EITHER = "either", "Either of us"

    class Duration(models.TextChoices):
        TASK = "task", "Task-specific (one goal, a few weeks)"
        SHORT = "short", "Short-term (a few months)"
        LONG = "long", "Long-term (a year or more)"

    mentorship = models.OneToOneField(
        Mentorship, on_delete=models.CASCADE, related_name="agreement"
    )
    cadence = models.CharField(max_length=20, choices=Cadence.choices, default=Cadence.MONTHLY)
    meeting_mode = models.CharField(
        max_length=20, choices=MeetingMode.choices, default=MeetingMode.VIDEO
    )
    scheduler = models.CharField(max_length=20, choices=Scheduler.choices, default=Scheduler.MENTEE)
    confidentiality = models.TextField(
        "confidentiality and boundaries", max_length=2000, blank=True
    )
    duration = models.CharField(max_length=20, choices=Duration.choices, default=Duration.SHORT)
    review_date = models.DateField()
    mentee_signed_at = models.DateTimeField(null=True, blank=True)
    mentor_signed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Agreement of mentorship {self.mentorship_id}"

    @property
    def is_signed(self) -> bool:
        return self.mentee_signed_at is not None and self.mentor_signed_at is not None

    def is_signed_by(self, side: str) -> bool:
        """Whether "mentee" or "mentor" has signed the current text."""
        return getattr(self, f"{side}_signed_at") is not None

    @property
    def cadence_days(self) -> int:
        return CADENCE_DAYS[Cadence(self.cadence)]


class Goal(models.Model):
    """One of the pair's goals, with a target date and progress updated at check-ins."""

    mentorship = models.ForeignKey(Mentorship, on_delete=models.CASCADE, related_name="goals")
    title = models.CharField(max_length=200)
    target_date = models.DateField(null=True, blank=True)
    progress = models.PositiveSmallIntegerField(default=0)  # percent
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["target_date", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(progress__lte=100), name="goal_progress_percent")
        ]

    def __str__(self) -> str:
        return self.title


class CheckIn(models.Model):
    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"

    mentorship = models.ForeignKey(Mentorship, on_delete=models.CASCADE, related_name="checkins")
    scheduled_at = models.DateTimeField()
    duration_minutes = models.PositiveSmallIntegerField(default=30)
    mode = models.CharField(max_length=20, choices=MeetingMode.choices, default=MeetingMode.VIDEO)
    location = models.CharField("link or place", max_length=300, blank=True)
    agenda = models.TextField(max_length=4000, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.SCHEDULED)
    completed_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["scheduled_at"]
        indexes = [models.Index(fields=["status", "scheduled_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="completed", completed_at__isnull=False)
                | (~Q(status="completed") & Q(completed_at__isnull=True)),
                name="checkin_completed_iff_dated",
            ),
            models.CheckConstraint(
                condition=Q(duration_minutes__gte=5, duration_minutes__lte=480),
                name="checkin_duration_5_to_480",
            ),
        ]

    def __str__(self) -> str:
        return f"Check-in {self.pk} of mentorship {self.mentorship_id}"

    @property
    def ends_at(self) -> dt.datetime:
        return self.scheduled_at + dt.timedelta(minutes=self.duration_minutes)


class Note(models.Model):
    """A note about the mentorship: private to its author unless shared with the pair."""

    mentorship = models.ForeignKey(Mentorship, on_delete=models.CASCADE, related_name="notes")
    checkin = models.ForeignKey(
        CheckIn, on_delete=models.SET_NULL, null=True, blank=True, related_name="notes"
    )
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    body = models.TextField(max_length=5000)
    shared = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Note {self.pk} by {self.author_id}"


class Pulse(models.Model):
    """After a check-in, each side answers "Is this mentorship working for you?". Private."""

    class Answer(models.TextChoices):
        YES = "yes", "Yes, it's working"
        PARTLY = "partly", "Partly"
        NO = "no", "No, not really"

    checkin = models.ForeignKey(CheckIn, on_delete=models.CASCADE, related_name="pulses")
    person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    answer = models.CharField(max_length=10, choices=Answer.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["checkin", "person"], name="one_pulse_per_checkin")
        ]

    def __str__(self) -> str:
        return f"Pulse {self.answer} on check-in {self.checkin_id}"


class Feedback(models.Model):
    """The closing survey each side fills in when a mentorship ends."""

    class GoalsMet(models.TextChoices):
        YES = "yes", "Yes"
        PARTLY = "partly", "Partly"
        NO = "no", "No"

    mentorship = models.ForeignKey(Mentorship, on_delete=models.CASCADE, related_name="feedback")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    rating = models.PositiveSmallIntegerField()  # 1-5: how helpful was it
    goals_met = models.CharField(max_length=10, choices=GoalsMet.choices)
    would_recommend = models.BooleanField(default=True)
    comment = models.TextField(max_length=2000, blank=True)  # private to the platform
    thank_you = models.TextField(max_length=2000, blank=True)  # shown to the other side
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["mentorship", "author"], name="one_feedback_per_side"),
            models.CheckConstraint(
                condition=Q(rating__gte=1, rating__lte=5), name="feedback_rating_1_to_5"
            ),
        ]

    def __str__(self) -> str:
        return f"Feedback {self.rating}/5 on mentorship {self.mentorship_id}"
