"""A mentor's public profile with their track record: the page and the API."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from matching.models import MentorRequest
from mentorship.models import Feedback, Mentorship
from mentorship.selectors import mentor_track_record
from tests.conftest import client_for
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
Status = Mentorship.Status
DAY = dt.timedelta(days=1)


def api(user=None):
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def mentorship(mentor, status=Status.ACTIVE, mentee=None):
    mentee = mentee or UserFactory(role="student")
    return Mentorship.objects.create(
        mentee=mentee, mentor=mentor, status=status,
        ended_at=timezone.now() if status == Status.ENDED else None,
    )  # fmt: skip


def rate(pair, rating, author=None):
    return Feedback.objects.create(
        mentorship=pair, author=author or pair.mentee, rating=rating, goals_met="yes",
        comment="PRIVATE-COMMENT", thank_you="PRIVATE-THANKS",
    )  # fmt: skip


def answered(mentor, mentee, wait):
    sent = timezone.now() - 20 * DAY
    MentorRequest.objects.create(
        mentee=mentee, mentor=mentor, status=MentorRequest.Status.DECLINED,
        expectations="Monthly calls.", sent_at=sent, responded_at=sent + wait,
    )  # fmt: skip


@pytest.fixture
def history(physician, other_student):
    """Two live mentees, two past ones (one of them twice), three ratings by mentees."""
    mentorship(physician, Status.ACTIVE)
    mentorship(physician, Status.PAUSED)
    ended = [mentorship(physician, Status.ENDED) for _ in range(2)]
    again = mentorship(physician, Status.ENDED, mentee=ended[0].mentee)
    rate(ended[0], 5)
    rate(ended[1], 4)
    rate(again, 4)
    rate(ended[1], 1, author=physician)  # the mentor's own survey is not a rating of them
    for days in (1, 3, 4):
        answered(physician, other_student, days * DAY)
    MentorRequest.objects.create(
        mentee=other_student, mentor=physician, status=MentorRequest.Status.EXPIRED,
        expectations="Monthly calls.", sent_at=timezone.now() - 20 * DAY,
    )  # fmt: skip
    return physician


def test_the_track_record_counts_mentees_ratings_and_answers(history, student):
    record = mentor_track_record(viewer=student, profile=history.profile)
    assert (record.active_mentees, record.past_mentees) == (2, 2)
    assert (record.rating_count, record.rating_average) == (3, 4.3)
    assert (record.response.answered, record.response.unanswered) == (3, 1)
    assert record.response.rate_percent == 75
    assert record.response.median_days == 3


def test_the_average_rating_waits_for_three_mentee_ratings(physician, student):
    pairs = [mentorship(physician, Status.ENDED) for _ in range(3)]
    rate(pairs[0], 5)
    rate(pairs[1], 5)
    rate(pairs[2], 1, author=physician)
    record = mentor_track_record(viewer=student, profile=physician.profile)
    assert (record.rating_count, record.rating_average) == (2, None)
    page = client_for(student).get(reverse("mentor_detail", args=[physician.profile.pk]))
    html = page.content.decode()
    assert "Not enough ratings yet" in html
    assert "Not enough answered requests yet" in html and "Not enough requests yet" in html


def test_the_profile_page_shows_the_track_record(history, student):
    html = client_for(student).get(reverse("mentor_detail", args=[history.profile.pk]))
    body = html.content.decode()
    assert "Dr. Paul Physician" in body and "Orthopaedic surgeon." in body
    assert "4.3 / 5 from 3 ratings" in body
    assert "75% of 4 requests" in body
    assert "Usually responds in 3 days" in body
    assert '<th scope="row">Past mentees</th><td>2</td>' in body
    assert "PRIVATE-COMMENT" not in body and "PRIVATE-THANKS" not in body


def test_the_track_record_api_gives_the_same_figures(history, outsider):
    response = api(outsider).get(reverse("api:mentor_track_record", args=[history.profile.pk]))
    assert response.status_code == 200
    assert response.json() == {
        "active_mentees": 2,
        "past_mentees": 2,
        "response": {
            "answered": 3,
            "unanswered": 1,
            "rate_percent": 75,
            "median_days": 3,
            "usually_responds": "Usually responds in 3 days",
        },
        "rating_count": 3,
        "rating_average": 4.3,
    }


def test_students_and_unknown_ids_have_no_track_record(student, other_student):
    for pid in (other_student.profile.pk, 999_999):
        response = api(student).get(reverse("api:mentor_track_record", args=[pid]))
        assert response.status_code == 404
        assert response.json()["fields"] == {}
        assert client_for(student).get(reverse("mentor_detail", args=[pid])).status_code == 404


def test_anonymous_callers_are_refused(client, physician):
    pid = physician.profile.pk
    response = api().get(reverse("api:mentor_track_record", args=[pid]))
    assert response.status_code in (401, 403)
    page = client.get(reverse("mentor_detail", args=[pid]))
    assert page.status_code == 302 and page["Location"].startswith(reverse("accounts:login"))


def test_the_old_profile_address_redirects_permanently(student, physician):
    pid = physician.profile.pk
    response = client_for(student).get(f"/accounts/mentors/{pid}/")
    assert response.status_code == 301
    assert response["Location"] == reverse("mentor_detail", args=[pid]) == f"/mentors/{pid}/"


def test_the_profile_page_costs_the_same_queries_with_a_long_history(
    physician, student, django_assert_max_num_queries
):
    client = client_for(student)
    url = reverse("mentor_detail", args=[physician.profile.pk])
    with CaptureQueriesContext(connection) as before:
        client.get(url)
    for _ in range(5):
        rate(mentorship(physician, Status.ENDED), 4)
        answered(physician, student, DAY)
    with django_assert_max_num_queries(len(before.captured_queries)):
        assert "4.0 / 5 from 5 ratings" in client.get(url).content.decode()
