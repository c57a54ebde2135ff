"""Illegal moves in a request's life: refused with a clear message, in the services and
the API alike (4xx JSON, never 500), and nothing is half-written."""

import datetime as dt

import pytest
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Notification, Profile
from matching import services
from matching.models import MentorRequest, RequestMessage
from mentorship.exceptions import ApplicationError
from mentorship.models import Mentorship
from mentorship.services import request_accept

pytestmark = pytest.mark.django_db


def _send(student, mentors):
    return services.request_send(
        mentee=student, mentors=mentors, expectations="Monthly calls about research."
    )


def pending(student, mentors):
    return _send(student, mentors[:1])[0]


def overdue(student, mentors):
    """Past its deadline, but the expiry scan has not run yet."""
    request = pending(student, mentors)
    MentorRequest.objects.filter(pk=request.pk).update(
        expires_at=timezone.now() - dt.timedelta(minutes=1)
    )
    return request


def accepted(student, mentors):
    request = pending(student, mentors)
    request_accept(mentor=mentors[0], request_id=request.pk)
    return request


def declined(student, mentors):
    request = pending(student, mentors)
    services.request_decline(mentor=mentors[0], request_id=request.pk, reason="other")
    return request


def withdrawn(student, mentors):
    request = pending(student, mentors)
    services.request_withdraw(mentee=student, request_id=request.pk)
    return request


def queued(student, mentors):
    """Second choice, still waiting behind the first: its mentor cannot see it yet."""
    return _send(student, mentors[:2])[1]


# action -> (service call, API name, API payload)
ACTIONS = {
    "accept": (lambda user, pk: request_accept(mentor=user, request_id=pk), "request_accept", {}),
    "decline": (
        lambda user, pk: services.request_decline(mentor=user, request_id=pk, reason="other"),
        "request_decline",
        {"reason": "other"},
    ),
    "ask": (
        lambda user, pk: services.request_ask_info(mentor=user, request_id=pk, question="Why?"),
        "request_ask",
        {"question": "Why?"},
    ),
    "answer": (
        lambda user, pk: services.request_answer(mentee=user, request_id=pk, answer="Because."),
        "request_answer",
        {"answer": "Because."},
    ),
    "withdraw": (
        lambda user, pk: services.request_withdraw(mentee=user, request_id=pk),
        "request_withdraw",
        {},
    ),
}

# (state, action, who acts, status, message)
CASES = [
    (overdue, "accept", "mentor", 400, "This request has expired."),
    (overdue, "ask", "mentor", 400, "This request has expired."),
    (accepted, "accept", "mentor", 400, "This request is no longer open."),
    (declined, "accept", "mentor", 400, "This request is no longer open."),
    (declined, "decline", "mentor", 400, "This request is no longer waiting for your answer."),
    (accepted, "decline", "mentor", 400, "This request is no longer waiting for your answer."),
    (withdrawn, "ask", "mentor", 400, "This request is no longer waiting for your answer."),
    (accepted, "ask", "mentor", 400, "This request is no longer waiting for your answer."),
    (pending, "answer", "student", 400, "The mentor has not asked anything on this request."),
    (withdrawn, "answer", "student", 400, "The mentor has not asked anything on this request."),
    (declined, "withdraw", "student", 400, "This request is already closed."),
    (accepted, "withdraw", "student", 400, "This request is already closed."),
    (withdrawn, "withdraw", "student", 400, "This request is already closed."),
    (pending, "accept", "other_mentor", 404, "Not found."),
    (pending, "decline", "other_mentor", 404, "Not found."),
    (queued, "accept", "next_mentor", 404, "Not found."),
    (queued, "ask", "next_mentor", 404, "Not found."),
    (pending, "answer", "other_student", 404, "Not found."),
    (pending, "withdraw", "mentor", 404, "Not found."),
]
IDS = [f"{state.__name__}-{action}-by-{who}" for state, action, who, _, _ in CASES]


@pytest.fixture
def people(student, other_student, mentors):
    return {
        "student": student,
        "other_student": other_student,
        "mentor": mentors[0],
        "next_mentor": mentors[1],
        "other_mentor": mentors[2],
    }


def snapshot():
    """Everything an illegal move could have half-written."""
    return (
        sorted(
            MentorRequest.objects.values_list(
                "pk", "status", "slot", "sent_at", "responded_at", "closed_at", "expires_at"
            )
        ),
        RequestMessage.objects.count(),
        sorted(Mentorship.objects.values_list("pk", flat=True)),
        Notification.objects.count(),
        sorted(Profile.objects.values_list("user_id", "active_mentees")),
    )


@pytest.mark.parametrize(("state", "action", "who", "status", "message"), CASES, ids=IDS)
def test_services_refuse_and_write_nothing(
    people, student, mentors, state, action, who, status, message
):
    request = state(student, mentors)
    before = snapshot()
    call = ACTIONS[action][0]
    if status == 404:
        with pytest.raises(Http404):
            call(people[who], request.pk)
    else:
        with pytest.raises(ApplicationError) as excinfo:
            call(people[who], request.pk)
        assert excinfo.value.message == message
    assert snapshot() == before


@pytest.mark.parametrize(("state", "action", "who", "status", "message"), CASES, ids=IDS)
def test_the_api_answers_4xx_json_and_writes_nothing(
    people, student, mentors, state, action, who, status, message
):
    request = state(student, mentors)
    before = snapshot()
    _, name, payload = ACTIONS[action]
    client = APIClient()
    client.force_authenticate(people[who])
    response = client.post(reverse(f"api:{name}", args=[request.pk]), payload, format="json")
    assert response.status_code == status
    assert response.json() == {"message": message, "fields": {}}
    assert snapshot() == before
