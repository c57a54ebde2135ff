"""HTML forms of the matching domain."""

from __future__ import annotations

from typing import Any

from django import forms

from accounts.choices import Goal, MeetingMode
from accounts.forms import GOAL_PRIORITY_CHOICES
from accounts.models import Profile

from .engine.scoring import DEFAULT_WEIGHTS
from .models import MentorRequest, Program


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


# What each engine factor means to a coordinator, in the order the form shows them.
WEIGHT_LABELS = {
    "specialty": "Same or closely related specialty",
    "stage": "Career stage fit (near-peer or senior, as the mentee prefers)",
    "interests": "Shared research and clinical interests",
    "goals": "Mentor's strengths cover the mentee's goals",
    "concordance": "Gender or ethnicity the mentee privately asked for",
    "language": "Shared language",
    "meeting": "Compatible ways to meet",
    "timezone": "Overlapping working hours",
    "institution": "Institution preference",
    "availability": "Mentor has time (hours a month, free places)",
    "mentor_preference": "Mentor's preferred mentee stages",
    "style": "Mentoring style",
}


PROGRAM_FORM_FIELDS = [
    "name", "description", "starts_on", "ends_on", "enrol_by", "match_by", "status",
    "objective", "demand", "mentor_stage_rule", "institution_rule", "respect_conflicts",
    "default_cadence",
]  # fmt: skip


class ProgramForm(forms.Form):
    """A program's settings; the engine weights are one number field per factor.

    A plain form over the model's fields: program_save checks the rules (dates, unique
    name) and names the field, so the model's own constraint messages are not used.
    """

    def __init__(self, *args: Any, instance: Program | None = None, **kwargs: Any) -> None:
        if instance is not None:
            kwargs.setdefault("initial", forms.model_to_dict(instance, PROGRAM_FORM_FIELDS))
        super().__init__(*args, **kwargs)
        self.fields.update(
            forms.fields_for_model(
                Program,
                fields=PROGRAM_FORM_FIELDS,
                widgets={
                    "description": forms.Textarea(attrs={"rows": 3}),
                    "starts_on": forms.DateInput(attrs={"type": "date"}),
                    "ends_on": forms.DateInput(attrs={"type": "date"}),
                    "enrol_by": forms.DateInput(attrs={"type": "date"}),
                    "match_by": forms.DateInput(attrs={"type": "date"}),
                },
                labels={
                    "enrol_by": "Enrolment closes on",
                    "match_by": "Matches published by",
                    "respect_conflicts": "Respect mentors' declared conflicts of interest",
                    "default_cadence": "Check-in cadence for new pairs",
                    "mentor_stage_rule": "Mentors",
                    "institution_rule": "Mentors' institution",
                    "demand": "Each mentee gets",
                },
                help_texts={
                    "respect_conflicts": "A mentor who grades or selects these students is "
                    "never paired with them.",
                    "objective": "Best matches can leave a few mentees without a mentor when "
                    "the fit is poor; everyone matched first fills every place it can.",
                },
            )
        )
        current = instance.weights if instance is not None and instance.weights else {}
        for factor, label in WEIGHT_LABELS.items():
            self.fields[f"weight_{factor}"] = forms.FloatField(
                label=label,
                min_value=0,
                max_value=10,
                initial=current.get(factor, DEFAULT_WEIGHTS[factor]),
                widget=forms.NumberInput(attrs={"step": "0.5"}),
            )

    def weight_fields(self) -> list[forms.BoundField]:
        return [self[f"weight_{factor}"] for factor in WEIGHT_LABELS]

    def rule_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in PROGRAM_FORM_FIELDS]

    def data_for_service(self) -> dict[str, Any]:
        data = {name: self.cleaned_data[name] for name in PROGRAM_FORM_FIELDS}
        # Only what differs from the engine's defaults is stored.
        data["weights"] = {
            factor: self.cleaned_data[f"weight_{factor}"]
            for factor in WEIGHT_LABELS
            if self.cleaned_data[f"weight_{factor}"] != DEFAULT_WEIGHTS[factor]
        }
        return data
