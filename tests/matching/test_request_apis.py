import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.choices import Role
from accounts.models import Profile
from matching.models import MentorRequest
from mentorship.models import Mentorship
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def api(user=None):
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def send(student, mentors, **extra):
    return api(student).post(
        reverse("api:requests"),
        {
            "mentors": [m.profile.pk for m in mentors],
            "expectations": "Monthly video calls about my research project.",
            **extra,
        },
        format="json",
    )


def test_the_whole_request_journey_through_the_api(student, mentors):
    response = send(student, mentors[:2], cadence="biweekly")
    assert response.status_code == 201
    first, second = response.json()
    assert (first["status"], second["status"]) == ("pending", "queued")
    assert first["cadence"] == "biweekly"

    # The second mentor does not see the queued request yet.
    assert api(mentors[1]).get(reverse("api:inbox")).json() == []
    assert [r["id"] for r in api(mentors[0]).get(reverse("api:inbox")).json()] == [first["id"]]

    response = api(mentors[0]).post(
        reverse("api:request_decline", args=[first["id"]]),
        {
            "reason": "not_my_field",
            "note": "Try Mentor 2",
            "suggested_mentor": mentors[2].profile.pk,
        },
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["status"] == "declined"
    assert response.json()["suggested_mentor"]["display_name"] == "Dr. Mentor 2"

    inbox = api(mentors[1]).get(reverse("api:inbox")).json()
    assert [(r["id"], r["status"]) for r in inbox] == [(second["id"], "pending")]

    response = api(mentors[1]).post(
        reverse("api:request_ask", args=[second["id"]]),
        {"question": "What is your research question?"},
        format="json",
    )
    assert response.json()["status"] == "info_requested"
    response = api(student).post(
        reverse("api:request_answer", args=[second["id"]]),
        {"answer": "ACL reconstruction outcomes."},
        format="json",
    )
    assert [m["body"] for m in response.json()["messages"]] == [
        "What is your research question?",
        "ACL reconstruction outcomes.",
    ]

    response = api(mentors[1]).post(reverse("api:request_accept", args=[second["id"]]))
    assert response.status_code == 201
    assert response.json()["my_role"] == "mentor"
    mine = api(student).get(reverse("api:mentorships")).json()
    assert [(m["mentor"]["display_name"], m["my_role"]) for m in mine] == [
        ("Dr. Mentor 1", "mentee")
    ]
    assert Profile.objects.get(user=mentors[1]).active_mentees == 1


def test_outsiders_get_404_on_a_request(student, other_student, outsider, mentors):
    request_id = send(student, mentors[:2]).json()[1]["id"]  # the queued one
    for user in (other_student, outsider, mentors[1], mentors[2]):
        assert api(user).get(reverse("api:request", args=[request_id])).status_code == 404
    for name in ("request_accept", "request_decline", "request_ask"):
        response = api(mentors[2]).post(
            reverse(f"api:{name}", args=[request_id]),
            {"reason": "other", "question": "?"},
            format="json",
        )
        assert response.status_code == 404, name
    assert (
        api(other_student).post(reverse("api:request_withdraw", args=[request_id])).status_code
        == 404
    )
    assert MentorRequest.objects.get(pk=request_id).status == "queued"


def test_a_full_mentor_gets_a_clear_400_and_nothing_changes(student, other_student, mentors):
    Profile.objects.filter(user=mentors[0]).update(capacity=1)
    a = send(student, mentors[:1]).json()[0]
    b = send(other_student, mentors[:1]).json()[0]
    assert api(mentors[0]).post(reverse("api:request_accept", args=[a["id"]])).status_code == 201
    response = api(mentors[0]).post(reverse("api:request_accept", args=[b["id"]]))
    assert response.status_code == 400
    assert "no free place" in response.json()["message"]
    assert MentorRequest.objects.get(pk=b["id"]).status == "pending"
    assert Mentorship.objects.filter(mentor=mentors[0]).count() == 1


def test_accept_after_withdraw_is_refused(student, mentors):
    request_id = send(student, mentors[:1]).json()[0]["id"]
    assert (
        api(student).post(reverse("api:request_withdraw", args=[request_id])).json()["status"]
        == "withdrawn"
    )
    response = api(mentors[0]).post(reverse("api:request_accept", args=[request_id]))
    assert response.status_code == 400
    assert not Mentorship.objects.exists()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"mentors": []}, "mentors"),
        ({"mentors": [1, 2, 3, 4]}, "mentors"),
        ({"mentors": [999999]}, "mentors"),
        ({"expectations": ""}, "expectations"),
        ({"cadence": "daily"}, "cadence"),
    ],
)
def test_bad_requests_are_400_with_fields_and_write_nothing(student, mentors, payload, field):
    data = {"mentors": [mentors[0].profile.pk], "expectations": "Monthly calls.", **payload}
    response = api(student).post(reverse("api:requests"), data, format="json")
    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert not MentorRequest.objects.exists()


def test_decline_needs_a_known_reason(student, mentors):
    request_id = send(student, mentors[:1]).json()[0]["id"]
    response = api(mentors[0]).post(
        reverse("api:request_decline", args=[request_id]), {"reason": "busy"}, format="json"
    )
    assert response.status_code == 400
    assert "reason" in response.json()["fields"]
    assert MentorRequest.objects.get(pk=request_id).status == "pending"


@pytest.mark.parametrize("name", ["requests", "inbox", "mentorships"])
def test_request_endpoints_deny_anonymous_callers(name):
    assert api().get(reverse(f"api:{name}")).status_code in (401, 403)


def _rows(response):
    if response["Content-Type"].startswith("application/json"):
        return len(response.json())
    return response.content.count(b'class="card" id="request-')


@pytest.mark.parametrize("url_name", ["api:inbox", "matching:inbox"])
def test_inbox_uses_the_same_number_of_queries_for_1_and_50_requests(
    student, mentors, school, django_assert_max_num_queries, url_name
):
    # Sending only needs a free place (none is taken until one is accepted).
    send(student, mentors[:1])
    client = api(mentors[0])
    client.force_login(mentors[0])  # the HTML page needs a session
    with django_assert_max_num_queries(40) as few:
        assert _rows(client.get(reverse(url_name))) == 1
    baseline = len(few.captured_queries)  # read now: the log is reset by the next request
    assert baseline > 0
    for _ in range(49):
        other = UserFactory(role=Role.STUDENT, profile={"institution": school})
        send(other, mentors[:1])
    with django_assert_max_num_queries(baseline):
        assert _rows(client.get(reverse(url_name))) == 50
