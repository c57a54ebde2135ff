"""Match runs: a program's cohort through the engine, stored, reproducible and idempotent.

Cohorts here are built by hand so the right answer is known: programs weigh the
specialty alone (the few factors a program cannot switch off are equal for every
pair), so a pair in the wanted specialty scores 1.0 and any other pair the same
small constant.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from accounts.choices import Stage
from accounts.models import AuditEvent, Profile, Specialty
from matching import runs
from matching.engine import ENGINE_VERSION
from matching.engine.assign import LockInfeasibleError
from matching.models import Enrollment, MatchRun, PairRule, Program, Proposal
from matching.tasks import execute_match_run
from mentorship.models import Mentorship
from tests.conftest import api_for, client_for
from tests.factories import ConflictFactory
from tests.matching.programs import (
    SPECIALTY_ONLY,
    enrol,
    make_program,
    mentee,
    mentor,
    pairs,
    run_now,
    trio_program,
)

pytestmark = pytest.mark.django_db

# --- Fixtures --------------------------------------------------------------------------


@pytest.fixture
def trio(school, coordinator):
    return trio_program(school, coordinator)


# --- The assignment ----------------------------------------------------------------


def test_the_run_finds_the_known_optimal_assignment_with_reasons(trio, coordinator):
    program, _ = trio
    run = run_now(coordinator, program)

    assert pairs(run) == {
        ("Anna", "Dr. Cardio"), ("Ben", "Dr. Ortho"), ("Cleo", "Dr. Cardio")
    }  # fmt: skip
    proposals = list(Proposal.objects.filter(run=run))
    assert all(p.score == pytest.approx(1.0, abs=1e-6) for p in proposals)
    assert all(runs.percent(p.score) == 100 for p in proposals)
    ben = Proposal.objects.get(run=run, mentee__full_name="Ben")
    assert ben.reasons[0] == "Both in Orthopaedic surgery"
    assert not ben.locked and ben.origin == Proposal.Origin.ENGINE
    s = run.summary
    assert (s["mentees"], s["mentors"], s["places"], s["pairs"]) == (3, 2, 3, 3)
    assert (s["matched"], s["unmatched_count"], s["coverage"]) == (3, 0, 1.0)
    assert s["mean_score"] == pytest.approx(1.0, abs=1e-6)
    assert s["total_score"] == pytest.approx(3.0, abs=1e-5)
    assert s["histogram"] == [0] * 9 + [3]
    assert s["groups"] == [
        {"group": "MS2", "mentees": 3, "matched": 3, "coverage": 1.0,
         "mean_score": pytest.approx(1.0, abs=1e-6)}
    ]  # fmt: skip
    assert s["mentor_load"]["distribution"] == [[1, 1], [2, 1]]
    assert (s["mentor_load"]["max"], s["mentor_load"]["median"]) == (2, 1.5)
    assert s["blocking_pairs"] == 0
    assert s["unmatched"] == {} and s["warnings"] == []


def test_quality_and_participation_disagree_when_one_great_pair_blocks_two_fair_ones(
    school, coordinator
):
    program = make_program(school, coordinator)
    amy = mentee(school, "Amy", "orthopaedic-surgery")
    bob = mentee(school, "Bob", "psychiatry")
    ortho = mentor(school, "Ortho", "orthopaedic-surgery", capacity=1)
    cardio = mentor(school, "Cardio", "cardiology", capacity=1)
    enrol(program, [amy, bob], Enrollment.Role.MENTEE)
    enrol(program, [ortho, cardio], Enrollment.Role.MENTOR)
    PairRule.objects.create(program=program, mentee=bob, mentor=cardio, kind="exclude")

    quality = run_now(coordinator, program, "quality")
    participation = run_now(coordinator, program, "participation")

    assert pairs(quality) == {("Amy", "Dr. Ortho")}
    assert quality.summary["coverage"] == 0.5
    assert quality.summary["unmatched"] == {str(bob.pk): "Every suitable mentor is full"}
    assert pairs(participation) == {("Amy", "Dr. Cardio"), ("Bob", "Dr. Ortho")}
    assert participation.summary["coverage"] == 1.0
    assert quality.summary["mean_score"] > participation.summary["mean_score"]
    assert (quality.objective, participation.objective) == ("quality", "participation")


def test_a_team_program_gives_each_mentee_one_near_peer_and_one_senior(school, coordinator):
    program = make_program(school, coordinator, demand=Program.Demand.TEAM)
    students = [mentee(school, f"Student {n}", "cardiology", stage=Stage.MS1) for n in range(2)]
    residents = [
        mentor(school, f"Resident {n}", "cardiology", stage=Stage.PGY3, capacity=1)
        for n in range(2)
    ]
    attending = mentor(school, "Senior", "cardiology", capacity=2)
    enrol(program, students, Enrollment.Role.MENTEE)
    enrol(program, [*residents, attending], Enrollment.Role.MENTOR)

    run = run_now(coordinator, program)

    rows = Proposal.objects.filter(run=run).select_related("mentor__profile")
    assert rows.count() == 4
    for student in students:
        team = {p.slot: p.mentor for p in rows if p.mentee_id == student.pk}
        assert set(team) == {"near_peer", "senior"}
        assert team["near_peer"].profile.stage == Stage.PGY3
        assert team["senior"] == attending
    assert run.summary["places_wanted"] == 4 and run.summary["pairs"] == 4
    assert run.summary["partial"] == {}


def test_a_team_mentee_without_a_senior_place_is_reported_with_the_missing_place(
    school, coordinator
):
    program = make_program(school, coordinator, demand=Program.Demand.TEAM)
    student = mentee(school, "Student", "cardiology", stage=Stage.MS1)
    resident = mentor(school, "Resident", "cardiology", stage=Stage.PGY3, capacity=1)
    attending = mentor(school, "Senior", "cardiology", capacity=1, active_mentees=1)
    enrol(program, [student], Enrollment.Role.MENTEE)
    enrol(program, [resident, attending], Enrollment.Role.MENTOR)

    run = run_now(coordinator, program)

    assert pairs(run) == {("Student", "Resident")}
    assert run.summary["partial"] == {
        str(student.pk): "No senior physician: every suitable one is full"
    }


# --- The program's hard rules --------------------------------------------------------


def test_mentor_places_are_their_free_places_capped_by_the_enrolment(school, coordinator):
    program = make_program(school, coordinator)
    students = [mentee(school, f"Student {n}", "cardiology") for n in range(4)]
    # Not accepting self-requests, 3 free places, but enrolled for 1: enrolment is consent.
    busy = mentor(school, "Busy", "cardiology", capacity=4, active_mentees=1,
                  accepting_mentees=False)  # fmt: skip
    open_ = mentor(school, "Open", "cardiology", capacity=3, active_mentees=2)
    enrol(program, students, Enrollment.Role.MENTEE)
    enrol(program, [busy], Enrollment.Role.MENTOR, capacity=1)
    enrol(program, [open_], Enrollment.Role.MENTOR)

    run = run_now(coordinator, program)

    load = {name: 0 for name in ("Dr. Busy", "Dr. Open")}
    for _, mentor_name in pairs(run):
        load[mentor_name] += 1
    assert load == {"Dr. Busy": 1, "Dr. Open": 1}
    assert run.summary["participants"]["places"] == {str(busy.pk): 1, str(open_.pk): 1}
    assert run.summary["unmatched_count"] == 2
    assert set(run.summary["unmatched"].values()) == {"Every suitable mentor is full"}


def test_stage_rule_conflicts_exclusions_and_live_mentorships_are_hard_rules(school, coordinator):
    program = make_program(school, coordinator, mentor_stage_rule=Program.MentorStageRule.ATTENDING)
    maya = mentee(school, "Maya", "cardiology", stage=Stage.MS3)
    noor = mentee(school, "Noor", "cardiology")
    omar = mentee(school, "Omar", "cardiology")
    resident = mentor(school, "Resident", "cardiology", stage=Stage.PGY4, capacity=3)
    grader = mentor(school, "Grader", "cardiology", capacity=3)
    ConflictFactory(mentor=grader, institution=school, stage=Stage.MS3)
    partner = mentor(school, "Partner", "cardiology", capacity=3)
    enrol(program, [maya, noor, omar], Enrollment.Role.MENTEE)
    enrol(program, [resident, grader, partner], Enrollment.Role.MENTOR)
    PairRule.objects.create(program=program, mentee=noor, mentor=partner, kind="exclude")
    Mentorship.objects.create(mentee=omar, mentor=partner)

    run = run_now(coordinator, program)

    assert pairs(run) == {("Maya", "Dr. Partner"), ("Noor", "Dr. Grader"), ("Omar", "Dr. Grader")}
    # Without the conflict check, the grader is as good a fit for Maya as anyone.
    Program.objects.filter(pk=program.pk).update(respect_conflicts=False)
    again = run_now(coordinator, program)
    assert again.params["respect_conflicts"] is False
    assert again.input_hash != run.input_hash


def test_a_mentee_no_mentor_may_take_is_reported_as_outside_the_rules(school, coordinator):
    program = make_program(school, coordinator, institution_rule=Program.InstitutionRule.OTHER)
    student = mentee(school, "Lone", "cardiology")
    local = mentor(school, "Local", "cardiology")
    enrol(program, [student], Enrollment.Role.MENTEE)
    enrol(program, [local], Enrollment.Role.MENTOR)

    run = run_now(coordinator, program)

    assert pairs(run) == set()
    assert run.summary["unmatched"] == {str(student.pk): "No mentor fits the program's rules"}
    assert run.summary["coverage"] == 0.0


def test_a_kept_pair_that_can_no_longer_be_kept_is_dropped_with_a_warning(trio, coordinator):
    program, people = trio
    PairRule.objects.create(program=program, mentee=people["anna"], mentor=people["ortho"],
                            kind="lock")  # fmt: skip
    Enrollment.objects.filter(user=people["ortho"]).delete()

    run = run_now(coordinator, program)

    assert run.summary["warnings"] == [
        "Kept pair Anna – Dr. Ortho was dropped: the mentor is no longer in the program."
    ]
    assert pairs(run) == {("Anna", "Dr. Cardio"), ("Cleo", "Dr. Cardio")}


def test_locks_the_engine_cannot_honour_fail_the_run_with_a_clear_message(
    trio, coordinator, monkeypatch
):
    program, _ = trio

    def refuse(*args, **kwargs):
        raise LockInfeasibleError("locked pairs exceed the capacity of mentor 0")

    monkeypatch.setattr(runs, "assign", refuse)
    run, _ = runs.run_start(user=coordinator, program_id=program.pk)

    assert runs.run_execute(run_id=run.pk) is False

    run.refresh_from_db()
    assert run.status == MatchRun.Status.FAILED
    assert run.error == (
        "The kept pairs cannot all be honoured (locked pairs exceed the capacity of mentor 0). "
        "Unlock some of them and run again."
    )
    assert run.finished_at is not None and not run.proposals.exists()


# --- Runs: stored, reproducible, idempotent -----------------------------------------


def test_a_run_stores_params_progress_timings_and_engine_version(trio, coordinator):
    program, people = trio
    PairRule.objects.create(program=program, mentee=people["ben"], mentor=people["ortho"],
                            kind="lock", slot="")  # fmt: skip
    run = run_now(coordinator, program)

    assert run.number == 1
    assert run.params == {
        "objective": "quality", "demand": "one", "weights": {k: float(v) for k, v in
                                                            sorted(SPECIALTY_ONLY.items())},
        "mentor_stage_rule": "any", "institution_rule": "any", "respect_conflicts": True,
        "locks": [[people["ben"].pk, people["ortho"].pk, ""]], "exclusions": [],
    }  # fmt: skip
    assert run.engine_version == ENGINE_VERSION
    assert (run.progress, run.stage) == (100, "Ready for review")
    assert set(run.timings) == {"loading", "scoring", "solving", "explaining", "saving", "total"}
    assert all(seconds >= 0 for seconds in run.timings.values())
    assert run.timings["total"] >= run.timings["solving"]
    assert len(run.input_hash) == 64
    assert run.started_at <= run.finished_at
    assert Proposal.objects.get(run=run, mentee=people["ben"]).locked is True
    audit = AuditEvent.objects.get(action="match_run.start")
    assert (audit.actor, audit.object_id, audit.detail["run"]) == (coordinator, str(run.pk), 1)


def test_a_poller_sees_each_step_while_the_run_works(trio, coordinator, monkeypatch):
    program, _ = trio
    seen = []
    real_assign = runs.assign

    def watched(*args, **kwargs):
        seen.append(MatchRun.objects.values_list("status", "stage", "progress").get())
        return real_assign(*args, **kwargs)

    monkeypatch.setattr(runs, "assign", watched)
    run_now(coordinator, program)

    assert seen == [("running", "Finding the best assignment", 45)]


def test_executing_the_same_run_twice_has_one_result(trio, coordinator):
    program, _ = trio
    run = run_now(coordinator, program)
    first = (list(Proposal.objects.filter(run=run).values_list("pk", "mentee", "mentor")),
             run.summary, run.finished_at)  # fmt: skip

    assert runs.run_execute(run_id=run.pk) is False
    assert execute_match_run(run.pk) is False  # a redelivered message

    run.refresh_from_db()
    again = (list(Proposal.objects.filter(run=run).values_list("pk", "mentee", "mentor")),
             run.summary, run.finished_at)  # fmt: skip
    assert again == first
    assert Proposal.objects.count() == 3


def test_a_run_lost_with_its_worker_is_claimed_again_only_once_stale(trio, coordinator):
    program, _ = trio
    run, _ = runs.run_start(user=coordinator, program_id=program.pk)
    MatchRun.objects.filter(pk=run.pk).update(
        status=MatchRun.Status.RUNNING, started_at=timezone.now() - dt.timedelta(minutes=2)
    )
    assert runs.run_execute(run_id=run.pk) is False  # its worker may still be at it

    MatchRun.objects.filter(pk=run.pk).update(
        started_at=timezone.now() - runs.STALE_AFTER - dt.timedelta(seconds=1)
    )
    assert runs.run_execute(run_id=run.pk) is True
    run.refresh_from_db()
    assert run.status == MatchRun.Status.DONE and run.proposals.count() == 3


def test_a_double_click_starts_one_run_and_other_settings_start_another(trio, coordinator):
    program, _ = trio
    api = api_for(coordinator)
    url = f"/api/v1/programs/{program.pk}/runs/"

    first = api.post(url, {}, format="json")
    second = api.post(url, {}, format="json")
    other = api.post(url, {"objective": "participation"}, format="json")

    assert (first.status_code, second.status_code, other.status_code) == (202, 202, 202)
    assert first.json()["id"] == second.json()["id"]
    assert first.json()["status"] == "queued" and first.json()["number"] == 1
    assert other.json()["number"] == 2
    assert MatchRun.objects.count() == 2
    assert AuditEvent.objects.filter(action="match_run.start").count() == 2


def test_the_input_hash_is_stable_and_changes_with_a_profile(trio, coordinator):
    program, people = trio
    one = run_now(coordinator, program)
    two = run_now(coordinator, program)
    assert one.input_hash == two.input_hash
    assert (one.number, two.number) == (1, 2)

    Profile.objects.filter(user=people["cleo"]).update(stage=Stage.MS3)
    three = run_now(coordinator, program)
    assert three.input_hash != one.input_hash

    people["cleo"].profile.specialties.add(Specialty.objects.get(slug="psychiatry"))
    Profile.objects.filter(user=people["cleo"]).update(stage=Stage.MS2)
    four = run_now(coordinator, program)
    assert four.input_hash not in {one.input_hash, three.input_hash}


def test_a_run_needs_mentees_and_mentors_and_an_unpublished_program(school, coordinator):
    program = make_program(school, coordinator)
    response = api_for(coordinator).post(f"/api/v1/programs/{program.pk}/runs/", {})
    assert response.status_code == 400
    assert response.json()["message"] == (
        "Enrol at least one mentee and one mentor before running the matching."
    )
    bad = api_for(coordinator).post(
        f"/api/v1/programs/{program.pk}/runs/", {"objective": "speed"}, format="json"
    )
    assert bad.status_code == 400 and "objective" in bad.json()["fields"]
    assert not MatchRun.objects.exists()


# --- Through the API and the pages ---------------------------------------------------


def test_the_api_runs_the_task_after_commit_and_reports_the_result(
    trio, coordinator, django_capture_on_commit_callbacks
):
    program, _ = trio
    api = api_for(coordinator)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        started = api.post(f"/api/v1/programs/{program.pk}/runs/", {}, format="json")
    assert started.status_code == 202 and len(callbacks) == 1

    detail = api.get(f"/api/v1/programs/{program.pk}/runs/{started.json()['id']}/").json()
    assert (detail["status"], detail["progress"]) == ("done", 100)
    assert detail["summary"]["coverage"] == 1.0
    listed = api.get(f"/api/v1/programs/{program.pk}/runs/").json()
    assert [r["number"] for r in listed] == [1]
    proposals = api.get(
        f"/api/v1/programs/{program.pk}/runs/{detail['id']}/proposals/"
    ).json()  # fmt: skip
    assert {(p["mentee"]["display_name"], p["mentor"]["display_name"], p["percent"])
            for p in proposals["proposals"]} == {
        ("Anna", "Dr. Cardio", 100), ("Ben", "Dr. Ortho", 100), ("Cleo", "Dr. Cardio", 100)
    }  # fmt: skip
    assert proposals["editable"] is True and proposals["unmatched"] == []


def test_the_progress_bar_polls_while_queued_and_stops_when_done(trio, coordinator):
    program, _ = trio
    run, _ = runs.run_start(user=coordinator, program_id=program.pk)
    client = client_for(coordinator)

    page = client.get(f"/programs/{program.pk}/matching/")
    assert page.status_code == 200
    html = page.content.decode()
    assert f'hx-get="/programs/{program.pk}/runs/{run.pk}/progress/"' in html
    assert 'hx-trigger="every 1s"' in html and "<progress" in html
    assert f'href="/programs/{program.pk}/edit/"' in html  # the rules and weights

    runs.run_execute(run_id=run.pk)
    partial = client.get(f"/programs/{program.pk}/runs/{run.pk}/progress/").content.decode()
    assert "hx-trigger" not in partial
    assert 'value="100"' in partial
    assert f"/programs/{program.pk}/runs/{run.pk}/" in partial  # the review link
    assert "100%</strong> of mentees matched" in partial


def test_the_start_form_starts_a_run_with_the_chosen_objective(trio, coordinator):
    program, _ = trio
    response = client_for(coordinator).post(
        f"/programs/{program.pk}/matching/start/", {"objective": "participation"}
    )
    assert response.status_code == 302
    assert response["Location"] == f"/programs/{program.pk}/matching/"
    assert MatchRun.objects.get().objective == "participation"


def test_comparing_runs_puts_their_figures_side_by_side(school, coordinator):
    program = make_program(school, coordinator)
    amy = mentee(school, "Amy", "orthopaedic-surgery")
    bob = mentee(school, "Bob", "psychiatry")
    ortho = mentor(school, "Ortho", "orthopaedic-surgery", capacity=1)
    cardio = mentor(school, "Cardio", "cardiology", capacity=1)
    enrol(program, [amy, bob], Enrollment.Role.MENTEE)
    enrol(program, [ortho, cardio], Enrollment.Role.MENTOR)
    PairRule.objects.create(program=program, mentee=bob, mentor=cardio, kind="exclude")
    quality = run_now(coordinator, program, "quality")
    participation = run_now(coordinator, program, "participation")

    comparison = runs.runs_compare(
        user=coordinator, program_id=program.pk, run_ids=[quality.pk, participation.pk]
    )

    assert [f.coverage_percent for f in comparison.runs] == [50, 100]
    assert [f.unmatched for f in comparison.runs] == [1, 0]
    assert comparison.groups == [("MS2", [50, 100])]
    assert comparison.loads == [(0, [1, 0]), (1, [1, 2])]
    assert comparison.histogram[-1] == ("90–100%", [1, 0])
    api = api_for(coordinator).get(
        f"/api/v1/programs/{program.pk}/runs/compare/?runs={quality.pk}&runs={participation.pk}"
    )
    assert [r["coverage"] for r in api.json()["runs"]] == [0.5, 1.0]
    page = client_for(coordinator).get(
        f"/programs/{program.pk}/matching/compare/?runs={quality.pk}&runs={participation.pk}"
    )
    assert page.status_code == 200
    assert "50% (1)" in page.content.decode() and "100% (2)" in page.content.decode()
    one = api_for(coordinator).get(f"/api/v1/programs/{program.pk}/runs/compare/?runs={quality.pk}")
    assert one.status_code == 400
