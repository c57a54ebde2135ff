"""Browse mentors: the page and GET /api/v1/mentors/ share one selector."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.choices import Role, Stage
from accounts.models import Interest, Language, Specialty
from matching.models import Bookmark, MentorRequest
from tests.conftest import api_for as api
from tests.conftest import client_for
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def cast(school, other_school, ortho):
    """Five mentors of different fields, stages, schools and availability."""
    ent = Specialty.objects.get(slug="otolaryngology")
    sports = Specialty.objects.get(slug="sports-medicine")
    people = {}
    for key, role, stage, specialty, institution, accepting, active in [
        ("ortho_attending", Role.PHYSICIAN, Stage.ATTENDING_SENIOR, ortho, school, True, 0),
        ("ent_attending", Role.PHYSICIAN, Stage.ATTENDING_SENIOR, ent, school, True, 1),
        ("sports_resident", Role.RESIDENT, Stage.PGY3, sports, other_school, True, 0),
        ("full_ortho", Role.PHYSICIAN, Stage.ATTENDING_MID, ortho, school, True, 2),
        ("away_ortho", Role.PHYSICIAN, Stage.ATTENDING_MID, ortho, school, False, 0),
    ]:
        user = UserFactory(
            role=role,
            full_name=key.replace("_", " ").title(),
            profile={
                "institution": institution,
                "stage": stage,
                "accepting_mentees": accepting,
                "capacity": 2,
                "active_mentees": active,
                "strengths": ["research"],
                "meets_phone": key == "sports_resident",
            },
        )
        user.profile.specialties.set([specialty])
        people[key] = user
    people["ortho_attending"].profile.interests.set(
        [Interest.objects.get(slug="sports-medicine-research")]
    )
    people["sports_resident"].profile.languages.set([Language.objects.get(code="es")])
    return people


def names(response):
    return [card["mentor"]["display_name"] for card in response.json()["results"]]


def test_a_student_browses_mentors_ranked_by_fit_with_the_top_reasons(seeker, cast):
    response = api(seeker).get(reverse("api:mentors"))
    assert response.status_code == 200
    data = response.json()
    assert data["by_fit"] is True
    assert data["count"] == 3  # accepting now: the full and the away mentors are left out
    assert names(response)[0] == "Dr. Ortho Attending"
    top = data["results"][0]
    assert "Both in Orthopaedic surgery" in top["reasons"]
    assert 1 <= len(top["reasons"]) <= 3
    scores = [card["fit_score"] for card in data["results"]]
    assert scores == sorted(scores, reverse=True)
    assert top["places_open"] == 2 and top["open_now"] is True


def test_full_and_paused_mentors_come_last_with_the_reason_when_asked_for(seeker, cast):
    response = api(seeker).get(reverse("api:mentors"), {"accepting_only": "false"})
    results = response.json()["results"]
    assert len(results) == 5
    assert {r["mentor"]["display_name"] for r in results[-2:]} == {
        "Dr. Full Ortho",
        "Dr. Away Ortho",
    }
    by_name = {r["mentor"]["display_name"]: r for r in results}
    assert by_name["Dr. Full Ortho"]["excluded_by"] == ["This mentor has no free mentee slots"]
    assert by_name["Dr. Full Ortho"]["places_open"] == 0
    assert all(not r["excluded_by"] for r in results[:3])
    page = client_for(seeker).get(reverse("matching:mentors"), {"accepting_only": "false"})
    html = page.content.decode()
    full_pk = cast["full_ortho"].profile.pk
    open_pk = cast["ortho_attending"].profile.pk
    assert f"?mentor={open_pk}" in html  # the Request link
    assert f"?mentor={full_pk}" not in html
    assert "All 2 places taken" in html and "Not taking new mentees now" in html


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"specialty": "orthopaedic-surgery"}, {"Dr. Ortho Attending"}),
        ({"family": "surgical"}, {"Dr. Ortho Attending", "Dr. Ent Attending"}),
        ({"stage": "near_peer"}, {"Sports Resident"}),
        ({"interest": "sports-medicine-research"}, {"Dr. Ortho Attending"}),
        ({"language": "es"}, {"Sports Resident"}),
        ({"meeting_mode": "phone"}, {"Sports Resident"}),
        (
            {"accepting_only": "false", "specialty": "orthopaedic-surgery"},
            {"Dr. Ortho Attending", "Dr. Full Ortho", "Dr. Away Ortho"},
        ),
    ],
)
def test_filters_narrow_the_mentors_listed(seeker, cast, params, expected):
    assert set(names(api(seeker).get(reverse("api:mentors"), params))) == expected


def test_the_institution_filter_keeps_only_that_school(physician, cast, other_school):
    response = api(physician).get(reverse("api:mentors"), {"institution": other_school.pk})
    assert names(response) == ["Sports Resident"]


def test_a_physician_browsing_sees_mentors_with_a_place_first_then_by_name_and_no_score(
    physician, cast
):
    response = api(physician).get(reverse("api:mentors"), {"accepting_only": "false"})
    data = response.json()
    assert data["by_fit"] is False
    assert names(response) == [
        "Dr. Ent Attending",
        "Dr. Ortho Attending",
        "Sports Resident",
        "Dr. Away Ortho",
        "Dr. Full Ortho",
    ]
    assert all(card["fit_score"] is None and card["reasons"] == [] for card in data["results"])
    html = client_for(physician).get(reverse("matching:mentors")).content.decode()
    assert "% fit" not in html
    assert "?mentor=" not in html  # a physician does not ask for a mentor here


def test_a_coordinator_can_browse_too(coordinator, cast):
    assert len(names(api(coordinator).get(reverse("api:mentors")))) == 3
    page = client_for(coordinator).get(reverse("matching:mentors"))
    assert page.status_code == 200 and "Dr. Ortho Attending" in page.content.decode()


def test_a_mentor_never_sees_themselves_in_the_list(cast):
    ortho = cast["ortho_attending"]
    assert "Dr. Ortho Attending" not in names(api(ortho).get(reverse("api:mentors")))


def test_a_bad_filter_is_one_clear_400(seeker, cast):
    response = api(seeker).get(reverse("api:mentors"), {"specialty": "astrology"})
    assert response.status_code == 400
    body = response.json()
    assert body["message"] == "Some filters are not valid."
    assert "specialty" in body["fields"]
    page = client_for(seeker).get(reverse("matching:mentors"), {"specialty": "astrology"})
    assert page.status_code == 200
    assert "Some filters are not valid." in page.content.decode()


def test_anonymous_visitors_are_sent_to_sign_in_and_the_api_refuses_them(client, cast):
    page = client.get(reverse("matching:mentors"))
    assert page.status_code == 302
    assert page["Location"].startswith(reverse("accounts:login"))
    response = api().get(reverse("api:mentors"))
    # 403 with session auth first (no WWW-Authenticate challenge to send), in our one shape.
    assert response.status_code in (401, 403)
    assert "credentials" in response.json()["message"]


def _many_mentors(school, specialty, count, start=0):
    people = []
    for n in range(start, start + count):
        user = UserFactory(
            role=Role.PHYSICIAN,
            full_name=f"Extra Mentor {n:02d}",
            profile={
                "institution": school,
                "stage": Stage.ATTENDING_MID,
                "accepting_mentees": True,
                "capacity": 3,
            },
        )
        user.profile.specialties.set([specialty])
        people.append(user)
    return people


def test_pages_hold_20_mentors_and_page_links_keep_the_filters(seeker, school, ortho):
    _many_mentors(school, ortho, 25)
    client = client_for(seeker)
    html = client.get(reverse("matching:mentors"), {"family": "surgical"}).content.decode()
    assert html.count('class="card mentor-card"') == 20
    assert "25 mentors matching these filters." in html
    assert "Page 1 of 2" in html
    assert f"{reverse('matching:mentors')}?family=surgical&amp;page=2" in html
    second = client.get(reverse("matching:mentors"), {"family": "surgical", "page": 2})
    assert second.content.decode().count('class="card mentor-card"') == 5

    first = api(seeker).get(reverse("api:mentors"), {"family": "surgical"}).json()
    assert first["count"] == 25 and len(first["results"]) == 20
    assert first["previous"] is None
    assert "family=surgical" in first["next"] and "page=2" in first["next"]
    last = api(seeker).get(first["next"]).json()
    assert len(last["results"]) == 5 and last["next"] is None
    assert "page=1" in last["previous"] or "page" not in last["previous"].split("?")[1]
    seen = [c["mentor"]["id"] for c in first["results"] + last["results"]]
    assert len(set(seen)) == 25  # every mentor once across the pages


def test_htmx_filter_changes_get_only_the_results_fragment(seeker, cast):
    client = client_for(seeker)
    fragment = client.get(
        reverse("matching:mentors"), {"specialty": "otolaryngology"}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "<html" not in fragment and '<form class="card filters"' not in fragment
    assert "Dr. Ent Attending" in fragment and "Dr. Ortho Attending" not in fragment
    full = client.get(
        reverse("matching:mentors"),
        HTTP_HX_REQUEST="true",
        HTTP_HX_HISTORY_RESTORE_REQUEST="true",
    ).content.decode()
    assert "<html" in full  # back button: htmx asks for the whole page


def _answered(mentor, mentee, days_ago, wait):
    sent = timezone.now() - dt.timedelta(days=days_ago)
    return MentorRequest.objects.create(
        mentee=mentee, mentor=mentor, status=MentorRequest.Status.DECLINED,
        expectations="Monthly calls.", sent_at=sent, responded_at=sent + wait,
        closed_at=sent + wait, slot=None,
    )  # fmt: skip


def test_cards_show_places_open_and_the_usual_response_time_after_three_answers(
    seeker, cast, other_student
):
    ortho, ent = cast["ortho_attending"], cast["ent_attending"]
    for days in (1, 2, 6):
        _answered(ortho, other_student, 40, dt.timedelta(days=days))
    for days in (1, 2):
        _answered(ent, other_student, 40, dt.timedelta(days=days))
    by_name = {
        c["mentor"]["display_name"]: c
        for c in api(seeker).get(reverse("api:mentors")).json()["results"]
    }
    assert by_name["Dr. Ortho Attending"]["response"]["median_days"] == 2
    assert by_name["Dr. Ortho Attending"]["response"]["usually_responds"] == (
        "Usually responds in 2 days"
    )
    assert by_name["Dr. Ent Attending"]["response"]["median_days"] is None  # only two answers
    assert by_name["Dr. Ent Attending"]["places_open"] == 1
    html = client_for(seeker).get(reverse("matching:mentors")).content.decode()
    assert "Usually responds in 2 days" in html
    assert html.count("Usually responds") == 1
    assert "1 of 2 places open" in html and "2 of 2 places open" in html


def _queries(client, url, params=None):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params or {})
    assert response.status_code == 200
    return len(ctx.captured_queries)


def _with_history(mentors, seeker, student):
    """Answered requests and bookmarks, so every per-card figure has data to read."""
    for mentor in mentors:
        for days in (1, 2, 3):
            _answered(mentor, student, 30, dt.timedelta(days=days))
        Bookmark.objects.create(user=seeker, mentor=mentor)


@pytest.mark.parametrize("viewer", ["seeker", "physician"])
def test_browse_costs_the_same_queries_for_1_and_50_mentors(
    request, viewer, school, ortho, seeker, other_student
):
    user = request.getfixturevalue(viewer)
    html, json = client_for(user), api(user)
    _with_history(_many_mentors(school, ortho, 1), seeker, other_student)
    params = {"accepting_only": "false"}
    small = (
        _queries(html, reverse("matching:mentors"), params),
        _queries(html, reverse("matching:mentors"), {**params, "page": 2}),
        _queries(json, reverse("api:mentors"), params),
    )
    _with_history(_many_mentors(school, ortho, 49, start=1), seeker, other_student)
    large = (
        _queries(html, reverse("matching:mentors"), params),
        _queries(html, reverse("matching:mentors"), {**params, "page": 3}),
        _queries(json, reverse("api:mentors"), params),
    )
    assert small == large
