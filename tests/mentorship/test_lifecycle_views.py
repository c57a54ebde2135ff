"""The mentorship pages, as the pair and as outsiders."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Profile
from mentorship.models import Agreement, CheckIn, Goal, Note
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def test_both_sides_see_the_pair_page_and_outsiders_get_404(
    pair, student, physician, other_student, outsider, coordinator
):
    url = reverse("mentorships:detail", args=[pair.pk])
    mentee_view = client_for(student).get(url).content.decode()
    assert "Mentored by Dr. Paul Physician" in mentee_view
    assert "Career guidance and specialty choice" in mentee_view  # the agreed goals
    assert "Sign the agreement" in mentee_view
    mentor_view = client_for(physician).get(url).content.decode()
    assert "Mentoring Maya Student" in mentor_view
    for person in (other_student, outsider, coordinator):
        assert client_for(person).get(url).status_code == 404
    assert client_for(None).get(url).status_code == 302


def test_agreement_form_saves_goals_and_signs(pair, student):
    client = client_for(student)
    url = reverse("mentorships:agreement", args=[pair.pk])
    assert client.get(url).status_code == 200
    review = (timezone.localdate() + dt.timedelta(days=100)).isoformat()
    response = client.post(
        url,
        {
            "cadence": "biweekly", "meeting_mode": "video", "scheduler": "mentee",
            "duration": "short", "review_date": review,
            "confidentiality": "What we say stays here.",
            "goal-0-title": "Choose a specialty", "goal-0-target_date": review,
            "goal-1-title": "", "goal-2-title": "Find a research project",
            "sign": "1",
        },
    )  # fmt: skip
    assert response.status_code == 302
    agreement = Agreement.objects.get(mentorship=pair)
    assert agreement.cadence == "biweekly" and agreement.mentee_signed_at is not None
    assert sorted(Goal.objects.filter(mentorship=pair).values_list("title", flat=True)) == [
        "Choose a specialty",
        "Find a research project",
    ]


def test_agreement_form_shows_errors_inline_and_keeps_data(pair, student):
    response = client_for(student).post(
        reverse("mentorships:agreement", args=[pair.pk]),
        {"cadence": "monthly", "meeting_mode": "video", "scheduler": "mentee",
         "duration": "short", "review_date": "2001-01-01", "goal-0-title": "Keep me"},
    )  # fmt: skip
    assert response.status_code == 200
    assert b"Choose a date in the next two years." in response.content
    assert Agreement.objects.get(mentorship=pair).review_date.year > 2001


def test_schedule_in_my_timezone_download_ics_and_log_with_pulse(pair, student, physician):
    Profile.objects.filter(user=student).update(timezone="America/Los_Angeles")
    client = client_for(student)
    when = timezone.localtime(timezone.now() + dt.timedelta(days=3)).replace(
        hour=17, minute=30, second=0, microsecond=0
    )
    response = client.post(
        reverse("mentorships:checkin_new", args=[pair.pk]),
        {"scheduled_at": when.strftime("%Y-%m-%dT%H:%M"), "duration_minutes": 45,
         "mode": "video", "location": "https://meet.example/x", "agenda": "Step 1 plan"},
    )  # fmt: skip
    assert response.status_code == 302
    checkin = CheckIn.objects.get()
    local = checkin.scheduled_at.astimezone(dt.timezone(dt.timedelta(0)))
    assert local.hour in (0, 1)  # 17:30 in Los Angeles is 00:30 or 01:30 UTC next day
    ics = client_for(physician).get(reverse("mentorships:checkin_ics", args=[checkin.pk]))
    assert ics.status_code == 200 and ics["Content-Type"] == "text/calendar"
    assert b"Step 1 plan" in ics.content
    CheckIn.objects.filter(pk=checkin.pk).update(scheduled_at=timezone.now())
    goal = Goal.objects.filter(mentorship=pair).first()
    response = client_for(physician).post(
        reverse("mentorships:checkin_complete", args=[checkin.pk]),
        {f"progress-{goal.pk}": 30, "note": "Good start", "note_shared": "on"},
    )
    assert response.status_code == 302
    page = client_for(physician).get(reverse("mentorships:detail", args=[pair.pk]))
    assert b"Is this mentorship working for you?" in page.content
    response = client_for(physician).post(
        reverse("mentorships:checkin_action", args=[checkin.pk, "pulse"]), {"answer": "yes"}
    )
    assert response.status_code == 302
    page = client_for(physician).get(reverse("mentorships:detail", args=[pair.pk]))
    assert b"Is this mentorship working for you?" not in page.content


def test_bad_checkin_input_shows_form_errors_not_500(pair, student):
    response = client_for(student).post(
        reverse("mentorships:checkin_new", args=[pair.pk]),
        {"scheduled_at": "yesterday", "duration_minutes": 1, "mode": "telepathy"},
    )
    assert response.status_code == 400
    assert b"field-error" in response.content
    assert not CheckIn.objects.exists()


def test_outsider_cannot_fetch_an_ics_or_log_a_checkin(pair, student, other_student):
    client_for(student).post(
        reverse("mentorships:checkin_new", args=[pair.pk]),
        {"scheduled_at": (timezone.now() + dt.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M"),
         "duration_minutes": 30, "mode": "video"},
    )  # fmt: skip
    checkin = CheckIn.objects.get()
    outsider = client_for(other_student)
    assert outsider.get(reverse("mentorships:checkin_ics", args=[checkin.pk])).status_code == 404
    assert (
        outsider.post(reverse("mentorships:checkin_complete", args=[checkin.pk])).status_code == 404
    )
    assert (
        outsider.post(
            reverse("mentorships:checkin_action", args=[checkin.pk, "cancel"])
        ).status_code
        == 404
    )
    assert CheckIn.objects.get(pk=checkin.pk).status == "scheduled"


def test_private_note_is_not_in_the_other_sides_page(pair, student, physician):
    client_for(student).post(
        reverse("mentorships:note_add", args=[pair.pk]), {"body": "CANARY-private-note"}
    )
    assert Note.objects.get().shared is False
    mentor_page = client_for(physician).get(reverse("mentorships:detail", args=[pair.pk]))
    assert b"CANARY-private-note" not in mentor_page.content
    own_page = client_for(student).get(reverse("mentorships:detail", args=[pair.pk]))
    assert b"CANARY-private-note" in own_page.content


def test_end_then_closing_survey_then_thank_you_shown(pair, student, physician):
    client = client_for(student)
    response = client.post(reverse("mentorships:end", args=[pair.pk]), {"reason": "goals_met"})
    assert response.status_code == 302
    assert response["Location"] == reverse("mentorships:feedback", args=[pair.pk])
    response = client.post(
        reverse("mentorships:feedback", args=[pair.pk]),
        {"rating": "5", "goals_met": "yes", "would_recommend": "on",
         "thank_you": "You changed how I see surgery."},
    )  # fmt: skip
    assert response.status_code == 302
    mentor_page = client_for(physician).get(reverse("mentorships:detail", args=[pair.pk]))
    assert b"You changed how I see surgery." in mentor_page.content
    assert b"Answer the closing survey" in mentor_page.content
