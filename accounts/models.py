"""Who people are: users, institutions, the specialty taxonomy and medical profiles.

Sensitive attributes (gender, race/ethnicity) live apart in ``Demographics`` so
that no serializer, form or page of ``Profile`` can leak them by accident.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.crypto import salted_hmac

from .choices import (
    MENTEE_ROLES,
    MENTOR_ROLES,
    Delivery,
    EmailKind,
    InstitutionPreference,
    InterestKind,
    MentoringStyle,
    MentorStagePreference,
    Role,
    SpecialtyFamily,
    Stage,
)


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not a known time zone (e.g. America/New_York).")


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create(self, email: str, password: str | None, **extra: object) -> User:
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def get_by_natural_key(self, username: str | None) -> User:
        # People type their email with capitals on phones; addresses are unique case-insensitively.
        return self.get(email__iexact=username)

    def create_user(self, email: str, password: str | None = None, **extra: object) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: object) -> User:
        extra.update(is_staff=True, is_superuser=True)
        extra.setdefault("role", Role.STAFF)
        return self._create(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    email = models.EmailField("email address", unique=True)
    full_name = models.CharField(max_length=150)
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.STUDENT)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)
    # Mixed into the session auth hash: a new value ends every session of the person at
    # once ("sign out everywhere") without changing their password.
    session_nonce = models.CharField(max_length=32, blank=True, default="", editable=False)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["full_name"]

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("email"), name="user_email_ci_unique"),
            models.CheckConstraint(
                condition=models.Q(role__in=Role.values), name="user_role_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.email

    def get_full_name(self) -> str:
        return self.full_name

    def get_session_auth_hash(self) -> str:
        return self._session_auth_hash()

    def get_session_auth_fallback_hash(self) -> Iterator[str]:
        for secret in settings.SECRET_KEY_FALLBACKS:
            yield self._session_auth_hash(secret)

    def _session_auth_hash(self, secret: str | bytes | None = None) -> str:
        # Django's own salt and value while the nonce is empty, so sessions made before
        # it existed stay valid; any nonce gives every session a hash that no longer fits.
        return salted_hmac(
            "django.contrib.auth.models.AbstractBaseUser.get_session_auth_hash",
            self.password + self.session_nonce,
            secret=secret,
            algorithm="sha256",
        ).hexdigest()

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email

    @property
    def display_name(self) -> str:
        # A deleted account (accounts.privacy.account_delete) is inactive with no password:
        # it shows as "Former member", without a title.
        if (
            self.role == Role.PHYSICIAN
            and self.full_name
            and (self.is_active or self.has_usable_password())
        ):
            return f"Dr. {self.full_name}"
        return self.full_name or self.email

    @property
    def can_mentor(self) -> bool:
        return self.role in MENTOR_ROLES

    @property
    def can_be_mentee(self) -> bool:
        return self.role in MENTEE_ROLES

    @property
    def is_coordinator(self) -> bool:
        return self.role == Role.COORDINATOR

    @property
    def can_use_two_factor(self) -> bool:
        """Staff and coordinators, who see other people's data, may add a second factor."""
        return self.is_staff or self.role in (Role.COORDINATOR, Role.STAFF)


class Institution(models.Model):
    class Kind(models.TextChoices):
        MEDICAL_SCHOOL = "medical_school", "Medical school"
        HOSPITAL = "hospital", "Hospital or health system"
        UNIVERSITY = "university", "University (pre-medical)"

    name = models.CharField(max_length=200, unique=True)
    short_name = models.CharField(max_length=40, blank=True)
    slug = models.SlugField(max_length=60, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.MEDICAL_SCHOOL)
    city = models.CharField(max_length=100, blank=True)
    timezone = models.CharField(
        max_length=64, default="America/New_York", validators=[validate_timezone]
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Specialty(models.Model):
    slug = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=100)
    family = models.CharField(max_length=20, choices=SpecialtyFamily.choices)
    related = models.ManyToManyField("self", blank=True, symmetrical=True)
    sort_order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["sort_order", "name"]
        verbose_name_plural = "specialties"

    def __str__(self) -> str:
        return self.name


class Interest(models.Model):
    slug = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=20, choices=InterestKind.choices)
    sort_order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["sort_order", "name"]

    def __str__(self) -> str:
        return self.name


class Language(models.Model):
    code = models.CharField(max_length=8, unique=True)
    name = models.CharField(max_length=60)
    sort_order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["sort_order", "name"]

    def __str__(self) -> str:
        return self.name


MAX_CAPACITY = 20
MAX_HOURS_PER_MONTH = 40


class Profile(models.Model):
    """A person's medical profile: as a mentee, as a mentor, or both (a resident)."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="profile")
    stage = models.PositiveSmallIntegerField(choices=Stage.choices, null=True, blank=True)
    institution = models.ForeignKey(
        Institution, on_delete=models.PROTECT, null=True, blank=True, related_name="profiles"
    )
    # Students: specialties they are considering; residents and physicians: their field.
    specialties = models.ManyToManyField(Specialty, blank=True, related_name="profiles")
    interests = models.ManyToManyField(Interest, blank=True, related_name="profiles")
    languages = models.ManyToManyField(Language, blank=True, related_name="profiles")
    headline = models.CharField(max_length=120, blank=True)
    bio = models.TextField(max_length=2000, blank=True)
    timezone = models.CharField(
        max_length=64, default="America/New_York", validators=[validate_timezone]
    )
    meets_in_person = models.BooleanField(default=True)
    meets_video = models.BooleanField(default=True)
    meets_phone = models.BooleanField(default=False)

    # As a mentee.
    seeking_mentor = models.BooleanField(default=False)
    goals = models.JSONField(default=dict, blank=True)  # {Goal: Priority}
    offers = models.JSONField(default=list, blank=True)  # [Offer]
    mentor_stage_preference = models.CharField(
        max_length=20, choices=MentorStagePreference.choices, default=MentorStagePreference.ANY
    )
    institution_preference = models.CharField(
        max_length=20, choices=InstitutionPreference.choices, default=InstitutionPreference.ANY
    )
    style_preference = models.CharField(
        max_length=20, choices=MentoringStyle.choices, default=MentoringStyle.EITHER
    )

    # As a mentor.
    accepting_mentees = models.BooleanField(default=False)
    capacity = models.PositiveSmallIntegerField(default=2)
    # Live mentorships as mentor. Claimed with a conditional UPDATE (active < capacity),
    # so the database, not a race, decides who gets the last place.
    active_mentees = models.PositiveSmallIntegerField(default=0, editable=False)
    hours_per_month = models.PositiveSmallIntegerField(default=2)
    strengths = models.JSONField(default=list, blank=True)  # [Goal]
    preferred_mentee_stages = models.JSONField(default=list, blank=True)  # [Stage]
    mentoring_style = models.CharField(
        max_length=20, choices=MentoringStyle.choices, default=MentoringStyle.EITHER
    )

    welcomed_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(capacity__lte=MAX_CAPACITY), name="profile_capacity_max"
            ),
            models.CheckConstraint(
                condition=models.Q(active_mentees__lte=models.F("capacity")),
                name="profile_active_within_capacity",
            ),
            models.CheckConstraint(
                condition=models.Q(hours_per_month__lte=MAX_HOURS_PER_MONTH),
                name="profile_hours_max",
            ),
            models.CheckConstraint(
                condition=models.Q(stage__isnull=True)
                | models.Q(stage__lte=Stage.ATTENDING_SENIOR),
                name="profile_stage_on_ladder",
            ),
        ]

    def __str__(self) -> str:
        return f"Profile of {self.user}"

    @property
    def meeting_modes(self) -> list[str]:
        modes = []
        if self.meets_in_person:
            modes.append("in_person")
        if self.meets_video:
            modes.append("video")
        if self.meets_phone:
            modes.append("phone")
        return modes

    @property
    def stage_label(self) -> str:
        return Stage(self.stage).label if self.stage is not None else ""


class Demographics(models.Model):
    """Self-reported, optional, private. Shown to nobody but its owner.

    Used for matching only when the mentee opted in to a concordance preference;
    coordinators see it only as suppressed aggregates.
    """

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="demographics")
    gender = models.CharField(max_length=20, blank=True)
    gender_self_description = models.CharField(max_length=100, blank=True)
    ethnicities = models.JSONField(default=list, blank=True)  # [Ethnicity]
    ethnicity_self_description = models.CharField(max_length=100, blank=True)
    wants_same_gender = models.BooleanField(default=False)
    gender_opted_in_at = models.DateTimeField(null=True, blank=True)
    wants_same_ethnicity = models.BooleanField(default=False)
    ethnicity_opted_in_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "demographics"
        constraints = [
            # The opt-in is stored with its date, and only while it holds.
            models.CheckConstraint(
                condition=(
                    models.Q(wants_same_gender=True, gender_opted_in_at__isnull=False)
                    | models.Q(wants_same_gender=False, gender_opted_in_at__isnull=True)
                ),
                name="demographics_gender_optin_dated",
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(wants_same_ethnicity=True, ethnicity_opted_in_at__isnull=False)
                    | models.Q(wants_same_ethnicity=False, ethnicity_opted_in_at__isnull=True)
                ),
                name="demographics_ethnicity_optin_dated",
            ),
        ]

    def __str__(self) -> str:
        return f"Demographics of user {self.user_id}"


class ConflictOfInterest(models.Model):
    """A mentor's declaration, e.g. "I grade MS3 surgery clerkship students at X".

    The matching engine never proposes this mentor to mentees it covers.
    """

    class Kind(models.TextChoices):
        GRADES = "grades", "I grade or assess these students"
        SELECTS = "selects", "I sit on a selection committee they apply to"
        OTHER = "other", "Other conflict"

    mentor = models.ForeignKey(User, on_delete=models.CASCADE, related_name="conflicts")
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.GRADES)
    institution = models.ForeignKey(
        Institution, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    stage = models.PositiveSmallIntegerField(choices=Stage.choices, null=True, blank=True)
    description = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return self.description


class Notification(models.Model):
    """An in-app notice: the same events as the emails, listed with an unread count."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=40)
    message = models.CharField(max_length=300)
    url = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["user", "read_at"])]

    def __str__(self) -> str:
        return f"Notification {self.kind} for {self.user_id}"


class Block(models.Model):
    """Someone who wants no more requests or messages from a person: the blocked person
    no longer finds the blocker among mentors, cannot ask them, and a cohort match never
    pairs the two. Private to the blocker; the other person is not told."""

    blocker = models.ForeignKey(User, on_delete=models.CASCADE, related_name="blocks_made")
    blocked = models.ForeignKey(User, on_delete=models.CASCADE, related_name="blocks_received")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["blocker", "blocked"], name="one_block_per_pair"),
            models.CheckConstraint(
                condition=~models.Q(blocker=models.F("blocked")), name="block_not_self"
            ),
        ]

    def __str__(self) -> str:
        return f"Block {self.blocker_id}→{self.blocked_id}"


class NotificationSettings(models.Model):
    """How and when a person wants to be emailed. No row means the defaults below.

    ``delivery`` maps an ``EmailKind`` to a ``Delivery``; a kind not listed is emailed.
    Quiet hours are local to the person's profile time zone; equal start and end
    means no quiet hours.
    """

    DEFAULT_LEAD = dt.timedelta(days=2)
    DEFAULT_QUIET_START = dt.time(21, 0)
    DEFAULT_QUIET_END = dt.time(8, 0)

    user = models.OneToOneField(
        User, on_delete=models.CASCADE, related_name="notification_settings"
    )
    delivery = models.JSONField(default=dict, blank=True)
    checkin_lead = models.DurationField(default=DEFAULT_LEAD)
    quiet_start = models.TimeField(default=DEFAULT_QUIET_START)
    quiet_end = models.TimeField(default=DEFAULT_QUIET_END)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(checkin_lead__gte=dt.timedelta(hours=1))
                & models.Q(checkin_lead__lte=dt.timedelta(days=14)),
                name="notification_lead_1h_to_14d",
            )
        ]

    def __str__(self) -> str:
        return f"Notification settings of user {self.user_id}"

    def delivery_of(self, kind: str) -> str:
        if kind == EmailKind.DIGEST:  # the digest itself is opt-in
            return self.delivery.get(kind, Delivery.OFF)
        return self.delivery.get(kind, Delivery.EMAIL)


class AuditLogIsAppendOnly(Exception):
    """Raised when code tries to change or delete an audit row."""


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    def update(self, **kwargs: Any) -> int:
        raise AuditLogIsAppendOnly("Audit rows are never changed.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AuditLogIsAppendOnly("Audit rows are never deleted.")


class AuditEvent(models.Model):
    """Who did what, when, to which object, in which school. Written by services and the
    sign-in and admin hooks (``accounts/audit.py``), read by staff in the admin.

    Append-only: the model refuses to save an existing row or delete one, and on
    PostgreSQL a trigger refuses UPDATE and DELETE from any client (migration 0008). The
    one change allowed is the database's own ON DELETE SET NULL when an actor or a school
    is deleted, so the row outlives them."""

    actor = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    action = models.CharField(max_length=60)  # e.g. "program.publish", "program.equity_view"
    object_type = models.CharField(max_length=60, blank=True)
    object_id = models.CharField(max_length=40, blank=True)
    institution = models.ForeignKey(
        Institution, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    detail = models.JSONField(default=dict, blank=True)  # never personal or demographic data
    at = models.DateTimeField(default=timezone.now, db_index=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["institution", "action", "at"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} by {self.actor_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AuditLogIsAppendOnly("Audit rows are never changed.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AuditLogIsAppendOnly("Audit rows are never deleted.")


@dataclass(frozen=True)
class CompletenessItem:
    key: str
    label: str
    done: bool


def profile_completeness(
    profile: Profile, *, specialty_count: int, interest_count: int, language_count: int
) -> list[CompletenessItem]:
    """The checklist behind "your profile is 70% complete". Counts are passed in so a
    caller that prefetched them issues no extra query."""
    user = profile.user
    items = [
        CompletenessItem("stage", "your career stage", profile.stage is not None),
        CompletenessItem("institution", "your institution", profile.institution_id is not None),
        CompletenessItem("specialties", "specialties", specialty_count > 0),
        CompletenessItem("interests", "research interests", interest_count > 0),
        CompletenessItem("languages", "languages you speak", language_count > 0),
        CompletenessItem("bio", "a short bio", len(profile.bio.strip()) >= 40),
    ]
    if user.can_be_mentee and profile.seeking_mentor:
        items.append(CompletenessItem("goals", "what you want from a mentor", bool(profile.goals)))
    if user.can_mentor:
        items.append(
            CompletenessItem("strengths", "what you can help with", bool(profile.strengths))
        )
    return items
