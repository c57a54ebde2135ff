"""Every write about people and their profiles. Keyword-only, atomic, raising ApplicationError."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable, Mapping
from typing import Any

from axes.utils import reset as axes_reset
from django.contrib.auth.models import update_last_login
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, models, transaction
from django.http import Http404
from django.utils import timezone
from django_otp import verify_token
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.authtoken.models import Token

from mentorship.exceptions import ApplicationError

from .choices import (
    MENTEE_ROLES,
    MENTOR_ROLES,
    REMINDER_EMAIL_KINDS,
    SIGNUP_ROLES,
    STAGES_BY_ROLE,
    Delivery,
    EmailKind,
    Ethnicity,
    Gender,
    Goal,
    Offer,
    Priority,
    Role,
    Stage,
)
from .models import (
    MAX_CAPACITY,
    MAX_HOURS_PER_MONTH,
    AuditEvent,
    ConflictOfInterest,
    Demographics,
    Institution,
    Notification,
    NotificationSettings,
    Profile,
    User,
    validate_timezone,
)

PROFILE_SCALAR_FIELDS = {
    "stage",
    "institution",
    "headline",
    "bio",
    "timezone",
    "meets_in_person",
    "meets_video",
    "meets_phone",
    "seeking_mentor",
    "goals",
    "offers",
    "mentor_stage_preference",
    "institution_preference",
    "style_preference",
    "accepting_mentees",
    "capacity",
    "hours_per_month",
    "strengths",
    "preferred_mentee_stages",
    "mentoring_style",
}
PROFILE_M2M_FIELDS = {"specialties", "interests", "languages"}
MENTOR_ONLY_FIELDS = {
    "accepting_mentees",
    "capacity",
    "hours_per_month",
    "strengths",
    "preferred_mentee_stages",
    "mentoring_style",
}
MENTEE_ONLY_FIELDS = {
    "seeking_mentor",
    "goals",
    "offers",
    "mentor_stage_preference",
    "institution_preference",
    "style_preference",
}


def user_signup(*, email: str, full_name: str, password: str, role: str) -> User:
    """Create an account and its empty profile, then send a welcome email after commit.

    Coordinators and staff are never self-service: staff create them.
    """
    email = (email or "").strip().lower()
    full_name = (full_name or "").strip()
    errors: dict[str, list[str]] = {}
    try:
        validate_email(email)
    except ValidationError:
        errors["email"] = ["Enter a valid email address."]
    if not full_name:
        errors["full_name"] = ["Tell us your name."]
    if role not in SIGNUP_ROLES:
        errors["role"] = ["Choose student, resident or physician."]
    if not errors.get("email") and User.objects.filter(email__iexact=email).exists():
        errors["email"] = ["An account with this email already exists. Try signing in."]
    try:
        validate_password(password, User(email=email, full_name=full_name))
    except ValidationError as exc:
        errors["password"] = list(exc.messages)
    if errors:
        raise ApplicationError("Please correct the highlighted fields.", fields=errors)

    from .tasks import send_welcome_email

    try:
        with transaction.atomic():
            user = User.objects.create_user(
                email=email, password=password, full_name=full_name, role=role
            )
            Profile.objects.create(
                user=user,
                seeking_mentor=role == Role.STUDENT,
                accepting_mentees=False,
            )
            transaction.on_commit(lambda: send_welcome_email.delay(user.pk))
    except IntegrityError as exc:  # a concurrent sign-up with the same email won the race
        raise ApplicationError(
            "An account with this email already exists. Try signing in.",
            fields={"email": ["An account with this email already exists."]},
        ) from exc
    return user


def _validate_profile_data(user: User, data: Mapping[str, Any]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    unknown = set(data) - PROFILE_SCALAR_FIELDS - PROFILE_M2M_FIELDS
    for key in sorted(unknown):
        errors[key] = ["This field cannot be changed here."]
    if "stage" in data and data["stage"] is not None:
        allowed = STAGES_BY_ROLE.get(Role(user.role))
        if data["stage"] not in Stage.values:
            errors["stage"] = ["Choose a stage on the career ladder."]
        elif allowed is not None and data["stage"] not in allowed:
            errors["stage"] = [f"That stage does not fit the role {Role(user.role).label}."]
    if user.role not in MENTOR_ROLES:
        for key in sorted(MENTOR_ONLY_FIELDS & set(data)):
            if key in ("accepting_mentees",) and not data[key]:
                continue
            errors[key] = ["Only residents and physicians can mentor."]
    if user.role not in MENTEE_ROLES:
        for key in sorted(MENTEE_ONLY_FIELDS & set(data)):
            if key == "seeking_mentor" and not data[key]:
                continue
            errors[key] = ["Only students and residents can look for a mentor here."]
    if "timezone" in data:
        try:
            validate_timezone(data["timezone"])
        except ValidationError as exc:
            errors["timezone"] = list(exc.messages)
    if "goals" in data:
        goals = data["goals"]
        if not isinstance(goals, dict) or any(
            key not in Goal.values or value not in Priority.values for key, value in goals.items()
        ):
            errors["goals"] = ["Goals map a goal to a priority from 1 (nice to have) to 3."]
    for key, allowed_values in (("strengths", Goal.values), ("offers", Offer.values)):
        if key in data:
            value = data[key]
            if not isinstance(value, list) or any(item not in allowed_values for item in value):
                errors[key] = [f"Unknown choice in {key}."]
    if "preferred_mentee_stages" in data:
        value = data["preferred_mentee_stages"]
        if not isinstance(value, list) or any(item not in Stage.values for item in value):
            errors["preferred_mentee_stages"] = ["Unknown stage."]
    if "capacity" in data and not (0 <= int(data["capacity"]) <= MAX_CAPACITY):
        errors["capacity"] = [f"Capacity is between 0 and {MAX_CAPACITY} mentees."]
    if "hours_per_month" in data and not (0 <= int(data["hours_per_month"]) <= MAX_HOURS_PER_MONTH):
        errors["hours_per_month"] = [f"Hours per month are between 0 and {MAX_HOURS_PER_MONTH}."]
    institution = data.get("institution")
    if institution is not None and not isinstance(institution, Institution):
        errors["institution"] = ["Choose an institution from the list."]
    if data.get("accepting_mentees") and "capacity" in data and int(data["capacity"]) == 0:
        errors["capacity"] = ["Set a capacity of at least 1 to accept mentees."]
    return errors


def profile_update(*, user: User, data: Mapping[str, Any]) -> Profile:
    """Update the user's own profile from already-parsed values (form or serializer).

    Scalar fields are set only when present; many-to-many fields replace the set.
    """
    errors = _validate_profile_data(user, data)
    if errors:
        raise ApplicationError("Please correct the highlighted fields.", fields=errors)
    with transaction.atomic():
        profile = Profile.objects.select_for_update().get(user=user)
        # A coordinator's school decides whose data they see: moving it themselves would
        # make them coordinator of any school. The platform staff change it in the admin.
        if (
            user.role == Role.COORDINATOR
            and "institution" in data
            and getattr(data["institution"], "pk", data["institution"]) != profile.institution_id
        ):
            message = "Your school is set by the platform staff: ask them to change it."
            raise ApplicationError(message, fields={"institution": [message]})
        changed = [key for key in PROFILE_SCALAR_FIELDS if key in data]
        for key in changed:
            setattr(profile, key, data[key])
        if profile.capacity < profile.active_mentees:
            raise ApplicationError(
                f"You mentor {profile.active_mentees} people now: capacity cannot go lower.",
                fields={"capacity": [f"At least {profile.active_mentees} (your current mentees)."]},
            )
        if profile.accepting_mentees and profile.capacity == 0:
            raise ApplicationError(
                "Set a capacity of at least 1 to accept mentees.",
                fields={"capacity": ["Set a capacity of at least 1 to accept mentees."]},
            )
        if changed:
            profile.full_clean(exclude=["user"], validate_unique=False)
            profile.save()
        for key in PROFILE_M2M_FIELDS & set(data):
            getattr(profile, key).set(list(data[key]))
    return profile


def user_update(*, user: User, full_name: str) -> User:
    full_name = (full_name or "").strip()
    if not full_name:
        raise ApplicationError("Tell us your name.", fields={"full_name": ["Tell us your name."]})
    user.full_name = full_name
    user.save(update_fields=["full_name"])
    return user


def demographics_update(
    *,
    user: User,
    gender: str = "",
    gender_self_description: str = "",
    ethnicities: Iterable[str] = (),
    ethnicity_self_description: str = "",
    wants_same_gender: bool = False,
    wants_same_ethnicity: bool = False,
) -> Demographics:
    """Save the person's private, optional self-description and concordance wishes.

    An opt-in keeps the date it was first given; withdrawing clears it.
    """
    ethnicities = list(dict.fromkeys(ethnicities))
    errors: dict[str, list[str]] = {}
    if gender and gender not in Gender.values:
        errors["gender"] = ["Unknown choice."]
    if any(item not in Ethnicity.values for item in ethnicities):
        errors["ethnicities"] = ["Unknown choice."]
    if wants_same_gender and not gender:
        errors["wants_same_gender"] = ["Tell us your gender first, so we know what to match."]
    if wants_same_ethnicity and not ethnicities:
        errors["wants_same_ethnicity"] = [
            "Tell us your race or ethnicity first, so we know what to match."
        ]
    if errors:
        raise ApplicationError("Please correct the highlighted fields.", fields=errors)
    now = timezone.now()
    with transaction.atomic():
        demographics, _ = Demographics.objects.select_for_update().get_or_create(user=user)
        demographics.gender = gender
        demographics.gender_self_description = gender_self_description.strip()[:100]
        demographics.ethnicities = ethnicities
        demographics.ethnicity_self_description = ethnicity_self_description.strip()[:100]
        if wants_same_gender and not demographics.wants_same_gender:
            demographics.gender_opted_in_at = now
        if not wants_same_gender:
            demographics.gender_opted_in_at = None
        if wants_same_ethnicity and not demographics.wants_same_ethnicity:
            demographics.ethnicity_opted_in_at = now
        if not wants_same_ethnicity:
            demographics.ethnicity_opted_in_at = None
        demographics.wants_same_gender = wants_same_gender
        demographics.wants_same_ethnicity = wants_same_ethnicity
        demographics.save()
    return demographics


def conflict_declare(
    *,
    mentor: User,
    description: str,
    kind: str = ConflictOfInterest.Kind.GRADES,
    institution: Institution | None = None,
    stage: int | None = None,
) -> ConflictOfInterest:
    """Record that this mentor must not be matched with the students they assess or select."""
    if not mentor.can_mentor:
        raise ApplicationError("Only residents and physicians declare conflicts of interest.")
    description = (description or "").strip()
    if not description:
        raise ApplicationError(
            "Describe the conflict, e.g. “I grade MS3 surgery clerkship students”.",
            fields={"description": ["This field is required."]},
        )
    if kind not in ConflictOfInterest.Kind.values:
        raise ApplicationError("Unknown kind of conflict.", fields={"kind": ["Unknown choice."]})
    if stage is not None and stage not in Stage.values:
        raise ApplicationError("Unknown stage.", fields={"stage": ["Unknown stage."]})
    return ConflictOfInterest.objects.create(
        mentor=mentor,
        kind=kind,
        institution=institution,
        stage=stage,
        description=description[:200],
    )


def conflict_remove(*, mentor: User, conflict_id: int) -> None:
    deleted, _ = ConflictOfInterest.objects.filter(mentor=mentor, pk=conflict_id).delete()
    if not deleted:
        raise ApplicationError("That conflict of interest no longer exists.")


def notification_create(*, user_id: int, kind: str, message: str, url: str = "") -> Notification:
    """Add an in-app notice for one person (shown with an unread count in the header)."""
    return Notification.objects.create(
        user_id=user_id, kind=kind, message=message[:300], url=url[:300]
    )


def notification_mark_read(*, user: User, notification_id: int) -> Notification:
    """Mark one of the person's notices read (again is a no-op); 404 for anyone else's."""
    notification = Notification.objects.filter(user=user, pk=notification_id).first()
    if notification is None:
        raise Http404("No such notification.")
    if notification.read_at is None:
        now = timezone.now()
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=now)
        notification.read_at = now
    return notification


def notification_mark_all_read(*, user: User) -> int:
    """Mark every unread notice of the person read; returns how many changed."""
    return Notification.objects.filter(user=user, read_at__isnull=True).update(
        read_at=timezone.now()
    )


# --- What people are emailed ------------------------------------------------------

CHECKIN_LEAD_CHOICES = {
    "1": dt.timedelta(days=1),
    "2": dt.timedelta(days=2),
    "3": dt.timedelta(days=3),
    "7": dt.timedelta(days=7),
}


def _clean_time(value: Any, field: str, errors: dict[str, list[str]]) -> dt.time | None:
    if isinstance(value, dt.time):
        return value
    try:
        return dt.time.fromisoformat(str(value))
    except ValueError:
        errors[field] = ["Enter a time as HH:MM."]
        return None


@transaction.atomic
def notification_settings_update(*, user: User, data: Mapping[str, Any]) -> NotificationSettings:
    """Change how and when the person is emailed. Fields not given keep their value.

    ``delivery`` maps an email kind to email, digest or off (event emails cannot
    wait for a digest). Routing anything to the digest switches the digest on.
    """
    prefs, _ = NotificationSettings.objects.select_for_update().get_or_create(user=user)
    errors: dict[str, list[str]] = {}
    delivery = dict(prefs.delivery)
    given = data.get("delivery")
    if given is not None:
        if not isinstance(given, Mapping):
            errors["delivery"] = ["Give a choice for each kind of email."]
        else:
            for kind, route in given.items():
                if kind not in EmailKind.values:
                    errors.setdefault("delivery", []).append(f"Unknown kind of email: {kind}.")
                elif route not in Delivery.values:
                    errors.setdefault("delivery", []).append(
                        f"{EmailKind(kind).label}: choose email, digest or off."
                    )
                elif route == Delivery.DIGEST and kind not in REMINDER_EMAIL_KINDS:
                    errors.setdefault("delivery", []).append(
                        f"{EmailKind(kind).label} go out as they happen, not in a digest."
                    )
                else:
                    delivery[kind] = route
    if "checkin_lead_days" in data:
        lead = CHECKIN_LEAD_CHOICES.get(str(data["checkin_lead_days"]))
        if lead is None:
            errors["checkin_lead_days"] = ["Choose 1, 2, 3 or 7 days."]
        else:
            prefs.checkin_lead = lead
    for field in ("quiet_start", "quiet_end"):
        if field in data:
            value = _clean_time(data[field], field, errors)
            if value is not None:
                setattr(prefs, field, value.replace(second=0, microsecond=0))
    if errors:
        raise ApplicationError("Please correct the highlighted fields.", fields=errors)
    if any(delivery.get(kind) == Delivery.DIGEST for kind in REMINDER_EMAIL_KINDS):
        delivery[EmailKind.DIGEST] = Delivery.EMAIL
    prefs.delivery = delivery
    prefs.save()
    return prefs


@transaction.atomic
def email_unsubscribe(*, token: str, resubscribe: bool = False) -> tuple[User, list[str]]:
    """Switch off (or back on) the kinds of email a signed unsubscribe link names.

    Raises ``ApplicationError`` for a forged or damaged link. Needs no sign-in: the
    signature is the proof (RFC 8058 one-click).
    """
    from django.core import signing

    from .mail import unsubscribe_read

    try:
        user_id, kinds = unsubscribe_read(token)
    except signing.BadSignature as exc:
        raise ApplicationError("This unsubscribe link is not valid.") from exc
    user = User.objects.filter(pk=user_id).first()
    if user is None or not kinds:
        raise ApplicationError("This unsubscribe link is not valid.")
    prefs, _ = NotificationSettings.objects.select_for_update().get_or_create(user=user)
    delivery = dict(prefs.delivery)
    for kind in kinds:
        if resubscribe:
            delivery.pop(kind, None)
        else:
            delivery[kind] = Delivery.OFF
    prefs.delivery = delivery
    prefs.save(update_fields=["delivery", "updated_at"])
    return user, kinds


def audit_record(
    *,
    actor: User | None,
    action: str,
    target: models.Model | None = None,
    institution_id: int | None = None,
    detail: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """Write one audit row in the caller's transaction (rolled back with the change it
    records). ``detail`` holds ids and counts, never personal or demographic values."""
    return AuditEvent.objects.create(
        actor=actor if actor is not None and actor.is_authenticated else None,
        action=action,
        object_type=target._meta.label_lower if target is not None else "",
        object_id=str(target.pk) if target is not None else "",
        institution_id=institution_id,
        detail=dict(detail or {}),
    )


def institution_of(user: User) -> int | None:
    return Profile.objects.filter(user=user).values_list("institution_id", flat=True).first()


def audit_sign_in(*, user: User, via: str) -> None:
    audit_record(
        actor=user,
        action="auth.sign_in",
        target=user,
        institution_id=institution_of(user),
        detail={"via": via},
    )


# --- Sessions, tokens and the second factor ---------------------------------------

WRONG_CODE = "That code did not match. Enter the 6-digit code your authenticator app shows now."


def auth_token_obtain(*, user: User) -> Token:
    """The API token of someone who just proved who they are. No session signs in, so not
    ``auth.login()``: this records what it would (the lockout count starts again,
    ``last_login`` moves)."""
    axes_reset(username=user.email.lower())
    update_last_login(type(user), user)
    token, _ = Token.objects.get_or_create(user=user)
    audit_sign_in(user=user, via="api")
    return token


def auth_tokens_revoke(*, user: User) -> int:
    """Delete the person's API tokens: scripts using them must ask for a new one. Done when
    the password changes or is reset, since a token outlives the password it came from."""
    deleted, _ = Token.objects.filter(user=user).delete()
    return deleted


def auth_after_password_change(*, user: User, via_reset: bool) -> None:
    """What else a new password ends. Django already refuses the person's other sessions
    (their hash no longer fits); their API tokens go too. A reset link also proves the
    mailbox is theirs, so a lockout on the account is lifted at once."""
    auth_tokens_revoke(user=user)
    if via_reset:
        axes_reset(username=user.email.lower())


def _sessions_end(user: User) -> None:
    # A new nonce changes the session auth hash (User.get_session_auth_hash): every
    # session of the person, the caller's too unless it updates its hash, is refused on
    # its next request. Tokens are separate credentials and go with them.
    auth_tokens_revoke(user=user)
    user.session_nonce = secrets.token_hex(16)
    user.save(update_fields=["session_nonce"])


@transaction.atomic
def user_sign_out_everywhere(*, user: User) -> None:
    """End every browser session and API token of ``user`` (a lost phone, a shared
    computer left signed in)."""
    _sessions_end(user)
    audit_record(actor=user, action="account.sign_out_everywhere", target=user)


def _clean_code(code: str) -> str:
    return "".join((code or "").split())


def _check_code(device: TOTPDevice, user: User, code: str) -> None:
    """Raise unless ``code`` is right now. Not inside the caller's transaction: the
    failure count that slows the next try (django-otp doubles the wait after each wrong
    code) must be kept when the caller rolls back."""
    allowed, _ = device.verify_is_allowed()
    if not allowed:
        message = "Too many wrong codes: wait a few seconds, then enter the code shown now."
        raise ApplicationError(message, fields={"code": [message]})
    if verify_token(user, device.persistent_id, _clean_code(code)) is None:
        audit_record(
            actor=None,
            action="auth.second_factor_failed",
            target=user,
            institution_id=institution_of(user),
        )
        raise ApplicationError(WRONG_CODE, fields={"code": [WRONG_CODE]})


def two_factor_device_start(*, user: User) -> TOTPDevice:
    """The not yet confirmed authenticator whose secret the setup page shows: the same one
    until it is confirmed, so reloading the page keeps the QR code."""
    if not user.can_use_two_factor:
        raise ApplicationError("Two-factor sign-in is offered to staff and coordinators.")
    if TOTPDevice.objects.filter(user=user, confirmed=True).exists():
        raise ApplicationError("Two-factor sign-in is already on.")
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)
    return device


def two_factor_confirm(*, user: User, code: str) -> TOTPDevice:
    """Turn two-factor sign-in on with the first code from the new authenticator.

    Every other session and API token ends: they were opened with the password alone.
    The caller keeps its own session (``update_session_auth_hash``) and marks it verified.
    """
    device = two_factor_device_start(user=user)
    _check_code(device, user, code)
    with transaction.atomic():
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
        _sessions_end(user)
        audit_record(actor=user, action="account.two_factor_enable", target=user)
    return device


def two_factor_verify(*, user: User, code: str) -> TOTPDevice:
    """The second sign-in step: the device that accepted ``code``. A code works once."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()
    if device is None:
        raise ApplicationError("Two-factor sign-in is not on for this account.")
    _check_code(device, user, code)
    return device


def two_factor_disable(*, user: User, code: str) -> None:
    """Turn two-factor sign-in off; a current code proves it is the person, not someone
    at a computer they left signed in."""
    two_factor_verify(user=user, code=code)
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        audit_record(actor=user, action="account.two_factor_disable", target=user)
