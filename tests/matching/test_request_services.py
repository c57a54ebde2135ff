import datetime as dt

import pytest
from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils import timezone

from accounts.choices import Role, Stage
from accounts.models import Profile
from matching import services
from matching.models import MentorRequest
from mentorship.exceptions import ApplicationError
from mentorship.models import Mentorship
from mentorship.services import request_accept
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
Status = MentorRequest.Status


def send(student, mentors, **kwargs):
    return services.request_send(
        mentee=student, mentors=mentors, expectations="Monthly calls about research.", **kwargs
    )


def test_ranked_request_sends_the_first_and_queues_the_rest(student, mentors):
    first, second = send(student, mentors[:2])
    assert (first.status, second.status) == (Status.PENDING, Status.QUEUED)
    assert first.batch == second.batch
    assert (first.rank, second.rank) == (1, 2)
    assert first.expires_at - first.sent_at == dt.timedelta(days=14)
    assert second.sent_at is None


def test_decline_passes_the_request_to_the_next_choice(student, mentors):
    first, second = send(student, mentors[:2])
    services.request_decline(
        mentor=mentors[0],
        request_id=first.pk,
        reason="not_my_field",
        note="Try an orthopaedic surgeon",
        suggested_mentor=mentors[3],
    )
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == Status.DECLINED and first.slot is None
    assert first.suggested_mentor == mentors[3]
    assert second.status == Status.PENDING and second.sent_at is not None


def test_expiry_cascades_once_even_if_the_scan_runs_twice(student, mentors):
    first, second = send(student, mentors[:2])
    later = timezone.now() + dt.timedelta(days=15)
    assert services.requests_expire_due(now=later) == 1
    assert services.requests_expire_due(now=later) == 0  # the second is fresh, not yet due
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == Status.EXPIRED
    assert second.status == Status.PENDING


def test_accept_starts_a_mentorship_claims_a_place_and_withdraws_the_rest(student, mentors):
    first, second = send(student, mentors[:2])
    services.request_decline(mentor=mentors[0], request_id=first.pk, reason="no_capacity")
    mentorship = request_accept(mentor=mentors[1], request_id=second.pk)
    assert (mentorship.mentee, mentorship.mentor) == (student, mentors[1])
    assert Profile.objects.get(user=mentors[1]).active_mentees == 1
    second.refresh_from_db()
    assert second.status == Status.ACCEPTED


def test_accepting_one_of_a_single_mentor_batch_withdraws_the_queued_ones(student, mentors):
    first, second, third = send(student, mentors[:3])
    request_accept(mentor=mentors[0], request_id=first.pk)
    statuses = set(
        MentorRequest.objects.filter(pk__in=[second.pk, third.pk]).values_list("status", flat=True)
    )
    assert statuses == {Status.WITHDRAWN}
    assert not MentorRequest.objects.filter(mentee=student, slot__isnull=False).exists()


def test_a_full_mentor_cannot_accept(student, other_student, mentors):
    Profile.objects.filter(user=mentors[0]).update(capacity=1)
    a = send(student, mentors[:1])[0]
    b = send(other_student, mentors[:1])[0]
    request_accept(mentor=mentors[0], request_id=a.pk)
    with pytest.raises(ApplicationError, match="no free place"):
        request_accept(mentor=mentors[0], request_id=b.pk)
    b.refresh_from_db()
    assert b.status == Status.PENDING
    assert Mentorship.objects.filter(mentor=mentors[0]).count() == 1
    assert Profile.objects.get(user=mentors[0]).active_mentees == 1


@pytest.mark.parametrize("closing", ["withdraw", "expire"])
def test_illegal_transitions_are_refused(student, mentors, closing):
    request = send(student, mentors[:1])[0]
    if closing == "withdraw":
        services.request_withdraw(mentee=student, request_id=request.pk)
    else:
        services.requests_expire_due(now=timezone.now() + dt.timedelta(days=15))
    with pytest.raises(ApplicationError):
        request_accept(mentor=mentors[0], request_id=request.pk)
    with pytest.raises(ApplicationError):
        services.request_decline(mentor=mentors[0], request_id=request.pk, reason="other")
    assert not Mentorship.objects.exists()


def test_only_the_addressed_mentor_can_answer(student, mentors):
    request = send(student, mentors[:1])[0]
    with pytest.raises(Http404):
        request_accept(mentor=mentors[1], request_id=request.pk)
    with pytest.raises(Http404):
        services.request_withdraw(mentee=mentors[1], request_id=request.pk)


def test_mentor_asks_for_more_and_the_student_answers_in_the_thread(student, mentors):
    request = send(student, mentors[:1])[0]
    services.request_ask_info(
        mentor=mentors[0], request_id=request.pk, question="Which research area?"
    )
    request.refresh_from_db()
    assert request.status == Status.INFO_REQUESTED
    services.request_answer(mentee=student, request_id=request.pk, answer="Sports medicine.")
    request.refresh_from_db()
    assert request.status == Status.PENDING
    assert [m.body for m in request.messages.all()] == ["Which research area?", "Sports medicine."]


def test_an_answer_after_the_deadline_gives_the_mentor_a_few_days_to_decide(student, mentors):
    request = send(student, mentors[:1])[0]
    services.request_ask_info(mentor=mentors[0], request_id=request.pk, question="Which area?")
    MentorRequest.objects.filter(pk=request.pk).update(
        expires_at=timezone.now() - dt.timedelta(hours=1)
    )
    services.request_answer(mentee=student, request_id=request.pk, answer="Sports medicine.")
    assert services.requests_expire_due() == 0
    request.refresh_from_db()
    assert request.expires_at > timezone.now() + dt.timedelta(days=2)
    mentorship = request_accept(mentor=mentors[0], request_id=request.pk)
    assert mentorship.mentee_id == student.pk


def test_at_most_three_open_requests_and_one_per_pair(student, mentors):
    send(student, mentors[:2])
    with pytest.raises(ApplicationError, match="already have an open request"):
        send(student, mentors[1:2])
    send(student, mentors[2:3])
    with pytest.raises(ApplicationError, match="at most 3 open requests"):
        send(student, mentors[3:4])
    assert MentorRequest.objects.filter(mentee=student, status__in=MentorRequest.OPEN).count() == 3


def test_the_database_refuses_a_fourth_open_request_or_a_duplicate(student, mentors):
    send(student, mentors[:3])
    with pytest.raises(IntegrityError), transaction.atomic():
        MentorRequest.objects.create(
            mentee=student, mentor=mentors[3], slot=4, status=Status.PENDING, expectations="x"
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        MentorRequest.objects.create(
            mentee=student, mentor=mentors[0], slot=None, status=Status.PENDING, expectations="x"
        )


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"expectations": " "}, "expectations"), ({"cadence": "hourly"}, "cadence")],
)
def test_bad_request_input_is_refused_and_nothing_is_written(student, mentors, kwargs, field):
    data = {"mentee": student, "mentors": mentors[:1], "expectations": "Meet monthly.", **kwargs}
    with pytest.raises(ApplicationError) as excinfo:
        services.request_send(**data)
    assert field in excinfo.value.fields
    assert not MentorRequest.objects.exists()


def test_requests_only_go_to_available_mentors_farther_along(student, mentors, school):
    peer = UserFactory(role=Role.STUDENT, profile={"institution": school, "stage": Stage.MS4})
    Profile.objects.filter(user=mentors[0]).update(accepting_mentees=False)
    with pytest.raises(ApplicationError) as excinfo:
        send(student, [mentors[0], peer])
    messages = " ".join(excinfo.value.fields["mentors"])
    assert "no free place" in messages and "is not a mentor" in messages
    assert not MentorRequest.objects.exists()


def test_capacity_cannot_drop_below_current_mentees(student, mentors):
    from accounts.services import profile_update

    request = send(student, mentors[:1])[0]
    request_accept(mentor=mentors[0], request_id=request.pk)
    with pytest.raises(ApplicationError) as excinfo:
        profile_update(user=mentors[0], data={"capacity": 0, "accepting_mentees": False})
    assert "capacity" in excinfo.value.fields
    assert Profile.objects.get(user=mentors[0]).capacity == 2


def test_each_step_emails_the_right_person_once_after_commit(
    student, mentors, django_capture_on_commit_callbacks
):
    from django.core import mail

    with django_capture_on_commit_callbacks(execute=True):
        first, second = send(student, mentors[:2])
    assert [(m.to, m.subject) for m in mail.outbox] == [
        ([mentors[0].email], "Maya Student would like you as a mentor")
    ]
    assert "Monthly calls about research." in mail.outbox[0].body
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.request_decline(
            mentor=mentors[0], request_id=first.pk, reason="no_capacity", note="Full until spring."
        )
    assert [(m.to, m.subject) for m in mail.outbox] == [
        ([student.email], "Dr. Mentor 0 can't take your request"),
        ([mentors[1].email], "Maya Student would like you as a mentor"),
    ]
    assert "Full until spring." in mail.outbox[0].body
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        request_accept(mentor=mentors[1], request_id=second.pk)
    assert [(m.to, m.subject) for m in mail.outbox] == [
        ([student.email], "Dr. Mentor 1 accepted your request")
    ]
    assert mail.outbox[0].alternatives[0][1] == "text/html"


def test_no_email_when_the_change_rolls_back(student, mentors, django_capture_on_commit_callbacks):
    from django.core import mail

    Profile.objects.filter(user=mentors[0]).update(accepting_mentees=False)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ApplicationError):
        send(student, mentors[:1])
    assert mail.outbox == []
