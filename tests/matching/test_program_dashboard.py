"""A program's dashboard: every figure checked against a hand-made cohort.

The cohort (built by ``build_cohort``, also used by the equity tests), seen on
Thursday 15 April 2027 at noon UTC, in a school on Chicago time:

- 12 mentees and 4 mentors enrolled; 8 mentees have a program mentorship (66.7%).
  Mentee 9 also has a mentorship outside the program, which must not count.
- Mentor A carries mentees 1-5 (5 live), B mentee 6, C mentee 7, D only mentee 8,
  whose mentorship ended: loads 5, 1, 1, 0, median 1, and only A is flagged.
- Mentorships: 1 monthly, meeting (last check-in Apr 10); 2 monthly, last check-in
  Jan 25 (stalled); 3 no agreement, so the program's monthly cadence, never met since
  Jan 10 (stalled); 4 weekly, last check-in Apr 9; 5 paused; 6 quarterly since Feb 15,
  not met yet but within 91 + 14 days; 7 every two weeks, last Mar 30; 8 ended Feb 20.
- Mentee 4's check-in on 1 March 03:00 UTC is still 28 February in Chicago.
"""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

import pytest

from accounts.choices import Role
from accounts.models import Institution, User
from matching import dashboard
from matching.dashboard_views import dashboard_charts
from matching.models import Enrollment, MatchRun, Program, Proposal
from mentorship.models import Agreement, CheckIn, Mentorship, Pulse
from tests.conftest import api_for, client_for
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

UTC = dt.UTC
NOW = dt.datetime(2027, 4, 15, 12, 0, tzinfo=UTC)
SVG = "{http://www.w3.org/2000/svg}"


def parse(markup: str) -> ET.Element:
    return ET.fromstring(markup)  # noqa: S314 (markup this code base just rendered)


def person(school: Institution, role: str, full_name: str = "") -> User:
    """A user of the school (factory_boy's calls are untyped: this one returns a User)."""
    extra = {"full_name": full_name} if full_name else {}
    user = UserFactory(role=role, profile={"institution": school}, **extra)
    assert isinstance(user, User)
    return user


def utc(month: int, day: int, *, hour: int = 15, year: int = 2027) -> dt.datetime:
    return dt.datetime(year, month, day, hour, 0, tzinfo=UTC)


@dataclass
class Cohort:
    program: Program
    mentees: list[User]
    mentors: list[User]
    pairs: list[Mentorship] = field(default_factory=list)


def make_program(school: Institution, name: str = "MS2 faculty mentoring 2027") -> Program:
    return Program.objects.create(
        institution=school,
        name=name,
        starts_on=dt.date(2027, 1, 1),
        ends_on=dt.date(2027, 12, 31),
        status=Program.Status.PUBLISHED,
    )


def enrol(program: Program, user: User, role: str, joined_at: dt.datetime) -> Enrollment:
    enrollment = Enrollment.objects.create(program=program, user=user, role=role)
    Enrollment.objects.filter(pk=enrollment.pk).update(joined_at=joined_at)
    return enrollment


def pair(
    program: Program | None,
    mentee: User,
    mentor: User,
    started_at: dt.datetime,
    *,
    status: str = Mentorship.Status.ACTIVE,
    ended_at: dt.datetime | None = None,
    cadence: str | None = "monthly",
) -> Mentorship:
    mentorship = Mentorship.objects.create(
        mentee=mentee,
        mentor=mentor,
        program=program,
        source=Mentorship.Source.PROGRAM if program else Mentorship.Source.REQUEST,
        status=status,
        ended_at=ended_at,
    )
    Mentorship.objects.filter(pk=mentorship.pk).update(started_at=started_at)
    if cadence is not None:
        Agreement.objects.create(
            mentorship=mentorship, cadence=cadence, review_date=dt.date(2027, 6, 1)
        )
    return mentorship


def checkin(
    mentorship: Mentorship, at: dt.datetime, status: str = CheckIn.Status.COMPLETED
) -> CheckIn:
    return CheckIn.objects.create(
        mentorship=mentorship,
        scheduled_at=at,
        status=status,
        completed_at=at + dt.timedelta(hours=1) if status == CheckIn.Status.COMPLETED else None,
    )


SCORES = [1.0, 0.9, 0.72, 0.78, 0.7, 0.67, 0.3, 0.05]  # mentees 1-8 in the published run


def build_cohort(school: Institution) -> Cohort:
    program = make_program(school)
    mentees = [person(school, Role.STUDENT, f"Mentee {n}") for n in range(1, 13)]
    mentors = [person(school, Role.PHYSICIAN, f"Mentor {letter}") for letter in "ABCD"]
    for n, mentee in enumerate(mentees, start=1):
        enrol(
            program, mentee, "mentee", utc(12, 21, year=2026) if n == 3 else utc(12, 1, year=2026)
        )
    for mentor in mentors:
        enrol(program, mentor, "mentor", utc(11, 20, year=2026))
    m, a, b, c, d = mentees, *mentors
    cohort = Cohort(program, mentees, mentors)
    jan10 = utc(1, 10)
    p1 = pair(program, m[0], a, jan10)
    for day in (utc(1, 20), utc(2, 18), utc(3, 25), utc(4, 10)):
        checkin(p1, day)
    p2 = pair(program, m[1], a, jan10)
    checkin(p2, utc(1, 25))
    p3 = pair(program, m[2], a, jan10, cadence=None)
    p4 = pair(program, m[3], a, utc(2, 25), cadence="weekly")
    checkin(p4, dt.datetime(2027, 3, 1, 3, 0, tzinfo=UTC))  # Feb 28, 9 pm in Chicago
    checkin(p4, utc(4, 9))
    p5 = pair(program, m[4], a, utc(2, 1), status=Mentorship.Status.PAUSED)
    checkin(p5, utc(2, 10))
    p6 = pair(program, m[5], b, utc(2, 15), cadence="quarterly")
    checkin(p6, utc(4, 20), status=CheckIn.Status.SCHEDULED)  # booked, not held
    p7 = pair(program, m[6], c, jan10, cadence="biweekly")
    checkin(p7, utc(1, 15))
    checkin(p7, utc(3, 30))
    p8 = pair(program, m[7], d, jan10, status=Mentorship.Status.ENDED, ended_at=utc(2, 20))
    first_of_p8 = checkin(p8, utc(1, 12))
    checkin(p8, utc(2, 5), status=CheckIn.Status.CANCELLED)
    cohort.pairs = [p1, p2, p3, p4, p5, p6, p7, p8]

    # Pulses: 3 yes, 1 partly, 2 no from program check-ins.
    p1_jan, p1_feb = p1.checkins.order_by("scheduled_at")[:2]
    Pulse.objects.create(checkin=p1_jan, person=m[0], answer="yes")
    Pulse.objects.create(checkin=p1_jan, person=a, answer="yes")
    Pulse.objects.create(checkin=p1_feb, person=m[0], answer="yes")
    p2_jan = p2.checkins.get()
    Pulse.objects.create(checkin=p2_jan, person=m[1], answer="no")
    Pulse.objects.create(checkin=p2_jan, person=a, answer="partly")
    Pulse.objects.create(checkin=first_of_p8, person=m[7], answer="no")

    # Outside the program: mentee 9 and mentor B meet through a request. Counts nowhere.
    outside = pair(None, m[8], b, jan10)
    Pulse.objects.create(checkin=checkin(outside, utc(2, 2)), person=m[8], answer="no")

    # Runs: 1 failed, 2 published (the pairs above), 3 finished later but not published.
    MatchRun.objects.create(program=program, number=1, status="failed", objective="quality")
    published = MatchRun.objects.create(
        program=program, number=2, status="done", objective="quality", published_at=utc(1, 9)
    )
    for mentorship, score in zip(cohort.pairs, SCORES, strict=True):
        Proposal.objects.create(
            run=published,
            mentee=mentorship.mentee,
            mentor=mentorship.mentor,
            score=score,
            mentorship=mentorship,
        )
    later = MatchRun.objects.create(program=program, number=3, status="done", objective="quality")
    Proposal.objects.create(run=later, mentee=m[8], mentor=b, score=0.55)
    return cohort


@pytest.fixture
def cohort(school: Institution) -> Cohort:
    return build_cohort(school)


@pytest.fixture
def figures(cohort: Cohort, coordinator: User) -> dashboard.ProgramDashboard:
    return dashboard.program_dashboard(user=coordinator, program_id=cohort.program.pk, now=NOW)


def test_participants_and_match_rate_count_only_program_mentorships(figures):
    assert (figures.mentees, figures.mentors, figures.matched_mentees) == (12, 4, 8)
    assert figures.match_rate == 66.7


def test_scores_come_from_the_published_run_in_ten_point_bins(figures):
    assert figures.score_run is not None
    assert (figures.score_run.number, figures.score_run.published) == (2, True)
    assert [(b.label, b.count) for b in figures.score_bins] == [
        ("0–10%", 1),
        ("10–20%", 0),
        ("20–30%", 0),
        ("30–40%", 1),
        ("40–50%", 0),
        ("50–60%", 0),
        ("60–70%", 1),
        ("70–80%", 3),  # 0.7 exactly falls in the upper band
        ("80–90%", 0),
        ("90–100%", 2),  # 1.0 is in the last band
    ]


def test_without_a_published_run_the_latest_finished_run_is_used(cohort, coordinator):
    MatchRun.objects.filter(program=cohort.program).update(published_at=None)
    figures = dashboard.program_dashboard(user=coordinator, program_id=cohort.program.pk, now=NOW)
    assert figures.score_run is not None
    assert (figures.score_run.number, figures.score_run.published) == (3, False)
    assert {b.label: b.count for b in figures.score_bins if b.count} == {"50–60%": 1}


def test_each_mentorship_is_active_stalled_paused_or_ended(figures):
    statuses = figures.statuses
    assert (statuses.active, statuses.stalled, statuses.paused, statuses.ended) == (4, 2, 1, 1)
    assert statuses.total == 8


def test_a_mentorship_stalls_after_its_cadence_plus_the_reminder_grace(cohort, coordinator):
    """Mentorship 7 meets every two weeks: 14 + 5 days after Mar 30 is Apr 18 at 15:00."""

    def stalled_at(moment: dt.datetime) -> int:
        return dashboard.program_dashboard(
            user=coordinator, program_id=cohort.program.pk, now=moment
        ).statuses.stalled

    assert stalled_at(utc(4, 18, hour=14)) == 2
    assert stalled_at(utc(4, 18, hour=16)) == 3  # 7 as well (1 and 4 stall later)


def test_adherence_is_the_share_of_live_mentorships_that_met_each_month(figures):
    assert [(m.month, m.live, m.met, m.percent) for m in figures.adherence] == [
        (dt.date(2027, 1, 1), 5, 4, 80.0),
        (dt.date(2027, 2, 1), 8, 3, 37.5),  # mentee 4's Chicago-time Feb 28 counts here
        (dt.date(2027, 3, 1), 7, 2, 28.6),  # mentorship 8 ended in February
        (dt.date(2027, 4, 1), 7, 2, 28.6),
    ]


def test_pulses_are_counted_with_the_share_of_no(figures):
    pulses = figures.pulses
    assert (pulses.yes, pulses.partly, pulses.no, pulses.total) == (3, 1, 2, 6)
    assert pulses.negative_percent == 33.3


def test_mentor_load_flags_the_mentor_far_above_the_median(figures):
    load = figures.load
    assert [(m.name, m.mentorships) for m in load.mentors] == [
        ("Dr. Mentor A", 5),
        ("Dr. Mentor B", 1),
        ("Dr. Mentor C", 1),
        ("Dr. Mentor D", 0),  # their only mentorship ended
    ]
    assert load.median == 1.0
    assert [m.name for m in load.flagged] == ["Dr. Mentor A"]
    assert [(b.mentorships, b.mentors) for b in load.distribution] == [
        (0, 1),
        (1, 2),
        (2, 0),
        (3, 0),
        (4, 0),
        (5, 1),
    ]


@pytest.mark.parametrize(
    ("loads", "flagged"),
    [
        ([5, 1, 1, 0], [5]),
        ([3, 1, 1, 1], [3]),  # just past both limits
        ([1, 0, 0], []),  # more than twice a median of 0, but not 2 more
        ([4, 2, 2, 2], []),  # 2 more than the median, but not more than twice it
        ([5, 2, 2, 2], [5]),
        ([2, 0, 0], [2]),  # a median of 0: anyone with 2 or more
        ([], []),
    ],
)
def test_the_load_flag_needs_both_twice_the_median_and_two_more(loads, flagged):
    mentors = [dashboard.MentorLoad(i, f"M{i}", n) for i, n in enumerate(loads)]
    summary = dashboard.summarise_load(mentors)
    assert [m.mentorships for m in summary.flagged] == flagged


def test_the_charts_and_their_tables_show_the_same_numbers(figures):
    charts = dashboard_charts(figures)
    scores = charts["scores"]
    svg = parse(scores.svg)
    heights = [float(r.get("height", "0")) for r in svg.iter(f"{SVG}rect")]
    assert [r.get("data-value") for r in svg.iter(f"{SVG}rect")] == [
        "1", "0", "0", "1", "0", "0", "1", "3", "0", "2"
    ]  # fmt: skip
    assert heights[7] == pytest.approx(3 * heights[0]) and heights[9] == pytest.approx(
        2 * heights[0]
    )
    assert scores.rows[7] == ("70–80%", "3") and scores.rows[9] == ("90–100%", "2")
    adherence = charts["adherence"]
    assert adherence.rows == (
        ("Jan 2027", "80%"),
        ("Feb 2027", "37.5%"),
        ("Mar 2027", "28.6%"),
        ("Apr 2027", "28.6%"),
    )
    assert charts["load"].rows == (("0", "1"), ("1", "2"), ("2", "0"), ("3", "0"), ("4", "0"),
                                   ("5", "1"))  # fmt: skip


def test_the_page_shows_the_figures_to_the_schools_coordinator(cohort, coordinator, at):
    with at(NOW):
        response = client_for(coordinator).get(f"/programs/{cohort.program.pk}/dashboard/")
    assert response.status_code == 200
    html = response.content.decode()
    assert response.context["figures"].statuses.stalled == 2
    assert "<dd>66.7%</dd>" in html and "<dd>33.3%</dd>" in html
    assert html.count('role="img"') == 3 and html.count("<details>") == 3
    assert "Dr. Mentor A" in html and "Dr. Mentor B" not in html  # only the flagged one
    assert "style=" not in html.split("<main", 1)[1]  # the CSP forbids inline styles
    assert "<script" not in html.split("<main", 1)[1]
    for chart in re.findall(r"<svg.*?</svg>", html, flags=re.S):
        parse(chart)


def test_the_api_returns_the_same_figures(cohort, coordinator, at):
    with at(NOW):
        response = api_for(coordinator).get(f"/api/v1/programs/{cohort.program.pk}/dashboard/")
    assert response.status_code == 200
    body = response.json()
    assert body["program"] == {"id": cohort.program.pk, "name": cohort.program.name}
    assert body["participants"] == {
        "mentees": 12,
        "mentors": 4,
        "matched_mentees": 8,
        "match_rate_percent": 66.7,
    }
    assert body["scores"]["run"]["number"] == 2
    assert [b["pairs"] for b in body["scores"]["bins"]] == [1, 0, 0, 1, 0, 0, 1, 3, 0, 2]
    assert body["mentorships"] == {"active": 4, "stalled": 2, "paused": 1, "ended": 1, "total": 8}
    assert [(m["month"], m["live"], m["met"], m["percent"]) for m in body["adherence"]] == [
        ("2027-01-01", 5, 4, 80.0),
        ("2027-02-01", 8, 3, 37.5),
        ("2027-03-01", 7, 2, 28.6),
        ("2027-04-01", 7, 2, 28.6),
    ]
    assert body["pulses"] == {"yes": 3, "partly": 1, "no": 2, "total": 6, "negative_percent": 33.3}
    assert body["mentor_load"]["median"] == 1.0
    assert body["mentor_load"]["flagged"] == [
        {"person": cohort.mentors[0].pk, "name": "Dr. Mentor A", "live_mentorships": 5}
    ]


def test_no_individual_gender_or_ethnicity_appears_on_the_dashboard(cohort, coordinator, at):
    from accounts.choices import Ethnicity, Gender
    from tests.factories import DemographicsFactory

    for n, mentee in enumerate(cohort.mentees + cohort.mentors):
        DemographicsFactory(
            user=mentee,
            gender=Gender.values[n % 4],
            ethnicities=[Ethnicity.values[n % 8]],
        )
    with at(NOW):
        html = client_for(coordinator).get(f"/programs/{cohort.program.pk}/dashboard/")
        body = api_for(coordinator).get(f"/api/v1/programs/{cohort.program.pk}/dashboard/")
    text = html.content.decode() + body.content.decode()
    for value, label in [*Gender.choices, *Ethnicity.choices]:
        assert not re.search(rf"\b{re.escape(label)}\b", text), label
        assert not re.search(rf"\b{re.escape(value)}\b", text), value


@pytest.mark.parametrize("size", [3, 30])
def test_the_page_and_api_use_a_fixed_number_of_queries(
    school, coordinator, size, at, django_assert_max_num_queries
):
    program = make_program(school)
    mentors = [person(school, Role.PHYSICIAN) for _ in range(3)]
    for mentor in mentors:
        enrol(program, mentor, "mentor", utc(12, 1, year=2026))
    run = MatchRun.objects.create(
        program=program, number=1, status="done", objective="quality", published_at=utc(1, 2)
    )
    for n in range(size):
        mentee = person(school, Role.STUDENT)
        enrol(program, mentee, "mentee", utc(12, 1, year=2026))
        mentorship = pair(program, mentee, mentors[n % 3], utc(1, 5), cadence="monthly")
        Proposal.objects.create(
            run=run, mentee=mentee, mentor=mentors[n % 3], score=n / size, mentorship=mentorship
        )
        done = checkin(mentorship, utc(2, 1 + n % 20))
        Pulse.objects.create(checkin=done, person=mentee, answer="yes")
    with at(NOW):
        browser, api_client = client_for(coordinator), api_for(coordinator)
        with django_assert_max_num_queries(13):
            page = browser.get(f"/programs/{program.pk}/dashboard/")
        with django_assert_max_num_queries(9):
            api = api_client.get(f"/api/v1/programs/{program.pk}/dashboard/")
    assert page.status_code == api.status_code == 200
    assert page.context["figures"].matched_mentees == size
    assert api.json()["pulses"]["yes"] == size


def test_an_empty_program_shows_dashes_not_errors(school, coordinator, at):
    program = make_program(school, "Empty program")
    with at(NOW):
        page = client_for(coordinator).get(f"/programs/{program.pk}/dashboard/")
        api = api_for(coordinator).get(f"/api/v1/programs/{program.pk}/dashboard/")
    assert page.status_code == api.status_code == 200
    body = api.json()
    assert body["participants"]["match_rate_percent"] is None
    assert body["scores"]["run"] is None
    assert body["pulses"]["negative_percent"] is None
    assert body["mentor_load"] == {"median": None, "flagged": [], "distribution": []}
    assert [m["percent"] for m in body["adherence"]] == [None, None, None, None]
    assert "No match run has finished yet" in page.content.decode()


def test_a_program_that_has_not_started_has_no_months_yet(school, coordinator):
    program = make_program(school, "Next year")
    Program.objects.filter(pk=program.pk).update(
        starts_on=dt.date(2028, 1, 1), ends_on=dt.date(2028, 6, 30)
    )
    figures = dashboard.program_dashboard(user=coordinator, program_id=program.pk, now=NOW)
    assert figures.adherence == ()
    assert dashboard_charts(figures)["adherence"].rows == ()


def test_months_stop_at_the_end_of_the_program(school, coordinator):
    program = make_program(school, "Spring only")
    Program.objects.filter(pk=program.pk).update(ends_on=dt.date(2027, 2, 10))
    figures = dashboard.program_dashboard(user=coordinator, program_id=program.pk, now=NOW)
    assert [m.month for m in figures.adherence] == [dt.date(2027, 1, 1), dt.date(2027, 2, 1)]


def test_another_schools_coordinator_gets_404(cohort, other_coordinator):
    page = client_for(other_coordinator).get(f"/programs/{cohort.program.pk}/dashboard/")
    api = api_for(other_coordinator).get(f"/api/v1/programs/{cohort.program.pk}/dashboard/")
    assert page.status_code == api.status_code == 404
    assert "Mentor A" not in page.content.decode() + api.content.decode()


def test_participants_and_other_people_get_404(cohort, student, physician):
    enrol(cohort.program, student, "mentee", utc(12, 1, year=2026))
    enrol(cohort.program, physician, "mentor", utc(12, 1, year=2026))
    for someone in (student, physician, cohort.mentees[0], cohort.mentors[0]):
        page = client_for(someone).get(f"/programs/{cohort.program.pk}/dashboard/")
        api = api_for(someone).get(f"/api/v1/programs/{cohort.program.pk}/dashboard/")
        assert page.status_code == api.status_code == 404


def test_anonymous_visitors_are_sent_to_sign_in(cohort):
    page = client_for(None).get(f"/programs/{cohort.program.pk}/dashboard/")
    api = api_for(None).get(f"/api/v1/programs/{cohort.program.pk}/dashboard/")
    assert page.status_code == 302 and "/accounts/login/" in page["Location"]
    assert api.status_code in (401, 403)
