"""HTML pages for accounts and profiles. Thin: parse, call a service or selector, render."""

from __future__ import annotations

import base64
from typing import Any

import qrcode
import qrcode.image.svg
from django import forms
from django.contrib import messages
from django.contrib.auth import login, logout, update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import login as otp_login

from mentorship.exceptions import ApplicationError

from . import selectors, services
from .admin_site import otp_verified
from .choices import EmailKind, Role
from .forms import (
    AboutForm,
    ConflictForm,
    EmailLoginForm,
    FieldForm,
    MenteeForm,
    MentorForm,
    NotificationSettingsForm,
    PrivateForm,
    SignupForm,
    TwoFactorCodeForm,
)
from .mail import settings_of, user_timezone
from .models import User
from .privacy import (
    account_can_delete,
    account_delete,
    personal_data_export,
    personal_data_export_record,
)

STEP_TITLES = {
    "about": "About you",
    "field": "Specialties and interests",
    "mentee": "What you want from a mentor",
    "mentor": "Mentoring others",
    "private": "Private preferences",
}


def profile_steps(user: User) -> list[str]:
    if user.role == Role.COORDINATOR or user.role == Role.STAFF:
        return ["about"]
    steps = ["about", "field"]
    if user.can_be_mentee:
        steps.append("mentee")
    if user.can_mentor:
        steps.append("mentor")
    steps.append("private")
    return steps


def apply_errors(form: forms.Form, error: ApplicationError) -> None:
    """Show a service's error on the form: field errors inline, the rest on top."""
    for field, field_messages in error.fields.items():
        target = field if field in form.fields else None
        for message in field_messages:
            form.add_error(target, message)
    if not error.fields:
        form.add_error(None, error.message)


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("home")
    form = SignupForm(request.POST or None)
    # An invitation link (a program's join page) brings people back after sign-up.
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = ""
    if request.method == "POST" and form.is_valid():
        try:
            user = services.user_signup(**form.cleaned_data)
        except ApplicationError as error:
            apply_errors(form, error)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, "Welcome! Let’s set up your profile: it takes 3 minutes.")
            return redirect(
                next_url or reverse("accounts:profile_step", args=["about"]) + "?setup=1"
            )
    return render(request, "accounts/signup.html", {"form": form, "next": next_url})


def _step_form(step: str, user: User, data: Any = None) -> forms.Form:
    profile = selectors.own_profile(user=user)
    if step == "about":
        return AboutForm(data, user=user, initial=AboutForm.initial_for(profile))
    if step == "field":
        return FieldForm(
            data,
            user=user,
            initial={
                "specialties": list(profile.specialties.all()),
                "interests": list(profile.interests.all()),
            },
        )
    if step == "mentee":
        return MenteeForm(data, initial=MenteeForm.initial_for(profile))
    if step == "mentor":
        return MentorForm(data, initial=MentorForm.initial_for(profile))
    demographics = selectors.own_demographics(user=user)
    return PrivateForm(
        data,
        initial={
            "gender": demographics.gender,
            "gender_self_description": demographics.gender_self_description,
            "ethnicities": demographics.ethnicities,
            "ethnicity_self_description": demographics.ethnicity_self_description,
            "wants_same_gender": demographics.wants_same_gender,
            "wants_same_ethnicity": demographics.wants_same_ethnicity,
        },
    )


def _save_step(step: str, user: User, form: forms.Form) -> None:
    data = form.cleaned_data
    if step == "about":
        assert isinstance(form, AboutForm)
        services.user_update(user=user, full_name=data["full_name"])
        services.profile_update(user=user, data=form.profile_data())
    elif step == "field":
        services.profile_update(
            user=user,
            data={
                "specialties": data["specialties"],
                "interests": data["interests"],
            },
        )
    elif step == "mentee":
        assert isinstance(form, MenteeForm)
        services.profile_update(user=user, data=form.profile_data())
    elif step == "mentor":
        services.profile_update(user=user, data=dict(data))
    else:
        services.demographics_update(user=user, **data)


@login_required
@require_http_methods(["GET", "POST"])
def profile_step(request: HttpRequest, step: str) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    steps = profile_steps(user)
    if step not in steps:
        raise Http404("No such step for your role.")
    setup = request.GET.get("setup") == "1"
    form = _step_form(step, user, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            _save_step(step, user, form)
        except ApplicationError as error:
            apply_errors(form, error)
        else:
            index = steps.index(step)
            if setup and index + 1 < len(steps):
                return redirect(
                    reverse("accounts:profile_step", args=[steps[index + 1]]) + "?setup=1"
                )
            messages.success(request, "Saved." if not setup else "Your profile is set up.")
            return redirect("home" if setup else reverse("accounts:profile_step", args=[step]))
    profile = selectors.own_profile(user=user)
    percent, items = selectors.completeness(profile=profile)
    context = {
        "form": form,
        "step": step,
        "steps": [(name, STEP_TITLES[name]) for name in steps],
        "step_title": STEP_TITLES[step],
        "step_number": steps.index(step) + 1,
        "setup": setup,
        "is_last": steps.index(step) == len(steps) - 1,
        "completeness": percent,
        "missing": [item for item in items if not item.done],
    }
    if step == "mentor":
        context["conflicts"] = selectors.own_conflicts(user=user)
        context["conflict_form"] = ConflictForm()
    return render(request, "accounts/profile_step.html", context)


@login_required
@require_POST
def conflict_add(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    form = ConflictForm(request.POST)
    if form.is_valid():
        try:
            services.conflict_declare(mentor=user, **form.cleaned_data)
        except ApplicationError as error:
            messages.error(request, error.message)
        else:
            messages.success(
                request,
                "Conflict of interest recorded: we will never match you with those students.",
            )
    else:
        messages.error(
            request,
            "Describe the conflict: "
            + "; ".join(
                f"{field}: {', '.join(map(str, errs))}" for field, errs in form.errors.items()
            ),
        )
    return redirect(reverse("accounts:profile_step", args=["mentor"]) + "#conflicts")


@login_required
@require_POST
def conflict_delete(request: HttpRequest, conflict_id: int) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    try:
        services.conflict_remove(mentor=user, conflict_id=conflict_id)
    except ApplicationError as error:
        raise Http404(error.message) from error
    messages.success(request, "Conflict of interest removed.")
    return redirect(reverse("accounts:profile_step", args=["mentor"]) + "#conflicts")


NOTIFICATIONS_PER_PAGE = 20


@login_required
def notification_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    page = Paginator(selectors.notification_list(user=user), NOTIFICATIONS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(request, "accounts/notifications.html", {"page": page})


@login_required
@require_POST
def notification_open(request: HttpRequest, notification_id: int) -> HttpResponse:
    """Mark the notice read and go to the page it is about."""
    user = request.user
    assert isinstance(user, User)
    notification = services.notification_mark_read(user=user, notification_id=notification_id)
    safe = url_has_allowed_host_and_scheme(
        notification.url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return redirect(notification.url if notification.url and safe else "accounts:notifications")


@login_required
@require_POST
def notification_read_all(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    marked = services.notification_mark_all_read(user=user)
    messages.success(request, f"Marked {marked} notification{pluralize(marked)} read.")
    return redirect("accounts:notifications")


@login_required
@require_http_methods(["GET", "POST"])
def notification_settings(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    prefs = settings_of(user)
    initial: dict[str, Any] = {
        "checkin_lead_days": str(prefs.checkin_lead.days or 1),
        "quiet_start": prefs.quiet_start,
        "quiet_end": prefs.quiet_end,
        **{f"kind_{kind.value}": prefs.delivery_of(kind) for kind in EmailKind},
    }
    form = NotificationSettingsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.notification_settings_update(user=user, data=form.to_service())
        except ApplicationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, "Notification settings saved.")
            return redirect("accounts:notification_settings")
    return render(
        request,
        "accounts/notification_settings.html",
        {"form": form, "timezone": user_timezone(user).key},
    )


@csrf_exempt  # the signed token is the proof; mail clients POST without a session (RFC 8058)
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """A signed link from an email. GET asks (link scanners must not unsubscribe anyone);
    POST, from the button or a mail client's one-click, does it."""
    from django.core import signing

    from .mail import unsubscribe_read

    try:
        _, kinds = unsubscribe_read(token)
    except signing.BadSignature:
        return render(request, "accounts/unsubscribe.html", {"invalid": True}, status=400)
    labels = [EmailKind(kind).label for kind in kinds]
    context: dict[str, Any] = {"token": token, "labels": labels, "done": False}
    if request.method == "POST":
        resubscribe = request.POST.get("action") == "resubscribe"
        try:
            services.email_unsubscribe(token=token, resubscribe=resubscribe)
        except ApplicationError as error:
            context.update(invalid=True, message=error.message)
            return render(request, "accounts/unsubscribe.html", context, status=400)
        context.update(done=True, resubscribed=resubscribe)
    return render(request, "accounts/unsubscribe.html", context)


# --- Signing in, sessions and the second factor -------------------------------------

PENDING_LOGIN = "_pending_login"
# Between the password and the code: long enough to find the phone, short enough that
# a walked-away-from sign-in page is no half-open door.
PENDING_LOGIN_SECONDS = 5 * 60


def _safe_next(request: HttpRequest, url: str) -> str:
    safe = url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return url if url and safe else reverse("home")


class LoginView(auth_views.LoginView):
    """Email and password; then, for people who turned two-factor sign-in on, the code
    (``login_verify``) before the session signs in."""

    template_name = "accounts/login.html"
    authentication_form = EmailLoginForm
    redirect_authenticated_user = True

    def form_valid(self, form: Any) -> HttpResponse:
        user = form.get_user()
        if selectors.two_factor_device(user=user) is None:
            return super().form_valid(form)
        self.request.session[PENDING_LOGIN] = {
            "user": user.pk,
            "backend": user.backend,
            "at": timezone.now().timestamp(),
            "next": self.get_success_url(),
        }
        return redirect("accounts:login_verify")


@require_http_methods(["GET", "POST"])
def login_verify(request: HttpRequest) -> HttpResponse:
    """The second sign-in step: a code from the authenticator app. Also asked of someone
    already signed in whose device was enrolled since (the admin sends them here)."""
    pending = request.session.get(PENDING_LOGIN)
    user: User | None = None
    next_url = reverse("home")
    backend = ""
    if request.user.is_authenticated:
        assert isinstance(request.user, User)
        next_url = _safe_next(request, request.POST.get("next") or request.GET.get("next", ""))
        if otp_verified(request) or selectors.two_factor_device(user=request.user) is None:
            return redirect(next_url)
        user = request.user
    elif pending and timezone.now().timestamp() - pending["at"] < PENDING_LOGIN_SECONDS:
        user = User.objects.filter(pk=pending["user"], is_active=True).first()
        next_url, backend = pending["next"], pending["backend"]
    if user is None:
        if request.session.pop(PENDING_LOGIN, None):
            messages.info(request, "That took too long: sign in again.")
        return redirect("accounts:login")

    form = TwoFactorCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            device = services.two_factor_verify(user=user, code=form.cleaned_data["code"])
        except ApplicationError as error:
            apply_errors(form, error)
        else:
            if not request.user.is_authenticated:
                del request.session[PENDING_LOGIN]
                login(request, user, backend=backend)  # a new session key
            otp_login(request, device)
            return redirect(next_url)
    return render(request, "accounts/login_verify.html", {"form": form, "next": next_url})


class PasswordChangeView(auth_views.PasswordChangeView):
    """Django keeps this session and refuses the others; the API tokens end too."""

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        services.auth_after_password_change(user=form.user, via_reset=False)
        return response


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        services.auth_after_password_change(user=form.user, via_reset=True)
        return response


@login_required
def security(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    disable_form = TwoFactorCodeForm()
    disable_form.fields["code"].widget.attrs.pop("autofocus")  # one of several forms here
    return render(
        request,
        "accounts/security.html",
        {
            "can_use_two_factor": user.can_use_two_factor,
            "device": selectors.two_factor_device(user=user),
            "disable_form": disable_form,
        },
    )


def _qr_code(uri: str) -> str:
    """The otpauth URI as a QR code: an SVG drawn here, shown as a data: image (the
    content security policy allows those; no script, no outside service sees the secret)."""
    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathFillImage, box_size=10, border=2)
    svg = image.to_string(encoding="unicode")
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


@login_required
@require_http_methods(["GET", "POST"])
def two_factor_setup(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    if not user.can_use_two_factor:
        raise Http404("Two-factor sign-in is offered to staff and coordinators.")
    if selectors.two_factor_device(user=user) is not None:
        return redirect("accounts:security")
    device = services.two_factor_device_start(user=user)
    form = TwoFactorCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            device = services.two_factor_confirm(user=user, code=form.cleaned_data["code"])
        except ApplicationError as error:
            apply_errors(form, error)
        else:
            update_session_auth_hash(request, user)  # this session stays; the others ended
            otp_login(request, device)
            messages.success(
                request,
                "Two-factor sign-in is on: signing in now asks for a code from your app. "
                "Your other sessions ended; sign in there again.",
            )
            return redirect("accounts:security")
    secret = base64.b32encode(device.bin_key).decode()
    return render(
        request,
        "accounts/two_factor_setup.html",
        {
            "form": form,
            "qr_code": _qr_code(device.config_url),
            "secret": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
        },
    )


@login_required
@require_POST
def two_factor_disable(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    form = TwoFactorCodeForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Enter the 6-digit code from your authenticator app.")
        return redirect("accounts:security")
    try:
        services.two_factor_disable(user=user, code=form.cleaned_data["code"])
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "Two-factor sign-in is off.")
    return redirect("accounts:security")


@login_required
@require_POST
def sign_out_everywhere(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    services.user_sign_out_everywhere(user=user)
    logout(request)
    messages.success(
        request, "You are signed out on every device, and your API token no longer works."
    )
    return redirect("accounts:login")


class AccountDeleteForm(forms.Form):
    password = forms.CharField(
        label="Your current password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    confirm = forms.CharField(
        label="Type “delete” to confirm", max_length=20, widget=forms.TextInput()
    )


@login_required
@require_http_methods(["GET", "POST"])
def privacy(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    form = AccountDeleteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            account_delete(user=user, **form.cleaned_data)
        except ApplicationError as error:
            apply_errors(form, error)
        else:
            logout(request)
            return render(request, "accounts/privacy.html", {"deleted": True})
    return render(
        request,
        "accounts/privacy.html",
        {
            "form": form,
            "can_delete": account_can_delete(user),
        },
    )


@login_required
@require_http_methods(["GET"])
def privacy_export(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    data = personal_data_export(user=user)
    personal_data_export_record(user=user)
    response = JsonResponse(data, json_dumps_params={"indent": 2, "ensure_ascii": False})
    filename = f"medmentor-data-{timezone.localdate():%Y-%m-%d}.json"
    response["Content-Disposition"] = f"attachment; filename={filename}"
    response["Cache-Control"] = "no-store"
    return response
