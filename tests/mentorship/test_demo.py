import pytest
from django.core.management import call_command
from django.db.models import Count, F
from django.http import HttpRequest

from accounts.choices import Role, Stage
from accounts.demo import DEMO_LOGINS, DEMO_PASSWORD, build_people
from accounts.models import ConflictOfInterest, Demographics, Institution, Profile, User

pytestmark = pytest.mark.django_db


def test_demo_school_is_big_and_believable():
    call_command("seed_demo", "--quiet")
    northlake = Institution.objects.get(slug="northlake")
    by_role = dict(
        Profile.objects.filter(institution=northlake)
        .values_list("user__role")
        .annotate(n=Count("pk"))
    )
    assert by_role[Role.STUDENT] >= 300
    assert by_role[Role.RESIDENT] >= 80
    assert by_role[Role.PHYSICIAN] >= 120
    assert User.objects.filter(role=Role.COORDINATOR).count() == 2
    stages = set(
        Profile.objects.filter(institution=northlake, user__role=Role.STUDENT).values_list(
            "stage", flat=True
        )
    )
    assert stages == {Stage.PREMED, Stage.MS1, Stage.MS2, Stage.MS3, Stage.MS4}
    assert Profile.objects.filter(accepting_mentees=True, capacity__gte=1).count() > 100
    assert Demographics.objects.filter(wants_same_ethnicity=True).count() > 10
    assert Demographics.objects.filter(wants_same_gender=True).count() > 10
    assert ConflictOfInterest.objects.exists()
    assert Institution.objects.filter(slug="riverside").exists()


def test_demo_logins_work_with_the_documented_password(client):
    call_command("seed_demo", "--quiet")
    for email, *_ in DEMO_LOGINS:
        assert client.login(request=HttpRequest(), email=email, password=DEMO_PASSWORD), email
    assert User.objects.get(email="admin@medmentor.example").is_staff


def test_seeding_twice_changes_nothing():
    call_command("seed_demo", "--quiet")
    before = (
        User.objects.count(),
        Profile.objects.count(),
        Demographics.objects.count(),
        Profile.specialties.through.objects.count(),
    )
    call_command("seed_demo", "--quiet")
    after = (
        User.objects.count(),
        Profile.objects.count(),
        Demographics.objects.count(),
        Profile.specialties.through.objects.count(),
    )
    assert before == after


def test_demo_population_is_deterministic():
    _, first = build_people(seed=2026)
    _, second = build_people(seed=2026)
    assert [(p.email, p.stage, p.specialties) for p in first] == [
        (p.email, p.stage, p.specialties) for p in second
    ]
    _, other = build_people(seed=7)
    assert [p.email for p in first] != [p.email for p in other]


def test_demo_relationships_tell_each_login_a_story_and_keep_the_invariants():
    from django.utils import timezone

    from matching.models import MentorRequest
    from mentorship.models import CheckIn, Feedback, Mentorship

    call_command("seed_demo", "--quiet")
    maya = Mentorship.objects.get(mentee__email="student@northlake.example")
    assert maya.mentor.email == "physician@northlake.example"
    assert maya.agreement.is_signed
    assert maya.checkins.filter(status="scheduled", scheduled_at__gt=timezone.now()).exists()
    assert MentorRequest.objects.filter(
        mentee__email="student@northlake.example",
        mentor__email="resident@northlake.example",
        status="pending",
    ).exists()
    assert MentorRequest.objects.filter(
        mentor__email="physician@northlake.example", status="pending"
    ).exists()
    daniel_mentees = Mentorship.objects.filter(mentor__email="resident@northlake.example")
    assert daniel_mentees.filter(agreement__mentor_signed_at__isnull=True).exists()
    assert Mentorship.objects.filter(status="ended").count() >= 10
    assert Feedback.objects.count() >= 10
    assert CheckIn.objects.filter(status="completed").count() > 100
    # Places taken always equal the live mentorships, and never exceed capacity.
    live = dict(
        Mentorship.objects.filter(status__in=Mentorship.LIVE)
        .values_list("mentor_id")
        .annotate(n=Count("pk"))
    )
    for profile in Profile.objects.filter(active_mentees__gt=0) | Profile.objects.filter(
        user_id__in=live
    ):
        assert profile.active_mentees == live.get(profile.user_id, 0) <= profile.capacity
    # Never a mentorship across schools in the demo.
    assert not Mentorship.objects.exclude(
        mentee__profile__institution=F("mentor__profile__institution")
    ).exists()
    count = Mentorship.objects.count()
    call_command("seed_demo", "--quiet")
    assert Mentorship.objects.count() == count


def test_the_demo_school_has_a_program_enrolled_and_ready_to_match():
    from matching.models import Enrollment, Program

    call_command("seed_demo", "--quiet")
    call_command("seed_demo", "--quiet")  # idempotent
    program = Program.objects.get()
    assert program.institution.slug == "northlake" and program.status == "open"
    mentees = Enrollment.objects.filter(program=program, role="mentee")
    mentors = Enrollment.objects.filter(program=program, role="mentor")
    assert mentees.count() >= 40 and mentors.count() == 30
    # Mentees are Northlake MS1s without a mentor yet; mentors have room for them.
    assert set(mentees.values_list("user__profile__stage", flat=True)) == {Stage.MS1}
    assert not mentees.filter(user__mentorships_as_mentee__status="active").exists()
    assert not mentors.filter(user__profile__active_mentees__gte=F("user__profile__capacity"))
