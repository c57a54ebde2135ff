"""The relationship after a pair is made. Agreement, check-ins, feedback and reminders follow."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


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
    started_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(null=True, blank=True)

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
