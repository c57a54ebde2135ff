"""The equity view: aggregates by self-reported gender and ethnicity, small groups hidden,
every look on record.

Demographics of the dashboard cohort's 12 mentees (see test_program_dashboard):

=========  ===========  ================  =======================================
mentee     gender       ethnicities       program pair (score, days to match)
=========  ===========  ================  =======================================
1          woman        asian, white      (1.0, 40)
2          woman        asian             (0.9, 40)
3          woman        asian             (0.72, 20: enrolled three weeks later)
4          woman        black             (0.78, 86)
5          man          asian             (0.7, 62)
6          man          black             (0.67, 76)
7          man          white             (0.3, 40)
8          (no answers)                   (0.05, 40)
9          woman        asian             none
10         woman        (none given)      none
11         (blank)      black             none
12         (no answers)                   none
=========  ===========  ================  =======================================

So: women 6 (shown), men 3 and "Not stated" 3 (hidden); Asian 5 (shown), Black 3,
White 2, "Not stated" 3 (hidden).
"""

from __future__ import annotations

import datetime as dt
import re

import pytest

from accounts.choices import Role
from accounts.models import AuditEvent, Demographics
from matching import dashboard
from matching.dashboard import MIN_GROUP, GroupFigures, suppress
from tests.conftest import api_for, client_for
from tests.factories import DemographicsFactory
from tests.matching.test_program_dashboard import (
    Cohort,
    build_cohort,
    enrol,
    make_program,
    pair,
    person,
    utc,
)

pytestmark = pytest.mark.django_db

ANSWERS = [
    ("woman", ["asian", "white"]),
    ("woman", ["asian"]),
    ("woman", ["asian"]),
    ("woman", ["black"]),
    ("man", ["asian"]),
    ("man", ["black"]),
    ("man", ["white"]),
    None,
    ("woman", ["asian"]),
    ("woman", []),
    ("", ["black"]),
    None,
]


@pytest.fixture
def cohort(school) -> Cohort:
    cohort = build_cohort(school)
    for mentee, answers in zip(cohort.mentees, ANSWERS, strict=True):
        if answers is not None:
            DemographicsFactory(user=mentee, gender=answers[0], ethnicities=answers[1])
    return cohort


def row(groups: tuple[GroupFigures, ...], key: str) -> GroupFigures:
    return next(g for g in groups if g.key == key)


def figures(group: GroupFigures) -> tuple:
    return (
        group.people,
        group.matched,
        group.coverage_percent,
        group.mean_score_percent,
        group.median_days_to_match,
    )


def test_groups_of_five_or_more_show_their_figures(cohort, coordinator):
    equity = dashboard.program_equity(user=coordinator, program_id=cohort.program.pk)
    assert figures(equity.overall) == (12, 8, 66.7, 64.0, 40.0)
    assert figures(row(equity.by_gender, "woman")) == (6, 4, 66.7, 85.0, 40.0)
    # Mentee 1 counts as Asian and as White.
    assert figures(row(equity.by_ethnicity, "asian")) == (5, 4, 80.0, 83.0, 40.0)


def test_groups_under_five_show_nothing_but_the_fact(cohort, coordinator):
    equity = dashboard.program_equity(user=coordinator, program_id=cohort.program.pk)
    hidden_gender = {g.key for g in equity.by_gender if g.suppressed}
    assert hidden_gender == {"man", "non_binary", "self_described", "not_stated"}
    hidden_ethnicity = {g.key for g in equity.by_ethnicity if g.suppressed}
    assert hidden_ethnicity == {
        "american_indian",
        "black",
        "hispanic",
        "middle_eastern",
        "pacific_islander",
        "white",
        "self_described",
        "not_stated",
    }
    for group in equity.by_gender + equity.by_ethnicity:
        if group.suppressed:
            assert figures(group) == (None, None, None, None, None)


def test_people_who_did_not_answer_are_not_stated(cohort, coordinator):
    """Unhide every group to check who lands where (the page never does this)."""
    equity = dashboard.program_equity(user=coordinator, program_id=cohort.program.pk)
    assert [g.label for g in equity.by_gender] == [
        "Woman",
        "Man",
        "Non-binary",
        "Self-described",
        "Not stated",
    ]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(dashboard, "MIN_GROUP", 0)
        raw = dashboard.program_equity(user=coordinator, program_id=cohort.program.pk)
    assert {g.key: g.people for g in raw.by_gender} == {
        "woman": 6,
        "man": 3,
        "non_binary": 0,
        "self_described": 0,
        "not_stated": 3,  # two never answered, one left gender blank
    }
    people = {g.key: g.people for g in raw.by_ethnicity if g.people}
    assert people == {"asian": 5, "black": 3, "white": 2, "not_stated": 3}


def test_a_group_of_four_is_hidden_a_group_of_five_shown_and_one_more_hidden_beside_it(
    school, coordinator
):
    """Women 6, men 5, non-binary 5, self-described 5, not stated 4: only "not stated" is
    small, so its size would be the total minus the others: the next-smallest (men, the
    first of the groups of 5) is hidden too."""
    program = make_program(school, "Complementary")
    mentor = person(school, Role.PHYSICIAN)
    genders = ["woman"] * 6 + ["man"] * 5 + ["non_binary"] * 5 + ["self_described"] * 5
    genders += [""] * 4
    for n, gender in enumerate(genders):
        mentee = person(school, Role.STUDENT)
        enrol(program, mentee, "mentee", utc(12, 1, year=2026))
        if gender:
            DemographicsFactory(user=mentee, gender=gender, ethnicities=["white"])
        if n % 2 == 0:
            pair(program, mentee, mentor, utc(1, 10))
    equity = dashboard.program_equity(user=coordinator, program_id=program.pk)
    shown = {g.key: g.people for g in equity.by_gender if not g.suppressed}
    assert shown == {"woman": 6, "non_binary": 5, "self_described": 5}
    assert row(equity.by_gender, "not_stated").suppressed  # 4 people
    assert row(equity.by_gender, "man").suppressed  # 5 people, hidden beside it
    assert equity.overall.people == 25
    # Ethnicity: White 21 shown; "Not stated" 4 and every empty group are hidden, which is
    # already more than one group, so nothing else is.
    assert [g.key for g in equity.by_ethnicity if not g.suppressed] == ["white"]


def _group(key: str, people: int) -> GroupFigures:
    return GroupFigures(key, key, False, people, people, 100.0, 50.0, 3.0)


@pytest.mark.parametrize(
    ("sizes", "hidden"),
    [
        ({"a": 9, "b": 7, "c": 5}, set()),
        ({"a": 9, "b": 7, "c": 4}, {"c", "b"}),  # complementary: the next-smallest too
        ({"a": 9, "b": 3, "c": 4}, {"b", "c"}),  # two hidden: nothing more needed
        ({"a": 9, "b": 6, "c": 6, "d": 0}, {"d", "b"}),  # ties: the first listed
        ({"a": 4}, {"a"}),  # nothing left to hide beside it
    ],
)
def test_suppression_rule(sizes, hidden):
    assert MIN_GROUP == 5
    result = suppress(_group(key, n) for key, n in sizes.items())
    assert {g.key for g in result if g.suppressed} == hidden
    assert [g.key for g in result] == list(sizes)  # order kept


def test_the_page_shows_less_than_five_and_explains_the_data(cohort, coordinator):
    response = client_for(coordinator).get(f"/programs/{cohort.program.pk}/equity/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "self-reported and optional" in html
    assert "counts in each of them" in html
    assert html.count("&lt;5</td>") == 4 + 8  # hidden gender and ethnicity rows
    woman = re.search(r"<th scope=\"row\">Woman</th>(.*?)</tr>", html, flags=re.S)
    assert woman is not None
    cells = re.findall(r"<td>(.*?)</td>", woman.group(1))
    assert cells == ["6", "4", "66.7%", "85%", "40"]
    men = re.search(r"<th scope=\"row\">Man</th>(.*?)</tr>", html, flags=re.S)
    assert men is not None and "3" not in men.group(1)


def test_the_api_returns_the_same_groups(cohort, coordinator):
    response = api_for(coordinator).get(f"/api/v1/programs/{cohort.program.pk}/equity/")
    assert response.status_code == 200
    body = response.json()
    assert body["minimum_group_size"] == 5
    assert body["overall"]["people"] == 12 and body["overall"]["coverage_percent"] == 66.7
    by_key = {g["key"]: g for g in body["by_gender"]}
    assert by_key["woman"] == {
        "key": "woman",
        "group": "Woman",
        "suppressed": False,
        "people": 6,
        "matched": 4,
        "coverage_percent": 66.7,
        "mean_score_percent": 85.0,
        "median_days_to_match": 40.0,
    }
    assert by_key["man"]["suppressed"] is True
    assert {k for k, v in by_key["man"].items() if v is not None} == {
        "key",
        "group",
        "suppressed",
    }


def test_each_view_is_recorded_in_the_audit_log(cohort, coordinator, school):
    client_for(coordinator).get(f"/programs/{cohort.program.pk}/equity/")
    api_for(coordinator).get(f"/api/v1/programs/{cohort.program.pk}/equity/")
    client_for(coordinator).get(f"/programs/{cohort.program.pk}/equity/")
    events = AuditEvent.objects.filter(action="program.equity_view").order_by("pk")
    assert [(e.actor, e.object_type, e.object_id, e.institution, e.detail) for e in events] == [
        (coordinator, "matching.program", str(cohort.program.pk), school, {"channel": channel})
        for channel in ("html", "api", "html")
    ]


def test_the_dashboard_does_not_write_to_the_audit_log(cohort, coordinator):
    client_for(coordinator).get(f"/programs/{cohort.program.pk}/dashboard/")
    assert not AuditEvent.objects.filter(action="program.equity_view").exists()


def test_another_schools_coordinator_gets_404_and_leaves_no_record(cohort, other_coordinator):
    page = client_for(other_coordinator).get(f"/programs/{cohort.program.pk}/equity/")
    api = api_for(other_coordinator).get(f"/api/v1/programs/{cohort.program.pk}/equity/")
    assert page.status_code == api.status_code == 404
    assert not AuditEvent.objects.exclude(action__startswith="auth.").exists()


def test_participants_and_other_people_get_404(cohort, student, physician):
    for someone in (student, physician, cohort.mentees[0], cohort.mentors[0]):
        page = client_for(someone).get(f"/programs/{cohort.program.pk}/equity/")
        api = api_for(someone).get(f"/api/v1/programs/{cohort.program.pk}/equity/")
        assert page.status_code == api.status_code == 404
    assert not AuditEvent.objects.exclude(action__startswith="auth.").exists()


def test_an_empty_program_hides_every_group_without_errors(school, coordinator):
    program = make_program(school, "Empty program")
    page = client_for(coordinator).get(f"/programs/{program.pk}/equity/")
    api = api_for(coordinator).get(f"/api/v1/programs/{program.pk}/equity/")
    assert page.status_code == api.status_code == 200
    body = api.json()
    assert body["overall"] == {
        "key": "all",
        "group": "All mentees",
        "suppressed": False,
        "people": 0,
        "matched": 0,
        "coverage_percent": None,
        "mean_score_percent": None,
        "median_days_to_match": None,
    }
    assert all(g["suppressed"] for g in body["by_gender"] + body["by_ethnicity"])


def test_the_page_never_lists_a_person(cohort, coordinator):
    html = client_for(coordinator).get(f"/programs/{cohort.program.pk}/equity/").content.decode()
    for someone in cohort.mentees + cohort.mentors:
        assert someone.full_name not in html
        assert someone.email not in html
    assert Demographics.objects.count() == 10  # the fixture's answers, untouched


def test_time_to_match_is_measured_from_enrolment(cohort, coordinator):
    """Mentee 3 enrolled on Dec 21 and was paired on Jan 10: 20 days, the shortest."""
    assert cohort.pairs[2].mentee == cohort.mentees[2]
    started = dt.datetime(2027, 1, 10, 15, tzinfo=dt.UTC)
    assert cohort.program.enrollments.get(user=cohort.mentees[2]).joined_at == started - (
        dt.timedelta(days=20)
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(dashboard, "MIN_GROUP", 0)
        raw = dashboard.program_equity(user=coordinator, program_id=cohort.program.pk)
    # Black: mentee 4 (86 days) and 6 (76 days) matched, 11 not.
    assert figures(row(raw.by_ethnicity, "black")) == (3, 2, 66.7, 72.5, 81.0)
