"""HTML pages of a program's enrolment: participants, CSV import and export, invite link.

Thin: parse, call a service or selector of ``imports``, render. Only the program's
coordinators see these pages (404 for anyone else), except the join pages, which are for
the people a coordinator invited.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import MAX_CAPACITY, User
from accounts.views import apply_errors
from mentorship.exceptions import ApplicationError

from . import imports, selectors, services
from .models import Enrollment, ImportJob, Program


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


class AddByEmailForm(forms.Form):
    email = forms.EmailField(label="Email of their account")
    role = forms.ChoiceField(choices=Enrollment.Role.choices, initial=Enrollment.Role.MENTEE)
    capacity = forms.IntegerField(
        min_value=1,
        max_value=MAX_CAPACITY,
        required=False,
        label="Mentees in this program",
        help_text="Mentors only; empty: the free places of their profile.",
    )


class ImportForm(forms.Form):
    file = forms.FileField(
        required=False,
        label="CSV file",
        help_text="UTF-8 (“CSV UTF-8” in Excel), up to 5 MB.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )
    text = forms.CharField(
        required=False,
        label="Or paste the rows, header first",
        help_text="Copied from a spreadsheet or typed with commas.",
        widget=forms.Textarea(attrs={"rows": 5, "spellcheck": "false"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("file") and not (data.get("text") or "").strip():
            raise forms.ValidationError("Choose a CSV file or paste the rows.")
        return data


class JoinForm(forms.Form):
    role = forms.ChoiceField(label="Join as", widget=forms.RadioSelect)
    capacity = forms.IntegerField(
        min_value=1,
        max_value=MAX_CAPACITY,
        required=False,
        label="How many mentees can you take in this program?",
        help_text="Mentors only. Empty: the free places of your profile.",
    )

    def __init__(self, *args: Any, roles: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.roles = roles
        labels: dict[str, str] = {
            Enrollment.Role.MENTEE: "A mentee: I would like a mentor",
            Enrollment.Role.MENTOR: "A mentor: I can guide someone",
        }
        role_field = self.fields["role"]
        assert isinstance(role_field, forms.ChoiceField)
        role_field.choices = [(role, labels[role]) for role in roles]
        if roles:
            self.fields["role"].initial = roles[0]
        if Enrollment.Role.MENTOR not in roles:
            del self.fields["capacity"]


class CodeForm(forms.Form):
    code = forms.CharField(max_length=20, label="Invitation code")


# --- Participants page (coordinators) ----------------------------------------------------


def _participants_page(
    request: HttpRequest,
    program_id: int,
    *,
    add_form: AddByEmailForm | None = None,
    import_form: ImportForm | None = None,
) -> HttpResponse:
    user = _user(request)
    program = selectors.program_for_coordinator(user=user, program_id=program_id)
    mentees, mentors = imports.participants_split(user=user, program_id=program.pk)
    context = {
        "program": program,
        "tab": "participants",
        "mentees": mentees,
        "mentors": mentors,
        "job": imports.latest_import(user=user, program_id=program.pk),
        "invite_url": request.build_absolute_uri(
            reverse("programs:join", args=[program.invite_code])
        ),
        "join_refusal": imports.join_refusal(program),
        "add_form": add_form or AddByEmailForm(),
        "import_form": import_form or ImportForm(),
        "columns": imports.COLUMNS,
    }
    return render(request, "matching/program_participants.html", context)


@login_required
@require_GET
def participants(request: HttpRequest, program_id: int) -> HttpResponse:
    return _participants_page(request, program_id)


@login_required
@require_POST
def participant_add(request: HttpRequest, program_id: int) -> HttpResponse:
    user = _user(request)
    program = selectors.program_for_coordinator(user=user, program_id=program_id)
    form = AddByEmailForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        person = imports.person_by_email(user=user, email=data["email"])
        if person is None:
            form.add_error(
                "email", "No account uses this email. Import them with a CSV: it creates one."
            )
        else:
            try:
                services.enrollment_add(
                    user=user,
                    program_id=program.pk,
                    person_id=person.pk,
                    role=data["role"],
                    capacity=data["capacity"],
                )
            except ApplicationError as error:
                apply_errors(form, error)
            else:
                messages.success(request, f"{person.display_name} is enrolled as {data['role']}.")
                return redirect("programs:participants", program.pk)
    return _participants_page(request, program.pk, add_form=form)


@login_required
@require_POST
def import_upload(request: HttpRequest, program_id: int) -> HttpResponse:
    user = _user(request)
    program = selectors.program_for_coordinator(user=user, program_id=program_id)
    form = ImportForm(request.POST, request.FILES)
    if form.is_valid():
        upload = form.cleaned_data.get("file")
        try:
            if upload:
                # One byte past the limit is enough for the service to refuse it.
                data: bytes | str = upload.read(imports.MAX_UPLOAD_BYTES + 1)
                name = upload.name or ""
            else:
                data, name = form.cleaned_data["text"], ""
            imports.import_start(user=user, program_id=program.pk, data=data, filename=name)
        except ApplicationError as error:
            if "file" in error.fields and not upload:
                error.fields["text"] = error.fields.pop("file")
            apply_errors(form, error)
        else:
            return redirect(reverse("programs:participants", args=[program.pk]) + "#import")
    return _participants_page(request, program.pk, import_form=form)


def _import_partial(request: HttpRequest, job: ImportJob, error: str = "") -> HttpResponse:
    return render(
        request,
        "matching/partials/import_status.html",
        {"program": job.program, "job": job, "import_error": error},
    )


@login_required
@require_GET
def import_status(request: HttpRequest, program_id: int, import_id: int) -> HttpResponse:
    """The latest import's card: polled by the page every second while the job runs."""
    job = imports.import_for_coordinator(
        user=_user(request), program_id=program_id, import_id=import_id
    )
    return _import_partial(request, job)


@login_required
@require_POST
def import_confirm(request: HttpRequest, program_id: int, import_id: int) -> HttpResponse:
    user = _user(request)
    job = imports.import_for_coordinator(user=user, program_id=program_id, import_id=import_id)
    error = ""
    try:
        job = imports.import_confirm(user=user, program_id=program_id, import_id=job.pk)
    except ApplicationError as exc:
        error = exc.message
    if getattr(request, "htmx", False):
        return _import_partial(request, job, error)
    if error:
        messages.error(request, error)
    return redirect(reverse("programs:participants", args=[program_id]) + "#import")


@login_required
@require_POST
def invite_regenerate(request: HttpRequest, program_id: int) -> HttpResponse:
    user = _user(request)
    program = selectors.program_for_coordinator(user=user, program_id=program_id)
    imports.invite_code_regenerate(user=user, program_id=program.pk)
    messages.success(request, "New invitation link ready. The old link no longer works.")
    return redirect(reverse("programs:participants", args=[program.pk]) + "#invite")


def csv_response(filename: str, content: str) -> HttpResponse:
    # A byte-order mark, so Excel reads accented names as UTF-8.
    response = HttpResponse("\ufeff" + content, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_GET
def import_template(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if not user.is_coordinator:
        raise PermissionDenied("Only a school's coordinators import participants.")
    return csv_response("participants-template.csv", imports.template_csv(user=user))


@login_required
@require_GET
def export_participants(request: HttpRequest, program_id: int) -> HttpResponse:
    return csv_response(*imports.participants_export(user=_user(request), program_id=program_id))


@login_required
@require_GET
def export_pairs(request: HttpRequest, program_id: int) -> HttpResponse:
    return csv_response(*imports.pairs_export(user=_user(request), program_id=program_id))


# --- Joining with the invitation link (participants) ---------------------------------------


@require_GET
def join_code(request: HttpRequest) -> HttpResponse:
    """Type the code a coordinator gave you; it leads to the program's join page."""
    form = CodeForm(request.GET or None)
    if form.is_valid():
        return redirect("programs:join", form.cleaned_data["code"].strip())
    return render(request, "matching/program_join.html", {"code_form": form, "program": None})


@require_http_methods(["GET", "POST"])
def join(request: HttpRequest, code: str) -> HttpResponse:
    program = imports.program_by_invite(code=code)
    if program is None:
        context = {"code_form": CodeForm(initial={"code": code}), "invalid": True}
        return render(request, "matching/program_join.html", context, status=404)
    if not request.user.is_authenticated:
        if request.method == "POST":
            return redirect_to_login(request.get_full_path())
        return render(request, "matching/program_join.html", _join_context(request, program))
    user = _user(request)
    joined = imports.my_roles_in(user=user, program=program)
    roles = [role for role in imports.join_roles(user) if role not in joined]
    form = JoinForm(request.POST or None, roles=roles)
    if request.method == "POST" and form.is_valid():
        try:
            enrollment, created = imports.program_join(
                user=user,
                code=program.invite_code,
                role=form.cleaned_data["role"],
                capacity=form.cleaned_data.get("capacity"),
            )
        except ApplicationError as error:
            apply_errors(form, error)
        else:
            messages.success(
                request,
                f"You joined “{program.name}” as a {enrollment.role}."
                if created
                else f"You were already in “{program.name}” as a {enrollment.role}.",
            )
            return redirect("programs:list")
    context = _join_context(request, program, form=form, joined=joined)
    return render(request, "matching/program_join.html", context)


def _join_context(
    request: HttpRequest,
    program: Program,
    form: JoinForm | None = None,
    joined: list[str] | None = None,
) -> dict[str, Any]:
    user = request.user
    next_url = request.get_full_path()
    back = urlencode({"next": next_url})
    return {
        "program": program,
        "form": form,
        "refusal": imports.join_refusal(program),
        "my_roles": joined or [],
        "takes_part": isinstance(user, User) and bool(imports.join_roles(user)),
        "login_url": f"{reverse('accounts:login')}?{back}",
        "signup_url": f"{reverse('accounts:signup')}?{back}",
        "join_url": request.build_absolute_uri(next_url),
    }
