"""Mentor filters shared by the recommendations page and API (django-filter)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import django_filters
from django.db.models import F, Q, QuerySet

from accounts.choices import MeetingMode, SpecialtyFamily, Stage
from accounts.models import Institution, Interest, Language, Profile, Specialty

STAGE_BANDS = [
    ("near_peer", "Residents and fellows (near-peer)"),
    ("attending", "Attending physicians"),
]
BAND_STAGES = {
    "near_peer": [s for s in Stage if Stage.PGY1 <= s <= Stage.FELLOW],
    "attending": [Stage.ATTENDING_EARLY, Stage.ATTENDING_MID, Stage.ATTENDING_SENIOR],
}
MODE_FIELDS = {
    MeetingMode.IN_PERSON: "meets_in_person",
    MeetingMode.VIDEO: "meets_video",
    MeetingMode.PHONE: "meets_phone",
}


def _through(relation: str, lookup: str) -> Callable[..., QuerySet[Profile]]:
    """A filter method keeping profiles whose ``relation`` has a row matching ``lookup``."""
    through = getattr(Profile, relation).through

    def method(self: Any, qs: QuerySet[Profile], name: str, value: Any) -> QuerySet[Profile]:
        return qs.filter(pk__in=through.objects.filter(**{lookup: value}).values("profile_id"))

    return method


class MentorFilter(django_filters.FilterSet):
    specialty = django_filters.ModelChoiceFilter(
        field_name="specialties",
        to_field_name="slug",
        queryset=Specialty.objects.all(),
        label="Specialty",
        empty_label="Any",
        method="filter_specialty",
    )
    family = django_filters.ChoiceFilter(
        choices=SpecialtyFamily.choices,
        label="Specialty family",
        empty_label="Any",
        method="filter_family",
    )
    stage = django_filters.ChoiceFilter(
        choices=STAGE_BANDS, label="Career stage", empty_label="Any", method="filter_stage"
    )
    interest = django_filters.ModelChoiceFilter(
        to_field_name="slug",
        queryset=Interest.objects.all(),
        label="Interest",
        empty_label="Any",
        method="filter_interest",
    )
    meeting_mode = django_filters.ChoiceFilter(
        choices=MeetingMode.choices, label="Meets by", empty_label="Any", method="filter_mode"
    )
    institution = django_filters.ModelChoiceFilter(
        queryset=Institution.objects.all(),
        label="Institution",
        empty_label="Any",
        field_name="institution",
    )
    language = django_filters.ModelChoiceFilter(
        to_field_name="code",
        queryset=Language.objects.all(),
        label="Language",
        empty_label="Any",
        method="filter_language",
    )
    accepting_only = django_filters.ChoiceFilter(
        choices=[
            ("true", "Only mentors with a free place"),
            ("false", "Also mentors who are full"),
        ],
        empty_label=None,
        label="Availability",
        method="filter_accepting",
    )

    class Meta:
        model = Profile
        fields: list[str] = []

    # Many-to-many filters use a subquery so a mentor never appears twice.
    filter_specialty = _through("specialties", "specialty")
    filter_family = _through("specialties", "specialty__family")
    filter_interest = _through("interests", "interest")
    filter_language = _through("languages", "language")

    def filter_stage(self, qs: QuerySet[Profile], name: str, value: str) -> QuerySet:
        return qs.filter(stage__in=BAND_STAGES[value])

    def filter_mode(self, qs: QuerySet[Profile], name: str, value: str) -> QuerySet:
        return qs.filter(Q(**{MODE_FIELDS[MeetingMode(value)]: True}))

    def filter_accepting(self, qs: QuerySet[Profile], name: str, value: str) -> QuerySet:
        if value == "false":
            return qs
        # "Accepting now" means a free place too: a full mentor cannot take anyone.
        return qs.filter(accepting_mentees=True, active_mentees__lt=F("capacity"))
