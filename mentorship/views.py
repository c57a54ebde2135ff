"""The home page (a landing page for visitors, a dashboard for each role) and the error
pages."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, HttpResponseServerError, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.utils import timezone
from django.views import defaults
from django.views.decorators.cache import never_cache

from accounts import selectors as account_selectors
from accounts.choices import Goal, Role, Stage
from accounts.models import User
from accounts.views import profile_steps
from matching import selectors as matching_selectors
from matching.models import MentorRequest

from . import selectors as mentorship_selectors
from .middleware import current_request_id
from .models import Mentorship

logger = logging.getLogger(__name__)


def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not user.is_authenticated:
        return render(request, "landing.html")
    assert isinstance(user, User)
    profile = account_selectors.own_profile(user=user)
    percent, items = account_selectors.completeness(profile=profile)
    context: dict[str, object] = {
        "profile": profile,
        "completeness": percent,
        "missing": [item for item in items if not item.done],
        "first_missing_step": profile_steps(user)[0],
        "goal_labels": dict(Goal.choices),
    }
    mentorships = list(
        mentorship_selectors.mentorships_for(user=user)
        .filter(status__in=Mentorship.LIVE)
        .select_related("agreement")
    )
    context["my_mentors"] = [m for m in mentorships if m.mentee_id == user.pk]
    context["my_mentees"] = [m for m in mentorships if m.mentor_id == user.pk]
    context["agreements_to_sign"] = _agreements_to_sign(user, mentorships)
    context["upcoming_checkins"] = list(mentorship_selectors.checkins_upcoming(user=user))
    if user.can_be_mentee:
        context["open_requests"] = [
            r for r in matching_selectors.requests_sent(user=user) if r.is_open
        ]
    if user.can_mentor:
        context["inbox_waiting"] = list(
            matching_selectors.inbox(user=user).filter(
                status__in=[MentorRequest.Status.PENDING, MentorRequest.Status.INFO_REQUESTED]
            )
        )
    context["calendar_next"] = _calendar_next(user, profile.stage)
    if user.role == Role.COORDINATOR and profile.institution_id:
        summary = account_selectors.coordinator_institution_summary(user=user)
        by_stage: list[dict[str, int]] = summary["by_stage"]  # type: ignore[assignment]
        summary["by_stage"] = [
            {"label": Stage(row["stage"]).label, "n": row["n"]} for row in by_stage
        ]
        context["summary"] = summary
    return render(request, "dashboard.html", context)


def _calendar_next(user: User, stage: int | None, count: int = 3) -> list[Any]:
    """The next dates of the school's calendar for this person: their own stage's as a
    mentee, every date as a mentor or coordinator."""
    dates = mentorship_selectors.academic_calendar(user=user).filter(
        date__gte=timezone.localdate()
    )[:30]
    if user.can_mentor or user.role == Role.COORDINATOR:
        return list(dates[:count])
    return [d for d in dates if not d.stages or stage in d.stages][:count]


def _agreements_to_sign(user: User, mentorships: list[Mentorship]) -> list[Mentorship]:
    """Live mentorships whose agreement still waits for this person's signature."""
    return [
        m
        for m in mentorships
        if hasattr(m, "agreement")
        and not m.agreement.is_signed_by("mentor" if m.mentor_id == user.pk else "mentee")
    ]


def accessibility(request: HttpRequest) -> HttpResponse:
    """The accessibility statement: public, for visitors and members alike."""
    return render(request, "accessibility.html")


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness and database readiness for load balancers and compose healthchecks."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


@login_required
def mentor_detail(request: HttpRequest, profile_id: int) -> HttpResponse:
    """A mentor's public profile with their track record; 404 for anyone who is not a mentor."""
    user = request.user
    assert isinstance(user, User)
    profile = account_selectors.public_mentor_profile(viewer=user, profile_id=profile_id)
    goal_labels = dict(Goal.choices)
    return render(
        request,
        "mentorship/mentor_detail.html",
        {
            "mentor": profile,
            "strengths": [goal_labels[g] for g in profile.strengths if g in goal_labels],
            "places_open": max(profile.capacity - profile.active_mentees, 0),
            "record": mentorship_selectors.mentor_track_record(viewer=user, profile=profile),
            "saved": bool(
                matching_selectors.saved_mentor_ids(user=user, mentor_ids=[profile.user_id])
            ),
        },
    )


# --- Error pages: handler403/404/500 in mentorship/urls.py -----------------------


def _wants_json(request: HttpRequest) -> bool:
    """API clients get the API's error shape; a browser opening an API URL gets the page."""
    return request.path_info.startswith("/api/") and (
        request.get_preferred_type(["application/json", "text/html"]) == "application/json"
    )


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _wants_json(request):
        message = "You do not have permission to perform this action."
        return JsonResponse({"message": message, "fields": {}}, status=403)
    return defaults.permission_denied(request, exception)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse({"message": "Not found.", "fields": {}}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    """A page with the request's id to quote and nothing about the failure itself (the
    traceback is in the log line carrying the same id). Rendered without context
    processors: they query the database, which may be what failed."""
    request_id = getattr(request, "request_id", None) or current_request_id() or ""
    if _wants_json(request):
        return JsonResponse(
            {"message": "Something went wrong on our side.", "request_id": request_id},
            status=500,
        )
    try:
        context = {"request_id": request_id, "SITE_NAME": settings.SITE_NAME}
        body = loader.get_template("500.html").render(context)
    except Exception:
        # Raising here would leave the person with the server's bare error page.
        logger.exception("The 500 page could not be rendered")
        body = f"Something went wrong on our side. Quote this reference: {request_id}"
        return HttpResponseServerError(body, content_type="text/plain; charset=utf-8")
    return HttpResponseServerError(body)
