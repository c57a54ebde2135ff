"""A demo student finds mentors in a real browser; filtering swaps results through HTMX."""

import re

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect

from accounts.demo import DEMO_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_student_sees_ranked_mentors_and_filters_them_in_place(live_server, page: Page, screenshot):
    call_command("seed_demo", "--quiet")
    page.goto(live_server.url + "/accounts/login/")
    page.get_by_label("Email").fill("student@northlake.example")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Find a mentor").click()

    cards = page.locator(".mentor-card")
    expect(cards.first).to_be_visible()
    expect(cards.first.locator(".fit")).to_contain_text("% fit")
    expect(cards.first.locator(".reasons li").first).to_be_visible()
    screenshot("recommendations")

    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.headers.get("hx-request", "")))
    page.get_by_label("Career stage").select_option("near_peer")
    expect(page).to_have_url(re.compile(r"/matching/recommendations/\?.*stage=near_peer"))
    # Auto-retrying expectation: waits for HTMX to swap the results in.
    expect(cards.first.locator(".muted")).not_to_contain_text(re.compile("attending", re.I))
    for text in cards.locator(".muted").all_inner_texts():
        assert "attending" not in text.lower()
    assert "true" in requests  # the swap came from HTMX, not a full page load
