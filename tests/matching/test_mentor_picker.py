"""The mentor selects of the request and decline forms list a few mentors, and a search
(``matching:mentor_search``, swapped in by HTMX) finds any other mentor one may choose."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from accounts.choices import Role, Stage
from accounts.models import Block, Specialty
from matching import services
from matching.models import Bookmark, MentorRequest
from matching.selectors import MENTOR_SEARCH_LIMIT, SHORTLIST_SIZE
from tests.conftest import client_for
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def crowd(school, ortho):
    """30 accepting mentors (12 orthopaedic surgeons), a closed one and an inactive one."""
    cardio = Specialty.objects.get(slug="cardiology")
    people = []
    for n in range(30):
        user = UserFactory(
            role=Role.PHYSICIAN,
            full_name=f"Crowd {'Bone' if n < 12 else 'Heart'} {n:02d}",
            profile={"institution": school, "stage": Stage.ATTENDING_MID, "capacity": 2},
        )
        user.profile.specialties.set([ortho if n < 12 else cardio])
        people.append(user)
    closed = UserFactory(
        role=Role.PHYSICIAN,
        full_name="Closed Bone",
        profile={"institution": school, "accepting_mentees": False},
    )
    gone = UserFactory(role=Role.PHYSICIAN, full_name="Gone Bone", is_active=False)
    return {"open": people, "closed": closed, "gone": gone}


def options(html: str, name: str) -> list[tuple[str, str]]:
    """(value, text) of each option of the select called ``name``."""
    select = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', html, re.S)
    assert select, f"no select {name}"
    return re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', select.group(1))


def search(user, **params):
    return client_for(user).get(reverse("matching:mentor_search"), params)


def test_the_request_form_offers_the_best_matches_and_saved_mentors_not_everyone(seeker, crowd):
    saved = crowd["open"][29]
    Bookmark.objects.create(user=seeker, mentor=saved)
    page = client_for(seeker).get(reverse("matching:request_new")).content.decode()
    for name in ("first", "second", "third"):
        listed = options(page, name)
        assert 1 + SHORTLIST_SIZE <= len(listed) <= 1 + 2 * SHORTLIST_SIZE
        assert listed[0][0] == ""
        assert str(saved.profile.pk) in {value for value, _text in listed}
    # The best matches for an orthopaedics student are the orthopaedic surgeons.
    best = [text for _value, text in options(page, "first")[1 : 1 + SHORTLIST_SIZE]]
    assert all("Crowd Bone" in text for text in best)
    assert "Closed Bone" not in page and "Gone Bone" not in page
    assert 'hx-get="/matching/mentors/search/?field=second"' in page


def test_the_inbox_decline_form_lists_no_mentors_until_one_is_searched(seeker, crowd):
    mentor = crowd["open"][0]
    services.request_send(mentee=seeker, mentors=[mentor], expectations="Monthly calls.")
    page = client_for(mentor).get(reverse("matching:inbox")).content.decode()
    assert options(page, "suggested_mentor") == [("", "— no suggestion —")]
    assert "Crowd Heart" not in page
    assert 'hx-target="previous select"' in page
    assert 'form="no-form"' in page  # Enter in the search box sends no decline


def test_search_finds_available_mentors_by_name_and_by_specialty(seeker, crowd):
    by_name = search(seeker, field="second", q="heart 21")
    assert by_name.status_code == 200
    assert [text for value, text in options_of(by_name) if value] == [
        "Dr. Crowd Heart 21 — Mid-career attending"
    ]
    by_specialty = options_of(search(seeker, field="second", q="orthopaedic"))
    found = [text for value, text in by_specialty if value]
    assert len(found) == MENTOR_SEARCH_LIMIT  # 12 match: the first 10 by name
    assert "Dr. Crowd Bone 00" in found[0]
    assert "type more to narrow" in search(seeker, field="second", q="orthopaedic").content.decode()
    both = [t for v, t in options_of(search(seeker, field="third", q="bone orthopaedic")) if v]
    assert len(both) == MENTOR_SEARCH_LIMIT and "Closed Bone" not in " ".join(both)
    assert not [v for v, _t in options_of(search(seeker, field="second", q="gone")) if v]


def options_of(response) -> list[tuple[str, str]]:
    return re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', response.content.decode())


def test_search_keeps_the_mentor_chosen_now_and_starts_with_the_empty_choice(seeker, crowd):
    chosen = crowd["open"][20]
    response = search(seeker, field="first", q="bone", first=str(chosen.profile.pk))
    html = response.content.decode()
    assert html.startswith('<option value="">— choose a mentor —</option>')
    assert f'<option value="{chosen.profile.pk}" selected>Dr. Crowd Heart 20' in html
    huge = search(seeker, field="first", q="bone", first="9" * 40)
    assert huge.status_code == 200 and " selected>" not in huge.content.decode()
    short = search(seeker, field="suggested_mentor", q="b").content.decode()
    assert "Type at least 2 letters" in short and "— no suggestion —" in short
    none = search(seeker, field="second", q="nobody-at-all").content.decode()
    assert "No mentor accepting mentees matches" in none


def test_search_shows_only_mentors_the_person_may_ask(seeker, crowd):
    blocker = crowd["open"][0]
    Block.objects.create(blocker=blocker, blocked=seeker)
    found = {v for v, _t in options_of(search(seeker, field="first", q="crowd bone"))}
    assert str(blocker.profile.pk) not in found
    assert str(crowd["open"][1].profile.pk) in found
    # A mentor never finds themselves to suggest.
    me = crowd["open"][1]
    mine = {v for v, _t in options_of(search(me, field="suggested_mentor", q="crowd bone"))}
    assert str(me.profile.pk) not in mine


def test_search_is_for_signed_in_people_and_the_known_fields(seeker, client):
    anonymous = client.get(reverse("matching:mentor_search"), {"field": "first", "q": "bone"})
    assert anonymous.status_code == 302 and "login" in anonymous["Location"]
    assert search(seeker, field="password", q="bone").status_code == 400
    post = client_for(seeker).post(reverse("matching:mentor_search") + "?field=first&q=bone")
    assert post.status_code == 405


def test_search_uses_a_fixed_number_of_queries(seeker, crowd, django_assert_max_num_queries):
    client = client_for(seeker)
    url = reverse("matching:mentor_search")
    with django_assert_max_num_queries(8) as few:
        client.get(url, {"field": "first", "q": "heart 21", "first": crowd["open"][3].profile.pk})
    baseline = len(few.captured_queries)
    with django_assert_max_num_queries(baseline):
        html = client.get(
            url, {"field": "first", "q": "orthopaedic", "first": crowd["open"][20].profile.pk}
        ).content.decode()
    assert html.count("<option") == 1 + 1 + 1 + MENTOR_SEARCH_LIMIT  # empty, chosen, count


def _request_data(first: int, **extra: str) -> dict[str, str]:
    return {
        "first": str(first),
        "expectations": "Monthly calls on research.",
        "cadence": "monthly",
        "meeting_mode": "video",
        **extra,
    }


def test_a_searched_mentor_outside_the_shortlist_can_be_asked(seeker, crowd):
    heart = crowd["open"][25]  # a cardiologist: never among an orthopaedics student's best
    response = client_for(seeker).post(
        reverse("matching:request_new"), _request_data(heart.profile.pk)
    )
    assert response.status_code == 302
    assert MentorRequest.objects.get(mentee=seeker).mentor == heart


def test_a_mentor_who_is_not_accepting_is_refused_with_a_clear_error(seeker, crowd):
    for other in (crowd["closed"], crowd["gone"], seeker):
        response = client_for(seeker).post(
            reverse("matching:request_new"), _request_data(other.profile.pk)
        )
        assert response.status_code == 200
        assert "This mentor is not accepting mentees now" in response.content.decode()
    for nonsense in ("x", "9" * 40):
        response = client_for(seeker).post(
            reverse("matching:request_new"), _request_data(nonsense, second="9" * 30)
        )
        assert "This mentor is not accepting mentees now" in response.content.decode()
    assert not MentorRequest.objects.exists()


def test_a_form_sent_back_keeps_the_mentors_picked(seeker, crowd):
    heart, other = crowd["open"][25], crowd["open"][26]
    response = client_for(seeker).post(
        reverse("matching:request_new"),
        {"first": heart.profile.pk, "second": other.profile.pk, "cadence": "monthly"},
    )
    html = response.content.decode()
    assert "This field is required." in html  # no expectations
    assert f'<option value="{heart.profile.pk}" selected>' in html
    assert f'<option value="{other.profile.pk}" selected>' in html


def test_decline_with_a_searched_suggestion_or_a_refused_one(seeker, crowd):
    mentor, suggestion = crowd["open"][0], crowd["open"][27]
    services.request_send(mentee=seeker, mentors=[mentor], expectations="Monthly calls.")
    request = MentorRequest.objects.get(mentee=seeker)
    url = reverse("matching:request_action", args=[request.pk, "decline"])
    refused = client_for(mentor).post(
        url, {"reason": "no_capacity", "suggested_mentor": crowd["closed"].profile.pk}, follow=True
    )
    assert "This mentor is not accepting mentees now" in refused.content.decode()
    request.refresh_from_db()
    assert request.status == MentorRequest.Status.PENDING
    client_for(mentor).post(
        url, {"reason": "no_capacity", "suggested_mentor": suggestion.profile.pk}
    )
    request.refresh_from_db()
    assert (request.status, request.suggested_mentor) == ("declined", suggestion)
