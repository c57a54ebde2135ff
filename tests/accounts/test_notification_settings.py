"""What people are emailed: settings page and API, unsubscribe links, event opt-outs."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core import mail, signing
from django.test import Client

from accounts.mail import unsubscribe_token
from accounts.models import NotificationSettings
from matching.services import request_send
from mentorship.services import checkin_schedule, request_accept
from tests.conftest import api_for, client_for

pytestmark = pytest.mark.django_db

SETTINGS_URL = "/accounts/notifications/settings/"
API_URL = "/api/v1/me/notification-settings/"


def _prefs(user):
    return NotificationSettings.objects.get(user=user)


def test_the_settings_page_shows_the_defaults_and_saves_changes(student):
    client = client_for(student)
    page = client.get(SETTINGS_URL)
    html = page.content.decode()
    assert page.status_code == 200
    assert "one email a day at most" in html
    assert "America/New_York" in html
    assert 'value="21:00"' in html and 'value="08:00"' in html
    form = {
        "checkin_lead_days": "3",
        "quiet_start": "22:30",
        "quiet_end": "07:00",
        **{f"kind_{k}": "email" for k in ("requests", "mentorship", "request_reminders",
                                           "checkin_upcoming", "checkin_overdue",
                                           "agreement_unsigned", "program_deadline")},
        "kind_calendar": "digest",
        "kind_digest": "off",
    }  # fmt: skip
    response = client.post(SETTINGS_URL, form)
    assert response.status_code == 302
    prefs = _prefs(student)
    assert prefs.checkin_lead == dt.timedelta(days=3)
    assert (prefs.quiet_start, prefs.quiet_end) == (dt.time(22, 30), dt.time(7, 0))
    assert prefs.delivery_of("calendar") == "digest"
    assert prefs.delivery_of("digest") == "email"  # routing to the digest switches it on


def test_bad_settings_are_explained_and_nothing_is_saved(student):
    response = client_for(student).post(
        SETTINGS_URL, {"checkin_lead_days": "5", "quiet_start": "25:00", "quiet_end": "07:00"}
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not NotificationSettings.objects.filter(user=student).exists()


def test_the_settings_page_needs_sign_in():
    response = Client().get(SETTINGS_URL)
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_the_settings_api_reads_and_changes_only_your_own(student, other_student):
    api = api_for(student)
    body = api.get(API_URL).json()
    assert body["checkin_lead_days"] == 2
    assert body["delivery"]["digest"] == "off"
    assert body["delivery"]["checkin_upcoming"] == "email"
    changed = api.patch(
        API_URL, {"delivery": {"checkin_overdue": "off"}, "quiet_end": "09:00"}, format="json"
    )
    assert changed.status_code == 200
    assert changed.json()["delivery"]["checkin_overdue"] == "off"
    assert changed.json()["quiet_end"] == "09:00"
    assert not NotificationSettings.objects.filter(user=other_student).exists()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"delivery": {"requests": "digest"}}, "delivery"),  # events are not digested
        ({"delivery": {"gossip": "email"}}, "delivery"),
        ({"delivery": {"calendar": "sometimes"}}, "delivery"),
        ({"checkin_lead_days": "30"}, "checkin_lead_days"),
        ({"quiet_start": "late"}, "quiet_start"),
    ],
)
def test_the_settings_api_rejects_bad_input_with_a_clear_400(student, payload, field):
    response = api_for(student).patch(API_URL, payload, format="json")
    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert not NotificationSettings.objects.filter(user=student).exists()


def test_the_settings_api_needs_sign_in():
    from rest_framework.test import APIClient

    assert APIClient().get(API_URL).status_code == 403  # session auth first: 403, not 401


# --- Unsubscribe ----------------------------------------------------------------


def _journey_emails(student, physician, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        [request] = request_send(
            mentee=student, mentors=[physician], expectations="Research advice, monthly."
        )
    with django_capture_on_commit_callbacks(execute=True):
        mentorship = request_accept(mentor=physician, request_id=request.pk)
    with django_capture_on_commit_callbacks(execute=True):
        checkin_schedule(
            user=physician,
            mentorship_id=mentorship.pk,
            data={"scheduled_at": dt.datetime.now(dt.UTC) + dt.timedelta(days=5)},
        )
    return list(mail.outbox)


def test_every_email_carries_a_signed_one_click_unsubscribe_link(
    student, physician, django_capture_on_commit_callbacks
):
    emails = _journey_emails(student, physician, django_capture_on_commit_callbacks)
    assert len(emails) >= 3
    for email in emails:
        link = re.search(r"<(http[^>]+/accounts/unsubscribe/[^>]+/)>", email.extra_headers[
            "List-Unsubscribe"
        ]).group(1)  # fmt: skip
        assert email.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert link in email.body
        assert link in email.alternatives[0][0]


def test_the_link_asks_first_then_unsubscribes_and_can_be_undone(student):
    token = unsubscribe_token(student.pk, ["checkin_overdue", "calendar"])
    url = f"/accounts/unsubscribe/{token}/"
    client = Client(enforce_csrf_checks=True)  # no session, no CSRF token: as from an email
    page = client.get(url)
    assert page.status_code == 200
    assert "overdue check-ins" in page.content.decode().lower()
    assert not NotificationSettings.objects.filter(user=student).exists()  # a GET changes nothing
    done = client.post(url, {"action": "unsubscribe"})
    assert done.status_code == 200
    assert "You're unsubscribed" in done.content.decode()
    prefs = _prefs(student)
    assert prefs.delivery_of("checkin_overdue") == "off"
    assert prefs.delivery_of("calendar") == "off"
    assert prefs.delivery_of("checkin_upcoming") == "email"
    client.post(url, {"action": "resubscribe"})
    assert _prefs(student).delivery_of("calendar") == "email"


def test_a_mail_clients_one_click_post_unsubscribes(student):
    token = unsubscribe_token(student.pk, ["requests"])
    response = Client(enforce_csrf_checks=True).post(
        f"/accounts/unsubscribe/{token}/",
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    assert _prefs(student).delivery_of("requests") == "off"


def test_a_forged_or_edited_link_is_refused(student, other_student):
    token = unsubscribe_token(student.pk, ["requests"])
    forged = signing.dumps({"u": other_student.pk, "k": ["requests"]}, salt="not-ours")
    for bad in (forged, token[:-3] + "abc", "nonsense"):
        response = Client().post(f"/accounts/unsubscribe/{bad}/", {"action": "unsubscribe"})
        assert response.status_code == 400
        assert "This link does not work" in response.content.decode()
    assert not NotificationSettings.objects.exists()


def test_event_emails_switched_off_are_not_sent_but_still_noticed_in_the_app(
    student, physician, django_capture_on_commit_callbacks
):
    from accounts.models import Notification
    from accounts.services import notification_settings_update

    notification_settings_update(user=student, data={"delivery": {"mentorship": "off"}})
    emails = _journey_emails(student, physician, django_capture_on_commit_callbacks)
    to_student = [m.subject for m in emails if m.to == [student.email]]
    assert any("accepted your request" in s for s in to_student)  # requests: still on
    assert not any(s.startswith("Check-in with") for s in to_student)
    assert Notification.objects.filter(user=student, kind="mentorship.checkin_scheduled").exists()
