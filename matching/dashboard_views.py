"""HTML pages of a program's figures: the dashboard and the equity view (coordinators)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.formats import date_format
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_GET

from accounts.models import User

from . import charts, dashboard


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _markup(chart: charts.Chart) -> SafeString:
    # matching.charts escapes every piece of text it puts in the markup.
    return mark_safe(chart.html())


def _number(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


def dashboard_charts(figures: dashboard.ProgramDashboard) -> dict[str, charts.Chart]:
    """The dashboard's three charts, each with its table alternative."""
    bins = figures.score_bins
    pairs = sum(b.count for b in bins)
    run = figures.score_run
    if run is None:
        source = "No finished match run yet"
    else:
        source = f"Run {run.number}" + (" (published)" if run.published else " (not published)")
    if pairs:
        top = max(bins, key=lambda b: b.count)
        score_desc = (
            f"{source}: {pairs} proposed pairs by match score in bands of 10 points. "
            f"The largest band is {top.label} with {top.count} pairs."
        )
    else:
        score_desc = f"{source}: no proposed pairs to show."
    scores = charts.bar_chart(
        key="chart-scores",
        title="Match scores of the proposed pairs",
        desc=score_desc,
        labels=[b.label for b in bins],
        values=[b.count for b in bins],
        x_label="Match score",
        y_label="Pairs",
    )

    months = figures.adherence
    measured = [m for m in months if m.percent is not None]
    if measured:
        latest = measured[-1]
        adherence_desc = (
            f"Share of live program mentorships that completed at least one check-in, by "
            f"month, from {date_format(months[0].month, 'F Y')} to "
            f"{date_format(months[-1].month, 'F Y')}. "
            f"Latest: {_number(latest.percent or 0)}% in {date_format(latest.month, 'F Y')} "
            f"({latest.met} of {latest.live})."
        )
    else:
        adherence_desc = "No program mentorship was live in any month yet."
    adherence = charts.line_chart(
        key="chart-adherence",
        title="Check-in adherence by month",
        desc=adherence_desc,
        labels=[date_format(m.month, "M Y") for m in months],
        values=[m.percent for m in months],
        x_label="Month",
        y_label="Share that met",
        missing="no live mentorship",
    )

    distribution = figures.load.distribution
    load_desc = (
        f"How many of the {len(figures.load.mentors)} enrolled mentors carry each number of "
        f"live program mentorships; the median is {_number(figures.load.median)}."
        if figures.load.median is not None
        else "No mentors enrolled yet."
    )
    load = charts.bar_chart(
        key="chart-load",
        title="Mentor load",
        desc=load_desc,
        labels=[str(b.mentorships) for b in distribution],
        values=[b.mentors for b in distribution],
        x_label="Live mentorships per mentor",
        y_label="Mentors",
    )
    return {"scores": scores, "adherence": adherence, "load": load}


@require_GET
@login_required
def program_dashboard(request: HttpRequest, program_id: int) -> HttpResponse:
    figures = dashboard.program_dashboard(user=_user(request), program_id=program_id)
    chart_markup = {name: _markup(c) for name, c in dashboard_charts(figures).items()}
    return render(
        request,
        "matching/program_dashboard.html",
        {
            "program": figures.program,
            "tab": "dashboard",
            "figures": figures,
            "charts": chart_markup,
            "load_factor": dashboard.LOAD_FACTOR,
            "load_margin": dashboard.LOAD_MARGIN,
            "stall_rules": dashboard.stall_rules(),
        },
    )


@require_GET
@login_required
def program_equity(request: HttpRequest, program_id: int) -> HttpResponse:
    equity = dashboard.program_equity_open(
        user=_user(request), program_id=program_id, channel="html"
    )
    return render(
        request,
        "matching/program_equity.html",
        {
            "program": equity.program,
            "tab": "dashboard",
            "equity": equity,
            # The total heads each breakdown: it is what complementary suppression protects.
            "breakdowns": [
                ("By gender", [equity.overall, *equity.by_gender], "gender"),
                ("By ethnicity", [equity.overall, *equity.by_ethnicity], "ethnicity"),
            ],
        },
    )
