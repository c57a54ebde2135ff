"""Decisions carried into every run: pairs kept apart before any run, every kept and
forbidden pair listed on the Matching tab, and undone there. Only the coordinators of
the program's school see or change any of it."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from matching import runs
from matching.models import Enrollment, MatchRun, PairRule, Program, Proposal
from tests.conftest import api_for, client_for
from tests.matching.programs import enrol, make_program, mentee, mentor, pairs, run_now

pytestmark = pytest.mark.django_db


@pytest.fixture
def cohort(school, coordinator):
    """Anna (orthopaedics or cardiology), Ben (orthopaedics), Cleo (cardiology); Dr. Ortho
    with 1 place, Dr. Cardio with 2. Left alone, a run gives Ben the orthopaedist and
    Anna and Cleo the cardiologist. No run yet."""
    program = make_program(school, coordinator)
    people = {
        "anna": mentee(school, "Anna", "orthopaedic-surgery", "cardiology"),
        "ben": mentee(school, "Ben", "orthopaedic-surgery"),
        "cleo": mentee(school, "Cleo", "cardiology"),
        "ortho": mentor(school, "Ortho", "orthopaedic-surgery", capacity=1),
        "cardio": mentor(school, "Cardio", "cardiology", capacity=2),
    }
    enrol(program, [people["anna"], people["ben"], people["cleo"]], Enrollment.Role.MENTEE)
    enrol(program, [people["ortho"], people["cardio"]], Enrollment.Role.MENTOR)
    return program, people


def _api(program: Program, tail: str = "") -> str:
    return f"/api/v1/programs/{program.pk}/pair-rules/{tail}"


def _page(program: Program, tail: str = "") -> str:
    return f"/programs/{program.pk}/matching/{tail}"


def _rules(program: Program) -> set[tuple[str, str, str]]:
    return {
        (r.kind, r.mentee.full_name, r.mentor.full_name)
        for r in PairRule.objects.filter(program=program).select_related("mentee", "mentor")
    }


def _text(html: str) -> str:
    """The page's words, tags dropped and spaces collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _lock_ben(coordinator, program: Program, run: MatchRun) -> Proposal:
    ben = Proposal.objects.get(run=run, mentee__full_name="Ben")
    return runs.proposal_lock(
        user=coordinator, program_id=program.pk, run_id=run.pk, proposal_id=ben.pk
    )


# --- Keeping two people apart before running --------------------------------------------


def test_a_pair_kept_apart_before_the_first_run_is_never_proposed(
    cohort, coordinator, django_capture_on_commit_callbacks
):
    program, people = cohort
    api = api_for(coordinator)

    created = api.post(
        _api(program), {"mentee": people["ben"].pk, "mentor": people["ortho"].pk}, format="json"
    )

    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["kind"], body["mentee"]["display_name"], body["mentor"]["display_name"]) == (
        "exclude", "Ben", "Dr. Ortho"
    )  # fmt: skip
    assert body["created_by"] == coordinator.display_name
    rule = PairRule.objects.get(program=program)
    assert (rule.mentee, rule.mentor, rule.kind, rule.slot, rule.created_by) == (
        people["ben"], people["ortho"], "exclude", "", coordinator
    )  # fmt: skip

    with django_capture_on_commit_callbacks(execute=True):
        started = api.post(f"/api/v1/programs/{program.pk}/runs/", {}, format="json")

    assert started.status_code == 202
    run = MatchRun.objects.get(pk=started.json()["id"])
    assert run.status == MatchRun.Status.DONE, run.error
    assert run.params["exclusions"] == [[people["ben"].pk, people["ortho"].pk]]
    # Ben gets the other mentor; the orthopaedist's one place goes to Anna.
    assert pairs(run) == {("Anna", "Dr. Ortho"), ("Ben", "Dr. Cardio"), ("Cleo", "Dr. Cardio")}
    assert run.summary["unmatched"] == {}


def test_a_mentee_kept_apart_from_every_mentor_waits_with_the_reason(cohort, coordinator):
    program, people = cohort
    for name in ("ortho", "cardio"):
        runs.pair_rule_exclude(
            user=coordinator, program_id=program.pk,
            mentee_id=people["ben"].pk, mentor_id=people[name].pk,
        )  # fmt: skip

    run = run_now(coordinator, program)

    assert pairs(run) == {("Anna", "Dr. Ortho"), ("Cleo", "Dr. Cardio")}
    assert run.summary["unmatched"] == {str(people["ben"].pk): runs.UNMATCHED_RULES}
    review = api_for(coordinator).get(f"/api/v1/programs/{program.pk}/runs/{run.pk}/proposals/")
    assert [(w["mentee"]["display_name"], w["reason"]) for w in review.json()["unmatched"]] == [
        ("Ben", "No mentor fits the program's rules")
    ]


def test_the_never_pair_form_keeps_two_apart_and_says_so(cohort, coordinator):
    program, people = cohort

    response = client_for(coordinator).post(
        _page(program, "rules/"),
        {"mentee": people["cleo"].pk, "mentor": people["cardio"].pk},
        follow=True,
    )

    assert response.redirect_chain == [(_page(program) + "#decisions", 302)]
    text = _text(response.content.decode())
    assert "Never pair: Cleo with Dr. Cardio. Every later run honours it." in text
    assert "Never: Cleo with Dr. Cardio" in text
    assert _rules(program) == {("exclude", "Cleo", "Cardio")}


def test_keeping_apart_a_kept_pair_replaces_the_lock_and_takes_it_out_of_review(
    cohort, coordinator
):
    program, people = cohort
    run = run_now(coordinator, program)
    ben = _lock_ben(coordinator, program, run)
    assert _rules(program) == {("lock", "Ben", "Ortho")}

    runs.pair_rule_exclude(
        user=coordinator, program_id=program.pk,
        mentee_id=people["ben"].pk, mentor_id=people["ortho"].pk,
    )  # fmt: skip

    assert _rules(program) == {("exclude", "Ben", "Ortho")}
    assert PairRule.objects.get().slot == ""
    # The run under review could still be published: it must not hold a forbidden pair.
    assert not Proposal.objects.filter(pk=ben.pk).exists()
    assert pairs(run) == {("Anna", "Dr. Cardio"), ("Cleo", "Dr. Cardio")}
    review = runs.run_review(user=coordinator, program_id=program.pk, run_id=run.pk)
    assert [(w.mentee.full_name, w.reason) for w in review.unmatched] == [
        ("Ben", runs.REMOVED_IN_REVIEW)
    ]


# --- Undoing ----------------------------------------------------------------------------


def test_undoing_an_exclusion_lets_the_next_run_propose_the_pair(cohort, coordinator):
    program, people = cohort
    rule = runs.pair_rule_exclude(
        user=coordinator, program_id=program.pk,
        mentee_id=people["ben"].pk, mentor_id=people["ortho"].pk,
    )  # fmt: skip
    first = run_now(coordinator, program)
    assert ("Ben", "Dr. Ortho") not in pairs(first)

    response = client_for(coordinator).post(_page(program, f"rules/{rule.pk}/undo/"), follow=True)

    assert response.redirect_chain == [(_page(program) + "#decisions", 302)]
    assert "Undone: later runs may propose Ben with Dr. Ortho again." in _text(
        response.content.decode()
    )
    assert not PairRule.objects.exists()
    second = run_now(coordinator, program)
    assert second.params["exclusions"] == []
    assert pairs(second) == {("Anna", "Dr. Cardio"), ("Ben", "Dr. Ortho"), ("Cleo", "Dr. Cardio")}


def test_undoing_a_lock_unlocks_the_pair_in_the_run_under_review(cohort, coordinator):
    program, people = cohort
    run = run_now(coordinator, program)
    ben = _lock_ben(coordinator, program, run)
    api = api_for(coordinator)
    listed = api.get(_api(program)).json()
    assert [(r["kind"], r["mentee"]["id"], r["mentor"]["id"]) for r in listed] == [
        ("lock", people["ben"].pk, people["ortho"].pk)
    ]

    response = api.delete(_api(program, f"{listed[0]['id']}/"))

    assert response.status_code == 204
    assert not PairRule.objects.exists()
    ben.refresh_from_db()
    assert ben.locked is False
    assert api.get(_api(program)).json() == []
    # The next run decides the pair afresh.
    assert run_now(coordinator, program).params["locks"] == []


def test_undoing_a_lock_on_the_page_says_later_runs_decide(cohort, coordinator):
    program, _ = cohort
    run = run_now(coordinator, program)
    ben = _lock_ben(coordinator, program, run)
    rule = PairRule.objects.get()

    response = client_for(coordinator).post(_page(program, f"rules/{rule.pk}/undo/"), follow=True)

    assert "Undone: Ben with Dr. Ortho is no longer kept; later runs decide." in _text(
        response.content.decode()
    )
    ben.refresh_from_db()
    assert ben.locked is False and not PairRule.objects.exists()


# --- Refusals -----------------------------------------------------------------------------


def test_people_not_enrolled_in_their_role_cannot_be_kept_apart(cohort, coordinator, student):
    program, people = cohort
    api = api_for(coordinator)

    swapped = api.post(
        _api(program), {"mentee": people["ortho"].pk, "mentor": people["anna"].pk}, format="json"
    )
    stranger = api.post(
        _api(program), {"mentee": student.pk, "mentor": people["ortho"].pk}, format="json"
    )

    assert swapped.status_code == 400
    assert swapped.json() == {
        "message": "These two cannot be kept apart in this program.",
        "fields": {
            "mentee": ["Not a mentee of this program."],
            "mentor": ["Not a mentor of this program."],
        },
    }
    assert stranger.status_code == 400
    assert stranger.json()["fields"] == {"mentee": ["Not a mentee of this program."]}
    assert not PairRule.objects.exists()


def test_nobody_is_kept_apart_from_themselves(cohort, coordinator):
    program, people = cohort
    anna = people["anna"]
    # Anna is a senior student who could also mentor: enrolled both ways.
    enrol(program, [anna], Enrollment.Role.MENTOR)

    response = api_for(coordinator).post(
        _api(program), {"mentee": anna.pk, "mentor": anna.pk}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == {
        "message": "Someone cannot be their own mentor.",
        "fields": {"mentor": ["Choose someone other than the mentee."]},
    }
    assert not PairRule.objects.exists()


def test_a_refusal_is_shown_on_the_never_pair_form(cohort, coordinator):
    program, people = cohort
    enrol(program, [people["anna"]], Enrollment.Role.MENTOR)

    response = client_for(coordinator).post(
        _page(program, "rules/"), {"mentee": people["anna"].pk, "mentor": people["anna"].pk}
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert '<p class="error" role="alert">Choose someone other than the mentee.</p>' in html
    assert "Please correct the highlighted fields." in html
    # The choice is kept, so the coordinator only changes what was wrong.
    assert f'<option value="{people["anna"].pk}" selected>Anna</option>' in html
    assert not PairRule.objects.exists()


def test_decisions_are_final_once_the_matches_are_published(
    cohort, coordinator, django_capture_on_commit_callbacks
):
    program, people = cohort
    run = run_now(coordinator, program)
    kept = _lock_ben(coordinator, program, run)
    rule = PairRule.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        runs.run_publish(user=coordinator, program_id=program.pk, run_id=run.pk)
    api = api_for(coordinator)
    final = "Run 1 of this program is already published: its matches are final."

    added = api.post(
        _api(program), {"mentee": people["cleo"].pk, "mentor": people["ortho"].pk}, format="json"
    )
    undone = api.delete(_api(program, f"{rule.pk}/"))
    page = client_for(coordinator).get(_page(program))

    assert (added.status_code, added.json()["message"]) == (400, final)
    assert (undone.status_code, undone.json()["message"]) == (400, final)
    assert _rules(program) == {("lock", "Ben", "Ortho")}
    kept.refresh_from_db()
    assert kept.locked is True
    html = page.content.decode()
    assert f"{final} These decisions can no longer change." in _text(html)
    assert "Kept: Ben with Dr. Ortho" in _text(html)
    assert "Never pair these two" not in html and "/undo/" not in html


def test_a_closed_program_refuses_new_decisions(cohort, coordinator):
    program, people = cohort
    Program.objects.filter(pk=program.pk).update(status=Program.Status.CLOSED)

    response = api_for(coordinator).post(
        _api(program), {"mentee": people["ben"].pk, "mentor": people["ortho"].pk}, format="json"
    )

    assert (response.status_code, response.json()["message"]) == (400, "This program is closed.")
    assert not PairRule.objects.exists()


# --- The Matching tab -------------------------------------------------------------------


def test_the_matching_tab_lists_every_decision_with_undo_in_fixed_queries(cohort, coordinator):
    program, people = cohort
    run = run_now(coordinator, program)
    _lock_ben(coordinator, program, run)
    runs.pair_rule_exclude(
        user=coordinator, program_id=program.pk,
        mentee_id=people["cleo"].pk, mentor_id=people["ortho"].pk,
    )  # fmt: skip
    client = client_for(coordinator)

    with CaptureQueriesContext(connection) as few:
        response = client.get(_page(program))

    assert response.status_code == 200
    html = response.content.decode()
    text = _text(html)
    assert "Decisions carried into every run" in text
    assert "Kept: Ben with Dr. Ortho" in text and "Never: Cleo with Dr. Ortho" in text
    assert text.index("Kept: Ben") < text.index("Never: Cleo")
    for rule in PairRule.objects.all():
        assert f'action="/programs/{program.pk}/matching/rules/{rule.pk}/undo/"' in html
    assert html.count('name="csrfmiddlewaretoken"') >= 4  # start, two undos, never pair
    assert f'<option value="{people["anna"].pk}">Anna</option>' in html
    assert f'<option value="{people["cardio"].pk}">Dr. Cardio</option>' in html
    # Mentors are not offered as mentees, nor mentees as mentors.
    assert '<label for="never-mentee">Mentee</label>' in html
    mentee_select = html.split('id="never-mentee"')[1].split("</select>")[0]
    mentor_select = html.split('id="never-mentor"')[1].split("</select>")[0]
    assert "Dr. Ortho" not in mentee_select and "Anna" in mentee_select
    assert "Anna" not in mentor_select and "Dr. Ortho" in mentor_select
    assert "<script" not in html.split("</head>")[1] and "style=" not in html

    more = [mentee(program.institution, f"Extra {n}", "cardiology") for n in range(3)]
    enrol(program, more, Enrollment.Role.MENTEE)
    for person in more:
        runs.pair_rule_exclude(
            user=coordinator, program_id=program.pk,
            mentee_id=person.pk, mentor_id=people["cardio"].pk,
        )  # fmt: skip
    with CaptureQueriesContext(connection) as many:
        again = client.get(_page(program))

    assert "Never: Extra 2 with Dr. Cardio" in _text(again.content.decode())
    assert len(many) == len(few)


# --- Who may see and change the decisions -----------------------------------------------


@pytest.mark.parametrize("persona", ["other_coordinator", "student", "physician"])
def test_nobody_but_the_schools_coordinators_reaches_the_decisions(
    cohort, coordinator, persona, request
):
    program, people = cohort
    rule = runs.pair_rule_exclude(
        user=coordinator, program_id=program.pk,
        mentee_id=people["ben"].pk, mentor_id=people["ortho"].pk,
    )  # fmt: skip
    user = request.getfixturevalue(persona)
    api = api_for(user)
    client = client_for(user)
    body = {"mentee": people["cleo"].pk, "mentor": people["cardio"].pk}

    responses = {
        "api list": api.get(_api(program)),
        "api exclude": api.post(_api(program), body, format="json"),
        "api undo": api.delete(_api(program, f"{rule.pk}/")),
        "page": client.get(_page(program)),
        "page exclude": client.post(_page(program, "rules/"), body),
        "page undo": client.post(_page(program, f"rules/{rule.pk}/undo/")),
    }

    assert {name: r.status_code for name, r in responses.items()} == dict.fromkeys(responses, 404)
    assert _rules(program) == {("exclude", "Ben", "Ortho")}


def test_a_rule_is_reached_only_through_its_own_program(
    cohort, coordinator, other_school, other_coordinator
):
    program, people = cohort
    rule = runs.pair_rule_exclude(
        user=coordinator, program_id=program.pk,
        mentee_id=people["ben"].pk, mentor_id=people["ortho"].pk,
    )  # fmt: skip
    theirs = make_program(other_school, other_coordinator, name="Riverside mentoring")
    mine_too = make_program(program.institution, coordinator, name="MS3 mentoring")

    # The right rule id under the wrong program is still not found.
    foreign = api_for(other_coordinator).delete(_api(theirs, f"{rule.pk}/"))
    sibling = api_for(coordinator).delete(_api(mine_too, f"{rule.pk}/"))

    assert (foreign.status_code, sibling.status_code) == (404, 404)
    assert PairRule.objects.filter(pk=rule.pk, program=program).exists()
