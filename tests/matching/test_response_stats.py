"""How mentors answer requests: rate and median time, computed for many mentors at once."""

import datetime as dt

import pytest
from django.utils import timezone

from matching.models import MentorRequest
from matching.selectors import ResponseStats, response_stats
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
Status = MentorRequest.Status
DAY = dt.timedelta(days=1)


def make_request(mentor, mentee, status, wait=None, sent=True, slot=None):
    sent_at = timezone.now() - 30 * DAY if sent else None
    return MentorRequest.objects.create(
        mentee=mentee, mentor=mentor, status=status, expectations="Monthly calls.",
        sent_at=sent_at, responded_at=sent_at + wait if wait is not None else None,
        slot=slot,
    )  # fmt: skip


def test_the_median_counts_answered_requests_only(mentors, student, other_student):
    mentor = mentors[0]
    make_request(mentor, student, Status.DECLINED, wait=1 * DAY)
    make_request(mentor, student, Status.ACCEPTED, wait=2 * DAY)
    make_request(mentor, student, Status.DECLINED, wait=9 * DAY)
    # Asked a question, then the student withdrew: the mentor did answer.
    make_request(mentor, student, Status.WITHDRAWN, wait=3 * DAY)
    make_request(mentor, student, Status.WITHDRAWN)  # withdrawn before any answer
    make_request(mentor, other_student, Status.PENDING, slot=1)  # still waiting
    make_request(mentor, student, Status.EXPIRED)  # never answered
    stats = response_stats(viewer=student, mentor_ids=[mentor.pk])[mentor.pk]
    assert (stats.answered, stats.unanswered) == (4, 1)
    assert stats.median == 2.5 * DAY
    assert stats.median_days == 3  # half a day rounds up
    assert stats.rate_percent == 80
    assert stats.usually_responds == "Usually responds in 3 days"


def test_an_even_number_of_answers_averages_the_middle_two(mentors, student):
    for days in (1, 2, 4, 10):
        make_request(mentors[0], student, Status.DECLINED, wait=days * DAY)
    stats = response_stats(viewer=student, mentor_ids=[mentors[0].pk])[mentors[0].pk]
    assert stats.median == 3 * DAY and stats.median_days == 3


def test_figures_stay_hidden_until_there_are_three_to_go_on(mentors, student):
    make_request(mentors[0], student, Status.DECLINED, wait=DAY)
    make_request(mentors[0], student, Status.EXPIRED)
    stats = response_stats(viewer=student, mentor_ids=[mentors[0].pk])[mentors[0].pk]
    assert stats.answered == 1 and stats.median == DAY
    assert stats.median_days is None and stats.rate_percent is None
    assert stats.usually_responds == ""
    make_request(mentors[0], student, Status.DECLINED, wait=DAY)
    stats = response_stats(viewer=student, mentor_ids=[mentors[0].pk])[mentors[0].pk]
    assert stats.rate_percent == 67  # 2 of 3 decided
    assert stats.median_days is None  # but only 2 answers


def test_quick_answers_read_within_a_day(mentors, student):
    for hours in (2, 5, 30):
        make_request(mentors[0], student, Status.DECLINED, wait=dt.timedelta(hours=hours))
    stats = response_stats(viewer=student, mentor_ids=[mentors[0].pk])[mentors[0].pk]
    assert stats.median == dt.timedelta(hours=5)
    assert stats.usually_responds == "Usually responds within a day"


def test_a_mentor_with_no_requests_gets_empty_figures(mentors, student):
    assert response_stats(viewer=student, mentor_ids=[mentors[0].pk]) == {
        mentors[0].pk: ResponseStats()
    }
    assert response_stats(viewer=student, mentor_ids=[]) == {}


def test_figures_for_a_whole_page_of_mentors_take_two_queries(
    mentors, student, django_assert_num_queries
):
    for n, mentor in enumerate(mentors):
        for days in range(1, n + 3):
            make_request(mentor, student, Status.DECLINED, wait=days * DAY)
    extra = [UserFactory(role="physician") for _ in range(5)]
    ids = [m.pk for m in mentors + extra]
    with django_assert_num_queries(2):
        stats = response_stats(viewer=student, mentor_ids=ids)
    # Mentor n answered in 1..n+2 days: the median is (n+3)/2 days.
    assert [stats[m.pk].median for m in mentors] == [(n + 3) / 2 * DAY for n in range(4)]
    assert all(stats[m.pk] == ResponseStats() for m in extra)
