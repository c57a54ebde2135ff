"""CSV import and export of a program's participants: checked first, imported all at once
on confirmation, scoped to the school's coordinators."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import threading
import time

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connections
from django.http import HttpRequest
from django.test import Client

from accounts.choices import Role, Stage
from accounts.models import AuditEvent, Demographics, Profile, User
from matching import imports
from matching.models import Enrollment, ImportJob, Program
from mentorship.models import Mentorship
from tests.conftest import PASSWORD, api_for, client_for
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

HEADER = "email,full_name,role,user_type,stage,specialties,interests,capacity,institution"
GOOD = "ann.lee@example.org,Ann Lee,mentee,student,MS1,Cardiology,Clinical trials,,"


@pytest.fixture
def program(coordinator, school):
    today = dt.date.today()
    return Program.objects.create(
        institution=school,
        name="Faculty mentoring 2027",
        starts_on=today,
        ends_on=today + dt.timedelta(days=300),
        status=Program.Status.OPEN,
        created_by=coordinator,
    )


@pytest.fixture
def upload(coordinator, program, django_capture_on_commit_callbacks):
    """Upload CSV text through the API and run the check (Celery is eager in tests)."""

    def run(text: str, name: str = "people.csv", raw: bytes | None = None) -> ImportJob:
        data = raw if raw is not None else text.encode("utf-8")
        with django_capture_on_commit_callbacks(execute=True):
            response = api_for(coordinator).post(
                f"/api/v1/programs/{program.pk}/imports/",
                {"file": SimpleUploadedFile(name, data, content_type="text/csv")},
                format="multipart",
            )
        assert response.status_code == 202, response.json()
        assert response.json()["status"] == "checking"  # the check runs after commit
        return ImportJob.objects.get(pk=response.json()["id"])

    return run


@pytest.fixture
def confirm(coordinator, program, django_capture_on_commit_callbacks):
    def run(job: ImportJob):
        with django_capture_on_commit_callbacks(execute=True):
            response = api_for(coordinator).post(
                f"/api/v1/programs/{program.pk}/imports/{job.pk}/confirm/"
            )
        job.refresh_from_db()
        return response

    return run


def csv_text(*rows: str) -> str:
    return "\n".join([HEADER, *rows]) + "\n"


def written() -> tuple[int, int, int]:
    return User.objects.count(), Profile.objects.count(), Enrollment.objects.count()


# --- The whole journey -------------------------------------------------------------------


def test_a_clean_file_is_checked_without_writing_then_imported_once_confirmed(
    upload, confirm, coordinator, program, resident, school, other_school
):
    before = written()
    job = upload(
        csv_text(
            GOOD,
            "Bo.Kim@Example.org, Bo  Kim ,MENTEE,Student,ms2,cardiology; Neurology,,,",
            f"{resident.email},,mentor,,,,,4,",
            "carla.diaz@example.org,Carla Diaz,mentor,physician,Senior attending,"
            "orthopaedic-surgery,Medical education,3,Riverside",
        )
    )
    assert job.status == ImportJob.Status.CHECKED
    assert (job.rows, job.problems, job.progress) == (4, [], 100)
    assert job.preview == {
        "rows": 4, "new_accounts": 3, "existing_accounts": 1, "mentees": 2, "mentors": 2,
        "already_enrolled": 0, "to_enrol": 4, "problems_total": 0, "ignored_columns": [],
    }  # fmt: skip
    assert written() == before  # the check writes only the job

    mail.outbox.clear()
    response = confirm(job)
    assert response.status_code == 202
    assert job.status == ImportJob.Status.DONE and job.progress == 100
    assert job.result == {
        "created_accounts": 3, "enrolled": 4, "already_enrolled": 0, "welcome_emails": 3,
    }  # fmt: skip
    enrolled = {
        (e.user.email, e.role, e.capacity)
        for e in Enrollment.objects.filter(program=program).select_related("user")
    }
    assert enrolled == {
        ("ann.lee@example.org", "mentee", None),
        ("bo.kim@example.org", "mentee", None),
        (resident.email, "mentor", 4),
        ("carla.diaz@example.org", "mentor", 3),
    }
    bo = User.objects.select_related("profile").get(email="bo.kim@example.org")
    assert (bo.full_name, bo.role, bo.profile.stage) == ("Bo Kim", Role.STUDENT, Stage.MS2)
    assert bo.profile.institution == school and not bo.has_usable_password()
    assert sorted(bo.profile.specialties.values_list("slug", flat=True)) == [
        "cardiology",
        "neurology",
    ]
    carla = User.objects.select_related("profile").get(email="carla.diaz@example.org")
    assert (carla.profile.institution, carla.profile.capacity) == (other_school, 3)
    assert list(carla.profile.interests.values_list("slug", flat=True)) == ["medical-education"]
    # New accounts (only they) get one email each, with a link to set their password.
    assert sorted(m.to[0] for m in mail.outbox) == [
        "ann.lee@example.org",
        "bo.kim@example.org",
        "carla.diaz@example.org",
    ]
    assert "Faculty mentoring 2027" in mail.outbox[0].subject
    link = re.search(r"http://\S+/accounts/password/reset/\S+/", mail.outbox[0].body)
    assert link is not None
    audit = list(AuditEvent.objects.order_by("pk").values_list("action", "actor", "detail"))
    assert audit[-2:] == [
        ("program.import_confirm", coordinator.pk, {"program": program.pk, "rows": 4}),
        ("program.import", coordinator.pk, {"program": program.pk, **job.result}),
    ]


def test_an_imported_person_sets_a_password_from_the_welcome_email_and_signs_in(upload, confirm):
    confirm(upload(csv_text(GOOD)))
    link = re.search(r"http://[^/]+(/accounts/password/reset/\S+/)", mail.outbox[-1].body)
    assert link is not None
    browser = Client()
    form = browser.get(link.group(1), follow=True)
    assert form.status_code == 200
    done = browser.post(
        form.redirect_chain[-1][0],
        {"new_password1": "a-brand-new-pass-42", "new_password2": "a-brand-new-pass-42"},
    )
    assert done.status_code == 302
    assert Client().login(
        request=HttpRequest(), email="ann.lee@example.org", password="a-brand-new-pass-42"
    )


# --- Problems, row by row ------------------------------------------------------------------


MENTEE = "x@example.org,X Y,mentee,student,MS1"
MENTOR = "x@example.org,X Y,mentor,physician,Senior attending"
PROBLEMS = [
    # (the bad row, which is row 3 of the file, the column, words of the message)
    (",Ann Two,mentee,student,MS1,,,,", "email", "Missing email"),
    ("not-an-email,X Y,mentee,student,MS1,,,,", "email", "not a valid email"),
    ("ANN.LEE@example.org,Ann Again,mentee,student,MS1,,,,", "email", "also on row 2"),
    ("x@example.org,X Y,coach,student,MS1,,,,", "role", "Unknown role “coach”"),
    ("x@example.org,X Y,,student,MS1,,,,", "role", "Missing role"),
    ("x@example.org,X Y,mentee,nurse,MS1,,,,", "user_type", "Unknown user type “nurse”"),
    ("x@example.org,X Y,mentee,student,MS9,,,,", "stage", "Unknown stage “MS9”"),
    ("x@example.org,X Y,mentor,physician,MS2,,,,", "stage", "A physician cannot be at MS2"),
    ("x@example.org,X Y,mentee,physician,Senior attending,,,,", "user_type", "Mentees must be"),
    ("x@example.org,X Y,mentor,student,MS4,,,,", "user_type", "Mentors must be"),
    (f"{MENTEE},Cardiolgy,,,", "specialties", "Did you mean “Cardiology”?"),
    (f"{MENTEE},,Clinical trails,,", "interests", "Did you mean “Clinical trials”?"),
    (f"{MENTOR},,,25,", "capacity", "from 1 to 20"),
    (f"{MENTOR},,,two,", "capacity", "from 1 to 20"),
    (f"{MENTEE},,,2,", "capacity", "Only mentors have a capacity"),
    ("x@example.org,,mentee,student,MS1,,,,", "full_name", "Missing full name"),
    ("x@example.org,X Y,mentee,,MS1,,,,", "user_type", "Missing user type"),
    ("x@example.org,X Y,mentee,student,,,,,", "stage", "Missing stage"),
    (f"{MENTOR},,,,Northlak", "institution", "Did you mean “Northlake”?"),
    (f"{MENTOR},,,,Atlantis U", "institution", "Unknown institution"),
    (f"{MENTEE},,,,Riverside", "institution", "Mentees are always"),
    ("physician@test.example,,mentee,,,,,,", "role", "only students and residents can be mentees"),
    ("student@test.example,,mentor,,,,,,", "role", "only residents and physicians can mentor"),
    ("student@test.example,,mentee,resident,,,,,", "user_type", "has an account as a student"),
    ("coordinator@test.example,,mentee,,,,,,", "email", "cannot take part"),
    ("outsider@test.example,,mentee,,,,,,", "email", "not at Northlake"),
    (f"{MENTEE},,,,,surplus", "", "more cells than the header"),
]  # fmt: skip


@pytest.mark.parametrize(("row", "column", "words"), PROBLEMS)
def test_each_problem_is_reported_with_its_row_and_column_and_nothing_is_written(
    upload, row, column, words, student, physician, coordinator, outsider, other_school
):
    before = written()
    job = upload(csv_text(GOOD, row))
    assert job.status == ImportJob.Status.INVALID
    assert [(p["row"], p["field"]) for p in job.problems] == [(3, column)]
    assert words in job.problems[0]["message"]
    assert job.preview["problems_total"] == 1
    assert written() == before


def test_did_you_mean_names_the_closest_specialty_interest_or_stage(upload):
    job = upload(
        csv_text("x@example.org,X Y,mentee,student,PGY-11,Orthopedic surgery,Epidemology,,")
    )
    assert [p["message"] for p in job.problems] == [
        "Unknown stage “PGY-11”. Did you mean “PGY-1 (intern)”?",
        "Unknown specialty “Orthopedic surgery”. Did you mean “Orthopaedic surgery”?",
        "Unknown interest “Epidemology”. Did you mean “Epidemiology”?",
    ]
    nothing_close = upload(csv_text("x@example.org,X Y,mentee,student,MS1,Basket weaving,,,"))
    assert nothing_close.problems[0]["message"] == "Unknown specialty “Basket weaving”."


def test_problems_on_many_rows_are_all_listed_in_row_order(upload):
    job = upload(
        csv_text(
            "bad-email,A B,mentee,student,MS1,,,,",
            GOOD,
            "",  # a blank line keeps its row number, as in a spreadsheet
            "c@example.org,C D,mentor,student,PGY-2,,,3,",
        )
    )
    assert [(p["row"], p["field"]) for p in job.problems] == [
        (2, "email"),
        (5, "user_type"),
        (5, "stage"),
    ]
    assert job.rows == 3


def test_a_file_without_the_required_columns_is_refused_at_row_1(upload):
    job = upload("name,e-mail\nAnn,ann@example.org\n")
    assert job.status == ImportJob.Status.INVALID
    assert [(p["row"], p["field"]) for p in job.problems] == [(1, "email"), (1, "role")]
    assert upload("email,role\n").problems[0]["message"] == (
        "There are no participants below the header."
    )


def test_stages_are_read_from_their_labels_and_names_in_any_case(upload, confirm):
    spellings = [
        ("ms1", "student", Stage.MS1), ("MS4", "student", Stage.MS4),
        ("Pre-med", "student", Stage.PREMED), ("PGY-1", "resident", Stage.PGY1),
        ("pgy1", "resident", Stage.PGY1), ("PGY-1 (intern)", "resident", Stage.PGY1),
        ("PGY-7+", "resident", Stage.PGY7), ("fellow", "resident", Stage.FELLOW),
        ("Senior attending", "physician", Stage.ATTENDING_SENIOR),
        ("ATTENDING_MID", "physician", Stage.ATTENDING_MID),
        ("early-career ATTENDING", "physician", Stage.ATTENDING_EARLY),
    ]  # fmt: skip
    rows = [
        f"p{n}@example.org,Person {n},{'mentee' if kind == 'student' else 'mentor'},{kind},"
        f"{spelling},,,,"
        for n, (spelling, kind, _) in enumerate(spellings)
    ]
    job = upload(csv_text(*rows))
    assert job.problems == []
    confirm(job)
    stages = dict(
        Profile.objects.filter(user__email__endswith="@example.org").values_list(
            "user__email", "stage"
        )
    )
    assert [stages[f"p{n}@example.org"] for n in range(len(spellings))] == [
        stage for _, _, stage in spellings
    ]


# --- Nothing written unless everything is right ---------------------------------------------


def test_a_file_with_any_problem_cannot_be_confirmed(upload, coordinator, program):
    job = upload(csv_text(GOOD, "broken,,mentee,student,MS1,,,,"))
    before = written()
    response = api_for(coordinator).post(f"/api/v1/programs/{program.pk}/imports/{job.pk}/confirm/")
    assert response.status_code == 400
    assert response.json()["message"].startswith("This file has problems")
    job.refresh_from_db()
    assert job.status == ImportJob.Status.INVALID and written() == before


def test_a_failure_in_the_middle_of_the_import_writes_nothing(upload, confirm, monkeypatch):
    job = upload(csv_text(GOOD, "bo@example.org,Bo Kim,mentee,student,MS2,,,,"))
    before = written()

    def broken_enrol(rows, program):
        # Accounts are created by now (inside the import's transaction).
        assert User.objects.filter(email="bo@example.org").exists()
        raise RuntimeError("database went away")

    monkeypatch.setattr(imports, "_enrol", broken_enrol)
    confirm(job)
    assert job.status == ImportJob.Status.FAILED
    assert job.error.startswith("The import failed and nothing was imported")
    assert written() == before
    assert not User.objects.filter(email__in=["ann.lee@example.org", "bo@example.org"]).exists()
    assert not AuditEvent.objects.filter(action="program.import").exists()


def test_confirming_twice_imports_once(
    upload, coordinator, program, django_capture_on_commit_callbacks
):
    job = upload(csv_text(GOOD, "bo@example.org,Bo Kim,mentee,student,MS2,,,,"))
    url = f"/api/v1/programs/{program.pk}/imports/{job.pk}/confirm/"
    api = api_for(coordinator)
    with django_capture_on_commit_callbacks() as queued:  # a double click
        first, second = api.post(url), api.post(url)
    assert (first.status_code, second.status_code) == (202, 202)
    assert second.json() == {"id": job.pk, "status": "importing"}
    assert len(queued) == 1  # one import task queued
    with django_capture_on_commit_callbacks(execute=True):
        queued[0]()
        queued[0]()  # the broker delivers the task again
    with django_capture_on_commit_callbacks(execute=True):
        assert api.post(url).status_code == 202  # confirming a finished import
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE
    assert Enrollment.objects.filter(program=program).count() == 2
    assert User.objects.filter(email__in=["ann.lee@example.org", "bo@example.org"]).count() == 2
    assert AuditEvent.objects.filter(action="program.import").count() == 1
    assert AuditEvent.objects.filter(action="program.import_confirm").count() == 1
    assert sorted(m.to[0] for m in mail.outbox) == ["ann.lee@example.org", "bo@example.org"]


def test_existing_accounts_are_matched_by_email_and_only_enrolled(
    upload, confirm, program, student, resident
):
    student.profile.specialties.clear()
    job = upload(
        csv_text(
            "STUDENT@Test.Example,Someone Else,mentee,student,MS4,Neurology,Epidemiology,,",
            f"{resident.email},,mentee,,,,,,",
        )
    )
    assert (job.preview["existing_accounts"], job.preview["new_accounts"]) == (2, 0)
    Enrollment.objects.create(program=program, user=resident, role="mentee")
    before_users = User.objects.count()
    confirm(job)
    assert job.status == ImportJob.Status.DONE
    assert job.result == {
        "created_accounts": 0, "enrolled": 1, "already_enrolled": 1, "welcome_emails": 0,
    }  # fmt: skip
    student.refresh_from_db()
    student.profile.refresh_from_db()
    assert (student.full_name, student.email, student.profile.stage) == (
        "Maya Student",
        "student@test.example",
        Stage.MS2,
    )
    assert not student.profile.specialties.exists() and student.check_password(PASSWORD)
    assert User.objects.count() == before_users
    assert set(Enrollment.objects.filter(program=program).values_list("user", "role")) == {
        (student.pk, "mentee"),
        (resident.pk, "mentee"),
    }
    assert mail.outbox == []


def test_an_account_created_between_check_and_confirm_stops_the_import(
    upload, confirm, program, school
):
    job = upload(csv_text(GOOD, "bo@example.org,Bo Kim,mentee,student,MS2,,,,"))
    UserFactory(email="bo@example.org", role=Role.PHYSICIAN, profile={"institution": school})
    before = written()
    confirm(job)
    assert job.status == ImportJob.Status.INVALID
    assert job.error.startswith("Accounts changed since the file was checked")
    assert [(p["row"], p["field"]) for p in job.problems] == [
        (3, "user_type"),
        (3, "role"),
        (3, "stage"),
    ]
    assert written() == before


# --- Files ---------------------------------------------------------------------------------


def test_utf8_with_a_byte_order_mark_and_accents_is_read(upload):
    text = csv_text("zoe@example.org,Zoë Ångström,mentee,student,MS1,,,,")
    job = upload("", raw=b"\xef\xbb\xbf" + text.encode("utf-8"))
    assert job.status == ImportJob.Status.CHECKED and job.preview["new_accounts"] == 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("zoë".encode("latin-1"), "The file is not UTF-8 text"),
        (b"", "The file is empty."),
        (b"x" * (5 * 1024 * 1024 + 1), "The file is larger than 5 MB"),
    ],
)
def test_unreadable_uploads_are_refused_before_any_job(coordinator, program, data, message):
    response = api_for(coordinator).post(
        f"/api/v1/programs/{program.pk}/imports/",
        {"file": SimpleUploadedFile("people.csv", data, content_type="text/csv")},
        format="multipart",
    )
    assert response.status_code == 400
    assert response.json()["message"].startswith(message)
    assert not ImportJob.objects.exists()


def test_the_template_has_the_columns_and_two_rows_and_passes_the_check(coordinator, upload):
    response = client_for(coordinator).get("/programs/import-template.csv")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    text = response.content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == list(imports.COLUMNS)
    assert [r[0] for r in rows[1:]] == ["maya.lopez@example.org", "ruth.okafor@example.org"]
    assert rows[2][-1] == "Northlake"  # the coordinator's own school
    job = upload(text)
    assert job.status == ImportJob.Status.CHECKED
    assert (job.preview["mentees"], job.preview["mentors"]) == (1, 1)


def test_ten_thousand_rows_are_checked_and_imported_in_bulk(
    coordinator, program, django_capture_on_commit_callbacks
):
    rows = [
        f"person{n}@example.org,Person {n},mentee,student,MS{1 + n % 4},Cardiology;Neurology,"
        "Clinical trials,,"
        if n % 5
        else f"mentor{n}@example.org,Mentor {n},mentor,physician,Mid-career attending,"
        f"Cardiology,,{1 + n % 20},"
        for n in range(10_000)
    ]
    content = csv_text(*rows).encode()
    api = api_for(coordinator)
    started = time.perf_counter()
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            f"/api/v1/programs/{program.pk}/imports/",
            {"file": SimpleUploadedFile("big.csv", content, content_type="text/csv")},
            format="multipart",
        )
    job = ImportJob.objects.get(pk=response.json()["id"])
    checked = time.perf_counter()
    assert job.status == ImportJob.Status.CHECKED, job.problems[:3]
    assert job.preview["new_accounts"] == 10_000
    assert (job.preview["mentees"], job.preview["mentors"]) == (8_000, 2_000)
    with django_capture_on_commit_callbacks() as queued:
        api.post(f"/api/v1/programs/{program.pk}/imports/{job.pk}/confirm/")
    assert len(queued) == 1
    with django_capture_on_commit_callbacks() as welcomes:  # emails are not sent here
        queued[0]()
    imported = time.perf_counter()
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE, job.error
    assert Enrollment.objects.filter(program=program).count() == 10_000
    assert Enrollment.objects.filter(program=program, role="mentor").count() == 2_000
    assert (
        Profile.specialties.through.objects.filter(
            profile__user__email__endswith="@example.org"
        ).count()
        == 8_000 * 2 + 2_000
    )
    assert len(welcomes) == 100  # one welcome task per 100 new accounts
    print(f"\n10,000 rows: check {checked - started:.1f} s, import {imported - checked:.1f} s")
    assert imported - started < 60


# --- Exports -------------------------------------------------------------------------------


def test_the_participants_export_has_the_import_columns_and_defuses_formulas(
    coordinator, program, student, physician
):
    student.full_name = '=HYPERLINK("http://evil.example","Click")'
    student.save()
    Demographics.objects.create(user=student, gender="woman", ethnicities=["black"])
    Enrollment.objects.create(program=program, user=student, role="mentee")
    Enrollment.objects.create(program=program, user=physician, role="mentor", capacity=2)
    response = client_for(coordinator).get(f"/programs/{program.pk}/export/participants.csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == [*imports.COLUMNS, "joined"]
    assert [r[:5] for r in rows[1:]] == [
        ["student@test.example", "'" + student.full_name, "mentee", "student", "MS2"],
        ["physician@test.example", "Paul Physician", "mentor", "physician", "Senior attending"],
    ]
    assert rows[2][7:9] == ["2", "Northlake School of Medicine"]
    body = response.content.decode()
    assert "woman" not in body and "black" not in body and "gender" not in body
    event = AuditEvent.objects.get(action="program.export_participants")
    assert (event.actor, event.detail) == (coordinator, {"rows": 2})


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=1+2", "'=1+2"),
        ("+33 6 12", "'+33 6 12"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=cmd", "'\t=cmd"),
        ("Ann = Bo", "Ann = Bo"),
        (3, "3"),
        (None, ""),
    ],
)
def test_cells_that_a_spreadsheet_would_run_as_formulas_get_a_quote(value, cell):
    assert imports._cell(value) == cell


def test_the_pairs_export_lists_the_programs_mentorships(
    coordinator, program, student, physician, resident
):
    Mentorship.objects.create(mentee=student, mentor=physician, program=program, source="program")
    Mentorship.objects.create(mentee=resident, mentor=physician)  # not from this program
    response = api_for(coordinator).get(
        f"/api/v1/programs/{program.pk}/export/pairs.csv", HTTP_ACCEPT="text/csv"
    )
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == list(imports.PAIR_COLUMNS)
    assert [r[:5] + r[6:7] for r in rows[1:]] == [
        [
            "Maya Student", "student@test.example", "Paul Physician", "physician@test.example",
            "Faculty mentoring 2027", "Active",
        ]
    ]  # fmt: skip
    assert rows[1][5] == dt.date.today().isoformat()
    assert AuditEvent.objects.filter(action="program.export_pairs", actor=coordinator).count() == 1


def test_the_participants_export_through_the_api(coordinator, program, student):
    Enrollment.objects.create(program=program, user=student, role="mentee")
    response = api_for(coordinator).get(f"/api/v1/programs/{program.pk}/export/participants.csv")
    assert response.status_code == 200
    assert "student@test.example" in response.content.decode("utf-8-sig")


# --- The participants page -------------------------------------------------------------------


def test_the_participants_page_lists_people_the_link_and_the_latest_import(
    coordinator, program, student, physician, django_assert_max_num_queries
):
    Enrollment.objects.create(program=program, user=student, role="mentee")
    Enrollment.objects.create(program=program, user=physician, role="mentor", capacity=2)
    for _ in range(10):
        user = UserFactory(role=Role.STUDENT, profile={"institution": program.institution})
        Enrollment.objects.create(program=program, user=user, role="mentee")
    ImportJob.objects.create(program=program, content=csv_text(GOOD), created_by=coordinator)
    client = client_for(coordinator)
    with django_assert_max_num_queries(15):
        response = client.get(f"/programs/{program.pk}/participants/")
    page = response.content.decode()
    assert response.status_code == 200
    assert "Maya Student" in page and "Dr. Paul Physician" in page and "MS2" in page
    assert f"/programs/join/{program.invite_code}/" in page
    assert '<progress id="import-progress' in page and 'hx-trigger="every 1s"' in page
    assert f"/programs/{program.pk}/export/participants.csv" in page


def test_the_import_card_polls_while_checking_then_shows_problems_or_the_confirm_button(
    coordinator, program, django_capture_on_commit_callbacks
):
    client = client_for(coordinator)
    with django_capture_on_commit_callbacks() as queued:
        response = client.post(
            f"/programs/{program.pk}/imports/", {"text": csv_text(GOOD).replace(",", "\t")}
        )
    assert response.status_code == 302
    job = ImportJob.objects.get()
    card = client.get(f"/programs/{program.pk}/imports/{job.pk}/").content.decode()
    assert 'hx-trigger="every 1s"' in card and "Checking every row" in card
    with django_capture_on_commit_callbacks(execute=True):
        for callback in queued:
            callback()
    card = client.get(f"/programs/{program.pk}/imports/{job.pk}/").content.decode()
    assert "hx-trigger" not in card  # polling stops
    assert "Import 1 participant" in card and "/confirm/" in card
    with django_capture_on_commit_callbacks(execute=True):
        confirmed = client.post(
            f"/programs/{program.pk}/imports/{job.pk}/confirm/", HTTP_HX_REQUEST="true"
        )
    assert "Importing" in confirmed.content.decode()  # the task runs after the response
    assert Enrollment.objects.filter(program=program, user__email="ann.lee@example.org").exists()
    card = client.get(f"/programs/{program.pk}/imports/{job.pk}/").content.decode()
    assert "Imported" in card and "hx-trigger" not in card

    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/programs/{program.pk}/imports/", {"text": "email,role\nbroken,mentee\n"})
    bad = ImportJob.objects.latest("pk")
    card = client.get(f"/programs/{program.pk}/imports/{bad.pk}/").content.decode()
    assert "<td>2</td><td>email</td>" in card and "not a valid email" in card


def test_the_import_form_needs_a_file_or_pasted_rows(coordinator, program):
    response = client_for(coordinator).post(f"/programs/{program.pk}/imports/", {"text": " "})
    assert "Choose a CSV file or paste the rows." in response.content.decode()
    assert not ImportJob.objects.exists()


def test_the_coordinator_adds_someone_by_email(coordinator, program, physician):
    client = client_for(coordinator)
    url = f"/programs/{program.pk}/participants/add/"
    response = client.post(
        url, {"email": "PHYSICIAN@test.example", "role": "mentor", "capacity": 2}
    )
    assert response.status_code == 302
    assert list(Enrollment.objects.values_list("user", "role", "capacity")) == [
        (physician.pk, "mentor", 2)
    ]
    unknown = client.post(url, {"email": "nobody@example.org", "role": "mentee"})
    assert "No account uses this email" in unknown.content.decode()
    refused = client.post(url, {"email": "physician@test.example", "role": "mentee"})
    assert "Only students and residents can be mentees." in refused.content.decode()
    assert Enrollment.objects.count() == 1


# --- Who may do what ---------------------------------------------------------------------------


def _endpoints(program: Program, job: ImportJob) -> list[tuple[str, str]]:
    p, j = program.pk, job.pk
    return [
        ("get", f"/programs/{p}/participants/"),
        ("post", f"/programs/{p}/participants/add/"),
        ("post", f"/programs/{p}/imports/"),
        ("get", f"/programs/{p}/imports/{j}/"),
        ("post", f"/programs/{p}/imports/{j}/confirm/"),
        ("post", f"/programs/{p}/invite-code/"),
        ("get", f"/programs/{p}/export/participants.csv"),
        ("get", f"/programs/{p}/export/pairs.csv"),
        ("post", f"/api/v1/programs/{p}/imports/"),
        ("get", f"/api/v1/programs/{p}/imports/{j}/"),
        ("post", f"/api/v1/programs/{p}/imports/{j}/confirm/"),
        ("post", f"/api/v1/programs/{p}/invite-code/"),
        ("get", f"/api/v1/programs/{p}/export/participants.csv"),
        ("get", f"/api/v1/programs/{p}/export/pairs.csv"),
    ]


@pytest.mark.parametrize("persona", ["other_coordinator", "student", "physician"])
def test_only_the_programs_coordinators_reach_its_enrolment_pages_and_endpoints(
    request, persona, upload, program, student
):
    job = upload(csv_text(GOOD))
    Enrollment.objects.create(program=program, user=student, role="mentee")
    person = request.getfixturevalue(persona)
    code = program.invite_code
    for method, url in _endpoints(program, job):
        client = api_for(person) if url.startswith("/api/") else client_for(person)
        response = getattr(client, method)(url)
        assert response.status_code == 404, (persona, method, url)
    program.refresh_from_db()
    job.refresh_from_db()
    assert program.invite_code == code and job.status == ImportJob.Status.CHECKED
    assert not AuditEvent.objects.exclude(action__startswith="auth.").exists()
    assert client_for(person).get("/programs/import-template.csv").status_code == (
        200 if persona == "other_coordinator" else 403
    )


def test_the_import_status_api_returns_progress_problems_and_preview(upload, coordinator, program):
    job = upload(csv_text(GOOD, "bad,X,mentee,student,MS1,,,,"))
    body = api_for(coordinator).get(f"/api/v1/programs/{program.pk}/imports/{job.pk}/").json()
    assert (body["status"], body["progress"], body["rows"]) == ("invalid", 100, 2)
    assert body["problems"] == [
        {"row": 3, "field": "email", "message": "“bad” is not a valid email address."}
    ]
    assert body["preview"]["problems_total"] == 1 and body["result"] == {}


def test_anonymous_visitors_are_asked_to_sign_in(program):
    assert api_for(None).get(f"/api/v1/programs/{program.pk}/export/pairs.csv").status_code in (
        401,
        403,
    )
    response = Client().get(f"/programs/{program.pk}/participants/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_progress_is_reported_per_phase_while_checking_and_importing(upload, confirm, monkeypatch):
    seen: list[tuple[str, int]] = []
    real = imports._set_progress

    def record(job_id: int, status: str, percent: int) -> None:
        real(job_id, status, percent)
        seen.append((status, ImportJob.objects.get(pk=job_id).progress))

    monkeypatch.setattr(imports, "_set_progress", record)
    monkeypatch.setattr(imports, "PROGRESS_EVERY", 10)
    rows = [f"p{n}@example.org,Person {n},mentee,student,MS1,,,," for n in range(30)]
    job = upload(csv_text(*rows))
    checking = [percent for status, percent in seen if status == "checking"]
    assert checking == [23, 46, 70, 90]  # every 10 rows here, then the account checks
    seen.clear()
    confirm(job)
    importing = [percent for status, percent in seen if status == "importing"]
    assert importing == [5, 15, 25, 36, 45, 55]  # checking again, then the write phase
    assert (job.status, job.progress) == (ImportJob.Status.DONE, 100)


def test_a_file_with_thousands_of_problems_keeps_the_first_thousand_and_the_total(
    upload, coordinator, program
):
    job = upload(csv_text(*[f"bad{n},X Y,mentee,student,MS1,,,," for n in range(1_200)]))
    assert len(job.problems) == 1_000 and job.preview["problems_total"] == 1_200
    assert job.problems[-1]["row"] == 1_001
    card = client_for(coordinator).get(f"/programs/{program.pk}/imports/{job.pk}/")
    assert "1200 problems to fix" in card.content.decode()
    assert "Showing the first 1000." in card.content.decode()


def test_an_import_whose_task_was_lost_is_queued_again_by_a_later_confirm(
    upload, coordinator, program, django_capture_on_commit_callbacks
):
    job = upload(csv_text(GOOD))
    url = f"/api/v1/programs/{program.pk}/imports/{job.pk}/confirm/"
    with django_capture_on_commit_callbacks():  # the broker loses the message
        api_for(coordinator).post(url)
    with django_capture_on_commit_callbacks() as queued:
        api_for(coordinator).post(url)
    assert queued == []  # a recent confirmation is still running: nothing queued twice
    ImportJob.objects.filter(pk=job.pk).update(confirmed_at=job.created_at - dt.timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=True) as queued:
        api_for(coordinator).post(url)
    job.refresh_from_db()
    assert len(queued) >= 1 and job.status == ImportJob.Status.DONE
    assert list(Enrollment.objects.values_list("user__email", flat=True)) == ["ann.lee@example.org"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_on_postgresql_the_page_sees_the_progress_but_no_row_until_the_import_commits(
    postgres, coordinator, school, monkeypatch
):
    program = Program.objects.create(
        institution=school, name="Race", starts_on=dt.date.today(),
        ends_on=dt.date.today() + dt.timedelta(days=30), created_by=coordinator,
    )  # fmt: skip
    job = ImportJob.objects.create(
        program=program,
        content=csv_text("ann.lee@example.org,Ann Lee,mentee,student,MS1,,,,"),
        status=ImportJob.Status.IMPORTING,
        created_by=coordinator,
    )
    writing, release = threading.Event(), threading.Event()
    real_enrol = imports._enrol

    def held_enrol(rows, program):
        writing.set()  # accounts are written, the transaction is still open
        assert release.wait(30)
        return real_enrol(rows, program)

    monkeypatch.setattr(imports, "_enrol", held_enrol)

    def work():
        try:
            imports.import_run(job_id=job.pk)
        finally:
            connections.close_all()

    worker = threading.Thread(target=work)
    worker.start()
    try:
        assert writing.wait(30)
        seen = ImportJob.objects.get(pk=job.pk)  # what the polling page reads
        assert (seen.status, seen.progress) == (ImportJob.Status.IMPORTING, 55)
        assert not User.objects.filter(email="ann.lee@example.org").exists()
    finally:
        release.set()
        worker.join(30)
    job.refresh_from_db()
    assert (job.status, job.progress) == (ImportJob.Status.DONE, 100)
    assert Enrollment.objects.filter(program=program, user__email="ann.lee@example.org").exists()
