"""API fuzzing: schemathesis generates requests from the drf-spectacular schema and sends
them to the WSGI app in-process, as a student, a physician mentor, a coordinator (each with
a DRF token) and an anonymous visitor.

Checks on every response: no server error, and conformance to the schema (status code
documented, content type, body schema). Each case runs inside a savepoint that is rolled
back, so a write (ending a mentorship, deleting the account, signing out everywhere)
never changes what the next case sees. Valid path ids are drawn from the ids the fixture
made plus one that does not exist, so most cases reach a real object; the signed-in
personas also send invalid input (wrong types, missing fields, out-of-range values), which
must be turned away with a documented 4xx. Generation is derandomized, so a failure
reproduces on the next run.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections, transaction
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, Phase, given, settings
from rest_framework.authtoken.models import Token
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.models import Notification
from matching.models import Enrollment, PairRule, Proposal
from mentorship.models import AcademicDate
from mentorship.services import checkin_schedule, note_add
from mentorship.wsgi import application
from tests.matching.programs import run_now, trio_program
from tests.mentorship.conftest import T0, make_pair

MAX_EXAMPLES = 5  # per operation, persona and mode (valid input; invalid input)
MISSING_ID = 987654

# Operations left out, each with its reason. Everything else is fuzzed as every persona.
EXCLUDED = {
    # Sign-in with email and password: unauthenticated, throttled per address and locks
    # accounts after failed tries (django-axes), so random passwords only test the lockout.
    ("POST", "/api/v1/auth/token/"): "login throttle and account lockout",
}

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def keep_connection_open():
    """The WSGI handler closes the database connection at each request's start and end,
    and that connection holds the test's transaction (Django's test client does the same)."""
    for signal in (signals.request_started, signals.request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (signals.request_started, signals.request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def world(at, school, student, physician, coordinator) -> dict[str, Any]:
    mentorship = make_pair(at, student, physician, sign=(student, physician))
    with at(T0 + dt.timedelta(days=1)):
        checkin = checkin_schedule(
            user=student,
            mentorship_id=mentorship.pk,
            data={"scheduled_at": T0 + dt.timedelta(days=7), "agenda": "Research plans."},
        )
        note = note_add(user=student, mentorship_id=mentorship.pk, body="Bring the abstract.")
    program, people = trio_program(school, coordinator)
    Enrollment.objects.get_or_create(
        program=program, user=student, defaults={"role": Enrollment.Role.MENTEE}
    )
    run = run_now(coordinator, program)
    proposal = Proposal.objects.filter(run=run).first()
    rule = PairRule.objects.create(
        program=program,
        mentee=people["anna"],
        mentor=people["ortho"],
        kind=PairRule.Kind.EXCLUDE,
        created_by=coordinator,
    )
    date = AcademicDate.objects.create(
        institution=school, title="Match Day", date=dt.date(2027, 3, 19), prompt="Plan ahead."
    )
    notification = Notification.objects.filter(user=student).first()
    ids = {
        "program_id": program.pk,
        "run_id": run.pk,
        "proposal_id": proposal.pk if proposal else MISSING_ID,
        "rule_id": rule.pk,
        "mentorship_id": mentorship.pk,
        "checkin_id": checkin.pk,
        "note_id": note.pk,
        "profile_id": physician.profile.pk,
        "request_id": mentorship.request_id or MISSING_ID,
        "date_id": date.pk,
        "notification_id": notification.pk if notification else MISSING_ID,
        "import_id": MISSING_ID,
    }
    tokens = {
        name: Token.objects.get_or_create(user=user)[0].key
        for name, user in [
            ("student", student),
            ("physician", physician),
            ("coordinator", coordinator),
        ]
    }
    return {"ids": ids, "tokens": tokens}


def load_schema(ids: dict[str, int]) -> Any:
    raw = SchemaGenerator().get_schema(request=None, public=True)
    for item in raw["paths"].values():
        for operation in item.values():
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "path" and parameter["name"] in ids:
                    parameter["schema"] = {
                        "type": "integer",
                        "enum": [ids[parameter["name"]], MISSING_ID],
                    }
    schema = schemathesis.openapi.from_dict(raw)
    schema.app = application
    return schema


def fuzz(
    operation: Any, mode: GenerationMode, headers: dict[str, str], totals: dict[str, int]
) -> None:
    """MAX_EXAMPLES generated cases against one operation; raises on the first failure."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.generate],
    )
    def run(case: Any) -> None:
        totals["cases"] += 1
        with transaction.atomic():
            response = case.call(headers=headers)
            transaction.set_rollback(True)
        status_class = f"{response.status_code // 100}xx"
        totals[status_class] = totals.get(status_class, 0) + 1
        if response.status_code >= 500:
            totals["server_errors"] += 1
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except (Exception, BaseExceptionGroup):
            totals["non_conforming"] += 1
            raise

    run()


def test_the_api_survives_fuzzing_and_conforms_to_its_schema(world, keep_connection_open):
    schema = load_schema(world["ids"])
    totals = {"cases": 0, "server_errors": 0, "non_conforming": 0}
    failures: list[str] = []
    operations = [
        result.ok()
        for result in schema.get_all_operations()
        if (result.ok().method.upper(), result.ok().path) not in EXCLUDED
    ]
    assert len(operations) > 50

    for persona, key in [*world["tokens"].items(), ("anonymous", "")]:
        headers = {"Authorization": f"Token {key}"} if key else {}
        for operation in operations:
            # Only an operation that takes input can be sent invalid input.
            has_input = operation.body or operation.query or operation.path_parameters
            modes = list(GenerationMode) if key and has_input else [GenerationMode.POSITIVE]
            for mode in modes:
                label = f"{persona} {mode.value} {operation.method.upper()} {operation.path}"
                try:
                    fuzz(operation, mode, headers, totals)
                except (Exception, BaseExceptionGroup) as exc:
                    report = "\n    ".join(str(exc).splitlines()[:14])
                    failures.append(f"{label}: {type(exc).__name__}: {report}")

    print(
        f"\nAPI fuzz: {totals['cases']} cases over {len(operations)} operations x "
        f"{len(world['tokens']) + 1} personas; server errors: {totals['server_errors']}, "
        f"non-conforming responses: {totals['non_conforming']}; "
        f"2xx: {totals.get('2xx', 0)}, 4xx: {totals.get('4xx', 0)}; "
        f"excluded: {sorted(EXCLUDED)}"
    )
    assert not failures, "\n".join(failures)
    assert totals["cases"] >= 1000
