"""REST endpoints for mentorships."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.apis import ERRORS_4XX
from accounts.models import User
from matching.apis import ERRORS_404, RequestPerson

from . import selectors, services
from .models import Mentorship


class MentorshipOutput(serializers.ModelSerializer):
    mentee = RequestPerson()
    mentor = RequestPerson()
    my_role = serializers.SerializerMethodField()

    class Meta:
        model = Mentorship
        fields = ["id", "mentee", "mentor", "my_role", "status", "source", "started_at",
                  "ended_at"]  # fmt: skip
        read_only_fields = fields

    def get_my_role(self, obj: Mentorship) -> str:
        return "mentor" if obj.mentor_id == self.context["user"].pk else "mentee"


class MentorshipListApi(APIView):
    @extend_schema(operation_id="mentorship_list",
                   responses={200: MentorshipOutput(many=True), **ERRORS_4XX})  # fmt: skip
    def get(self, request: Request) -> Response:
        user = request.user
        assert isinstance(user, User)
        rows = selectors.mentorships_for(user=user)
        return Response(MentorshipOutput(rows, many=True, context={"user": user}).data)


class RequestAcceptApi(APIView):
    """Accept a request: a place is claimed under a lock and the mentorship starts."""

    @extend_schema(operation_id="request_accept", request=None,
                   responses={201: MentorshipOutput, **ERRORS_404})  # fmt: skip
    def post(self, request: Request, request_id: int) -> Response:
        user = request.user
        assert isinstance(user, User)
        mentorship = services.request_accept(mentor=user, request_id=request_id)
        return Response(MentorshipOutput(mentorship, context={"user": user}).data, status=201)
