"""HTML pages for requests: ask mentors, follow your requests, answer your inbox."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import Profile, User
from accounts.selectors import own_profile
from accounts.views import apply_errors
from mentorship.exceptions import ApplicationError

from . import selectors, services
from .forms import DeclineForm, MessageForm, RequestForm


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _available_mentors(user: User) -> QuerySet[Profile]:
    return selectors.available_mentors(user=user)


@login_required
@require_http_methods(["GET", "POST"])
def request_new(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if not user.can_be_mentee:
        raise PermissionDenied("Only students and residents ask for a mentor.")
    profile = own_profile(user=user)
    initial = {}
    if request.GET.get("mentor", "").isdigit():
        initial["first"] = int(request.GET["mentor"])
    form = RequestForm(
        request.POST or None,
        mentors=_available_mentors(user),
        goals=profile.goals,
        initial=initial,
        shortlist=lambda: selectors.request_shortlist(user=user),
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.request_send(
                mentee=user,
                mentors=[p.user for p in form.chosen_mentors()],
                expectations=form.cleaned_data["expectations"],
                goals=form.goals(),
                offers=form.cleaned_data["offers"],
                cadence=form.cleaned_data["cadence"],
                meeting_mode=form.cleaned_data["meeting_mode"],
                single_mentor=form.cleaned_data["single_mentor"],
            )
        except ApplicationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, "Request sent. We'll tell you as soon as the mentor answers.")
            return redirect("matching:requests")
    return render(request, "matching/request_new.html", {"form": form})


@login_required
def request_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    return render(
        request,
        "matching/request_list.html",
        {
            "requests": selectors.requests_sent(user=user),
            "message_form": MessageForm(),
        },
    )


@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if not user.can_mentor:
        raise PermissionDenied("The inbox is for mentors.")
    return render(
        request,
        "matching/inbox.html",
        {
            "requests": selectors.inbox(user=user),
            "profile": own_profile(user=user),
            "decline_form": DeclineForm(mentors=_available_mentors(user)),
            "message_form": MessageForm(),
        },
    )


@login_required
@require_POST
def request_action(request: HttpRequest, request_id: int, action: str) -> HttpResponse:
    """One POST endpoint per button; each calls the matching service.

    Accepting starts a mentorship, so it is ``mentorships:accept`` (data flows one way).
    """
    user = _user(request)
    back = "matching:inbox" if action in ("decline", "ask") else "matching:requests"
    try:
        if action == "decline":
            form = DeclineForm(request.POST, mentors=_available_mentors(user))
            if not form.is_valid():
                problem = form.errors.get("suggested_mentor")
                raise ApplicationError(
                    str(problem[0]) if problem else "Choose a reason for declining."
                )
            suggested: Profile | None = form.cleaned_data.get("suggested_mentor")
            services.request_decline(
                mentor=user,
                request_id=request_id,
                reason=form.cleaned_data["reason"],
                note=form.cleaned_data["note"],
                suggested_mentor=suggested.user if suggested else None,
            )
            messages.success(request, "Declined. The student has been told kindly.")
        elif action in ("ask", "answer"):
            message_form = MessageForm(request.POST)
            if not message_form.is_valid():
                raise ApplicationError("Write a message first.")
            body = message_form.cleaned_data["body"]
            if action == "ask":
                services.request_ask_info(mentor=user, request_id=request_id, question=body)
            else:
                services.request_answer(mentee=user, request_id=request_id, answer=body)
            messages.success(request, "Message sent.")
        elif action == "withdraw":
            services.request_withdraw(mentee=user, request_id=request_id)
            messages.success(request, "Request withdrawn.")
        else:
            raise ApplicationError("Unknown action.")
    except ApplicationError as error:
        messages.error(request, error.message)
    return redirect(reverse(back) + f"#request-{request_id}")
