"""The Content-Security-Policy in a real Chromium: every main page, its HTMX swaps and the
API docs run with no script or style the policy blocks.

Violations are caught twice: the ``securitypolicyviolation`` event (reported to the test
through an exposed function, so a navigation cannot lose it) and Chromium's console
error ("Refused to ... Content Security Policy"). Uncaught page errors fail too: a page
whose script broke under the policy is no more working than one that reported it.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import Browser, BrowserContext, Page, expect

from accounts.choices import Role, Stage
from accounts.models import Institution, Specialty, User
from matching import runs
from matching.models import Enrollment, MatchRun, Program
from mentorship.models import Mentorship
from tests.conftest import PASSWORD
from tests.factories import InstitutionFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LISTEN = """
document.addEventListener("securitypolicyviolation", (e) => {
  window.reportCspViolation({
    page: location.pathname + location.search,
    directive: e.effectiveDirective,
    blocked: e.blockedURI,
    source: e.sourceFile,
    line: e.lineNumber,
    sample: e.sample,
  });
}, true);
"""


@dataclass
class CspWatch:
    """Everything the policy blocked, and every uncaught script error, in one context."""

    violations: list[dict[str, Any]] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    def attach(self, context: BrowserContext) -> None:
        context.expose_function("reportCspViolation", self.report)
        context.add_init_script(LISTEN)
        context.on("page", self.watch)

    def report(self, violation: dict[str, Any]) -> None:
        self.violations.append(violation)

    def watch(self, page: Page) -> None:
        page.on(
            "console",
            lambda m: self.console.append(m.text) if "Content Security Policy" in m.text else None,
        )
        page.on("pageerror", lambda e: self.page_errors.append(str(e)))

    def settle(self, page: Page) -> None:
        """Let the page finish loading, then let queued violation reports reach us."""
        page.wait_for_load_state("networkidle")
        page.evaluate("() => new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)))")

    def assert_clean(self) -> None:
        assert self.violations == []
        assert self.console == []
        assert self.page_errors == []


@pytest.fixture
def browser_as(browser: Browser, live_server):
    """``browser_as(user)``: a fresh context watched for violations, signed in as ``user``
    through a session cookie (the sign-in form itself is visited once, by the student)."""
    contexts: list[BrowserContext] = []

    def open_as(user: User | None) -> tuple[Page, CspWatch]:
        context = browser.new_context(base_url=live_server.url, timezone_id="America/Chicago")
        contexts.append(context)
        watch = CspWatch()
        watch.attach(context)
        if user is not None:
            client = Client()
            client.force_login(user)
            cookie = client.cookies[settings.SESSION_COOKIE_NAME]
            context.add_cookies(
                [{"name": cookie.key, "value": cookie.value, "url": live_server.url}]
            )
        return context.new_page(), watch

    yield open_as
    for context in contexts:
        context.close()


def visit(page: Page, watch: CspWatch, path: str, heading: str | re.Pattern[str]) -> None:
    response = page.goto(path)
    assert response is not None and response.status == 200, path
    assert "script-src 'self'" in (response.headers.get("content-security-policy") or "")
    expect(page.get_by_role("heading", level=1, name=heading)).to_be_visible()
    watch.settle(page)


def person(school: Institution, name: str, role: str, stage: int, specialty: str) -> User:
    user = UserFactory(
        full_name=name, role=role,
        profile={"institution": school, "stage": stage, "capacity": 2},
    )  # fmt: skip
    user.profile.specialties.set([Specialty.objects.get(slug=specialty)])
    return user


@pytest.fixture
def cohort():
    """A school with a coordinator, staff, two students and two mentors; a program whose
    run was published, so there are mentorships, proposals, charts and figures to show."""
    school = InstitutionFactory(
        name="Lakeside School of Medicine", slug="lakeside", short_name="Lakeside",
        timezone="America/Chicago",
    )  # fmt: skip
    coordinator = UserFactory(
        email="coord@lakeside.example", full_name="Cora Coordinator", role=Role.COORDINATOR,
        profile={"institution": school, "stage": None},
    )  # fmt: skip
    staff = UserFactory(
        email="staff@medmentor.example", full_name="Stella Staff", role=Role.COORDINATOR,
        is_staff=True, is_superuser=True, profile={"institution": school, "stage": None},
    )  # fmt: skip
    today = dt.date.today()
    program = Program.objects.create(
        institution=school, name="Cardio-ortho 2027", status=Program.Status.OPEN,
        starts_on=today + dt.timedelta(days=7), ends_on=today + dt.timedelta(days=300),
        created_by=coordinator,
    )  # fmt: skip
    anna = person(school, "Anna", Role.STUDENT, Stage.MS2, "cardiology")
    ben = person(school, "Ben", Role.STUDENT, Stage.MS2, "orthopaedic-surgery")
    cardio = person(school, "Cardio", Role.PHYSICIAN, Stage.ATTENDING_MID, "cardiology")
    ortho = person(school, "Ortho", Role.PHYSICIAN, Stage.ATTENDING_MID, "orthopaedic-surgery")
    for user, role in ((anna, "mentee"), (ben, "mentee"), (cardio, "mentor"), (ortho, "mentor")):
        Enrollment.objects.create(program=program, user=user, role=role, capacity=2)
    # Tasks run eagerly and this database autocommits: the run executes inside run_start.
    run, _ = runs.run_start(user=coordinator, program_id=program.pk)
    runs.run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == MatchRun.Status.DONE, run.error
    runs.run_publish(user=coordinator, program_id=program.pk, run_id=run.pk)
    return {
        "program": program,
        "run": run,
        "student": anna,
        "mentor": cardio,
        "coordinator": coordinator,
        "staff": staff,
        "mentorship": Mentorship.objects.get(mentee=anna),
    }


def test_visitors_pages_and_signing_in_break_no_policy(browser_as, cohort):
    page, watch = browser_as(None)
    visit(page, watch, "/", "The right mentor, at every rung of the ladder.")
    visit(page, watch, "/accounts/signup/", "Create your account")
    visit(page, watch, "/accounts/login/", "Sign in")
    page.get_by_label("Email").fill(cohort["student"].email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name=re.compile("Welcome"))).to_be_visible()
    watch.settle(page)
    watch.assert_clean()


def test_a_students_pages_and_htmx_swaps_break_no_policy(browser_as, cohort):
    page, watch = browser_as(cohort["student"])
    visit(page, watch, "/", re.compile("Welcome, Anna"))
    visit(page, watch, "/matching/mentors/", "Browse mentors")
    cards = page.locator(".mentor-card")
    expect(cards.first).to_be_visible()

    # HTMX: a filter swaps the results in, a save button swaps itself.
    page.get_by_label("Specialty family").select_option("surgical")
    expect(page).to_have_url(re.compile(r"family=surgical"))
    expect(cards.first).to_contain_text("Dr. Ortho")
    cards.first.get_by_role("button", name="☆ Save").click()
    expect(cards.first.get_by_role("button", name="★ Saved")).to_be_visible()
    watch.settle(page)

    visit(page, watch, "/matching/recommendations/", "Recommended for you")
    visit(page, watch, "/matching/saved/", "Saved mentors")
    visit(page, watch, f"/mentors/{cohort['mentor'].profile.pk}/", "Dr. Cardio")
    visit(page, watch, "/mentorships/", "My mentorships")
    visit(page, watch, f"/mentorships/{cohort['mentorship'].pk}/", "Mentored by Dr. Cardio")
    expect(page.locator("body")).to_contain_text("Agreement")
    visit(page, watch, "/mentorships/calendar/", "Academic calendar")
    visit(page, watch, "/accounts/notifications/", "Notifications")
    visit(page, watch, "/accounts/profile/", re.compile("."))
    watch.assert_clean()


def test_a_coordinators_program_pages_break_no_policy(browser_as, cohort):
    page, watch = browser_as(cohort["coordinator"])
    program, run = cohort["program"], cohort["run"]
    visit(page, watch, "/programs/", "Pairing programs")
    for tail in ("", "edit/", "participants/", "matching/", f"runs/{run.pk}/", "dashboard/"):
        visit(page, watch, f"/programs/{program.pk}/{tail}", re.compile("Cardio-ortho 2027"))
    # The dashboard's charts are inline SVG drawn with classes, not style attributes.
    expect(page.locator("svg").first).to_be_visible()
    visit(page, watch, f"/programs/{program.pk}/equity/", re.compile("Cardio-ortho 2027"))
    visit(page, watch, "/programs/new/", "New pairing program")
    watch.assert_clean()


def test_the_api_docs_run_under_the_policy_for_staff(browser_as, cohort):
    page, watch = browser_as(cohort["staff"])
    response = page.goto("/api/docs/")
    assert response is not None and response.status == 200
    assert "script-src 'self'" in (response.headers.get("content-security-policy") or "")
    # Swagger UI ran (from the sidecar's files) and drew the schema it fetched.
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("MedMentor API")
    operation = page.locator(".opblock-summary-path", has_text="/api/v1/me/").first
    expect(operation).to_be_visible()
    operation.click()
    block = page.locator(".opblock", has=operation)
    # A real call from the page (connect-src 'self'), signed in by the session.
    block.get_by_role("button", name="Try it out").click()
    block.get_by_role("button", name="Execute").click()
    expect(
        block.locator(".live-responses-table td.response-col_status:not(.col_header)")
    ).to_have_text("200")
    expect(block.locator(".live-responses-table")).to_contain_text(cohort["staff"].email)
    watch.settle(page)
    visit(page, watch, "/admin/", "Site administration")
    watch.assert_clean()


def test_the_watch_sees_what_the_policy_blocks(browser_as):
    """Proves the zero above is not a deaf listener: an inline style and script are
    blocked and reported."""
    page, watch = browser_as(None)
    visit(page, watch, "/", "The right mentor, at every rung of the ladder.")
    page.evaluate(
        """() => {
            const style = document.createElement("style");
            style.textContent = "body { background: red }";
            document.head.appendChild(style);
            const script = document.createElement("script");
            script.textContent = "window.injected = true";
            document.body.appendChild(script);
        }"""
    )
    watch.settle(page)
    assert page.evaluate("() => window.injected") is None
    assert {v["directive"] for v in watch.violations} == {"style-src-elem", "script-src-elem"}
    assert all(v["page"] == "/" and v["blocked"] == "inline" for v in watch.violations)
    assert len(watch.console) == 2
