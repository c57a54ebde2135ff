"""Every read about mentorships, scoped to the people in them."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from accounts.models import User

from .models import Mentorship


def mentorships_for(*, user: User) -> QuerySet[Mentorship]:
    """Mentorships this person is in, as mentee or mentor; nobody else sees them."""
    return (
        Mentorship.objects.filter(Q(mentee=user) | Q(mentor=user))
        .select_related("mentee", "mentor", "mentee__profile", "mentor__profile",
                        "mentor__profile__institution")
        .order_by("status", "-started_at")
    )  # fmt: skip
