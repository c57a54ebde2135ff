"""The home page: a landing page for visitors, a dashboard for each role."""

from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from accounts import selectors as account_selectors
from accounts.choices import Goal, Role, Stage
from accounts.models import User
from accounts.views import profile_steps


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
    if user.role == Role.COORDINATOR and profile.institution_id:
        summary = account_selectors.coordinator_institution_summary(user=user)
        by_stage: list[dict[str, int]] = summary["by_stage"]  # type: ignore[assignment]
        summary["by_stage"] = [
            {"label": Stage(row["stage"]).label, "n": row["n"]} for row in by_stage
        ]
        context["summary"] = summary
    return render(request, "dashboard.html", context)


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness and database readiness for load balancers and compose healthchecks."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
