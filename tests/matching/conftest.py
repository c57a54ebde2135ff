import pytest

from accounts.choices import Role, Stage
from accounts.models import Interest, Specialty
from tests.factories import UserFactory


@pytest.fixture
def mentors(school):
    """Four attendings at the students' school, each accepting two mentees."""
    return [
        UserFactory(
            role=Role.PHYSICIAN,
            full_name=f"Mentor {n}",
            profile={
                "institution": school,
                "stage": Stage.ATTENDING_MID,
                "capacity": 2,
                "accepting_mentees": True,
            },
        )
        for n in range(4)
    ]


@pytest.fixture
def ortho():
    return Specialty.objects.get(slug="orthopaedic-surgery")


@pytest.fixture
def seeker(school, ortho):
    """An MS2 set on orthopaedics who wants research help from a senior physician."""
    user = UserFactory(
        role=Role.STUDENT,
        full_name="Sara Seeker",
        profile={
            "institution": school,
            "stage": Stage.MS2,
            "goals": {"research": 3},
            "mentor_stage_preference": "senior",
        },
    )
    user.profile.specialties.set([ortho])
    user.profile.interests.set([Interest.objects.get(slug="sports-medicine-research")])
    return user
