"""The mentorship REST endpoints: the same services as the pages, one error shape."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Profile
from mentorship.models import CheckIn, Goal, Note
from tests.conftest import api_for as api

pytestmark = pytest.mark.django_db


def soon(days=3):
    return (timezone.now() + dt.timedelta(days=days)).isoformat()


def test_detail_for_the_pair_only(pair, student, physician, other_student, coordinator):
    url = reverse("api:mentorship", args=[pair.pk])
    body = api(student).get(url).json()
    assert body["mentorship"]["my_role"] == "mentee"
    assert body["agreement"]["is_signed"] is False
    assert [g["title"] for g in body["goals"]] == [
        "Career guidance and specialty choice",
        "Research",
    ]
    assert api(physician).get(url).json()["mentorship"]["my_role"] == "mentor"
    for person in (other_student, coordinator):
        response = api(person).get(url)
        assert response.status_code == 404
        assert response.json()["message"]
    assert api().get(url).status_code in (401, 403)


def test_full_cycle_over_the_api(pair, student, physician):
    goal_id = Goal.objects.filter(mentorship=pair).first().pk
    review = (timezone.localdate() + dt.timedelta(days=120)).isoformat()
    response = api(student).patch(
        reverse("api:agreement", args=[pair.pk]),
        {"cadence": "biweekly", "review_date": review,
         "goals": [{"id": goal_id, "title": "Pick a specialty", "target_date": review}]},
        format="json",
    )  # fmt: skip
    assert response.status_code == 200, response.json()
    assert response.json()["agreement"]["cadence"] == "biweekly"
    for person in (student, physician):
        assert api(person).post(reverse("api:agreement_sign", args=[pair.pk])).status_code == 200
    detail = api(student).get(reverse("api:mentorship", args=[pair.pk])).json()
    assert detail["agreement"]["is_signed"] is True

    response = api(student).post(
        reverse("api:checkin_create", args=[pair.pk]),
        {"scheduled_at": soon(), "mode": "video", "agenda": "ERAS timeline"},
        format="json",
    )
    assert response.status_code == 201
    checkin_id = response.json()["id"]
    upcoming = api(physician).get(reverse("api:checkins_upcoming")).json()
    assert [c["id"] for c in upcoming] == [checkin_id]
    assert upcoming[0]["with_name"] == student.display_name
    ics = api(physician).get(reverse("api:checkin_ics", args=[checkin_id]))
    assert ics.status_code == 200 and b"ERAS timeline" in ics.content

    CheckIn.objects.filter(pk=checkin_id).update(scheduled_at=timezone.now())
    response = api(physician).post(
        reverse("api:checkin_complete", args=[checkin_id]),
        {"goal_progress": {str(goal_id): 50}, "note": "Solid plan", "note_shared": True},
        format="json",
    )
    assert response.status_code == 200 and response.json()["status"] == "completed"
    detail = api(student).get(reverse("api:mentorship", args=[pair.pk])).json()
    assert detail["pulse_due"] == [checkin_id]
    assert detail["goals"][0]["progress"] == 50
    response = api(student).post(
        reverse("api:checkin_pulse", args=[checkin_id]), {"answer": "yes"}, format="json"
    )
    assert response.status_code == 201
    again = api(student).post(
        reverse("api:checkin_pulse", args=[checkin_id]), {"answer": "yes"}, format="json"
    )
    assert again.status_code == 400 and "already answered" in again.json()["message"]

    response = api(physician).post(
        reverse("api:mentorship_end", args=[pair.pk]), {"reason": "goals_met"}, format="json"
    )
    assert response.json()["mentorship"]["status"] == "ended"
    response = api(student).post(
        reverse("api:mentorship_feedback", args=[pair.pk]),
        {"rating": 5, "goals_met": "yes", "thank_you": "Thanks!"},
        format="json",
    )
    assert response.status_code == 201 and response.json()["feedback_given"] is True
    mentor_view = api(physician).get(reverse("api:mentorship", args=[pair.pk])).json()
    assert mentor_view["thank_you_received"] == "Thanks!"


@pytest.mark.parametrize(
    ("name", "payload"),
    [
        ("checkin_create", {"scheduled_at": "soon"}),
        ("checkin_create", {"scheduled_at": "2001-01-01T10:00:00Z"}),
        ("agreement", {"cadence": "hourly"}),
        ("agreement", {"goals": "not a list"}),
        ("mentorship_end", {"reason": "bored"}),
        ("mentorship_renew", {"review_date": "2001-01-01"}),
        ("mentorship_feedback", {"rating": 5, "goals_met": "yes"}),  # not ended yet
        ("note_create", {"body": ""}),
    ],
)
def test_bad_input_gets_a_clear_4xx(pair, student, name, payload):
    client = api(student)
    url = reverse(f"api:{name}", args=[pair.pk])
    response = (
        client.patch(url, payload, format="json")
        if name == "agreement"
        else client.post(url, payload, format="json")
    )
    assert response.status_code == 400, response.content
    assert response.json()["message"]


def test_notes_private_to_their_author_over_the_api(pair, student, physician):
    api(student).post(
        reverse("api:note_create", args=[pair.pk]), {"body": "CANARY-secret"}, format="json"
    )
    api(student).post(
        reverse("api:note_create", args=[pair.pk]),
        {"body": "For both of us", "shared": True},
        format="json",
    )
    mentor_view = api(physician).get(reverse("api:mentorship", args=[pair.pk]))
    assert b"CANARY-secret" not in mentor_view.content
    assert [n["body"] for n in mentor_view.json()["notes"]] == ["For both of us"]
    private = Note.objects.get(body="CANARY-secret")
    assert api(physician).delete(reverse("api:note", args=[private.pk])).status_code == 404
    assert api(student).delete(reverse("api:note", args=[private.pk])).status_code == 204


def test_outsiders_get_404_on_every_checkin_operation(pair, student, other_student):
    checkin_id = (
        api(student)
        .post(
            reverse("api:checkin_create", args=[pair.pk]), {"scheduled_at": soon()}, format="json"
        )
        .json()["id"]
    )
    outsider = api(other_student)
    assert outsider.get(reverse("api:checkin_ics", args=[checkin_id])).status_code == 404
    assert (
        outsider.patch(reverse("api:checkin", args=[checkin_id]), {"agenda": "x"}).status_code
        == 404
    )
    for name in ("checkin_cancel", "checkin_complete"):
        assert outsider.post(reverse(f"api:{name}", args=[checkin_id])).status_code == 404
    assert (
        outsider.post(
            reverse("api:checkin_pulse", args=[checkin_id]), {"answer": "no"}, format="json"
        ).status_code
        == 404
    )
    assert CheckIn.objects.get(pk=checkin_id).status == "scheduled"


def test_pay_it_forward_over_the_api(resident, student):
    Profile.objects.filter(user=resident).update(accepting_mentees=False)
    response = api(resident).post(reverse("api:pay_it_forward"))
    assert response.status_code == 200 and response.json()["accepting_mentees"] is True
    response = api(student).post(reverse("api:pay_it_forward"))
    assert response.status_code == 400 and "residency" in response.json()["message"]
