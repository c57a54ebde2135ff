"""Helpers shared by the browser tests."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect

from tests.conftest import PASSWORD


def sign_in(browser: Browser, base_url: str, email: str, password: str = PASSWORD) -> Page:
    """A new browser session (Chicago time) signed in through the login form."""
    page = browser.new_context(base_url=base_url, timezone_id="America/Chicago").new_page()
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name=re.compile("Welcome"))).to_be_visible()
    return page
