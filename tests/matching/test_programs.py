"""Pairing programs: a school's coordinators create and run them; nobody else sees them."""

from __future__ import annotations

import pytest

from accounts.choices import Role, Stage
from matching.models import Enrollment, Program
from tests.conftest import api_for
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PROGRAM = {
    "name": "MS1 faculty mentoring 2027",
    "description": "Every MS1 with a faculty mentor for the year.",
    "starts_on": "2027-01-10",
    "ends_on": "2027-12-15",
    "enrol_by": "2027-01-31",
    "demand": "team",
    "objective": "participation",
    "weights": {"specialty": 3, "concordance": 1.5},
}


@pytest.fixture
def program(coordinator):
    response = api_for(coordinator).post("/api/v1/programs/", PROGRAM, format="json")
    assert response.status_code == 201, response.json()
    return Program.objects.get(pk=response.json()["id"])


def test_a_coordinator_creates_a_program_for_their_own_school(coordinator, school, program):
    assert (program.institution, program.created_by) == (school, coordinator)
    assert (program.demand, program.objective, program.status) == ("team", "participation", "draft")
    assert program.weights == {"specialty": 3.0, "concordance": 1.5}
    assert len(program.invite_code) == 10
    listed = api_for(coordinator).get("/api/v1/programs/").json()
    assert [p["name"] for p in listed] == [PROGRAM["name"]]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"ends_on": "2026-12-01"}, "ends_on"),
        ({"match_by": "2028-01-01"}, "match_by"),
        ({"weights": {"astrology": 2}}, "weights"),
        ({"weights": {"specialty": 50}}, "weights"),
        ({"objective": "speed"}, "objective"),
    ],
)
def test_bad_programs_are_refused_with_the_field_and_nothing_written(coordinator, change, field):
    response = api_for(coordinator).post("/api/v1/programs/", {**PROGRAM, **change}, format="json")
    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert not Program.objects.exists()


def test_the_same_name_twice_in_one_school_is_refused(coordinator, program):
    response = api_for(coordinator).post("/api/v1/programs/", PROGRAM, format="json")
    assert response.status_code == 400
    assert response.json()["fields"]["name"] == ["Already used by another program of your school."]
    assert Program.objects.count() == 1


def test_another_schools_coordinator_gets_404_for_everything(other_coordinator, program):
    api = api_for(other_coordinator)
    base = f"/api/v1/programs/{program.pk}/"
    assert api.get(base).status_code == 404
    assert api.patch(base, {"name": "Mine now"}, format="json").status_code == 404
    assert api.get(base + "participants/").status_code == 404
    assert api.post(base + "participants/", {"person": 1, "role": "mentee"}).status_code == 404
    assert api.get("/api/v1/programs/").json() == []
    program.refresh_from_db()
    assert program.name == PROGRAM["name"]


def test_students_and_mentors_cannot_create_or_open_programs(student, physician, program):
    for person in (student, physician):
        api = api_for(person)
        assert api.post("/api/v1/programs/", PROGRAM, format="json").status_code == 403
        assert api.get(f"/api/v1/programs/{program.pk}/").status_code == 404
    assert Program.objects.count() == 1


def test_the_coordinator_changes_a_program(coordinator, program):
    response = api_for(coordinator).patch(
        f"/api/v1/programs/{program.pk}/", {"status": "open", "match_by": "2027-02-15"},
        format="json",
    )  # fmt: skip
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["match_by"]) == ("open", "2027-02-15")


def test_enrolment_takes_the_schools_students_as_mentees_and_mentors_from_anywhere(
    coordinator, program, student, physician, outsider, other_school
):
    api = api_for(coordinator)
    url = f"/api/v1/programs/{program.pk}/participants/"
    assert api.post(url, {"person": student.pk, "role": "mentee"}).status_code == 201
    visiting = UserFactory(
        role=Role.PHYSICIAN,
        profile={"institution": other_school, "stage": Stage.ATTENDING_SENIOR},
    )
    mentor = api.post(url, {"person": visiting.pk, "role": "mentor", "capacity": 3})
    assert mentor.status_code == 201 and mentor.json()["capacity"] == 3
    refused = [
        ({"person": outsider.pk, "role": "mentee"}, "person"),  # another school's student
        ({"person": physician.pk, "role": "mentee"}, "role"),
        ({"person": student.pk, "role": "mentor"}, "role"),
        ({"person": physician.pk, "role": "mentor", "capacity": 40}, "capacity"),
        ({"person": 999999, "role": "mentee"}, "person"),
    ]
    for payload, field in refused:
        response = api.post(url, payload)
        assert response.status_code == 400, payload
        assert field in response.json()["fields"], payload
    # Enrolling again changes nothing but the capacity.
    assert api.post(url, {"person": student.pk, "role": "mentee"}).status_code == 201
    assert Enrollment.objects.filter(program=program).count() == 2
    rows = api.get(url).json()
    assert [(r["person"], r["role"]) for r in rows] == [
        (student.pk, "mentee"),
        (visiting.pk, "mentor"),
    ]
    listed = api.get("/api/v1/programs/").json()[0]
    assert (listed["mentees"], listed["mentors"]) == (1, 1)
    # A participant sees the program in their list (without the coordinator's controls).
    assert [p["id"] for p in api_for(student).get("/api/v1/programs/").json()] == [program.pk]
