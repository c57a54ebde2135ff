"""The API of safety: report a request or message, block its sender, list and undo
your blocks, and follow your reports (see ``safety`` for what each does)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.apis import ERRORS_4XX
from accounts.models import Block, User

from . import safety
from .apis import ERRORS_404
from .models import Report


def _user(request: Request) -> User:
    assert isinstance(request.user, User)
    return request.user


class BlockOutput(serializers.ModelSerializer):
    display_name = serializers.CharField(source="blocked.display_name")

    class Meta:
        model = Block
        fields = ["id", "display_name", "created_at"]
        read_only_fields = fields


class ReportOutput(serializers.ModelSerializer):
    """What the reporter sees of their report: never the outcome for the other person."""

    about = serializers.SerializerMethodField()

    class Meta:
        model = Report
        fields = ["id", "request", "message", "reason", "details", "status", "created_at", "about"]
        read_only_fields = fields

    def get_about(self, report: Report) -> str:
        return report.reported.display_name if report.reported else "Former member"


class RequestReportApi(APIView):
    """Report a request (its mentor) or a message on it from the other side."""

    class ReportInput(serializers.Serializer):
        reason = serializers.ChoiceField(Report.Reason.choices)
        details = serializers.CharField(max_length=2000, required=False, allow_blank=True)
        message = serializers.IntegerField(
            required=False, allow_null=True, help_text="A message's id; empty: the request."
        )
        block = serializers.BooleanField(default=False, help_text="Also block the sender.")

    @extend_schema(
        operation_id="request_report",
        request=ReportInput,
        responses={201: ReportOutput, **ERRORS_404},
    )
    def post(self, request: Request, request_id: int) -> Response:
        serializer = self.ReportInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        report = safety.report_create(
            user=_user(request),
            request_id=request_id,
            reason=data["reason"],
            details=data.get("details", ""),
            message_id=data.get("message"),
            block=data["block"],
        )
        return Response(ReportOutput(report).data, status=201)


class RequestBlockApi(APIView):
    @extend_schema(
        operation_id="request_block",
        request=None,
        responses={201: BlockOutput, **ERRORS_404},
        description="Block the other person on this request (idempotent).",
    )
    def post(self, request: Request, request_id: int) -> Response:
        block = safety.block_from_request(user=_user(request), request_id=request_id)
        return Response(BlockOutput(block).data, status=201)


class BlockListApi(APIView):
    @extend_schema(operation_id="block_list", responses={200: BlockOutput(many=True), **ERRORS_4XX})
    def get(self, request: Request) -> Response:
        return Response(BlockOutput(safety.blocks_made(user=_user(request)), many=True).data)


class BlockDeleteApi(APIView):
    @extend_schema(
        operation_id="block_delete",
        request=None,
        responses={204: OpenApiResponse(description="Unblocked"), **ERRORS_404},
    )
    def delete(self, request: Request, block_id: int) -> Response:
        safety.block_remove(user=_user(request), block_id=block_id)
        return Response(status=204)


class ReportListApi(APIView):
    @extend_schema(
        operation_id="report_list", responses={200: ReportOutput(many=True), **ERRORS_4XX}
    )
    def get(self, request: Request) -> Response:
        return Response(ReportOutput(safety.reports_made(user=_user(request)), many=True).data)
