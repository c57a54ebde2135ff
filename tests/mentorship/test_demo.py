import pytest
from django.core.management import call_command
from django.db.models import Count

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
        assert client.login(email=email, password=DEMO_PASSWORD), email
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
