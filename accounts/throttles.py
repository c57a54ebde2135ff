"""API rate limits. Rates come from ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]`` (set from
the environment) and counters live in the default cache (Redis when REDIS_URL is set)."""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle, UserRateThrottle


class TooManyAttempts(exceptions.Throttled):
    """Throttled, in the project's words: "Too many attempts: try again in N seconds."."""

    default_detail = "Too many attempts:"
    extra_detail_singular = "try again in {wait} second."
    extra_detail_plural = "try again in {wait} seconds."

    def __init__(self, wait: float | None = None) -> None:
        if wait is None:  # DRF's throttles say None when the window is already over-full
            super().__init__(detail="Too many attempts: try again later.")
        else:
            super().__init__(wait=wait)


class _Throttle(SimpleRateThrottle):
    def get_rate(self) -> str | None:
        # Looked up per request, not once at import like DRF's class attribute, so the
        # environment's rates and a test's override both apply.
        rates: dict[str, Any] = api_settings.DEFAULT_THROTTLE_RATES
        return rates.get(self.scope or "")

    def allow_request(self, request: Request, view: Any) -> bool:
        if super().allow_request(request, view):
            return True
        # Raised here rather than by the view so the message is ours; the exception
        # handler gives it the one error shape and DRF adds Retry-After.
        raise TooManyAttempts(wait=self.wait())


class LoginRateThrottle(_Throttle):
    """Token logins per client address: slows password spraying across many accounts,
    which the per-account lockout does not see."""

    scope = "login"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class WriteRateThrottle(_Throttle, UserRateThrottle):
    """Unsafe methods per person (per address when anonymous); reads are not limited."""

    scope = "write"

    def allow_request(self, request: Request, view: Any) -> bool:
        if request.method in SAFE_METHODS:
            return True
        return super().allow_request(request, view)
