"""A coordinator runs a whole cohort in a real Chromium, with a real Celery worker:

imports a CSV (checked first, then confirmed), runs the matching and watches its
progress bar, keeps one pair and swaps two mentors, publishes, and opens the
dashboard with its charts.
"""

from __future__ import annotations

import datetime as dt
import re
import time

import kombu.pools
import pytest
from celery.contrib.testing.worker import start_worker
from django.core import mail
from playwright.sync_api import Browser, expect

from accounts.choices import Role, Stage
from accounts.models import Institution, Specialty
from matching.models import MatchRun, PairRule, Program, Proposal
from mentorship.celery import app as project_app
from mentorship.models import CheckIn, Mentorship
from tests.factories import UserFactory
from tests.support.browser import sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.celery_worker,
    pytest.mark.django_db(transaction=True),
]


CSV = """email,full_name,role,user_type,stage,specialties,interests,capacity,institution
ana@lakeside.example,Ana Alvarez,mentee,student,MS1,Orthopaedic Surgery,,,
ben@lakeside.example,Ben Brooks,mentee,student,MS1,Cardiology,,,
cleo@lakeside.example,Cleo Chen,mentee,student,MS2,Orthopaedic Surgery,,,
dev@lakeside.example,Dev Das,mentee,student,MS1,Cardiology,,,
ortho@lakeside.example,,mentor,,,,,2,
cardio@lakeside.example,,mentor,,,,,2,
"""


@pytest.fixture
def worker():
    """The project's own Celery app on an in-memory broker, consumed by a worker thread,
    so the page's progress bar polls a run that really runs elsewhere."""
    conf = project_app.conf
    saved = (conf.task_always_eager, conf.broker_url, conf.broker_transport_options)
    conf.update(task_always_eager=False, broker_url="memory://", broker_transport_options={})
    _reset_connections()
    try:
        with start_worker(
            project_app, perform_ping_check=False, pool="solo", loglevel="WARNING",
            shutdown_timeout=10,
        ):  # fmt: skip
            yield
    finally:
        conf.update(
            task_always_eager=saved[0], broker_url=saved[1], broker_transport_options=saved[2]
        )
        _reset_connections()
        project_app.set_current()


def _reset_connections() -> None:
    # The app built its connection pools for the configured broker, and kombu keeps them
    # in a process-wide registry that the worker's shutdown may close: drop them all, so
    # fresh ones are made for the broker set now on first use, here and in later tests.
    kombu.pools.reset()
    project_app._pool = None
    project_app.amqp._producer_pool = None


def test_import_run_lock_swap_publish_dashboard(live_server, browser: Browser, worker, screenshot):
    school = Institution.objects.create(
        name="Lakeside School of Medicine", slug="lakeside", short_name="Lakeside",
        timezone="America/Chicago",
    )  # fmt: skip
    coordinator = UserFactory(
        email="coord@lakeside.example", full_name="Cora Coordinator", role=Role.COORDINATOR,
        profile={"institution": school},
    )  # fmt: skip
    for email, name, slug in (
        ("ortho@lakeside.example", "Olive Ortho", "orthopaedic-surgery"),
        ("cardio@lakeside.example", "Carl Cardio", "cardiology"),
    ):
        mentor = UserFactory(
            email=email, full_name=name, role=Role.PHYSICIAN,
            profile={"institution": school, "stage": Stage.ATTENDING_MID, "capacity": 3},
        )  # fmt: skip
        mentor.profile.specialties.add(Specialty.objects.get(slug=slug))
    today = dt.date.today()
    program = Program.objects.create(
        institution=school, name="MS1 faculty mentoring", status=Program.Status.OPEN,
        starts_on=today, ends_on=today + dt.timedelta(days=300), created_by=coordinator,
    )  # fmt: skip

    cora = sign_in(browser, live_server.url, coordinator.email)
    cora.get_by_role("navigation", name="Main").get_by_role("link", name="Programs").click()
    cora.get_by_role("link", name="MS1 faculty mentoring").click()
    expect(cora.get_by_role("heading", name=re.compile("MS1 faculty mentoring"))).to_be_visible()

    # 1. Import the cohort: checked first, nothing written until confirmed.
    cora.get_by_role("navigation", name="Program sections").get_by_role(
        "link", name="Participants"
    ).click()
    cora.get_by_label("CSV file").set_input_files(
        files=[{"name": "cohort.csv", "mimeType": "text/csv", "buffer": CSV.encode()}]
    )
    cora.get_by_role("button", name="Check the file").click()
    confirm = cora.get_by_role("button", name="Import 6 participants")
    expect(confirm).to_be_visible()
    assert program.enrollments.count() == 0
    confirm.click()
    expect(cora.locator("#import-status")).to_contain_text("Imported")
    assert program.enrollments.filter(role="mentee").count() == 4
    assert program.enrollments.filter(role="mentor").count() == 2

    # 2. Run the matching; the progress bar follows the worker until the run is done.
    cora.get_by_role("navigation", name="Program sections").get_by_role(
        "link", name="Matching"
    ).click()
    cora.get_by_role("button", name="Start a run").click()
    expect(cora.locator("#run-progress progress")).to_be_attached()
    review = cora.get_by_role("link", name="Review run 1")
    expect(review).to_be_visible(timeout=30_000)
    run = MatchRun.objects.get(program=program)
    assert run.status == "done" and run.progress == 100 and run.input_hash
    review.click()
    assert Proposal.objects.filter(run=run).count() == 4

    # 3. Keep Ana's pair, then swap Ben's mentor with another pair's (a different mentor).
    ana = cora.locator("tr", has_text="Ana Alvarez")
    ana.get_by_role("button", name="Keep").click()
    expect(cora.locator("tr", has_text="Ana Alvarez")).to_contain_text("Kept")
    assert PairRule.objects.filter(program=program, kind="lock").count() == 1
    ben = Proposal.objects.get(run=run, mentee__email="ben@lakeside.example")
    other = (
        Proposal.objects.filter(run=run)
        .exclude(mentor=ben.mentor)
        .exclude(mentee__email="ana@lakeside.example")
        .first()
    )
    assert other is not None
    cora.get_by_label("Pair", exact=True).select_option(str(ben.pk))
    cora.get_by_label("Swap mentors with").select_option(str(other.pk))
    cora.get_by_role("button", name="Swap mentors").click()
    expect(cora.locator("tr", has_text="Ben Brooks")).to_contain_text(other.mentor.full_name)
    ben.refresh_from_db()
    assert ben.mentor_id == other.mentor_id and ben.locked

    # 4. Publish: the mentorships start, with a first check-in, and everyone is emailed.
    screenshot("program-review", on=cora)
    cora.get_by_role("link", name="Publish…").click()
    cora.get_by_role("button", name="Yes, publish and notify everyone").click()
    expect(cora.get_by_text(re.compile("published", re.I)).first).to_be_visible()
    made = Mentorship.objects.filter(program=program)
    assert made.count() == 4
    assert CheckIn.objects.filter(mentorship__program=program).count() == 4
    # The worker sends the emails after the commit: wait for them, with a deadline.
    everyone = {p.user.email for p in program.enrollments.select_related("user")}
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and {t for m in mail.outbox for t in m.to} != everyone:
        time.sleep(0.1)
    assert {t for m in mail.outbox if "program" in m.body.lower() for t in m.to} == everyone

    # 5. The dashboard shows its charts, each with a table alternative.
    cora.get_by_role("navigation", name="Program sections").get_by_role(
        "link", name="Dashboard"
    ).click()
    expect(cora.locator("dt:text-is('Match rate') + dd")).to_have_text("100%")
    expect(cora.locator("svg[role=img]").first).to_be_visible()
    assert cora.locator("figure details table").count() >= 2
    screenshot("program-dashboard", on=cora)
