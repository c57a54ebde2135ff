"""The admin site: staff who enrolled an authenticator must have given its code."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from . import selectors
from .audit import AuditedModelAdmin


def otp_verified(request: HttpRequest) -> bool:
    # Set by django_otp's OTPMiddleware: the session gave a code from this user's device.
    is_verified = getattr(request.user, "is_verified", None)
    return bool(is_verified and is_verified())


class AdminSite(admin.AdminSite):
    site_header = "MedMentor administration"

    def register(self, model_or_iterable: Any, admin_class: Any = None, **options: Any) -> None:
        """Every ModelAdmin, ours or a library's, also writes an audit row for each
        addition, change and deletion made through it."""
        admin_class = admin_class or admin.ModelAdmin
        if not issubclass(admin_class, AuditedModelAdmin):
            admin_class = type(
                admin_class.__name__,
                (AuditedModelAdmin, admin_class),
                {"__module__": admin_class.__module__},
            )
        super().register(model_or_iterable, admin_class, **options)

    def has_permission(self, request: HttpRequest) -> bool:
        if not super().has_permission(request):
            return False
        return otp_verified(request) or selectors.two_factor_device(user=request.user) is None  # type: ignore[arg-type]

    def login(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """One sign-in page for the whole site, with its lockout and second step."""
        next_url = request.GET.get(REDIRECT_FIELD_NAME) or reverse(
            "admin:index", current_app=self.name
        )
        user = request.user
        if user.is_authenticated:
            if user.is_active and user.is_staff:
                # Signed in without the code (the device was enrolled elsewhere since).
                return redirect_to_login(next_url, reverse("accounts:login_verify"))
            raise PermissionDenied("The admin is for platform staff.")
        return redirect_to_login(next_url, reverse("accounts:login"))
