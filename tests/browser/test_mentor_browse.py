"""A demo student browses mentors in a real browser: HTMX filters, paging, saving one."""

import re

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect

from accounts.demo import DEMO_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_student_browses_filters_pages_and_saves_a_mentor(live_server, page: Page, screenshot):
    call_command("seed_demo", "--quiet")
    page.goto(live_server.url + "/accounts/login/")
    page.get_by_label("Email").fill("student@northlake.example")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Browse mentors").click()

    cards = page.locator(".mentor-card")
    expect(cards).to_have_count(20)
    expect(cards.first.locator(".fit")).to_contain_text("% fit")
    expect(cards.first).to_contain_text("open")
    screenshot("browse-mentors")

    hx: list[str] = []
    page.on("request", lambda r: hx.append(r.headers.get("hx-request", "")))
    page.get_by_label("Specialty family").select_option("surgical")
    expect(page).to_have_url(re.compile(r"/matching/mentors/\?.*family=surgical"))
    page.get_by_role("link", name="Next →").click()
    expect(page).to_have_url(re.compile(r"family=surgical.*page=2"))
    expect(page.get_by_text("Page 2 of")).to_be_visible()
    assert "true" in hx  # filtering and paging came from HTMX, not full page loads

    first = cards.first
    name = first.locator("h2").inner_text()
    first.get_by_role("button", name="☆ Save").click()
    expect(first.get_by_role("button", name="★ Saved")).to_be_visible()
    page.goto(live_server.url + "/matching/saved/")
    expect(page.locator(".mentor-card h2")).to_have_text([name])

    page.locator(".mentor-card h2 a").click()
    expect(page.locator("#track-record")).to_contain_text("Mentees now")
    expect(page.get_by_role("button", name="★ Saved")).to_be_visible()
