"""Every list endpoint issues the same number of queries at 1 row and at 50.

One case per list: the JSON API's lists (found from the OpenAPI schema, so a new one
fails ``test_every_api_list_has_a_case`` until it is given its case) and the main HTML
list pages. A case's builder makes ``n`` rows the requesting persona may see; the test
signs the persona in, sends the request once to warm per-process caches (content
types, the session), then counts the queries of the same request sent again. Each size
is built and measured inside a savepoint that is rolled back, so the two sizes never
see each other's rows. The response must really hold the rows (or the page of them),
so a case cannot pass by showing nothing. The module prints the figures at its end.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator

from accounts.choices import Ethnicity, Gender, Role, Stage
from accounts.models import (
    Block,
    ConflictOfInterest,
    Institution,
    Interest,
    Language,
    Notification,
    Profile,
    Specialty,
    User,
)
from matching.models import (
    Bookmark,
    Enrollment,
    ImportJob,
    MatchRun,
    MentorRequest,
    PairRule,
    Program,
    Proposal,
    Report,
    RequestMessage,
)
from matching.selectors import BROWSE_PAGE_SIZE
from mentorship.models import AcademicDate, Agreement, CheckIn, Goal, Mentorship, Note
from tests.factories import DemographicsFactory, UserFactory
from tests.matching.programs import make_program

pytestmark = pytest.mark.django_db

MANY = 50
UPCOMING_LIMIT = 20  # mentorship.apis.UpcomingCheckInListApi
NOTIFICATIONS_API_PAGE = 50  # REST_FRAMEWORK["PAGE_SIZE"]
NOTIFICATIONS_HTML_PAGE = 20  # accounts.views.NOTIFICATIONS_PER_PAGE
HOME_CHECKINS = 5  # mentorship.selectors.checkins_upcoming's default limit
RECOMMENDED = 10  # matching.selectors.recommendations_for's default k


# --- People and rows -------------------------------------------------------------------


def _person(school: Institution, role: str, name: str, **profile: Any) -> User:
    user = UserFactory(role=role, full_name=name, profile={"institution": school, **profile})
    assert isinstance(user, User)
    return user


def _student(school: Institution, name: str = "Maya Student") -> User:
    return _person(school, Role.STUDENT, name, stage=Stage.MS2)


def _coordinator(school: Institution) -> User:
    return _person(school, Role.COORDINATOR, "Cora Coordinator", stage=None)


def _taxonomy() -> tuple[Specialty, Interest, Language]:
    specialty, interest, language = (
        Specialty.objects.order_by("pk").first(),
        Interest.objects.order_by("pk").first(),
        Language.objects.order_by("pk").first(),
    )
    assert specialty and interest and language, "the taxonomy migration seeds these"
    return specialty, interest, language


def _mentors(school: Institution, n: int, prefix: str = "Mentor") -> list[User]:
    """``n`` physicians open for mentees, each with a specialty, interest and language, so
    every relation a mentor card reads is there to be read."""
    specialty, interest, language = _taxonomy()
    people = []
    for i in range(n):
        user = _person(
            school,
            Role.PHYSICIAN,
            f"Dr {prefix} {i:02d}",
            stage=Stage.ATTENDING_MID,
            capacity=3,
            accepting_mentees=True,
        )
        user.profile.specialties.add(specialty)
        user.profile.interests.add(interest)
        user.profile.languages.add(language)
        people.append(user)
    return people


def _mentees(school: Institution, n: int, prefix: str = "Mentee") -> list[User]:
    specialty, interest, _ = _taxonomy()
    people = []
    for i in range(n):
        user = _person(school, Role.STUDENT, f"{prefix} {i:02d}", stage=Stage.MS2)
        user.profile.specialties.add(specialty)
        user.profile.interests.add(interest)
        people.append(user)
    return people


def _pair(
    mentee: User,
    mentor: User,
    *,
    program: Program | None = None,
    ended: bool = False,
    signed: bool = True,
) -> Mentorship:
    """A mentorship with its agreement, as ``request_accept`` or a publish leaves it."""
    now = timezone.now()
    mentorship = Mentorship.objects.create(
        mentee=mentee,
        mentor=mentor,
        program=program,
        source=Mentorship.Source.PROGRAM if program else Mentorship.Source.REQUEST,
        status=Mentorship.Status.ENDED if ended else Mentorship.Status.ACTIVE,
        ended_at=now if ended else None,
    )
    Agreement.objects.create(
        mentorship=mentorship,
        review_date=(now + dt.timedelta(days=90)).date(),
        mentee_signed_at=now if signed else None,
        mentor_signed_at=now if signed else None,
    )
    return mentorship


def _checkin(mentorship: Mentorship, days: int, *, done: bool = False) -> CheckIn:
    when = timezone.now() + dt.timedelta(days=days)
    return CheckIn.objects.create(
        mentorship=mentorship,
        scheduled_at=when,
        status=CheckIn.Status.COMPLETED if done else CheckIn.Status.SCHEDULED,
        completed_at=when if done else None,
        agenda="Research plans",
        created_by=mentorship.mentee,
    )


def _request(
    mentee: User, mentor: User, *, status: str, slot: int | None = None, **fields: Any
) -> MentorRequest:
    """A request with one question from the mentor on it."""
    now = timezone.now()
    request = MentorRequest.objects.create(
        mentee=mentee,
        mentor=mentor,
        status=status,
        slot=slot,
        expectations="Monthly talks about research.",
        goals={"career_guidance": 2},
        sent_at=now,
        expires_at=now + dt.timedelta(days=14),
        **fields,
    )
    RequestMessage.objects.create(request=request, author=mentor, body="What is your goal?")
    return request


def _enrol(program: Program, people: list[User], role: str) -> None:
    Enrollment.objects.bulk_create(Enrollment(program=program, user=u, role=role) for u in people)


def _done_run(program: Program, number: int = 1, **fields: Any) -> MatchRun:
    return MatchRun.objects.create(
        program=program,
        number=number,
        status=MatchRun.Status.DONE,
        objective=Program.Objective.QUALITY,
        **fields,
    )


# --- Builders: (school, n) -> (persona, url) ------------------------------------------
Built = tuple[User, str]


def build_calendar(school: Institution, n: int) -> Built:
    # Institutions get the US default dates; this school's calendar is the n made here.
    AcademicDate.objects.filter(institution=school).delete()
    today = timezone.localdate()
    AcademicDate.objects.bulk_create(
        AcademicDate(
            institution=school,
            title=f"Date {i:02d}",
            date=today + dt.timedelta(days=i + 1),
            prompt="Talk about it",
            stages=[Stage.MS2],
        )
        for i in range(n)
    )
    return _coordinator(school), "/api/v1/calendar/"


def build_programs(school: Institution, n: int) -> Built:
    coordinator = _coordinator(school)
    [mentee], [mentor] = _mentees(school, 1), _mentors(school, 1)
    for i in range(n):
        program = make_program(school, coordinator, name=f"Program {i:02d}")
        _enrol(program, [mentee], Enrollment.Role.MENTEE)
        _enrol(program, [mentor], Enrollment.Role.MENTOR)
    return coordinator, "/api/v1/programs/"


def build_my_programs(school: Institution, n: int) -> Built:
    """A student's programs (the non-coordinator path, with the person's roles)."""
    coordinator, student = _coordinator(school), _student(school)
    for i in range(n):
        program = make_program(school, coordinator, name=f"Program {i:02d}")
        _enrol(program, [student], Enrollment.Role.MENTEE)
    return student, "/programs/"


def _participants(school: Institution, n: int) -> tuple[User, Program]:
    coordinator = _coordinator(school)
    program = make_program(school, coordinator)
    _enrol(program, _mentees(school, n), Enrollment.Role.MENTEE)
    _enrol(program, _mentors(school, n), Enrollment.Role.MENTOR)
    return coordinator, program


def build_participants(school: Institution, n: int) -> Built:
    coordinator, program = _participants(school, n)
    return coordinator, f"/api/v1/programs/{program.pk}/participants/"


def build_participants_page(school: Institution, n: int) -> Built:
    coordinator, program = _participants(school, n)
    return coordinator, f"/programs/{program.pk}/participants/"


def build_participants_csv(school: Institution, n: int) -> Built:
    coordinator, program = _participants(school, n)
    return coordinator, f"/api/v1/programs/{program.pk}/export/participants.csv"


def _runs_and_rules(school: Institution, n: int) -> tuple[User, Program]:
    coordinator = _coordinator(school)
    program = make_program(school, coordinator)
    mentees, mentors = _mentees(school, n), _mentors(school, n)
    _enrol(program, mentees, Enrollment.Role.MENTEE)
    _enrol(program, mentors, Enrollment.Role.MENTOR)
    for i in range(n):
        _done_run(program, i + 1, created_by=coordinator)
        PairRule.objects.create(
            program=program,
            mentee=mentees[i],
            mentor=mentors[i],
            kind=PairRule.Kind.EXCLUDE,
            created_by=coordinator,
        )
    return coordinator, program


def build_runs(school: Institution, n: int) -> Built:
    coordinator, program = _runs_and_rules(school, n)
    return coordinator, f"/api/v1/programs/{program.pk}/runs/"


def build_runs_page(school: Institution, n: int) -> Built:
    coordinator, program = _runs_and_rules(school, n)
    return coordinator, f"/programs/{program.pk}/matching/"


def build_pair_rules(school: Institution, n: int) -> Built:
    coordinator, program = _runs_and_rules(school, n)
    return coordinator, f"/api/v1/programs/{program.pk}/pair-rules/"


def _review(school: Institution, n: int) -> tuple[User, Program, MatchRun]:
    """A finished run proposing n pairs and leaving n more mentees without a mentor."""
    coordinator = _coordinator(school)
    program = make_program(school, coordinator)
    paired, waiting = _mentees(school, n, "Paired"), _mentees(school, n, "Waiting")
    mentors = _mentors(school, n)
    _enrol(program, paired + waiting, Enrollment.Role.MENTEE)
    _enrol(program, mentors, Enrollment.Role.MENTOR)
    run = _done_run(
        program,
        created_by=coordinator,
        summary={
            "participants": {
                "mentees": [u.pk for u in paired + waiting],
                "places": {str(m.pk): 1 for m in mentors},
            },
            "unmatched": {str(u.pk): "No mentor with a free place fits." for u in waiting},
        },
    )
    Proposal.objects.bulk_create(
        Proposal(run=run, mentee=mentee, mentor=mentor, score=0.8, reasons=["Same specialty"])
        for mentee, mentor in zip(paired, mentors, strict=True)
    )
    return coordinator, program, run


def build_proposals(school: Institution, n: int) -> Built:
    coordinator, program, run = _review(school, n)
    return coordinator, f"/api/v1/programs/{program.pk}/runs/{run.pk}/proposals/"


def build_run_review(school: Institution, n: int) -> Built:
    coordinator, program, run = _review(school, n)
    return coordinator, f"/programs/{program.pk}/runs/{run.pk}/"


def build_run_compare(school: Institution, n: int) -> Built:
    coordinator = _coordinator(school)
    program = make_program(school, coordinator)
    summary = {"coverage": 0.5, "groups": [{"group": "MS2", "coverage": 0.5}]}
    ids = [_done_run(program, i + 1, summary=summary).pk for i in range(n)]
    query = "&".join(f"runs={pk}" for pk in ids)
    return coordinator, f"/api/v1/programs/{program.pk}/runs/compare/?{query}"


def build_import(school: Institution, n: int) -> Built:
    coordinator = _coordinator(school)
    program = make_program(school, coordinator)
    job = ImportJob.objects.create(
        program=program,
        filename="people.csv",
        content="email\n",
        created_by=coordinator,
        status=ImportJob.Status.INVALID,
        problems=[{"row": i + 2, "field": "email", "message": "Not an email."} for i in range(n)],
    )
    return coordinator, f"/api/v1/programs/{program.pk}/imports/{job.pk}/"


def _program_pairs(school: Institution, n: int) -> tuple[User, Program]:
    coordinator = _coordinator(school)
    program = make_program(school, coordinator, status=Program.Status.PUBLISHED)
    mentees, mentors = _mentees(school, n), _mentors(school, n)
    _enrol(program, mentees, Enrollment.Role.MENTEE)
    _enrol(program, mentors, Enrollment.Role.MENTOR)
    run = _done_run(program, published_at=timezone.now())
    for mentee, mentor in zip(mentees, mentors, strict=True):
        mentorship = _pair(mentee, mentor, program=program)
        Proposal.objects.create(
            run=run, mentee=mentee, mentor=mentor, score=0.7, mentorship=mentorship
        )
        _checkin(mentorship, -3, done=True)
    return coordinator, program


def build_pairs_csv(school: Institution, n: int) -> Built:
    coordinator, program = _program_pairs(school, n)
    return coordinator, f"/api/v1/programs/{program.pk}/export/pairs.csv"


def build_dashboard(school: Institution, n: int) -> Built:
    coordinator, program = _program_pairs(school, n)
    return coordinator, f"/api/v1/programs/{program.pk}/dashboard/"


def build_equity(school: Institution, n: int) -> Built:
    coordinator, program = _program_pairs(school, n)
    for i, enrollment in enumerate(program.enrollments.filter(role=Enrollment.Role.MENTEE)):
        DemographicsFactory(
            user=enrollment.user, gender=Gender.values[i % 2], ethnicities=[Ethnicity.values[0]]
        )
    return coordinator, f"/api/v1/programs/{program.pk}/equity/"


def build_mentors(school: Institution, n: int) -> Built:
    student = _student(school)
    _mentors(school, n)
    return student, "/api/v1/mentors/"


def build_mentors_as_coordinator(school: Institution, n: int) -> Built:
    """Anyone not looking for a mentor browses without a fit score (another path)."""
    _mentors(school, n)
    return _coordinator(school), "/api/v1/mentors/"


def build_mentors_page(school: Institution, n: int) -> Built:
    student, _ = build_mentors(school, n)
    return student, "/matching/mentors/"


def _bookmarks(school: Institution, n: int) -> User:
    student = _student(school)
    Bookmark.objects.bulk_create(Bookmark(user=student, mentor=m) for m in _mentors(school, n))
    return student


def build_bookmarks(school: Institution, n: int) -> Built:
    return _bookmarks(school, n), "/api/v1/bookmarks/"


def build_saved_page(school: Institution, n: int) -> Built:
    return _bookmarks(school, n), "/matching/saved/"


def build_specialties(school: Institution, n: int) -> Built:
    Specialty.objects.all().delete()
    rows = Specialty.objects.bulk_create(
        Specialty(slug=f"specialty-{i}", name=f"Specialty {i:02d}", family="medicine")
        for i in range(n)
    )
    for row in rows:
        row.related.add(rows[0])
    return _student(school), "/api/v1/specialties/"


def build_interests(school: Institution, n: int) -> Built:
    Interest.objects.all().delete()
    Interest.objects.bulk_create(
        Interest(slug=f"interest-{i}", name=f"Interest {i:02d}", kind="clinical") for i in range(n)
    )
    return _student(school), "/api/v1/interests/"


def build_languages(school: Institution, n: int) -> Built:
    Language.objects.all().delete()
    Language.objects.bulk_create(Language(code=f"l{i}", name=f"Language {i}") for i in range(n))
    return _student(school), "/api/v1/languages/"


def build_institutions(school: Institution, n: int) -> Built:
    Profile.objects.update(institution=None)
    Institution.objects.all().delete()
    Institution.objects.bulk_create(
        Institution(name=f"School {i:02d}", slug=f"school-{i}") for i in range(n)
    )
    return _person(school, Role.STUDENT, "Maya Student", institution=None), "/api/v1/institutions/"


def build_recommendations(school: Institution, n: int) -> Built:
    student = _student(school)
    student.profile.specialties.add(_taxonomy()[0])
    _mentors(school, n)
    return student, f"/api/v1/recommendations/?k={MANY}"


def build_recommendations_page(school: Institution, n: int) -> Built:
    student, _ = build_recommendations(school, n)
    return student, "/matching/recommendations/"


def _sent(school: Institution, n: int) -> User:
    """A student's n answered requests, each declined with a mentor suggested instead."""
    student = _student(school)
    [suggested] = _mentors(school, 1, "Suggested")
    for mentor in _mentors(school, n):
        _request(
            student,
            mentor,
            status=MentorRequest.Status.DECLINED,
            decline_reason=MentorRequest.DeclineReason.BETTER_FIT,
            suggested_mentor=suggested,
            responded_at=timezone.now(),
            closed_at=timezone.now(),
        )
    return student


def build_requests(school: Institution, n: int) -> Built:
    return _sent(school, n), "/api/v1/requests/"


def build_requests_page(school: Institution, n: int) -> Built:
    return _sent(school, n), "/matching/requests/"


def _inbox(school: Institution, n: int) -> User:
    [mentor] = _mentors(school, 1, "Inbox")
    for mentee in _mentees(school, n):
        _request(mentee, mentor, status=MentorRequest.Status.PENDING, slot=1)
    return mentor


def build_inbox(school: Institution, n: int) -> Built:
    return _inbox(school, n), "/api/v1/inbox/"


def build_inbox_page(school: Institution, n: int) -> Built:
    return _inbox(school, n), "/matching/inbox/"


def build_request_thread(school: Institution, n: int) -> Built:
    """One request with n messages (the mentor's questions and the student's answers)."""
    student, [mentor] = _student(school), _mentors(school, 1)
    request = MentorRequest.objects.create(
        mentee=student,
        mentor=mentor,
        status=MentorRequest.Status.INFO_REQUESTED,
        slot=1,
        expectations="Research.",
        sent_at=timezone.now(),
    )
    RequestMessage.objects.bulk_create(
        RequestMessage(request=request, author=(mentor, student)[i % 2], body=f"Message {i}")
        for i in range(n)
    )
    return student, f"/api/v1/requests/{request.pk}/"


def _mentorships(school: Institution, n: int) -> User:
    """A student with n live and n ended mentorships."""
    student = _student(school)
    for i, mentor in enumerate(_mentors(school, 2 * n)):
        _pair(student, mentor, ended=i >= n)
    return student


def build_mentorships(school: Institution, n: int) -> Built:
    return _mentorships(school, n), "/api/v1/mentorships/"


def build_mentorships_page(school: Institution, n: int) -> Built:
    return _mentorships(school, n), "/mentorships/"


def _relationship(school: Institution, n: int) -> tuple[User, Mentorship]:
    """One mentorship with n goals, n upcoming and n past check-ins, and n notes."""
    student, [mentor] = _student(school), _mentors(school, 1)
    mentorship = _pair(student, mentor)
    for i in range(n):
        Goal.objects.create(mentorship=mentorship, title=f"Goal {i}", progress=i % 100)
        _checkin(mentorship, i + 1)
        past = _checkin(mentorship, -(i + 1), done=True)
        Note.objects.create(
            mentorship=mentorship,
            checkin=past,
            author=(student, mentor)[i % 2],
            body=f"Note {i}",
            shared=True,
        )
    return student, mentorship


def build_mentorship(school: Institution, n: int) -> Built:
    student, mentorship = _relationship(school, n)
    return student, f"/api/v1/mentorships/{mentorship.pk}/"


def build_mentorship_page(school: Institution, n: int) -> Built:
    student, mentorship = _relationship(school, n)
    return student, f"/mentorships/{mentorship.pk}/"


def build_upcoming(school: Institution, n: int) -> Built:
    student = _student(school)
    for i, mentor in enumerate(_mentors(school, n)):
        _checkin(_pair(student, mentor), i + 1)
    return student, "/api/v1/checkins/upcoming/"


def _notifications(school: Institution, n: int) -> User:
    student = _student(school)
    Notification.objects.bulk_create(
        Notification(user=student, kind="test", message=f"Notice {i}", url="/mentorships/")
        for i in range(n)
    )
    return student


def build_notifications(school: Institution, n: int) -> Built:
    return _notifications(school, n), "/api/v1/notifications/"


def build_notifications_page(school: Institution, n: int) -> Built:
    return _notifications(school, n), "/accounts/notifications/"


def _tagged_mentor(school: Institution, n: int) -> User:
    """A mentor with n specialties, interests and languages."""
    [mentor] = _mentors(school, 1)
    profile = mentor.profile
    profile.specialties.set(
        Specialty.objects.bulk_create(
            Specialty(slug=f"extra-{i}", name=f"Extra {i}", family="medicine") for i in range(n)
        )
    )
    profile.interests.set(
        Interest.objects.bulk_create(
            Interest(slug=f"extra-{i}", name=f"Extra {i}", kind="clinical") for i in range(n)
        )
    )
    profile.languages.set(
        Language.objects.bulk_create(Language(code=f"x{i}", name=f"Extra {i}") for i in range(n))
    )
    return mentor


def build_mentor_detail(school: Institution, n: int) -> Built:
    mentor = _tagged_mentor(school, n)
    return _student(school), f"/api/v1/mentors/{mentor.profile.pk}/"


def build_my_profile(school: Institution, n: int) -> Built:
    return _tagged_mentor(school, n), "/api/v1/me/profile/"


def build_export(school: Institution, n: int) -> Built:
    """A mentor's data: n of each kind of row the export lists."""
    coordinator = _coordinator(school)
    [mentor] = _mentors(school, 1, "Exported")
    mentees = _mentees(school, n)
    others = _mentors(school, n, "Other")
    for i, mentee in enumerate(mentees):
        _request(mentee, mentor, status=MentorRequest.Status.PENDING, slot=1)
        mentorship = _pair(mentee, mentor)
        Goal.objects.create(mentorship=mentorship, title="Research")
        past = _checkin(mentorship, -2, done=True)
        Note.objects.create(mentorship=mentorship, checkin=past, author=mentor, body="Well done")
        Notification.objects.create(user=mentor, kind="test", message=f"Notice {i}")
        Bookmark.objects.create(user=mentor, mentor=others[i])
        _enrol(make_program(school, coordinator, name=f"Program {i:02d}"), [mentor], "mentor")
        ConflictOfInterest.objects.create(
            mentor=mentor, institution=school, stage=Stage.MS3, description=f"Grades {i}"
        )
    return mentor, "/api/v1/me/export/"


def build_home_mentee(school: Institution, n: int) -> Built:
    """A student's dashboard: n live mentorships with agreements to sign and check-ins."""
    student = _student(school)
    for i, mentor in enumerate(_mentors(school, n)):
        _checkin(_pair(student, mentor, signed=False), i + 1)
    return student, "/"


def build_home_mentor(school: Institution, n: int) -> Built:
    """A mentor's dashboard: n mentees and n requests waiting in the inbox."""
    [mentor] = _mentors(school, 1, "Home")
    for mentee in _mentees(school, n, "Mine"):
        _pair(mentee, mentor)
    for mentee in _mentees(school, n, "Asking"):
        _request(mentee, mentor, status=MentorRequest.Status.PENDING, slot=1)
    return mentor, "/"


def _blocks_and_reports(school: Institution, n: int) -> User:
    """A mentor who blocked n students and reported a message of each."""
    [mentor] = _mentors(school, 1, "Safe")
    for mentee in _mentees(school, n):
        request = _request(mentee, mentor, status=MentorRequest.Status.PENDING, slot=1)
        message = RequestMessage.objects.create(request=request, author=mentee, body="Rude.")
        Block.objects.create(blocker=mentor, blocked=mentee)
        Report.objects.create(
            reporter=mentor,
            reported=mentee,
            request=request,
            message=message,
            reason=Report.Reason.HARASSMENT,
        )
    return mentor


def build_blocks(school: Institution, n: int) -> Built:
    return _blocks_and_reports(school, n), "/api/v1/me/blocks/"


def build_reports(school: Institution, n: int) -> Built:
    return _blocks_and_reports(school, n), "/api/v1/me/reports/"


def build_safety_page(school: Institution, n: int) -> Built:
    return _blocks_and_reports(school, n), "/matching/safety/"


def build_calendar_page(school: Institution, n: int) -> Built:
    coordinator, _ = build_calendar(school, n)
    return coordinator, "/mentorships/calendar/"


# --- What the response holds --------------------------------------------------------------
# The test client's response: the content, plus .json() and the templates' .context.
Rows = Callable[[Any], list[int]]


def _body(response: Any) -> Any:
    return response.json()


def _ctx(response: Any, key: str) -> Any:
    return response.context[key]


def json_len(response: Any) -> list[int]:
    return [len(_body(response))]


def json_keys(*keys: str) -> Rows:
    return lambda r: [len(_body(r)[key]) for key in keys]


def json_page(response: Any) -> list[int]:
    """A page of a paginated list: (rows in all, rows on this page)."""
    body = _body(response)
    return [body["count"], len(body["results"])]


def json_roles(response: Any) -> list[int]:
    roles = Counter(row["role"] for row in _body(response))
    return [roles["mentee"], roles["mentor"]]


def csv_rows(response: Any) -> list[int]:
    text = response.content.decode("utf-8-sig")
    return [len(list(csv.reader(io.StringIO(text)))) - 1]  # less the header


def page_rows(key: str) -> Rows:
    def rows(response: Any) -> list[int]:
        page = _ctx(response, key)
        page = getattr(page, "page", page)  # a MentorBrowse holds its page
        return [page.paginator.count, len(page.object_list)]

    return rows


def ctx_len(*keys: str) -> Rows:
    return lambda r: [len(_ctx(r, key)) for key in keys]


def ctx_attrs(key: str, *attrs: str) -> Rows:
    return lambda r: [len(getattr(_ctx(r, key), attr)) for attr in attrs]


def paged(size: int) -> Callable[[int], list[int]]:
    return lambda n: [n, min(n, size)]


# --- The table ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    name: str  # the URL pattern, "namespace:name"
    build: Callable[[Institution, int], Built]
    rows: Rows  # what the response holds, as row counts
    expect: Callable[[int], list[int]]  # the row counts for n rows made
    sizes: tuple[int, int] = (1, MANY)
    variant: str = ""  # tells apart two cases of one URL

    @property
    def id(self) -> str:
        return f"{self.name}[{self.variant}]" if self.variant else self.name


def each(k: int) -> Callable[[int], list[int]]:
    return lambda n: [n] * k


CASES = [
    # JSON API
    Case("api:calendar", build_calendar, json_len, each(1)),
    Case("api:programs", build_programs, json_len, each(1)),
    Case("api:program_participants", build_participants, json_roles, each(2)),
    Case("api:program_export_participants", build_participants_csv, csv_rows, lambda n: [2 * n]),
    Case("api:program_export_pairs", build_pairs_csv, csv_rows, each(1)),
    Case("api:program_runs", build_runs, json_len, each(1)),
    Case("api:program_run_proposals", build_proposals, json_keys("proposals", "unmatched"),
         each(2)),
    # A comparison takes 2 to 6 runs (runs.COMPARE_MAX).
    Case("api:program_run_compare", build_run_compare, json_keys("runs"), each(1), sizes=(2, 6)),
    Case("api:program_pair_rules", build_pair_rules, json_len, each(1)),
    Case("api:program_import", build_import, json_keys("problems"), each(1)),
    Case("api:program_dashboard", build_dashboard,
         lambda r: [_body(r)["participants"]["mentees"], _body(r)["mentorships"]["total"]],
         each(2)),
    # Groups under 5 people are suppressed: 5 is the smallest cohort with figures.
    Case("api:program_equity", build_equity, lambda r: [_body(r)["overall"]["people"]],
         each(1), sizes=(5, MANY)),
    Case("api:mentors", build_mentors, json_page, paged(BROWSE_PAGE_SIZE), variant="student"),
    Case("api:mentors", build_mentors_as_coordinator, json_page, paged(BROWSE_PAGE_SIZE),
         variant="coordinator"),
    Case("api:mentor", build_mentor_detail,
         json_keys("specialties", "interests", "languages"), each(3)),
    # Slug lists: the schema rule below only sees lists of objects, so this one is by hand.
    Case("api:my_profile", build_my_profile,
         json_keys("specialties", "interests", "languages"), each(3)),
    Case("api:bookmarks", build_bookmarks, json_page, paged(BROWSE_PAGE_SIZE)),
    Case("api:specialties", build_specialties, json_len, each(1)),
    Case("api:interests", build_interests, json_len, each(1)),
    Case("api:languages", build_languages, json_len, each(1)),
    Case("api:institutions", build_institutions, json_len, each(1)),
    Case("api:recommendations", build_recommendations, json_keys("results"), each(1)),
    Case("api:requests", build_requests, json_len, each(1)),
    Case("api:inbox", build_inbox, json_len, each(1)),
    Case("api:request", build_request_thread, json_keys("messages"), each(1)),
    Case("api:mentorships", build_mentorships, json_len, lambda n: [2 * n]),
    Case("api:mentorship", build_mentorship,
         json_keys("goals", "upcoming", "past", "notes"), each(4)),
    Case("api:checkins_upcoming", build_upcoming, json_len,
         lambda n: [min(n, UPCOMING_LIMIT)]),
    Case("api:notifications", build_notifications, json_page, paged(NOTIFICATIONS_API_PAGE)),
    Case("api:my_data_export", build_export,
         json_keys("requests", "mentorships", "notifications", "bookmarks",
                   "program_enrollments", "conflicts_declared"),
         each(6)),
    Case("api:blocks", build_blocks, json_len, each(1)),
    Case("api:reports", build_reports, json_len, each(1)),
    # HTML pages
    Case("home", build_home_mentee,
         ctx_len("my_mentors", "agreements_to_sign", "upcoming_checkins"),
         lambda n: [n, n, min(n, HOME_CHECKINS)], variant="mentee"),
    Case("home", build_home_mentor, ctx_len("my_mentees", "inbox_waiting"), each(2),
         variant="mentor"),
    Case("matching:mentors", build_mentors_page, page_rows("browse"), paged(BROWSE_PAGE_SIZE)),
    Case("matching:saved_mentors", build_saved_page, page_rows("page"),
         paged(BROWSE_PAGE_SIZE)),
    Case("matching:recommendations", build_recommendations_page,
         lambda r: [len(_ctx(r, "page").results)], lambda n: [min(n, RECOMMENDED)]),
    Case("matching:safety", build_safety_page, ctx_len("blocks", "reports"), each(2)),
    Case("matching:requests", build_requests_page, ctx_len("requests"), each(1)),
    Case("matching:inbox", build_inbox_page, ctx_len("requests"), each(1)),
    Case("programs:list", build_my_programs, ctx_len("rows"), each(1)),
    Case("programs:participants", build_participants_page, ctx_len("mentees", "mentors"),
         each(2)),
    Case("programs:runs", build_runs_page,
         lambda r: [len(_ctx(r, "page").runs), len(_ctx(r, "rules"))], each(2)),
    Case("programs:run_review", build_run_review,
         ctx_attrs("review", "proposals", "unmatched", "mentors"), each(3)),
    Case("accounts:notifications", build_notifications_page, page_rows("page"),
         paged(NOTIFICATIONS_HTML_PAGE)),
    Case("mentorships:list", build_mentorships_page, ctx_len("live", "ended"), each(2)),
    Case("mentorships:detail", build_mentorship_page,
         ctx_attrs("page", "goals", "upcoming", "past", "notes"), each(4)),
    Case("mentorships:calendar", build_calendar_page, ctx_len("dates"), each(1)),
]  # fmt: skip

# API endpoints whose GET holds a list but that have no case, each with its reason. None
# today: every list the schema shows has its case above.
EXCLUDED: dict[str, str] = {}

FIGURES: dict[str, tuple[int, int]] = {}


# --- Measuring ----------------------------------------------------------------------------


@dataclass
class Measure:
    queries: list[str]
    rows: list[int]
    expected: list[int]


def measure(case: Case, school: Institution, n: int) -> Measure:
    """Build n rows, warm up, count the queries of one request; roll everything back."""
    with transaction.atomic():
        user, url = case.build(school, n)
        client = Client()
        client.force_login(user)
        assert client.get(url).status_code == 200, url
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        result = Measure(
            [q["sql"] for q in ctx.captured_queries], case.rows(response), case.expect(n)
        )
        transaction.set_rollback(True)
    return result


def _shape(sql: str) -> str:
    """A statement with its literals taken out, so the same query for two rows is one."""
    sql = re.sub(r"\b\d+\b|'[^']*'", "?", sql)
    return re.sub(r"IN \([?, ]+\)", "IN (...)", sql)


def _difference(few: list[str], many: list[str]) -> str:
    a, b = Counter(map(_shape, few)), Counter(map(_shape, many))
    lines = [f"{b[s] - a[s]:+d}x {s[:300]}" for s in sorted(set(a) | set(b)) if a[s] != b[s]]
    return "\n".join(lines)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_query_count_does_not_grow_with_rows(case: Case, school: Institution) -> None:
    small, large = (measure(case, school, n) for n in case.sizes)
    for m, n in ((small, case.sizes[0]), (large, case.sizes[1])):
        assert m.rows == m.expected, f"{case.id} with {n} rows made shows {m.rows}"
    FIGURES[case.id] = (len(small.queries), len(large.queries))
    if len(small.queries) != len(large.queries):
        pytest.fail(
            f"{case.id}: {len(small.queries)} queries at {case.sizes[0]} rows, "
            f"{len(large.queries)} at {case.sizes[1]}:\n"
            + _difference(small.queries, large.queries)
        )


# --- Every list of the API has its case -----------------------------------------------------


def _url_names() -> dict[str, Any]:
    """URL name ("namespace:name") -> its view callback, from the resolver."""
    found: dict[str, Any] = {}

    def walk(patterns: list[Any], namespace: str) -> None:
        for p in patterns:
            if isinstance(p, URLResolver):
                walk(p.url_patterns, f"{namespace}{p.namespace}:" if p.namespace else namespace)
            elif isinstance(p, URLPattern) and p.name:
                found[f"{namespace}{p.name}"] = p.callback

    walk(get_resolver().url_patterns, "")
    return found


def _answers_get(callback: Any) -> bool:
    view_class = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
    return view_class is None or hasattr(view_class, "get")


def _holds_a_list(schema: dict[str, Any], components: dict[str, Any]) -> bool:
    """An array, or an object with an array of objects among its properties."""

    def resolved(node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node or len(node.get("allOf", [])) == 1:
            ref = node.get("$ref")
            node = components[ref.rsplit("/", 1)[1]] if ref else node["allOf"][0]
        return node

    top = resolved(schema)
    if top.get("type") == "array":
        return True
    return any(
        prop.get("type") == "array" and resolved(prop.get("items", {})).get("type") == "object"
        for prop in map(resolved, top.get("properties", {}).values())
    )


def _schema_gets() -> dict[str, bool]:
    """URL name -> whether its GET answers a list (or holds one), for every GET the
    OpenAPI schema describes."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    components = schema["components"]["schemas"]
    gets = {}
    for path, operations in schema["paths"].items():
        if "get" not in operations:
            continue
        content = operations["get"]["responses"].get("200", {}).get("content", {})
        body = content.get("application/json", {}).get("schema")
        name = resolve(re.sub(r"\{[^}]+\}", "1", path)).view_name
        gets[name] = bool(body) and _holds_a_list(body, components)
    return gets


def test_every_api_list_has_a_case() -> None:
    covered = {case.name for case in CASES}
    gets = _schema_gets()
    lists = {name for name, is_list in gets.items() if is_list}
    missing = sorted(lists - covered - set(EXCLUDED))
    assert missing == [], (
        f"give these list endpoints a case in CASES (or a reason in EXCLUDED): {missing}"
    )
    # A GET the schema does not describe cannot be judged by it: it needs a case or a reason.
    names = _url_names()
    api_gets = {
        n for n, callback in names.items() if n.startswith("api:") and _answers_get(callback)
    }
    undescribed = sorted(api_gets - set(gets) - covered - set(EXCLUDED))
    assert undescribed == [], f"GET endpoints missing from the schema: {undescribed}"
    stale = sorted((covered | set(EXCLUDED)) - set(names))
    assert stale == [], f"cases or exclusions without a URL pattern: {stale}"


@pytest.fixture(scope="module", autouse=True)
def figures(request: pytest.FixtureRequest) -> Iterator[None]:
    """Print the figures at the end of the module, past pytest's output capture."""
    yield
    if not FIGURES:
        return
    api = sum(name.startswith("api:") for name in FIGURES)
    lines = [
        f"[query counts] {len(FIGURES)} list cases ({api} API, {len(FIGURES) - api} HTML); "
        "queries per request at the small and the large size:"
    ]
    for case in CASES:
        if case.id in FIGURES:
            few, many = FIGURES[case.id]
            lines.append(
                f"[query counts]   {case.id:45} {few:3d} at {case.sizes[0]:2d} rows, "
                f"{many:3d} at {case.sizes[1]:2d}"
            )
    capture = request.config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():
        print("\n" + "\n".join(lines))
