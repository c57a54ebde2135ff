"""The academic calendar: US defaults per institution, edited by its coordinators only."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from accounts.choices import Stage
from mentorship.calendar import DEFAULTS, academic_year, occurs_on
from mentorship.models import AcademicDate
from mentorship.services import academic_calendars_roll
from tests.conftest import api_for, client_for

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 22)


def test_match_day_is_the_third_friday_of_march_and_the_year_starts_in_july():
    match_day = next(d for d in DEFAULTS if d.key == "match_day")
    rank_list = next(d for d in DEFAULTS if d.key == "rank_list")
    eras = next(d for d in DEFAULTS if d.key == "eras_submission")
    assert academic_year(dt.date(2026, 11, 22)) == 2026
    assert academic_year(dt.date(2027, 3, 1)) == 2026
    assert occurs_on(match_day, 2026) == dt.date(2027, 3, 19)
    assert occurs_on(match_day, 2025) == dt.date(2026, 3, 20)
    assert occurs_on(rank_list, 2026) == dt.date(2027, 3, 3)  # first Wednesday
    assert occurs_on(eras, 2026) == dt.date(2026, 9, 24)


def test_every_institution_gets_this_year_and_next_once(school, other_school):
    added = academic_calendars_roll(today=TODAY)
    assert added == 2 * 2 * len(DEFAULTS)
    assert academic_calendars_roll(today=TODAY) == 0
    dates = AcademicDate.objects.filter(institution=school)
    assert set(dates.values_list("academic_year", flat=True)) == {2026, 2027}
    match = dates.get(default_key="match_day", academic_year=2026)
    assert (match.date, match.stages) == (dt.date(2027, 3, 19), [Stage.MS4])


def test_a_switched_off_or_moved_default_does_not_come_back(coordinator, school):
    academic_calendars_roll(today=TODAY)
    eras = AcademicDate.objects.get(
        institution=school, default_key="eras_opens", academic_year=2026
    )
    client = client_for(coordinator)
    client.post(f"/mentorships/calendar/{eras.pk}/remove/")
    assert AcademicDate.objects.get(pk=eras.pk).active is False
    assert academic_calendars_roll(today=TODAY) == 0
    assert not AcademicDate.objects.filter(
        institution=school, default_key="eras_opens", academic_year=2026, active=True
    ).exists()


def test_a_coordinator_adds_edits_and_removes_a_program_deadline(coordinator, school):
    client = client_for(coordinator)
    response = client.post(
        "/mentorships/calendar/",
        {
            "title": "Mid-year program survey",
            "category": "program",
            "date": "2027-01-15",
            "stages": [Stage.MS1, Stage.MS2],
            "lead_days": "10",
            "prompt": "fill in the mid-year survey together.",
        },
    )
    assert response.status_code == 302
    date = AcademicDate.objects.get(title="Mid-year program survey")
    assert (date.institution, date.stages, date.lead_days) == (school, [1, 2], 10)
    page = client.get("/mentorships/calendar/").content.decode()
    assert "Mid-year program survey" in page and "MS1, MS2" in page
    client.post(
        f"/mentorships/calendar/{date.pk}/edit/",
        {"title": "Mid-year survey", "category": "program", "date": "2027-01-20",
         "lead_days": "7", "prompt": "fill it in."},
    )  # fmt: skip
    date.refresh_from_db()
    assert (date.title, date.date, date.stages) == ("Mid-year survey", dt.date(2027, 1, 20), [])
    client.post(f"/mentorships/calendar/{date.pk}/remove/")
    assert not AcademicDate.objects.filter(pk=date.pk).exists()


def test_bad_dates_are_explained_and_not_saved(coordinator):
    response = client_for(coordinator).post(
        "/mentorships/calendar/",
        {"title": "", "category": "exam", "date": "soon", "lead_days": "400", "prompt": ""},
    )
    assert response.status_code == 200
    assert "Enter a valid date" in response.content.decode()
    assert not AcademicDate.objects.exists()
    api = api_for(coordinator)
    bad = api.post(
        "/api/v1/calendar/",
        {"title": "X", "category": "exam", "date": "2027-01-01", "stages": [Stage.ATTENDING_SENIOR],
         "prompt": "y"},
        format="json",
    )  # fmt: skip
    assert bad.status_code == 400
    assert "stages" in bad.json()["fields"]
    assert not AcademicDate.objects.exists()


def test_students_and_mentors_read_their_own_schools_calendar_only(
    student, physician, outsider, school, other_school
):
    academic_calendars_roll()
    mine = api_for(student).get("/api/v1/calendar/").json()
    assert mine and {d["id"] for d in mine} <= set(
        AcademicDate.objects.filter(institution=school).values_list("pk", flat=True)
    )
    theirs = api_for(outsider).get("/api/v1/calendar/").json()
    assert not {d["id"] for d in theirs} & {d["id"] for d in mine}
    page = client_for(physician).get("/mentorships/calendar/").content.decode()
    assert "Match Day" in page and "Rank order lists are certified" in page
    assert "Add a date" not in page  # a mentor reads the calendar; coordinators edit it


def test_only_the_schools_own_coordinators_may_change_it(
    student, coordinator, other_coordinator, school
):
    academic_calendars_roll()
    date = AcademicDate.objects.filter(institution=school).first()
    payload = {"title": "Changed", "category": "exam", "date": "2027-02-01", "prompt": "p"}
    # Another school's coordinator: the date does not exist for them.
    assert (
        api_for(other_coordinator)
        .put(f"/api/v1/calendar/{date.pk}/", payload, format="json")
        .status_code
        == 404
    )
    assert api_for(other_coordinator).delete(f"/api/v1/calendar/{date.pk}/").status_code == 404
    assert (
        client_for(other_coordinator).get(f"/mentorships/calendar/{date.pk}/edit/").status_code
        == 404
    )
    # A student of the school may read it but not change it.
    assert (
        api_for(student).put(f"/api/v1/calendar/{date.pk}/", payload, format="json").status_code
        == 403
    )
    assert api_for(student).post("/api/v1/calendar/", payload, format="json").status_code == 403
    assert client_for(student).post("/mentorships/calendar/", payload).status_code == 403
    date.refresh_from_db()
    assert date.title != "Changed"
    # Its own coordinator may.
    ok = api_for(coordinator).put(f"/api/v1/calendar/{date.pk}/", payload, format="json")
    assert ok.status_code == 200 and ok.json()["title"] == "Changed"


def test_the_calendar_page_needs_sign_in():
    response = Client().get("/mentorships/calendar/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_the_dashboard_shows_the_next_dates_for_the_students_stage(student, school):
    AcademicDate.objects.create(
        institution=school, title="Step 1 season", date=dt.date.today() + dt.timedelta(days=40),
        stages=[Stage.MS2], prompt="plan.",
    )  # fmt: skip
    AcademicDate.objects.create(
        institution=school, title="Match Day", date=dt.date.today() + dt.timedelta(days=20),
        stages=[Stage.MS4], prompt="plan.",
    )  # fmt: skip
    page = client_for(student).get("/").content.decode()
    assert "Coming up on the calendar" in page
    assert "Step 1 season" in page
    assert "Match Day" not in page  # an MS2 is not matching this year
