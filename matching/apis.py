"""REST endpoints of the matching domain."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.apis import ERROR, ERRORS_4XX, InstitutionSerializer
from accounts.models import Profile, User

from . import selectors
from .filters import MentorFilter


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


class RecommendationListApi(APIView):
    """Mentors ranked by fit for the signed-in student, each with the reasons."""

    @extend_schema(
        operation_id="recommendation_list",
        parameters=[
            OpenApiParameter("k", int, description="How many mentors (1–50, default 10)"),
            *[
                OpenApiParameter(name, str, required=False)
                for name in MentorFilter.base_filters
                if name != "accepting_only"
            ],
            OpenApiParameter(
                "accepting_only",
                str,
                enum=["true", "false"],
                description="true (default): only mentors with a free place",
            ),
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
