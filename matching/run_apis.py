"""REST endpoints of match runs: start and follow runs, review proposals, publish, compare.

Every endpoint is for the coordinators of the program's school; anyone else gets 404.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.apis import ERROR, ERRORS_4XX
from accounts.models import User

from . import runs
from .models import MatchRun, PairRule, Program, Proposal

ERRORS_404 = {**ERRORS_4XX, 404: OpenApiResponse(ERROR, "Not found")}


def _user(request: Request) -> User:
    assert isinstance(request.user, User)
    return request.user


class RunPerson(serializers.Serializer):
    id = serializers.IntegerField(help_text="User id.")
    display_name = serializers.CharField()
    stage_label = serializers.CharField(source="profile.stage_label")


class RunOutput(serializers.ModelSerializer):
    class Meta:
        model = MatchRun
        fields = [
            "id", "number", "status", "objective", "progress", "stage", "error", "params",
            "input_hash", "engine_version", "timings", "summary", "created_at", "started_at",
            "finished_at", "published_at",
        ]  # fmt: skip
        read_only_fields = fields


class ProposalOutput(serializers.ModelSerializer):
    mentee = RunPerson()
    mentor = RunPerson()
    percent = serializers.SerializerMethodField(help_text="The fit as a whole percent.")
    reasons = serializers.ListField(child=serializers.CharField())
    mentorship = serializers.IntegerField(source="mentorship_id", allow_null=True)

    class Meta:
        model = Proposal
        fields = [
            "id", "mentee", "mentor", "slot", "score", "percent", "reasons", "locked", "origin",
            "mentorship",
        ]  # fmt: skip
        read_only_fields = fields

    def get_percent(self, proposal: Proposal) -> int:
        return runs.percent(proposal.score)


class WaitingOutput(serializers.Serializer):
    mentee = RunPerson()
    reason = serializers.CharField()


class ProposalListOutput(serializers.Serializer):
    run = serializers.IntegerField(source="run.pk")
    editable = serializers.BooleanField()
    why_locked = serializers.CharField(help_text="Why the proposals cannot change now.")
    proposals = ProposalOutput(many=True)
    unmatched = WaitingOutput(many=True)
    partial_teams = WaitingOutput(
        source="partial", many=True, help_text="Team programs: mentees with one place open."
    )


def _run_out(user: User, program_id: int, run_id: int) -> dict[str, Any]:
    return dict(
        RunOutput(runs.run_for_coordinator(user=user, program_id=program_id, run_id=run_id)).data
    )


class ProgramRunListApi(APIView):
    """A program's match runs, and starting a new one."""

    class RunStartInput(serializers.Serializer):
        objective = serializers.ChoiceField(
            Program.Objective.choices, required=False,
            help_text="Defaults to the program's objective.",
        )  # fmt: skip

    @extend_schema(operation_id="program_run_list",
                   responses={200: RunOutput(many=True), **ERRORS_404})  # fmt: skip
    def get(self, request: Request, program_id: int) -> Response:
        rows = runs.runs_for_program(user=_user(request), program_id=program_id)
        return Response(RunOutput(rows, many=True).data)

    @extend_schema(
        operation_id="program_run_start",
        request=RunStartInput,
        responses={202: RunOutput, **ERRORS_404},
        description="Queues a run and returns it at once (202); poll it for progress. While "
        "a run with the same settings is queued or running, that run is returned instead.",
    )
    def post(self, request: Request, program_id: int) -> Response:
        serializer = self.RunStartInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = _user(request)
        runs.runs_for_program(user=user, program_id=program_id)  # 404 first
        run, _created = runs.run_start(
            user=user, program_id=program_id, objective=serializer.validated_data.get("objective")
        )
        return Response(RunOutput(run).data, status=202)


class RunDetailApi(APIView):
    @extend_schema(operation_id="program_run_read", responses={200: RunOutput, **ERRORS_404})
    def get(self, request: Request, program_id: int, run_id: int) -> Response:
        return Response(_run_out(_user(request), program_id, run_id))


class RunProposalListApi(APIView):
    @extend_schema(operation_id="program_run_proposals",
                   responses={200: ProposalListOutput, **ERRORS_404})  # fmt: skip
    def get(self, request: Request, program_id: int, run_id: int) -> Response:
        review = runs.run_review(user=_user(request), program_id=program_id, run_id=run_id)
        return Response(ProposalListOutput(review).data)


def _proposal_out(proposal: Proposal) -> dict[str, Any]:
    fresh = runs.proposals_of(proposal.run).get(pk=proposal.pk)
    return dict(ProposalOutput(fresh).data)


class ProposalLockApi(APIView):
    @extend_schema(operation_id="program_run_proposal_lock", request=None,
                   responses={200: ProposalOutput, **ERRORS_404})  # fmt: skip
    def post(self, request: Request, program_id: int, run_id: int, proposal_id: int) -> Response:
        user = _user(request)
        runs.run_for_coordinator(user=user, program_id=program_id, run_id=run_id)  # 404 first
        proposal = runs.proposal_lock(
            user=user, program_id=program_id, run_id=run_id, proposal_id=proposal_id
        )
        return Response(_proposal_out(proposal))


class ProposalUnlockApi(APIView):
    @extend_schema(operation_id="program_run_proposal_unlock", request=None,
                   responses={200: ProposalOutput, **ERRORS_404})  # fmt: skip
    def post(self, request: Request, program_id: int, run_id: int, proposal_id: int) -> Response:
        user = _user(request)
        runs.run_for_coordinator(user=user, program_id=program_id, run_id=run_id)  # 404 first
        proposal = runs.proposal_unlock(
            user=user, program_id=program_id, run_id=run_id, proposal_id=proposal_id
        )
        return Response(_proposal_out(proposal))


class ProposalRemoveApi(APIView):
    @extend_schema(operation_id="program_run_proposal_remove", request=None,
                   responses={204: None, **ERRORS_404})  # fmt: skip
    def post(self, request: Request, program_id: int, run_id: int, proposal_id: int) -> Response:
        user = _user(request)
        runs.run_for_coordinator(user=user, program_id=program_id, run_id=run_id)  # 404 first
        runs.proposal_remove(
            user=user, program_id=program_id, run_id=run_id, proposal_id=proposal_id
        )
        return Response(status=204)


class RunSwapApi(APIView):
    class SwapInput(serializers.Serializer):
        a = serializers.IntegerField(help_text="A proposal id of this run.")
        b = serializers.IntegerField(help_text="Another proposal id of the same place.")

    @extend_schema(operation_id="program_run_swap", request=SwapInput,
                   responses={200: ProposalOutput(many=True), **ERRORS_404})  # fmt: skip
    def post(self, request: Request, program_id: int, run_id: int) -> Response:
        serializer = self.SwapInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = _user(request)
        runs.run_for_coordinator(user=user, program_id=program_id, run_id=run_id)  # 404 first
        a, b = runs.proposal_swap(
            user=user, program_id=program_id, run_id=run_id,
            proposal_a=serializer.validated_data["a"], proposal_b=serializer.validated_data["b"],
        )  # fmt: skip
        return Response([_proposal_out(a), _proposal_out(b)])


class RunAssignApi(APIView):
    class AssignInput(serializers.Serializer):
        mentee = serializers.IntegerField(help_text="User id of an enrolled mentee.")
        mentor = serializers.IntegerField(help_text="User id of an enrolled mentor.")
        slot = serializers.ChoiceField(
            [("", "One mentor"), *((slot, runs.SLOT_LABELS[slot]) for slot in runs.SLOTS)],
            required=False, default="",
            help_text="Team programs: near_peer or senior.",
        )  # fmt: skip

    @extend_schema(operation_id="program_run_assign", request=AssignInput,
                   responses={201: ProposalOutput, **ERRORS_404})  # fmt: skip
    def post(self, request: Request, program_id: int, run_id: int) -> Response:
        serializer = self.AssignInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = _user(request)
        runs.run_for_coordinator(user=user, program_id=program_id, run_id=run_id)  # 404 first
        data = serializer.validated_data
        proposal = runs.proposal_assign(
            user=user, program_id=program_id, run_id=run_id, mentee_id=data["mentee"],
            mentor_id=data["mentor"], slot=data["slot"],
        )  # fmt: skip
        return Response(_proposal_out(proposal), status=201)


class PublishOutput(serializers.Serializer):
    run = RunOutput()
    mentorships = serializers.IntegerField(help_text="Mentorships the publish started.")
    skipped = serializers.ListField(child=serializers.CharField())
    already_published = serializers.BooleanField()


class RunPublishApi(APIView):
    @extend_schema(
        operation_id="program_run_publish",
        request=None,
        responses={
            200: PublishOutput,
            409: OpenApiResponse(ERROR, "A mentor filled up since the run: nothing published"),
            **ERRORS_404,
        },
        description="Starts a mentorship for every proposal, all or none, and tells both "
        "sides. Publishing again returns the first result and creates nothing.",
    )
    def post(self, request: Request, program_id: int, run_id: int) -> Response:
        user = _user(request)
        runs.run_for_coordinator(user=user, program_id=program_id, run_id=run_id)  # 404 first
        result = runs.run_publish(user=user, program_id=program_id, run_id=run_id)
        return Response(PublishOutput(result).data)


class RunFiguresOutput(serializers.Serializer):
    run = serializers.IntegerField(source="run.pk")
    number = serializers.IntegerField(source="run.number")
    objective = serializers.CharField(source="run.objective")
    coverage = serializers.FloatField()
    mean_score = serializers.FloatField()
    total_score = serializers.FloatField()
    matched = serializers.IntegerField()
    unmatched = serializers.IntegerField()
    pairs = serializers.IntegerField()
    places_wanted = serializers.IntegerField(help_text="Mentees, times two for team programs.")
    histogram = serializers.ListField(
        child=serializers.IntegerField(), help_text="Pairs per 10% band of fit, 0–100%."
    )
    groups = serializers.DictField(
        child=serializers.FloatField(), help_text="Share of mentees matched per career stage."
    )
    load_max = serializers.IntegerField()
    load_median = serializers.FloatField()
    load_distribution = serializers.ListField(
        child=serializers.ListField(child=serializers.IntegerField()),
        help_text="[mentees per mentor, number of mentors] rows.",
    )
    blocking_pairs = serializers.IntegerField()


class RunComparisonOutput(serializers.Serializer):
    runs = RunFiguresOutput(many=True)


class RunCompareApi(APIView):
    @extend_schema(
        operation_id="program_run_compare",
        parameters=[
            OpenApiParameter(
                "runs",
                int,
                many=True,
                required=True,
                description="Two to six run ids of this program (repeat the parameter).",
            )
        ],
        responses={200: RunComparisonOutput, **ERRORS_404},
    )
    def get(self, request: Request, program_id: int) -> Response:
        ids = [int(v) for v in request.query_params.getlist("runs") if v.isdigit()]
        comparison = runs.runs_compare(user=_user(request), program_id=program_id, run_ids=ids)
        return Response(RunComparisonOutput(comparison).data)


# --- Decisions carried into every run: kept and forbidden pairs -----------------------


class PairRuleOutput(serializers.ModelSerializer):
    mentee = RunPerson()
    mentor = RunPerson()
    kind = serializers.ChoiceField(
        PairRule.Kind.choices, help_text="lock: every run keeps the pair; exclude: never paired."
    )
    slot = serializers.CharField(help_text="Team programs: the place a kept mentor fills.")
    created_by = serializers.CharField(source="created_by.display_name", allow_null=True)

    class Meta:
        model = PairRule
        fields = ["id", "kind", "mentee", "mentor", "slot", "created_by", "created_at"]
        read_only_fields = fields


class PairRuleListApi(APIView):
    """The pairs every run of the program keeps or never proposes; forbidding a pair."""

    class ExcludeInput(serializers.Serializer):
        mentee = serializers.IntegerField(help_text="User id of an enrolled mentee.")
        mentor = serializers.IntegerField(help_text="User id of an enrolled mentor.")

    @extend_schema(operation_id="program_pair_rule_list",
                   responses={200: PairRuleOutput(many=True), **ERRORS_404})  # fmt: skip
    def get(self, request: Request, program_id: int) -> Response:
        rules = runs.pair_rules_of(user=_user(request), program_id=program_id)
        return Response(PairRuleOutput(rules, many=True).data)

    @extend_schema(
        operation_id="program_pair_rule_exclude",
        request=ExcludeInput,
        responses={201: PairRuleOutput, **ERRORS_404},
        description="Never pair these two in any later run (replaces keeping them). If the "
        "run under review proposes them, that proposal is removed. Refused once the "
        "program's matches are published.",
    )
    def post(self, request: Request, program_id: int) -> Response:
        serializer = self.ExcludeInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = _user(request)
        rule = runs.pair_rule_exclude(
            user=user, program_id=program_id, mentee_id=serializer.validated_data["mentee"],
            mentor_id=serializer.validated_data["mentor"],
        )  # fmt: skip
        fresh = runs.pair_rules_of(user=user, program_id=program_id).get(pk=rule.pk)
        return Response(PairRuleOutput(fresh).data, status=201)


class PairRuleDetailApi(APIView):
    @extend_schema(
        operation_id="program_pair_rule_delete",
        responses={204: None, **ERRORS_404},
        description="Undo a kept or forbidden pair; undoing a kept pair also unlocks it in "
        "the run under review. Refused once the program's matches are published.",
    )
    def delete(self, request: Request, program_id: int, rule_id: int) -> Response:
        runs.pair_rule_delete(user=_user(request), program_id=program_id, rule_id=rule_id)
        return Response(status=204)
