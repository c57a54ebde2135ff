"""The whole journey in a real Chromium, three people in three browser sessions:

a student browses mentors and sees why each fits, asks two in ranked order; the
first declines, the request passes to the second, who accepts; both sign the
agreement; a check-in is scheduled, logged, and answered with a pulse.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, Page, expect

from accounts.choices import Role, Stage
from accounts.models import Institution, Specialty
from matching.models import MentorRequest
from mentorship.models import Agreement, CheckIn, Mentorship, Pulse
from tests.factories import UserFactory
from tests.support.browser import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_browse_request_cascade_accept_sign_checkin_pulse(live_server, browser: Browser):
    school = Institution.objects.create(
        name="Lakeside School of Medicine", slug="lakeside", short_name="Lakeside",
        timezone="America/Chicago",
    )  # fmt: skip
    ortho = Specialty.objects.get(slug="orthopaedic-surgery")
    student = UserFactory(
        email="ada@lakeside.example", full_name="Ada Student", role=Role.STUDENT,
        profile={"institution": school, "stage": Stage.MS2, "timezone": "America/Chicago",
                 "goals": {"residency_application": 3, "research": 2}},
    )  # fmt: skip
    student.profile.specialties.add(ortho)
    first = UserFactory(
        email="first@lakeside.example", full_name="Fiona First", role=Role.PHYSICIAN,
        profile={"institution": school, "stage": Stage.ATTENDING_SENIOR, "capacity": 2,
                 "headline": "Orthopaedic surgeon, residency program director",
                 "strengths": ["residency_application", "research"]},
    )  # fmt: skip
    first.profile.specialties.add(ortho)
    second = UserFactory(
        email="second@lakeside.example", full_name="Sam Second", role=Role.PHYSICIAN,
        profile={"institution": school, "stage": Stage.ATTENDING_MID, "capacity": 1,
                 "headline": "Sports medicine physician",
                 "strengths": ["research"]},
    )  # fmt: skip
    second.profile.specialties.add(ortho)

    # 1. The student browses mentors and sees why they fit.
    ada = sign_in(browser, live_server.url, student.email)
    ada.get_by_role("link", name="Browse mentors").click()
    card = ada.locator(".mentor-card", has_text="Fiona First")
    expect(card).to_be_visible()
    expect(card.locator(".reasons li").first).to_be_visible()

    # 2. Two ranked requests: Dr. First, then Dr. Second.
    card.get_by_role("link", name="Request").click()
    expect(ada.get_by_label("First choice")).to_have_value(str(first.profile.pk))
    ada.get_by_label("Second choice").select_option(str(second.profile.pk))
    ada.get_by_label("What you hope for").fill(
        "Monthly calls on my ortho residency application and a first research project."
    )
    ada.get_by_role("button", name="Send request").click()
    expect(ada.get_by_text("Request sent")).to_be_visible()
    assert MentorRequest.objects.filter(mentee=student, status="pending", mentor=first).exists()
    assert MentorRequest.objects.filter(mentee=student, status="queued", mentor=second).exists()

    # 3. Dr. First declines kindly; the request passes to Dr. Second.
    fiona = sign_in(browser, live_server.url, first.email)
    fiona.get_by_role("link", name="Inbox").click()
    fiona.locator("summary", has_text="Decline").click()
    fiona.get_by_label("Reason").select_option("no_capacity")
    fiona.get_by_label("A kind note (optional)").fill("Full this term, Sam is great for this.")
    fiona.get_by_role("button", name="Decline").click()
    expect(fiona.get_by_text("Declined.")).to_be_visible()

    # 4. Dr. Second sees it in the inbox and accepts.
    sam = sign_in(browser, live_server.url, second.email)
    sam.get_by_role("link", name="Inbox").click()
    expect(sam.get_by_role("heading", name="Ada Student")).to_be_visible()
    sam.get_by_role("button", name="Accept").click()
    expect(sam.get_by_text("Accepted: Ada has been told")).to_be_visible()
    mentorship = Mentorship.objects.get(mentee=student)
    assert mentorship.mentor_id == second.pk

    # 5. Both sign the agreement, the mentor (who lands on it) after naming the goal.
    sam.get_by_role("link", name="Edit").click()
    sam.get_by_label("Goal 1").fill("Draft the ERAS personal statement")
    sam.get_by_role("button", name="Save and sign").click()
    expect(sam.get_by_text(re.compile("Waiting for Ada to sign"))).to_be_visible()

    ada.goto("/")
    expect(ada.get_by_text("Agreement to sign")).to_be_visible()
    ada.get_by_role("link", name="Review and sign").click()
    expect(ada.get_by_text("Draft the ERAS personal statement")).to_be_visible()
    ada.get_by_role("button", name="Sign the agreement").click()
    expect(ada.get_by_text("Signed by both").first).to_be_visible()
    assert Agreement.objects.get(mentorship=mentorship).is_signed

    # 6. The student schedules a check-in in half an hour, in her own time zone.
    ada.get_by_label("When").fill(_in_half_an_hour_chicago())
    ada.get_by_label("Video link or place").fill("https://meet.example/ada-sam")
    ada.get_by_label("Agenda").first.fill("Personal statement outline")
    ada.get_by_role("button", name="Schedule").click()
    expect(ada.get_by_text("Check-in scheduled")).to_be_visible()
    checkin = CheckIn.objects.get(mentorship=mentorship)
    with ada.expect_download() as download:
        ada.get_by_role("link", name="Add to calendar (.ics)").click()
    assert download.value.suggested_filename.endswith(".ics")
    _screenshot(ada, "mentorship")

    # 7. After the meeting the mentor logs it with goal progress; both answer the pulse.
    sam.goto(f"/mentorships/{mentorship.pk}/")
    sam.get_by_role("link", name="Log this check-in").click()
    sam.get_by_label("Draft the ERAS personal statement (%)").fill("30")
    sam.get_by_label("Notes from the check-in").fill("Outline agreed; first draft in 2 weeks.")
    sam.get_by_role("button", name="Log check-in").click()
    sam.get_by_label("Yes, it's working").check()
    sam.get_by_role("button", name="Send").click()
    expect(sam.get_by_text("Only you see your answer")).to_be_visible()

    ada.goto(f"/mentorships/{mentorship.pk}/")
    expect(ada.get_by_text("Outline agreed; first draft in 2 weeks.")).to_be_visible()
    ada.get_by_label("Yes, it's working").check()
    ada.get_by_role("button", name="Send").click()
    expect(ada.get_by_text("Only you see your answer")).to_be_visible()

    checkin.refresh_from_db()
    assert checkin.status == "completed"
    assert set(Pulse.objects.filter(checkin=checkin).values_list("person_id", "answer")) == {
        (student.pk, "yes"),
        (second.pk, "yes"),
    }


def _screenshot(page: Page, name: str) -> None:
    """For the README, when SCREENSHOT_DIR is set."""
    directory = os.environ.get("SCREENSHOT_DIR")
    if directory:
        page.screenshot(path=os.path.join(directory, f"{name}.png"), full_page=True)


def _in_half_an_hour_chicago() -> str:
    when = dt.datetime.now(ZoneInfo("America/Chicago")) + dt.timedelta(minutes=30)
    return when.strftime("%Y-%m-%dT%H:%M")
