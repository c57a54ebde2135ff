"""The pairing-program benchmark runs end to end in a database of its own.

Only that it works and reports plausible figures is tested here: speed targets live in
the benchmark's output, not in timed tests.
"""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.db import connection

from accounts.models import User
from matching.models import ImportJob, MatchRun, Program
from mentorship.celery import app as celery_app

# The command creates, migrates and drops its own database: the test's is left alone,
# and the connection it closes must not be inside the test's transaction.
pytestmark = pytest.mark.django_db(transaction=True)


def table(output: str, first_header: str) -> list[dict[str, str]]:
    """The Markdown table whose first column is ``first_header``, as one dict per row."""
    lines = output.splitlines()
    start = next(k for k, line in enumerate(lines) if line.startswith(f"| {first_header} |"))
    header = [cell.strip() for cell in lines[start].strip("|").split("|")]
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append(dict(zip(header, (c.strip() for c in line.strip("|").split("|")), strict=True)))
    return rows


def test_the_benchmark_reports_runs_publish_and_import_without_touching_the_database():
    name = connection.settings_dict["NAME"]
    eager = celery_app.conf.task_always_eager
    # As eager tasks of earlier tests leave it: a producer pool bound to the configured
    # broker. The command must publish elsewhere (it refuses to run otherwise).
    with celery_app.producer_or_acquire():
        pass
    out = io.StringIO()

    call_command(
        "bench_programs", "--sizes", "30x10", "--import-rows", "50", "--seed", "7", stdout=out
    )

    output = out.getvalue()
    runs = table(output, "mentees × mentors")
    assert [(r["demand"], r["objective"]) for r in runs] == [
        ("one", "quality"), ("one", "participation"),
        ("team", "quality"), ("team", "participation"),
    ]  # fmt: skip
    for r in runs:
        assert r["mentees × mentors"] == "30 × 10"
        assert 0 < float(r["coverage"]) <= 1
        assert 0 < float(r["mean score"]) <= 1
        assert 0 < int(r["pairs"]) <= 30 * 2
        assert int(r["queries"]) > int(r["proposal INSERTs"]) >= 1
        assert float(r["total s"]) >= float(r["solve s"]) >= 0
    (publish,) = table(output, "mentees × mentors | run")
    assert publish["run"] == "one / quality"
    assert int(publish["mentorships"]) == int(runs[0]["pairs"])
    assert int(publish["emails"]) == 2 * int(publish["mentorships"])  # mentee and mentor
    assert int(publish["queries"].replace(",", "")) > 0
    (csv_import,) = table(output, "rows")
    assert csv_import["rows"] == "50"
    assert int(csv_import["new accounts"]) + int(csv_import["existing"]) == 50
    assert int(csv_import["check queries"]) > 0 and int(csv_import["import queries"]) > 0
    assert float(csv_import["import s"]) > 0
    assert " cores; seed 7" in output and "Setup of 30 × 10 (not timed below)" in output

    # The configured (test) database and the Celery app are as they were.
    assert connection.settings_dict["NAME"] == name
    assert celery_app.conf.task_always_eager is eager
    assert not Program.objects.exists()
    assert not MatchRun.objects.exists() and not ImportJob.objects.exists()
    assert not User.objects.exists()
