"""HTML pages of pairing programs: the list, creating and editing one, its overview."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from accounts.models import User
from accounts.views import apply_errors
from mentorship.exceptions import ApplicationError

from . import selectors, services
from .forms import ProgramForm


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


@login_required
def program_list(request: HttpRequest) -> HttpResponse:
    """A coordinator's school programs; for everyone else, the programs they take part in."""
    user = _user(request)
    roles = {} if user.is_coordinator else selectors.my_program_roles(user=user)
    rows = [(program, roles.get(program.pk, [])) for program in selectors.programs_for(user=user)]
    return render(request, "matching/program_list.html", {"rows": rows})


@login_required
def program_new(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if not user.is_coordinator:
        raise PermissionDenied("Only a school's coordinators can create its programs.")
    form = ProgramForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            program = services.program_save(user=user, data=form.data_for_service())
        except ApplicationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, f"“{program.name}” created. Next: enrol its participants.")
            return redirect("programs:detail", program.pk)
    return render(request, "matching/program_form.html", {"form": form, "program": None})


@login_required
def program_edit(request: HttpRequest, program_id: int) -> HttpResponse:
    user = _user(request)
    program = selectors.program_for_coordinator(user=user, program_id=program_id)
    form = ProgramForm(request.POST or None, instance=program)
    if request.method == "POST" and form.is_valid():
        try:
            services.program_save(user=user, program_id=program.pk, data=form.data_for_service())
        except ApplicationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, "Program settings saved.")
            return redirect("programs:detail", program.pk)
    return render(
        request, "matching/program_form.html", {"form": form, "program": program, "tab": "edit"}
    )


@login_required
def program_detail(request: HttpRequest, program_id: int) -> HttpResponse:
    overview = selectors.program_overview(user=_user(request), program_id=program_id)
    return render(
        request,
        "matching/program_detail.html",
        {"program": overview.program, "overview": overview, "tab": "overview"},
    )
