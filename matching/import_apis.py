"""REST endpoints of a program's enrolment: invite code, joining, CSV imports and exports.

Coordinator endpoints fetch the program through ``program_for_coordinator`` first, so
another school's coordinator (or anyone else) gets 404 before anything is read.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from django.http import HttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import renderers, serializers
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.apis import ERROR, ERRORS_4XX
from accounts.models import MAX_CAPACITY, User

from . import imports, selectors
from .apis import ERRORS_404
from .import_views import csv_response
from .models import Enrollment, ImportJob


def _user(request: Request) -> User:
    assert isinstance(request.user, User)
    return request.user


# --- Invite code and joining ---------------------------------------------------------------


class JoinInput(serializers.Serializer):
    code = serializers.CharField(max_length=20)
    role = serializers.ChoiceField(Enrollment.Role.choices)
    capacity = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=MAX_CAPACITY,
        help_text="Mentors only: mentees they can take in this program.",
    )  # fmt: skip


class JoinOutput(serializers.ModelSerializer):
    program = serializers.IntegerField(source="program_id")
    program_name = serializers.CharField(source="program.name")

    class Meta:
        model = Enrollment
        fields = ["id", "program", "program_name", "role", "capacity", "joined_at"]


class ProgramJoinApi(APIView):
    """Join a program with the invitation code a coordinator shared. Joining again
    returns the same enrolment (200)."""

    @extend_schema(operation_id="program_join", request=JoinInput,
                   responses={201: JoinOutput, 200: JoinOutput, **ERRORS_4XX})  # fmt: skip
    def post(self, request: Request) -> Response:
        serializer = JoinInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        enrollment, created = imports.program_join(
            user=_user(request), code=data["code"], role=data["role"],
            capacity=data.get("capacity"),
        )  # fmt: skip
        return Response(JoinOutput(enrollment).data, status=201 if created else 200)


class InviteCodeOutput(serializers.Serializer):
    invite_code = serializers.CharField()
    join_url = serializers.URLField()


class InviteCodeApi(APIView):
    """Replace the program's invitation code: the old link stops working."""

    @extend_schema(operation_id="program_invite_code_regenerate", request=None,
                   responses={200: InviteCodeOutput, **ERRORS_404})  # fmt: skip
    def post(self, request: Request, program_id: int) -> Response:
        user = _user(request)
        selectors.program_for_coordinator(user=user, program_id=program_id)  # 404 first
        program = imports.invite_code_regenerate(user=user, program_id=program_id)
        url = request.build_absolute_uri(reverse("programs:join", args=[program.invite_code]))
        return Response({"invite_code": program.invite_code, "join_url": url})


# --- Imports -------------------------------------------------------------------------------


class ImportProblemOutput(serializers.Serializer):
    row = serializers.IntegerField(help_text="Row of the file as a spreadsheet numbers it.")
    field = serializers.CharField(help_text="Column, or empty for the whole row.")
    message = serializers.CharField()


class ImportPreviewOutput(serializers.Serializer):
    rows = serializers.IntegerField(required=False)
    new_accounts = serializers.IntegerField(required=False)
    existing_accounts = serializers.IntegerField(required=False)
    mentees = serializers.IntegerField(required=False)
    mentors = serializers.IntegerField(required=False)
    already_enrolled = serializers.IntegerField(required=False)
    to_enrol = serializers.IntegerField(required=False)
    problems_total = serializers.IntegerField(required=False)
    ignored_columns = serializers.ListField(child=serializers.CharField(), required=False)


class ImportResultOutput(serializers.Serializer):
    created_accounts = serializers.IntegerField(required=False)
    enrolled = serializers.IntegerField(required=False)
    already_enrolled = serializers.IntegerField(required=False)
    welcome_emails = serializers.IntegerField(required=False)


class ImportOutput(serializers.ModelSerializer):
    status = serializers.ChoiceField(ImportJob.Status.choices)
    problems = ImportProblemOutput(many=True)
    preview = ImportPreviewOutput()
    result = ImportResultOutput()

    class Meta:
        model = ImportJob
        fields = [
            "id", "status", "filename", "progress", "rows", "problems", "preview", "result",
            "error", "created_at", "confirmed_at", "finished_at",
        ]  # fmt: skip
        read_only_fields = fields


class ImportAccepted(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(ImportJob.Status.choices)


class ImportInput(serializers.Serializer):
    file = serializers.FileField(
        allow_empty_file=True,  # the service says "The file is empty." like the page does
        help_text="CSV, UTF-8 (with or without BOM), at most 5 MB. Columns: "
        + ", ".join(imports.COLUMNS)
        + ".",
    )


class ImportStartApi(APIView):
    """Upload a CSV of participants. It is checked in the background (nothing written);
    poll the import, then confirm it."""

    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(operation_id="program_import_start",
                   request={"multipart/form-data": ImportInput},
                   responses={202: ImportAccepted, **ERRORS_404})  # fmt: skip
    def post(self, request: Request, program_id: int) -> Response:
        user = _user(request)
        selectors.program_for_coordinator(user=user, program_id=program_id)  # 404 first
        serializer = ImportInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        upload = serializer.validated_data["file"]
        job = imports.import_start(
            user=user, program_id=program_id, filename=upload.name or "",
            data=upload.read(imports.MAX_UPLOAD_BYTES + 1),
        )  # fmt: skip
        return Response({"id": job.pk, "status": job.status}, status=202)


class ImportDetailApi(APIView):
    @extend_schema(operation_id="program_import_read",
                   responses={200: ImportOutput, **ERRORS_404})  # fmt: skip
    def get(self, request: Request, program_id: int, import_id: int) -> Response:
        job = imports.import_for_coordinator(
            user=_user(request), program_id=program_id, import_id=import_id
        )
        return Response(ImportOutput(job).data)


class ImportConfirmApi(APIView):
    """Import a checked file: all rows in one transaction, or none. Confirming again
    changes nothing; a file with problems is refused."""

    @extend_schema(operation_id="program_import_confirm", request=None,
                   responses={202: ImportAccepted, **ERRORS_404})  # fmt: skip
    def post(self, request: Request, program_id: int, import_id: int) -> Response:
        job = imports.import_confirm(
            user=_user(request), program_id=program_id, import_id=import_id
        )
        return Response({"id": job.pk, "status": job.status}, status=202)


# --- Exports -------------------------------------------------------------------------------


class CSVRenderer(renderers.BaseRenderer):
    """Lets clients ask for text/csv; errors still come out as the one error shape."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        return json.dumps(data).encode() if data is not None else b""


CSV_RESPONSES: dict[int | tuple[int, str], Any] = {
    (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, "The CSV file (UTF-8 with BOM)"),
    **{(code, "application/json"): OpenApiResponse(ERROR, text)
       for code, text in ((401, "Not signed in"), (403, "Not allowed"), (404, "Not found"))},
}  # fmt: skip


class _CsvExportApi(APIView):
    renderer_classes = [renderers.JSONRenderer, CSVRenderer]

    def finalize_response(
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        # An error is JSON even when the client asked for CSV (?format=csv or Accept):
        # the body is the one error shape and its Content-Type must say so.
        if isinstance(response, Response) and response.status_code >= 400:
            request.accepted_renderer = renderers.JSONRenderer()
            request.accepted_media_type = "application/json"
        return super().finalize_response(request, response, *args, **kwargs)


class ParticipantsExportApi(_CsvExportApi):
    """The program's participants as CSV, in the import's columns (never gender or
    ethnicity). Each export is audited."""

    @extend_schema(operation_id="program_export_participants", responses=CSV_RESPONSES)
    def get(self, request: Request, program_id: int) -> HttpResponse:
        return csv_response(
            *imports.participants_export(user=_user(request), program_id=program_id)
        )


class PairsExportApi(_CsvExportApi):
    """The pairs the program made (mentee, mentor, started, status) as CSV. Audited."""

    @extend_schema(operation_id="program_export_pairs", responses=CSV_RESPONSES)
    def get(self, request: Request, program_id: int) -> HttpResponse:
        return csv_response(*imports.pairs_export(user=_user(request), program_id=program_id))
