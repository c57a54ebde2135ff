"""Every URL of the project x method x persona, in one table (after pretix's
``src/tests/api/test_permissions.py``).

The URL list comes from the resolver, so a new pattern fails
``test_every_url_pattern_is_in_the_table`` until it is given its row. Each request runs
inside a savepoint that is rolled back, so one persona's successful write never changes
what the next persona sees. What is asserted: nobody outside a row's ``allowed`` set
gets a 2xx (or a non-login redirect after a write), anonymous visitors get a redirect to
the login page or 401/403, and allowed personas never get a 5xx. The summary test prints
the figures.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.db import transaction
from django.db.models import Q
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from accounts.choices import Role, Stage
from accounts.mail import unsubscribe_token
from accounts.models import (
    Block,
    ConflictOfInterest,
    Notification,
    NotificationSettings,
    Profile,
    User,
)
from matching.models import (
    Bookmark,
    Enrollment,
    ImportJob,
    MentorRequest,
    PairRule,
    Program,
    Proposal,
    Report,
)
from matching.services import request_send
from mentorship.models import AcademicDate, CheckIn, Feedback, Mentorship, Note
from mentorship.services import (
    checkin_schedule,
    feedback_submit,
    mentorship_end,
    note_add,
)
from tests.factories import DemographicsFactory, UserFactory
from tests.matching.programs import enrol, make_program, mentee, run_now, trio_program
from tests.mentorship.conftest import make_pair

PERSONAS = ["anon", "a", "b", "c", "res", "mentor", "omentor", "coord", "ocoord", "staff"]
EVERY = frozenset(PERSONAS)
AUTH = EVERY - {"anon"}
NOBODY: frozenset[str] = frozenset()

CANARY = {
    "gender_self": "CANARY-GEN-7f3a91c2",
    "ethnicity_self": "CANARY-ETH-7f3a91c2",
    "note_a": "CANARY-NOTE-A-5b8e02",
    "note_mentor": "CANARY-NOTE-M-5b8e02",
    "feedback": "CANARY-FB-c41d77",
}
# A rare choice, so that its label in a response is evidence of a leak.
ETHNICITY_CHOICE_LABEL = "Native Hawaiian or Pacific Islander"


@dataclass
class World:
    people: dict[str, User | None]
    ids: dict[str, Any]
    sessions: dict[str, dict[str, str]] = field(default_factory=dict)
    # What each persona may see in lists: model label -> persona -> set of ids.
    visible: dict[str, dict[str, set[int]]] = field(default_factory=dict)


def build_world(school, other_school, at) -> World:
    a = UserFactory(
        email="a@test.example",
        full_name="Amy Mentee",
        role=Role.STUDENT,
        profile={"institution": school, "stage": Stage.MS2},
    )
    b = UserFactory(
        email="b@test.example",
        full_name="Bea Classmate",
        role=Role.STUDENT,
        profile={"institution": school, "stage": Stage.MS1},
    )
    c = UserFactory(
        email="c@test.example",
        full_name="Cal Outsider",
        role=Role.STUDENT,
        profile={"institution": other_school, "stage": Stage.MS2},
    )
    res = UserFactory(
        email="res@test.example",
        full_name="Rex Resident",
        role=Role.RESIDENT,
        profile={"institution": school, "stage": Stage.PGY2},
    )
    mentor = UserFactory(
        email="mentor@test.example",
        full_name="Dr Mona Mentor",
        role=Role.PHYSICIAN,
        profile={"institution": school, "stage": Stage.ATTENDING_SENIOR, "capacity": 3},
    )
    omentor = UserFactory(
        email="omentor@test.example",
        full_name="Dr Otis Other",
        role=Role.PHYSICIAN,
        profile={"institution": school, "stage": Stage.ATTENDING_SENIOR, "capacity": 3},
    )
    coord = UserFactory(
        email="coord@test.example",
        full_name="Cora Coord",
        role=Role.COORDINATOR,
        profile={"institution": school, "stage": None},
    )
    ocoord = UserFactory(
        email="ocoord@test.example",
        full_name="Olga Coord",
        role=Role.COORDINATOR,
        profile={"institution": other_school, "stage": None},
    )
    staff = UserFactory(
        email="staff@test.example",
        full_name="Stan Staff",
        role=Role.STAFF,
        is_staff=True,
        is_superuser=True,
        profile={"institution": None, "stage": None},
    )
    DemographicsFactory(
        user=a,
        gender="self_described",
        gender_self_description=CANARY["gender_self"],
        ethnicities=["pacific_islander", "self_described"],
        ethnicity_self_description=CANARY["ethnicity_self"],
    )
    # A's live mentorship with its mentor, agreement signed; a check-in and notes.
    m = make_pair(at, a, mentor, sign=(a, mentor))
    checkin = checkin_schedule(
        user=a,
        mentorship_id=m.pk,
        data={"scheduled_at": timezone.now() + dt.timedelta(days=10), "agenda": "Research"},
    )
    note_a_private = note_add(user=a, mentorship_id=m.pk, body=CANARY["note_a"], shared=False)
    note_a_shared = note_add(user=a, mentorship_id=m.pk, body="A shared note", shared=True)
    note_m_private = note_add(
        user=mentor, mentorship_id=m.pk, body=CANARY["note_mentor"], shared=False
    )
    # The resident's ended mentorship with the other mentor, with a private comment.
    ended = make_pair(at, res, omentor, sign=(res, omentor))
    mentorship_end(user=res, mentorship_id=ended.pk, reason=Mentorship.EndReason.values[0])
    feedback_submit(
        user=res,
        mentorship_id=ended.pk,
        rating=4,
        goals_met="yes",
        comment=CANARY["feedback"],
        thank_you="Thanks a lot",
    )
    # B's open request to the other mentor; C's request at the other school.
    [b_request] = request_send(
        mentee=b, mentors=[omentor], expectations="B wants advice.", goals={"career_guidance": 2}
    )
    other_mentor_c = UserFactory(
        role=Role.PHYSICIAN,
        full_name="Dr River Side",
        profile={"institution": other_school, "stage": Stage.ATTENDING_SENIOR},
    )
    [c_request] = request_send(
        mentee=c, mentors=[other_mentor_c], expectations="C asks.", goals={"career_guidance": 2}
    )
    # Program of school 1 with A enrolled, a done run with proposals, a rule, an import.
    program, trio = trio_program(school, coord)
    enrol(program, [a], Enrollment.Role.MENTEE)
    rule = PairRule.objects.create(
        program=program,
        mentee=trio["anna"],
        mentor=trio["ortho"],
        kind=PairRule.Kind.EXCLUDE,
        created_by=coord,
    )
    run = run_now(coord, program)
    proposal = Proposal.objects.filter(run=run).order_by("pk").first()
    assert proposal is not None
    job = ImportJob.objects.create(
        program=program,
        filename="p.csv",
        content="email\n",
        status=ImportJob.Status.CHECKED,
        created_by=coord,
    )
    program2 = make_program(other_school, ocoord, name="Riverside program")
    enrol(program2, [c, mentee(other_school, "Riv Mentee")], Enrollment.Role.MENTEE)
    date1 = AcademicDate.objects.create(
        institution=school, title="Step 1", date=dt.date(2027, 3, 1), prompt="Talk about Step 1"
    )
    date2 = AcademicDate.objects.create(
        institution=other_school, title="Riv Step", date=dt.date(2027, 3, 2), prompt="Riv prompt"
    )
    notif_a = Notification.objects.create(
        user=a, kind="test", message="For A only", url="/mentorships/"
    )
    Notification.objects.create(user=b, kind="test", message="For B only", url="/")
    conflict = ConflictOfInterest.objects.create(
        mentor=mentor, description="Grades MS3", institution=school, stage=Stage.MS3
    )
    Bookmark.objects.create(user=a, mentor=omentor)
    Bookmark.objects.create(user=b, mentor=mentor)
    # A blocked C (nothing else depends on it); the other mentor reported B's request.
    block = Block.objects.create(blocker=a, blocked=c)
    Report.objects.create(reporter=omentor, reported=b, request=b_request, reason="spam")

    people: dict[str, User | None] = {
        "anon": None,
        "a": a,
        "b": b,
        "c": c,
        "res": res,
        "mentor": mentor,
        "omentor": omentor,
        "coord": coord,
        "ocoord": ocoord,
        "staff": staff,
    }
    ids = {
        "mentorship": m.pk,
        "ended": ended.pk,
        "checkin": checkin.pk,
        "note_a_private": note_a_private.pk,
        "note_a_shared": note_a_shared.pk,
        "note_m_private": note_m_private.pk,
        "b_request": b_request.pk,
        "c_request": c_request.pk,
        "program": program.pk,
        "program2": program2.pk,
        "run": run.pk,
        "proposal": proposal.pk,
        "rule": rule.pk,
        "import": job.pk,
        "date": date1.pk,
        "date2": date2.pk,
        "notification": notif_a.pk,
        "conflict": conflict.pk,
        "block": block.pk,
        "anna": trio["anna"].pk,
        "cardio": trio["cardio"].pk,
        "mentor_profile": mentor.profile.pk,
        "omentor_profile": omentor.profile.pk,
        "invite_code": program.invite_code,
        "unsubscribe": unsubscribe_token(a.pk, ["reminders"]),
    }
    world = World(people=people, ids=ids)
    for name, user in people.items():
        if user is not None:
            client = Client()
            client.force_login(user)
            world.sessions[name] = {k: v.value for k, v in client.cookies.items()}
    world.visible = _visible_rows(world)
    return world


def _visible_rows(world: World) -> dict[str, dict[str, set[int]]]:
    """Per list model, the ids each persona may see (the rules of README's API table)."""
    visible: dict[str, dict[str, set[int]]] = {}
    users = {n: u for n, u in world.people.items() if u is not None}

    def per(fn) -> dict[str, set[int]]:
        return {n: set(fn(u)) for n, u in users.items()}

    visible["request"] = per(
        lambda u: MentorRequest.objects.filter(mentee=u).values_list("pk", flat=True)
    )
    visible["inbox"] = per(
        lambda u: MentorRequest.objects.filter(mentor=u).values_list("pk", flat=True)
    )
    visible["mentorship"] = per(
        lambda u: Mentorship.objects.filter(Q(mentee=u) | Q(mentor=u)).values_list("pk", flat=True)
    )
    visible["notification"] = per(
        lambda u: Notification.objects.filter(user=u).values_list("pk", flat=True)
    )
    visible["checkin"] = {
        n: set(
            CheckIn.objects.filter(mentorship__in=visible["mentorship"][n]).values_list(
                "pk", flat=True
            )
        )
        for n in users
    }

    def programs(u: User) -> list[int]:
        inst = getattr(u.profile, "institution_id", None)
        rows = set(Enrollment.objects.filter(user=u).values_list("program_id", flat=True))
        if u.role == Role.COORDINATOR:
            rows |= set(Program.objects.filter(institution_id=inst).values_list("pk", flat=True))
        return list(rows)

    visible["program"] = per(programs)
    visible["date"] = per(
        lambda u: AcademicDate.objects.filter(
            institution_id=getattr(u.profile, "institution_id", -1)
        ).values_list("pk", flat=True)
    )
    visible["block"] = per(lambda u: Block.objects.filter(blocker=u).values_list("pk", flat=True))
    visible["report"] = per(
        lambda u: Report.objects.filter(reporter=u).values_list("pk", flat=True)
    )
    visible["bookmark"] = per(
        lambda u: Bookmark.objects.filter(user=u).values_list("mentor_id", flat=True)
    )
    return visible


@pytest.fixture
def world(school, other_school, at) -> World:
    return build_world(school, other_school, at)


# --- The URL list, from the resolver ---------------------------------------------------


@dataclass(frozen=True)
class Pattern:
    name: str  # "namespace:name", or the route when unnamed
    route: str
    callback: Any
    params: tuple[str, ...]


def all_patterns() -> list[Pattern]:
    found: list[Pattern] = []

    def walk(patterns, prefix: str, namespace: str) -> None:
        for p in patterns:
            if isinstance(p, URLResolver):
                ns = namespace
                if p.namespace:
                    ns = f"{namespace}{p.namespace}:"
                walk(p.url_patterns, prefix + str(p.pattern), ns)
            elif isinstance(p, URLPattern):
                route = prefix + str(p.pattern)
                name = f"{namespace}{p.name}" if p.name else route
                params = tuple(p.pattern.converters) if hasattr(p.pattern, "converters") else ()
                found.append(Pattern(name, route, p.callback, params))

    walk(get_resolver().url_patterns, "", "")
    return found


def is_admin_url(url: str) -> bool:
    return url.startswith("/admin/")


def is_admin(p: Pattern) -> bool:
    return p.route.startswith("admin/")


def methods_of(p: Pattern) -> list[str]:
    """DRF views and class-based views declare their methods; function views get GET
    and POST (what an HTML form can send)."""
    cls = getattr(p.callback, "cls", None) or getattr(p.callback, "view_class", None)
    if cls is not None:
        names = ["get", "post", "put", "patch", "delete"]
        return [m.upper() for m in names if hasattr(cls, m)]
    return ["GET", "POST"]


# --- The table -------------------------------------------------------------------------
# name -> {method: who may (2xx/3xx)}. A method left out of a row: nobody may.
# Path parameters are filled by PARAMS (object keys in World.ids).

M_PAIR = frozenset({"a", "mentor"})
COORD = frozenset({"coord"})
MENTEES = frozenset({"a", "b", "c", "res"})
MENTORS = frozenset({"res", "mentor", "omentor"})
STAFFISH = frozenset({"coord", "ocoord", "staff"})

PARAMS = {
    "program_id": "program",
    "run_id": "run",
    "proposal_id": "proposal",
    "import_id": "import",
    "rule_id": "rule",
    "date_id": "date",
    "profile_id": "mentor_profile",
    "request_id": "b_request",
    "mentorship_id": "mentorship",
    "checkin_id": "checkin",
    "note_id": "note_a_private",
    "notification_id": "notification",
    "conflict_id": "conflict",
    "block_id": "block",
    "code": "invite_code",
    "token": "unsubscribe",
}
LITERAL = {"uidb64": "MQ", "step": "about", "action": "lock"}
PER_ROUTE_PARAMS = {
    "matching:request_action": {"action": "withdraw"},
    "mentorships:checkin_action": {"action": "cancel"},
    "accounts:password_reset_confirm": {"token": "set-password"},
    "matching:bookmark": {"profile_id": "omentor_profile"},
    "api:bookmark": {"profile_id": "omentor_profile"},
    "mentorships:accept": {},
}

B_REQ_MENTEE = frozenset({"b"})
B_REQ_MENTOR = frozenset({"omentor"})
B_REQ_BOTH = B_REQ_MENTEE | B_REQ_MENTOR

TABLE: dict[str, dict[str, frozenset[str]]] = {
    # Public and account pages
    # Read-only function views answer POST with the same page: nothing is written.
    "home": {"GET": EVERY, "POST": EVERY},
    "healthz": {"GET": EVERY, "POST": EVERY},
    "accessibility": {"GET": EVERY, "POST": EVERY},
    "mentor_detail": {"GET": AUTH, "POST": AUTH},
    "accounts:signup": {"GET": EVERY, "POST": EVERY},
    "accounts:login": {"GET": EVERY, "POST": EVERY, "PUT": EVERY},  # FormView: PUT = POST
    "accounts:login_verify": {"GET": EVERY, "POST": EVERY},
    "accounts:logout": {"POST": EVERY},
    "accounts:security": {"GET": AUTH, "POST": AUTH},
    "accounts:two_factor_setup": {"GET": STAFFISH, "POST": STAFFISH},  # who sees others' data
    "accounts:two_factor_disable": {"GET": AUTH, "POST": AUTH},
    "accounts:sign_out_everywhere": {"GET": AUTH, "POST": AUTH},
    "accounts:password_change": {"GET": AUTH, "POST": AUTH, "PUT": AUTH},
    "accounts:password_change_done": {"GET": AUTH, "POST": AUTH},
    "accounts:password_reset": {"GET": EVERY, "POST": EVERY, "PUT": EVERY},
    "accounts:password_reset_done": {"GET": EVERY, "POST": EVERY},
    "accounts:password_reset_confirm": {"GET": EVERY, "POST": EVERY, "PUT": EVERY},
    "accounts:password_reset_complete": {"GET": EVERY, "POST": EVERY},
    "accounts:profile": {"GET": AUTH, "POST": AUTH},
    "accounts:profile_step": {"GET": AUTH, "POST": AUTH},
    "accounts:conflict_add": {"GET": AUTH, "POST": AUTH},
    "accounts:conflict_delete": {"GET": NOBODY, "POST": frozenset({"mentor"})},
    "accounts:mentor_detail": {m: EVERY for m in ["GET", "POST", "PUT", "PATCH", "DELETE"]},  # 301
    "accounts:notifications": {"GET": AUTH, "POST": AUTH},
    "accounts:notification_open": {"GET": frozenset({"a"}), "POST": frozenset({"a"})},
    "accounts:notification_read_all": {"GET": AUTH, "POST": AUTH},
    "accounts:notification_settings": {"GET": AUTH, "POST": AUTH},
    "accounts:privacy": {"GET": AUTH, "POST": AUTH},
    "accounts:privacy_export": {"GET": AUTH, "POST": AUTH},
    "accounts:unsubscribe": {"GET": EVERY, "POST": EVERY},  # the signed token is the key
    # Matching pages
    "matching:recommendations": {"GET": MENTEES, "POST": MENTEES},
    "matching:recommendations_top": {"GET": MENTEES, "POST": MENTEES},
    "matching:requests": {"GET": AUTH, "POST": AUTH},
    "matching:request_new": {"GET": MENTEES, "POST": MENTEES},
    "matching:request_action": {"GET": B_REQ_MENTEE, "POST": B_REQ_MENTEE},
    "matching:inbox": {"GET": MENTORS, "POST": MENTORS},
    "matching:mentors": {"GET": AUTH, "POST": AUTH},
    "matching:mentor_search": {"GET": AUTH},  # read-only; POST answers 405
    "matching:bookmark": {"GET": AUTH, "POST": AUTH},
    "matching:saved_mentors": {"GET": AUTH, "POST": AUTH},
    "matching:request_report": {"GET": B_REQ_BOTH, "POST": B_REQ_BOTH},
    "matching:request_block": {"POST": B_REQ_BOTH},
    "matching:safety": {"GET": AUTH, "POST": AUTH},
    "matching:block_remove": {"POST": frozenset({"a"})},
    # Program pages: the school's coordinator
    "programs:list": {"GET": AUTH, "POST": AUTH},
    "programs:new": {"GET": COORD | {"ocoord"}, "POST": COORD | {"ocoord"}},
    "programs:detail": {"GET": COORD, "POST": COORD},
    "programs:join_code": {"GET": EVERY, "POST": AUTH},
    "programs:join": {"GET": EVERY, "POST": AUTH},  # the invitation link
    "programs:import_template": {"GET": COORD | {"ocoord"}, "POST": COORD | {"ocoord"}},
    **{
        f"programs:{name}": {"GET": COORD, "POST": COORD}
        for name in [
            "edit",
            "participants",
            "participant_add",
            "import_upload",
            "import_status",
            "import_confirm",
            "invite_regenerate",
            "export_participants",
            "export_pairs",
            "runs",
            "run_start",
            "run_compare",
            "pair_rule_add",
            "pair_rule_undo",
            "run_review",
            "run_progress",
            "run_proposal",
            "run_swap",
            "run_assign",
            "run_rerun",
            "run_publish",
            "dashboard",
            "equity",
        ]
    },
    # Mentorship pages: the pair
    "mentorships:list": {"GET": AUTH, "POST": AUTH},
    "mentorships:accept": {"GET": B_REQ_MENTOR, "POST": B_REQ_MENTOR},
    **{
        f"mentorships:{name}": {"GET": M_PAIR, "POST": M_PAIR}
        for name in [
            "detail",
            "agreement",
            "agreement_sign",
            "checkin_new",
            "note_add",
            "end",
            "renew",
            "feedback",
            "checkin_complete",
            "checkin_ics",
            "checkin_action",
        ]
    },
    "mentorships:note_delete": {"GET": frozenset({"a"}), "POST": frozenset({"a"})},
    "mentorships:pay_it_forward": {"GET": AUTH, "POST": AUTH},
    "mentorships:calendar": {"GET": AUTH, "POST": COORD | {"ocoord"}},  # own school
    "mentorships:calendar_edit": {"GET": COORD, "POST": COORD},
    "mentorships:calendar_remove": {"GET": COORD, "POST": COORD},
    # API docs (API_DOCS_PUBLIC is true outside production)
    "api-schema": {"GET": EVERY},
    "api-docs": {"GET": EVERY},
    # API
    "api:token": {"POST": EVERY},
    "api:me": {"GET": AUTH, "PATCH": AUTH},
    "api:my_profile": {"GET": AUTH, "PATCH": AUTH},
    "api:my_demographics": {"GET": AUTH, "PUT": AUTH},
    "api:my_notification_settings": {"GET": AUTH, "PATCH": AUTH},
    "api:my_data_export": {"GET": AUTH},
    "api:my_account_delete": {"POST": AUTH, "DELETE": AUTH},  # one's own account
    "api:calendar": {"GET": AUTH, "POST": COORD | {"ocoord"}},  # own school
    "api:calendar_date": {"PUT": COORD, "DELETE": COORD},
    "api:programs": {"GET": AUTH, "POST": COORD | {"ocoord"}},
    "api:program": {"GET": COORD, "PATCH": COORD},
    "api:program_participants": {"GET": COORD, "POST": COORD},
    "api:program_join": {"POST": AUTH},
    "api:program_invite_code": {"POST": COORD},
    "api:program_imports": {"POST": COORD},
    "api:program_import": {"GET": COORD},
    "api:program_import_confirm": {"POST": COORD},
    "api:program_export_participants": {"GET": COORD},
    "api:program_export_pairs": {"GET": COORD},
    "api:program_runs": {"GET": COORD, "POST": COORD},
    "api:program_run_compare": {"GET": COORD},
    "api:program_run": {"GET": COORD},
    "api:program_run_proposals": {"GET": COORD},
    "api:program_run_proposal_lock": {"POST": COORD},
    "api:program_run_proposal_unlock": {"POST": COORD},
    "api:program_run_proposal_remove": {"POST": COORD},
    "api:program_run_swap": {"POST": COORD},
    "api:program_run_assign": {"POST": COORD},
    "api:program_run_publish": {"POST": COORD},
    "api:program_pair_rules": {"GET": COORD, "POST": COORD},
    "api:program_pair_rule": {"DELETE": COORD},
    "api:program_dashboard": {"GET": COORD},
    "api:program_equity": {"GET": COORD},
    "api:mentors": {"GET": AUTH},
    "api:mentor": {"GET": AUTH},
    "api:mentor_track_record": {"GET": AUTH},
    "api:bookmarks": {"GET": AUTH, "POST": AUTH},
    "api:bookmark": {"DELETE": AUTH},
    "api:specialties": {"GET": AUTH},
    "api:interests": {"GET": AUTH},
    "api:languages": {"GET": AUTH},
    "api:institutions": {"GET": AUTH},
    "api:recommendations": {"GET": MENTEES},
    "api:requests": {"GET": AUTH, "POST": MENTEES},
    "api:request": {"GET": B_REQ_BOTH},
    "api:request_withdraw": {"POST": B_REQ_MENTEE},
    "api:request_decline": {"POST": B_REQ_MENTOR},
    "api:request_ask": {"POST": B_REQ_MENTOR},
    "api:request_answer": {"POST": B_REQ_MENTEE},
    "api:request_accept": {"POST": B_REQ_MENTOR},
    "api:inbox": {"GET": AUTH},
    "api:request_report": {"POST": B_REQ_BOTH},
    "api:request_block": {"POST": B_REQ_BOTH},
    "api:blocks": {"GET": AUTH},
    "api:block": {"DELETE": frozenset({"a"})},
    "api:reports": {"GET": AUTH},
    "api:mentorships": {"GET": AUTH},
    "api:mentorship": {"GET": M_PAIR},
    "api:agreement": {"PATCH": M_PAIR},
    "api:agreement_sign": {"POST": M_PAIR},
    "api:checkin_create": {"POST": M_PAIR},
    "api:note_create": {"POST": M_PAIR},
    "api:mentorship_end": {"POST": M_PAIR},
    "api:mentorship_renew": {"POST": M_PAIR},
    "api:mentorship_feedback": {"POST": M_PAIR},
    "api:checkins_upcoming": {"GET": AUTH},
    "api:checkin": {"PATCH": M_PAIR},
    "api:checkin_cancel": {"POST": M_PAIR},
    "api:checkin_complete": {"POST": M_PAIR},
    "api:checkin_pulse": {"POST": M_PAIR},
    "api:checkin_ics": {"GET": M_PAIR},
    "api:note": {"DELETE": frozenset({"a"})},
    "api:pay_it_forward": {"POST": AUTH},
    "api:notifications": {"GET": AUTH},
    "api:notification_read": {"POST": frozenset({"a"})},
    "api:notification_read_all": {"POST": AUTH},
}

# Forms that only take POST (GET answers 405).
POST_ONLY = {
    "accounts:conflict_add", "accounts:notification_open", "accounts:notification_read_all",
    "accounts:sign_out_everywhere", "accounts:two_factor_disable", "matching:bookmark",
    "matching:request_action", "mentorships:accept", "mentorships:agreement_sign",
    "matching:request_block", "matching:block_remove",
    "mentorships:checkin_action", "mentorships:checkin_new", "mentorships:note_add",
    "mentorships:note_delete", "mentorships:pay_it_forward", "mentorships:renew",
    "mentorships:calendar_remove", "programs:import_confirm", "programs:import_upload",
    "programs:invite_regenerate", "programs:pair_rule_add", "programs:pair_rule_undo",
    "programs:participant_add", "programs:run_assign", "programs:run_proposal",
    "programs:run_rerun", "programs:run_start", "programs:run_swap",
}  # fmt: skip
for _name in POST_ONLY:
    TABLE[_name] = {**TABLE[_name], "GET": NOBODY}

# Minimal valid bodies, so that a refusal is a permission decision, not a 400 on an
# empty form that hides whether the permission check would have run.
FUTURE = (timezone.now() + dt.timedelta(days=20)).isoformat()


def bodies(w: World) -> dict[str, dict[str, Any]]:
    return {
        "api:note_create": {"body": "hello", "shared": True},
        "api:checkin_create": {"scheduled_at": FUTURE},
        "api:checkin": {"agenda": "x"},
        "api:checkin_pulse": {"answer": "yes"},
        "api:checkin_complete": {"note": "done"},
        "api:mentorship_end": {"reason": Mentorship.EndReason.values[0]},
        "api:mentorship_renew": {
            "review_date": (dt.date.today() + dt.timedelta(days=90)).isoformat()
        },
        "api:mentorship_feedback": {"rating": 5, "goals_met": "yes"},
        "api:agreement": {"cadence": "monthly"},
        "api:request_decline": {"reason": MentorRequest.DeclineReason.values[0]},
        "api:programs": {"name": "New", "starts_on": "2027-01-01", "ends_on": "2027-06-01"},
        "api:program_run_assign": {"mentee": w.ids["anna"], "mentor": w.ids["cardio"]},
        "api:request_ask": {"question": "Why?"},
        "api:request_report": {"reason": "harassment"},
        "matching:request_report": {"reason": "harassment"},
        "api:request_answer": {"answer": "Because."},
        "api:program": {"name": "Renamed"},
        "api:program_participants": {"person": w.people["b"].pk, "role": "mentee"},
        "api:program_pair_rules": {
            "mentee": w.people["a"].pk,
            "mentor": w.people["omentor"].pk,
            "kind": "exclude",
        },
        "api:calendar": {"title": "T", "category": "exam", "date": "2027-04-01", "prompt": "p"},
        "api:calendar_date": {
            "title": "T",
            "category": "exam",
            "date": "2027-04-01",
            "prompt": "p",
        },
        "api:bookmarks": {"mentor": w.ids["omentor_profile"]},
        "api:requests": {"mentors": [w.ids["omentor_profile"]], "expectations": "Hi"},
        "api:program_join": {"code": w.ids["invite_code"], "role": "mentee"},
        "api:program_run_swap": {"a": w.ids["proposal"], "b": w.ids["proposal"]},
        "mentorships:note_add": {"body": "hello", "shared": "on"},
        "mentorships:renew": {"review_date": (dt.date.today() + dt.timedelta(days=90)).isoformat()},
        "mentorships:end": {"reason": Mentorship.EndReason.values[0]},
    }


def url_of(p: Pattern, w: World) -> str:
    route = p.route
    overrides = PER_ROUTE_PARAMS.get(p.name, {})
    for param in p.params:
        if param in overrides:
            key = overrides[param]
            value = w.ids.get(key, key)
        elif param in PARAMS:
            value = w.ids[PARAMS[param]]
        else:
            value = LITERAL[param]
        route = route.replace(f"<int:{param}>", str(value))
        route = route.replace(f"<str:{param}>", str(value))
        route = route.replace(f"<slug:{param}>", str(value))
        route = route.replace(f"<{param}>", str(value))
    if p.name == "api:program_run_compare":
        route += f"?runs={w.ids['run']}&runs={w.ids['run']}"
    if p.name == "matching:mentor_search":
        route += "?field=suggested_mentor&q=mentor"
    return "/" + route


def client_as(w: World, persona: str) -> Client:
    client = Client(raise_request_exception=False)
    for key, value in w.sessions.get(persona, {}).items():
        client.cookies[key] = value
    return client


def send(w: World, persona: str, method: str, url: str, body: dict | None = None):
    """One request, rolled back afterwards."""
    client = client_as(w, persona)
    api = url.startswith("/api/")
    with transaction.atomic():
        if method == "GET":
            response = client.get(url)
        elif api:
            response = client.generic(
                method, url, json.dumps(body or {}), content_type="application/json"
            )
        else:
            response = client.generic(
                method, url, _form(body or {}), content_type="application/x-www-form-urlencoded"
            )
        transaction.set_rollback(True)
    return response


def _form(body: dict) -> str:
    from urllib.parse import urlencode

    return urlencode(body)


def _to_login(response) -> bool:
    location = response.get("Location", "")
    return response.status_code in (301, 302) and "login" in location


@dataclass
class Outcome:
    name: str
    method: str
    persona: str
    url: str
    status: int
    allowed: bool
    problem: str = ""


def judge(p: Pattern, method: str, persona: str, response, allowed: bool, url: str) -> Outcome:
    status = response.status_code
    out = Outcome(p.name, method, persona, url, status, allowed)
    if status >= 500:
        out.problem = "5xx"
    elif allowed:
        # Those allowed must get the page, not merely avoid a 5xx (writes may answer 4xx
        # to a minimal body).
        if method == "GET" and status >= 400 and not is_admin_url(url):
            if p.name == "api:program_run_compare" and status == 400:
                return out  # it needs two different runs: the permission check passed
            out.problem = "allowed GET refused"
        return out
    elif 200 <= status < 300:
        out.problem = "unauthorized 2xx"
    elif persona == "anon" and not (_to_login(response) or status in (401, 403, 404, 405)):
        out.problem = "anonymous not sent to login"
    elif 300 <= status < 400 and method != "GET" and not _to_login(response):
        out.problem = "unauthorized write redirected (as after success)"
    return out


def run_matrix(w: World) -> list[Outcome]:
    outcomes: list[Outcome] = []
    body_for = bodies(w)
    for p in all_patterns():
        if is_admin(p) or p.name not in TABLE:
            continue
        url = url_of(p, w)
        for method in methods_of(p):
            allowed_set = TABLE[p.name].get(method, NOBODY)
            for persona in PERSONAS:
                response = send(w, persona, method, url, body_for.get(p.name))
                outcomes.append(judge(p, method, persona, response, persona in allowed_set, url))
    return outcomes


def admin_outcomes(w: World) -> list[Outcome]:
    """The admin: every pattern without object parameters, staff only."""
    outcomes = []
    for p in all_patterns():
        if not is_admin(p) or p.params or "<" in p.route or "(?P" in p.route:
            continue
        url = "/" + p.route.replace("^", "").replace("$", "")
        for persona in PERSONAS:
            response = send(w, persona, "GET", url)
            allowed = persona == "staff"
            out = judge(p, "GET", persona, response, allowed, url)
            if not allowed and 300 <= response.status_code < 400:
                out.problem = ""  # the admin sends everyone else to its own login
            outcomes.append(out)
    return outcomes


# --- The tests -------------------------------------------------------------------------


def test_every_url_pattern_is_in_the_table():
    missing = [p.name for p in all_patterns() if not is_admin(p) and p.name not in TABLE]
    stale = set(TABLE) - {p.name for p in all_patterns()}
    assert missing == [], f"add these URL patterns to TABLE: {missing}"
    assert not stale, f"TABLE rows without a URL pattern: {sorted(stale)}"


FIGURES: dict[str, Any] = {}


def test_permission_matrix(world):
    outcomes = run_matrix(world) + admin_outcomes(world)
    problems = [o for o in outcomes if o.problem]
    denied = Counter(o.status for o in outcomes if not o.allowed)
    FIGURES.update(
        requests=len(outcomes),
        patterns=len({o.name for o in outcomes}),
        unauthorized_2xx=sum(o.problem == "unauthorized 2xx" for o in outcomes),
        server_errors=sum(o.problem == "5xx" for o in outcomes),
        other_problems=sum(o.problem not in ("", "unauthorized 2xx", "5xx") for o in outcomes),
        denied_statuses=dict(sorted(denied.items())),
    )
    print(f"\n[matrix] {FIGURES}")
    # Refusals worth a look: a 400 to someone not allowed (validation ran before the
    # permission check), and 403 on an object URL (its existence is then not secret).
    for o in outcomes:
        if (
            not o.allowed
            and o.persona != "anon"
            and (o.status == 400 or (o.status == 403 and any(ch.isdigit() for ch in o.url)))
        ):
            print(f"[matrix] note {o.status}: {o.method} {o.url} ({o.name}) as {o.persona}")
    for o in problems:
        print(
            f"[matrix] PROBLEM {o.problem}: {o.method} {o.url} ({o.name}) as {o.persona} "
            f"-> {o.status}"
        )
    assert problems == []


# --- Lists, creates and mass assignment ------------------------------------------------

LISTS = {
    "/api/v1/requests/": "request",
    "/api/v1/inbox/": "inbox",
    "/api/v1/mentorships/": "mentorship",
    "/api/v1/notifications/": "notification",
    "/api/v1/checkins/upcoming/": "checkin",
    "/api/v1/programs/": "program",
    "/api/v1/calendar/": "date",
    "/api/v1/me/blocks/": "block",
    "/api/v1/me/reports/": "report",
}


def _rows(data: Any) -> list[dict]:
    if isinstance(data, dict):
        for key in ("results", "notifications", "items"):
            if isinstance(data.get(key), list):
                return data[key]
        raise AssertionError(f"unknown list shape: {list(data)}")
    return data


def test_lists_show_no_foreign_rows(world):
    foreign: list[str] = []
    checked = 0
    for url, kind in LISTS.items():
        for persona in PERSONAS[1:]:
            response = send(world, persona, "GET", url)
            assert response.status_code == 200, (url, persona, response.status_code)
            ids = {row["id"] for row in _rows(response.json())}
            checked += len(ids)
            extra = ids - world.visible[kind][persona]
            if extra:
                foreign.append(f"{url} as {persona}: {sorted(extra)}")
    # Bookmarks are mentor cards: the saved mentors of the persona only.
    for persona in PERSONAS[1:]:
        rows = _rows(send(world, persona, "GET", "/api/v1/bookmarks/").json())
        mine = set(
            Profile.objects.filter(
                user__in=Bookmark.objects.filter(user=world.people[persona]).values("mentor")
            ).values_list("pk", flat=True)
        )
        got = {row["mentor"]["id"] for row in rows}
        checked += len(got)
        if got - mine:
            foreign.append(f"/api/v1/bookmarks/ as {persona}: {sorted(got - mine)}")
    assert checked > 0  # the lists were not all empty
    FIGURES["list_rows_checked"] = checked
    FIGURES["foreign_rows_in_lists"] = len(foreign)
    print(f"\n[lists] rows checked {checked}, foreign rows in list responses: {len(foreign)}")
    for line in foreign:
        print(f"[lists] FOREIGN {line}")
    assert foreign == []


def _api(world: World, persona: str, method: str, url: str, body: dict, check) -> tuple[int, Any]:
    """Send a write and, before the rollback, read the database with ``check``."""
    client = client_as(world, persona)
    with transaction.atomic():
        response = client.generic(method, url, json.dumps(body), content_type="application/json")
        seen = check()
        transaction.set_rollback(True)
    return response.status_code, seen


def test_creates_referencing_foreign_objects_are_refused(world):
    p, ids = world.people, world.ids
    m = ids["mentorship"]
    riverside_mentor = User.objects.get(full_name="Dr River Side")
    program2 = Program.objects.get(pk=ids["program2"])
    cases = [
        # (what, persona, url, body, accepted-if)
        (
            "request sent on behalf of A",
            "b",
            "/api/v1/requests/",
            {"mentors": [p["res"].profile.pk], "expectations": "Hi", "mentee": p["a"].pk},
            lambda: MentorRequest.objects.filter(mentee=p["a"], mentor=p["res"]).exists(),
        ),
        (
            "note on A's mentorship by C",
            "c",
            f"/api/v1/mentorships/{m}/notes/",
            {"body": "intruder", "shared": True},
            lambda: Note.objects.filter(body="intruder").exists(),
        ),
        (
            "note on A's mentorship by the other mentor",
            "omentor",
            f"/api/v1/mentorships/{m}/notes/",
            {"body": "intruder", "shared": True},
            lambda: Note.objects.filter(body="intruder").exists(),
        ),
        (
            "note on own ended mentorship tied to A's check-in",
            "res",
            f"/api/v1/mentorships/{ids['ended']}/notes/",
            {"body": "cross-note", "checkin": ids["checkin"]},
            lambda: Note.objects.filter(body="cross-note", checkin_id=ids["checkin"]).exists(),
        ),
        (
            "check-in on A's pair by the other mentor",
            "omentor",
            f"/api/v1/mentorships/{m}/checkins/",
            {"scheduled_at": FUTURE},
            lambda: CheckIn.objects.filter(mentorship_id=m).count() > 1,
        ),
        (
            "feedback on someone else's ended mentorship",
            "a",
            f"/api/v1/mentorships/{ids['ended']}/feedback/",
            {"rating": 1, "goals_met": "no"},
            lambda: Feedback.objects.filter(author=p["a"]).exists(),
        ),
        (
            "enrol another school's student as mentee",
            "coord",
            f"/api/v1/programs/{ids['program']}/participants/",
            {"person": p["c"].pk, "role": "mentee"},
            lambda: Enrollment.objects.filter(program_id=ids["program"], user=p["c"]).exists(),
        ),
        (
            "enrol into another school's program",
            "coord",
            f"/api/v1/programs/{ids['program2']}/participants/",
            {"person": p["b"].pk, "role": "mentee"},
            lambda: Enrollment.objects.filter(program_id=ids["program2"], user=p["b"]).exists(),
        ),
        (
            "pair rule naming another school's student",
            "coord",
            f"/api/v1/programs/{ids['program']}/pair-rules/",
            {"mentee": p["c"].pk, "mentor": riverside_mentor.pk, "kind": "exclude"},
            lambda: PairRule.objects.filter(program_id=ids["program"], mentee=p["c"]).exists(),
        ),
        (
            "join another school's program as a mentee",
            "a",
            "/api/v1/programs/join/",
            {"code": program2.invite_code, "role": "mentee"},
            lambda: Enrollment.objects.filter(program=program2, user=p["a"]).exists(),
        ),
        (
            "calendar date for another school",
            "ocoord",
            "/api/v1/calendar/",
            {
                "title": "Planted",
                "category": "exam",
                "date": "2027-05-01",
                "prompt": "p",
                "institution": p["a"].profile.institution_id,
            },
            lambda: AcademicDate.objects.filter(
                title="Planted", institution_id=p["a"].profile.institution_id
            ).exists(),
        ),
        (
            "program created for another school",
            "coord",
            "/api/v1/programs/",
            {
                "name": "Planted",
                "starts_on": "2027-01-01",
                "ends_on": "2027-06-01",
                "institution": program2.institution_id,
            },
            lambda: Program.objects.filter(
                name="Planted", institution_id=program2.institution_id
            ).exists(),
        ),
        (
            "bookmark written for A",
            "b",
            "/api/v1/bookmarks/",
            {"mentor": ids["mentor_profile"], "user": p["a"].pk},
            lambda: Bookmark.objects.filter(user=p["a"], mentor=p["mentor"]).exists(),
        ),
    ]
    accepted = []
    for what, persona, url, body, was_accepted in cases:
        status, seen = _api(world, persona, "POST", url, body, was_accepted)
        print(f"[creates] {what}: {status}{' ACCEPTED' if seen else ''}")
        if seen:
            accepted.append(what)
    FIGURES["foreign_creates_accepted"] = len(accepted)
    print(
        f"[creates] creates referencing foreign objects accepted: {len(accepted)} of {len(cases)}"
    )
    assert accepted == []


def test_privileged_fields_are_not_mass_assigned(world):
    p, ids = world.people, world.ids
    a, mentor = p["a"], p["mentor"]
    other_school_id = p["c"].profile.institution_id
    own_school_id = a.profile.institution_id

    def user_row(u: User):
        return lambda: (
            User.objects.filter(pk=u.pk)
            .values("role", "is_staff", "is_superuser", "email", "is_active")
            .get()
        )

    def profile_row(u: User):
        return lambda: (
            Profile.objects.filter(user=u)
            .values("active_mentees", "capacity", "welcomed_at", "user_id")
            .get()
        )

    cases = [
        (
            "me: role, is_staff, is_superuser, email",
            "a",
            "PATCH",
            "/api/v1/me/",
            {
                "full_name": "Amy Mentee",
                "role": "coordinator",
                "is_staff": True,
                "is_superuser": True,
                "email": "hijack@test.example",
                "is_active": True,
            },
            user_row(a),
        ),
        (
            "profile: active_mentees, welcomed_at, user",
            "mentor",
            "PATCH",
            "/api/v1/me/profile/",
            {"active_mentees": 0, "welcomed_at": "2020-01-01T00:00:00Z", "user": a.pk},
            profile_row(mentor),
        ),
        (
            "profile of others: capacity via user/id",
            "a",
            "PATCH",
            "/api/v1/me/profile/",
            {"id": mentor.profile.pk, "user": mentor.pk, "capacity": 0},
            profile_row(mentor),
        ),
        (
            "program: institution, created_by, invite_code",
            "coord",
            "PATCH",
            f"/api/v1/programs/{ids['program']}/",
            {
                "institution": other_school_id,
                "created_by": p["ocoord"].pk,
                "invite_code": "planted",
            },
            lambda: (
                Program.objects.filter(pk=ids["program"])
                .values("institution_id", "created_by_id", "invite_code")
                .get()
            ),
        ),
        (
            "calendar date: institution",
            "coord",
            "PUT",
            f"/api/v1/calendar/{ids['date']}/",
            {
                "title": "T",
                "category": "exam",
                "date": "2027-04-01",
                "prompt": "p",
                "institution": other_school_id,
            },
            lambda: AcademicDate.objects.filter(pk=ids["date"]).values("institution_id").get(),
        ),
        (
            "check-in: mentorship, created_by",
            "a",
            "PATCH",
            f"/api/v1/checkins/{ids['checkin']}/",
            {"mentorship": ids["ended"], "created_by": mentor.pk, "agenda": "Research"},
            lambda: (
                CheckIn.objects.filter(pk=ids["checkin"])
                .values("mentorship_id", "created_by_id")
                .get()
            ),
        ),
        (
            "notification settings: user",
            "b",
            "PATCH",
            "/api/v1/me/notification-settings/",
            {"user": a.pk, "checkin_lead_days": "7"},
            lambda: list(NotificationSettings.objects.filter(user=a).values("checkin_lead")),
        ),
    ]
    # A coordinator's school decides whose data they see: moving it is a tenant escape.
    cases.append(
        (
            "coordinator moves own profile to another school",
            "coord",
            "PATCH",
            "/api/v1/me/profile/",
            {"institution": other_school_id},
            lambda: Profile.objects.filter(user=p["coord"]).values("institution_id").get(),
        )
    )
    persisted = []
    for what, persona, method, url, body, read in cases:
        before = read()
        status, after = _api(world, persona, method, url, body, read)
        changed = before != after
        print(f"[mass] {what}: {status}{' PERSISTED ' + str(after) if changed else ''}")
        if changed:
            persisted.append(what)
    # A person may move to another school? Recorded, not failed: a product decision.
    status, moved = _api(
        world,
        "a",
        "PATCH",
        "/api/v1/me/profile/",
        {"institution": other_school_id},
        lambda: Profile.objects.get(user=a).institution_id != own_school_id,
    )
    print(
        f"[mass] profile institution changed to another school by its owner: {status}, "
        f"{'persisted' if moved else 'not persisted'}"
    )
    FIGURES["mass_assignment_persisted"] = len(persisted)
    print(
        f"[mass] mass-assignment of privileged fields persisted: {len(persisted)} of {len(cases)}"
    )
    assert persisted == []
