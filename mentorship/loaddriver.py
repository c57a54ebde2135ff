"""A small load driver: threads of simulated people walking the main path of the site.

Standard library only (``http.client`` with keep-alive, one connection per simulated
person), so it runs in the test suite against Django's live server as well as against
gunicorn. Each iteration takes a student who has not signed in yet (sign-ins are never
repeated, so the login lockout and throttles see many people, as in life), and:

sign in (login form + CSRF) -> browse mentors -> recommendations (API) -> the first
recommended mentor's profile -> send that mentor a request (the HTML form's POST) ->
the mentor signs in and opens the inbox.
"""

from __future__ import annotations

import http.client
import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from urllib.parse import urlencode, urlsplit

STEPS = ["sign in", "browse mentors", "recommendations", "mentor profile", "send request", "inbox"]
CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


class StepFailed(Exception):
    pass


@dataclass
class Sample:
    step: str
    seconds: float
    ok: bool


@dataclass
class RunResult:
    users: int
    seconds: float
    samples: list[Sample]
    scenarios: int
    errors: list[str] = field(default_factory=list)


class Browser:
    """One person's connection and cookies."""

    def __init__(self, base_url: str, timeout: float) -> None:
        parts = urlsplit(base_url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.timeout = timeout
        self.cookies: dict[str, str] = {}
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def close(self) -> None:
        self.conn.close()

    def request(
        self, method: str, path: str, form: dict[str, str] | None = None
    ) -> tuple[int, str, str]:
        """(status, body, Location); redirects are not followed, so each step is timed alone."""
        headers = {"Host": f"{self.host}:{self.port}"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        for attempt in (1, 2):
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                data = response.read().decode("utf-8", "replace")
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # A keep-alive connection the server closed between requests: reconnect once.
                self.conn.close()
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
                if attempt == 2:
                    raise
        for header in response.headers.get_all("Set-Cookie") or []:
            cookie = SimpleCookie()
            cookie.load(header)
            for name, morsel in cookie.items():
                self.cookies[name] = morsel.value
        return response.status, data, response.headers.get("Location", "")


class Driver:
    def __init__(
        self,
        *,
        base_url: str,
        password: str,
        mentees: list[str],
        mentors: dict[int, str],
        timeout: float = 30.0,
    ) -> None:
        self.base_url = base_url
        self.password = password
        self.mentors = mentors
        self.timeout = timeout
        self._mentees: Iterator[str] = iter(mentees)
        self._lock = threading.Lock()
        self.samples: list[Sample] = []
        self.errors: list[str] = []
        self.scenarios = 0

    def run(self, *, users: int, seconds: float) -> RunResult:
        """``users`` threads, each repeating the scenario until ``seconds`` have passed
        (an iteration already started finishes) or the students run out."""
        self.samples, self.errors, self.scenarios = [], [], 0
        deadline = time.monotonic() + seconds
        started = time.perf_counter()
        threads = [
            threading.Thread(target=self._person, args=(deadline,), daemon=True)
            for _ in range(users)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(seconds + 10 * self.timeout)
        return RunResult(
            users=users,
            seconds=time.perf_counter() - started,
            samples=list(self.samples),
            scenarios=self.scenarios,
            errors=list(self.errors),
        )

    def _next_mentee(self) -> str | None:
        with self._lock:
            return next(self._mentees, None)

    def _person(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            email = self._next_mentee()
            if email is None:
                return
            try:
                self._scenario(email)
            except (StepFailed, OSError, http.client.HTTPException, ValueError) as error:
                with self._lock:
                    self.errors.append(f"{email}: {error}")
            else:
                with self._lock:
                    self.scenarios += 1

    def _timed(
        self,
        step: str,
        browser: Browser,
        method: str,
        path: str,
        form: dict[str, str] | None = None,
    ) -> tuple[int, str, str]:
        started = time.perf_counter()
        ok = False
        try:
            status, body, location = browser.request(method, path, form)
            ok = True
            return status, body, location
        finally:
            with self._lock:
                self.samples.append(Sample(step, time.perf_counter() - started, ok))

    def _check(self, step: str, ok: bool, what: str) -> None:
        if not ok:
            with self._lock:
                # The sample was timed; mark it failed so the table counts the error.
                for sample in reversed(self.samples):
                    if sample.step == step:
                        sample.ok = False
                        break
            raise StepFailed(f"{step}: {what}")

    def _sign_in(self, browser: Browser, email: str) -> None:
        started = time.perf_counter()
        status, body, _ = browser.request("GET", "/accounts/login/")
        token = CSRF_FIELD.search(body)
        ok = status == 200 and token is not None
        if ok and token is not None:
            status, _, location = browser.request(
                "POST",
                "/accounts/login/",
                form={
                    "csrfmiddlewaretoken": token.group(1),
                    "username": email,
                    "password": self.password,
                },
            )
            ok = status == 302 and "/accounts/login" not in location
        with self._lock:
            self.samples.append(Sample("sign in", time.perf_counter() - started, ok))
        if not ok:
            raise StepFailed(f"sign in: HTTP {status}")

    def _scenario(self, email: str) -> None:
        mentee = Browser(self.base_url, self.timeout)
        try:
            self._sign_in(mentee, email)
            status, _, _ = self._timed("browse mentors", mentee, "GET", "/matching/mentors/")
            self._check("browse mentors", status == 200, f"HTTP {status}")
            status, body, _ = self._timed(
                "recommendations", mentee, "GET", "/api/v1/recommendations/"
            )
            self._check("recommendations", status == 200, f"HTTP {status}")
            picks = [
                r["mentor"]["id"]
                for r in json.loads(body)["results"]
                if r["mentor"]["id"] in self.mentors
            ]
            self._check("recommendations", bool(picks), "no mentor recommended")
            mentor_id = picks[0]
            status, _, _ = self._timed("mentor profile", mentee, "GET", f"/mentors/{mentor_id}/")
            self._check("mentor profile", status == 200, f"HTTP {status}")
            status, _, location = self._timed(
                "send request",
                mentee,
                "POST",
                "/matching/requests/new/",
                form={
                    "csrfmiddlewaretoken": mentee.cookies.get("csrftoken", ""),
                    "first": str(mentor_id),
                    "expectations": "Guidance on research and on choosing a specialty.",
                    "cadence": "monthly",
                    "meeting_mode": "video",
                    "single_mentor": "on",
                },
            )
            self._check(
                "send request",
                status == 302 and location.endswith("/matching/requests/"),
                f"HTTP {status} {location}",
            )
        finally:
            mentee.close()
        mentor = Browser(self.base_url, self.timeout)
        try:
            self._sign_in(mentor, self.mentors[mentor_id])
            status, _, _ = self._timed("inbox", mentor, "GET", "/matching/inbox/")
            self._check("inbox", status == 200, f"HTTP {status}")
        finally:
            mentor.close()


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), round(p / 100 * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]


def table(results: list[RunResult]) -> str:
    """Markdown: per step and overall, p50/p95/p99 in ms and throughput, per run."""
    lines = [
        "| users | step | count | errors | p50 ms | p95 ms | p99 ms | per s |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for result in results:
        for step in [*STEPS, "overall"]:
            samples = [s for s in result.samples if step in ("overall", s.step)]
            times = sorted(s.seconds * 1000 for s in samples)
            errors = sum(not s.ok for s in samples)
            rate = len(samples) / result.seconds if result.seconds else 0.0
            name = f"**{step}**" if step == "overall" else step
            lines.append(
                f"| {result.users} | {name} | {len(samples)} | {errors} "
                f"| {percentile(times, 50):.0f} | {percentile(times, 95):.0f} "
                f"| {percentile(times, 99):.0f} | {rate:.1f} |"
            )
        lines.append(
            f"| {result.users} | scenarios | {result.scenarios} | {len(result.errors)} "
            f"| | | | {result.scenarios / result.seconds:.2f}/s |"
        )
    return "\n".join(lines)
