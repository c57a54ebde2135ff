"""Program pages: the list, creating and editing a program, its overview."""

from __future__ import annotations

import datetime as dt

import pytest

from accounts.choices import Role, Stage
from matching.models import Enrollment, Program
from tests.conftest import client_for
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

FORM = {
    "name": "MS1 faculty mentoring 2027",
    "description": "Every MS1 with a faculty mentor for the year.",
    "starts_on": "2027-01-10",
    "ends_on": "2027-12-15",
    "enrol_by": "2027-01-31",
    "match_by": "",
    "status": "open",
    "objective": "participation",
    "demand": "one",
    "mentor_stage_rule": "attending",
    "institution_rule": "any",
    "respect_conflicts": "on",
    "default_cadence": "monthly",
    "weight_specialty": "5",
    "weight_stage": "2",
    "weight_interests": "2",
    "weight_goals": "2",
    "weight_concordance": "1.5",
    "weight_language": "1",
    "weight_meeting": "0.5",
    "weight_timezone": "0.5",
    "weight_institution": "0.5",
    "weight_availability": "1",
    "weight_mentor_preference": "0.5",
    "weight_style": "0",
}


@pytest.fixture
def program(coordinator, school):
    return Program.objects.create(
        institution=school,
        name="Near-peer program",
        starts_on=dt.date(2027, 1, 10),
        ends_on=dt.date(2027, 12, 15),
        created_by=coordinator,
    )


def test_a_coordinator_creates_a_program_from_the_form(coordinator, school):
    response = client_for(coordinator).post("/programs/new/", FORM)
    program = Program.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/programs/{program.pk}/"
    assert (program.institution, program.status, program.mentor_stage_rule) == (
        school, "open", "attending",
    )  # fmt: skip
    # Only weights that differ from the engine's defaults are stored.
    assert program.weights == {"specialty": 5.0, "style": 0.0}


def test_the_form_shows_each_problem_next_to_its_field_and_writes_nothing(coordinator):
    bad = {**FORM, "ends_on": "2026-01-01", "weight_specialty": "40"}
    response = client_for(coordinator).post("/programs/new/", bad)
    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors["weight_specialty"] == ["Ensure this value is less than or equal to 10."]
    assert not Program.objects.exists()
    # A rule the service checks comes back on its field too.
    response = client_for(coordinator).post("/programs/new/", {**FORM, "ends_on": "2026-01-01"})
    assert response.context["form"].errors["ends_on"] == ["The program must end after it starts."]
    assert not Program.objects.exists()


def test_the_overview_counts_participants_and_free_places(coordinator, program, school):
    mentors = [
        UserFactory(
            role=Role.PHYSICIAN,
            profile={"institution": school, "stage": Stage.ATTENDING_MID, "capacity": cap},
        )
        for cap in (3, 2)
    ]
    mentee = UserFactory(role=Role.STUDENT, profile={"institution": school, "stage": Stage.MS1})
    Enrollment.objects.create(program=program, user=mentee, role="mentee")
    Enrollment.objects.create(program=program, user=mentors[0], role="mentor", capacity=1)
    Enrollment.objects.create(program=program, user=mentors[1], role="mentor")
    response = client_for(coordinator).get(f"/programs/{program.pk}/")
    overview = response.context["overview"]
    assert (overview.mentees, overview.mentors, overview.places, overview.pairs) == (1, 2, 3, 0)
    assert [step.done for step in overview.steps] == [True, False, False, False]
    assert "Near-peer program" in response.content.decode()


def test_the_settings_page_changes_the_program(coordinator, program):
    response = client_for(coordinator).post(
        f"/programs/{program.pk}/edit/", {**FORM, "name": "Renamed", "demand": "team"}
    )
    assert response.status_code == 302
    program.refresh_from_db()
    assert (program.name, program.demand) == ("Renamed", "team")


def test_coordinators_list_their_schools_programs_and_participants_their_own(
    coordinator, other_coordinator, program, student
):
    Enrollment.objects.create(program=program, user=student, role="mentee")
    mine = client_for(coordinator).get("/programs/").context["rows"]
    assert [(p.name, roles) for p, roles in mine] == [("Near-peer program", [])]
    assert client_for(other_coordinator).get("/programs/").context["rows"] == []
    theirs = client_for(student).get("/programs/").context["rows"]
    assert [(p.pk, roles) for p, roles in theirs] == [(program.pk, ["mentee"])]


def test_nobody_else_opens_or_changes_a_program(other_coordinator, student, physician, program):
    for person in (other_coordinator, student, physician):
        client = client_for(person)
        assert client.get(f"/programs/{program.pk}/").status_code == 404
        assert client.get(f"/programs/{program.pk}/edit/").status_code == 404
        assert client.post(f"/programs/{program.pk}/edit/", FORM).status_code == 404
    assert client_for(student).post("/programs/new/", FORM).status_code == 403
    assert client_for(None).get("/programs/").status_code == 302
    program.refresh_from_db()
    assert program.name == "Near-peer program"
