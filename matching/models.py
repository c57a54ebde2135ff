"""Finding and pairing: requests from students to mentors, and school pairing programs."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q


class MentorRequest(models.Model):
    """A student's request to one mentor, possibly one of up to three in ranked order.

    Only one request of a ranked batch is with a mentor at a time (PENDING or
    INFO_REQUESTED); the others wait as QUEUED and move up when it is declined or
    expires.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Waiting for its turn"
        PENDING = "pending", "Waiting for the mentor"
        INFO_REQUESTED = "info_requested", "Mentor asked for more information"
        ACCEPTED = "accepted", "Accepted"
        DECLINED = "declined", "Declined"
        WITHDRAWN = "withdrawn", "Withdrawn"
        EXPIRED = "expired", "Expired"

    class DeclineReason(models.TextChoices):
        NO_CAPACITY = "no_capacity", "No capacity right now"
        NOT_MY_FIELD = "not_my_field", "Not my field"
        BETTER_FIT = "better_fit", "Someone else would fit better"
        OTHER = "other", "Other"

    class Cadence(models.TextChoices):
        WEEKLY = "weekly", "Weekly"
        BIWEEKLY = "biweekly", "Every 2 weeks"
        MONTHLY = "monthly", "Monthly"
        QUARTERLY = "quarterly", "Quarterly"

    OPEN = (Status.QUEUED, Status.PENDING, Status.INFO_REQUESTED)
    MAX_OPEN = 3

    mentee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="requests_sent"
    )
    mentor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="requests_received"
    )
    batch = models.UUIDField(default=uuid.uuid4, db_index=True)
    rank = models.PositiveSmallIntegerField(default=1)
    # Which of the student's three open places this request holds; NULL once closed.
    slot = models.PositiveSmallIntegerField(null=True, blank=True)
    single_mentor = models.BooleanField(
        default=True, help_text="Accepting one request of the batch withdraws the others."
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)

    goals = models.JSONField(default=dict, blank=True)
    expectations = models.TextField(max_length=2000)
    offers = models.TextField(max_length=1000, blank=True)
    cadence = models.CharField(max_length=20, choices=Cadence.choices, default=Cadence.MONTHLY)
    meeting_mode = models.CharField(max_length=20, blank=True)

    decline_reason = models.CharField(max_length=20, choices=DeclineReason.choices, blank=True)
    decline_note = models.TextField(max_length=1000, blank=True)
    suggested_mentor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+",
    )  # fmt: skip

    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    responded_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["mentee", "mentor"],
                condition=Q(status__in=["queued", "pending", "info_requested"]),
                name="one_open_request_per_pair",
            ),
            # At most three open requests per student: each holds one of slots 1-3.
            models.UniqueConstraint(
                fields=["mentee", "slot"],
                condition=Q(slot__isnull=False),
                name="one_request_per_open_slot",
            ),
            models.CheckConstraint(
                condition=Q(slot__isnull=True) | Q(slot__gte=1, slot__lte=3),
                name="request_slot_1_to_3",
            ),
            models.CheckConstraint(
                condition=(
                    Q(status__in=["queued", "pending", "info_requested"], slot__isnull=False)
                    | (
                        ~Q(status__in=["queued", "pending", "info_requested"])
                        & Q(slot__isnull=True)
                    )
                ),
                name="request_open_iff_slot",
            ),
            models.CheckConstraint(
                condition=Q(rank__gte=1, rank__lte=3), name="request_rank_1_to_3"
            ),
            models.CheckConstraint(
                condition=~Q(mentee=models.F("mentor")), name="request_not_to_self"
            ),
        ]
        indexes = [models.Index(fields=["status", "expires_at"])]

    def __str__(self) -> str:
        return f"Request {self.pk} {self.mentee_id}→{self.mentor_id} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN


class RequestMessage(models.Model):
    """The conversation on a request: the mentor's questions and the student's answers."""

    request = models.ForeignKey(MentorRequest, on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    body = models.TextField(max_length=2000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"Message on request {self.request_id}"


class Report(models.Model):
    """A request or a message on it reported as inappropriate, for staff to review.

    Only the reporter and staff see a report; the reported person is never told who
    reported them or that a report exists, only, if staff decide so, a warning.
    """

    class Reason(models.TextChoices):
        HARASSMENT = "harassment", "Harassment, threats or bullying"
        SEXUAL = "sexual", "Sexual or romantic advances"
        DISCRIMINATION = "discrimination", "Discriminatory or hateful language"
        SPAM = "spam", "Spam, advertising or selling"
        OTHER = "other", "Something else"

    class Status(models.TextChoices):
        OPEN = "open", "Waiting for review"
        RESOLVED = "resolved", "Reviewed"

    class Outcome(models.TextChoices):
        NO_ACTION = "no_action", "No action needed"
        WARNED = "warned", "Sender warned"
        SUSPENDED = "suspended", "Sender's account suspended"

    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    reported = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    request = models.ForeignKey(MentorRequest, on_delete=models.CASCADE, related_name="+")
    # Empty: the request itself (what the student wrote) is reported.
    message = models.ForeignKey(
        RequestMessage, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    reason = models.CharField(max_length=20, choices=Reason.choices)
    details = models.TextField(max_length=2000, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    outcome = models.CharField(max_length=20, choices=Outcome.choices, blank=True)
    staff_note = models.TextField(max_length=2000, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+",
    )  # fmt: skip
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            # One open report per person per item: pressing twice does not file two.
            models.UniqueConstraint(
                fields=["reporter", "request"],
                condition=Q(status="open", message__isnull=True),
                name="one_open_report_per_request",
            ),
            models.UniqueConstraint(
                fields=["reporter", "message"],
                condition=Q(status="open", message__isnull=False),
                name="one_open_report_per_message",
            ),
            models.CheckConstraint(
                condition=(Q(status="open", outcome="", resolved_at__isnull=True))
                | (Q(status="resolved", resolved_at__isnull=False) & ~Q(outcome="")),
                name="report_resolved_iff_outcome",
            ),
        ]
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self) -> str:
        return f"Report {self.pk} on request {self.request_id} ({self.status})"


class Bookmark(models.Model):
    """A mentor a student saved to come back to."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    mentor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="bookmarked_by"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["user", "mentor"], name="one_bookmark_per_mentor"),
            models.CheckConstraint(condition=~Q(user=models.F("mentor")), name="bookmark_not_self"),
        ]

    def __str__(self) -> str:
        return f"Bookmark {self.user_id}→{self.mentor_id}"


def _invite_code() -> str:
    return uuid.uuid4().hex[:10]


class Program(models.Model):
    """A school's pairing program: a cohort of mentees, a pool of mentors and the rules
    its coordinators match them by. Belongs to one institution; only its coordinators
    see or change it."""

    class Objective(models.TextChoices):
        QUALITY = "quality", "Best matches (highest total fit)"
        PARTICIPATION = "participation", "Everyone matched first, then the best fit"

    class Demand(models.TextChoices):
        ONE = "one", "One mentor each"
        TEAM = "team", "A team: one near-peer resident and one senior physician"

    class MentorStageRule(models.TextChoices):
        ANY = "any", "Any mentor further along"
        NEAR_PEER = "near_peer", "Near-peers only (residents and fellows)"
        ATTENDING = "attending", "Attendings only"

    class InstitutionRule(models.TextChoices):
        ANY = "any", "Any institution"
        SAME = "same", "Same institution only"
        OTHER = "other", "Another institution only"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        OPEN = "open", "Enrolling"
        PUBLISHED = "published", "Matches published"
        CLOSED = "closed", "Closed"

    institution = models.ForeignKey(
        "accounts.Institution", on_delete=models.CASCADE, related_name="programs"
    )
    name = models.CharField(max_length=120)
    description = models.TextField(max_length=4000, blank=True)
    starts_on = models.DateField()
    ends_on = models.DateField()
    enrol_by = models.DateField(null=True, blank=True)
    match_by = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    objective = models.CharField(
        max_length=20, choices=Objective.choices, default=Objective.QUALITY
    )
    demand = models.CharField(max_length=20, choices=Demand.choices, default=Demand.ONE)
    mentor_stage_rule = models.CharField(
        max_length=20, choices=MentorStageRule.choices, default=MentorStageRule.ANY
    )
    institution_rule = models.CharField(
        max_length=20, choices=InstitutionRule.choices, default=InstitutionRule.ANY
    )
    respect_conflicts = models.BooleanField(default=True)
    # Factor -> weight for the matching engine; empty means the engine's defaults.
    weights = models.JSONField(default=dict, blank=True)
    default_cadence = models.CharField(
        max_length=20, choices=MentorRequest.Cadence.choices, default=MentorRequest.Cadence.MONTHLY
    )
    invite_code = models.CharField(max_length=20, unique=True, default=_invite_code)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-starts_on", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["institution", "name"], name="one_program_name_per_institution"
            ),
            models.CheckConstraint(
                condition=Q(ends_on__gte=models.F("starts_on")), name="program_ends_after_start"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Enrollment(models.Model):
    """A person taking part in a program, as a mentee or as a mentor."""

    class Role(models.TextChoices):
        MENTEE = "mentee", "Mentee"
        MENTOR = "mentor", "Mentor"

    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="enrollments")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="enrollments"
    )
    role = models.CharField(max_length=20, choices=Role.choices)
    # For mentors: how many mentees in this program (None: their profile's free places).
    capacity = models.PositiveSmallIntegerField(null=True, blank=True)
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["role", "joined_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["program", "user", "role"], name="one_enrollment_per_role"
            ),
            models.CheckConstraint(
                condition=Q(capacity__isnull=True) | Q(capacity__lte=20),
                name="enrollment_capacity_max",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} in program {self.program_id} as {self.role}"


class PairRule(models.Model):
    """A coordinator's decision about one pair in a program, honoured by every later run:
    LOCK keeps the pair (in its team slot), EXCLUDE forbids it."""

    class Kind(models.TextChoices):
        LOCK = "lock", "Keep this pair"
        EXCLUDE = "exclude", "Never pair these two"

    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="pair_rules")
    mentee = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    mentor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    # Team programs: which place a locked mentor fills ("near_peer" or "senior"; "" for one).
    slot = models.CharField(max_length=20, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["program", "mentee", "mentor"], name="one_rule_per_program_pair"
            ),
            models.CheckConstraint(
                condition=~Q(mentee=models.F("mentor")), name="pair_rule_not_self"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.mentee_id}→{self.mentor_id} in program {self.program_id}"


class MatchRun(models.Model):
    """One cohort-wide optimisation of a program, stored so it can be reproduced:
    parameters, a hash of the input, the engine version, timings and the proposals."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Waiting for a worker"
        RUNNING = "running", "Running"
        DONE = "done", "Ready for review"
        FAILED = "failed", "Failed"

    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="runs")
    number = models.PositiveIntegerField()  # "Run 3" of its program
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    objective = models.CharField(max_length=20, choices=Program.Objective.choices)
    # Everything the result depends on besides the people: weights, rules, demand,
    # locks and exclusions, as they were when the run started.
    params = models.JSONField(default=dict, blank=True)
    input_hash = models.CharField(max_length=64, blank=True)
    engine_version = models.CharField(max_length=40, blank=True)
    progress = models.PositiveSmallIntegerField(default=0)  # percent
    stage = models.CharField(max_length=60, blank=True)
    error = models.TextField(blank=True)
    timings = models.JSONField(default=dict, blank=True)  # step -> seconds
    # Cohort figures for the comparison: coverage, mean score, histogram, unmatched,
    # per-group coverage (aggregates only), mentor load, blocking pairs.
    summary = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+",
    )  # fmt: skip

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["program", "number"], name="one_run_number"),
            models.CheckConstraint(
                condition=Q(progress__lte=100), name="match_run_progress_percent"
            ),
            # A program's matches are published once, from one run.
            models.UniqueConstraint(
                fields=["program"],
                condition=Q(published_at__isnull=False),
                name="one_published_run_per_program",
            ),
        ]

    def __str__(self) -> str:
        return f"Run {self.number} of program {self.program_id} ({self.status})"


class Proposal(models.Model):
    """A pair a run proposes (or a coordinator placed by hand), to review before publishing."""

    class Origin(models.TextChoices):
        ENGINE = "engine", "Proposed by the matching"
        MANUAL = "manual", "Placed by a coordinator"

    run = models.ForeignKey(MatchRun, on_delete=models.CASCADE, related_name="proposals")
    mentee = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    mentor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    slot = models.CharField(max_length=20, blank=True)
    score = models.FloatField(default=0.0)
    reasons = models.JSONField(default=list, blank=True)  # short sentences, best first
    locked = models.BooleanField(default=False)
    origin = models.CharField(max_length=10, choices=Origin.choices, default=Origin.ENGINE)
    mentorship = models.ForeignKey(
        "mentorship.Mentorship", on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+",
    )  # fmt: skip

    class Meta:
        ordering = ["mentee_id", "slot", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "mentee", "mentor"], name="one_proposal_per_pair"
            ),
            models.CheckConstraint(
                condition=~Q(mentee=models.F("mentor")), name="proposal_not_self"
            ),
        ]

    def __str__(self) -> str:
        return f"Proposal {self.mentee_id}→{self.mentor_id} in run {self.run_id}"


class ImportJob(models.Model):
    """A CSV of participants: checked first (nothing written), imported only when confirmed."""

    class Status(models.TextChoices):
        CHECKING = "checking", "Checking the file"
        CHECKED = "checked", "Checked: ready to import"
        INVALID = "invalid", "Has problems to fix"
        IMPORTING = "importing", "Importing"
        DONE = "done", "Imported"
        FAILED = "failed", "Failed"

    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="imports")
    filename = models.CharField(max_length=200, blank=True)
    content = models.TextField()  # the CSV as uploaded (UTF-8)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.CHECKING)
    rows = models.PositiveIntegerField(default=0)
    progress = models.PositiveSmallIntegerField(default=0)  # percent
    # Dry run: [{"row": 7, "field": "specialties", "message": "..."}] and counts.
    problems = models.JSONField(default=list, blank=True)
    preview = models.JSONField(default=dict, blank=True)
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(progress__lte=100), name="import_progress_percent")
        ]

    def __str__(self) -> str:
        return f"Import {self.pk} into program {self.program_id} ({self.status})"
