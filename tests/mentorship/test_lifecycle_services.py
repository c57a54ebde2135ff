"""The mentorship after accept: agreement, check-ins, pulses, notes, ending, renewal."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.db import transaction
from django.http import Http404
from django.utils import timezone

from accounts.models import Notification, Profile
from mentorship import services
from mentorship.exceptions import ApplicationError
from mentorship.models import Agreement, CheckIn, Feedback, Goal, Note, Pulse
from mentorship.selectors import mentorship_page

pytestmark = pytest.mark.django_db

TOMORROW = timezone.localdate() + dt.timedelta(days=1)


def _schedule(pair, user, *, days=7, **extra):
    data = {"scheduled_at": timezone.now() + dt.timedelta(days=days), "mode": "video", **extra}
    return services.checkin_schedule(user=user, mentorship_id=pair.pk, data=data)


def _held(checkin):
    """Pretend the check-in was an hour ago."""
    CheckIn.objects.filter(pk=checkin.pk).update(
        scheduled_at=timezone.now() - dt.timedelta(hours=1)
    )


def test_accepting_starts_a_draft_agreement_with_the_request_goals(pair):
    agreement = pair.agreement
    assert agreement.cadence == "monthly"
    assert not agreement.is_signed
    assert agreement.review_date > timezone.localdate()
    titles = list(Goal.objects.filter(mentorship=pair).values_list("title", flat=True))
    assert titles == ["Career guidance and specialty choice", "Research"]
    kinds = set(Notification.objects.values_list("user_id", "kind"))
    assert (pair.mentee_id, "mentorship.agreement_to_sign") in kinds
    assert (pair.mentor_id, "mentorship.agreement_to_sign") in kinds


def test_both_sign_and_the_other_side_is_told(
    pair, student, physician, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = services.agreement_sign(user=student, mentorship_id=pair.pk)
    assert first.mentee_signed_at and not first.is_signed
    assert mail.outbox[-1].to == [physician.email]
    assert "ready to sign" in mail.outbox[-1].subject
    with django_capture_on_commit_callbacks(execute=True):
        second = services.agreement_sign(user=physician, mentorship_id=pair.pk)
    assert second.is_signed
    assert mail.outbox[-1].to == [student.email]
    with pytest.raises(ApplicationError, match="already signed"):
        services.agreement_sign(user=student, mentorship_id=pair.pk)


def test_changing_a_signed_agreement_asks_both_to_sign_again(pair, student, physician):
    services.agreement_sign(user=student, mentorship_id=pair.pk)
    services.agreement_sign(user=physician, mentorship_id=pair.pk)
    goal = Goal.objects.filter(mentorship=pair).first()
    agreement = services.agreement_update(
        user=physician,
        mentorship_id=pair.pk,
        data={
            "cadence": "biweekly",
            "goals": [
                {"id": goal.pk, "title": goal.title, "target_date": TOMORROW.isoformat()},
                {"title": "Draft a personal statement", "target_date": ""},
            ],
        },
    )
    assert agreement.cadence == "biweekly"
    assert agreement.mentor_signed_at is None and agreement.mentee_signed_at is None
    assert Goal.objects.filter(mentorship=pair).count() == 2  # "Research" dropped
    assert Goal.objects.get(pk=goal.pk).target_date == TOMORROW


def test_a_passed_review_date_does_not_block_other_edits(pair, student):
    past = timezone.localdate() - dt.timedelta(days=3)
    Agreement.objects.filter(mentorship=pair).update(review_date=past)
    agreement = services.agreement_update(
        user=student, mentorship_id=pair.pk, data={"review_date": past, "cadence": "quarterly"}
    )
    assert agreement.cadence == "quarterly"
    with pytest.raises(ApplicationError) as error:
        services.agreement_update(
            user=student, mentorship_id=pair.pk,
            data={"review_date": past - dt.timedelta(days=1)},
        )  # fmt: skip
    assert "review_date" in error.value.fields


def test_an_unchanged_save_keeps_the_signatures(pair, student, physician):
    services.agreement_sign(user=student, mentorship_id=pair.pk)
    services.agreement_update(user=physician, mentorship_id=pair.pk, data={"cadence": "monthly"})
    assert Agreement.objects.get(mentorship=pair).mentee_signed_at is not None


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"cadence": "daily"}, "cadence"),
        ({"review_date": "2001-01-01"}, "review_date"),
        ({"review_date": "not a date"}, "review_date"),
        ({"goals": []}, "goals"),
        ({"goals": [{"title": "x", "target_date": "2001-01-01"}]}, "goals"),
        ({"goals": [{"title": f"Goal {n}"} for n in range(9)]}, "goals"),
    ],
)
def test_bad_agreement_input_is_refused_and_nothing_changes(pair, student, data, field):
    before = Agreement.objects.get(mentorship=pair).updated_at
    with pytest.raises(ApplicationError) as error:
        services.agreement_update(user=student, mentorship_id=pair.pk, data=data)
    assert field in error.value.fields
    assert Agreement.objects.get(mentorship=pair).updated_at == before
    assert Goal.objects.filter(mentorship=pair).count() == 2


def test_nobody_outside_the_pair_touches_it(pair, other_student, resident):
    for outsider in (other_student, resident):
        with pytest.raises(Http404):
            services.agreement_sign(user=outsider, mentorship_id=pair.pk)
        with pytest.raises(Http404):
            _schedule(pair, outsider)
        with pytest.raises(Http404):
            mentorship_page(user=outsider, mentorship_id=pair.pk)


def test_scheduling_sends_an_ics_invitation_to_the_other_side(
    pair, student, physician, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        checkin = _schedule(pair, student, location="https://meet.example/abc", agenda="ERAS")
    email = mail.outbox[-1]
    assert email.to == [physician.email]
    _name, content, mimetype = email.attachments[0]
    assert mimetype == "text/calendar"
    text = content.decode() if isinstance(content, bytes) else content
    assert "BEGIN:VEVENT" in text and f"checkin-{checkin.pk}@" in text
    assert "https://meet.example/abc" in text


def test_a_new_checkin_must_be_in_the_future(pair, student):
    with pytest.raises(ApplicationError) as error:
        _schedule(pair, student, days=-1)
    assert "scheduled_at" in error.value.fields
    assert not CheckIn.objects.exists()


def test_logging_a_checkin_updates_goal_progress_and_asks_both_the_pulse(pair, student, physician):
    checkin = _schedule(pair, student)
    with pytest.raises(ApplicationError, match="not happened yet"):
        services.checkin_complete(user=physician, checkin_id=checkin.pk)
    _held(checkin)
    goal = Goal.objects.filter(mentorship=pair).first()
    services.checkin_complete(
        user=physician, checkin_id=checkin.pk, goal_progress={str(goal.pk): 40},
        note="Talked about away rotations.", note_shared=True,
    )  # fmt: skip
    checkin.refresh_from_db()
    assert checkin.status == "completed" and checkin.completed_at
    assert Goal.objects.get(pk=goal.pk).progress == 40
    assert Note.objects.get(checkin=checkin).shared
    asked = Notification.objects.filter(kind="mentorship.pulse")
    assert set(asked.values_list("user_id", flat=True)) == {student.pk, physician.pk}
    with pytest.raises(ApplicationError, match="already logged"):
        services.checkin_complete(user=student, checkin_id=checkin.pk)


def test_goal_progress_outside_0_to_100_or_of_another_pair_is_refused(pair, student):
    checkin = _schedule(pair, student)
    _held(checkin)
    goal = Goal.objects.filter(mentorship=pair).first()
    for progress in ({goal.pk: 140}, {999999: 10}):
        with pytest.raises(ApplicationError):
            services.checkin_complete(user=student, checkin_id=checkin.pk, goal_progress=progress)
    assert CheckIn.objects.get(pk=checkin.pk).status == "scheduled"
    assert Goal.objects.get(pk=goal.pk).progress == 0


def _pulse_after_checkin(pair, user, answer, days_ago):
    checkin = _schedule(pair, pair.mentor)
    CheckIn.objects.filter(pk=checkin.pk).update(
        scheduled_at=timezone.now() - dt.timedelta(days=days_ago)
    )
    services.checkin_complete(user=pair.mentor, checkin_id=checkin.pk)
    return services.pulse_record(user=user, checkin_id=checkin.pk, answer=answer)


def test_two_negative_pulses_in_a_row_offer_a_rematch_once(pair, student, physician):
    _pulse_after_checkin(pair, student, "no", days_ago=40)
    _pulse_after_checkin(pair, student, "yes", days_ago=20)
    _pulse_after_checkin(pair, student, "no", days_ago=10)
    pair.refresh_from_db()
    assert pair.rematch_offered_at is None  # no, yes, no: not in a row
    _pulse_after_checkin(pair, student, "no", days_ago=1)
    pair.refresh_from_db()
    assert pair.rematch_offered_at is not None
    offered = Notification.objects.filter(kind="mentorship.rematch_offered")
    assert list(offered.values_list("user_id", flat=True)) == [student.pk]
    told = Notification.objects.get(kind="mentorship.rematch_mentor")
    assert told.user_id == physician.pk and "no" not in told.message.lower().split()
    _pulse_after_checkin(pair, student, "no", days_ago=0)
    assert Notification.objects.filter(kind="mentorship.rematch_offered").count() == 1


def test_one_pulse_per_person_per_checkin_and_only_after_it_happened(pair, student):
    checkin = _schedule(pair, student)
    with pytest.raises(ApplicationError, match="once the check-in is logged"):
        services.pulse_record(user=student, checkin_id=checkin.pk, answer="yes")
    _held(checkin)
    services.checkin_complete(user=student, checkin_id=checkin.pk)
    services.pulse_record(user=student, checkin_id=checkin.pk, answer="yes")
    with pytest.raises(ApplicationError, match="already answered"):
        services.pulse_record(user=student, checkin_id=checkin.pk, answer="no")
    with pytest.raises(ApplicationError):
        services.pulse_record(user=student, checkin_id=checkin.pk, answer="maybe")
    assert Pulse.objects.count() == 1


def test_private_notes_stay_with_their_author(pair, student, physician):
    services.note_add(
        user=student, mentorship_id=pair.pk, body="Nervous about Step 1", shared=False
    )
    services.note_add(user=student, mentorship_id=pair.pk, body="Agenda ideas", shared=True)
    seen_by_mentor = [n.body for n in mentorship_page(user=physician, mentorship_id=pair.pk).notes]
    assert seen_by_mentor == ["Agenda ideas"]
    seen_by_student = {n.body for n in mentorship_page(user=student, mentorship_id=pair.pk).notes}
    assert seen_by_student == {"Nervous about Step 1", "Agenda ideas"}
    private = Note.objects.get(shared=False)
    with pytest.raises(Http404):
        services.note_delete(user=physician, note_id=private.pk)
    services.note_delete(user=student, note_id=private.pk)
    assert not Note.objects.filter(pk=private.pk).exists()


def test_ending_frees_the_place_cancels_checkins_and_opens_the_survey(pair, student, physician):
    assert Profile.objects.get(user=physician).active_mentees == 1
    checkin = _schedule(pair, student)
    with pytest.raises(ApplicationError, match="when the mentorship ends"):
        services.feedback_submit(user=student, mentorship_id=pair.pk, rating=5, goals_met="yes")
    services.mentorship_end(user=student, mentorship_id=pair.pk, reason="goals_met")
    pair.refresh_from_db()
    assert pair.status == "ended" and pair.ended_by_id == student.pk
    assert Profile.objects.get(user=physician).active_mentees == 0
    assert CheckIn.objects.get(pk=checkin.pk).status == "cancelled"
    with pytest.raises(ApplicationError, match="has ended"):
        services.mentorship_end(user=physician, mentorship_id=pair.pk, reason="other")
    with pytest.raises(ApplicationError, match="has ended"):
        _schedule(pair, student)
    assert Profile.objects.get(user=physician).active_mentees == 0  # released once

    services.feedback_submit(
        user=student, mentorship_id=pair.pk, rating=5, goals_met="yes",
        thank_you="Thank you for the honest advice.",
    )  # fmt: skip
    assert Notification.objects.filter(user=physician, kind="mentorship.thank_you").exists()
    with pytest.raises(ApplicationError, match="already answered"):
        services.feedback_submit(user=student, mentorship_id=pair.pk, rating=4, goals_met="yes")
    page = mentorship_page(user=physician, mentorship_id=pair.pk)
    assert page.thank_you_received == "Thank you for the honest advice."
    assert Feedback.objects.count() == 1


def test_closing_survey_validates_its_answers(pair, student):
    services.mentorship_end(user=student, mentorship_id=pair.pk, reason="no_time")
    with pytest.raises(ApplicationError) as error:
        services.feedback_submit(user=student, mentorship_id=pair.pk, rating=9, goals_met="maybe")
    assert set(error.value.fields) == {"rating", "goals_met"}


def test_renewing_moves_the_review_date_later_only(pair, student):
    current = Agreement.objects.get(mentorship=pair).review_date
    with pytest.raises(ApplicationError):
        services.mentorship_renew(user=student, mentorship_id=pair.pk, review_date=current)
    later = current + dt.timedelta(days=90)
    services.mentorship_renew(user=student, mentorship_id=pair.pk, review_date=later.isoformat())
    assert Agreement.objects.get(mentorship=pair).review_date == later


def test_pay_it_forward_opens_a_place_for_those_who_can_mentor(resident, student):
    Profile.objects.filter(user=resident).update(accepting_mentees=False, capacity=0)
    profile = services.mentoring_switch_on(user=resident)
    assert profile.accepting_mentees and profile.capacity == 1
    with pytest.raises(ApplicationError, match="residency"):
        services.mentoring_switch_on(user=student)


def test_a_rolled_back_change_leaves_no_notification_and_queues_no_email(
    pair, student, django_capture_on_commit_callbacks
):
    before = Notification.objects.count()
    with (
        django_capture_on_commit_callbacks() as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        services.agreement_sign(user=student, mentorship_id=pair.pk)
        raise RuntimeError("the request failed after the service ran")
    assert Notification.objects.count() == before
    assert callbacks == []
    assert Agreement.objects.get(mentorship=pair).mentee_signed_at is None
