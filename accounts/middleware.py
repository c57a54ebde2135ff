"""Idle and absolute limits on a signed-in browser session (ASVS 5.0 V7.3).

Two times are kept in the session: when the person signed in, and when they were last
seen. A request after ``SESSION_IDLE_TIMEOUT`` without one, or ``SESSION_ABSOLUTE_TIMEOUT``
after signing in, signs them out before the view runs; the view then sees an anonymous
visitor (the sign-in page for HTML, a 403 for the API) and the page says why.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import SESSION_KEY, logout
from django.http import HttpRequest, HttpResponseBase
from django.utils import timezone

LOGIN_AT = "_auth_login_at"
SEEN_AT = "_auth_seen_at"
# Remembering activity costs a session write: once a minute is precise enough for a
# limit counted in minutes, and a burst of requests writes once.
SEEN_EVERY = 60


def session_stamp_login(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    """``user_logged_in`` receiver: start both clocks when a browser session signs in. An
    API token login has no such session and is left alone."""
    session = getattr(request, "session", None)
    if session is None or session.get(SESSION_KEY) != user._meta.pk.value_to_string(user):
        return
    now = timezone.now().timestamp()
    session[LOGIN_AT] = now
    session[SEEN_AT] = now


class SessionTimeoutMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        session = request.session
        if SESSION_KEY in session:
            now = timezone.now().timestamp()
            login_at: float | None = session.get(LOGIN_AT)
            seen_at: float = session.get(SEEN_AT) or login_at or now
            if login_at is None:
                # Signed in before these clocks existed: they start now.
                session[LOGIN_AT] = session[SEEN_AT] = now
            elif now - login_at >= settings.SESSION_ABSOLUTE_TIMEOUT:
                hours = settings.SESSION_ABSOLUTE_TIMEOUT / 3600
                self._end(request, f"For your security, sessions end after {hours:g} hours.")
            elif now - seen_at >= settings.SESSION_IDLE_TIMEOUT:
                minutes = settings.SESSION_IDLE_TIMEOUT / 60
                self._end(
                    request, f"You were signed out after {minutes:g} minutes without activity."
                )
            elif now - seen_at >= SEEN_EVERY:
                session[SEEN_AT] = now
        return self.get_response(request)

    @staticmethod
    def _end(request: HttpRequest, why: str) -> None:
        logout(request)  # flushes the session: its key and data are gone server-side
        messages.info(request, f"{why} Please sign in again.")
