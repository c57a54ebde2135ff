"""Finding and pairing: requests from students to mentors (programs and match runs later)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q


class MentorRequest(models.Model):
    """A student's request to one mentor, possibly one of up to three in ranked order.

    Only one request of a ranked batch is with a mentor at a time (PENDING or
    INFO_REQUESTED); the others wait as QUEUED and move up when it is declined or
    expires.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Waiting for its turn"
        PENDING = "pending", "Waiting for the mentor"
        INFO_REQUESTED = "info_requested", "Mentor asked for more information"
        ACCEPTED = "accepted", "Accepted"
        DECLINED = "declined", "Declined"
        WITHDRAWN = "withdrawn", "Withdrawn"
        EXPIRED = "expired", "Expired"

    class DeclineReason(models.TextChoices):
        NO_CAPACITY = "no_capacity", "No capacity right now"
        NOT_MY_FIELD = "not_my_field", "Not my field"
        BETTER_FIT = "better_fit", "Someone else would fit better"
        OTHER = "other", "Other"

    class Cadence(models.TextChoices):
        WEEKLY = "weekly", "Weekly"
        BIWEEKLY = "biweekly", "Every 2 weeks"
        MONTHLY = "monthly", "Monthly"
        QUARTERLY = "quarterly", "Quarterly"

    OPEN = (Status.QUEUED, Status.PENDING, Status.INFO_REQUESTED)
    MAX_OPEN = 3

    mentee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="requests_sent"
    )
    mentor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="requests_received"
    )
    batch = models.UUIDField(default=uuid.uuid4, db_index=True)
    rank = models.PositiveSmallIntegerField(default=1)
    # Which of the student's three open places this request holds; NULL once closed.
    slot = models.PositiveSmallIntegerField(null=True, blank=True)
    single_mentor = models.BooleanField(
        default=True, help_text="Accepting one request of the batch withdraws the others."
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)

    goals = models.JSONField(default=dict, blank=True)
    expectations = models.TextField(max_length=2000)
    offers = models.TextField(max_length=1000, blank=True)
    cadence = models.CharField(max_length=20, choices=Cadence.choices, default=Cadence.MONTHLY)
    meeting_mode = models.CharField(max_length=20, blank=True)

    decline_reason = models.CharField(max_length=20, choices=DeclineReason.choices, blank=True)
    decline_note = models.TextField(max_length=1000, blank=True)
    suggested_mentor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+",
    )  # fmt: skip

    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    responded_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["mentee", "mentor"],
                condition=Q(status__in=["queued", "pending", "info_requested"]),
                name="one_open_request_per_pair",
            ),
            # At most three open requests per student: each holds one of slots 1-3.
            models.UniqueConstraint(
                fields=["mentee", "slot"],
                condition=Q(slot__isnull=False),
                name="one_request_per_open_slot",
            ),
            models.CheckConstraint(
                condition=Q(slot__isnull=True) | Q(slot__gte=1, slot__lte=3),
                name="request_slot_1_to_3",
            ),
            models.CheckConstraint(
                condition=(
                    Q(status__in=["queued", "pending", "info_requested"], slot__isnull=False)
                    | (
                        ~Q(status__in=["queued", "pending", "info_requested"])
                        & Q(slot__isnull=True)
                    )
                ),
                name="request_open_iff_slot",
            ),
            models.CheckConstraint(
                condition=Q(rank__gte=1, rank__lte=3), name="request_rank_1_to_3"
            ),
            models.CheckConstraint(
                condition=~Q(mentee=models.F("mentor")), name="request_not_to_self"
            ),
        ]
        indexes = [models.Index(fields=["status", "expires_at"])]

    def __str__(self) -> str:
        return f"Request {self.pk} {self.mentee_id}→{self.mentor_id} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN


class RequestMessage(models.Model):
    """The conversation on a request: the mentor's questions and the student's answers."""

    request = models.ForeignKey(MentorRequest, on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    body = models.TextField(max_length=2000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"Message on request {self.request_id}"


class Bookmark(models.Model):
    """A mentor a student saved to come back to."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    mentor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="bookmarked_by"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["user", "mentor"], name="one_bookmark_per_mentor"),
            models.CheckConstraint(condition=~Q(user=models.F("mentor")), name="bookmark_not_self"),
        ]

    def __str__(self) -> str:
        return f"Bookmark {self.user_id}→{self.mentor_id}"
