"""HTML pages for safety: report a request or message, block its sender, and see the
people you blocked and the reports you made."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import User
from accounts.views import apply_errors
from mentorship.exceptions import ApplicationError

from . import safety
from .forms import ReportForm
from .models import MentorRequest, RequestMessage


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _back(user: User, request: MentorRequest) -> str:
    page = "matching:inbox" if request.mentor_id == user.pk else "matching:requests"
    return reverse(page) + f"#request-{request.pk}"


@login_required
@require_http_methods(["GET", "POST"])
def request_report(request: HttpRequest, request_id: int) -> HttpResponse:
    user = _user(request)
    mentor_request = safety.party_request(user=user, request_id=request_id)
    other = safety.other_party(mentor_request, user)
    raw_message = request.POST.get("message") or request.GET.get("message") or ""
    message: RequestMessage | None = None
    if raw_message.isdigit():
        message = RequestMessage.objects.filter(
            pk=int(raw_message), request=mentor_request, author=other
        ).first()
    form = ReportForm(request.POST or None, other_name=other.display_name)
    if request.method == "POST" and form.is_valid():
        try:
            safety.report_create(
                user=user,
                request_id=mentor_request.pk,
                message_id=message.pk if message else None,
                reason=form.cleaned_data["reason"],
                details=form.cleaned_data["details"],
                block=form.cleaned_data["block"],
            )
        except ApplicationError as error:
            apply_errors(form, error)
        else:
            text = "Thank you. Staff will review your report."
            if form.cleaned_data["block"]:
                text += f" You blocked {other.display_name}."
            messages.success(request, text)
            return redirect(_back(user, mentor_request))
    return render(
        request,
        "matching/request_report.html",
        {
            "form": form,
            "req": mentor_request,
            "other": other,
            "reported_message": message,
            "can_report_request": mentor_request.mentor_id == user.pk,
            "back": _back(user, mentor_request),
        },
    )


@login_required
@require_POST
def request_block(request: HttpRequest, request_id: int) -> HttpResponse:
    user = _user(request)
    block = safety.block_from_request(user=user, request_id=request_id)
    messages.success(
        request,
        f"You blocked {block.blocked.display_name}. Requests and messages between you stop; "
        "you can undo this on your Safety page.",
    )
    return redirect("matching:safety")


@login_required
def safety_page(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    return render(
        request,
        "matching/safety.html",
        {"blocks": safety.blocks_made(user=user), "reports": safety.reports_made(user=user)},
    )


@login_required
@require_POST
def block_remove(request: HttpRequest, block_id: int) -> HttpResponse:
    safety.block_remove(user=_user(request), block_id=block_id)
    messages.success(request, "Unblocked.")
    return redirect("matching:safety")
