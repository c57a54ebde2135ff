"""Sensitive attributes never reach another person: pages, lists or API JSON."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from accounts import services
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

GENDER_CANARY = "CANARY-gender-7f3a9"
ETHNICITY_CANARY = "CANARY-ethnicity-c41e2"


@pytest.fixture
def mentor_with_canaries(physician):
    services.demographics_update(
        user=physician,
        gender="non_binary",
        gender_self_description=GENDER_CANARY,
        ethnicities=["pacific_islander"],
        ethnicity_self_description=ETHNICITY_CANARY,
    )
    return physician


def _assert_clean(body: str) -> None:
    for needle in (
        GENDER_CANARY,
        ETHNICITY_CANARY,
        "pacific_islander",
        "Pacific Islander",
        "non_binary",
        "Non-binary",
    ):
        assert needle not in body, needle


def test_other_people_never_see_a_mentors_sensitive_fields(
    mentor_with_canaries, student, outsider, coordinator, resident
):
    pk = mentor_with_canaries.profile.pk
    for viewer in (student, outsider, coordinator, resident):
        for url in (reverse("mentor_detail", args=[pk]), reverse("home")):
            response = client_for(viewer).get(url)
            assert response.status_code == 200
            _assert_clean(response.content.decode())
        api = APIClient()
        api.force_authenticate(viewer)
        for url in (
            reverse("api:mentor", args=[pk]),
            reverse("api:me"),
            reverse("api:my_profile"),
            reverse("api:my_demographics"),
            reverse("api:institutions"),
        ):
            response = api.get(url)
            assert response.status_code == 200, url  # a clean error page would prove nothing
            _assert_clean(response.content.decode())


def test_the_owner_sees_their_own_private_fields(mentor_with_canaries):
    page = (
        client_for(mentor_with_canaries)
        .get(reverse("accounts:profile_step", args=["private"]))
        .content.decode()
    )
    assert GENDER_CANARY in page and ETHNICITY_CANARY in page


def test_own_profile_pages_do_not_echo_private_fields_outside_the_private_step(
    mentor_with_canaries,
):
    client = client_for(mentor_with_canaries)
    for step in ("about", "field", "mentor"):
        _assert_clean(client.get(reverse("accounts:profile_step", args=[step])).content.decode())


def test_browse_saved_mentors_and_track_record_never_show_sensitive_fields(
    mentor_with_canaries, student, outsider, coordinator, resident
):
    # The student opted in to concordance, so the engine reads the mentor's demographics.
    services.demographics_update(
        user=student, gender="non_binary", ethnicities=["pacific_islander"], wants_same_gender=True
    )
    pk = mentor_with_canaries.profile.pk
    for viewer in (student, outsider, coordinator, resident):
        api = APIClient()
        api.force_authenticate(viewer)
        saved = api.post(reverse("api:bookmarks"), {"mentor": pk})
        assert saved.status_code == 201
        _assert_clean(saved.content.decode())
        for url in (
            reverse("api:mentors") + "?accepting_only=false",
            reverse("api:bookmarks"),
            reverse("api:mentor_track_record", args=[pk]),
        ):
            response = api.get(url)
            assert response.status_code == 200
            _assert_clean(response.content.decode())
        client = client_for(viewer)
        for url in (
            reverse("matching:mentors") + "?accepting_only=false",
            reverse("matching:saved_mentors"),
            reverse("mentor_detail", args=[pk]),
        ):
            page = client.get(url)
            assert page.status_code == 200
            assert "Dr. Paul Physician" in page.content.decode()
            _assert_clean(page.content.decode())
