import pytest
from django.urls import reverse

from accounts import services
from accounts.choices import Role, Stage
from accounts.models import Interest, Specialty
from tests.conftest import api_for as api
from tests.conftest import client_for
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def mentors(school, other_school, ortho):
    ent = Specialty.objects.get(slug="otolaryngology")
    sports = Specialty.objects.get(slug="sports-medicine")
    research = Interest.objects.get(slug="sports-medicine-research")
    people = {}
    for key, role, stage, specialty, institution, accepting in [
        ("ortho_attending", Role.PHYSICIAN, Stage.ATTENDING_SENIOR, ortho, school, True),
        ("ent_attending", Role.PHYSICIAN, Stage.ATTENDING_SENIOR, ent, school, True),
        ("sports_resident", Role.RESIDENT, Stage.PGY3, sports, other_school, True),
        ("full_ortho", Role.PHYSICIAN, Stage.ATTENDING_MID, ortho, school, False),
        ("junior", Role.RESIDENT, Stage.PGY1, ortho, school, True),
    ]:
        user = UserFactory(
            role=role,
            full_name=key.replace("_", " ").title(),
            profile={
                "institution": institution,
                "stage": stage,
                "accepting_mentees": accepting,
                "capacity": 2,
                "strengths": ["research"],
                "meets_video": True,
            },
        )
        user.profile.specialties.set([specialty])
        if key == "ortho_attending":
            user.profile.interests.set([research])
        people[key] = user
    return people


def names(response):
    return [r["mentor"]["display_name"] for r in response.json()["results"]]


def test_recommendations_rank_the_aligned_senior_mentor_first_with_reasons(seeker, mentors):
    response = api(seeker).get(reverse("api:recommendations"))
    assert response.status_code == 200
    data = response.json()
    assert data["results"][0]["mentor"]["display_name"] == "Dr. Ortho Attending"
    top = data["results"][0]
    assert "Both in Orthopaedic surgery" in top["reasons"]
    assert 2 <= len(top["reasons"]) <= 4
    assert abs(sum(top["contributions"].values()) - top["score"]) < 1e-6
    ranked = names(response)
    # Orthopaedics beats ENT: same family is not enough against the exact field.
    assert ranked.index("Dr. Ortho Attending") < ranked.index("Dr. Ent Attending")


def test_recommendations_never_include_unavailable_or_junior_mentors_by_default(seeker, mentors):
    ranked = names(api(seeker).get(reverse("api:recommendations")))
    assert "Dr. Full Ortho" not in ranked  # not accepting
    assert "Junior" in ranked  # a PGY-1 is farther along than an MS2
    assert all("Seeker" not in n for n in ranked)  # never yourself


def test_a_mentor_not_farther_along_is_never_recommended(mentors, school, ortho):
    pgy2 = UserFactory(
        role=Role.RESIDENT,
        full_name="Peer Resident",
        profile={
            "institution": school,
            "stage": Stage.PGY2,
            "seeking_mentor": True,
            "goals": {"research": 3},
        },
    )
    ranked = names(api(pgy2).get(reverse("api:recommendations")))
    assert "Junior" not in ranked  # PGY-1 mentoring a PGY-2: not farther along
    assert "Sports Resident" in ranked  # PGY-3 is


def test_accepting_only_off_lists_full_mentors_last_with_the_reason(seeker, mentors):
    response = api(seeker).get(reverse("api:recommendations"), {"accepting_only": "false"})
    results = response.json()["results"]
    last = results[-1]
    assert last["mentor"]["display_name"] == "Dr. Full Ortho"
    assert last["excluded_by"] == ["This mentor is not accepting new mentees right now"]
    assert all(not r["excluded_by"] for r in results[:-1])


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"specialty": "orthopaedic-surgery"}, {"Dr. Ortho Attending", "Junior"}),
        ({"family": "primary_care"}, {"Sports Resident"}),
        ({"stage": "near_peer"}, {"Sports Resident", "Junior"}),
        ({"interest": "sports-medicine-research"}, {"Dr. Ortho Attending"}),
    ],
)
def test_filters_narrow_the_pool(seeker, mentors, params, expected):
    got = {n for n in names(api(seeker).get(reverse("api:recommendations"), params))}
    assert got == expected


def test_institution_filter_keeps_only_that_school(seeker, mentors, other_school):
    got = names(api(seeker).get(reverse("api:recommendations"), {"institution": other_school.pk}))
    assert got == ["Sports Resident"]


def test_a_bad_filter_is_a_clear_400(seeker, mentors):
    response = api(seeker).get(reverse("api:recommendations"), {"specialty": "astrology"})
    assert response.status_code == 400
    assert "specialty" in response.json()["fields"]
    assert api(seeker).get(reverse("api:recommendations"), {"k": "lots"}).status_code == 400


def test_only_people_looking_for_a_mentor_get_recommendations(physician, coordinator, client):
    assert api(physician).get(reverse("api:recommendations")).status_code == 403
    assert api(coordinator).get(reverse("api:recommendations")).status_code == 403
    assert api(None).get(reverse("api:recommendations")).status_code in (401, 403)
    assert client_for(physician).get(reverse("matching:recommendations")).status_code == 403


def test_concordance_counts_only_for_a_mentee_who_opted_in(seeker, mentors):
    for user in (mentors["ent_attending"],):
        services.demographics_update(user=user, gender="woman", ethnicities=["black"])
    services.demographics_update(user=seeker, gender="woman", ethnicities=["black"])
    before = api(seeker).get(reverse("api:recommendations")).json()["results"]
    services.demographics_update(
        user=seeker, gender="woman", ethnicities=["black"], wants_same_ethnicity=True
    )
    after = api(seeker).get(reverse("api:recommendations")).json()["results"]
    score = {r["mentor"]["display_name"]: r for r in before}
    score_after = {r["mentor"]["display_name"]: r for r in after}
    assert score_after["Dr. Ent Attending"]["score"] > score["Dr. Ent Attending"]["score"]
    assert "Matches a preference you set" in score_after["Dr. Ent Attending"]["reasons"]
    assert "Matches a preference you set" not in score["Dr. Ent Attending"]["reasons"]
    for result in after:  # the attribute itself is never named
        assert not any("black" in reason.lower() for reason in result["reasons"])


def test_recommendations_page_shows_cards_and_uses_a_fixed_number_of_queries(
    seeker, mentors, school, ortho, django_assert_max_num_queries
):
    client = client_for(seeker)
    with django_assert_max_num_queries(40) as few:
        page = client.get(reverse("matching:recommendations")).content.decode()
    baseline = len(few.captured_queries)  # read now: the log is reset by the next request
    assert baseline > 0
    for _ in range(20):
        extra = UserFactory(
            role=Role.PHYSICIAN,
            profile={
                "institution": school,
                "stage": Stage.ATTENDING_MID,
                "accepting_mentees": True,
            },
        )
        extra.profile.specialties.set([ortho])
    with django_assert_max_num_queries(baseline):
        client.get(reverse("matching:recommendations"))
    assert "Dr. Ortho Attending" in page
    assert "% fit" in page
    assert "Both in Orthopaedic surgery" in page
    # Each mentor the student can ask has a Request button that opens the form for them.
    ortho, full = mentors["ortho_attending"].profile, mentors["full_ortho"].profile
    assert f'href="/matching/requests/new/?mentor={ortho.pk}"' in page
    assert f"?mentor={full.pk}" not in page  # not accepting: no button


def test_htmx_filter_requests_get_only_the_results_fragment(seeker, mentors):
    response = client_for(seeker).get(
        reverse("matching:recommendations"), {"family": "surgical"}, HTTP_HX_REQUEST="true"
    )
    body = response.content.decode()
    assert "<html" not in body
    assert "Dr. Ortho Attending" in body
    assert "Sports Resident" not in body
