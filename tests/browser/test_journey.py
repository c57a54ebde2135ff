"""The first journey of every user, in a real Chromium: sign up, complete the profile, dashboard."""

import re

import pytest
from playwright.sync_api import Page, expect

from accounts.models import Demographics, Profile, User

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_student_signs_up_completes_profile_and_sees_dashboard(live_server, page: Page, screenshot):
    page.goto(live_server.url)
    screenshot("landing")
    page.get_by_role("link", name="Create your account").click()

    page.get_by_label("Full name").fill("Ada Lovelace")
    page.get_by_label("Email").fill("ada@example.org")
    page.get_by_label("Student (pre-med or medical student)").check()
    page.get_by_label("Password").fill("a-very-long-passphrase")
    page.get_by_role("button", name="Create account").click()

    expect(page.get_by_role("heading", name="About you")).to_be_visible()
    page.get_by_label("Career stage").select_option(label="MS3")
    page.get_by_label("Headline").fill("MS3 set on orthopaedic surgery")
    page.get_by_label("Bio").fill(
        "Former rower, now an MS3 who wants to do sports medicine "
        "research and match into orthopaedics."
    )
    page.get_by_label("Timezone").select_option("America/Chicago")
    page.get_by_label("English").check()
    page.get_by_label("Video call").check()
    page.get_by_role("button", name="Save and continue").click()

    expect(page.get_by_role("heading", name="Specialties and interests")).to_be_visible()
    page.get_by_label("Orthopaedic surgery", exact=True).check()
    page.get_by_label("Sports-medicine research").check()
    screenshot("profile-wizard")
    page.get_by_role("button", name="Save and continue").click()

    expect(page.get_by_role("heading", name="What you want from a mentor")).to_be_visible()
    page.get_by_role("button", name="Save and continue").click()
    # No goal chosen yet: the form explains instead of saving.
    expect(page.get_by_text("Pick at least one thing you want help with.")).to_be_visible()
    page.get_by_label("Residency application and the Match").select_option(label="Most important")
    page.get_by_label("Research", exact=True).select_option(label="Important")
    page.get_by_label("Who would help you most?").select_option("senior")
    page.get_by_role("button", name="Save and continue").click()

    expect(page.get_by_role("heading", name="Private preferences")).to_be_visible()
    page.get_by_role("button", name="Finish").click()

    expect(page.get_by_role("heading", name="Welcome, Ada")).to_be_visible()
    expect(page.get_by_text(re.compile(r"Residency application and the Match"))).to_be_visible()
    screenshot("student-dashboard")

    user = User.objects.get(email="ada@example.org")
    profile = Profile.objects.get(user=user)
    assert profile.stage == 3
    assert list(profile.specialties.values_list("slug", flat=True)) == ["orthopaedic-surgery"]
    assert profile.goals == {"residency_application": 3, "research": 2}
    assert profile.mentor_stage_preference == "senior"
    assert not Demographics.objects.filter(user=user, wants_same_gender=True).exists()
