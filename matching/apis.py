"""REST endpoints of the matching domain."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Page
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param
from rest_framework.views import APIView

from accounts.apis import ERROR, ERRORS_4XX, InstitutionSerializer
from accounts.choices import MeetingMode
from accounts.models import Profile, User
from mentorship.exceptions import ApplicationError

from . import selectors, services
from .filters import MentorFilter
from .models import Enrollment, MentorRequest, Program


class RecommendedMentor(serializers.ModelSerializer):
    display_name = serializers.CharField(source="user.display_name")
    role = serializers.CharField(source="user.role")
    stage_label = serializers.CharField()
    institution = InstitutionSerializer(allow_null=True)
    specialties: serializers.Field = serializers.SlugRelatedField(
        slug_field="slug", many=True, read_only=True
    )

    class Meta:
        model = Profile
        fields = [
            "id",
            "display_name",
            "role",
            "stage",
            "stage_label",
            "headline",
            "institution",
            "specialties",
            "accepting_mentees",
            "capacity",
        ]
        read_only_fields = fields


class RecommendationOutput(serializers.Serializer):
    mentor = RecommendedMentor()
    score = serializers.FloatField(help_text="Fit in [0, 1]; the contributions sum to it.")
    reasons = serializers.ListField(child=serializers.CharField())
    contributions = serializers.DictField(child=serializers.FloatField())
    excluded_by = serializers.ListField(
        child=serializers.CharField(),
        help_text="Why this mentor cannot take you now (only with accepting_only=false).",
    )


class RecommendationListOutput(serializers.Serializer):
    count = serializers.IntegerField()
    pool_size = serializers.IntegerField()
    results = RecommendationOutput(many=True)


MENTOR_FILTER_PARAMETERS = [
    *[
        OpenApiParameter(name, str, required=False)
        for name in MentorFilter.base_filters
        if name != "accepting_only"
    ],
    OpenApiParameter(
        "accepting_only",
        str,
        enum=["true", "false"],
        description="true (default): only mentors accepting now with a free place",
    ),
]


class RecommendationListApi(APIView):
    """Mentors ranked by fit for the signed-in student, each with the reasons."""

    @extend_schema(
        operation_id="recommendation_list",
        parameters=[
            OpenApiParameter("k", int, description="How many mentors (1–50, default 10)"),
            *MENTOR_FILTER_PARAMETERS,
        ],
        responses={200: RecommendationListOutput, 404: OpenApiResponse(ERROR), **ERRORS_4XX},
    )
    def get(self, request: Request) -> Response:
        user = request.user
        assert isinstance(user, User)
        params = request.query_params.dict()
        raw_k = params.pop("k", "10")
        try:
            k = int(raw_k)
        except ValueError:
            k = 0
        page = selectors.recommendations_for(user=user, filters=params, k=k)
        return Response(
            RecommendationListOutput(
                {"count": len(page.results), "pool_size": page.pool_size, "results": page.results}
            ).data
        )


class RequestPerson(serializers.Serializer):
    id = serializers.IntegerField(source="profile.id")
    display_name = serializers.CharField()
    stage_label = serializers.CharField(source="profile.stage_label")


class RequestMessageOutput(serializers.Serializer):
    id = serializers.IntegerField(help_text="What to send as message when reporting it.")
    author = serializers.CharField(source="author.display_name")
    body = serializers.CharField()
    created_at = serializers.DateTimeField()


class RequestOutput(serializers.ModelSerializer):
    mentee = RequestPerson()
    mentor = RequestPerson()
    messages = RequestMessageOutput(many=True)
    suggested_mentor = RequestPerson(allow_null=True)
    # Blank until the mentor declines; read-only model fields would drop the blank choice.
    decline_reason = serializers.ChoiceField(
        MentorRequest.DeclineReason.choices, allow_blank=True, read_only=True
    )

    class Meta:
        model = MentorRequest
        fields = [
            "id",
            "mentee",
            "mentor",
            "batch",
            "rank",
            "single_mentor",
            "status",
            "goals",
            "expectations",
            "offers",
            "cadence",
            "meeting_mode",
            "decline_reason",
            "decline_note",
            "suggested_mentor",
            "messages",
            "created_at",
            "sent_at",
            "expires_at",
            "responded_at",
            "closed_at",
        ]
        read_only_fields = fields


ERRORS_404 = {**ERRORS_4XX, 404: OpenApiResponse(ERROR, "Not found")}


def _mentor_users(profile_ids: list[int]) -> list[User]:
    profiles = {
        p.pk: p.user for p in Profile.objects.filter(pk__in=profile_ids).select_related("user")
    }
    missing = [pid for pid in profile_ids if pid not in profiles]
    if missing:
        raise ApplicationError(
            "Unknown mentor.", fields={"mentors": [f"No mentor with id {pid}." for pid in missing]}
        )
    return [profiles[pid] for pid in profile_ids]


def _user(request: Request) -> User:
    assert isinstance(request.user, User)
    return request.user


class RequestListCreateApi(APIView):
    """Your requests to mentors (as a student), and sending new ones."""

    class RequestSendInput(serializers.Serializer):
        mentors = serializers.ListField(
            child=serializers.IntegerField(), min_length=1, max_length=3,
            help_text="Mentor profile ids in order of preference (1–3).",
        )  # fmt: skip
        expectations = serializers.CharField(max_length=2000)
        goals = serializers.DictField(
            child=serializers.IntegerField(min_value=1, max_value=3), required=False
        )
        offers = serializers.CharField(max_length=1000, required=False, allow_blank=True)
        cadence = serializers.ChoiceField(MentorRequest.Cadence.choices, default="monthly")
        meeting_mode = serializers.ChoiceField(MeetingMode.choices, required=False)
        single_mentor = serializers.BooleanField(default=True)

    @extend_schema(operation_id="request_list", responses={200: RequestOutput(many=True),
                                                           **ERRORS_4XX})  # fmt: skip
    def get(self, request: Request) -> Response:
        rows = selectors.requests_sent(user=_user(request))
        return Response(RequestOutput(rows, many=True).data)

    @extend_schema(operation_id="request_send", request=RequestSendInput,
                   responses={201: RequestOutput(many=True), **ERRORS_4XX})  # fmt: skip
    def post(self, request: Request) -> Response:
        serializer = self.RequestSendInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        created = services.request_send(
            mentee=_user(request), mentors=_mentor_users(data.pop("mentors")), **data
        )
        return Response(RequestOutput(created, many=True).data, status=201)


class InboxApi(APIView):
    """Requests addressed to you as a mentor."""

    @extend_schema(operation_id="inbox_list", responses={200: RequestOutput(many=True),
                                                         **ERRORS_4XX})  # fmt: skip
    def get(self, request: Request) -> Response:
        return Response(RequestOutput(selectors.inbox(user=_user(request)), many=True).data)


class RequestDetailApi(APIView):
    @extend_schema(operation_id="request_read", responses={200: RequestOutput, **ERRORS_404})
    def get(self, request: Request, request_id: int) -> Response:
        row = selectors.request_for_party(user=_user(request), request_id=request_id)
        return Response(RequestOutput(row).data)


def _fresh(request: Request, request_id: int) -> Response:
    row = selectors.request_for_party(user=_user(request), request_id=request_id)
    return Response(RequestOutput(row).data)


class RequestWithdrawApi(APIView):
    @extend_schema(operation_id="request_withdraw", request=None,
                   responses={200: RequestOutput, **ERRORS_404})  # fmt: skip
    def post(self, request: Request, request_id: int) -> Response:
        services.request_withdraw(mentee=_user(request), request_id=request_id)
        return _fresh(request, request_id)


class RequestDeclineApi(APIView):
    class DeclineInput(serializers.Serializer):
        reason = serializers.ChoiceField(MentorRequest.DeclineReason.choices)
        note = serializers.CharField(max_length=1000, required=False, allow_blank=True)
        suggested_mentor = serializers.IntegerField(
            required=False, allow_null=True, help_text="Profile id of a mentor to try instead."
        )

    @extend_schema(operation_id="request_decline", request=DeclineInput,
                   responses={200: RequestOutput, **ERRORS_404})  # fmt: skip
    def post(self, request: Request, request_id: int) -> Response:
        serializer = self.DeclineInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        suggested = data.get("suggested_mentor")
        services.request_decline(
            mentor=_user(request), request_id=request_id, reason=data["reason"],
            note=data.get("note", ""),
            suggested_mentor=_mentor_users([suggested])[0] if suggested else None,
        )  # fmt: skip
        return _fresh(request, request_id)


class RequestAskApi(APIView):
    class AskInput(serializers.Serializer):
        question = serializers.CharField(max_length=2000)

    @extend_schema(operation_id="request_ask", request=AskInput,
                   responses={200: RequestOutput, **ERRORS_404})  # fmt: skip
    def post(self, request: Request, request_id: int) -> Response:
        serializer = self.AskInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.request_ask_info(mentor=_user(request), request_id=request_id,
                                  question=serializer.validated_data["question"])  # fmt: skip
        return _fresh(request, request_id)


class RequestAnswerApi(APIView):
    class AnswerInput(serializers.Serializer):
        answer = serializers.CharField(max_length=2000)

    @extend_schema(operation_id="request_answer", request=AnswerInput,
                   responses={200: RequestOutput, **ERRORS_404})  # fmt: skip
    def post(self, request: Request, request_id: int) -> Response:
        serializer = self.AnswerInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.request_answer(mentee=_user(request), request_id=request_id,
                                answer=serializer.validated_data["answer"])  # fmt: skip
        return _fresh(request, request_id)


class SpecialtyName(serializers.Serializer):
    slug = serializers.SlugField()
    name = serializers.CharField()


class ResponseFigures(serializers.Serializer):
    """How a mentor answers requests; figures are null until there are 3 to go on."""

    answered = serializers.IntegerField(help_text="Sent requests the mentor responded to.")
    unanswered = serializers.IntegerField(help_text="Sent requests that expired unanswered.")
    rate_percent = serializers.IntegerField(allow_null=True)
    median_days = serializers.IntegerField(allow_null=True)
    usually_responds = serializers.CharField(help_text='e.g. "Usually responds in 2 days"; or ""')


class CardMentor(serializers.Serializer):
    id = serializers.IntegerField(help_text="Profile id, as in /api/v1/mentors/{id}/.")
    display_name = serializers.CharField(source="user.display_name")
    role = serializers.CharField(source="user.role")
    stage = serializers.IntegerField(allow_null=True)
    stage_label = serializers.CharField()
    headline = serializers.CharField()
    institution = InstitutionSerializer(allow_null=True)
    specialties = SpecialtyName(many=True, source="specialties.all")
    accepting_mentees = serializers.BooleanField()
    capacity = serializers.IntegerField()


class MentorCardOutput(serializers.Serializer):
    mentor = CardMentor()
    fit_score = serializers.FloatField(
        source="score", allow_null=True,
        help_text="Fit in [0, 1] for you; null when you are not looking for a mentor.",
    )  # fmt: skip
    reasons = serializers.ListField(child=serializers.CharField(), help_text="Top 3 reasons.")
    excluded_by = serializers.ListField(
        child=serializers.CharField(), help_text="Why you cannot ask this mentor now, if so."
    )
    places_open = serializers.IntegerField()
    open_now = serializers.BooleanField()
    saved = serializers.BooleanField()
    response = ResponseFigures()


class MentorCardPage(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    by_fit = serializers.BooleanField(help_text="Ranked by fit for you (students and residents).")
    results = MentorCardOutput(many=True)


class SavedMentorPage(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = MentorCardOutput(many=True)


def _page_links(request: Request, page: Page) -> dict[str, Any]:
    url = request.build_absolute_uri()
    return {
        "count": page.paginator.count,
        "next": replace_query_param(url, "page", page.next_page_number())
        if page.has_next()
        else None,
        "previous": replace_query_param(url, "page", page.previous_page_number())
        if page.has_previous()
        else None,
        "results": page.object_list,
    }


PAGE_PARAMETER = OpenApiParameter("page", int, description="Page number (20 per page)")


class MentorListApi(APIView):
    """Browse every mentor matching the filters, 20 per page.

    Students and residents get them ranked by fit (mentors they can ask now first),
    each with its top reasons; anyone else gets mentors with a free place first, then
    by name, without a fit score.
    """

    @extend_schema(
        operation_id="mentor_list",
        parameters=[
            PAGE_PARAMETER,
            *MENTOR_FILTER_PARAMETERS,
        ],
        responses={200: MentorCardPage, **ERRORS_4XX},
    )
    def get(self, request: Request) -> Response:
        params = request.query_params.dict()
        page = params.pop("page", "1")
        browse = selectors.browse_mentors(user=_user(request), filters=params, page=page)
        data = {**_page_links(request, browse.page), "by_fit": browse.by_fit}
        return Response(MentorCardPage(data).data)


class BookmarkListCreateApi(APIView):
    """Your saved mentors (only you see them), and saving one."""

    class BookmarkInput(serializers.Serializer):
        mentor = serializers.IntegerField(help_text="The mentor's profile id.")

    @extend_schema(
        operation_id="bookmark_list",
        parameters=[PAGE_PARAMETER],
        responses={200: SavedMentorPage, **ERRORS_4XX},
    )
    def get(self, request: Request) -> Response:
        page = selectors.saved_mentors(user=_user(request), page=request.query_params.get("page"))
        return Response(SavedMentorPage(_page_links(request, page)).data)

    @extend_schema(
        operation_id="bookmark_add",
        request=BookmarkInput,
        responses={
            201: OpenApiResponse(MentorCardOutput, "Saved"),
            200: OpenApiResponse(MentorCardOutput, "Already saved"),
            **ERRORS_4XX,
        },
    )
    def post(self, request: Request) -> Response:
        serializer = self.BookmarkInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = _user(request)
        profile_id = serializer.validated_data["mentor"]
        _, created = services.bookmark_add(user=user, mentor_profile_id=profile_id)
        card = selectors.mentor_card(user=user, mentor_profile_id=profile_id)
        return Response(MentorCardOutput(card).data, status=201 if created else 200)


class BookmarkDeleteApi(APIView):
    @extend_schema(
        operation_id="bookmark_remove",
        request=None,
        responses={204: OpenApiResponse(description="Not saved (any more)"), **ERRORS_4XX},
    )
    def delete(self, request: Request, profile_id: int) -> Response:
        services.bookmark_remove(user=_user(request), mentor_profile_id=profile_id)
        return Response(status=204)


# --- Pairing programs -------------------------------------------------------------------


class ProgramOutput(serializers.ModelSerializer):
    mentees = serializers.IntegerField(read_only=True)
    mentors = serializers.IntegerField(read_only=True)

    class Meta:
        model = Program
        fields = [
            "id", "name", "description", "starts_on", "ends_on", "enrol_by", "match_by",
            "status", "objective", "demand", "mentor_stage_rule", "institution_rule",
            "respect_conflicts", "weights", "default_cadence", "invite_code", "mentees",
            "mentors",
        ]  # fmt: skip


class ProgramInput(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    description = serializers.CharField(max_length=4000, required=False, allow_blank=True)
    starts_on = serializers.DateField()
    ends_on = serializers.DateField()
    enrol_by = serializers.DateField(required=False, allow_null=True)
    match_by = serializers.DateField(required=False, allow_null=True)
    status = serializers.ChoiceField(Program.Status.choices, required=False)
    objective = serializers.ChoiceField(Program.Objective.choices, required=False)
    demand = serializers.ChoiceField(Program.Demand.choices, required=False)
    mentor_stage_rule = serializers.ChoiceField(Program.MentorStageRule.choices, required=False)
    institution_rule = serializers.ChoiceField(Program.InstitutionRule.choices, required=False)
    respect_conflicts = serializers.BooleanField(required=False)
    weights = serializers.DictField(child=serializers.FloatField(), required=False)
    default_cadence = serializers.ChoiceField(MentorRequest.Cadence.choices, required=False)


class ProgramPatchInput(ProgramInput):
    name = serializers.CharField(max_length=120, required=False)
    starts_on = serializers.DateField(required=False)
    ends_on = serializers.DateField(required=False)


def _program_out(user: User, program_id: int) -> dict[str, Any]:
    return dict(
        ProgramOutput(selectors.program_for_coordinator(user=user, program_id=program_id)).data
    )


class ProgramListApi(APIView):
    """Pairing programs: your school's, for its coordinators; yours, for participants."""

    @extend_schema(operation_id="program_list", responses={200: ProgramOutput(many=True)})
    def get(self, request: Request) -> Response:
        return Response(ProgramOutput(selectors.programs_for(user=_user(request)), many=True).data)

    @extend_schema(operation_id="program_create", request=ProgramInput,
                   responses={201: ProgramOutput, **ERRORS_4XX})  # fmt: skip
    def post(self, request: Request) -> Response:
        serializer = ProgramInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = _user(request)
        program = services.program_save(user=user, data=dict(serializer.validated_data))
        return Response(_program_out(user, program.pk), status=201)


class ProgramDetailApi(APIView):
    @extend_schema(operation_id="program_read", responses={200: ProgramOutput, **ERRORS_404})
    def get(self, request: Request, program_id: int) -> Response:
        return Response(_program_out(_user(request), program_id))

    @extend_schema(operation_id="program_update", request=ProgramPatchInput,
                   responses={200: ProgramOutput, **ERRORS_404})  # fmt: skip
    def patch(self, request: Request, program_id: int) -> Response:
        serializer = ProgramPatchInput(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        user = _user(request)
        selectors.program_for_coordinator(user=user, program_id=program_id)  # 404 first
        services.program_save(
            user=user, program_id=program_id, data=dict(serializer.validated_data)
        )
        return Response(_program_out(user, program_id))


class ParticipantOutput(serializers.ModelSerializer):
    person = serializers.IntegerField(source="user_id")
    name = serializers.CharField(source="user.display_name")
    email = serializers.EmailField(source="user.email")

    class Meta:
        model = Enrollment
        fields = ["id", "person", "name", "email", "role", "capacity", "joined_at"]


class ParticipantInput(serializers.Serializer):
    person = serializers.IntegerField()
    role = serializers.ChoiceField(Enrollment.Role.choices)
    capacity = serializers.IntegerField(required=False, allow_null=True)


class ProgramParticipantsApi(APIView):
    @extend_schema(operation_id="program_participants",
                   responses={200: ParticipantOutput(many=True), **ERRORS_404})  # fmt: skip
    def get(self, request: Request, program_id: int) -> Response:
        rows = selectors.program_participants(user=_user(request), program_id=program_id)
        return Response(ParticipantOutput(rows, many=True).data)

    @extend_schema(operation_id="program_enrol", request=ParticipantInput,
                   responses={201: ParticipantOutput, **ERRORS_404})  # fmt: skip
    def post(self, request: Request, program_id: int) -> Response:
        serializer = ParticipantInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = _user(request)
        selectors.program_for_coordinator(user=user, program_id=program_id)  # 404 first
        data = serializer.validated_data
        enrollment = services.enrollment_add(
            user=user, program_id=program_id, person_id=data["person"], role=data["role"],
            capacity=data.get("capacity"),
        )  # fmt: skip
        return Response(ParticipantOutput(enrollment).data, status=201)
