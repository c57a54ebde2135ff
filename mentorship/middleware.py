"""Request ids for support and logs, and no caching of what a signed-in person sees."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable
from contextvars import ContextVar

from django.http import HttpRequest, HttpResponseBase
from django.utils.cache import patch_cache_control

REQUEST_ID_HEADER = "X-Request-ID"
# A proxy's id is kept so its access log and ours line up; anything else (too long,
# spaces, control characters that could forge log lines) gets a fresh id instead.
_SAFE_INCOMING_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{7,63}")

# Read by the log filter, which sees records, not requests. A ContextVar rather than a
# thread-local so that it also holds under ASGI, one value per request context.
_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)


def current_request_id() -> str | None:
    return _request_id.get()


class RequestIdMiddleware:
    """Gives every request an id: on ``request.request_id``, in the ``X-Request-ID``
    response header and on every log record written while it is handled. Goes first,
    so that every response (static files and redirects included) carries it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = incoming if _SAFE_INCOMING_ID.fullmatch(incoming) else uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]
        token = _request_id.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            _request_id.reset(token)
        response[REQUEST_ID_HEADER] = request_id
        return response


class RequestIdLogFilter(logging.Filter):
    """Adds ``request_id`` to every record ("-" outside a request, e.g. in Celery)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id() or "-"
        return True


class PrivateCacheMiddleware:
    """``Cache-Control: private, no-store`` on every response made for a signed-in person
    (HTML pages, API JSON, CSV downloads): they show personal data that neither a shared
    proxy nor the browser's disk cache nor its back button should keep. Static files are
    answered by WhiteNoise before authentication runs, so they keep their long caching."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        # DRF's token authentication happens in the view and sets request.user there,
        # so API clients with a token are seen as signed in here too.
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            patch_cache_control(response, private=True, no_store=True)
        return response
