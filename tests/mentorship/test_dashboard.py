"""The dashboard brings each side's mentorship work together."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.choices import Role
from matching.services import request_send
from mentorship import services
from tests.conftest import client_for
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_mentee_sees_team_agreement_to_sign_and_next_checkin(pair, student, physician):
    services.checkin_schedule(
        user=physician,
        mentorship_id=pair.pk,
        data={"scheduled_at": timezone.now() + dt.timedelta(days=5), "mode": "phone"},
    )
    page = client_for(student).get(reverse("home")).content.decode()
    assert reverse("mentorships:detail", args=[pair.pk]) in page
    assert "Agreement to sign" in page
    assert "Next check-ins" in page and "phone" in page
    services.agreement_sign(user=student, mentorship_id=pair.pk)
    page = client_for(student).get(reverse("home")).content.decode()
    assert "Agreement to sign" not in page


def test_mentor_sees_waiting_requests_with_their_deadline(physician, other_student):
    [request] = request_send(
        mentee=other_student, mentors=[physician], expectations="Help me choose a specialty."
    )
    page = client_for(physician).get(reverse("home")).content.decode()
    assert "1 request waiting for your answer" in page
    assert other_student.display_name in page
    assert timezone.localtime(request.expires_at).strftime("%b") in page


def test_seeking_student_gets_three_recommendations_after_the_page_loads(student, school):
    mentors = [
        UserFactory(
            role=Role.PHYSICIAN,
            full_name=f"Attending {n}",
            profile={"institution": school, "capacity": 2, "accepting_mentees": True},
        )
        for n in range(4)
    ]
    client = client_for(student)
    page = client.get(reverse("home")).content.decode()
    top_url = reverse("matching:recommendations_top")
    assert f'hx-get="{top_url}"' in page
    assert not any(m.display_name in page for m in mentors)  # not scored on the hot path
    top = client.get(top_url, HTTP_HX_REQUEST="true").content.decode()
    assert "Recommended for you" in top
    assert sum(m.display_name in top for m in mentors) == 3


def test_top_recommendations_are_for_mentees_only(physician):
    response = client_for(physician).get(reverse("matching:recommendations_top"))
    assert response.status_code == 403
