"""Sign-in protection shared by the HTML login and the API token login: which address a
request comes from, which account an attempt is for, and what a locked-out person sees.

django-axes counts the failures (settings: ``AXES_*``); these are the callables it is
configured with.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from rest_framework import status
from rest_framework.throttling import BaseThrottle

from mentorship.exceptions import ApplicationError


def client_ip(request: HttpRequest) -> str | None:
    """The client's address as our own proxies saw it: REMOTE_ADDR unless
    ``TRUSTED_PROXY_COUNT`` proxies append to X-Forwarded-For, and then the entry the
    outermost of them added (entries to its left are whatever the client sent).

    DRF's rule, configured by the same setting (``NUM_PROXIES``), so the lockout log and
    every API throttle agree on who is asking.
    """
    return BaseThrottle().get_ident(request) or None  # type: ignore[arg-type]  # reads META only


def login_username(request: HttpRequest, credentials: dict[str, Any] | None) -> str | None:
    """The account an attempt is for, as the lockout counts it: the email, lower-cased
    (addresses are unique case-insensitively, so "Maya@..." and "maya@..." are one
    account). The HTML form posts ``username``, the API ``email``."""
    value = None
    if credentials:
        value = credentials.get("username") or credentials.get("email")
    if value is None:
        data = getattr(request, "data", None) or request.POST
        value = data.get("username") or data.get("email")
    return value.strip().lower() if isinstance(value, str) and value.strip() else None


def lockout_message() -> str:
    minutes = max(1, round(settings.AXES_COOLOFF_TIME.total_seconds() / 60))
    return (
        "Too many failed sign-in attempts for this account. "
        f"Try again in {minutes} minutes, or reset your password by email."
    )


class LoginLocked(ApplicationError):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS

    def __init__(self) -> None:
        super().__init__(lockout_message())


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: Any = None
) -> HttpResponse:
    """What axes answers once an account is locked: the API's one error shape for API
    calls, a page saying what happened and what to do for people."""
    match = getattr(request, "resolver_match", None)
    if match is not None and "api" in match.namespaces:
        return JsonResponse(
            {"message": lockout_message(), "fields": {}},
            status=status.HTTP_429_TOO_MANY_REQUESTS,
        )
    return render(
        request,
        "accounts/locked_out.html",
        {"message": lockout_message()},
        status=status.HTTP_429_TOO_MANY_REQUESTS,
    )
