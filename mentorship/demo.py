"""Demo relationships on top of the demo people: requests answered and waiting, live
mentorships with signed agreements, check-ins, notes and pulses, and ended ones with
closing feedback. Deterministic for a seed; a no-op once any request exists.

The fixed demo logins get a story each: Maya (student) has Dr. Park as her mentor,
a check-in coming up and a request waiting with a near-peer resident; Dr. Park has
a request in her inbox; Daniel (resident) has an agreement to sign with his new
mentee and a mentor of his own.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from accounts.choices import MENTOR_ROLES, Goal, Role
from accounts.models import Institution, Profile, Specialty
from matching.models import MentorRequest

from .models import CADENCE_DAYS, Agreement, CheckIn, Feedback, Mentorship, Note, Pulse
from .models import Goal as PairGoal

DEMO_SCHOOLS = ("northlake", "riverside")
GOAL_LABELS = dict(Goal.choices)
EXPECTATIONS = [
    "I'd like help choosing between {s} and a couple of other fields, and to hear what "
    "residency is really like. A call every month or so would be ideal.",
    "I'm hoping to start a research project in {s} this year and would value advice on "
    "finding a lab and a question worth asking.",
    "I want to build a strong {s} application: away rotations, letters and what programs "
    "look for. Happy to meet when it suits your schedule.",
    "Step 1 and clerkships are weighing on me. I'd value someone who has been through it "
    "to talk about balance and whether {s} is realistic for me.",
]
SHARED_NOTES = [
    "Agreed: shadow in clinic next month; send two abstracts to read before we meet.",
    "Talked through the timeline for away rotations and who to ask for letters.",
    "Reviewed the research question; next step is an IRB-exempt chart review outline.",
    "Discussed burnout during dedicated study: fixed study hours and one free evening.",
]
PRIVATE_NOTES = [
    "Ask about how they handled the couples match.",
    "Remember: mentions feeling isolated on rotations; check in gently.",
]
THANK_YOUS = [
    "Thank you for your honesty about the application and for opening doors I didn't know existed.",
    "Our talks got me through a hard year. Thank you for making time when you had none.",
]


def _shared_specialty(student: Profile, mentor: Profile, specialties: dict[int, set[int]]) -> bool:
    return bool(specialties[student.pk] & specialties[mentor.pk])


@transaction.atomic
def seed_relationships(seed: int = 2026) -> int:
    """Create the demo relationships once. Returns how many mentorships were created."""
    if MentorRequest.objects.exists() or Mentorship.objects.exists():
        return 0
    rng = random.Random(seed)
    now = timezone.now()
    specialties: dict[int, set[int]] = defaultdict(set)
    for profile_id, specialty_id in Profile.specialties.through.objects.values_list(
        "profile_id", "specialty_id"
    ):
        specialties[profile_id].add(specialty_id)
    names = dict(Specialty.objects.values_list("id", "name"))
    story = _Story(rng, now, specialties, names)
    for institution in Institution.objects.filter(slug__in=DEMO_SCHOOLS).order_by("slug"):
        profiles = list(
            Profile.objects.filter(institution=institution, stage__isnull=False)
            .select_related("user")
            .order_by("pk")
        )
        story.school(profiles)
    story.save()
    return story.mentorships_created


class _Story:
    def __init__(
        self,
        rng: random.Random,
        now: dt.datetime,
        specialties: dict[int, set[int]],
        names: dict[int, str],
    ) -> None:
        self.rng = rng
        self.now = now
        self.specialties = specialties
        self.names = names
        self.free: dict[int, int] = {}
        self.open_slots: dict[int, list[int]] = defaultdict(lambda: [3, 2, 1])
        self.open_pairs: set[tuple[int, int]] = set()
        self.live_pairs: set[tuple[int, int]] = set()
        self.mentorships_created = 0
        self.requests: list[MentorRequest] = []
        self.pairs: list[dict[str, Any]] = []

    # --- choosing people -------------------------------------------------------------

    def school(self, profiles: list[Profile]) -> None:
        by_email = {p.user.email: p for p in profiles}
        mentors = [p for p in profiles if p.user.role in MENTOR_ROLES and p.accepting_mentees]
        for profile in mentors:
            self.free[profile.user_id] = profile.capacity
        students = [p for p in profiles if p.user.role == Role.STUDENT and p.seeking_mentor]
        maya = by_email.get("student@northlake.example")
        park = by_email.get("physician@northlake.example")
        daniel = by_email.get("resident@northlake.example")
        if maya and park and daniel:
            self._maya(maya, park, daniel, students, mentors)
        for student in students:
            if student is maya:
                continue
            roll = self.rng.random()
            mentor = self._pick_mentor(student, mentors)
            if mentor is None:
                continue
            if roll < 0.28:
                self.live(student, mentor, days_ago=self.rng.randint(10, 160))
            elif roll < 0.38:
                self.ended(student, mentor)
            elif roll < 0.50:
                self.request(student, mentor, MentorRequest.Status.DECLINED)
            elif roll < 0.56:
                self.request(student, mentor, MentorRequest.Status.EXPIRED)
            elif roll < 0.68:
                self.request(student, mentor, MentorRequest.Status.PENDING)

    def _pick_mentor(self, student: Profile, mentors: list[Profile]) -> Profile | None:
        able = [
            m for m in mentors
            if m.stage is not None and student.stage is not None and m.stage > student.stage
            and self.free.get(m.user_id, 0) > 0
            and (student.user_id, m.user_id) not in self.open_pairs | self.live_pairs
        ]  # fmt: skip
        close = [m for m in able if _shared_specialty(student, m, self.specialties)]
        pool = close or able
        return self.rng.choice(pool) if pool else None

    def _maya(
        self, maya: Profile, park: Profile, daniel: Profile, students: list[Profile],
        mentors: list[Profile],
    ) -> None:  # fmt: skip
        self.live(maya, park, days_ago=75, upcoming_in_days=4, private_note=True)
        self.request(
            maya, daniel, MentorRequest.Status.PENDING, days_ago=2, single=False,
            text="A near-peer view would help me a lot: how you planned dedicated study for "
            "Step 1 and chose your rotations. Every few weeks by video would be perfect.",
        )  # fmt: skip
        juniors = [s for s in students if s.stage is not None and s.stage <= 1 and s is not maya]
        if juniors:
            self.request(juniors[0], park, MentorRequest.Status.PENDING, days_ago=4)
            self.live(juniors[-1], daniel, days_ago=2, signed=False)
        seniors = [m for m in mentors if m.user.role == Role.PHYSICIAN and m is not park]
        if seniors:
            self.live(daniel, seniors[0], days_ago=120)

    # --- what happened ---------------------------------------------------------------

    def _request(
        self, student: Profile, mentor: Profile, status: str, sent: dt.datetime,
        text: str | None = None, single: bool = True,
    ) -> MentorRequest:  # fmt: skip
        field = self._field(student, mentor)
        request = MentorRequest(
            mentee_id=student.user_id, mentor_id=mentor.user_id, status=status,
            single_mentor=single, goals=dict(student.goals),
            expectations=text or self.rng.choice(EXPECTATIONS).format(s=field),
            cadence=self.rng.choice(["monthly", "monthly", "biweekly", "quarterly"]),
            meeting_mode=self.rng.choice(["video", "video", "in_person"]),
            sent_at=sent, expires_at=sent + dt.timedelta(days=14),
        )  # fmt: skip
        if status in MentorRequest.OPEN:
            request.slot = self.open_slots[student.user_id].pop()
            self.open_pairs.add((student.user_id, mentor.user_id))
        else:
            request.closed_at = sent + dt.timedelta(days=14)
            if status != MentorRequest.Status.EXPIRED:
                request.responded_at = sent + dt.timedelta(hours=self.rng.randint(6, 6 * 24))
                request.closed_at = request.responded_at
        if status == MentorRequest.Status.DECLINED:
            request.decline_reason = self.rng.choice(MentorRequest.DeclineReason.values)
        self.requests.append(request)
        return request

    def request(
        self, student: Profile, mentor: Profile, status: str, days_ago: int | None = None,
        text: str | None = None, single: bool = True,
    ) -> None:  # fmt: skip
        if status in MentorRequest.OPEN and not self.open_slots[student.user_id]:
            return
        days = days_ago if days_ago is not None else (
            self.rng.randint(1, 10) if status in MentorRequest.OPEN
            else self.rng.randint(20, 200)
        )  # fmt: skip
        self._request(student, mentor, status, self.now - dt.timedelta(days=days), text, single)

    def live(
        self, student: Profile, mentor: Profile, days_ago: int, upcoming_in_days: int | None = None,
        signed: bool = True, private_note: bool = False,
    ) -> None:  # fmt: skip
        if self.free.get(mentor.user_id, 0) <= 0:
            return
        self.free[mentor.user_id] -= 1
        self.live_pairs.add((student.user_id, mentor.user_id))
        started = self.now - dt.timedelta(days=days_ago)
        request = self._request(
            student, mentor, MentorRequest.Status.ACCEPTED, started - dt.timedelta(days=2)
        )
        self.pairs.append(
            dict(
                request=request, student=student, mentor=mentor, started=started, ended=None,
                signed=signed, upcoming=upcoming_in_days, private_note=private_note,
            )
        )  # fmt: skip

    def ended(self, student: Profile, mentor: Profile) -> None:
        started = self.now - dt.timedelta(days=self.rng.randint(220, 420))
        request = self._request(
            student, mentor, MentorRequest.Status.ACCEPTED, started - dt.timedelta(days=3)
        )
        self.pairs.append(
            dict(
                request=request, student=student, mentor=mentor, started=started,
                ended=started + dt.timedelta(days=self.rng.randint(120, 190)), signed=True,
                upcoming=None, private_note=False,
            )
        )  # fmt: skip

    def _local_time(self, student: Profile, day: dt.datetime) -> dt.datetime:
        """A plausible meeting time on that day in the student's own time zone."""
        zone = ZoneInfo(student.timezone)
        local = day.astimezone(zone)
        hour, minute = self.rng.choice([(7, 30), (12, 0), (17, 0), (17, 30), (18, 0)])
        return local.replace(hour=hour, minute=minute, second=0, microsecond=0)

    def _field(self, student: Profile, mentor: Profile) -> str:
        shared = self.specialties[student.pk] & self.specialties[mentor.pk]
        ids = sorted(shared or self.specialties[mentor.pk] or self.specialties[student.pk])
        return self.names[ids[0]].lower() if ids else "medicine"

    # --- writing it all --------------------------------------------------------------

    def save(self) -> None:
        MentorRequest.objects.bulk_create(self.requests)
        agreements, goals, checkins, notes_later = [], [], [], []
        for pair in self.pairs:
            mentorship = Mentorship.objects.create(
                mentee_id=pair["student"].user_id, mentor_id=pair["mentor"].user_id,
                request=pair["request"], source=Mentorship.Source.REQUEST,
                status=Mentorship.Status.ENDED if pair["ended"] else Mentorship.Status.ACTIVE,
                ended_at=pair["ended"],
                ended_by_id=pair["student"].user_id if pair["ended"] else None,
                end_reason=self.rng.choice(["goals_met", "term_over"]) if pair["ended"] else "",
            )  # fmt: skip
            Mentorship.objects.filter(pk=mentorship.pk).update(started_at=pair["started"])
            self.mentorships_created += 1
            cadence = pair["request"].cadence
            started: dt.datetime = pair["started"]
            signed_at = started + dt.timedelta(days=3) if pair["signed"] else None
            agreements.append(
                Agreement(
                    mentorship=mentorship, cadence=cadence,
                    meeting_mode=pair["request"].meeting_mode or "video",
                    scheduler=Agreement.Scheduler.MENTEE, duration=Agreement.Duration.SHORT,
                    confidentiality="What we discuss stays between us unless there is a "
                    "safety concern. Email for scheduling; no calls after 9 pm.",
                    review_date=(started + dt.timedelta(days=180)).date(),
                    mentee_signed_at=signed_at,
                    mentor_signed_at=signed_at,
                )
            )  # fmt: skip
            top = sorted(pair["student"].goals.items(), key=lambda kv: -kv[1])[:3]
            end = pair["ended"] or self.now
            elapsed = (end - started).days
            for goal, _priority in top:
                goals.append(
                    PairGoal(
                        mentorship=mentorship, title=GOAL_LABELS.get(goal, goal),
                        target_date=(started + dt.timedelta(days=150)).date(),
                        progress=min(100, 10 * round(elapsed / 18)) if pair["signed"] else 0,
                    )
                )  # fmt: skip
            if not pair["signed"]:
                continue
            step = CADENCE_DAYS[MentorRequest.Cadence(cadence)]
            day = step
            while day < elapsed - 1:
                when = self._local_time(pair["student"], started + dt.timedelta(days=day))
                checkins.append(
                    (
                        CheckIn(
                            mentorship=mentorship, scheduled_at=when, mode="video",
                            status=CheckIn.Status.COMPLETED, completed_at=when,
                            created_by_id=pair["student"].user_id,
                        ),
                        pair,
                    )
                )  # fmt: skip
                day += step
            if pair["upcoming"] is not None or (not pair["ended"] and self.rng.random() < 0.7):
                days = pair["upcoming"] or self.rng.randint(2, 25)
                when = self._local_time(pair["student"], self.now + dt.timedelta(days=days))
                checkins.append(
                    (
                        CheckIn(
                            mentorship=mentorship, scheduled_at=when, mode="video",
                            location="https://meet.example/" + str(mentorship.pk),
                            agenda="Progress on goals; next steps for the research project.",
                            created_by_id=pair["student"].user_id,
                        ),
                        pair,
                    )
                )  # fmt: skip
            if pair["ended"]:
                notes_later.append(pair | {"mentorship": mentorship})
        Agreement.objects.bulk_create(agreements)
        PairGoal.objects.bulk_create(goals)
        CheckIn.objects.bulk_create([c for c, _ in checkins])
        pulses, notes = [], []
        for checkin, pair in checkins:
            if checkin.status != CheckIn.Status.COMPLETED:
                continue
            for person in (pair["student"], pair["mentor"]):
                answer = self.rng.choices(["yes", "partly", "no"], weights=[80, 16, 4])[0]
                pulses.append(Pulse(checkin=checkin, person_id=person.user_id, answer=answer))
            if self.rng.random() < 0.5:
                notes.append(
                    Note(
                        mentorship_id=checkin.mentorship_id, checkin=checkin,
                        author_id=pair["mentor"].user_id, body=self.rng.choice(SHARED_NOTES),
                        shared=True,
                    )
                )  # fmt: skip
            if pair["private_note"]:
                notes.append(
                    Note(
                        mentorship_id=checkin.mentorship_id, checkin=checkin,
                        author_id=pair["student"].user_id, body=self.rng.choice(PRIVATE_NOTES),
                    )
                )  # fmt: skip
                pair["private_note"] = False
        Pulse.objects.bulk_create(pulses)
        Note.objects.bulk_create(notes)
        Feedback.objects.bulk_create(
            [
                Feedback(
                    mentorship=pair["mentorship"], author_id=pair["student"].user_id,
                    rating=self.rng.choices([5, 4, 3], weights=[60, 30, 10])[0],
                    goals_met=self.rng.choice(["yes", "yes", "partly"]),
                    thank_you=self.rng.choice(THANK_YOUS),
                )
                for pair in notes_later
            ]
        )  # fmt: skip
        # Places taken follow the live mentorships exactly (the check constraint holds).
        live = dict(
            Mentorship.objects.filter(status__in=Mentorship.LIVE)
            .values("mentor_id")
            .annotate(n=Count("pk"))
            .values_list("mentor_id", "n")
        )
        for mentor_id, count in live.items():
            Profile.objects.filter(user_id=mentor_id).update(active_mentees=count)
