"""In-app notifications: the page, the header badge, the API. Owner, other user, anonymous."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import selectors, services
from accounts.models import Notification
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def notify(user, n=1, **extra):
    start = timezone.now() - dt.timedelta(hours=n)
    return [
        Notification.objects.create(
            user=user,
            kind="request.received",
            message=f"Notice {i}",
            url="/matching/inbox/#request-1",
            created_at=start + dt.timedelta(minutes=i),
            **extra,
        )
        for i in range(n)
    ]


def api(user=None):
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def unread(user):
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


def test_create_keeps_its_signature_and_trims_to_the_column(student):
    notice = services.notification_create(
        user_id=student.pk, kind="mentorship.note_shared", message="x" * 400, url="/m/1/"
    )
    assert (notice.user, len(notice.message), notice.read_at) == (student, 300, None)


def test_the_page_lists_newest_first_twenty_at_a_time(student, other_student):
    notify(student, 25)
    notify(other_student, 1, read_at=None)
    client = client_for(student)
    first = client.get(reverse("accounts:notifications"))
    page = first.content.decode()
    assert [n.message for n in first.context["page"]] == [f"Notice {i}" for i in range(24, 4, -1)]
    assert page.index("Notice 24") < page.index("Notice 23")
    assert "Page 1 of 2" in page
    second = client.get(reverse("accounts:notifications") + "?page=2")
    assert [n.message for n in second.context["page"]] == [f"Notice {i}" for i in range(4, -1, -1)]


def test_the_header_shows_the_unread_count(student):
    notify(student, 3)
    client = client_for(student)
    assert (
        '<span class="badge" aria-label="3 unread">3</span>'
        in client.get(reverse("accounts:profile")).content.decode()
    )
    Notification.objects.filter(user=student).update(read_at=timezone.now())
    page = client.get(reverse("accounts:profile")).content.decode()
    assert "Notifications</a>" in page and "unread" not in page


def test_the_badge_costs_one_query(student, django_assert_num_queries):
    from django.test import RequestFactory
    from django.utils.functional import empty

    from mentorship.context_processors import notifications

    notify(student, 2)
    request = RequestFactory().get("/")
    request.user = student
    with django_assert_num_queries(0):
        lazy = notifications(request)["unread_notifications"]
    assert lazy._wrapped is empty  # not counted until a template shows it
    with django_assert_num_queries(1):
        assert int(str(lazy)) == 2 and bool(lazy)


def test_opening_a_notice_marks_it_read_and_goes_to_its_page(student):
    notice, other = notify(student, 2)
    response = client_for(student).post(reverse("accounts:notification_open", args=[notice.pk]))
    assert response.status_code == 302
    assert response["Location"] == "/matching/inbox/#request-1"
    notice.refresh_from_db()
    other.refresh_from_db()
    assert notice.read_at is not None and other.read_at is None


def test_a_notice_never_redirects_off_site(student):
    (notice,) = notify(student)
    Notification.objects.filter(pk=notice.pk).update(url="https://evil.example/")
    response = client_for(student).post(reverse("accounts:notification_open", args=[notice.pk]))
    assert response["Location"] == reverse("accounts:notifications")


def test_someone_elses_notice_is_404_and_stays_unread(student, other_student):
    (notice,) = notify(other_student)
    assert (
        client_for(student)
        .post(reverse("accounts:notification_open", args=[notice.pk]))
        .status_code
        == 404
    )
    response = api(student).post(reverse("api:notification_read", args=[notice.pk]))
    assert response.status_code == 404
    assert set(response.json()) == {"message", "fields"}
    assert unread(other_student) == 1


def test_mark_all_read_touches_only_my_unread_notices(student, other_student):
    notify(student, 3)
    (already,) = notify(student, 1, read_at=timezone.now() - dt.timedelta(days=1))
    notify(other_student, 2)
    client = client_for(student)
    assert client.get(reverse("accounts:notification_read_all")).status_code == 405
    response = client.post(reverse("accounts:notification_read_all"), follow=True)
    assert "Marked 3 notifications read." in response.content.decode()
    assert unread(student) == 0 and unread(other_student) == 2
    assert Notification.objects.get(pk=already.pk).read_at == already.read_at


def test_the_pages_need_a_sign_in(client):
    for url in (reverse("accounts:notifications"), reverse("accounts:notification_read_all")):
        response = client.get(url) if url.endswith("notifications/") else client.post(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:login"))


def test_api_lists_my_notices_with_the_unread_count(student, other_student):
    notices = notify(student, 3)
    Notification.objects.filter(pk=notices[0].pk).update(read_at=timezone.now())
    notify(other_student, 2)
    body = api(student).get(reverse("api:notifications")).json()
    assert body["count"] == 3 and body["unread_count"] == 2
    assert [n["message"] for n in body["results"]] == ["Notice 2", "Notice 1", "Notice 0"]
    assert body["results"][0]["url"] == "/matching/inbox/#request-1"
    assert body["results"][2]["read_at"] is not None


def test_api_paginates(student):
    notify(student, 55)
    client = api(student)
    body = client.get(reverse("api:notifications")).json()
    assert (len(body["results"]), body["count"], body["previous"]) == (50, 55, None)
    assert body["next"].endswith("?page=2")
    assert len(client.get(body["next"]).json()["results"]) == 5
    assert client.get(reverse("api:notifications") + "?page=9").status_code == 404


def test_api_marks_one_then_all_read(student):
    first, *_ = notify(student, 3)
    client = api(student)
    response = client.post(reverse("api:notification_read", args=[first.pk]))
    assert response.status_code == 200
    assert response.json()["read_at"] is not None
    again = client.post(reverse("api:notification_read", args=[first.pk])).json()
    assert again["read_at"] == response.json()["read_at"]  # reading twice changes nothing
    response = client.post(reverse("api:notification_read_all"))
    assert response.json() == {"marked": 2, "unread_count": 0}
    assert selectors.notification_unread_count(user=student) == 0


@pytest.mark.parametrize(
    ("method", "name", "args"),
    [
        ("get", "notifications", []),
        ("post", "notification_read", [1]),
        ("post", "notification_read_all", []),
    ],
)
def test_api_denies_anonymous_callers(method, name, args):
    response = getattr(api(), method)(reverse(f"api:{name}", args=args))
    assert response.status_code in (401, 403)
    assert "message" in response.json()
