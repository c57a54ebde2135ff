"""The relationship after a pair is made: agreement, goals, check-ins, notes, pulses, feedback."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.choices import MeetingMode, Stage
from accounts.models import Institution
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
    # Set when a coordinator's program made the pair.
    program = models.ForeignKey(
        "matching.Program", on_delete=models.SET_NULL, null=True, blank=True,
        related_name="mentorships",
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
    # Each real change is a new version to sign; its date starts the 7-day reminder clock.
    version = models.PositiveIntegerField(default=1)
    drafted_at = models.DateTimeField(default=timezone.now)
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
    # Bumped when the time moves: calendar SEQUENCE, and a fresh upcoming reminder.
    sequence = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["scheduled_at"]
        indexes = [
            models.Index(fields=["status", "scheduled_at"]),
            models.Index(fields=["mentorship", "status", "scheduled_at"]),
        ]
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


class Reminder(models.Model):
    """The ledger: one row per reminder that fell due, unique per (person, kind, target, period).

    A scan inserts rows for everything due (``ON CONFLICT DO NOTHING``: inserting
    twice is a no-op); delivery claims a person's pending rows under lock, sends
    at most one email a day and marks them in the same transaction.

    ``target_id`` is the mentorship (overdue, agreement, calendar, program deadline),
    the check-in (upcoming), the request (request reminders) or 0 (digest).
    ``period`` tells apart reminders of one target: the agreement's version, the
    check-in's sequence, the last logged check-in, the nudge number, the calendar
    date, or the digest's month (YYYYMM).
    """

    class Kind(models.TextChoices):
        REQUEST_NUDGE = "request_nudge", "A request waits for an answer"
        REQUEST_EXPIRING = "request_expiring", "A request is about to expire"
        CHECKIN_UPCOMING = "checkin_upcoming", "Upcoming check-in"
        CHECKIN_OVERDUE = "checkin_overdue", "Check-in overdue"
        AGREEMENT_UNSIGNED = "agreement_unsigned", "Agreement not signed"
        CALENDAR = "calendar", "Academic calendar"
        PROGRAM_DEADLINE = "program_deadline", "Program deadline"
        DIGEST = "digest", "Monthly digest"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        HELD = "held", "Held for the digest"
        SENT = "sent", "Sent"
        SKIPPED = "skipped", "Skipped"
        FAILED = "failed", "Failed"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reminders"
    )
    kind = models.CharField(max_length=30, choices=Kind.choices)
    target_id = models.PositiveBigIntegerField()
    period = models.PositiveIntegerField(default=0)
    due_at = models.DateTimeField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    # Quiet hours, the daily cap or a failed attempt push the next try to this time.
    not_before = models.DateTimeField(null=True, blank=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    skip_reason = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    done_at = models.DateTimeField(null=True, blank=True)
    email = models.ForeignKey(
        "ReminderEmail", on_delete=models.SET_NULL, null=True, blank=True, related_name="items"
    )

    class Meta:
        ordering = ["due_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "kind", "target_id", "period"], name="one_reminder_per_period"
            ),
            models.CheckConstraint(
                condition=Q(status__in=["sent", "skipped", "failed"], done_at__isnull=False)
                | (Q(status__in=["pending", "held"]) & Q(done_at__isnull=True)),
                name="reminder_done_iff_dated",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "due_at"]),
            models.Index(fields=["user", "status"]),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.target_id}/{self.period} for {self.user_id} ({self.status})"


class ReminderEmail(models.Model):
    """One reminder email sent to a person: at most one per person per local day."""

    class Kind(models.TextChoices):
        DAILY = "daily", "Reminders"
        DIGEST = "digest", "Monthly digest"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reminder_emails"
    )
    day = models.DateField()  # in the person's time zone
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.DAILY)
    subject = models.CharField(max_length=300)
    message_id = models.CharField(max_length=200)
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-sent_at"]
        constraints = [
            models.UniqueConstraint(fields=["user", "day"], name="one_reminder_email_a_day")
        ]

    def __str__(self) -> str:
        return f"Reminder email to {self.user_id} on {self.day}"


class AcademicDate(models.Model):
    """A date of an institution's academic calendar, with the prompt sent ahead of it.

    Pairs whose mentee is at one of ``stages`` (all stages if empty) are prompted
    ``lead_days`` before ``date``. US defaults are added for every institution and
    can be edited by its coordinators; ``default_key`` marks them.
    """

    class Category(models.TextChoices):
        EXAM = "exam", "Board exam"
        CLERKSHIP = "clerkship", "Clerkships"
        APPLICATION = "application", "Residency application"
        INTERVIEWS = "interviews", "Interview season"
        MATCH = "match", "The Match"
        PROGRAM = "program", "Program deadline"
        OTHER = "other", "Other"

    institution = models.ForeignKey(
        Institution, on_delete=models.CASCADE, related_name="academic_dates"
    )
    title = models.CharField(max_length=120)
    category = models.CharField(max_length=20, choices=Category.choices, default=Category.OTHER)
    date = models.DateField()
    stages = models.JSONField(default=list, blank=True)  # [Stage]; empty: every mentee
    lead_days = models.PositiveSmallIntegerField(default=21)
    prompt = models.CharField(max_length=300)
    # US defaults: which one, for which academic year (starting in July). A default a
    # coordinator removes is switched off rather than deleted, so it does not come back.
    default_key = models.CharField(max_length=40, blank=True)
    academic_year = models.PositiveSmallIntegerField(null=True, blank=True)
    active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["date", "title"]
        indexes = [models.Index(fields=["date"])]
        constraints = [
            models.UniqueConstraint(
                fields=["institution", "default_key", "academic_year"],
                condition=~Q(default_key=""),
                name="one_default_date_per_year",
            ),
            models.UniqueConstraint(
                fields=["institution", "title", "date"], name="one_academic_date_per_title_day"
            ),
            models.CheckConstraint(
                condition=Q(lead_days__gte=1, lead_days__lte=120), name="academic_lead_1_to_120"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.date})"

    @property
    def stage_labels(self) -> list[str]:
        return [Stage(s).label for s in self.stages if s in Stage.values]
