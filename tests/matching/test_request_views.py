import pytest
from django.urls import reverse

from accounts.choices import Role
from matching.models import MentorRequest
from mentorship.models import Mentorship
from tests.conftest import client_for
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def post_request(student, mentors):
    data = {
        "first": mentors[0].profile.pk,
        "expectations": "Monthly calls on research.",
        "cadence": "monthly",
        "meeting_mode": "video",
        "single_mentor": "on",
        "goal_research": "3",
    }
    if len(mentors) > 1:
        data["second"] = mentors[1].profile.pk
    return client_for(student).post(reverse("matching:request_new"), data)


def test_mentor_page_links_to_a_prefilled_request_form(student, mentors):
    client = client_for(student)
    page = client.get(reverse("mentor_detail", args=[mentors[0].profile.pk]))
    link = reverse("matching:request_new") + f"?mentor={mentors[0].profile.pk}"
    assert link in page.content.decode()
    assert "2 of 2 places open" in page.content.decode()
    form = client.get(link).content.decode()
    assert f'<option value="{mentors[0].profile.pk}" selected>' in form


def test_student_sends_ranked_requests_from_the_form(student, mentors):
    response = post_request(student, mentors)
    assert response.status_code == 302
    assert response["Location"] == reverse("matching:requests")
    rows = list(MentorRequest.objects.filter(mentee=student).order_by("rank"))
    assert [(r.mentor, r.status) for r in rows] == [(mentors[0], "pending"), (mentors[1], "queued")]
    assert rows[0].goals == {"research": 3}
    page = client_for(student).get(reverse("matching:requests")).content.decode()
    assert "Waiting for the mentor" in page and "Waiting for its turn" in page


def test_request_form_shows_errors_inline(student, mentors):
    response = client_for(student).post(
        reverse("matching:request_new"),
        {"first": mentors[0].profile.pk, "cadence": "monthly", "meeting_mode": "video"},
    )
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert not MentorRequest.objects.exists()


def test_mentor_accepts_and_declines_from_the_inbox(student, other_student, mentors):
    post_request(student, mentors[:1])
    post_request(other_student, mentors[:1])
    first, second = MentorRequest.objects.filter(mentor=mentors[0]).order_by("pk")
    client = client_for(mentors[0])
    page = client.get(reverse("matching:inbox")).content.decode()
    assert "Maya Student" in page and "Monthly calls on research." in page
    client.post(reverse("mentorships:accept", args=[first.pk]))
    client.post(
        reverse("matching:request_action", args=[second.pk, "decline"]),
        {"reason": "no_capacity", "note": "Full this term, sorry!"},
    )
    assert Mentorship.objects.filter(mentee=student, mentor=mentors[0]).exists()
    second.refresh_from_db()
    assert (second.status, second.decline_reason) == ("declined", "no_capacity")
    page = client_for(other_student).get(reverse("matching:requests")).content.decode()
    assert "No capacity right now" in page and "Full this term, sorry!" in page


def test_another_mentor_cannot_act_on_a_request(student, mentors):
    post_request(student, mentors[:1])
    request = MentorRequest.objects.get()
    response = client_for(mentors[1]).post(reverse("mentorships:accept", args=[request.pk]))
    assert response.status_code == 404
    assert not Mentorship.objects.exists()


def test_pages_are_for_the_right_people(student, physician):
    assert client_for(physician).get(reverse("matching:request_new")).status_code == 403
    assert client_for(student).get(reverse("matching:inbox")).status_code == 403


def test_dashboards_show_the_team_open_requests_and_waiting_inbox(student, mentors):
    post_request(student, mentors[:1])
    post_request(student, mentors[1:2])
    first = MentorRequest.objects.get(mentor=mentors[0])
    client_for(mentors[0]).post(reverse("mentorships:accept", args=[first.pk]))
    student_page = client_for(student).get(reverse("home")).content.decode()
    assert "Dr. Mentor 0" in student_page  # in the mentor team
    assert "Open requests" in student_page
    assert "<td>Dr. Mentor 1</td><td>Waiting for the mentor</td>" in student_page
    mentor_page = client_for(mentors[1]).get(reverse("home")).content.decode()
    assert "1 request waiting for your answer" in mentor_page
    assert "0 of 2 places taken" in mentor_page
    assert "Maya Student" in client_for(mentors[0]).get(reverse("home")).content.decode()


def test_inbox_page_uses_the_same_number_of_queries_for_1_and_6_requests(
    physician, school, django_assert_max_num_queries
):
    from accounts.models import Profile
    from matching import services

    Profile.objects.filter(user=physician).update(capacity=20)

    def ask(times):
        for _ in range(times):
            student = UserFactory(role=Role.STUDENT, profile={"institution": school})
            services.request_send(mentee=student, mentors=[physician], expectations="Monthly.")

    client = client_for(physician)
    ask(1)
    with django_assert_max_num_queries(30) as one:
        page = client.get(reverse("matching:inbox")).content.decode()
    baseline = len(one.captured_queries)  # read now: the next request resets the log
    assert page.count('class="card" id="request-') == 1
    ask(5)
    with django_assert_max_num_queries(baseline):
        page = client.get(reverse("matching:inbox")).content.decode()
    assert page.count('class="card" id="request-') == 6
