"""HTML forms for the mentorship pages. Validation of the rules lives in the services."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

from django import forms
from django.utils import timezone

from accounts.choices import MeetingMode, Stage
from matching.models import MentorRequest

from .models import AcademicDate, Agreement, Feedback, Goal, Mentorship, Pulse

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class AgreementForm(forms.Form):
    cadence = forms.ChoiceField(
        choices=MentorRequest.Cadence.choices, label="How often you meet",
        help_text="Regular but not too frequent: monthly suits most pairs.",
    )  # fmt: skip
    meeting_mode = forms.ChoiceField(choices=MeetingMode.choices, label="Usual way to meet")
    scheduler = forms.ChoiceField(
        choices=Agreement.Scheduler.choices, label="Who proposes the next check-in"
    )
    duration = forms.ChoiceField(choices=Agreement.Duration.choices, label="Kind of mentorship")
    review_date = forms.DateField(
        widget=DATE, label="Review date", help_text="When you'll look back and decide to go on."
    )
    confidentiality = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), max_length=2000, required=False,
        label="Confidentiality and boundaries",
        help_text="What stays between you, how to reach each other, topics off limits.",
    )  # fmt: skip

    def __init__(self, *args: Any, goals: list[Goal] = (), **kwargs: Any) -> None:  # type: ignore[assignment]
        super().__init__(*args, **kwargs)
        self.goal_rows = []
        rows: list[Goal | None] = [*goals, None, None]
        for index, goal in enumerate(rows):
            prefix = f"goal-{index}"
            self.fields[f"{prefix}-id"] = forms.IntegerField(
                required=False, widget=forms.HiddenInput, initial=goal.pk if goal else None
            )
            self.fields[f"{prefix}-title"] = forms.CharField(
                required=False, max_length=200, label=f"Goal {index + 1}",
                initial=goal.title if goal else "",
            )  # fmt: skip
            self.fields[f"{prefix}-target_date"] = forms.DateField(
                required=False, widget=DATE, label="Target date",
                initial=goal.target_date if goal else None,
            )  # fmt: skip
            self.goal_rows.append(
                (self[f"{prefix}-id"], self[f"{prefix}-title"], self[f"{prefix}-target_date"])
            )

    def agreement_data(self) -> dict[str, Any]:
        data = {
            key: self.cleaned_data[key]
            for key in ("cadence", "meeting_mode", "scheduler", "duration", "review_date",
                        "confidentiality")
        }  # fmt: skip
        data["goals"] = [
            {
                "id": self.cleaned_data.get(f"goal-{i}-id"),
                "title": self.cleaned_data.get(f"goal-{i}-title", ""),
                "target_date": self.cleaned_data.get(f"goal-{i}-target_date"),
            }
            for i in range(len(self.goal_rows))
        ]
        return data


class LocalDateTimeField(forms.DateTimeField):
    """A ``datetime-local`` input read in the person's own time zone."""

    widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("input_formats", ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"])
        super().__init__(*args, **kwargs)


class CheckInForm(forms.Form):
    scheduled_at = LocalDateTimeField(label="When")
    duration_minutes = forms.IntegerField(
        min_value=5, max_value=480, initial=30, label="Length (minutes)"
    )
    mode = forms.ChoiceField(choices=MeetingMode.choices, label="How")
    location = forms.CharField(
        max_length=300, required=False, label="Video link or place",
    )  # fmt: skip
    agenda = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), max_length=4000, required=False,
        label="Agenda", help_text="The mentee prepares it: what you'd like to talk about.",
    )  # fmt: skip

    def __init__(self, *args: Any, tz_name: str = "UTC", **kwargs: Any) -> None:
        self.tz = zoneinfo.ZoneInfo(tz_name)
        super().__init__(*args, **kwargs)

    def clean_scheduled_at(self) -> dt.datetime:
        value: dt.datetime = self.cleaned_data["scheduled_at"]
        # Django made it aware in the server's zone; the person typed their own local time.
        return timezone.make_naive(value).replace(tzinfo=self.tz)

    def checkin_data(self) -> dict[str, Any]:
        return dict(self.cleaned_data)


class CompleteForm(forms.Form):
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}), max_length=5000, required=False,
        label="Notes from the check-in",
    )  # fmt: skip
    note_shared = forms.BooleanField(
        required=False, initial=True, label="Share these notes with the other side"
    )

    def __init__(self, *args: Any, goals: list[Goal] = (), **kwargs: Any) -> None:  # type: ignore[assignment]
        super().__init__(*args, **kwargs)
        self.goal_fields = []
        for goal in goals:
            name = f"progress-{goal.pk}"
            self.fields[name] = forms.IntegerField(
                min_value=0, max_value=100, initial=goal.progress, label=f"{goal.title} (%)",
                required=False,
                widget=forms.NumberInput(attrs={"step": 10}),
            )  # fmt: skip
            self.goal_fields.append(self[name])

    def goal_progress(self) -> dict[str, int]:
        return {
            name.removeprefix("progress-"): value
            for name, value in self.cleaned_data.items()
            if name.startswith("progress-") and value is not None
        }


class PulseForm(forms.Form):
    answer = forms.ChoiceField(
        choices=Pulse.Answer.choices, widget=forms.RadioSelect,
        label="Is this mentorship working for you?",
    )  # fmt: skip


class NoteForm(forms.Form):
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=5000, label="Note")
    shared = forms.BooleanField(
        required=False, label="Share with the other side",
        help_text="Unticked, only you will ever see this note.",
    )  # fmt: skip


class EndForm(forms.Form):
    reason = forms.ChoiceField(
        choices=Mentorship.EndReason.choices, widget=forms.RadioSelect, label="Why it ends"
    )


class RenewForm(forms.Form):
    review_date = forms.DateField(widget=DATE, label="Next review date")


class FeedbackForm(forms.Form):
    rating = forms.TypedChoiceField(
        choices=[(i, str(i)) for i in range(5, 0, -1)], coerce=int, widget=forms.RadioSelect,
        label="How helpful was this mentorship? (5 = very)",
    )  # fmt: skip
    goals_met = forms.ChoiceField(
        choices=Feedback.GoalsMet.choices, widget=forms.RadioSelect,
        label="Did you reach the goals you agreed?",
    )  # fmt: skip
    would_recommend = forms.BooleanField(
        required=False, initial=True, label="I'd recommend this kind of mentorship to a friend"
    )
    comment = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), max_length=2000, required=False,
        label="Anything we should know", help_text="Private: only the platform team reads it.",
    )  # fmt: skip
    thank_you = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), max_length=2000, required=False,
        label="A thank-you note", help_text="Sent to the other side.",
    )  # fmt: skip


CALENDAR_STAGES = [
    (s.value, s.label)
    for s in (Stage.PREMED, Stage.MS1, Stage.MS2, Stage.MS3, Stage.MS4, Stage.PGY1, Stage.PGY2)
]


class AcademicDateForm(forms.Form):
    title = forms.CharField(max_length=120, label="Name", help_text="e.g. “ERAS opens”")
    category = forms.ChoiceField(choices=AcademicDate.Category.choices)
    date = forms.DateField(widget=DATE)
    stages = forms.TypedMultipleChoiceField(
        choices=CALENDAR_STAGES, coerce=int, required=False,
        widget=forms.CheckboxSelectMultiple, label="Mentees at these stages",
        help_text="Their pairs get the prompt. None ticked: every pair.",
    )  # fmt: skip
    lead_days = forms.IntegerField(
        min_value=1, max_value=120, initial=21, label="Days ahead to prompt pairs"
    )
    prompt = forms.CharField(
        max_length=300, widget=forms.Textarea(attrs={"rows": 2}),
        label="What pairs could do", help_text="e.g. “review the personal statement together.”",
    )  # fmt: skip
