"""HTML pages of the matching domain."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.models import User
from mentorship.exceptions import ApplicationError

from . import selectors


@login_required
def recommendations(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    error = None
    try:
        page = selectors.recommendations_for(user=user, filters=request.GET.dict())
    except selectors.PermissionDeniedError as exc:
        raise PermissionDenied(exc.message) from exc
    except ApplicationError as exc:
        error = exc
        page = selectors.recommendations_for(user=user)
    template = (
        "matching/partials/recommendation_list.html"
        if getattr(request, "htmx", False)
        else "matching/recommendations.html"
    )
    return render(request, template, {"page": page, "error": error})
