"""HTML forms of the matching domain."""

from __future__ import annotations

from typing import Any

from django import forms

from accounts.choices import Goal, MeetingMode
from accounts.forms import GOAL_PRIORITY_CHOICES
from accounts.models import Profile

from .models import MentorRequest


class MentorChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Profile) -> str:
        return f"{obj.user.display_name} — {obj.headline or obj.stage_label}"


class RequestForm(forms.Form):
    first = MentorChoiceField(queryset=Profile.objects.none(), label="First choice")
    second = MentorChoiceField(
        queryset=Profile.objects.none(),
        required=False,
        label="Second choice",
        empty_label="— none —",
    )
    third = MentorChoiceField(
        queryset=Profile.objects.none(),
        required=False,
        label="Third choice",
        empty_label="— none —",
    )
    expectations = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5}),
        max_length=2000,
        label="What you hope for",
        help_text="Your goals for the next months, how often you'd like to meet, and what "
        "you'd like this mentor's help with.",
    )
    offers = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=1000,
        required=False,
        label="What you can offer in return",
    )
    cadence = forms.ChoiceField(
        choices=MentorRequest.Cadence.choices, initial="monthly", label="Meeting cadence"
    )
    meeting_mode = forms.ChoiceField(
        choices=MeetingMode.choices, initial="video", label="Preferred way to meet"
    )
    single_mentor = forms.BooleanField(
        required=False,
        initial=True,
        label="I want one mentor from this list",
        help_text="When one accepts, the others are withdrawn. Untick to build a team.",
    )

    def __init__(self, *args: Any, mentors: Any, goals: dict[str, int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("first", "second", "third"):
            field = self.fields[name]
            assert isinstance(field, forms.ModelChoiceField)
            field.queryset = mentors
        for goal in Goal:
            self.fields[f"goal_{goal.value}"] = forms.TypedChoiceField(
                label=goal.label,
                choices=GOAL_PRIORITY_CHOICES,
                required=False,
                coerce=int,
                empty_value=None,
                initial=str(goals.get(goal.value, "")),
            )

    @property
    def goal_fields(self) -> list[forms.BoundField]:
        return [self[f"goal_{goal.value}"] for goal in Goal]

    def chosen_mentors(self) -> list[Profile]:
        picks = [self.cleaned_data.get(name) for name in ("first", "second", "third")]
        return [p for p in picks if p is not None]

    def goals(self) -> dict[str, int]:
        return {
            goal.value: self.cleaned_data[f"goal_{goal.value}"]
            for goal in Goal
            if self.cleaned_data.get(f"goal_{goal.value}")
        }


class DeclineForm(forms.Form):
    reason = forms.ChoiceField(choices=MentorRequest.DeclineReason.choices)
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=1000,
        required=False,
        label="A kind note (optional)",
    )
    suggested_mentor = MentorChoiceField(
        queryset=Profile.objects.none(),
        required=False,
        label="Try this mentor instead",
        empty_label="— no suggestion —",
    )

    def __init__(self, *args: Any, mentors: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["suggested_mentor"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = mentors


class MessageForm(forms.Form):
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), max_length=2000, label="Message"
    )
