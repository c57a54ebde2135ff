"""HTML pages of a mentorship: the pair's page, agreement, check-ins, notes, ending.

Each POST calls one service; errors come back as the form's errors or a message.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import User
from accounts.views import apply_errors

from . import notifications, selectors, services
from .exceptions import ApplicationError
from .forms import (
    AcademicDateForm,
    AgreementForm,
    CheckInForm,
    CompleteForm,
    EndForm,
    FeedbackForm,
    NoteForm,
    PulseForm,
    RenewForm,
)
from .models import Mentorship


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _tz(user: User) -> str:
    """The person's own time zone: check-in times are read and shown in it."""
    return user.profile.timezone


def _detail(mentorship_id: int, anchor: str = "") -> HttpResponse:
    url = reverse("mentorships:detail", args=[mentorship_id])
    return redirect(url + (f"#{anchor}" if anchor else ""))


@login_required
@require_POST
def request_accept(request: HttpRequest, request_id: int) -> HttpResponse:
    """The mentor accepts from the inbox and lands on the new mentorship's agreement."""
    user = _user(request)
    try:
        mentorship = services.request_accept(mentor=user, request_id=request_id)
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect(reverse("matching:inbox") + f"#request-{request_id}")
    messages.success(
        request,
        f"Accepted: {mentorship.mentee.get_short_name()} has been told. Next, agree on a few "
        "goals and how often you'll meet, and sign.",
    )
    return _detail(mentorship.pk, "agreement")


@login_required
def mentorship_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    rows = list(selectors.mentorships_for(user=user))
    return render(
        request,
        "mentorship/list.html",
        {
            "live": [m for m in rows if m.is_live],
            "ended": [m for m in rows if not m.is_live],
        },
    )


def _page_context(user: User, mentorship_id: int, **forms: Any) -> dict[str, Any]:
    page = selectors.mentorship_page(user=user, mentorship_id=mentorship_id)
    tz_name = _tz(user)
    context: dict[str, Any] = {
        "page": page,
        "tz_name": tz_name,
        "checkin_form": CheckInForm(
            tz_name=tz_name,
            initial={"mode": page.agreement.meeting_mode, "duration_minutes": 30},
        ),
        "note_form": NoteForm(),
        "pulse_form": PulseForm(),
        "renew_form": RenewForm(),
    }
    context.update(forms)
    return context


@login_required
def mentorship_detail(request: HttpRequest, mentorship_id: int) -> HttpResponse:
    user = _user(request)
    return render(request, "mentorship/detail.html", _page_context(user, mentorship_id))


@login_required
@require_http_methods(["GET", "POST"])
def agreement_edit(request: HttpRequest, mentorship_id: int) -> HttpResponse:
    user = _user(request)
    page = selectors.mentorship_page(user=user, mentorship_id=mentorship_id)
    if not page.mentorship.is_live:
        messages.error(request, "This mentorship has ended.")
        return _detail(mentorship_id)
    agreement = page.agreement
    initial = {
        field: getattr(agreement, field)
        for field in ("cadence", "meeting_mode", "scheduler", "duration", "review_date",
                      "confidentiality")
    }  # fmt: skip
    form = AgreementForm(request.POST or None, goals=page.goals, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            agreement = services.agreement_update(
                user=user, mentorship_id=mentorship_id, data=form.agreement_data()
            )
            if "sign" in request.POST and not agreement.is_signed_by(page.role):
                services.agreement_sign(user=user, mentorship_id=mentorship_id)
        except ApplicationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, "Agreement saved.")
            return _detail(mentorship_id, "agreement")
    return render(request, "mentorship/agreement_form.html", {"page": page, "form": form})


@login_required
@require_POST
def agreement_sign(request: HttpRequest, mentorship_id: int) -> HttpResponse:
    user = _user(request)
    try:
        agreement = services.agreement_sign(user=user, mentorship_id=mentorship_id)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            "Signed by both of you: time to schedule your first check-in."
            if agreement.is_signed
            else "Signed. We've asked the other side to sign too.",
        )
    return _detail(mentorship_id, "agreement")


@login_required
@require_POST
def checkin_new(request: HttpRequest, mentorship_id: int) -> HttpResponse:
    user = _user(request)
    form = CheckInForm(request.POST, tz_name=_tz(user))
    if form.is_valid():
        try:
            services.checkin_schedule(
                user=user, mentorship_id=mentorship_id, data=form.checkin_data()
            )
        except ApplicationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, "Check-in scheduled. The invitation is on its way.")
            return _detail(mentorship_id, "checkins")
    context = _page_context(user, mentorship_id, checkin_form=form)
    return render(request, "mentorship/detail.html", context, status=400)


@login_required
@require_http_methods(["GET", "POST"])
def checkin_complete(request: HttpRequest, checkin_id: int) -> HttpResponse:
    user = _user(request)
    checkin = selectors.checkin_for_party(user=user, checkin_id=checkin_id)
    page = selectors.mentorship_page(user=user, mentorship_id=checkin.mentorship_id)
    form = CompleteForm(request.POST or None, goals=page.goals)
    if request.method == "POST" and form.is_valid():
        try:
            services.checkin_complete(
                user=user,
                checkin_id=checkin_id,
                goal_progress=form.goal_progress(),
                note=form.cleaned_data["note"],
                note_shared=form.cleaned_data["note_shared"],
            )
        except ApplicationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, "Check-in logged. One last question below.")
            return _detail(checkin.mentorship_id, "pulse")
    return render(
        request,
        "mentorship/checkin_complete.html",
        {"page": page, "checkin": checkin, "form": form, "tz_name": _tz(user)},
    )


@login_required
@require_POST
def checkin_action(request: HttpRequest, checkin_id: int, action: str) -> HttpResponse:
    user = _user(request)
    checkin = selectors.checkin_for_party(user=user, checkin_id=checkin_id)
    anchor = "checkins"
    try:
        if action == "cancel":
            services.checkin_cancel(user=user, checkin_id=checkin_id)
            messages.success(request, "Check-in cancelled; the other side has been told.")
        elif action == "agenda":
            services.checkin_update(
                user=user, checkin_id=checkin_id, data={"agenda": request.POST.get("agenda", "")}
            )
            messages.success(request, "Agenda saved.")
        elif action == "pulse":
            pulse_form = PulseForm(request.POST)
            if not pulse_form.is_valid():
                raise ApplicationError("Choose an answer.")
            services.pulse_record(
                user=user, checkin_id=checkin_id, answer=pulse_form.cleaned_data["answer"]
            )
            messages.success(request, "Thank you. Only you see your answer.")
            anchor = "pulse"
        else:
            raise ApplicationError("Unknown action.")
    except ApplicationError as error:
        messages.error(request, error.message)
    return _detail(checkin.mentorship_id, anchor)


@login_required
def checkin_ics(request: HttpRequest, checkin_id: int) -> HttpResponse:
    user = _user(request)
    checkin = selectors.checkin_for_party(user=user, checkin_id=checkin_id)
    response = HttpResponse(notifications.checkin_ics(checkin), content_type="text/calendar")
    stamp = timezone.localtime(checkin.scheduled_at).strftime("%Y-%m-%d")
    response["Content-Disposition"] = f'attachment; filename="check-in-{stamp}.ics"'
    return response


@login_required
@require_POST
def note_add(request: HttpRequest, mentorship_id: int) -> HttpResponse:
    user = _user(request)
    form = NoteForm(request.POST)
    if form.is_valid():
        try:
            services.note_add(
                user=user,
                mentorship_id=mentorship_id,
                body=form.cleaned_data["body"],
                shared=form.cleaned_data["shared"],
            )
        except ApplicationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, "Note saved.")
            return _detail(mentorship_id, "notes")
    context = _page_context(user, mentorship_id, note_form=form)
    return render(request, "mentorship/detail.html", context, status=400)


@login_required
@require_POST
def note_delete(request: HttpRequest, mentorship_id: int, note_id: int) -> HttpResponse:
    user = _user(request)
    selectors.mentorship_for_party(user=user, mentorship_id=mentorship_id)
    services.note_delete(user=user, note_id=note_id)
    messages.success(request, "Note deleted.")
    return _detail(mentorship_id, "notes")


@login_required
@require_http_methods(["GET", "POST"])
def mentorship_end(request: HttpRequest, mentorship_id: int) -> HttpResponse:
    user = _user(request)
    page = selectors.mentorship_page(user=user, mentorship_id=mentorship_id)
    form = EndForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.mentorship_end(
                user=user, mentorship_id=mentorship_id, reason=form.cleaned_data["reason"]
            )
        except ApplicationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, "The mentorship has ended. Three short questions follow.")
            return redirect("mentorships:feedback", mentorship_id)
    return render(request, "mentorship/end.html", {"page": page, "form": form})


@login_required
@require_POST
def mentorship_renew(request: HttpRequest, mentorship_id: int) -> HttpResponse:
    user = _user(request)
    form = RenewForm(request.POST)
    try:
        if not form.is_valid():
            raise ApplicationError("Choose the next review date.")
        services.mentorship_renew(
            user=user, mentorship_id=mentorship_id, review_date=form.cleaned_data["review_date"]
        )
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "Renewed: the new review date is in the agreement.")
    return _detail(mentorship_id, "agreement")


@login_required
@require_http_methods(["GET", "POST"])
def feedback(request: HttpRequest, mentorship_id: int) -> HttpResponse:
    user = _user(request)
    page = selectors.mentorship_page(user=user, mentorship_id=mentorship_id)
    if page.mentorship.status != Mentorship.Status.ENDED or page.my_feedback is not None:
        return _detail(mentorship_id)
    form = FeedbackForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.feedback_submit(user=user, mentorship_id=mentorship_id, **form.cleaned_data)
        except ApplicationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, "Thank you for your answers.")
            return _detail(mentorship_id)
    return render(request, "mentorship/feedback.html", {"page": page, "form": form})


@login_required
@require_POST
def pay_it_forward(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    try:
        profile = services.mentoring_switch_on(user=user)
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect("home")
    messages.success(
        request,
        f"Mentoring is on: {profile.capacity - profile.active_mentees} place(s) open. "
        "Check your mentoring settings so students find the right fit.",
    )
    return redirect("accounts:profile_step", "mentor")


# --- The academic calendar --------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def calendar(request: HttpRequest, date_id: int | None = None) -> HttpResponse:
    """The institution's academic calendar; its coordinators add, edit and remove dates."""
    user = _user(request)
    dates = selectors.academic_calendar(user=user, include_off=True)
    editing = None
    if date_id is not None:
        editing = dates.filter(pk=date_id).first()
        if editing is None or not user.is_coordinator:
            raise Http404("No such date in your calendar.")
    initial = {}
    if editing is not None:
        initial = {
            f: getattr(editing, f) for f in ("title", "category", "date", "lead_days", "prompt")
        }
        initial["stages"] = editing.stages
    form = AcademicDateForm(request.POST or None, initial=initial)
    if request.method == "POST":
        if not user.is_coordinator:
            raise PermissionDenied("Only your school's coordinators can change its calendar.")
        if form.is_valid():
            try:
                services.academic_date_save(user=user, date_id=date_id, data=form.cleaned_data)
            except ApplicationError as error:
                apply_errors(form, error)
            else:
                messages.success(request, "Calendar saved.")
                return redirect("mentorships:calendar")
    return render(
        request,
        "mentorship/calendar.html",
        {"dates": dates, "form": form, "editing": editing, "today": timezone.localdate()},
    )


@login_required
@require_POST
def calendar_remove(request: HttpRequest, date_id: int) -> HttpResponse:
    services.academic_date_remove(user=_user(request), date_id=date_id)
    messages.success(request, "Date taken off the calendar.")
    return redirect("mentorships:calendar")
