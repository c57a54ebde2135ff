import pytest

from accounts.choices import Role, Stage
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
