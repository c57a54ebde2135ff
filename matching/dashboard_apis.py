"""REST endpoints of a program's figures: the dashboard and the equity view (coordinators)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User

from . import dashboard
from .apis import ERRORS_404


def _user(request: Request) -> User:
    assert isinstance(request.user, User)
    return request.user


class DashboardProgram(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class DashboardParticipants(serializers.Serializer):
    mentees = serializers.IntegerField()
    mentors = serializers.IntegerField()
    matched_mentees = serializers.IntegerField(
        help_text="Enrolled mentees with at least one mentorship made by this program."
    )
    match_rate_percent = serializers.FloatField(
        source="match_rate", allow_null=True, help_text="Null when nobody is enrolled."
    )


class DashboardScoreRun(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.IntegerField()
    published = serializers.BooleanField()


class DashboardScoreBin(serializers.Serializer):
    band = serializers.CharField(source="label", help_text='For example "60–70%".')
    low_percent = serializers.IntegerField(source="low", help_text="Inclusive.")
    high_percent = serializers.IntegerField(
        source="high", help_text="Exclusive, except the last bin, which includes 100."
    )
    pairs = serializers.IntegerField(source="count")


class DashboardScores(serializers.Serializer):
    run = DashboardScoreRun(
        source="score_run",
        allow_null=True,
        help_text="The published run, else the latest finished one; null before any.",
    )
    bins = DashboardScoreBin(source="score_bins", many=True)


class DashboardStatuses(serializers.Serializer):
    active = serializers.IntegerField(help_text="Active and not stalled.")
    stalled = serializers.IntegerField(
        help_text="Active, with no check-in completed within the cadence plus the grace."
    )
    paused = serializers.IntegerField()
    ended = serializers.IntegerField()
    total = serializers.IntegerField()


class DashboardAdherenceMonth(serializers.Serializer):
    month = serializers.DateField(help_text="The first day of the month.")
    live = serializers.IntegerField(help_text="Program mentorships live during the month.")
    met = serializers.IntegerField(
        help_text="Of those, how many completed at least one check-in held that month."
    )
    percent = serializers.FloatField(allow_null=True, help_text="Null when none was live.")


class DashboardPulses(serializers.Serializer):
    yes = serializers.IntegerField()
    partly = serializers.IntegerField()
    no = serializers.IntegerField()
    total = serializers.IntegerField()
    negative_percent = serializers.FloatField(
        allow_null=True, help_text="Share of “no” answers; null without answers."
    )


class DashboardMentorLoad(serializers.Serializer):
    person = serializers.IntegerField()
    name = serializers.CharField()
    live_mentorships = serializers.IntegerField(source="mentorships")


class DashboardLoadBucket(serializers.Serializer):
    live_mentorships = serializers.IntegerField(source="mentorships")
    mentors = serializers.IntegerField()


class DashboardLoad(serializers.Serializer):
    median = serializers.FloatField(allow_null=True)
    flagged = DashboardMentorLoad(
        many=True,
        help_text=(
            f"Mentors with more than {dashboard.LOAD_FACTOR}× the median and at least "
            f"{dashboard.LOAD_MARGIN} more than it."
        ),
    )
    distribution = DashboardLoadBucket(many=True)


class ProgramDashboardOutput(serializers.Serializer):
    program = DashboardProgram()
    as_of = serializers.DateTimeField()
    participants = DashboardParticipants(source="*")
    scores = DashboardScores(source="*")
    mentorships = DashboardStatuses(source="statuses")
    adherence = DashboardAdherenceMonth(many=True)
    pulses = DashboardPulses()
    mentor_load = DashboardLoad(source="load")


class EquityGroup(serializers.Serializer):
    key = serializers.CharField(help_text='A gender or ethnicity value, "not_stated" or "all".')
    group = serializers.CharField(source="label", help_text='For example "Not stated".')
    suppressed = serializers.BooleanField(
        help_text="Too small to show (or hidden so a small group cannot be derived): "
        "every figure is null."
    )
    people = serializers.IntegerField(allow_null=True)
    matched = serializers.IntegerField(allow_null=True)
    coverage_percent = serializers.FloatField(allow_null=True)
    mean_score_percent = serializers.FloatField(allow_null=True)
    median_days_to_match = serializers.FloatField(allow_null=True)


class ProgramEquityOutput(serializers.Serializer):
    program = DashboardProgram()
    minimum_group_size = serializers.IntegerField(source="min_group")
    overall = EquityGroup()
    by_gender = EquityGroup(many=True)
    by_ethnicity = EquityGroup(
        many=True, help_text="A mentee who reported several ethnicities counts in each."
    )


class ProgramDashboardApi(APIView):
    @extend_schema(
        operation_id="program_dashboard",
        summary="A program's dashboard figures (its school's coordinators)",
        responses={200: ProgramDashboardOutput, **ERRORS_404},
    )
    def get(self, request: Request, program_id: int) -> Response:
        figures = dashboard.program_dashboard(user=_user(request), program_id=program_id)
        return Response(ProgramDashboardOutput(figures).data)


class ProgramEquityApi(APIView):
    @extend_schema(
        operation_id="program_equity",
        summary="Coverage, score and time to match by gender and ethnicity, in aggregate",
        description=(
            "Self-reported, optional demographics of the enrolled mentees; groups under "
            f"{dashboard.MIN_GROUP} people are suppressed (with complementary suppression). "
            "Each call is written to the audit log."
        ),
        responses={200: ProgramEquityOutput, **ERRORS_404},
    )
    def get(self, request: Request, program_id: int) -> Response:
        equity = dashboard.program_equity_open(
            user=_user(request), program_id=program_id, channel="api"
        )
        return Response(ProgramEquityOutput(equity).data)
