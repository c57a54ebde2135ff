import pytest

from accounts.models import User
from matching.services import request_send
from mentorship.models import Mentorship
from mentorship.services import request_accept


@pytest.fixture
def pair(student: User, physician: User, django_capture_on_commit_callbacks) -> Mentorship:
    """A live mentorship made the normal way: the student asked, the physician accepted."""
    with django_capture_on_commit_callbacks(execute=True):
        [request] = request_send(
            mentee=student,
            mentors=[physician],
            expectations="Monthly talks about orthopaedics and research.",
            goals={"career_guidance": 3, "research": 2},
        )
        return request_accept(mentor=physician, request_id=request.pk)
