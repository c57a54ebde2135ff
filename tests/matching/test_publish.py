"""Publishing a run: every proposal becomes a mentorship with a first check-in, both
sides hear about it, all or nothing, and only once."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django.core import mail
from django.utils import timezone

from accounts.models import AuditEvent, Notification, Profile
from matching import runs
from matching.models import Enrollment, MatchRun, PairRule, Program, Proposal
from mentorship.exceptions import ApplicationError
from mentorship.models import Agreement, CheckIn, Mentorship
from mentorship.services import mentor_place_claim
from tests.conftest import api_for, client_for
from tests.matching.programs import enrol, make_program, mentee, mentor, pairs, run_now

pytestmark = pytest.mark.django_db

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")


@pytest.fixture
def trio(school, coordinator):
    """Anna and Cleo go to Dr. Cardio (2 places), Ben to Dr. Ortho (1 place, and not
    taking self-requests: the program enrolment is his consent)."""
    program = make_program(school, coordinator, name="Cardio-ortho 2027",
                           default_cadence="monthly")  # fmt: skip
    people = {
        "anna": mentee(school, "Anna", "orthopaedic-surgery", "cardiology"),
        "ben": mentee(school, "Ben", "orthopaedic-surgery"),
        "cleo": mentee(school, "Cleo", "cardiology", timezone="America/Los_Angeles"),
        "ortho": mentor(school, "Ortho", "orthopaedic-surgery", capacity=1,
                        accepting_mentees=False),
        "cardio": mentor(school, "Cardio", "cardiology", capacity=2),
    }  # fmt: skip
    enrol(program, [people["anna"], people["ben"], people["cleo"]], Enrollment.Role.MENTEE)
    enrol(program, [people["ortho"], people["cardio"]], Enrollment.Role.MENTOR)
    run = run_now(coordinator, program)
    assert pairs(run) == {("Anna", "Dr. Cardio"), ("Ben", "Dr. Ortho"), ("Cleo", "Dr. Cardio")}
    mail.outbox.clear()
    return program, run, people


def _publish(coordinator, program, run, capture):
    with capture(execute=True):
        return api_for(coordinator).post(f"/api/v1/programs/{program.pk}/runs/{run.pk}/publish/")


def test_publishing_starts_every_pair_with_agreement_checkin_and_emails(
    trio, coordinator, django_capture_on_commit_callbacks
):
    program, run, people = trio

    response = _publish(coordinator, program, run, django_capture_on_commit_callbacks)

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["mentorships"], body["skipped"], body["already_published"]) == (3, [], False)
    assert body["run"]["published_at"] is not None
    made = Mentorship.objects.filter(program=program)
    assert set(made.values_list("mentee__full_name", "mentor__full_name")) == {
        ("Anna", "Cardio"), ("Ben", "Ortho"), ("Cleo", "Cardio")
    }  # fmt: skip
    assert set(made.values_list("source", "status")) == {("program", "active")}
    assert Agreement.objects.filter(mentorship__in=made, cadence="monthly").count() == 3
    assert list(Proposal.objects.filter(run=run, mentorship__isnull=True)) == []
    assert Profile.objects.get(user=people["cardio"]).active_mentees == 2
    assert Profile.objects.get(user=people["ortho"]).active_mentees == 1

    # The first check-in: program start + one month, 17:00 where the mentee lives.
    first_day = program.starts_on + dt.timedelta(days=30)
    ben_checkin = CheckIn.objects.get(mentorship__mentee=people["ben"])
    assert ben_checkin.scheduled_at == dt.datetime.combine(first_day, dt.time(17), NEW_YORK)
    cleo_checkin = CheckIn.objects.get(mentorship__mentee=people["cleo"])
    assert cleo_checkin.scheduled_at == dt.datetime.combine(
        first_day, dt.time(17), zoneinfo.ZoneInfo("America/Los_Angeles")
    )
    assert (ben_checkin.status, ben_checkin.created_by) == ("scheduled", coordinator)

    # Both sides are told, by email (with the invitation) and in the app.
    assert len(mail.outbox) == 6
    to_ben = next(m for m in mail.outbox if m.to == [people["ben"].email])
    assert to_ben.subject == "Your mentoring match: Dr. Ortho"
    assert "Dr. Ortho is your mentor in Cardio-ortho 2027." in to_ben.body
    assert f"/mentorships/{ben_checkin.mentorship_id}/agreement/" in to_ben.body
    assert first_day.strftime("%b %-d") in to_ben.body
    assert to_ben.attachments[0][0] == "checkin.ics"
    to_ortho = next(m for m in mail.outbox if m.to == [people["ortho"].email])
    assert to_ortho.subject == "Your mentoring match: Ben"
    assert "Ben is your mentee in Cardio-ortho 2027." in to_ortho.body
    assert Notification.objects.filter(kind="mentorship.program_match").count() == 6

    program.refresh_from_db()
    assert program.status == Program.Status.PUBLISHED
    audit = AuditEvent.objects.get(action="program.publish")
    assert (audit.actor, audit.object_id, audit.institution_id) == (
        coordinator, str(program.pk), program.institution_id
    )  # fmt: skip
    assert audit.detail == {"run": run.pk, "number": 1, "mentorships": 3, "skipped": 0}


def test_publishing_twice_creates_nothing_the_second_time(
    trio, coordinator, django_capture_on_commit_callbacks
):
    program, run, _ = trio
    first = _publish(coordinator, program, run, django_capture_on_commit_callbacks)
    again = _publish(coordinator, program, run, django_capture_on_commit_callbacks)

    assert first.status_code == again.status_code == 200
    assert again.json()["already_published"] is True
    assert again.json()["mentorships"] == 3
    assert Mentorship.objects.count() == 3 and CheckIn.objects.count() == 3
    assert len(mail.outbox) == 6
    assert AuditEvent.objects.filter(action="program.publish").count() == 1


def test_publish_is_refused_and_nothing_written_when_a_mentor_filled_up(
    trio, coordinator, django_capture_on_commit_callbacks
):
    program, run, people = trio
    # Since the run, Dr. Cardio accepted two students who asked on their own.
    Profile.objects.filter(user=people["cardio"]).update(active_mentees=2)

    response = _publish(coordinator, program, run, django_capture_on_commit_callbacks)

    assert response.status_code == 409
    assert response.json() == {
        "message": "Dr. Cardio has no free place any more (they took mentees since this run). "
        "Nothing was published: run the matching again to use the places left.",
        "fields": {"mentors": ["Dr. Cardio"]},
    }
    assert not Mentorship.objects.exists() and not CheckIn.objects.exists()
    # Dr. Ortho's place, claimed before Dr. Cardio's refusal, was rolled back too.
    assert Profile.objects.get(user=people["ortho"]).active_mentees == 0
    run.refresh_from_db()
    program.refresh_from_db()
    assert (run.published_at, program.status) == (None, Program.Status.OPEN)
    assert mail.outbox == [] and not AuditEvent.objects.filter(action="program.publish").exists()
    assert not Proposal.objects.filter(mentorship__isnull=False).exists()


def test_pairs_already_in_a_mentorship_or_gone_from_the_program_are_skipped(
    trio, coordinator, django_capture_on_commit_callbacks
):
    program, run, people = trio
    Mentorship.objects.create(mentee=people["ben"], mentor=people["ortho"])
    Enrollment.objects.filter(user=people["cleo"]).delete()

    response = _publish(coordinator, program, run, django_capture_on_commit_callbacks)

    assert response.status_code == 200
    assert response.json()["mentorships"] == 1
    assert response.json()["skipped"] == [
        "Ben – Dr. Ortho: already in a mentorship together",
        "Cleo – Dr. Cardio: no longer in the program",
    ]
    assert list(Mentorship.objects.filter(program=program).values_list("mentee__full_name")) == [
        ("Anna",)
    ]
    assert len(mail.outbox) == 2


def test_once_published_no_other_run_can_publish_or_start(trio, coordinator):
    program, run, _ = trio
    second = run_now(coordinator, program, "participation")
    runs.run_publish(user=coordinator, program_id=program.pk, run_id=second.pk)

    with pytest.raises(ApplicationError) as refused:
        runs.run_publish(user=coordinator, program_id=program.pk, run_id=run.pk)
    assert str(refused.value) == (
        "Run 2 of this program is already published; another run cannot replace its matches."
    )
    with pytest.raises(ApplicationError, match="Run 2 of this program is already published"):
        runs.run_start(user=coordinator, program_id=program.pk)
    review = runs.run_review(user=coordinator, program_id=program.pk, run_id=second.pk)
    assert review.why_locked == "These matches are published: they can no longer change."
    assert not review.can_publish
    assert MatchRun.objects.filter(published_at__isnull=False).count() == 1


def test_review_changes_are_refused_after_publishing(trio, coordinator):
    program, run, _ = trio
    runs.run_publish(user=coordinator, program_id=program.pk, run_id=run.pk)
    proposal = Proposal.objects.filter(run=run).first()

    response = api_for(coordinator).post(
        f"/api/v1/programs/{program.pk}/runs/{run.pk}/proposals/{proposal.pk}/remove/"
    )

    assert response.status_code == 400
    assert response.json()["message"] == "These matches are published: they can no longer change."
    assert Proposal.objects.filter(run=run).count() == 3 and not PairRule.objects.exists()


def test_the_publish_button_asks_for_confirmation_then_publishes(trio, coordinator):
    program, run, _ = trio
    client = client_for(coordinator)
    url = f"/programs/{program.pk}/runs/{run.pk}/publish/"

    confirm = client.get(url)
    assert confirm.status_code == 200
    html = confirm.content.decode()
    assert "Publish run 1?" in html and "This starts 3 mentorships" in html
    assert f'<form method="post" action="{url}"' in html
    assert not Mentorship.objects.exists()

    done = client.post(url, follow=True)

    assert "Published: 3 mentorships started and both sides told." in done.content.decode()
    assert Mentorship.objects.filter(program=program).count() == 3


def test_a_first_checkin_is_never_in_the_past_for_a_program_already_under_way(school, coordinator):
    program = make_program(
        school, coordinator, starts_on=timezone.localdate() - dt.timedelta(days=40),
        default_cadence="biweekly",
    )  # fmt: skip
    student = mentee(school, "Late", "cardiology")

    when = runs.first_checkin_at(program, student)

    today = timezone.localdate(timezone=NEW_YORK)
    assert when == dt.datetime.combine(today + dt.timedelta(days=14), dt.time(17), NEW_YORK)


def test_self_requests_still_need_the_accepting_switch(school, physician):
    Profile.objects.filter(user=physician).update(accepting_mentees=False)

    with pytest.raises(ApplicationError):
        mentor_place_claim(mentor=physician)
    mentor_place_claim(mentor=physician, require_accepting=False)

    assert Profile.objects.get(user=physician).active_mentees == 1
