"""Joining a program with its invitation link or code; the coordinator replaces the code."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from accounts.choices import Role, Stage
from accounts.models import AuditEvent
from matching.models import Enrollment, Program
from tests.conftest import PASSWORD, api_for, client_for
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

JOIN = "/api/v1/programs/join/"


@pytest.fixture
def program(coordinator, school):
    today = dt.date.today()
    return Program.objects.create(
        institution=school,
        name="Near-peer mentoring",
        starts_on=today,
        ends_on=today + dt.timedelta(days=200),
        enrol_by=today + dt.timedelta(days=10),
        status=Program.Status.OPEN,
        created_by=coordinator,
    )


def enrolled(program: Program) -> set[tuple[str, str, int | None]]:
    return set(
        Enrollment.objects.filter(program=program).values_list("user__email", "role", "capacity")
    )


def test_a_student_of_the_school_joins_as_mentee_and_joining_again_changes_nothing(
    student, program
):
    api = api_for(student)
    first = api.post(JOIN, {"code": program.invite_code, "role": "mentee"}, format="json")
    assert first.status_code == 201
    assert (first.json()["program"], first.json()["role"]) == (program.pk, "mentee")
    again = api.post(JOIN, {"code": program.invite_code, "role": "mentee"}, format="json")
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert enrolled(program) == {("student@test.example", "mentee", None)}


def test_a_physician_joins_as_mentor_with_a_capacity_and_may_change_it(physician, program):
    api = api_for(physician)
    body = {"code": program.invite_code, "role": "mentor", "capacity": 3}
    assert api.post(JOIN, body, format="json").status_code == 201
    assert enrolled(program) == {("physician@test.example", "mentor", 3)}
    assert api.post(JOIN, {**body, "capacity": 2}, format="json").status_code == 200
    assert enrolled(program) == {("physician@test.example", "mentor", 2)}


def test_a_resident_may_join_both_as_mentee_and_as_mentor(resident, program):
    api = api_for(resident)
    for role in ("mentee", "mentor"):
        response = api.post(JOIN, {"code": program.invite_code, "role": role}, format="json")
        assert response.status_code == 201
    assert enrolled(program) == {
        ("resident@test.example", "mentee", None),
        ("resident@test.example", "mentor", None),
    }


def test_a_physician_from_another_school_may_mentor(program, other_school):
    visitor = UserFactory(
        role=Role.PHYSICIAN, profile={"institution": other_school, "stage": Stage.ATTENDING_MID}
    )
    response = api_for(visitor).post(
        JOIN, {"code": program.invite_code, "role": "mentor"}, format="json"
    )
    assert response.status_code == 201
    assert enrolled(program) == {(visitor.email, "mentor", None)}


@pytest.mark.parametrize(
    ("persona", "role", "capacity", "field", "message"),
    [
        ("coordinator", "mentee", None, "role", "Coordinators and staff run programs"),
        ("other_coordinator", "mentor", None, "role", "Coordinators and staff run programs"),
        ("outsider", "mentee", None, "role", "This program is for students of Northlake"),
        ("physician", "mentee", None, "role", "Only students and residents"),
        ("student", "mentor", None, "role", "Only residents and physicians"),
        ("student", "mentee", 2, "capacity", "You cannot join this way."),
    ],
)
def test_people_who_cannot_join_that_way_are_refused_and_nothing_is_written(
    request, program, persona, role, capacity, field, message
):
    person = request.getfixturevalue(persona)
    body = {"code": program.invite_code, "role": role, "capacity": capacity}
    response = api_for(person).post(JOIN, body, format="json")
    assert response.status_code == 400
    assert response.json()["message"].startswith(message)
    assert field in response.json()["fields"]
    assert not Enrollment.objects.exists()


@pytest.mark.parametrize("capacity", [0, 21])
def test_a_mentor_capacity_is_between_1_and_20(physician, program, capacity):
    body = {"code": program.invite_code, "role": "mentor", "capacity": capacity}
    response = api_for(physician).post(JOIN, body, format="json")
    assert response.status_code == 400 and "capacity" in response.json()["fields"]
    assert not Enrollment.objects.exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"status": Program.Status.CLOSED}, "“Near-peer mentoring” is closed."),
        ({"status": Program.Status.PUBLISHED}, "The pairs of “Near-peer mentoring” are already"),
        ({"enrol_by": dt.date.today() - dt.timedelta(days=1)}, "Enrolment in “Near-peer"),
    ],
)
def test_a_closed_published_or_past_deadline_program_refuses_new_participants(
    student, program, change, message
):
    Program.objects.filter(pk=program.pk).update(**change)
    response = api_for(student).post(
        JOIN, {"code": program.invite_code, "role": "mentee"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["message"].startswith(message)
    assert not Enrollment.objects.exists()
    page = client_for(student).get(f"/programs/join/{program.invite_code}/").content.decode()
    assert message in page
    assert "Join the program" not in page


def test_an_unknown_code_is_refused(student):
    response = api_for(student).post(JOIN, {"code": "nope", "role": "mentee"}, format="json")
    assert response.status_code == 400 and "code" in response.json()["fields"]
    assert client_for(student).get("/programs/join/nope/").status_code == 404


def test_a_new_student_without_a_school_gets_the_programs_school_on_joining(program, school):
    newcomer = UserFactory(role=Role.STUDENT, profile={"institution": None, "stage": Stage.MS1})
    response = api_for(newcomer).post(
        JOIN, {"code": program.invite_code, "role": "mentee"}, format="json"
    )
    assert response.status_code == 201
    newcomer.profile.refresh_from_db()
    assert newcomer.profile.institution == school


def test_the_coordinator_replaces_the_code_and_the_old_link_stops_working(
    coordinator, program, student, resident
):
    old = program.invite_code
    response = api_for(coordinator).post(f"/api/v1/programs/{program.pk}/invite-code/")
    assert response.status_code == 200
    program.refresh_from_db()
    assert program.invite_code != old and response.json()["invite_code"] == program.invite_code
    assert response.json()["join_url"].endswith(f"/programs/join/{program.invite_code}/")
    stale = api_for(student).post(JOIN, {"code": old, "role": "mentee"}, format="json")
    assert stale.status_code == 400
    assert client_for(student).get(f"/programs/join/{old}/").status_code == 404
    fresh = api_for(resident).post(
        JOIN, {"code": program.invite_code, "role": "mentee"}, format="json"
    )
    assert fresh.status_code == 201
    event = AuditEvent.objects.get(action="program.invite_regenerate")
    assert (event.actor, event.object_id) == (coordinator, str(program.pk))


def test_the_participants_page_button_replaces_the_code(coordinator, program):
    old = program.invite_code
    response = client_for(coordinator).post(f"/programs/{program.pk}/invite-code/")
    assert response.status_code == 302
    program.refresh_from_db()
    assert program.invite_code != old
    page = client_for(coordinator).get(response["Location"]).content.decode()
    assert f"/programs/join/{program.invite_code}/" in page and old not in page


@pytest.mark.parametrize("persona", ["other_coordinator", "student", "physician"])
def test_only_the_programs_coordinators_replace_its_code(request, persona, program):
    old = program.invite_code
    person = request.getfixturevalue(persona)
    assert api_for(person).post(f"/api/v1/programs/{program.pk}/invite-code/").status_code == 404
    assert client_for(person).post(f"/programs/{program.pk}/invite-code/").status_code == 404
    program.refresh_from_db()
    assert program.invite_code == old


# --- The join pages ----------------------------------------------------------------------------


def test_an_anonymous_visitor_sees_the_program_and_signs_in_to_come_back(program, student):
    url = f"/programs/join/{program.invite_code}/"
    page = Client().get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Near-peer mentoring" in html and "Northlake School of Medicine" in html
    next_param = f"next=%2Fprograms%2Fjoin%2F{program.invite_code}%2F"
    assert f"/accounts/login/?{next_param}" in html and f"/accounts/signup/?{next_param}" in html
    assert Client().post(url, {"role": "mentee"})["Location"].startswith("/accounts/login/")
    browser = Client()
    signed_in = browser.post(
        f"/accounts/login/?{next_param}",
        {"username": student.email, "password": PASSWORD, "next": url},
    )
    assert signed_in.status_code == 302 and signed_in["Location"] == url
    assert "Join the program" in browser.get(url).content.decode()
    assert not Enrollment.objects.exists()


def test_a_student_joins_from_the_page(student, program):
    client = client_for(student)
    url = f"/programs/join/{program.invite_code}/"
    page = client.get(url).content.decode()
    assert 'value="mentee"' in page and 'value="mentor"' not in page and "capacity" not in page
    response = client.post(url, {"role": "mentee"})
    assert response.status_code == 302 and response["Location"] == "/programs/"
    assert enrolled(program) == {("student@test.example", "mentee", None)}
    after = client.get(url).content.decode()
    assert "You are in this program as a mentee." in after and "Join the program" not in after


def test_a_physician_joins_from_the_page_as_mentor_with_a_capacity(physician, program):
    client = client_for(physician)
    url = f"/programs/join/{program.invite_code}/"
    page = client.get(url).content.decode()
    assert 'value="mentor"' in page and 'value="mentee"' not in page and "capacity" in page
    assert client.post(url, {"role": "mentor", "capacity": "4"}).status_code == 302
    assert enrolled(program) == {("physician@test.example", "mentor", 4)}


def test_a_student_of_another_school_sees_why_they_cannot_join(outsider, program):
    response = client_for(outsider).post(
        f"/programs/join/{program.invite_code}/", {"role": "mentee"}
    )
    assert response.status_code == 200
    assert "This program is for students of Northlake School of Medicine" in (
        response.content.decode()
    )
    assert not Enrollment.objects.exists()


def test_a_coordinator_is_told_they_cannot_join(coordinator, program):
    page = client_for(coordinator).get(f"/programs/join/{program.invite_code}/").content.decode()
    assert "they cannot join one as a participant" in page and "Join the program" not in page


def test_the_code_form_leads_to_the_join_page(student, program):
    client = client_for(student)
    assert client.get("/programs/join/").status_code == 200
    response = client.get("/programs/join/", {"code": f"  {program.invite_code} "})
    assert response.status_code == 302
    assert response["Location"] == f"/programs/join/{program.invite_code}/"
