"""HTML pages of match runs: start and follow a run, review and publish its proposals,
compare runs. Every page and button calls the services and selectors of ``runs``."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import User
from accounts.views import apply_errors
from mentorship.exceptions import ApplicationError

from . import runs
from .models import PairRule, Program


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


class RunStartForm(forms.Form):
    objective = forms.ChoiceField(
        label="Aim of this run",
        choices=Program.Objective.choices,
        widget=forms.RadioSelect,
        help_text="Compare both: run once with each aim and put the runs side by side.",
    )


class SwapForm(forms.Form):
    a = forms.IntegerField(label="Pair")
    b = forms.IntegerField(label="Swap mentors with")


class AssignForm(forms.Form):
    mentee = forms.IntegerField(label="Mentee")
    mentor = forms.IntegerField(label="Mentor")
    slot = forms.CharField(label="Place", required=False)


def _refused(request: HttpRequest, error: ApplicationError) -> None:
    messages.error(request, error.message)


class NeverPairForm(forms.Form):
    """Ids only: whether the two may be kept apart is the service's call."""

    mentee = forms.IntegerField(label="Mentee")
    mentor = forms.IntegerField(label="Mentor")

    def __init__(self, *args: Any, panel: runs.PairRulesPanel, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "never-%s")
        super().__init__(*args, **kwargs)
        for name, people in (("mentee", panel.mentees), ("mentor", panel.mentors)):
            self.fields[name].widget = forms.Select(
                choices=[("", "Choose…"), *((person.pk, person.display_name) for person in people)]
            )


def _runs_page(
    request: HttpRequest, program_id: int, *, never_form: NeverPairForm | None = None
) -> HttpResponse:
    user = _user(request)
    page = runs.program_runs_page(user=user, program_id=program_id)
    panel = runs.pair_rules_panel(user=user, program_id=program_id)
    return render(
        request,
        "matching/program_runs.html",
        {
            "program": page.program,
            "tab": "matching",
            "page": page,
            "form": RunStartForm(initial={"objective": page.program.objective}),
            "rules": panel.rules,
            "rules_final": panel.why_final,
            "never_form": never_form or NeverPairForm(panel=panel),
        },
    )


@login_required
@require_GET
def program_runs(request: HttpRequest, program_id: int) -> HttpResponse:
    return _runs_page(request, program_id)


@login_required
@require_POST
def run_start(request: HttpRequest, program_id: int) -> HttpResponse:
    user = _user(request)
    runs.runs_for_program(user=user, program_id=program_id)  # 404 first
    form = RunStartForm(request.POST)
    objective = form.cleaned_data["objective"] if form.is_valid() else None
    try:
        run, created = runs.run_start(user=user, program_id=program_id, objective=objective)
    except ApplicationError as error:
        _refused(request, error)
    else:
        if created:
            messages.success(request, f"Run {run.number} started.")
        else:
            messages.info(request, f"Run {run.number} with these settings is already under way.")
    return redirect("programs:runs", program_id)


@login_required
@require_GET
def run_progress(request: HttpRequest, program_id: int, run_id: int) -> HttpResponse:
    """The progress bar alone, polled by HTMX while the run is queued or running."""
    run = runs.run_for_coordinator(user=_user(request), program_id=program_id, run_id=run_id)
    return render(
        request, "matching/partials/run_progress.html", {"program": run.program, "run": run}
    )


def _review(request: HttpRequest, program_id: int, run_id: int, *, confirm: bool) -> HttpResponse:
    review = runs.run_review(user=_user(request), program_id=program_id, run_id=run_id)
    swap_from = request.GET.get("swap", "")
    swapping = next((p for p in review.proposals if str(p.pk) == swap_from), None)
    return render(
        request,
        "matching/run_review.html",
        {
            "program": review.program,
            "tab": "matching",
            "review": review,
            "run": review.run,
            "swapping": swapping,
            "confirm_publish": confirm,
        },
    )


@login_required
@require_GET
def run_review(request: HttpRequest, program_id: int, run_id: int) -> HttpResponse:
    return _review(request, program_id, run_id, confirm=False)


def _back(program_id: int, run_id: int, anchor: str = "") -> HttpResponse:
    url = reverse("programs:run_review", args=[program_id, run_id])
    return redirect(url + (f"#{anchor}" if anchor else ""))


@login_required
@require_POST
def proposal_action(
    request: HttpRequest, program_id: int, run_id: int, proposal_id: int, action: str
) -> HttpResponse:
    """Lock, unlock or remove one proposal: one POST per button."""
    operations = {
        "lock": (runs.proposal_lock, "Pair kept: later runs will propose it again."),
        "unlock": (runs.proposal_unlock, "Pair unlocked: later runs decide it again."),
        "remove": (runs.proposal_remove, "Pair removed: later runs will never propose it."),
    }
    if action not in operations:
        raise Http404("No such action.")
    service, done = operations[action]
    user = _user(request)
    runs.run_for_coordinator(user=user, program_id=program_id, run_id=run_id)  # 404 first
    try:
        service(user=user, program_id=program_id, run_id=run_id, proposal_id=proposal_id)
    except ApplicationError as error:
        _refused(request, error)
    else:
        messages.success(request, done)
        if action == "remove":
            return _back(program_id, run_id, "waiting")
    return _back(program_id, run_id, f"proposal-{proposal_id}")


@login_required
@require_POST
def run_swap(request: HttpRequest, program_id: int, run_id: int) -> HttpResponse:
    user = _user(request)
    runs.run_for_coordinator(user=user, program_id=program_id, run_id=run_id)  # 404 first
    form = SwapForm(request.POST)
    try:
        if not form.is_valid():
            raise ApplicationError("Choose the two pairs whose mentors to swap.")
        runs.proposal_swap(
            user=user,
            program_id=program_id,
            run_id=run_id,
            proposal_a=form.cleaned_data["a"],
            proposal_b=form.cleaned_data["b"],
        )
    except ApplicationError as error:
        _refused(request, error)
        return _back(program_id, run_id, "swap")
    messages.success(request, "Mentors swapped; both new pairs are kept.")
    return _back(program_id, run_id, f"proposal-{form.cleaned_data['a']}")


@login_required
@require_POST
def run_assign(request: HttpRequest, program_id: int, run_id: int) -> HttpResponse:
    user = _user(request)
    runs.run_for_coordinator(user=user, program_id=program_id, run_id=run_id)  # 404 first
    form = AssignForm(request.POST)
    try:
        if not form.is_valid():
            raise ApplicationError("Choose a mentee and a mentor.")
        proposal = runs.proposal_assign(
            user=user,
            program_id=program_id,
            run_id=run_id,
            mentee_id=form.cleaned_data["mentee"],
            mentor_id=form.cleaned_data["mentor"],
            slot=form.cleaned_data["slot"],
        )
    except ApplicationError as error:
        _refused(request, error)
        return _back(program_id, run_id, "assign")
    messages.success(request, "Pair placed by hand; later runs keep it.")
    return _back(program_id, run_id, f"proposal-{proposal.pk}")


@login_required
@require_POST
def run_rerun(request: HttpRequest, program_id: int, run_id: int) -> HttpResponse:
    """Run again with the same aim, honouring the pairs kept and removed in review."""
    user = _user(request)
    run = runs.run_for_coordinator(user=user, program_id=program_id, run_id=run_id)
    try:
        new, created = runs.run_start(user=user, program_id=program_id, objective=run.objective)
    except ApplicationError as error:
        _refused(request, error)
        return _back(program_id, run_id)
    if created:
        messages.success(request, f"Run {new.number} started with your kept and removed pairs.")
    else:
        messages.info(request, f"Run {new.number} with these settings is already under way.")
    return redirect("programs:runs", program_id)


@login_required
@require_http_methods(["GET", "POST"])
def run_publish(request: HttpRequest, program_id: int, run_id: int) -> HttpResponse:
    """GET asks for confirmation; POST publishes."""
    if request.method == "GET":
        return _review(request, program_id, run_id, confirm=True)
    user = _user(request)
    runs.run_for_coordinator(user=user, program_id=program_id, run_id=run_id)  # 404 first
    try:
        result = runs.run_publish(user=user, program_id=program_id, run_id=run_id)
    except ApplicationError as error:
        _refused(request, error)
        return _back(program_id, run_id)
    if result.already_published:
        messages.info(request, "These matches were already published.")
    else:
        text = f"Published: {result.mentorships} mentorships started and both sides told."
        if result.skipped:
            text += f" {len(result.skipped)} pairs skipped: " + "; ".join(result.skipped) + "."
        messages.success(request, text)
    return _back(program_id, run_id)


@login_required
@require_GET
def run_compare(request: HttpRequest, program_id: int) -> HttpResponse:
    user = _user(request)
    ids = [value for value in request.GET.getlist("runs") if value.isdigit()]
    try:
        comparison = runs.runs_compare(
            user=user, program_id=program_id, run_ids=[int(i) for i in ids]
        )
    except ApplicationError as error:
        _refused(request, error)
        return redirect("programs:runs", program_id)
    return render(
        request,
        "matching/run_compare.html",
        {"program": comparison.program, "tab": "matching", "comparison": comparison},
    )


# --- Decisions carried into every run ------------------------------------------------


def _to_rules(program_id: int) -> HttpResponse:
    return redirect(reverse("programs:runs", args=[program_id]) + "#decisions")


@login_required
@require_POST
def pair_rule_add(request: HttpRequest, program_id: int) -> HttpResponse:
    """The "Never pair" form: a refusal is shown on the form, with the page around it."""
    user = _user(request)
    panel = runs.pair_rules_panel(user=user, program_id=program_id)  # 404 first
    form = NeverPairForm(request.POST, panel=panel)
    if form.is_valid():
        try:
            rule = runs.pair_rule_exclude(
                user=user,
                program_id=program_id,
                mentee_id=form.cleaned_data["mentee"],
                mentor_id=form.cleaned_data["mentor"],
            )
        except ApplicationError as error:
            apply_errors(form, error)
        else:
            messages.success(
                request,
                f"Never pair: {rule.mentee.display_name} with {rule.mentor.display_name}. "
                "Every later run honours it.",
            )
            return _to_rules(program_id)
    return _runs_page(request, program_id, never_form=form)


@login_required
@require_POST
def pair_rule_undo(request: HttpRequest, program_id: int, rule_id: int) -> HttpResponse:
    try:
        rule = runs.pair_rule_delete(user=_user(request), program_id=program_id, rule_id=rule_id)
    except ApplicationError as error:
        _refused(request, error)
    else:
        pair = f"{rule.mentee.display_name} with {rule.mentor.display_name}"
        if rule.kind == PairRule.Kind.LOCK:
            messages.success(request, f"Undone: {pair} is no longer kept; later runs decide.")
        else:
            messages.success(request, f"Undone: later runs may propose {pair} again.")
    return _to_rules(program_id)
