"""Private fields never leave their owner: canary values in self-descriptions, private
notes and the closing survey's comment, searched for in every GET page and endpoint (the
URL list of the permission matrix) as every persona, and in log records, Celery task
arguments and emails while the main write flows run."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections import Counter
from typing import Any

import pytest
from celery.app.task import Task
from django.core import mail
from django.utils import timezone

from matching.models import MatchRun
from mentorship.models import CheckIn
from tests.test_permission_matrix import (
    CANARY,
    ETHNICITY_CHOICE_LABEL,
    PERSONAS,
    World,
    all_patterns,
    build_world,
    client_as,
    is_admin,
    methods_of,
    send,
    url_of,
)

# Who may see each canary: its owner (the author of a note, the person described).
OWNERS = {
    "gender_self": {"a"},
    "ethnicity_self": {"a"},
    "note_a": {"a"},
    "note_mentor": {"mentor"},
    "feedback": {"res"},
}


@pytest.fixture
def world(school, other_school, at) -> World:
    return build_world(school, other_school, at)


def _body(response) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return response.content


def _get_urls(w: World) -> list[tuple[str, str]]:
    urls: list[tuple[str, str]] = []
    for p in all_patterns():
        if is_admin(p) or "GET" not in methods_of(p):
            continue
        url = url_of(p, w)
        urls.append((p.name, url))
        # Mentorship pages once more for the ended pair (its feedback, its notes).
        if "mentorship_id" in p.params:
            urls.append((p.name, url.replace(f"/{w.ids['mentorship']}/", f"/{w.ids['ended']}/")))
    # The admin's lists, where the platform's own staff look.
    for p in all_patterns():
        if is_admin(p) and not p.params and "<" not in p.route and p.route.endswith("/"):
            urls.append((p.name, "/" + p.route))
    return urls


def test_private_fields_appear_only_to_their_owner(world):
    hits: list[str] = []
    admin_hits: list[str] = []
    choice_hits: Counter[str] = Counter()
    owner_hits: Counter[str] = Counter()
    fetched = 0
    for name, url in _get_urls(world):
        for persona in PERSONAS:
            response = send(world, persona, "GET", url)
            if response.status_code >= 400:
                continue
            fetched += 1
            body = _body(response)
            for key, value in CANARY.items():
                if value.encode() not in body:
                    continue
                if persona in OWNERS[key]:
                    owner_hits[key] += 1
                elif url.startswith("/admin/") and persona == "staff":
                    admin_hits.append(f"{key} in {url}")
                else:
                    hits.append(f"{key} in {url} ({name}) as {persona}")
            if ETHNICITY_CHOICE_LABEL.encode() in body and persona != "a":
                choice_hits[f"{name} as {persona}"] += 1
    print(
        f"\n[privacy] GET responses searched: {fetched}; canary hits outside owner: "
        f"{len(hits)}; owner's own hits: {dict(owner_hits)}; staff admin hits: {len(admin_hits)}"
    )
    for line in hits:
        print(f"[privacy] LEAK {line}")
    for line in admin_hits:
        print(f"[privacy] staff admin shows {line}")
    # The label itself is no evidence: the equity view and the schema list every category.
    print(f"[privacy] rare ethnicity label outside A's pages: {dict(choice_hits)}")
    # The equity view: aggregates only, and every group under 5 (all of them here) hidden.
    equity = send(world, "coord", "GET", f"/api/v1/programs/{world.ids['program']}/equity/")
    groups = equity.json()["by_gender"] + equity.json()["by_ethnicity"]
    shown = [g["key"] for g in groups if not g["suppressed"] or g["people"] is not None]
    print(f"[privacy] equity groups under 5 shown with figures: {len(shown)} of {len(groups)}")
    assert groups and hits == [] and shown == []
    # The search is live: every canary was found where its owner looks.
    assert set(owner_hits) == set(CANARY)


def test_private_values_stay_out_of_logs_task_arguments_and_emails(
    world, caplog, monkeypatch, django_capture_on_commit_callbacks
):
    _p, ids = world.people, world.ids
    secret = {
        "demographics": "CANARY-DEMO-B-91e0aa",
        "note": "CANARY-FLOW-NOTE-3c2d",
        "checkin_note": "CANARY-FLOW-CHECKIN-88aa",
        "comment": "CANARY-FLOW-FB-4e51",
    }
    calls: list[str] = []
    original = Task.apply_async

    def recording(self, args=None, kwargs=None, *rest, **options):
        calls.append(repr((self.name, args, kwargs)))
        return original(self, args, kwargs, *rest, **options)

    monkeypatch.setattr(Task, "apply_async", recording)
    caplog.set_level(logging.DEBUG)
    for logger_name in list(logging.root.manager.loggerDict):
        logging.getLogger(logger_name).setLevel(logging.DEBUG)

    def api(persona: str, method: str, url: str, body: dict) -> Any:
        response = client_as(world, persona).generic(
            method, url, json.dumps(body), content_type="application/json"
        )
        assert response.status_code < 300, (url, response.status_code, response.content[:300])
        return response.json() if response.content else None

    m = ids["mentorship"]
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        api(
            "b",
            "PUT",
            "/api/v1/me/demographics/",
            {
                "gender": "self_described",
                "gender_self_description": secret["demographics"],
                "ethnicities": ["self_described"],
                "ethnicity_self_description": secret["demographics"],
            },
        )
        # request and accept
        api("omentor", "POST", f"/api/v1/requests/{ids['b_request']}/accept/", {})
        # note, check-in completed with a private note, pulse
        api("a", "POST", f"/api/v1/mentorships/{m}/notes/", {"body": secret["note"]})
        # The scheduled check-in took place an hour ago.
        CheckIn.objects.filter(pk=ids["checkin"]).update(
            scheduled_at=timezone.now() - dt.timedelta(hours=1)
        )
        held = {"id": ids["checkin"]}
        api(
            "a",
            "POST",
            f"/api/v1/checkins/{held['id']}/complete/",
            {"note": secret["checkin_note"], "note_shared": False},
        )
        api("a", "POST", f"/api/v1/checkins/{held['id']}/pulse/", {"answer": "no"})
        api("mentor", "POST", f"/api/v1/checkins/{held['id']}/pulse/", {"answer": "no"})
        # end and feedback
        api("a", "POST", f"/api/v1/mentorships/{m}/end/", {"reason": "goals_met"})
        api(
            "a",
            "POST",
            f"/api/v1/mentorships/{m}/feedback/",
            {"rating": 2, "goals_met": "partly", "comment": secret["comment"]},
        )
        # a new request, and a program run published
        api(
            "c",
            "POST",
            "/api/v1/requests/",
            {"mentors": [world.people["res"].profile.pk], "expectations": "Hello"},
        )
        run = MatchRun.objects.get(pk=ids["run"])
        api("coord", "POST", f"/api/v1/programs/{ids['program']}/runs/{run.pk}/publish/", {})
    values = list(secret.values()) + list(CANARY.values())
    log_text = "\n".join(
        f"{r.getMessage()} {r.args!r} {getattr(r, '__dict__', {})!r}" for r in caplog.records
    )
    task_text = "\n".join(calls)
    mail_text = "\n".join(
        f"{e.subject}\n{e.body}\n{getattr(e, 'alternatives', '')}" for e in mail.outbox
    )
    in_logs = [v for v in values if v in log_text]
    in_tasks = [v for v in values if v in task_text]
    in_mail = [v for v in values if v in mail_text]
    print(
        f"\n[privacy] write flows: {len(caplog.records)} log records, {len(calls)} task calls, "
        f"{len(mail.outbox)} emails; canaries in logs: {len(in_logs)}, in task arguments: "
        f"{len(in_tasks)}, in emails: {len(in_mail)}; loggers: "
        f"{sorted({r.name for r in caplog.records})}"
    )
    assert len(calls) > 0 and len(caplog.records) > 0 and len(mail.outbox) > 0
    assert (in_logs, in_tasks, in_mail) == ([], [], [])
