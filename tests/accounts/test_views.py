import re

import pytest
from django.core import mail
from django.urls import reverse

from accounts.choices import Stage
from accounts.models import ConflictOfInterest, Demographics, Profile, Specialty, User
from tests.conftest import PASSWORD, client_for

pytestmark = pytest.mark.django_db


def test_signup_logs_in_and_starts_the_profile_wizard(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("accounts:signup"),
            {
                "full_name": "Ada Student",
                "email": "ada@example.org",
                "role": "student",
                "password": "a-very-long-passphrase",
            },
        )
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:profile_step", args=["about"]) + "?setup=1"
    user = User.objects.get(email="ada@example.org")
    assert client.session["_auth_user_id"] == str(user.pk)
    assert Profile.objects.filter(user=user, seeking_mentor=True).exists()
    assert len(mail.outbox) == 1


def test_signup_shows_inline_errors_and_creates_nothing(client):
    response = client.post(
        reverse("accounts:signup"),
        {
            "full_name": "Ada",
            "email": "ada@example.org",
            "role": "coordinator",
            "password": "123",
        },
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "Select a valid choice" in body
    assert not User.objects.filter(email="ada@example.org").exists()


def test_login_with_email_and_password_and_logout(client, student):
    response = client.post(
        reverse("accounts:login"), {"username": "STUDENT@test.example", "password": PASSWORD}
    )
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(student.pk)
    client.post(reverse("accounts:logout"))
    assert "_auth_user_id" not in client.session


def test_login_with_a_wrong_password_says_so(client, student):
    response = client.post(
        reverse("accounts:login"), {"username": student.email, "password": "wrong-password-x"}
    )
    assert response.status_code == 200
    assert "Please enter a correct email" in response.content.decode()


def test_wizard_walks_a_student_through_every_step_to_the_dashboard(student):
    client = client_for(student)
    url = lambda step: reverse("accounts:profile_step", args=[step]) + "?setup=1"  # noqa: E731
    ortho = Specialty.objects.get(slug="orthopaedic-surgery")
    response = client.post(
        url("about"),
        {
            "full_name": "Maya S. Student",
            "stage": Stage.MS3,
            "institution": "",
            "headline": "MS3",
            "bio": "I want to become an orthopaedic surgeon and love research.",
            "timezone": "America/Chicago",
            "languages": [],
            "meeting_modes": ["video", "phone"],
        },
    )
    assert response["Location"] == url("field")
    response = client.post(url("field"), {"specialties": [ortho.pk]})
    assert response["Location"] == url("mentee")
    response = client.post(
        url("mentee"),
        {
            "seeking_mentor": "on",
            "goal_research": "3",
            "goal_career_guidance": "2",
            "mentor_stage_preference": "senior",
            "institution_preference": "any",
            "style_preference": "challenging",
            "offers": ["research_help"],
        },
    )
    assert response["Location"] == url("private")
    response = client.post(url("private"), {"gender": "woman", "wants_same_gender": "on"})
    assert response["Location"] == reverse("home")

    profile = Profile.objects.get(user=student)
    assert profile.stage == Stage.MS3
    assert (profile.meets_in_person, profile.meets_video, profile.meets_phone) == (
        False,
        True,
        True,
    )
    assert list(profile.specialties.all()) == [ortho]
    assert profile.goals == {"research": 3, "career_guidance": 2}
    assert profile.style_preference == "challenging"
    assert User.objects.get(pk=student.pk).full_name == "Maya S. Student"
    assert Demographics.objects.get(user=student).gender_opted_in_at is not None


def test_wizard_step_shows_inline_errors(student):
    client = client_for(student)
    response = client.post(
        reverse("accounts:profile_step", args=["mentee"]),
        {
            "seeking_mentor": "on",
            "mentor_stage_preference": "any",
            "institution_preference": "any",
            "style_preference": "either",
        },
    )
    assert response.status_code == 200
    assert "Pick at least one thing you want help with." in response.content.decode()


def test_students_have_no_mentor_step(student):
    response = client_for(student).get(reverse("accounts:profile_step", args=["mentor"]))
    assert response.status_code == 404


def test_mentor_declares_and_removes_a_conflict_of_interest(physician, school):
    client = client_for(physician)
    client.post(
        reverse("accounts:conflict_add"),
        {
            "kind": "grades",
            "description": "I grade MS3 surgery clerkship students",
            "institution": school.pk,
            "stage": Stage.MS3,
        },
    )
    conflict = ConflictOfInterest.objects.get(mentor=physician)
    assert (conflict.stage, conflict.institution) == (Stage.MS3, school)
    page = client.get(reverse("accounts:profile_step", args=["mentor"])).content.decode()
    assert "I grade MS3 surgery clerkship students" in page
    client.post(reverse("accounts:conflict_delete", args=[conflict.pk]))
    assert not ConflictOfInterest.objects.filter(mentor=physician).exists()


def test_a_mentor_cannot_remove_another_mentors_conflict(physician, resident):
    conflict = ConflictOfInterest.objects.create(mentor=physician, description="I grade MS3")
    response = client_for(resident).post(reverse("accounts:conflict_delete", args=[conflict.pk]))
    assert response.status_code == 404
    assert ConflictOfInterest.objects.filter(pk=conflict.pk).exists()


def test_mentor_profile_page_shows_mentors_and_hides_students(student, physician, outsider):
    client = client_for(outsider)
    page = client.get(reverse("mentor_detail", args=[physician.profile.pk]))
    assert page.status_code == 200
    assert "Dr. Paul Physician" in page.content.decode()
    assert client.get(reverse("mentor_detail", args=[student.profile.pk])).status_code == 404


def test_pages_require_login(client, physician):
    for url in (
        reverse("home"),
        reverse("accounts:profile"),
        reverse("mentor_detail", args=[physician.profile.pk]),
    ):
        response = client.get(url)
        if url == reverse("home"):
            assert "Create your account" in response.content.decode()
        else:
            assert response.status_code == 302
            assert response["Location"].startswith(reverse("accounts:login"))


def test_dashboard_shows_completeness_and_what_is_missing(student):
    page = client_for(student).get(reverse("home")).content.decode()
    match = re.search(r"Your profile is (\d+)% complete", page)
    assert match and 0 < int(match.group(1)) < 100
    assert "research interests" in page


def test_coordinator_dashboard_counts_only_their_own_school(
    coordinator, student, outsider, physician
):
    page = client_for(coordinator).get(reverse("home")).content.decode()
    assert "Northlake School of Medicine" in page
    assert re.search(r"<dt>Students</dt><dd>1</dd>", page)
    assert re.search(r"<dt>Physicians</dt><dd>1</dd>", page)
    assert "Riverside" not in page


def test_password_reset_sends_a_working_link(client, student):
    client.post(reverse("accounts:password_reset"), {"email": student.email})
    assert len(mail.outbox) == 1
    link = re.search(r"https?://[^/]+(/accounts/password/reset/\S+/)", mail.outbox[0].body).group(1)
    response = client.get(link, follow=True)
    form_url = response.redirect_chain[-1][0]
    response = client.post(
        form_url,
        {"new_password1": "a-fresh-long-passphrase", "new_password2": "a-fresh-long-passphrase"},
    )
    assert response.status_code == 302
    assert User.objects.get(pk=student.pk).check_password("a-fresh-long-passphrase")


def test_someone_imported_without_a_password_can_still_ask_for_a_reset_link(client, student):
    student.set_unusable_password()
    student.save()
    client.post(reverse("accounts:password_reset"), {"email": student.email.upper()})
    assert [m.to for m in mail.outbox] == [[student.email]]
    student.is_active = False
    student.save()
    client.post(reverse("accounts:password_reset"), {"email": student.email})
    assert len(mail.outbox) == 1  # never to a deactivated account


def test_signup_from_an_invitation_goes_back_to_it_and_ignores_other_sites(client):
    data = {
        "full_name": "Ada Student", "email": "ada@example.org", "role": "student",
        "password": "a-very-long-passphrase", "next": "/programs/join/abc123/",
    }  # fmt: skip
    page = client.get(reverse("accounts:signup") + "?next=/programs/join/abc123/")
    assert 'name="next" value="/programs/join/abc123/"' in page.content.decode()
    response = client.post(reverse("accounts:signup"), data)
    assert response["Location"] == "/programs/join/abc123/"
    client.logout()
    response = client.post(
        reverse("accounts:signup"),
        {**data, "email": "bo@example.org", "next": "https://evil.example/"},
    )
    assert response["Location"] == reverse("accounts:profile_step", args=["about"]) + "?setup=1"


def test_password_change_requires_the_old_password(student):
    client = client_for(student)
    response = client.post(
        reverse("accounts:password_change"),
        {
            "old_password": "not-it",
            "new_password1": "another-long-passphrase",
            "new_password2": "another-long-passphrase",
        },
    )
    assert response.status_code == 200
    assert User.objects.get(pk=student.pk).check_password(PASSWORD)
    response = client.post(
        reverse("accounts:password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": "another-long-passphrase",
            "new_password2": "another-long-passphrase",
        },
    )
    assert response.status_code == 302
    assert User.objects.get(pk=student.pk).check_password("another-long-passphrase")
