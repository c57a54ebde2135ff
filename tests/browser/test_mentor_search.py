"""A mentor declining in a real browser finds another mentor to suggest by typing: the
select is refilled by HTMX from the search endpoint, with no script of our own."""

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect

from accounts.demo import DEMO_PASSWORD
from accounts.models import User
from matching.models import MentorRequest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_mentor_declines_suggesting_a_mentor_found_by_search(live_server, page: Page):
    call_command("seed_demo", "--quiet")
    physician = User.objects.get(email="physician@northlake.example")
    waiting = MentorRequest.objects.filter(
        mentor=physician, status=MentorRequest.Status.PENDING
    ).first()
    assert waiting is not None
    page.goto(live_server.url + "/accounts/login/")
    page.get_by_label("Email").fill(physician.email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Inbox").click()

    card = page.locator(f"#request-{waiting.pk}")
    card.locator("summary", has_text="Decline").click()
    select = card.get_by_label("Try this mentor instead")
    expect(select.locator("option")).to_have_count(1)  # no mentor listed before a search
    box = card.get_by_label("Find a mentor by name or specialty")
    box.fill("cardiology")
    expect(select.locator("option:not([disabled])")).not_to_have_count(1)
    options = select.locator("option:not([disabled])")
    value = options.nth(1).get_attribute("value")
    assert value
    box.press("Enter")  # the box belongs to no form: Enter declines nothing
    waiting.refresh_from_db()
    assert waiting.status == MentorRequest.Status.PENDING
    select.select_option(value)
    card.get_by_label("Reason").select_option("not_my_field")
    card.get_by_role("button", name="Decline").click()
    expect(page.get_by_text("Declined.")).to_be_visible()
    waiting.refresh_from_db()
    assert waiting.status == MentorRequest.Status.DECLINED
    assert waiting.suggested_mentor is not None
    assert str(waiting.suggested_mentor.profile.pk) == value
    assert "Cardiology" in {s.name for s in waiting.suggested_mentor.profile.specialties.all()}
