"""Reviewing a run: keep, remove, swap and place pairs by hand; re-runs honour it all.
Only the coordinators of the program's school see or change any of it."""

from __future__ import annotations

import pytest

from accounts.choices import Role, Stage
from matching import runs
from matching.models import Enrollment, MatchRun, PairRule, Proposal
from tests.conftest import api_for, client_for
from tests.matching.programs import (
    enrol,
    make_program,
    mentee,
    mentor,
    pairs,
    person,
    run_now,
    trio_program,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def trio(school, coordinator):
    """The trio of tests.matching.programs, run once: Anna and Cleo to Dr. Cardio, Ben
    to Dr. Ortho."""
    program, people = trio_program(school, coordinator)
    run = run_now(coordinator, program)
    assert pairs(run) == {("Anna", "Dr. Cardio"), ("Ben", "Dr. Ortho"), ("Cleo", "Dr. Cardio")}
    return program, run, people


def _proposal(run: MatchRun, mentee_name: str) -> Proposal:
    return Proposal.objects.get(run=run, mentee__full_name=mentee_name)


def _url(program, run, tail: str = "") -> str:
    return f"/api/v1/programs/{program.pk}/runs/{run.pk}/{tail}"


def test_keeping_a_pair_locks_it_for_later_runs_and_unlocking_frees_it(trio, coordinator):
    program, run, people = trio
    ben = _proposal(run, "Ben")
    api = api_for(coordinator)

    locked = api.post(_url(program, run, f"proposals/{ben.pk}/lock/"))

    assert locked.status_code == 200
    assert (locked.json()["locked"], locked.json()["percent"]) == (True, 100)
    rule = PairRule.objects.get(program=program)
    assert (rule.mentee, rule.mentor, rule.kind, rule.slot) == (
        people["ben"], people["ortho"], "lock", ""
    )  # fmt: skip
    assert rule.created_by == coordinator

    unlocked = api.post(_url(program, run, f"proposals/{ben.pk}/unlock/"))

    assert unlocked.status_code == 200 and unlocked.json()["locked"] is False
    assert not PairRule.objects.exists()
    ben.refresh_from_db()
    assert ben.locked is False


def test_removing_a_pair_forbids_it_and_the_mentee_waits_with_the_reason(trio, coordinator):
    program, run, people = trio
    ben = _proposal(run, "Ben")

    response = api_for(coordinator).post(_url(program, run, f"proposals/{ben.pk}/remove/"))

    assert response.status_code == 204
    assert not Proposal.objects.filter(pk=ben.pk).exists()
    rule = PairRule.objects.get(program=program)
    assert (rule.mentee, rule.mentor, rule.kind) == (people["ben"], people["ortho"], "exclude")
    review = api_for(coordinator).get(_url(program, run, "proposals/")).json()
    assert [(w["mentee"]["display_name"], w["reason"]) for w in review["unmatched"]] == [
        ("Ben", "Their proposed mentor was removed in review")
    ]
    assert len(review["proposals"]) == 2


def test_swapping_exchanges_mentors_rescores_and_keeps_both_pairs(trio, coordinator):
    program, run, people = trio
    anna, ben = _proposal(run, "Anna"), _proposal(run, "Ben")

    response = api_for(coordinator).post(
        _url(program, run, "swap/"), {"a": anna.pk, "b": ben.pk}, format="json"
    )

    assert response.status_code == 200, response.json()
    anna.refresh_from_db()
    ben.refresh_from_db()
    assert (anna.mentor, ben.mentor) == (people["ortho"], people["cardio"])
    assert anna.locked and ben.locked
    assert anna.score == pytest.approx(1.0, abs=1e-6)
    # Ben asked for orthopaedics only: the cardiologist shares no specialty with him.
    assert ben.score < 0.2
    assert "Both in Orthopaedic surgery" in anna.reasons
    assert not any("Orthopaedic" in reason for reason in ben.reasons)
    assert [p["percent"] for p in response.json()] == [100, runs.percent(ben.score)]
    assert set(PairRule.objects.values_list("mentee", "mentor", "kind")) == {
        (people["anna"].pk, people["ortho"].pk, "lock"),
        (people["ben"].pk, people["cardio"].pk, "lock"),
    }


@pytest.fixture
def ladder(school, coordinator):
    """A student and a PGY-4 resident as mentees; a PGY-2 resident and an attending with
    one place as mentors. Only the attending is farther along than the PGY-4."""
    program = make_program(school, coordinator)
    sara = mentee(school, "Sara", "cardiology")
    rick = person(school, Role.RESIDENT, "Rick", stage=Stage.PGY4, wants=["cardiology"])
    junior = mentor(school, "Junior", "cardiology", stage=Stage.PGY2, capacity=1)
    senior = mentor(school, "Senior", "cardiology", capacity=1)
    enrol(program, [sara, rick], Enrollment.Role.MENTEE)
    enrol(program, [junior, senior], Enrollment.Role.MENTOR)
    run = run_now(coordinator, program)
    assert pairs(run) == {("Sara", "Junior"), ("Rick", "Dr. Senior")}
    return program, run


def test_a_swap_that_breaks_a_hard_rule_is_refused_with_the_rule(ladder, coordinator):
    program, run = ladder
    sara, rick = _proposal(run, "Sara"), _proposal(run, "Rick")

    response = api_for(coordinator).post(
        _url(program, run, "swap/"), {"a": sara.pk, "b": rick.pk}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["message"] == (
        "This swap breaks a rule: Rick with Junior: "
        "This mentor is not farther along the career path than you."
    )
    assert set(Proposal.objects.values_list("mentee__full_name", "mentor__full_name")) == {
        ("Sara", "Junior"), ("Rick", "Senior")
    }  # fmt: skip
    assert not PairRule.objects.exists()


def test_placing_a_pair_by_hand_checks_demand_places_and_rules(trio, coordinator):
    program, run, people = trio
    api = api_for(coordinator)
    url = _url(program, run, "assign/")
    api.post(_url(program, run, f"proposals/{_proposal(run, 'Ben').pk}/remove/"))

    taken = api.post(url, {"mentee": people["cleo"].pk, "mentor": people["ortho"].pk})
    full = api.post(url, {"mentee": people["ben"].pk, "mentor": people["cardio"].pk})
    excluded = api.post(url, {"mentee": people["ben"].pk, "mentor": people["ortho"].pk})
    stranger = api.post(url, {"mentee": people["ortho"].pk, "mentor": people["cardio"].pk})

    assert (taken.status_code, taken.json()["message"]) == (
        400,
        "This mentee already has a mentor.",
    )
    assert (full.status_code, full.json()["message"]) == (
        400, "This mentor has no place left in this run."
    )  # fmt: skip
    assert excluded.status_code == 400
    assert excluded.json()["message"] == (
        "This pair breaks a rule: Ben with Dr. Ortho: A program coordinator excluded this pairing."
    )
    assert stranger.json()["fields"] == {"mentee": ["Not a mentee of this program."]}

    api.post(_url(program, run, f"proposals/{_proposal(run, 'Anna').pk}/remove/"))
    placed = api.post(url, {"mentee": people["ben"].pk, "mentor": people["cardio"].pk})

    assert placed.status_code == 201, placed.json()
    proposal = Proposal.objects.get(pk=placed.json()["id"])
    assert (proposal.origin, proposal.locked, proposal.slot) == ("manual", True, "")
    assert proposal.score < 0.2 and proposal.reasons
    assert PairRule.objects.filter(mentee=people["ben"], mentor=people["cardio"],
                                   kind="lock").exists()  # fmt: skip


def test_a_rerun_keeps_locked_pairs_and_never_brings_back_removed_ones(trio, coordinator):
    program, run, people = trio
    client = client_for(coordinator)
    anna, ben = _proposal(run, "Anna"), _proposal(run, "Ben")
    base = f"/programs/{program.pk}/runs/{run.pk}/"
    assert client.post(base + f"proposals/{anna.pk}/lock/").status_code == 302
    assert client.post(base + f"proposals/{ben.pk}/remove/").status_code == 302

    response = client.post(base + "rerun/")

    assert response.status_code == 302
    assert response["Location"] == f"/programs/{program.pk}/matching/"
    second = MatchRun.objects.get(number=2)
    assert second.params["locks"] == [[people["anna"].pk, people["cardio"].pk, ""]]
    assert second.params["exclusions"] == [[people["ben"].pk, people["ortho"].pk]]
    assert runs.run_execute(run_id=second.pk) is True
    second.refresh_from_db()
    assert pairs(second) == {("Anna", "Dr. Cardio"), ("Cleo", "Dr. Cardio")}
    assert Proposal.objects.get(run=second, mentee=people["anna"]).locked is True
    assert second.summary["unmatched"] == {str(people["ben"].pk): "Every suitable mentor is full"}
    # The older run is no longer the one to review.
    stale = api_for(coordinator).post(_url(program, run, f"proposals/{anna.pk}/unlock/"))
    assert (stale.status_code, stale.json()["message"]) == (
        400, "Run 2 is newer: review that one."
    )  # fmt: skip


def test_the_review_page_lists_pairs_reasons_and_who_waits(
    trio, coordinator, django_assert_max_num_queries
):
    program, run, people = trio
    api_for(coordinator).post(_url(program, run, f"proposals/{_proposal(run, 'Ben').pk}/remove/"))
    anna = _proposal(run, "Anna")
    client = client_for(coordinator)

    with django_assert_max_num_queries(14):
        response = client.get(f"/programs/{program.pk}/runs/{run.pk}/?swap={anna.pk}")

    assert response.status_code == 200
    html = response.content.decode()
    assert "Anna" in html and "Dr. Cardio" in html and "100%" in html
    assert "Shares" in html or "Both in Cardiology" in html
    assert "Ben: Their proposed mentor was removed in review" in html
    assert f'<option value="{anna.pk}" selected>' in html  # the swap form, pair chosen
    assert f'action="/programs/{program.pk}/runs/{run.pk}/assign/"' in html
    assert f'<option value="{people["ortho"].pk}">Dr. Ortho (1 place left)</option>' in html
    assert "Re-run with these decisions" in html and "Publish…" in html
    assert "<script" not in html.split("</head>")[1]


def test_a_refused_swap_shows_its_message_on_the_page(ladder, coordinator):
    program, run = ladder
    client = client_for(coordinator)
    sara, rick = _proposal(run, "Sara"), _proposal(run, "Rick")

    response = client.post(
        f"/programs/{program.pk}/runs/{run.pk}/swap/", {"a": sara.pk, "b": rick.pk}, follow=True
    )

    assert "not farther along the career path" in response.content.decode()
    assert Proposal.objects.get(pk=sara.pk).mentor.full_name == "Junior"


# --- Who may see and change runs -------------------------------------------------------

API_CALLS = [
    ("get", "runs/"),
    ("post", "runs/"),
    ("get", "runs/{run}/"),
    ("get", "runs/{run}/proposals/"),
    ("post", "runs/{run}/proposals/{proposal}/lock/"),
    ("post", "runs/{run}/proposals/{proposal}/unlock/"),
    ("post", "runs/{run}/proposals/{proposal}/remove/"),
    ("post", "runs/{run}/swap/"),
    ("post", "runs/{run}/assign/"),
    ("post", "runs/{run}/publish/"),
    ("get", "runs/compare/?runs={run}&runs={run}"),
]
PAGES = [
    ("get", "matching/"),
    ("post", "matching/start/"),
    ("get", "matching/compare/?runs={run}&runs={run}"),
    ("get", "runs/{run}/"),
    ("get", "runs/{run}/progress/"),
    ("post", "runs/{run}/proposals/{proposal}/lock/"),
    ("post", "runs/{run}/proposals/{proposal}/remove/"),
    ("post", "runs/{run}/swap/"),
    ("post", "runs/{run}/assign/"),
    ("post", "runs/{run}/rerun/"),
    ("get", "runs/{run}/publish/"),
    ("post", "runs/{run}/publish/"),
]


@pytest.mark.parametrize("persona", ["other_coordinator", "student", "physician"])
def test_nobody_but_the_schools_coordinators_reaches_any_run(trio, persona, request):
    program, run, _ = trio
    user = request.getfixturevalue(persona)
    proposal = _proposal(run, "Ben")
    fill = {"run": run.pk, "proposal": proposal.pk}
    api = api_for(user)
    client = client_for(user)
    body = {"a": proposal.pk, "b": proposal.pk, "mentee": 1, "mentor": 1}

    for method, path in API_CALLS:
        response = getattr(api, method)(
            f"/api/v1/programs/{program.pk}/" + path.format(**fill), body
        )
        assert response.status_code == 404, (method, path, response.status_code)
    for method, path in PAGES:
        response = getattr(client, method)(f"/programs/{program.pk}/" + path.format(**fill))
        assert response.status_code == 404, (method, path, response.status_code)

    assert MatchRun.objects.count() == 1 and Proposal.objects.count() == 3
    assert not PairRule.objects.exists()
    assert MatchRun.objects.get().published_at is None


def test_a_coordinator_reaches_runs_only_through_their_own_program(
    trio, coordinator, other_school, other_coordinator
):
    program, run, _ = trio
    theirs = make_program(other_school, other_coordinator, name="Riverside mentoring")
    # The right run id under the wrong program is still not found.
    response = api_for(other_coordinator).get(f"/api/v1/programs/{theirs.pk}/runs/{run.pk}/")
    assert response.status_code == 404
    mine = api_for(coordinator).get(f"/api/v1/programs/{program.pk}/runs/{run.pk}/")
    assert mine.status_code == 200
