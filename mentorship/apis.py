"""REST endpoints for mentorships."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.apis import ERRORS_4XX
from accounts.choices import MeetingMode
from accounts.models import User
from accounts.selectors import public_mentor_profile
from matching.apis import ERRORS_404, RequestPerson, ResponseFigures
from matching.models import MentorRequest

from . import selectors, services
from .models import AcademicDate, Agreement, CheckIn, Feedback, Goal, Mentorship, Note, Pulse
from .notifications import checkin_ics


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


class TrackRecordOutput(serializers.Serializer):
    """Counts and an average only: no mentee, comment or single rating is shown."""

    active_mentees = serializers.IntegerField()
    past_mentees = serializers.IntegerField()
    response = ResponseFigures()
    rating_count = serializers.IntegerField(help_text="Ratings given by the mentor's mentees.")
    rating_average = serializers.FloatField(
        allow_null=True, help_text="1–5, one decimal; null until there are 3 ratings."
    )


class MentorTrackRecordApi(APIView):
    @extend_schema(operation_id="mentor_track_record",
                   responses={200: TrackRecordOutput, **ERRORS_404})  # fmt: skip
    def get(self, request: Request, profile_id: int) -> Response:
        user = request.user
        assert isinstance(user, User)
        profile = public_mentor_profile(viewer=user, profile_id=profile_id)
        record = selectors.mentor_track_record(viewer=user, profile=profile)
        return Response(TrackRecordOutput(record).data)


# --- The relationship: agreement, check-ins, notes, pulses, ending --------------------
# One view per operation; every write goes through mentorship.services.


def _me(request: Request) -> User:
    assert isinstance(request.user, User)
    return request.user


def _valid(serializer_class: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class GoalOutput(serializers.ModelSerializer):
    class Meta:
        model = Goal
        fields = ["id", "title", "target_date", "progress"]
        read_only_fields = fields


class AgreementOutput(serializers.ModelSerializer):
    is_signed = serializers.BooleanField(read_only=True)

    class Meta:
        model = Agreement
        fields = ["cadence", "meeting_mode", "scheduler", "confidentiality", "duration",
                  "review_date", "mentee_signed_at", "mentor_signed_at", "is_signed",
                  "updated_at"]  # fmt: skip
        read_only_fields = fields


class CheckInOutput(serializers.ModelSerializer):
    class Meta:
        model = CheckIn
        fields = ["id", "scheduled_at", "duration_minutes", "mode", "location", "agenda",
                  "status", "completed_at"]  # fmt: skip
        read_only_fields = fields


class NoteOutput(serializers.ModelSerializer):
    author = serializers.CharField(source="author.display_name", read_only=True)
    mine = serializers.SerializerMethodField()

    class Meta:
        model = Note
        fields = ["id", "author", "mine", "body", "shared", "checkin", "created_at"]
        read_only_fields = fields

    def get_mine(self, obj: Note) -> bool:
        return obj.author_id == self.context["user"].pk


class MentorshipDetailOutput(serializers.Serializer):
    mentorship = MentorshipOutput()
    agreement = AgreementOutput()
    goals = GoalOutput(many=True)
    upcoming = CheckInOutput(many=True)
    past = CheckInOutput(many=True)
    notes = NoteOutput(many=True)
    pulse_due = serializers.SerializerMethodField(help_text="Check-ins waiting for your pulse.")
    next_due = serializers.DateField(help_text="When the next check-in is due by the cadence.")
    feedback_given = serializers.SerializerMethodField()
    thank_you_received = serializers.CharField()

    def get_pulse_due(self, page: selectors.MentorshipPage) -> list[int]:
        return [c.pk for c in page.pulse_due]

    def get_feedback_given(self, page: selectors.MentorshipPage) -> bool:
        return page.my_feedback is not None


def _detail_response(user: User, mentorship_id: int, status: int = 200) -> Response:
    page = selectors.mentorship_page(user=user, mentorship_id=mentorship_id)
    return Response(MentorshipDetailOutput(page, context={"user": user}).data, status=status)


class MentorshipDetailApi(APIView):
    @extend_schema(operation_id="mentorship_detail",
                   responses={200: MentorshipDetailOutput, **ERRORS_404})  # fmt: skip
    def get(self, request: Request, mentorship_id: int) -> Response:
        return _detail_response(_me(request), mentorship_id)


class AgreementGoalInput(serializers.Serializer):
    id = serializers.IntegerField(required=False, allow_null=True)
    title = serializers.CharField(max_length=200, allow_blank=True)
    target_date = serializers.DateField(required=False, allow_null=True)


class AgreementInput(serializers.Serializer):
    cadence = serializers.ChoiceField(MentorRequest.Cadence.choices, required=False)
    meeting_mode = serializers.ChoiceField(MeetingMode.choices, required=False)
    scheduler = serializers.ChoiceField(Agreement.Scheduler.choices, required=False)
    duration = serializers.ChoiceField(Agreement.Duration.choices, required=False)
    review_date = serializers.DateField(required=False)
    confidentiality = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    goals = AgreementGoalInput(many=True, required=False)


class AgreementUpdateApi(APIView):
    """Change the agreement; a real change clears the other side's signature."""

    @extend_schema(operation_id="agreement_update", request=AgreementInput,
                   responses={200: MentorshipDetailOutput, **ERRORS_404})  # fmt: skip
    def patch(self, request: Request, mentorship_id: int) -> Response:
        user = _me(request)
        services.agreement_update(
            user=user, mentorship_id=mentorship_id, data=_valid(AgreementInput, request)
        )
        return _detail_response(user, mentorship_id)


class AgreementSignApi(APIView):
    @extend_schema(operation_id="agreement_sign", request=None,
                   responses={200: MentorshipDetailOutput, **ERRORS_404})  # fmt: skip
    def post(self, request: Request, mentorship_id: int) -> Response:
        user = _me(request)
        services.agreement_sign(user=user, mentorship_id=mentorship_id)
        return _detail_response(user, mentorship_id)


class CheckInInput(serializers.Serializer):
    scheduled_at = serializers.DateTimeField(help_text="ISO 8601 with a UTC offset.")
    duration_minutes = serializers.IntegerField(min_value=5, max_value=480, default=30)
    mode = serializers.ChoiceField(MeetingMode.choices, default=MeetingMode.VIDEO)
    location = serializers.CharField(max_length=300, required=False, allow_blank=True)
    agenda = serializers.CharField(max_length=4000, required=False, allow_blank=True)


class CheckInCreateApi(APIView):
    @extend_schema(operation_id="checkin_create", request=CheckInInput,
                   responses={201: CheckInOutput, **ERRORS_404})  # fmt: skip
    def post(self, request: Request, mentorship_id: int) -> Response:
        checkin = services.checkin_schedule(
            user=_me(request), mentorship_id=mentorship_id, data=_valid(CheckInInput, request)
        )
        return Response(CheckInOutput(checkin).data, status=201)


class CheckInUpdateInput(serializers.Serializer):
    scheduled_at = serializers.DateTimeField(required=False)
    duration_minutes = serializers.IntegerField(min_value=5, max_value=480, required=False)
    mode = serializers.ChoiceField(MeetingMode.choices, required=False)
    location = serializers.CharField(max_length=300, required=False, allow_blank=True)
    agenda = serializers.CharField(max_length=4000, required=False, allow_blank=True)


class CheckInUpdateApi(APIView):
    """Reschedule a check-in or write its agenda."""

    @extend_schema(operation_id="checkin_update", request=CheckInUpdateInput,
                   responses={200: CheckInOutput, **ERRORS_404})  # fmt: skip
    def patch(self, request: Request, checkin_id: int) -> Response:
        checkin = services.checkin_update(
            user=_me(request), checkin_id=checkin_id, data=_valid(CheckInUpdateInput, request)
        )
        return Response(CheckInOutput(checkin).data)


class CheckInCancelApi(APIView):
    @extend_schema(operation_id="checkin_cancel", request=None,
                   responses={200: CheckInOutput, **ERRORS_404})  # fmt: skip
    def post(self, request: Request, checkin_id: int) -> Response:
        checkin = services.checkin_cancel(user=_me(request), checkin_id=checkin_id)
        return Response(CheckInOutput(checkin).data)


class CheckInCompleteInput(serializers.Serializer):
    goal_progress = serializers.DictField(
        child=serializers.IntegerField(min_value=0, max_value=100), required=False,
        help_text="Goal id -> percent done.",
    )  # fmt: skip
    note = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    note_shared = serializers.BooleanField(default=True)


class CheckInCompleteApi(APIView):
    """Log that the check-in happened; both sides are then asked the pulse."""

    @extend_schema(operation_id="checkin_complete", request=CheckInCompleteInput,
                   responses={200: CheckInOutput, **ERRORS_404})  # fmt: skip
    def post(self, request: Request, checkin_id: int) -> Response:
        data = _valid(CheckInCompleteInput, request)
        checkin = services.checkin_complete(
            user=_me(request),
            checkin_id=checkin_id,
            goal_progress=data.get("goal_progress"),
            note=data.get("note", ""),
            note_shared=data["note_shared"],
        )
        return Response(CheckInOutput(checkin).data)


class PulseInput(serializers.Serializer):
    answer = serializers.ChoiceField(Pulse.Answer.choices)


class PulseOutput(serializers.Serializer):
    checkin = serializers.IntegerField(source="checkin_id")
    answer = serializers.CharField()


class PulseApi(APIView):
    """ "Is this mentorship working for you?" Your answer is seen by nobody else."""

    @extend_schema(operation_id="checkin_pulse", request=PulseInput,
                   responses={201: PulseOutput, **ERRORS_404})  # fmt: skip
    def post(self, request: Request, checkin_id: int) -> Response:
        pulse = services.pulse_record(
            user=_me(request), checkin_id=checkin_id, answer=_valid(PulseInput, request)["answer"]
        )
        return Response(PulseOutput(pulse).data, status=201)


class CheckInIcsApi(APIView):
    @extend_schema(
        operation_id="checkin_ics",
        responses={(200, "text/calendar"): OpenApiTypes.BINARY, **ERRORS_404},
    )
    def get(self, request: Request, checkin_id: int) -> HttpResponse:
        checkin = selectors.checkin_for_party(user=_me(request), checkin_id=checkin_id)
        response = HttpResponse(checkin_ics(checkin), content_type="text/calendar")
        response["Content-Disposition"] = f'attachment; filename="check-in-{checkin.pk}.ics"'
        return response


class UpcomingCheckInOutput(CheckInOutput):
    mentorship = serializers.IntegerField(source="mentorship_id", read_only=True)
    with_name = serializers.SerializerMethodField()

    class Meta(CheckInOutput.Meta):
        fields = [*CheckInOutput.Meta.fields, "mentorship", "with_name"]
        read_only_fields = fields

    def get_with_name(self, obj: CheckIn) -> str:
        mentorship = obj.mentorship
        other = (
            mentorship.mentee
            if mentorship.mentor_id == self.context["user"].pk
            else mentorship.mentor
        )
        return other.display_name


class UpcomingCheckInListApi(APIView):
    @extend_schema(operation_id="checkin_upcoming",
                   responses={200: UpcomingCheckInOutput(many=True), **ERRORS_4XX})  # fmt: skip
    def get(self, request: Request) -> Response:
        user = _me(request)
        rows = selectors.checkins_upcoming(user=user, limit=20)
        return Response(UpcomingCheckInOutput(rows, many=True, context={"user": user}).data)


class NoteInput(serializers.Serializer):
    body = serializers.CharField(max_length=5000)
    shared = serializers.BooleanField(default=False)
    checkin = serializers.IntegerField(required=False, allow_null=True)


class NoteCreateApi(APIView):
    @extend_schema(operation_id="note_create", request=NoteInput,
                   responses={201: NoteOutput, **ERRORS_404})  # fmt: skip
    def post(self, request: Request, mentorship_id: int) -> Response:
        user = _me(request)
        data = _valid(NoteInput, request)
        note = services.note_add(
            user=user, mentorship_id=mentorship_id, body=data["body"], shared=data["shared"],
            checkin_id=data.get("checkin"),
        )  # fmt: skip
        return Response(NoteOutput(note, context={"user": user}).data, status=201)


class NoteDeleteApi(APIView):
    @extend_schema(operation_id="note_delete", request=None,
                   responses={204: None, **ERRORS_404})  # fmt: skip
    def delete(self, request: Request, note_id: int) -> Response:
        services.note_delete(user=_me(request), note_id=note_id)
        return Response(status=204)


class EndInput(serializers.Serializer):
    reason = serializers.ChoiceField(Mentorship.EndReason.choices)


class MentorshipEndApi(APIView):
    @extend_schema(operation_id="mentorship_end", request=EndInput,
                   responses={200: MentorshipDetailOutput, **ERRORS_404})  # fmt: skip
    def post(self, request: Request, mentorship_id: int) -> Response:
        user = _me(request)
        services.mentorship_end(
            user=user, mentorship_id=mentorship_id, reason=_valid(EndInput, request)["reason"]
        )
        return _detail_response(user, mentorship_id)


class RenewInput(serializers.Serializer):
    review_date = serializers.DateField()


class MentorshipRenewApi(APIView):
    @extend_schema(operation_id="mentorship_renew", request=RenewInput,
                   responses={200: MentorshipDetailOutput, **ERRORS_404})  # fmt: skip
    def post(self, request: Request, mentorship_id: int) -> Response:
        user = _me(request)
        services.mentorship_renew(
            user=user, mentorship_id=mentorship_id,
            review_date=_valid(RenewInput, request)["review_date"],
        )  # fmt: skip
        return _detail_response(user, mentorship_id)


class FeedbackInput(serializers.Serializer):
    rating = serializers.IntegerField(min_value=1, max_value=5)
    goals_met = serializers.ChoiceField(Feedback.GoalsMet.choices)
    would_recommend = serializers.BooleanField(default=True)
    comment = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    thank_you = serializers.CharField(max_length=2000, required=False, allow_blank=True)


class FeedbackApi(APIView):
    """The closing survey, once per side after the end. Only the thank-you is shared."""

    @extend_schema(operation_id="mentorship_feedback", request=FeedbackInput,
                   responses={201: MentorshipDetailOutput, **ERRORS_404})  # fmt: skip
    def post(self, request: Request, mentorship_id: int) -> Response:
        user = _me(request)
        services.feedback_submit(
            user=user, mentorship_id=mentorship_id, **_valid(FeedbackInput, request)
        )
        return _detail_response(user, mentorship_id, status=201)


class MentoringOnOutput(serializers.Serializer):
    accepting_mentees = serializers.BooleanField()
    capacity = serializers.IntegerField()
    active_mentees = serializers.IntegerField()


class PayItForwardApi(APIView):
    """A former mentee who can mentor opens a place in one call."""

    @extend_schema(operation_id="mentoring_switch_on", request=None,
                   responses={200: MentoringOnOutput, **ERRORS_4XX})  # fmt: skip
    def post(self, request: Request) -> Response:
        profile = services.mentoring_switch_on(user=_me(request))
        return Response(MentoringOnOutput(profile).data)


# --- The academic calendar ------------------------------------------------------------


class AcademicDateOutput(serializers.ModelSerializer):
    stages = serializers.ListField(child=serializers.IntegerField())

    class Meta:
        model = AcademicDate
        fields = [
            "id", "title", "category", "date", "stages", "lead_days", "prompt", "default_key",
            "active",
        ]  # fmt: skip


class AcademicDateInput(serializers.Serializer):
    title = serializers.CharField(max_length=120)
    category = serializers.ChoiceField(AcademicDate.Category.choices)
    date = serializers.DateField()
    stages = serializers.ListField(child=serializers.IntegerField(), required=False, default=list)
    lead_days = serializers.IntegerField(min_value=1, max_value=120, default=21)
    prompt = serializers.CharField(max_length=300)


class AcademicCalendarApi(APIView):
    """Your institution's academic calendar; its coordinators add dates."""

    @extend_schema(operation_id="calendar_list", responses={200: AcademicDateOutput(many=True)})
    def get(self, request: Request) -> Response:
        dates = selectors.academic_calendar(user=_me(request), include_off=True)
        return Response(AcademicDateOutput(dates, many=True).data)

    @extend_schema(operation_id="calendar_date_create", request=AcademicDateInput,
                   responses={201: AcademicDateOutput, **ERRORS_4XX})  # fmt: skip
    def post(self, request: Request) -> Response:
        date = services.academic_date_save(
            user=_me(request), data=_valid(AcademicDateInput, request)
        )
        return Response(AcademicDateOutput(date).data, status=201)


class AcademicDateApi(APIView):
    @extend_schema(operation_id="calendar_date_update", request=AcademicDateInput,
                   responses={200: AcademicDateOutput, **ERRORS_404})  # fmt: skip
    def put(self, request: Request, date_id: int) -> Response:
        date = services.academic_date_save(
            user=_me(request), date_id=date_id, data=_valid(AcademicDateInput, request)
        )
        return Response(AcademicDateOutput(date).data)

    @extend_schema(operation_id="calendar_date_delete", request=None,
                   responses={204: None, **ERRORS_404})  # fmt: skip
    def delete(self, request: Request, date_id: int) -> Response:
        services.academic_date_remove(user=_me(request), date_id=date_id)
        return Response(status=204)
