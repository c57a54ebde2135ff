"""HTML forms of the matching domain."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import cache
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.db.models import QuerySet
from django.urls import reverse
from django.utils.choices import CallableChoiceIterator
from django.utils.html import format_html
from django.utils.safestring import SafeString

from accounts.choices import Goal, MeetingMode
from accounts.forms import GOAL_PRIORITY_CHOICES
from accounts.models import Profile

from .engine.scoring import DEFAULT_WEIGHTS
from .models import MentorRequest, Program, Report

# The empty choice of each mentor select; the search endpoint refills these selects,
# and this also says which fields it may fill.
NO_MENTOR = {
    "first": "— choose a mentor —",
    "second": "— none —",
    "third": "— none —",
    "suggested_mentor": "— no suggestion —",
}


def mentor_label(profile: Profile) -> str:
    return f"{profile.user.display_name} — {profile.headline or profile.stage_label}"


class MentorSelect(forms.Select):
    """A select of a few mentors, then a search box that refills it from the server.

    Listing every accepting mentor made pages of thousands of options. The box asks
    ``matching:mentor_search`` (HTMX) for the mentors matching what was typed. Its
    ``form`` names no form, so it belongs to none: Enter in it must not send the
    request or the decline around it, and its text is not part of either.
    """

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        select = super().render(name, value, attrs, renderer)
        search = format_html(
            '<label class="mentor-search">Find a mentor by name or specialty '
            '<input type="search" name="q" form="no-form" autocomplete="off" maxlength="100" '
            'hx-get="{}?{}" hx-trigger="input changed delay:300ms" '
            'hx-target="previous select" hx-include="previous select" hx-sync="this:replace">'
            "</label>",
            reverse("matching:mentor_search"),
            urlencode({"field": name}),
        )
        return select + search


class MentorChoiceField(forms.ModelChoiceField):
    """Any mentor of ``queryset`` is valid; the select lists only those given to ``offer``."""

    widget = MentorSelect
    default_error_messages = {
        "invalid_choice": "This mentor is not accepting mentees now: find another one by "
        "name or specialty.",
    }

    def label_from_instance(self, obj: Profile) -> str:
        return mentor_label(obj)

    def offer(self, mentors: Callable[[], Iterable[Profile]]) -> None:
        """List the empty choice and ``mentors()``, called only if the form is rendered."""

        def choices() -> list[tuple[Any, str]]:
            return [("", str(self.empty_label)), *((p.pk, mentor_label(p)) for p in mentors())]

        assert isinstance(self.widget, forms.Select)
        self.widget.choices = CallableChoiceIterator(choices)


def _offer_mentors(
    form: forms.Form,
    names: Iterable[str],
    mentors: QuerySet[Profile],
    shortlist: Callable[[], Iterable[Profile]],
) -> None:
    """Each of the form's mentor selects lists the mentors picked so far (while still
    available), then the shortlist: one computation for all the selects."""
    if form.is_bound:
        picked = [str(form.data.get(form.add_prefix(name), "")) for name in names]
    else:
        picked = [str(form.initial.get(name, "")) for name in names]
    # An id too long for a 64-bit column names no row (and would overflow the query).
    ids = [int(value) for value in picked if value.isdigit() and len(value) < 19]

    @cache
    def offered() -> list[Profile]:
        rows = mentors.in_bulk(ids) if ids else {}
        chosen = [rows[pk] for pk in dict.fromkeys(ids) if pk in rows]
        return chosen + [p for p in shortlist() if p.pk not in rows]

    for name in names:
        field = form.fields[name]
        assert isinstance(field, MentorChoiceField)
        field.queryset = mentors
        field.offer(offered)


class RequestForm(forms.Form):
    first = MentorChoiceField(
        queryset=Profile.objects.none(), label="First choice", empty_label=NO_MENTOR["first"]
    )
    second = MentorChoiceField(
        queryset=Profile.objects.none(),
        required=False,
        label="Second choice",
        empty_label=NO_MENTOR["second"],
    )
    third = MentorChoiceField(
        queryset=Profile.objects.none(),
        required=False,
        label="Third choice",
        empty_label=NO_MENTOR["third"],
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

    def __init__(
        self,
        *args: Any,
        mentors: QuerySet[Profile],
        goals: dict[str, int],
        shortlist: Callable[[], Iterable[Profile]] = list,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        _offer_mentors(self, ("first", "second", "third"), mentors, shortlist)
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
        empty_label=NO_MENTOR["suggested_mentor"],
    )

    def __init__(self, *args: Any, mentors: QuerySet[Profile], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _offer_mentors(self, ("suggested_mentor",), mentors, list)


class MessageForm(forms.Form):
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), max_length=2000, label="Message"
    )


class ReportForm(forms.Form):
    reason = forms.ChoiceField(
        choices=Report.Reason.choices, widget=forms.RadioSelect, label="What was wrong?"
    )
    details = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=2000,
        required=False,
        label="Anything staff should know",
        help_text="Only platform staff read this. The other person is not told who reported.",
    )
    block = forms.BooleanField(required=False)

    def __init__(self, *args: Any, other_name: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields[
            "block"
        ].label = f"Also block {other_name}: requests and messages between you stop"


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
