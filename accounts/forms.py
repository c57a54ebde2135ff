"""HTML forms. They parse and label; the services decide and write."""

from __future__ import annotations

import zoneinfo
from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm

from .choices import (
    REMINDER_EMAIL_KINDS,
    SIGNUP_ROLES,
    STAGES_BY_ROLE,
    Delivery,
    EmailKind,
    Ethnicity,
    Gender,
    Goal,
    InstitutionPreference,
    MeetingMode,
    MentoringStyle,
    MentorStagePreference,
    Offer,
    Priority,
    Role,
    Stage,
)
from .models import MAX_CAPACITY, MAX_HOURS_PER_MONTH, ConflictOfInterest, Profile, Specialty, User
from .selectors import institution_list, interest_list, language_list, specialty_list

_REGIONS = ("America/", "Europe/", "Asia/", "Africa/", "Australia/", "Pacific/")
COMMON_TIMEZONES = [
    *sorted(tz for tz in zoneinfo.available_timezones() if tz.startswith(_REGIONS)),
    "UTC",
]


class EmailLoginForm(AuthenticationForm):
    username = forms.EmailField(
        label="Email", widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"})
    )


class TwoFactorCodeForm(forms.Form):
    code = forms.CharField(
        label="6-digit code",
        max_length=12,
        help_text="From your authenticator app. A new code appears every 30 seconds.",
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )


class AccountPasswordResetForm(PasswordResetForm):
    """Also reaches active accounts that never had a password: people a coordinator
    imported set theirs through this link, and theirs may have expired."""

    def get_users(self, email: str) -> Any:
        return User.objects.filter(email__iexact=email, is_active=True)


class SignupForm(forms.Form):
    full_name = forms.CharField(
        max_length=150, label="Full name", widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    email = forms.EmailField(widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    role = forms.ChoiceField(
        label="I am a",
        choices=[(role.value, role.label) for role in SIGNUP_ROLES],
        widget=forms.RadioSelect,
        help_text="Residents can both mentor students and look for a mentor themselves.",
    )
    password = forms.CharField(
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="At least 12 characters; avoid common passwords.",
    )


class AboutForm(forms.Form):
    full_name = forms.CharField(max_length=150, label="Full name")
    stage = forms.TypedChoiceField(label="Career stage", coerce=int, choices=())
    institution = forms.ModelChoiceField(
        queryset=institution_list(), required=False, empty_label="— Choose your institution —"
    )
    headline = forms.CharField(
        max_length=120,
        required=False,
        help_text="One line, e.g. “MS2 interested in orthopaedic trauma research”.",
    )
    bio = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5}),
        max_length=2000,
        required=False,
        help_text="A few sentences about you and your path.",
    )
    timezone = forms.ChoiceField(choices=[(tz, tz.replace("_", " ")) for tz in COMMON_TIMEZONES])
    languages = forms.ModelMultipleChoiceField(
        queryset=language_list(), required=False, widget=forms.CheckboxSelectMultiple
    )
    meeting_modes = forms.MultipleChoiceField(
        choices=MeetingMode.choices,
        widget=forms.CheckboxSelectMultiple,
        required=True,
        label="How you can meet",
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        stages = STAGES_BY_ROLE.get(Role(user.role), list(Stage))
        stage_field = self.fields["stage"]
        assert isinstance(stage_field, forms.TypedChoiceField)
        stage_field.choices = [(stage.value, stage.label) for stage in stages]
        if user.role == Role.COORDINATOR:
            self.fields["stage"].required = False
            self.fields["stage"].widget = forms.HiddenInput()

    @staticmethod
    def initial_for(profile: Profile) -> dict[str, Any]:
        return {
            "full_name": profile.user.full_name,
            "stage": profile.stage,
            "institution": profile.institution,
            "headline": profile.headline,
            "bio": profile.bio,
            "timezone": profile.timezone,
            "languages": list(profile.languages.all()),
            "meeting_modes": profile.meeting_modes,
        }

    def profile_data(self) -> dict[str, Any]:
        data = self.cleaned_data
        modes = set(data["meeting_modes"])
        result = {
            "institution": data["institution"],
            "headline": data["headline"],
            "bio": data["bio"],
            "timezone": data["timezone"],
            "languages": data["languages"],
            "meets_in_person": MeetingMode.IN_PERSON in modes,
            "meets_video": MeetingMode.VIDEO in modes,
            "meets_phone": MeetingMode.PHONE in modes,
        }
        if data.get("stage") not in (None, ""):
            result["stage"] = data["stage"]
        return result


class FieldForm(forms.Form):
    specialties = forms.ModelMultipleChoiceField(
        queryset=specialty_list(), widget=forms.CheckboxSelectMultiple, required=False
    )
    interests = forms.ModelMultipleChoiceField(
        queryset=interest_list(),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        label="Research interests and paths",
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if user.role == Role.STUDENT:
            self.fields["specialties"].label = "Specialties you are considering"
        else:
            self.fields["specialties"].label = "Your specialty and subspecialties"

    def specialty_groups(self) -> list[tuple[str, list[forms.BoundField]]]:
        """Checkboxes grouped under their family, so 56 specialties stay scannable."""
        family_of = {s.pk: s.get_family_display() for s in Specialty.objects.only("family")}
        groups: dict[str, list[Any]] = {}
        for widget in self["specialties"]:
            groups.setdefault(family_of[int(str(widget.data["value"]))], []).append(widget)
        return list(groups.items())

    def clean_specialties(self) -> Any:
        value = self.cleaned_data["specialties"]
        if len(value) > 5:
            raise forms.ValidationError("Choose at most 5 specialties: the closest ones.")
        return value


GOAL_PRIORITY_CHOICES = [("", "Not now"), *[(str(p.value), p.label) for p in Priority]]


class MenteeForm(forms.Form):
    seeking_mentor = forms.BooleanField(required=False, label="I am looking for a mentor")
    offers = forms.MultipleChoiceField(
        choices=Offer.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        label="What you can offer a mentor in return",
    )
    mentor_stage_preference = forms.ChoiceField(
        choices=MentorStagePreference.choices, label="Who would help you most?"
    )
    institution_preference = forms.ChoiceField(
        choices=InstitutionPreference.choices, label="Where should your mentor be?"
    )
    style_preference = forms.ChoiceField(
        choices=MentoringStyle.choices,
        label="Mentoring style you want",
        help_text="Some people grow most with a mentor who challenges them.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for goal in Goal:
            self.fields[f"goal_{goal.value}"] = forms.TypedChoiceField(
                label=goal.label,
                choices=GOAL_PRIORITY_CHOICES,
                required=False,
                coerce=int,
                empty_value=None,
            )

    @property
    def goal_fields(self) -> list[forms.BoundField]:
        return [self[f"goal_{goal.value}"] for goal in Goal]

    @staticmethod
    def initial_for(profile: Profile) -> dict[str, Any]:
        initial: dict[str, Any] = {
            "seeking_mentor": profile.seeking_mentor,
            "offers": profile.offers,
            "mentor_stage_preference": profile.mentor_stage_preference,
            "institution_preference": profile.institution_preference,
            "style_preference": profile.style_preference,
        }
        for goal, priority in profile.goals.items():
            initial[f"goal_{goal}"] = str(priority)
        return initial

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("seeking_mentor") and not any(data.get(f"goal_{goal.value}") for goal in Goal):
            raise forms.ValidationError("Pick at least one thing you want help with.")
        return data

    def profile_data(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "seeking_mentor": data["seeking_mentor"],
            "goals": {
                goal.value: data[f"goal_{goal.value}"]
                for goal in Goal
                if data.get(f"goal_{goal.value}")
            },
            "offers": data["offers"],
            "mentor_stage_preference": data["mentor_stage_preference"],
            "institution_preference": data["institution_preference"],
            "style_preference": data["style_preference"],
        }


class MentorForm(forms.Form):
    accepting_mentees = forms.BooleanField(required=False, label="I am accepting new mentees")
    capacity = forms.IntegerField(
        min_value=0,
        max_value=MAX_CAPACITY,
        label="Mentees at once",
        help_text="Be realistic: a mentor with no time helps nobody.",
    )
    hours_per_month = forms.IntegerField(
        min_value=0, max_value=MAX_HOURS_PER_MONTH, label="Hours per month for mentoring"
    )
    strengths = forms.MultipleChoiceField(
        choices=Goal.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        label="What you can help with",
    )
    preferred_mentee_stages = forms.TypedMultipleChoiceField(
        choices=[(s.value, s.label) for s in Stage if s <= Stage.FELLOW],
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        label="Mentee stages you prefer",
        help_text="Leave empty for any stage.",
    )
    mentoring_style = forms.ChoiceField(choices=MentoringStyle.choices, label="Your style")

    @staticmethod
    def initial_for(profile: Profile) -> dict[str, Any]:
        return {
            "accepting_mentees": profile.accepting_mentees,
            "capacity": profile.capacity,
            "hours_per_month": profile.hours_per_month,
            "strengths": profile.strengths,
            "preferred_mentee_stages": profile.preferred_mentee_stages,
            "mentoring_style": profile.mentoring_style,
        }

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("accepting_mentees") and data.get("capacity") == 0:
            self.add_error("capacity", "Set a capacity of at least 1 to accept mentees.")
        return data


class ConflictForm(forms.Form):
    kind = forms.ChoiceField(choices=ConflictOfInterest.Kind.choices)
    description = forms.CharField(
        max_length=200, help_text="e.g. “I grade MS3 surgery clerkship students”."
    )
    institution = forms.ModelChoiceField(
        queryset=institution_list(), required=False, empty_label="Any institution"
    )
    stage = forms.TypedChoiceField(
        choices=[("", "Any stage"), *[(s.value, s.label) for s in Stage if s <= Stage.FELLOW]],
        coerce=int,
        empty_value=None,
        required=False,
    )


class PrivateForm(forms.Form):
    gender = forms.ChoiceField(choices=[("", "Prefer not to say"), *Gender.choices], required=False)
    gender_self_description = forms.CharField(
        max_length=100, required=False, label="Gender, in your words (optional)"
    )
    ethnicities = forms.MultipleChoiceField(
        choices=Ethnicity.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        label="Race or ethnicity (choose any)",
    )
    ethnicity_self_description = forms.CharField(
        max_length=100, required=False, label="Race or ethnicity, in your words (optional)"
    )
    wants_same_gender = forms.BooleanField(
        required=False, label="I would prefer a mentor of the same gender"
    )
    wants_same_ethnicity = forms.BooleanField(
        required=False, label="I would prefer a mentor of the same race or ethnicity"
    )


class NotificationSettingsForm(forms.Form):
    """One choice per kind of email, the check-in lead time and quiet hours."""

    checkin_lead_days = forms.ChoiceField(
        label="Remind me of a check-in",
        choices=[("1", "1 day before"), ("2", "2 days before"), ("3", "3 days before"),
                 ("7", "1 week before")],
    )  # fmt: skip
    quiet_start = forms.TimeField(
        label="Quiet hours start",
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        help_text="In your own time zone. Reminders wait until quiet hours end.",
    )
    quiet_end = forms.TimeField(
        label="Quiet hours end", widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for kind in EmailKind:
            choices: list[tuple[str, str]]
            if kind == EmailKind.DIGEST:
                choices = [(Delivery.EMAIL, "Send it on the 1st of each month"),
                           (Delivery.OFF, "No digest")]  # fmt: skip
            elif kind in REMINDER_EMAIL_KINDS:
                choices = list(Delivery.choices)
            else:
                choices = [(Delivery.EMAIL, "Email"), (Delivery.OFF, "Don't email me")]
            self.fields[f"kind_{kind.value}"] = forms.ChoiceField(label=kind.label, choices=choices)

    def kind_fields(self) -> list[forms.BoundField]:
        return [self[f"kind_{kind.value}"] for kind in EmailKind]

    def to_service(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        delivery = {kind.value: data.pop(f"kind_{kind.value}") for kind in EmailKind}
        return {**data, "delivery": delivery}
