"""HTML pages of the matching domain."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from accounts.models import User
from mentorship.exceptions import ApplicationError

from . import selectors, services
from .forms import NO_MENTOR, mentor_label


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


@login_required
def recommendations_top(request: HttpRequest) -> HttpResponse:
    """The dashboard's three best mentors, fetched by HTMX after the page has loaded."""
    user = _user(request)
    try:
        results = selectors.recommendations_for(user=user, k=3).results
    except selectors.PermissionDeniedError as exc:
        raise PermissionDenied(exc.message) from exc
    return render(request, "matching/partials/recommendation_top.html", {"results": results})


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


@login_required
def mentor_browse(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    params = request.GET.dict()
    page = params.pop("page", "1")
    error = None
    try:
        browse = selectors.browse_mentors(user=user, filters=params, page=page)
    except ApplicationError as exc:
        error = exc
        browse = selectors.browse_mentors(user=user, page=page)
    htmx = getattr(request, "htmx", None)
    # A history restore asks for the whole page, though it comes from HTMX.
    partial = bool(htmx and not htmx.history_restore_request)
    template = "matching/partials/mentor_page.html" if partial else "matching/mentor_browse.html"
    return render(request, template, {"browse": browse, "error": error})


@login_required
def saved_mentors(request: HttpRequest) -> HttpResponse:
    page = selectors.saved_mentors(user=_user(request), page=request.GET.get("page", "1"))
    return render(request, "matching/saved_mentors.html", {"page": page})


@login_required
@require_POST
def bookmark(request: HttpRequest, profile_id: int) -> HttpResponse:
    """Save or forget a mentor: an HTMX swap of the button, or a redirect without JS.

    The form says which (``action``), so a double click cannot undo itself.
    """
    user = _user(request)
    action = request.POST.get("action")
    error = None
    try:
        if action == "add":
            services.bookmark_add(user=user, mentor_profile_id=profile_id)
        elif action == "remove":
            services.bookmark_remove(user=user, mentor_profile_id=profile_id)
        else:
            raise ApplicationError("Choose to save or to forget this mentor.")
    except ApplicationError as exc:
        error = exc.message
    next_url = request.POST.get("next", "")
    if getattr(request, "htmx", False):
        return render(
            request,
            "matching/partials/bookmark_button.html",
            {
                "profile_id": profile_id,
                "saved": action == "add" and error is None,
                "next": next_url,
                "bookmark_error": error,
            },
        )
    if error:
        messages.error(request, error)
    else:
        messages.success(
            request, "Saved." if action == "add" else "Removed from your saved mentors."
        )
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = reverse("matching:saved_mentors")
    return redirect(next_url)


SEARCH_MIN_LENGTH = 2


@login_required
@require_GET
def mentor_search(request: HttpRequest) -> HttpResponse:
    """The options of a mentor select in the request or decline form, as an HTMX swap:
    its empty choice, the mentor chosen now, then up to 10 mentors matching ``q``."""
    user = _user(request)
    field = request.GET.get("field", "")
    if field not in NO_MENTOR:
        return HttpResponseBadRequest("Unknown field.")
    query = request.GET.get("q", "").strip()[:100]
    available = selectors.available_mentors(user=user)
    chosen_id = request.GET.get(field, "")
    chosen = (
        available.filter(pk=chosen_id).prefetch_related(None).first()
        if chosen_id.isdigit()
        else None
    )
    found = (
        selectors.mentor_search(user=user, query=query) if len(query) >= SEARCH_MIN_LENGTH else []
    )
    options = [(p.pk, mentor_label(p)) for p in found if chosen is None or p.pk != chosen.pk]
    return render(
        request,
        "matching/partials/mentor_options.html",
        {
            "empty_label": NO_MENTOR[field],
            "chosen": (chosen.pk, mentor_label(chosen)) if chosen else None,
            "options": options,
            "query": query,
            "too_short": len(query) < SEARCH_MIN_LENGTH,
            "limit": selectors.MENTOR_SEARCH_LIMIT,
            "count": len(found),
        },
    )
