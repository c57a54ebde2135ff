"""Enrolling a program's participants: the invite link, CSV imports, CSV exports.

Writes are services (keyword-only, atomic) and reads are selectors scoped to the
requesting coordinator, as everywhere else; the Celery tasks in ``tasks.py`` pass job
ids here and nothing more.

An import runs in two steps. ``import_check`` parses and validates every row and writes
nothing but the job (its problems and a preview of the counts). Once the coordinator
confirms, ``import_run`` checks the file again (accounts may have changed since) and
writes every account, profile and enrolment in one transaction: all rows or none.
"""

from __future__ import annotations

import csv
import datetime as dt
import difflib
import io
import logging
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.db.models.functions import Lower
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.formats import date_format
from django.utils.http import urlsafe_base64_encode
from django.utils.text import slugify

from accounts.choices import MENTEE_ROLES, MENTOR_ROLES, STAGES_BY_ROLE, EmailKind, Role, Stage
from accounts.mail import compose
from accounts.models import MAX_CAPACITY, Institution, Interest, Profile, Specialty, User
from accounts.services import audit_record, profile_update
from mentorship.exceptions import ApplicationError

from .models import Enrollment, ImportJob, Program
from .selectors import program_for_coordinator
from .services import _coordinator_institution, _own_program_locked

logger = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_ROWS = 20_000
MAX_PROBLEMS = 1_000  # kept on the job; the total is in the preview
WELCOME_BATCH = 100  # new accounts per welcome-email task
PROGRESS_EVERY = 1_000  # rows between two progress updates
STALE_IMPORT_MINUTES = 30  # an import confirmed this long ago and not done is queued again

COLUMNS = (
    "email", "full_name", "role", "user_type", "stage", "specialties", "interests",
    "capacity", "institution",
)  # fmt: skip
REQUIRED_COLUMNS = ("email", "role")
COLUMN_ALIASES = {"name": "full_name", "email_address": "email", "type": "user_type"}
USER_TYPES = (Role.STUDENT, Role.RESIDENT, Role.PHYSICIAN)

TEMPLATE_ROWS = (
    ("maya.lopez@example.org", "Maya Lopez", "mentee", "student", "MS1",
     "Orthopaedic surgery; sports-medicine", "Sports-medicine research", "", ""),
    ("ruth.okafor@example.org", "Ruth Okafor", "mentor", "physician", "Senior attending",
     "orthopaedic-surgery", "Medical education; clinical-trials", "2", "{school}"),
)  # fmt: skip

Status = ImportJob.Status
Problem = dict[str, Any]


# --- Reading the file ---------------------------------------------------------------------


def _decode(data: bytes | str) -> str:
    if isinstance(data, str):
        size = len(data.encode("utf-8"))
        text = data
    else:
        size = len(data)
        text = ""
    if size > MAX_UPLOAD_BYTES:
        raise ApplicationError(
            "The file is larger than 5 MB: split it into several files.",
            fields={"file": ["At most 5 MB."]},
        )
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ApplicationError(
                "The file is not UTF-8 text: in your spreadsheet, save it as “CSV UTF-8”.",
                fields={"file": ["Save the file as CSV UTF-8."]},
            ) from exc
    text = text.lstrip("\ufeff")
    if "\x00" in text:
        raise ApplicationError(
            "This does not look like a CSV file.", fields={"file": ["Upload a .csv file."]}
        )
    if not text.strip():
        raise ApplicationError("The file is empty.", fields={"file": ["The file is empty."]})
    return text


def _records(text: str) -> Iterator[tuple[int, list[str]]]:
    """(row number as a spreadsheet shows it, cells) for every record, blank ones too.

    Pasted from a spreadsheet, rows come separated by tabs rather than commas.
    """
    first_line = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first_line and "," not in first_line else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    yield from enumerate(reader, start=1)


def _header_key(cell: str) -> str:
    key = re.sub(r"[\s\-]+", "_", cell.strip().lower())
    return COLUMN_ALIASES.get(key, key)


# --- Vocabulary: specialties, interests, stages, institutions -----------------------------


def _compact(value: str) -> str:
    return re.sub(r"[^a-z0-9+]", "", value.lower())


def _stage_keys() -> dict[str, int]:
    """Every spelling of a stage we accept: its label ("PGY-1 (intern)", "Senior
    attending"), the label without its note ("PGY-1") and the enum name ("PGY1",
    "ATTENDING_SENIOR"), compared without case, spaces or punctuation."""
    keys: dict[str, int] = {}
    for stage in Stage:
        label = str(stage.label)
        for spelling in (label, re.sub(r"\(.*?\)", "", label), label.rstrip("+"), stage.name):
            keys[_compact(spelling)] = stage.value
    return keys


def _names_and_slugs(
    rows: Iterable[tuple[int, str, str]],
) -> tuple[dict[str, int], dict[str, str]]:
    """(lower-case name, slug or alias -> id) and (spelling -> name shown in suggestions)."""
    ids: dict[str, int] = {}
    shown: dict[str, str] = {}
    for pk, slug, name in rows:
        spellings = {name.lower(), slug.lower(), slug.lower().replace("-", " ")}
        note = re.search(r"\((.*?)\)", name)
        if note:  # "Otolaryngology (ENT)" is also "ENT" and "Otolaryngology"
            spellings |= {note.group(1).lower(), re.sub(r"\s*\(.*?\)", "", name).lower()}
        for spelling in spellings:
            ids[spelling] = pk
            shown.setdefault(spelling, name)
    return ids, shown


@dataclass
class Vocabulary:
    specialties: dict[str, int]
    specialty_names: dict[str, str]
    interests: dict[str, int]
    interest_names: dict[str, str]
    institutions: dict[str, int | None]  # None: a short name several schools share
    institution_names: dict[str, str]
    stages: dict[str, int] = field(default_factory=_stage_keys)
    # A file with the same typo on 5,000 rows asks difflib once.
    _suggestions: dict[tuple[str, str], str] = field(default_factory=dict)

    @classmethod
    def load(cls) -> Vocabulary:
        specialties, specialty_names = _names_and_slugs(
            Specialty.objects.values_list("pk", "slug", "name")
        )
        interests, interest_names = _names_and_slugs(
            Interest.objects.values_list("pk", "slug", "name")
        )
        institutions: dict[str, int | None] = {}
        institution_names: dict[str, str] = {}
        short_names: dict[str, set[int]] = {}
        for pk, name, short, slug in Institution.objects.values_list(
            "pk", "name", "short_name", "slug"
        ):
            for spelling in (name.lower(), slug.lower()):
                institutions[spelling] = pk
                institution_names[spelling] = name
            if short:
                short_names.setdefault(short.lower(), set()).add(pk)
                institution_names.setdefault(short.lower(), short)
        for short, pks in short_names.items():
            if short not in institutions:  # a full name wins over someone's short name
                institutions[short] = next(iter(pks)) if len(pks) == 1 else None
        return cls(
            specialties,
            specialty_names,
            interests,
            interest_names,
            institutions,
            institution_names,
        )

    def suggest(self, kind: str, value: str) -> str:
        """' Did you mean "Cardiology"?' for the closest known spelling of ``kind``, else ''."""
        key = (kind, value.lower())
        if key not in self._suggestions:
            if kind == "stage":
                shown = {spelling: str(Stage(v).label) for spelling, v in self.stages.items()}
                typed = _compact(value)
            else:
                shown = {
                    "specialty": self.specialty_names,
                    "interest": self.interest_names,
                    "institution": self.institution_names,
                }[kind]
                typed = value.lower()
            match = difflib.get_close_matches(typed, list(shown), n=1, cutoff=0.6)
            self._suggestions[key] = f" Did you mean “{shown[match[0]]}”?" if match else ""
        return self._suggestions[key]


# --- Checking ---------------------------------------------------------------------------


@dataclass
class ParsedRow:
    number: int
    email: str
    role: str
    full_name: str = ""
    user_type: str = ""
    stage: int | None = None
    specialty_ids: list[int] = field(default_factory=list)
    interest_ids: list[int] = field(default_factory=list)
    capacity: int | None = None
    institution_id: int | None = None
    given: set[str] = field(default_factory=set)  # columns with a value on this row
    existing_id: int | None = None
    enrolled: bool = False


@dataclass
class Existing:
    pk: int
    role: str
    is_active: bool
    institution_id: int | None


@dataclass
class Checked:
    rows: list[ParsedRow]
    problems: list[Problem]
    preview: dict[str, Any]
    total: int  # data rows in the file (blank lines not counted)


class _RowProblems:
    """Adds one row's problems to the file's list, numbered as a spreadsheet shows it."""

    def __init__(self, number: int, problems: list[Problem]) -> None:
        self.number = number
        self.problems = problems

    def add(self, column: str, message: str) -> None:
        self.problems.append({"row": self.number, "field": column, "message": message})


def _parse_terms(
    raw: str,
    ids: Mapping[str, int],
    vocab: Vocabulary,
    kind: str,
    column: str,
    report: _RowProblems,
) -> list[int]:
    found: list[int] = []
    for term in (" ".join(t.split()) for t in raw.split(";")):
        if not term:
            continue
        pk = ids.get(term.lower())
        if pk is None:
            report.add(column, f"Unknown {kind} “{term}”.{vocab.suggest(kind, term)}")
        elif pk not in found:
            found.append(pk)
    return found


def _parse_row(
    number: int,
    cells: Mapping[str, str],
    program: Program,
    vocab: Vocabulary,
    seen: dict[str, int],
    report: _RowProblems,
) -> ParsedRow:
    """The row's values, checked on their own (accounts are looked up afterwards)."""
    email = cells.get("email", "").strip().lower()
    role = cells.get("role", "").strip().lower()
    row = ParsedRow(number=number, email=email, role=role)
    row.given = {column for column, value in cells.items() if value.strip()}
    if not email:
        report.add("email", "Missing email: it is required.")
    else:
        try:
            validate_email(email)
            if len(email) > 254:
                raise ValidationError("too long")
        except ValidationError:
            report.add("email", f"“{email}” is not a valid email address.")
        else:
            if email in seen:
                report.add("email", f"{email} is also on row {seen[email]}: list each person once.")
            else:
                seen[email] = number
    if not role:
        report.add("role", "Missing role: it is required (mentee or mentor).")
    elif role not in Enrollment.Role.values:
        report.add("role", f"Unknown role “{role}”: use mentee or mentor.")

    row.full_name = " ".join(cells.get("full_name", "").split())
    if len(row.full_name) > 150:
        report.add("full_name", "Names have at most 150 characters.")

    user_type = cells.get("user_type", "").strip().lower()
    if user_type and user_type not in USER_TYPES:
        report.add(
            "user_type", f"Unknown user type “{user_type}”: use student, resident or physician."
        )
    elif user_type:
        row.user_type = user_type
        if role == Enrollment.Role.MENTEE and user_type not in MENTEE_ROLES:
            report.add("user_type", "Mentees must be students or residents, not physicians.")
        elif role == Enrollment.Role.MENTOR and user_type not in MENTOR_ROLES:
            report.add("user_type", "Mentors must be residents or physicians, not students.")

    stage = cells.get("stage", "").strip()
    if stage:
        row.stage = vocab.stages.get(_compact(stage))
        if row.stage is None:
            report.add("stage", f"Unknown stage “{stage}”.{vocab.suggest('stage', stage)}")

    row.specialty_ids = _parse_terms(
        cells.get("specialties", ""), vocab.specialties, vocab, "specialty", "specialties", report
    )
    row.interest_ids = _parse_terms(
        cells.get("interests", ""), vocab.interests, vocab, "interest", "interests", report
    )

    capacity = cells.get("capacity", "").strip()
    if capacity:
        if role == Enrollment.Role.MENTEE:
            report.add("capacity", "Only mentors have a capacity: leave it empty for mentees.")
        elif not re.fullmatch(r"\d+", capacity) or not 1 <= int(capacity) <= MAX_CAPACITY:
            report.add(
                "capacity",
                f"Capacity “{capacity}” must be a whole number from 1 to {MAX_CAPACITY}.",
            )
        else:
            row.capacity = int(capacity)

    institution = " ".join(cells.get("institution", "").split())
    if institution:
        key = institution.lower()
        if key not in vocab.institutions:
            suggestion = vocab.suggest("institution", institution)
            report.add("institution", f"Unknown institution “{institution}”.{suggestion}")
        elif vocab.institutions[key] is None:
            report.add(
                "institution",
                f"Several institutions are called “{institution}”: use the full name.",
            )
        elif role == Enrollment.Role.MENTEE and vocab.institutions[key] != program.institution_id:
            report.add(
                "institution",
                "Mentees are always enrolled at the program's school: leave the institution empty.",
            )
        else:
            row.institution_id = vocab.institutions[key]
    return row


def _existing_accounts(emails: Sequence[str]) -> dict[str, Existing]:
    found: dict[str, Existing] = {}
    for start in range(0, len(emails), 500):  # SQLite caps the parameters of one query
        chunk = emails[start : start + 500]
        rows = (
            User.objects.annotate(email_lower=Lower("email"))
            .filter(email_lower__in=chunk)
            .values_list("email_lower", "pk", "role", "is_active", "profile__institution_id")
        )
        for email, pk, role, active, institution_id in rows:
            found[email] = Existing(pk, role, active, institution_id)
    return found


def _check_against_accounts(
    row: ParsedRow,
    account: Existing | None,
    program: Program,
    enrolled: set[tuple[int, str]],
    school: str,
    report: _RowProblems,
) -> None:
    """Rules that depend on whether the email already has an account, and whose."""
    if account is None:
        for column in ("full_name", "user_type", "stage"):
            if column not in row.given:
                what = column.replace("_", " ")
                report.add(column, f"Missing {what}: it is required for a new account.")
        user_type = row.user_type
    else:
        row.existing_id = account.pk
        user_type = account.role
        if account.role not in USER_TYPES:
            report.add(
                "email",
                f"{row.email} belongs to a {Role(account.role).label.lower()} "
                "account, which cannot take part in a program.",
            )
            return
        if not account.is_active:
            report.add("email", f"The account of {row.email} is deactivated.")
        if row.user_type and row.user_type != account.role:
            report.add(
                "user_type",
                f"{row.email} already has an account as a {account.role}, not a {row.user_type}.",
            )
        if row.role == Enrollment.Role.MENTEE and account.role not in MENTEE_ROLES:
            report.add(
                "role",
                f"{row.email} has a {account.role} account: only students and "
                "residents can be mentees.",
            )
        elif row.role == Enrollment.Role.MENTOR and account.role not in MENTOR_ROLES:
            report.add(
                "role",
                f"{row.email} has a {account.role} account: only residents and "
                "physicians can mentor.",
            )
        elif (
            row.role == Enrollment.Role.MENTEE and account.institution_id != program.institution_id
        ):
            report.add(
                "email",
                f"{row.email}'s profile is not at {school}: mentees must be "
                "students of the program's school.",
            )
        row.enrolled = (account.pk, row.role) in enrolled
    if row.stage is not None and user_type in STAGES_BY_ROLE:
        allowed = STAGES_BY_ROLE[Role(user_type)]
        if row.stage not in allowed:
            labels = ", ".join(str(s.label) for s in allowed)
            report.add(
                "stage",
                f"A {user_type} cannot be at {Stage(row.stage).label}: use one of {labels}.",
            )


def _check(
    text: str, program: Program, progress: Callable[[int], None] = lambda percent: None
) -> Checked:
    """Parse and validate the whole file in memory; no query per row."""
    problems: list[Problem] = []
    try:
        records = list(_records(text))
    except csv.Error as exc:
        problems.append({"row": 1, "field": "", "message": f"The file is not valid CSV ({exc})."})
        return Checked([], problems, {"rows": 0, "problems_total": 1}, 0)

    header_at = next(
        (i for i, (_, cells) in enumerate(records) if any(c.strip() for c in cells)), None
    )
    if header_at is None:
        problems.append({"row": 1, "field": "", "message": "The file has no header row."})
        return Checked([], problems, {"rows": 0, "problems_total": 1}, 0)
    header_row, header_cells = records[header_at]
    header = [_header_key(cell) for cell in header_cells]
    ignored = sorted({h for h in header if h and h not in COLUMNS})
    for column in REQUIRED_COLUMNS:
        if column not in header:
            problems.append(
                {
                    "row": header_row,
                    "field": column,
                    "message": f"The header has no “{column}” column. Columns: "
                    f"{', '.join(COLUMNS)}.",
                }
            )
    for column in {h for h in header if h in COLUMNS and header.count(h) > 1}:
        problems.append(
            {"row": header_row, "field": column, "message": f"The “{column}” column appears twice."}
        )
    data = [(n, cells) for n, cells in records[header_at + 1 :] if any(c.strip() for c in cells)]
    if not data:
        problems.append(
            {
                "row": header_row,
                "field": "",
                "message": "There are no participants below the header.",
            }
        )
    if len(data) > MAX_ROWS:
        problems.append(
            {
                "row": header_row,
                "field": "",
                "message": f"{len(data):,} rows: at most {MAX_ROWS:,} per file.",
            }
        )
    if problems:
        return Checked(
            [], problems, {"rows": len(data), "problems_total": len(problems)}, len(data)
        )

    vocab = Vocabulary.load()
    seen: dict[str, int] = {}
    parsed: list[ParsedRow] = []
    reports: dict[int, _RowProblems] = {}
    for index, (number, cells) in enumerate(data, start=1):
        report = reports[number] = _RowProblems(number, problems)
        if len(cells) > len(header) and any(c.strip() for c in cells[len(header) :]):
            report.add("", "This row has more cells than the header has columns.")
        values = {h: c for h, c in zip(header, cells, strict=False) if h in COLUMNS}
        parsed.append(_parse_row(number, values, program, vocab, seen, report))
        if index % PROGRESS_EVERY == 0:
            progress(int(70 * index / len(data)))

    accounts = _existing_accounts([row.email for row in parsed if row.email])
    enrolled = set(Enrollment.objects.filter(program=program).values_list("user_id", "role"))
    school = program.institution.short_name or program.institution.name
    for row in parsed:
        _check_against_accounts(
            row, accounts.get(row.email), program, enrolled, school, reports[row.number]
        )
    progress(90)
    problems.sort(key=lambda p: p["row"])  # stable: a row's fields stay in column order
    preview = {
        "rows": len(data),
        "new_accounts": sum(1 for r in parsed if r.existing_id is None),
        "existing_accounts": sum(1 for r in parsed if r.existing_id is not None),
        "mentees": sum(1 for r in parsed if r.role == Enrollment.Role.MENTEE),
        "mentors": sum(1 for r in parsed if r.role == Enrollment.Role.MENTOR),
        "already_enrolled": sum(1 for r in parsed if r.enrolled),
        "to_enrol": sum(1 for r in parsed if not r.enrolled),
        "problems_total": len(problems),
        "ignored_columns": ignored,
    }
    return Checked(parsed, problems, preview, len(data))


def _set_progress(job_id: int, status: str, percent: int) -> None:
    # Autocommit UPDATE outside any transaction, so the page polling sees it at once.
    ImportJob.objects.filter(pk=job_id, status=status).update(progress=max(0, min(percent, 100)))


# --- Services -----------------------------------------------------------------------------


@transaction.atomic
def import_start(
    *, user: User, program_id: int, data: bytes | str, filename: str = ""
) -> ImportJob:
    """Keep the uploaded CSV on a new job and queue its check (nothing else is written)."""
    program = program_for_coordinator(user=user, program_id=program_id)
    text = _decode(data)
    job = ImportJob.objects.create(
        program=program, filename=(filename or "")[:200], content=text, created_by=user
    )
    from .tasks import check_import

    job_id = job.pk
    transaction.on_commit(lambda: check_import.delay(job_id))
    return job


def import_check(*, job_id: int) -> ImportJob | None:
    """Validate every row of a CHECKING job: CHECKED with a preview, or INVALID with the
    problems. Writes only the job; a job already checked is left as it is."""
    job = (
        ImportJob.objects.select_related("program__institution")
        .filter(pk=job_id, status=Status.CHECKING)
        .first()
    )
    if job is None:
        return None
    try:
        checked = _check(
            job.content, job.program, lambda p: _set_progress(job_id, Status.CHECKING, p)
        )
    except Exception:
        logger.exception("Checking import %s failed", job_id)
        ImportJob.objects.filter(pk=job_id, status=Status.CHECKING).update(
            status=Status.FAILED, error="The file could not be checked.", finished_at=timezone.now()
        )
        return ImportJob.objects.get(pk=job_id)
    ImportJob.objects.filter(pk=job_id, status=Status.CHECKING).update(
        status=Status.INVALID if checked.problems else Status.CHECKED,
        rows=checked.total,
        problems=checked.problems[:MAX_PROBLEMS],
        preview=checked.preview,
        progress=100,
    )
    return ImportJob.objects.get(pk=job_id)


@transaction.atomic
def import_confirm(*, user: User, program_id: int, import_id: int) -> ImportJob:
    """Start importing a checked file. The job is claimed with a conditional UPDATE
    (CHECKED -> IMPORTING), so a double click or a retried request imports it once."""
    job = import_for_coordinator(user=user, program_id=program_id, import_id=import_id)
    claimed = ImportJob.objects.filter(pk=job.pk, status=Status.CHECKED).update(
        status=Status.IMPORTING, confirmed_at=timezone.now(), progress=0
    )
    job.refresh_from_db()
    if claimed:
        audit_record(
            actor=user,
            action="program.import_confirm",
            target=job,
            institution_id=job.program.institution_id,
            detail={"program": job.program_id, "rows": job.rows},
        )
        from .tasks import run_import

        transaction.on_commit(lambda: run_import.delay(job.pk))
        return job
    stale = timezone.now() - dt.timedelta(minutes=STALE_IMPORT_MINUTES)
    if job.status == Status.IMPORTING and job.confirmed_at and job.confirmed_at < stale:
        # The task message was lost (broker down at commit). Queuing it again is safe:
        # ``import_run`` writes only while the job, locked, is still IMPORTING.
        from .tasks import run_import

        transaction.on_commit(lambda: run_import.delay(job.pk))
        return job
    if job.status in (Status.IMPORTING, Status.DONE):
        return job  # already confirmed: this click changes nothing
    messages: dict[str, str] = {
        Status.CHECKING: "The file is still being checked: confirm once the check is done.",
        Status.INVALID: "This file has problems: correct them and upload it again. Nothing "
        "was imported.",
        Status.FAILED: "This import failed and nothing was imported: upload the file again.",
    }
    raise ApplicationError(messages.get(job.status, "This import cannot be confirmed."))


def _create_accounts(rows: Sequence[ParsedRow], program: Program) -> list[int]:
    """New users (unusable password), their profiles and fields of interest, in bulk."""
    users = [
        User(email=r.email, full_name=r.full_name, role=r.user_type, password=make_password(None))
        for r in rows
    ]
    User.objects.bulk_create(users, batch_size=500)
    if any(u.pk is None for u in users):  # a database that returns no ids from bulk inserts
        user_ids = dict(
            User.objects.filter(email__in=[u.email for u in users]).values_list("email", "pk")
        )
        for u in users:
            u.pk = user_ids[u.email]
    schools = {
        r.institution_id or program.institution_id for r in rows if r.role == Enrollment.Role.MENTOR
    } | {program.institution_id}
    zones = dict(Institution.objects.filter(pk__in=schools).values_list("pk", "timezone"))
    profiles = []
    for u, r in zip(users, rows, strict=True):
        school = (
            r.institution_id
            if r.role == Enrollment.Role.MENTOR and r.institution_id
            else program.institution_id
        )
        extra: dict[str, Any] = {"capacity": r.capacity} if r.capacity else {}
        if zones.get(school):
            extra["timezone"] = zones[school]
        profiles.append(
            Profile(
                user_id=u.pk,
                stage=r.stage,
                institution_id=school,
                seeking_mentor=r.user_type == Role.STUDENT,
                accepting_mentees=False,  # they choose themselves to be listed for everyone
                **extra,
            )
        )
    Profile.objects.bulk_create(profiles, batch_size=500)
    if any(p.pk is None for p in profiles):
        profile_ids = dict(
            Profile.objects.filter(user_id__in=[u.pk for u in users]).values_list("user_id", "pk")
        )
        for p in profiles:
            p.pk = profile_ids[p.user_id]
    specialty_link = Profile.specialties.through
    interest_link = Profile.interests.through
    specialty_link.objects.bulk_create(
        [
            specialty_link(profile_id=p.pk, specialty_id=s)
            for p, r in zip(profiles, rows, strict=True)
            for s in r.specialty_ids
        ],
        batch_size=1000,
    )
    interest_link.objects.bulk_create(
        [
            interest_link(profile_id=p.pk, interest_id=i)
            for p, r in zip(profiles, rows, strict=True)
            for i in r.interest_ids
        ],
        batch_size=1000,
    )
    for u, r in zip(users, rows, strict=True):
        r.existing_id = u.pk
    return [u.pk for u in users]


def _enrol(rows: Sequence[ParsedRow], program: Program) -> int:
    enrollments = []
    for r in rows:
        assert r.existing_id is not None  # every new account was created first
        if not r.enrolled:
            enrollments.append(
                Enrollment(program=program, user_id=r.existing_id, role=r.role, capacity=r.capacity)
            )
    before = Enrollment.objects.filter(program=program).count()
    # Someone enrolled by hand between the check and now is already where the file wants
    # them: skip that row rather than fail the whole import.
    Enrollment.objects.bulk_create(enrollments, batch_size=1000, ignore_conflicts=True)
    return Enrollment.objects.filter(program=program).count() - before


def import_run(*, job_id: int) -> ImportJob | None:
    """Import a confirmed (IMPORTING) job: all rows in one transaction, or nothing.

    Progress is reported per phase from outside that transaction (checking again, then
    writing), because its writes are invisible to the polling page until commit.
    Existing accounts are matched by email and only enrolled, never changed. New
    accounts get an email to set their password after commit.
    """
    job = ImportJob.objects.select_related("program__institution").filter(pk=job_id).first()
    if job is None or job.status != Status.IMPORTING:
        return job
    _set_progress(job_id, Status.IMPORTING, 5)
    try:
        checked = _check(
            job.content,
            job.program,
            lambda p: _set_progress(job_id, Status.IMPORTING, 5 + p * 45 // 100),
        )
        if checked.problems:  # an account changed since the check: nothing is written
            ImportJob.objects.filter(pk=job_id, status=Status.IMPORTING).update(
                status=Status.INVALID,
                problems=checked.problems[:MAX_PROBLEMS],
                preview=checked.preview,
                progress=100,
                finished_at=timezone.now(),
                error="Accounts changed since the file was checked: nothing was imported.",
            )
            return ImportJob.objects.get(pk=job_id)
        _set_progress(job_id, Status.IMPORTING, 55)
        with transaction.atomic():
            locked = ImportJob.objects.select_for_update().get(pk=job_id)
            if locked.status != Status.IMPORTING:  # a duplicate delivery finished it first
                return locked
            program = Program.objects.select_for_update().get(pk=job.program_id)
            new_rows = [r for r in checked.rows if r.existing_id is None]
            created = _create_accounts(new_rows, program)
            enrolled = _enrol(checked.rows, program)
            locked.status = Status.DONE
            locked.progress = 100
            locked.finished_at = timezone.now()
            locked.result = {
                "created_accounts": len(created),
                "enrolled": enrolled,
                "already_enrolled": sum(1 for r in checked.rows if r.enrolled),
                "welcome_emails": len(created),
            }
            locked.save(update_fields=["status", "progress", "finished_at", "result"])
            audit_record(
                actor=job.created_by,
                action="program.import",
                target=locked,
                institution_id=program.institution_id,
                detail={"program": program.pk, **locked.result},
            )
            _welcome_after_commit(created, program.pk)
    except Exception as exc:
        logger.exception("Import %s failed", job_id)
        error = (
            "An account was created with one of these emails during the import. Nothing "
            "was imported: upload the file again."
            if isinstance(exc, IntegrityError)
            else "The import failed and nothing was imported. Try again, or contact support."
        )
        ImportJob.objects.filter(pk=job_id, status=Status.IMPORTING).update(
            status=Status.FAILED, error=error, finished_at=timezone.now()
        )
    return ImportJob.objects.get(pk=job_id)


def _welcome_after_commit(user_ids: Sequence[int], program_id: int) -> None:
    from .tasks import send_import_welcomes

    for start in range(0, len(user_ids), WELCOME_BATCH):
        batch = list(user_ids[start : start + WELCOME_BATCH])
        transaction.on_commit(partial(send_import_welcomes.delay, batch, program_id))


def set_password_url(user: User) -> str:
    """A one-time link to choose a password (Django's reset link; valid for
    PASSWORD_RESET_TIMEOUT)."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    path = reverse("accounts:password_reset_confirm", kwargs={"uidb64": uid, "token": token})
    return settings.SITE_URL + path


def import_welcome_send(*, user_id: int, program_id: int) -> bool:
    """Welcome an imported person once, with a link to set their password (they have
    none yet). Claimed like the sign-up welcome, so a retried task sends it once."""
    with transaction.atomic():
        claimed = Profile.objects.filter(user_id=user_id, welcomed_at__isnull=True).update(
            welcomed_at=timezone.now()
        )
        if not claimed:
            return False
        user = User.objects.get(pk=user_id)
        program = Program.objects.select_related("institution").get(pk=program_id)
        message = compose(
            user=user,
            kinds=EmailKind.values,
            subject=f"You are enrolled in {program.name}: set your {settings.SITE_NAME} password",
            template="emails/welcome",
            context={"user": user, "program": program, "setup_url": set_password_url(user)},
        )
        # Sent inside the transaction: an SMTP failure rolls the claim back for the retry.
        message.send()
    return True


# --- Invite link --------------------------------------------------------------------------


def program_by_invite(*, code: str) -> Program | None:
    """The program an invitation code opens; the code itself is the permission to see it."""
    code = (code or "").strip()
    if not code:
        return None
    return Program.objects.select_related("institution").filter(invite_code=code).first()


def join_refusal(program: Program, today: dt.date | None = None) -> str:
    """Why nobody can join the program now, or ''."""
    today = today or timezone.localdate()
    if program.status == Program.Status.CLOSED:
        return f"“{program.name}” is closed."
    if program.status == Program.Status.PUBLISHED:
        return (
            f"The pairs of “{program.name}” are already published, so it takes no new "
            "participants. Ask your coordinator to add you."
        )
    if program.enrol_by and today > program.enrol_by:
        return f"Enrolment in “{program.name}” closed on {date_format(program.enrol_by)}."
    return ""


def join_roles(user: User) -> list[str]:
    """The roles the person could join a program in, best guess first."""
    roles = []
    if user.role in MENTEE_ROLES:
        roles.append(Enrollment.Role.MENTEE.value)
    if user.role in MENTOR_ROLES:
        roles.append(Enrollment.Role.MENTOR.value)
    if user.role == Role.PHYSICIAN:
        roles.reverse()
    return roles


@transaction.atomic
def program_join(
    *, user: User, code: str, role: str, capacity: int | None = None
) -> tuple[Enrollment, bool]:
    """Join a program through its invitation code: students and residents of its school as
    mentees, residents and physicians from anywhere as mentors. Joining twice returns the
    same enrolment (a mentor's new capacity is kept). Returns (enrolment, created)."""
    program = (
        Program.objects.select_for_update()
        .select_related("institution")
        .filter(invite_code=(code or "").strip())
        .first()
    )
    if program is None:
        raise ApplicationError(
            "This invitation is not valid (any more). Check the code, or ask your coordinator "
            "for a new link.",
            fields={"code": ["Unknown invitation code."]},
        )
    if user.role not in USER_TYPES:
        raise ApplicationError(
            "Coordinators and staff run programs; they cannot join one as a participant.",
            fields={"role": ["Only students, residents and physicians can join."]},
        )
    school = program.institution
    profile = Profile.objects.select_related("institution").filter(user=user).first()
    errors: dict[str, list[str]] = {}
    if role == Enrollment.Role.MENTEE:
        if user.role not in MENTEE_ROLES:
            errors["role"] = ["Only students and residents can join as mentees."]
        elif profile is not None and profile.institution_id not in (None, school.pk):
            errors["role"] = [
                f"This program is for students of {school.name}; your profile is at "
                f"{profile.institution}."
            ]
        if capacity is not None:
            errors["capacity"] = ["Only mentors have a capacity."]
    elif role == Enrollment.Role.MENTOR:
        if user.role not in MENTOR_ROLES:
            errors["role"] = ["Only residents and physicians can join as mentors."]
        if capacity is not None and not 1 <= capacity <= MAX_CAPACITY:
            errors["capacity"] = [f"Between 1 and {MAX_CAPACITY} mentees."]
    else:
        errors["role"] = ["Choose mentee or mentor."]
    if errors:
        message = errors["role"][0] if "role" in errors else "You cannot join this way."
        raise ApplicationError(message, fields=errors)
    existing = Enrollment.objects.filter(program=program, user=user, role=role).first()
    refusal = join_refusal(program)
    if existing is not None:
        if capacity is not None and capacity != existing.capacity and not refusal:
            existing.capacity = capacity
            existing.save(update_fields=["capacity"])
        return existing, False
    if refusal:
        raise ApplicationError(refusal)
    if role == Enrollment.Role.MENTEE and (profile is None or profile.institution_id is None):
        # The school's own invitation is the proof: a new student's profile gets its school.
        if profile is None:
            Profile.objects.create(user=user, seeking_mentor=user.role == Role.STUDENT)
        profile_update(user=user, data={"institution": school})
    enrollment = Enrollment.objects.create(program=program, user=user, role=role, capacity=capacity)
    return enrollment, True


@transaction.atomic
def invite_code_regenerate(*, user: User, program_id: int) -> Program:
    """Give the program a new invitation code: the old link stops working at once."""
    from .models import _invite_code

    program = _own_program_locked(_coordinator_institution(user), program_id)
    old = program.invite_code
    while (
        program.invite_code == old
        or Program.objects.filter(invite_code=program.invite_code).exists()
    ):
        program.invite_code = _invite_code()
    program.save(update_fields=["invite_code", "updated_at"])
    audit_record(
        actor=user,
        action="program.invite_regenerate",
        target=program,
        institution_id=program.institution_id,
    )
    return program


# --- Selectors ----------------------------------------------------------------------------


def import_for_coordinator(*, user: User, program_id: int, import_id: int) -> ImportJob:
    """One import of the coordinator's own program; 404 for anyone else."""
    program = program_for_coordinator(user=user, program_id=program_id)
    job = (
        ImportJob.objects.select_related("program__institution")
        .filter(pk=import_id, program=program)
        .first()
    )
    if job is None:
        raise Http404("No such import.")
    return job


def latest_import(*, user: User, program_id: int) -> ImportJob | None:
    program = program_for_coordinator(user=user, program_id=program_id)
    return program.imports.defer("content").order_by("-created_at", "-pk").first()


def my_roles_in(*, user: User, program: Program) -> list[str]:
    """The roles the person already has in the program ("mentee", "mentor")."""
    return list(
        Enrollment.objects.filter(program=program, user=user)
        .order_by("role")
        .values_list("role", flat=True)
    )


def person_by_email(*, user: User, email: str) -> User | None:
    """An active participant's account by email (any case), for a coordinator adding them."""
    _coordinator_institution(user)
    email = (email or "").strip()
    if not email:
        return None
    return User.objects.filter(email__iexact=email, is_active=True).first()


def participants_split(*, user: User, program_id: int) -> tuple[list[Enrollment], list[Enrollment]]:
    """(mentees, mentors) of the coordinator's program, with their profiles: two queries."""
    rows = (
        Enrollment.objects.filter(program=program_for_coordinator(user=user, program_id=program_id))
        .select_related("user__profile")
        .order_by("role", "user__full_name", "pk")
    )
    mentees = [e for e in rows if e.role == Enrollment.Role.MENTEE]
    mentors = [e for e in rows if e.role == Enrollment.Role.MENTOR]
    return mentees, mentors


def template_csv(*, user: User) -> str:
    """The import's columns and two example rows, the mentor at the coordinator's school."""
    profile = Profile.objects.select_related("institution").filter(user=user).first()
    school = profile.institution if profile and profile.institution else None
    name = (school.short_name or school.name) if school else ""
    return _csv(
        [COLUMNS, *([cell.replace("{school}", name) for cell in row] for row in TEMPLATE_ROWS)]
    )


# --- Exports ------------------------------------------------------------------------------


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    """A cell a spreadsheet shows as text: one starting like a formula gets a quote
    (CSV injection: "=HYPERLINK(...)" in a name would run when the file is opened)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _csv(rows: Iterable[Sequence[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in rows:
        writer.writerow([_cell(value) for value in row])
    return out.getvalue()


def _export_name(program: Program, what: str) -> str:
    return f"{slugify(program.name) or 'program'}-{what}-{timezone.localdate():%Y-%m-%d}.csv"


PARTICIPANT_COLUMNS = (*COLUMNS, "joined")


def _participant_rows(program: Program) -> Iterator[tuple[object, ...]]:
    rows: QuerySet[Enrollment] = (
        program.enrollments.select_related("user__profile__institution")
        .prefetch_related("user__profile__specialties", "user__profile__interests")
        .order_by("role", "user__full_name", "pk")
    )
    for e in rows:
        profile = getattr(e.user, "profile", None)
        yield (
            e.user.email,
            e.user.full_name,
            e.role,
            e.user.role,
            profile.stage_label if profile else "",
            "; ".join(s.name for s in profile.specialties.all()) if profile else "",
            "; ".join(i.name for i in profile.interests.all()) if profile else "",
            e.capacity if e.capacity is not None else "",
            profile.institution.name if profile and profile.institution else "",
            e.joined_at.date().isoformat(),
        )


@transaction.atomic
def participants_export(*, user: User, program_id: int) -> tuple[str, str]:
    """(file name, CSV) of the program's participants, in the import's columns so the file
    can be edited and imported again. Never gender or ethnicity. Audited."""
    program = program_for_coordinator(user=user, program_id=program_id)
    rows = list(_participant_rows(program))
    audit_record(
        actor=user,
        action="program.export_participants",
        target=program,
        institution_id=program.institution_id,
        detail={"rows": len(rows)},
    )
    return _export_name(program, "participants"), _csv([PARTICIPANT_COLUMNS, *rows])


PAIR_COLUMNS = (
    "mentee_name", "mentee_email", "mentor_name", "mentor_email", "program", "started",
    "status", "ended",
)  # fmt: skip


@transaction.atomic
def pairs_export(*, user: User, program_id: int) -> tuple[str, str]:
    """(file name, CSV) of the mentorships the program made. Audited."""
    from mentorship.models import Mentorship

    program = program_for_coordinator(user=user, program_id=program_id)
    pairs = (
        Mentorship.objects.filter(program=program)
        .select_related("mentee", "mentor")
        .order_by("mentee__full_name", "started_at", "pk")
    )
    rows = [
        (
            m.mentee.full_name,
            m.mentee.email,
            m.mentor.full_name,
            m.mentor.email,
            program.name,
            m.started_at.date().isoformat(),
            m.get_status_display(),
            m.ended_at.date().isoformat() if m.ended_at else "",
        )
        for m in pairs
    ]
    audit_record(
        actor=user,
        action="program.export_pairs",
        target=program,
        institution_id=program.institution_id,
        detail={"rows": len(rows)},
    )
    return _export_name(program, "pairs"), _csv([PAIR_COLUMNS, *rows])
