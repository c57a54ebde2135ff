"""Security headers on every kind of response, caching of personal data, and who may read
the API schema: a table of response types × headers, on test and production-like settings.
"""

from __future__ import annotations

import datetime as dt
import runpy
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token

from accounts.choices import Role
from accounts.models import User
from matching.models import Enrollment, Program
from tests.factories import UserFactory

pytestmark = pytest.mark.urls("tests.support.failing_urls")

EVERYWHERE = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}
CSP_DIRECTIVES = (
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
    "form-action 'self'",
)


@dataclass
class People:
    student: User
    coordinator: User
    staff: User
    program: Program


@pytest.fixture
def people(student, coordinator, school) -> People:
    today = dt.date.today()
    program = Program.objects.create(
        institution=school,
        name="Faculty mentoring 2027",
        starts_on=today,
        ends_on=today + dt.timedelta(days=300),
        status=Program.Status.OPEN,
        created_by=coordinator,
    )
    Enrollment.objects.create(program=program, user=student, role="mentee")
    staff = UserFactory(
        email="staff@test.example", role=Role.COORDINATOR, is_staff=True, is_superuser=True
    )
    return People(student=student, coordinator=coordinator, staff=staff, program=program)


def as_user(user: User | None) -> Client:
    client = Client(raise_request_exception=False)
    if user is not None:
        client.force_login(user)
    return client


@dataclass(frozen=True)
class Row:
    """One kind of response: who asks, for what, and what must come back."""

    who: Callable[[People], User | None]
    path: Callable[[People], str]
    status: int
    content_type: str
    accept: str = "text/html,application/xhtml+xml,*/*;q=0.8"


def nobody(p: People) -> None:
    return None


ROWS = {
    "landing page": Row(nobody, lambda p: "/", 200, "text/html"),
    "login page": Row(nobody, lambda p: "/accounts/login/", 200, "text/html"),
    "redirect to sign in": Row(nobody, lambda p: "/matching/mentors/", 302, "text/html"),
    "dashboard": Row(lambda p: p.student, lambda p: "/", 200, "text/html"),
    "404 page": Row(lambda p: p.student, lambda p: "/no-such-page/", 404, "text/html"),
    "403 page": Row(lambda p: p.student, lambda p: "/programs/new/", 403, "text/html"),
    "500 page": Row(lambda p: p.student, lambda p: "/test-only/boom/", 500, "text/html"),
    "API JSON": Row(lambda p: p.student, lambda p: "/api/v1/me/", 200, "application/json", "*/*"),
    "API 403 JSON": Row(nobody, lambda p: "/api/v1/me/", 403, "application/json", "*/*"),
    "API 404 JSON": Row(
        lambda p: p.student, lambda p: "/api/v1/nothing-here/", 404, "application/json", "*/*"
    ),
    "API 500 JSON": Row(
        lambda p: p.student, lambda p: "/api/v1/test-only/boom/", 500, "application/json", "*/*"
    ),
    "CSV download (page)": Row(
        lambda p: p.coordinator,
        lambda p: f"/programs/{p.program.pk}/export/participants.csv",
        200,
        "text/csv",
    ),
    "CSV download (API)": Row(
        lambda p: p.coordinator,
        lambda p: f"/api/v1/programs/{p.program.pk}/export/participants.csv",
        200,
        "text/csv",
        "text/csv",
    ),
    "API docs": Row(lambda p: p.staff, lambda p: "/api/docs/", 200, "text/html"),
    "API schema": Row(
        lambda p: p.staff, lambda p: "/api/schema/", 200, "application/vnd.oai.openapi", "*/*"
    ),
    "admin": Row(lambda p: p.staff, lambda p: "/admin/", 200, "text/html"),
    "static file": Row(nobody, lambda p: "/static/css/app.css", 200, "text/css"),
    "static file of a package": Row(
        nobody,
        lambda p: "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui.css",
        200,
        "text/css",
    ),
}


@pytest.fixture
def static_from_finders(settings):
    # No collectstatic in tests: WhiteNoise serves from the apps' and project's folders,
    # as it does with DEBUG on. Read when the middleware is built, i.e. per new Client.
    settings.WHITENOISE_USE_FINDERS = True


def fetch(row: Row, people: People, *, secure: bool = False):
    client = as_user(row.who(people))
    response = client.get(row.path(people), HTTP_ACCEPT=row.accept, secure=secure)
    assert response.status_code == row.status, (row, response.content[:300])
    assert response["Content-Type"].startswith(row.content_type)
    return response


@pytest.mark.parametrize("kind", ROWS)
def test_every_response_carries_the_security_headers(kind, people, static_from_finders):
    response = fetch(ROWS[kind], people)
    for header, value in EVERYWHERE.items():
        assert response.get(header) == value, (kind, header)
    csp = response["Content-Security-Policy"]
    for directive in CSP_DIRECTIVES:
        assert directive in csp, (kind, directive)
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert len(response["X-Request-ID"]) == 32
    # Plain HTTP: browsers ignore HSTS there, and Django never sends it.
    assert "Strict-Transport-Security" not in response


# --- Production-like settings ----------------------------------------------------------


def production_values(monkeypatch, **env: str) -> dict[str, object]:
    """What mentorship.settings.production sets, with only the required variables given
    (so every other value is the production default). Not installed: only read."""
    for name in (
        "SECURE_HSTS_SECONDS",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS",
        "SECURE_HSTS_PRELOAD",
        "SECURE_SSL_REDIRECT",
        "API_DOCS_PUBLIC",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SECRET_KEY", "x" * 60)
    monkeypatch.setenv("ALLOWED_HOSTS", "mentor.example")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_module("mentorship.settings.production")


@pytest.fixture
def production_like(settings, monkeypatch, static_from_finders):
    values = production_values(monkeypatch)
    for name in (
        "SECURE_PROXY_SSL_HEADER",
        "SECURE_SSL_REDIRECT",
        "SECURE_HSTS_SECONDS",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS",
        "SECURE_HSTS_PRELOAD",
        "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE",
        "API_DOCS_PUBLIC",
    ):
        setattr(settings, name, values[name])
    return values


@pytest.mark.parametrize("kind", ROWS)
def test_every_https_response_in_production_carries_hsts(kind, people, production_like):
    response = fetch(ROWS[kind], people, secure=True)
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    for header, value in EVERYWHERE.items():
        assert response.get(header) == value, (kind, header)


def test_hsts_behind_the_proxy_follows_x_forwarded_proto(people, production_like):
    client = as_user(people.student)
    https = client.get("/", HTTP_X_FORWARDED_PROTO="https")
    assert https.status_code == 200
    assert https["Strict-Transport-Security"].startswith("max-age=31536000")
    plain = client.get("/", HTTP_X_FORWARDED_PROTO="http")
    assert plain.status_code == 301
    assert plain["Location"] == "https://testserver/"
    assert "Strict-Transport-Security" not in plain


def test_hsts_subdomains_and_preload_can_be_turned_off(monkeypatch):
    values = production_values(
        monkeypatch,
        SECURE_HSTS_SECONDS="600",
        SECURE_HSTS_INCLUDE_SUBDOMAINS="false",
        SECURE_HSTS_PRELOAD="false",
    )
    assert values["SECURE_HSTS_SECONDS"] == 600
    assert values["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is False
    assert values["SECURE_HSTS_PRELOAD"] is False
    defaults = production_values(monkeypatch)
    assert defaults["SECURE_HSTS_SECONDS"] == 60 * 60 * 24 * 365
    assert defaults["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert defaults["SECURE_HSTS_PRELOAD"] is True


# --- Caching: personal data is never stored ----------------------------------------------


def cache_directives(response) -> set[str]:
    return {part.strip() for part in response.get("Cache-Control", "").split(",") if part.strip()}


@pytest.mark.parametrize(
    "kind",
    [
        "dashboard",
        "404 page",
        "403 page",
        "500 page",
        "API JSON",
        "API 404 JSON",
        "API 500 JSON",
        "CSV download (page)",
        "CSV download (API)",
        "API docs",
        "API schema",
        "admin",
    ],
)
def test_responses_to_a_signed_in_person_are_private_and_not_stored(kind, people):
    response = fetch(ROWS[kind], people)
    assert {"private", "no-store"} <= cache_directives(response), kind
    assert "public" not in cache_directives(response)


def test_api_responses_to_a_token_are_private_and_not_stored(people):
    token = Token.objects.create(user=people.student)
    response = Client().get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert response.status_code == 200
    assert response.json()["email"] == people.student.email
    assert {"private", "no-store"} <= cache_directives(response)


def test_static_files_stay_cacheable_even_for_a_signed_in_person(people, static_from_finders):
    response = as_user(people.student).get("/static/css/app.css")
    assert response.status_code == 200
    assert "no-store" not in cache_directives(response)
    assert "private" not in cache_directives(response)
    assert any(part.startswith("max-age=") for part in cache_directives(response))


def test_public_pages_for_visitors_are_not_marked_private(db):
    response = Client().get("/")
    assert response.status_code == 200
    assert "no-store" not in cache_directives(response)


# --- The API schema and docs -----------------------------------------------------------


def test_production_keeps_the_api_schema_and_docs_for_staff(people, production_like):
    assert production_like["API_DOCS_PUBLIC"] is False
    for path in ("/api/schema/", "/api/docs/", "/api/docs/?script="):
        for who in (None, people.student, people.coordinator):
            response = as_user(who).get(path, secure=True)
            assert response.status_code == 403, (path, who)
            assert b"/api/v1/me/" not in response.content
    schema = as_user(people.staff).get("/api/schema/", secure=True, HTTP_ACCEPT="*/*")
    assert schema.status_code == 200
    assert b"/api/v1/me/profile/:" in schema.content
    docs = as_user(people.staff).get("/api/docs/", secure=True)
    assert docs.status_code == 200
    assert b'id="swagger-ui"' in docs.content


def test_the_api_docs_are_public_when_enabled(db, settings):
    settings.API_DOCS_PUBLIC = True
    assert Client().get("/api/schema/", HTTP_ACCEPT="*/*").status_code == 200
    assert Client().get("/api/docs/").status_code == 200


def test_the_api_docs_page_runs_only_local_files(people):
    """Swagger UI from the sidecar package, its initialiser from ?script=, no CDN, nothing
    inline: it works under the site's Content-Security-Policy without a relaxation."""
    client = as_user(people.staff)
    page = client.get("/api/docs/").content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    assert '<link rel="stylesheet" href="/static/css/swagger.css">' in page
    assert "cdn" not in page.lower() and "https://" not in page
    assert "<style" not in page and "style=" not in page
    assert page.count("<script") == page.count("<script src=") == 3
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert b"/api/schema/" in script.content
