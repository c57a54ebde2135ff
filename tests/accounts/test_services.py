import pytest
from django.core import mail

from accounts import services
from accounts.choices import Goal, Role, Stage
from accounts.models import ConflictOfInterest, Demographics, Profile, User
from accounts.notifications import welcome_email_send
from mentorship.exceptions import ApplicationError

pytestmark = pytest.mark.django_db


def test_signup_creates_user_profile_and_sends_one_welcome_email(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        user = services.user_signup(
            email=" New.Student@Example.org ",
            full_name="New Student",
            password="a-very-long-passphrase",
            role=Role.STUDENT,
        )
    assert user.email == "new.student@example.org"
    profile = Profile.objects.get(user=user)
    assert profile.seeking_mentor is True
    assert profile.accepting_mentees is False
    assert profile.welcomed_at is not None
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["new.student@example.org"]
    assert "/accounts/profile/about/" in mail.outbox[0].body
    assert mail.outbox[0].alternatives[0][1] == "text/html"


def test_welcome_email_is_sent_once_even_if_the_task_runs_twice(student):
    assert welcome_email_send(user_id=student.pk) is True
    assert welcome_email_send(user_id=student.pk) is False
    assert len(mail.outbox) == 1


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"password": "short"}, "password"),
        ({"password": "password123456"}, "password"),
        ({"role": Role.COORDINATOR}, "role"),
        ({"role": Role.STAFF}, "role"),
        ({"full_name": "  "}, "full_name"),
    ],
)
def test_signup_rejects_bad_input_with_field_errors_and_writes_nothing(kwargs, field):
    data = {
        "email": "ok@example.org",
        "full_name": "Ok Person",
        "password": "a-very-long-passphrase",
        "role": Role.STUDENT,
        **kwargs,
    }
    with pytest.raises(ApplicationError) as excinfo:
        services.user_signup(**data)
    assert field in excinfo.value.fields
    assert not User.objects.filter(email="ok@example.org").exists()


def test_signup_with_an_existing_email_in_another_case_is_refused(student):
    with pytest.raises(ApplicationError) as excinfo:
        services.user_signup(
            email=student.email.upper(),
            full_name="Copy",
            password="a-very-long-passphrase",
            role=Role.STUDENT,
        )
    assert "already exists" in excinfo.value.fields["email"][0]
    assert User.objects.filter(email__iexact=student.email).count() == 1


def test_profile_update_sets_fields_and_replaces_sets(student):
    from accounts.models import Interest, Specialty

    ortho = Specialty.objects.get(slug="orthopaedic-surgery")
    research = Interest.objects.get(slug="sports-medicine-research")
    profile = services.profile_update(
        user=student,
        data={
            "stage": Stage.MS3,
            "goals": {Goal.RESEARCH: 3},
            "specialties": [ortho],
            "interests": [research],
            "timezone": "America/Chicago",
        },
    )
    profile.refresh_from_db()
    assert profile.stage == Stage.MS3
    assert profile.goals == {"research": 3}
    assert list(profile.specialties.all()) == [ortho]
    assert list(profile.interests.all()) == [research]
    assert profile.timezone == "America/Chicago"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"stage": Stage.ATTENDING_SENIOR}, "stage"),
        ({"capacity": 3}, "capacity"),
        ({"accepting_mentees": True}, "accepting_mentees"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"goals": {"fame": 3}}, "goals"),
        ({"goals": {"research": 9}}, "goals"),
        ({"role": "physician"}, "role"),
    ],
)
def test_student_profile_update_rejects_what_does_not_fit(student, data, field):
    before = Profile.objects.get(user=student)
    with pytest.raises(ApplicationError) as excinfo:
        services.profile_update(user=student, data=data)
    assert field in excinfo.value.fields
    after = Profile.objects.get(user=student)
    assert (after.stage, after.capacity, after.timezone, after.goals) == (
        before.stage,
        before.capacity,
        before.timezone,
        before.goals,
    )
    assert User.objects.get(pk=student.pk).role == Role.STUDENT


def test_mentor_cannot_accept_mentees_with_zero_capacity(physician):
    with pytest.raises(ApplicationError) as excinfo:
        services.profile_update(user=physician, data={"accepting_mentees": True, "capacity": 0})
    assert "capacity" in excinfo.value.fields
    assert Profile.objects.get(user=physician).capacity == 3


def test_resident_can_both_mentor_and_seek_a_mentor(resident):
    services.profile_update(
        user=resident,
        data={
            "accepting_mentees": True,
            "capacity": 2,
            "strengths": [Goal.RESIDENCY_APPLICATION],
            "seeking_mentor": True,
            "goals": {Goal.RESEARCH: 3},
        },
    )
    profile = Profile.objects.get(user=resident)
    assert profile.accepting_mentees and profile.seeking_mentor
    assert profile.strengths == ["residency_application"]


def test_concordance_opt_in_keeps_its_first_date_and_is_cleared_on_withdrawal(student):
    first = services.demographics_update(user=student, gender="woman", wants_same_gender=True)
    opted_at = first.gender_opted_in_at
    assert opted_at is not None
    again = services.demographics_update(
        user=student, gender="woman", wants_same_gender=True, ethnicities=["black"]
    )
    assert again.gender_opted_in_at == opted_at
    withdrawn = services.demographics_update(user=student, gender="woman")
    assert withdrawn.wants_same_gender is False
    assert withdrawn.gender_opted_in_at is None
    assert Demographics.objects.get(user=student).ethnicities == []


def test_concordance_opt_in_needs_the_attribute(student):
    with pytest.raises(ApplicationError) as excinfo:
        services.demographics_update(user=student, wants_same_ethnicity=True)
    assert "wants_same_ethnicity" in excinfo.value.fields
    assert not Demographics.objects.filter(user=student, wants_same_ethnicity=True).exists()


def test_conflicts_are_declared_and_removed_only_by_their_mentor(physician, resident, student):
    conflict = services.conflict_declare(
        mentor=physician, description="I grade MS3 surgery", stage=Stage.MS3
    )
    with pytest.raises(ApplicationError):
        services.conflict_declare(mentor=student, description="I grade people")
    with pytest.raises(ApplicationError):
        services.conflict_remove(mentor=resident, conflict_id=conflict.pk)
    assert ConflictOfInterest.objects.filter(pk=conflict.pk).exists()
    services.conflict_remove(mentor=physician, conflict_id=conflict.pk)
    assert not ConflictOfInterest.objects.filter(pk=conflict.pk).exists()
