"""Saved mentors: services, the toggle button, the list page and the API."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.choices import Role
from matching import services
from matching.models import Bookmark
from mentorship.exceptions import ApplicationError
from tests.conftest import api_for as api
from tests.conftest import client_for
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def saved(user):
    return list(Bookmark.objects.filter(user=user).values_list("mentor_id", flat=True))


def test_saving_twice_keeps_one_bookmark(student, mentors):
    pid = mentors[0].profile.pk
    first, created = services.bookmark_add(user=student, mentor_profile_id=pid)
    again, created_again = services.bookmark_add(user=student, mentor_profile_id=pid)
    assert (created, created_again) == (True, False)
    assert first.pk == again.pk
    assert saved(student) == [mentors[0].pk]


def test_a_repeated_save_inside_a_transaction_leaves_it_usable(student, mentors):
    pid = mentors[0].profile.pk
    with transaction.atomic():
        services.bookmark_add(user=student, mentor_profile_id=pid)
        services.bookmark_add(user=student, mentor_profile_id=pid)  # the constraint fires
        assert Bookmark.objects.filter(user=student).count() == 1  # still usable


def test_removing_is_idempotent_and_touches_only_your_own(student, other_student, mentors):
    pid = mentors[0].profile.pk
    services.bookmark_add(user=student, mentor_profile_id=pid)
    services.bookmark_add(user=other_student, mentor_profile_id=pid)
    assert services.bookmark_remove(user=student, mentor_profile_id=pid) is True
    assert services.bookmark_remove(user=student, mentor_profile_id=pid) is False
    assert saved(student) == [] and saved(other_student) == [mentors[0].pk]


def test_only_mentors_can_be_saved_and_never_yourself(student, other_student, physician):
    for pid in (other_student.profile.pk, 999_999):
        with pytest.raises(ApplicationError) as error:
            services.bookmark_add(user=student, mentor_profile_id=pid)
        assert error.value.message == "Only mentors can be saved."
    with pytest.raises(ApplicationError, match="cannot save yourself"):
        services.bookmark_add(user=physician, mentor_profile_id=physician.profile.pk)
    inactive = UserFactory(role=Role.PHYSICIAN, is_active=False)
    with pytest.raises(ApplicationError, match="Only mentors"):
        services.bookmark_add(user=student, mentor_profile_id=inactive.profile.pk)
    assert not Bookmark.objects.exists()


def test_the_api_saves_lists_and_forgets_mentors(student, mentors):
    client = api(student)
    pid = mentors[1].profile.pk
    created = client.post(reverse("api:bookmarks"), {"mentor": pid})
    assert created.status_code == 201
    assert created.json()["mentor"]["id"] == pid and created.json()["saved"] is True
    assert client.post(reverse("api:bookmarks"), {"mentor": pid}).status_code == 200
    listing = client.get(reverse("api:bookmarks")).json()
    assert listing["count"] == 1
    assert [c["mentor"]["display_name"] for c in listing["results"]] == ["Dr. Mentor 1"]
    assert client.delete(reverse("api:bookmark", args=[pid])).status_code == 204
    assert client.delete(reverse("api:bookmark", args=[pid])).status_code == 204
    assert client.get(reverse("api:bookmarks")).json()["count"] == 0


def test_the_api_explains_a_bad_save_in_the_one_error_shape(student, other_student):
    response = api(student).post(reverse("api:bookmarks"), {"mentor": other_student.profile.pk})
    assert response.status_code == 400
    assert response.json() == {
        "message": "Only mentors can be saved.",
        "fields": {"mentor": ["No mentor with this id."]},
    }
    assert api(student).post(reverse("api:bookmarks"), {}).json()["fields"] == {
        "mentor": ["This field is required."]
    }


def test_nobody_sees_or_removes_anyone_elses_bookmarks(student, other_student, mentors):
    services.bookmark_add(user=student, mentor_profile_id=mentors[0].profile.pk)
    assert api(other_student).get(reverse("api:bookmarks")).json()["count"] == 0
    api(other_student).delete(reverse("api:bookmark", args=[mentors[0].profile.pk]))
    assert saved(student) == [mentors[0].pk]
    page = client_for(other_student).get(reverse("matching:saved_mentors")).content.decode()
    assert "Dr. Mentor 0" not in page and "You have not saved anyone yet" in page


def test_anonymous_callers_cannot_touch_bookmarks(client, mentors):
    pid = mentors[0].profile.pk
    assert api().get(reverse("api:bookmarks")).status_code in (401, 403)
    assert api().post(reverse("api:bookmarks"), {"mentor": pid}).status_code in (401, 403)
    assert api().delete(reverse("api:bookmark", args=[pid])).status_code in (401, 403)
    for response in (
        client.get(reverse("matching:saved_mentors")),
        client.post(reverse("matching:bookmark", args=[pid]), {"action": "add"}),
    ):
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:login"))
    assert not Bookmark.objects.exists()


def test_the_save_button_works_without_javascript(student, mentors):
    client = client_for(student)
    pid = mentors[0].profile.pk
    url = reverse("matching:bookmark", args=[pid])
    back = reverse("matching:mentors") + "?family=surgical"
    response = client.post(url, {"action": "add", "next": back})
    assert response.status_code == 302 and response["Location"] == back
    assert saved(student) == [mentors[0].pk]
    page = client.get(reverse("matching:saved_mentors")).content.decode()
    assert "Dr. Mentor 0" in page and "★ Saved" in page
    # An outside "next" is ignored: back to the saved list instead.
    response = client.post(url, {"action": "remove", "next": "https://evil.example/"})
    assert response["Location"] == reverse("matching:saved_mentors")
    assert saved(student) == []
    assert client.get(url).status_code == 405


def test_the_save_button_swaps_itself_with_htmx(student, mentors):
    client = client_for(student)
    url = reverse("matching:bookmark", args=[mentors[0].profile.pk])
    fragment = client.post(url, {"action": "add"}, HTTP_HX_REQUEST="true").content.decode()
    assert fragment.lstrip().startswith("<form") and "<html" not in fragment
    assert "★ Saved" in fragment and 'value="remove"' in fragment
    fragment = client.post(url, {"action": "remove"}, HTTP_HX_REQUEST="true").content.decode()
    assert "☆ Save" in fragment and 'value="add"' in fragment
    bad = client.post(
        reverse("matching:bookmark", args=[student.profile.pk]),
        {"action": "add"},
        HTTP_HX_REQUEST="true",
    ).content.decode()
    assert "Only mentors can be saved." in bad and "☆ Save" in bad


def test_cards_and_the_profile_page_show_whether_a_mentor_is_saved(student, mentors):
    services.bookmark_add(user=student, mentor_profile_id=mentors[2].profile.pk)
    client = client_for(student)
    browse = client.get(reverse("matching:mentors")).content.decode()
    assert browse.count("★ Saved") == 1 and browse.count("☆ Save") == 3
    profile = client.get(reverse("mentor_detail", args=[mentors[2].profile.pk])).content.decode()
    assert "★ Saved" in profile
    own = client_for(mentors[2]).get(reverse("mentor_detail", args=[mentors[2].profile.pk]))
    assert "☆ Save" not in own.content.decode()  # nobody saves themselves


def _count(client, url):
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_the_saved_list_costs_the_same_queries_for_1_and_50_mentors(student, school):
    def add(n):
        for _ in range(n):
            mentor = UserFactory(role=Role.PHYSICIAN, profile={"institution": school})
            services.bookmark_add(user=student, mentor_profile_id=mentor.profile.pk)

    html, json = client_for(student), api(student)
    add(1)
    small = (
        _count(html, reverse("matching:saved_mentors")),
        _count(json, reverse("api:bookmarks")),
    )
    add(49)
    large = (
        _count(html, reverse("matching:saved_mentors")),
        _count(json, reverse("api:bookmarks")),
    )
    assert small == large
    assert api(student).get(reverse("api:bookmarks")).json()["count"] == 50
