"""Accessibility in a real Chromium: every main page audited by axe-core (WCAG 2.2 AA
rules) as the persona who uses it, and the three main journeys done with the keyboard
alone, with the focus visible at every step.

axe-core is served from ``static/vendor/axe-core`` (no CDN) and injected as an init
script, which the page's Content-Security-Policy does not apply to: the audit sees the
page exactly as users get it, policy included (the policy itself is tested in
test_csp.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

from accounts.choices import Role, Stage
from accounts.models import User
from matching import services as matching_services
from tests.browser import test_csp

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = Path(settings.BASE_DIR) / "static" / "vendor" / "axe-core" / "axe.min.js"
BLOCKING = {"serious", "critical"}

# The school, people and published run of the CSP test: the same pages, the same data.
cohort = test_csp.cohort

RUN_AXE = """async () => {
  const results = await axe.run(document, {
    resultTypes: ["violations"],
    runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa",
                                    "best-practice"]},
  });
  return results.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map((n) => ({target: n.target.join(" "), summary: n.failureSummary})),
  }));
}"""

FOCUS_SHOWN = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return false;
  const style = getComputedStyle(el);
  const outline = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0;
  return outline || style.boxShadow !== "none";
}"""


@pytest.fixture
def people(cohort):
    """The cohort plus a student waiting on the cardiologist (so the mentor's inbox has a
    request to answer) and a student with nothing yet, free to ask anyone."""
    school = cohort["program"].institution
    waiting = test_csp.person(school, "Cleo", Role.STUDENT, Stage.MS2, "cardiology")
    [waiting_request] = matching_services.request_send(
        mentee=waiting, mentors=[cohort["mentor"]],
        expectations="Advice on research electives and the cardiology match.",
    )  # fmt: skip
    fresh = test_csp.person(school, "Dana", Role.STUDENT, Stage.MS2, "cardiology")
    return {**cohort, "fresh": fresh, "waiting_request": waiting_request}


@pytest.fixture
def browser_as(browser: Browser, live_server):
    """``browser_as(user)``: a fresh context with axe-core loaded in every page, signed in
    as ``user`` through a session cookie (or signed out for ``None``)."""
    contexts: list[BrowserContext] = []

    def open_as(user: User | None) -> Page:
        context = browser.new_context(base_url=live_server.url, timezone_id="America/Chicago")
        contexts.append(context)
        context.add_init_script(path=AXE)
        if user is not None:
            client = Client()
            client.force_login(user)
            cookie = client.cookies[settings.SESSION_COOKIE_NAME]
            context.add_cookies(
                [{"name": cookie.key, "value": cookie.value, "url": live_server.url}]
            )
        return context.new_page()

    yield open_as
    for context in contexts:
        context.close()


def blocking(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical findings on the page as it stands."""
    violations: list[dict[str, Any]] = page.evaluate(RUN_AXE)
    return [v for v in violations if v["impact"] in BLOCKING]


def audit(page: Page, paths: list[str]) -> None:
    """Visit each page and fail, listing every node, on any serious or critical finding."""
    found: list[str] = []
    for path in paths:
        response = page.goto(path)
        assert response is not None and response.status == 200, path
        page.wait_for_load_state("networkidle")
        for v in blocking(page):
            nodes = "".join(f"\n    {n['target']}: {n['summary']}" for n in v["nodes"])
            found.append(f"{path} [{v['impact']}] {v['id']}: {v['help']}{nodes}")
    print("\n".join(found))
    assert found == [], "\n" + "\n".join(found)


def test_visitors_pages_have_no_serious_violations(browser_as, people):
    page = browser_as(None)
    audit(page, ["/", "/accounts/login/", "/accounts/signup/", "/accessibility/"])


def test_a_students_pages_have_no_serious_violations(browser_as, people):
    page = browser_as(people["student"])
    audit(
        page,
        [
            "/",
            "/matching/recommendations/",
            "/matching/mentors/",
            f"/mentors/{people['mentor'].profile.pk}/",
            "/matching/requests/",
            "/matching/requests/new/",
            "/mentorships/",
            f"/mentorships/{people['mentorship'].pk}/",
            "/mentorships/calendar/",
            "/accounts/notifications/",
            "/accounts/notifications/settings/",
            "/accounts/profile/",
            "/accounts/profile/field/",
            "/accounts/profile/mentee/",
            "/accounts/profile/private/",
            "/accounts/privacy/",
            "/accessibility/",
        ],
    )


def test_a_mentors_pages_have_no_serious_violations(browser_as, people):
    page = browser_as(people["mentor"])
    audit(
        page,
        [
            "/",
            "/matching/inbox/",
            f"/matching/requests/{people['waiting_request'].pk}/report/",
            "/matching/safety/",
            f"/mentorships/{people['mentorship'].pk}/",
            "/accounts/profile/mentor/",
        ],
    )


def test_a_coordinators_pages_have_no_serious_violations(browser_as, people):
    page = browser_as(people["coordinator"])
    program, run = people["program"], people["run"]
    audit(
        page,
        [
            "/",
            "/programs/",
            f"/programs/{program.pk}/",
            f"/programs/{program.pk}/participants/",
            f"/programs/{program.pk}/matching/",
            f"/programs/{program.pk}/runs/{run.pk}/",
            f"/programs/{program.pk}/dashboard/",
            f"/programs/{program.pk}/equity/",
        ],
    )


def test_the_audit_sees_what_it_should_fail(browser_as):
    """Proves the zeros above are not a silent audit: an image with no text alternative
    and an unlabelled field, added to a clean page, are reported."""
    page = browser_as(None)
    page.goto("/accessibility/")
    assert blocking(page) == []
    page.evaluate(
        """() => {
            const img = document.createElement("img");
            img.src = "/static/img/favicon.svg";
            const input = document.createElement("input");
            document.querySelector("main").append(img, input);
        }"""
    )
    assert {v["id"] for v in blocking(page)} >= {"image-alt", "label"}


def tab_to(page: Page, target: Locator, limit: int = 80) -> None:
    """Press Tab until ``target`` has the focus, checking the focus is visible on it."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if target.evaluate("el => el === document.activeElement"):
            assert page.evaluate(FOCUS_SHOWN), f"no visible focus on {target}"
            return
    raise AssertionError(f"{target} never took the focus in {limit} Tabs")


def follow(page: Page, target: Locator) -> None:
    """Tab to a link and follow it with Enter."""
    tab_to(page, target)
    with page.expect_navigation():
        page.keyboard.press("Enter")


def test_a_student_finds_a_mentor_and_opens_the_request_form_by_keyboard(browser_as, people):
    page = browser_as(people["fresh"])
    page.goto("/")
    follow(
        page, page.get_by_role("navigation", name="Main").get_by_role("link", name="Find a mentor")
    )
    expect(page.get_by_role("heading", level=1, name="Recommended for you")).to_be_visible()
    main = page.get_by_role("main")
    follow(page, main.get_by_role("link", name="Dr. Cardio", exact=True))
    expect(page.get_by_role("heading", level=1, name="Dr. Cardio")).to_be_visible()
    follow(page, main.get_by_role("link", name="Ask Dr. Cardio to mentor you"))
    expect(page.get_by_role("heading", level=1, name="Ask for a mentor")).to_be_visible()


def test_a_mentor_reaches_a_requests_accept_button_by_keyboard(browser_as, people):
    page = browser_as(people["mentor"])
    page.goto("/")
    follow(page, page.get_by_role("navigation", name="Main").get_by_role("link", name="Inbox"))
    tab_to(page, page.get_by_role("button", name="Accept").first)


def test_a_coordinator_reaches_start_a_run_by_keyboard(browser_as, people):
    page = browser_as(people["coordinator"])
    program = people["program"]
    page.goto("/")
    follow(page, page.get_by_role("navigation", name="Main").get_by_role("link", name="Programs"))
    follow(page, page.get_by_role("link", name=program.name).first)
    follow(page, page.get_by_role("link", name="Matching", exact=True).first)
    tab_to(page, page.get_by_role("button", name="Start a run"))
