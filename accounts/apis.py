"""REST endpoints for people and profiles: one view per operation, small nested serializers."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import authenticate
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from mentorship.exceptions import ApplicationError

from . import privacy, selectors, services
from .choices import (
    Delivery,
    EmailKind,
    Ethnicity,
    Gender,
    Goal,
    InstitutionPreference,
    MeetingMode,
    MentoringStyle,
    MentorStagePreference,
    Offer,
    Stage,
)
from .mail import settings_of, user_timezone
from .models import Institution, Interest, Language, Notification, Profile, Specialty, User
from .security import LoginLocked
from .throttles import LoginRateThrottle

ERROR = inline_serializer(
    "Error",
    fields={
        "message": serializers.CharField(),
        "fields": serializers.DictField(child=serializers.ListField(child=serializers.CharField())),
    },
)
ERRORS_4XX = {
    400: OpenApiResponse(ERROR, "Invalid input"),
    401: OpenApiResponse(ERROR, "Not signed in"),
    403: OpenApiResponse(ERROR, "Not allowed"),
}


def _user(request: Request) -> User:
    assert isinstance(request.user, User)
    return request.user


class SpecialtySerializer(serializers.ModelSerializer):
    related: serializers.Field = serializers.SlugRelatedField(
        slug_field="slug", many=True, read_only=True
    )

    class Meta:
        model = Specialty
        fields = ["slug", "name", "family", "related"]


class InterestSerializer(serializers.ModelSerializer):
    class Meta:
        model = Interest
        fields = ["slug", "name", "kind"]


class LanguageSerializer(serializers.ModelSerializer):
    class Meta:
        model = Language
        fields = ["code", "name"]


class InstitutionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Institution
        fields = ["id", "name", "short_name", "kind", "city", "timezone"]


class ProfileOutput(serializers.ModelSerializer):
    stage_label = serializers.CharField()
    institution = InstitutionSerializer(allow_null=True)
    specialties: serializers.Field = serializers.SlugRelatedField(
        slug_field="slug", many=True, read_only=True
    )
    interests: serializers.Field = serializers.SlugRelatedField(
        slug_field="slug", many=True, read_only=True
    )
    languages: serializers.Field = serializers.SlugRelatedField(
        slug_field="code", many=True, read_only=True
    )
    meeting_modes = serializers.ListField(child=serializers.CharField())
    goals = serializers.DictField(child=serializers.IntegerField())
    offers = serializers.ListField(child=serializers.CharField())
    strengths = serializers.ListField(child=serializers.CharField())
    preferred_mentee_stages = serializers.ListField(child=serializers.IntegerField())

    class Meta:
        model = Profile
        fields = [
            "id",
            "stage",
            "stage_label",
            "institution",
            "specialties",
            "interests",
            "languages",
            "headline",
            "bio",
            "timezone",
            "meeting_modes",
            "seeking_mentor",
            "goals",
            "offers",
            "mentor_stage_preference",
            "institution_preference",
            "style_preference",
            "accepting_mentees",
            "capacity",
            "hours_per_month",
            "strengths",
            "preferred_mentee_stages",
            "mentoring_style",
        ]
        read_only_fields = fields


class ProfileInput(serializers.Serializer):
    stage = serializers.ChoiceField(choices=Stage.choices, required=False)
    institution = serializers.PrimaryKeyRelatedField(
        queryset=Institution.objects.all(), required=False, allow_null=True
    )
    specialties = serializers.SlugRelatedField(
        slug_field="slug", many=True, queryset=Specialty.objects.all(), required=False
    )
    interests = serializers.SlugRelatedField(
        slug_field="slug", many=True, queryset=Interest.objects.all(), required=False
    )
    languages = serializers.SlugRelatedField(
        slug_field="code", many=True, queryset=Language.objects.all(), required=False
    )
    headline = serializers.CharField(max_length=120, required=False, allow_blank=True)
    bio = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    timezone = serializers.CharField(max_length=64, required=False)
    meeting_modes = serializers.MultipleChoiceField(choices=MeetingMode.choices, required=False)
    seeking_mentor = serializers.BooleanField(required=False)
    goals = serializers.DictField(
        child=serializers.IntegerField(min_value=1, max_value=3), required=False
    )
    offers = serializers.ListField(child=serializers.ChoiceField(Offer.choices), required=False)
    mentor_stage_preference = serializers.ChoiceField(MentorStagePreference.choices, required=False)
    institution_preference = serializers.ChoiceField(InstitutionPreference.choices, required=False)
    style_preference = serializers.ChoiceField(MentoringStyle.choices, required=False)
    accepting_mentees = serializers.BooleanField(required=False)
    capacity = serializers.IntegerField(min_value=0, max_value=20, required=False)
    hours_per_month = serializers.IntegerField(min_value=0, max_value=40, required=False)
    strengths = serializers.ListField(child=serializers.ChoiceField(Goal.choices), required=False)
    preferred_mentee_stages = serializers.ListField(
        child=serializers.ChoiceField(Stage.choices), required=False
    )
    mentoring_style = serializers.ChoiceField(MentoringStyle.choices, required=False)

    def to_profile_data(self) -> dict[str, Any]:
        data = dict(self.validated_data)
        if "meeting_modes" in data:
            modes = set(data.pop("meeting_modes"))
            data["meets_in_person"] = MeetingMode.IN_PERSON in modes
            data["meets_video"] = MeetingMode.VIDEO in modes
            data["meets_phone"] = MeetingMode.PHONE in modes
        for key in ("offers", "strengths", "preferred_mentee_stages"):
            if key in data:
                data[key] = list(dict.fromkeys(data[key]))
        return data


class MeOutput(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    full_name = serializers.CharField()
    display_name = serializers.CharField()
    role = serializers.CharField()
    can_mentor = serializers.BooleanField()
    can_be_mentee = serializers.BooleanField()
    profile_completeness = serializers.IntegerField()
    missing = serializers.ListField(child=serializers.CharField())


def _me_payload(user: User) -> dict[str, Any]:
    profile = selectors.own_profile(user=user)
    percent, items = selectors.completeness(profile=profile)
    return MeOutput(
        {
            "id": user.pk,
            "email": user.email,
            "full_name": user.full_name,
            "display_name": user.display_name,
            "role": user.role,
            "can_mentor": user.can_mentor,
            "can_be_mentee": user.can_be_mentee,
            "profile_completeness": percent,
            "missing": [item.label for item in items if not item.done],
        }
    ).data


class MeApi(APIView):
    class Input(serializers.Serializer):
        full_name = serializers.CharField(max_length=150)

    @extend_schema(operation_id="me_read", responses={200: MeOutput, **ERRORS_4XX})
    def get(self, request: Request) -> Response:
        return Response(_me_payload(_user(request)))

    @extend_schema(operation_id="me_update", request=Input, responses={200: MeOutput, **ERRORS_4XX})
    def patch(self, request: Request) -> Response:
        serializer = self.Input(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.user_update(user=_user(request), **serializer.validated_data)
        return Response(_me_payload(_user(request)))


class MyProfileApi(APIView):
    @extend_schema(operation_id="my_profile_read", responses={200: ProfileOutput, **ERRORS_4XX})
    def get(self, request: Request) -> Response:
        return Response(ProfileOutput(selectors.own_profile(user=_user(request))).data)

    @extend_schema(
        operation_id="my_profile_update",
        request=ProfileInput,
        responses={200: ProfileOutput, **ERRORS_4XX},
    )
    def patch(self, request: Request) -> Response:
        serializer = ProfileInput(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        user = _user(request)
        services.profile_update(user=user, data=serializer.to_profile_data())
        return Response(ProfileOutput(selectors.own_profile(user=user)).data)


class DemographicsSerializer(serializers.Serializer):
    gender = serializers.ChoiceField(choices=Gender.choices, allow_blank=True, default="")
    gender_self_description = serializers.CharField(max_length=100, allow_blank=True, default="")
    ethnicities = serializers.ListField(
        child=serializers.ChoiceField(Ethnicity.choices), default=list
    )
    ethnicity_self_description = serializers.CharField(max_length=100, allow_blank=True, default="")
    wants_same_gender = serializers.BooleanField(default=False)
    wants_same_ethnicity = serializers.BooleanField(default=False)
    gender_opted_in_at = serializers.DateTimeField(read_only=True, allow_null=True)
    ethnicity_opted_in_at = serializers.DateTimeField(read_only=True, allow_null=True)


class MyDemographicsApi(APIView):
    """Your private self-description. Only you can read or change it."""

    @extend_schema(
        operation_id="my_demographics_read", responses={200: DemographicsSerializer, **ERRORS_4XX}
    )
    def get(self, request: Request) -> Response:
        demographics = selectors.own_demographics(user=_user(request))
        return Response(DemographicsSerializer(demographics).data)

    @extend_schema(
        operation_id="my_demographics_replace",
        request=DemographicsSerializer,
        responses={200: DemographicsSerializer, **ERRORS_4XX},
    )
    def put(self, request: Request) -> Response:
        serializer = DemographicsSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        demographics = services.demographics_update(
            user=_user(request), **serializer.validated_data
        )
        return Response(DemographicsSerializer(demographics).data)


class PublicMentorOutput(serializers.Serializer):
    """What anyone signed in may see about a mentor. No sensitive or private field."""

    id = serializers.IntegerField()
    display_name = serializers.CharField(source="user.display_name")
    role = serializers.CharField(source="user.role")
    stage = serializers.IntegerField(allow_null=True)
    stage_label = serializers.CharField()
    institution = InstitutionSerializer(allow_null=True)
    headline = serializers.CharField()
    bio = serializers.CharField()
    specialties = SpecialtySerializer(many=True)
    interests = InterestSerializer(many=True)
    languages = LanguageSerializer(many=True)
    meeting_modes = serializers.ListField(child=serializers.CharField())
    strengths = serializers.ListField(child=serializers.CharField())
    mentoring_style = serializers.CharField()
    accepting_mentees = serializers.BooleanField()
    capacity = serializers.IntegerField()
    hours_per_month = serializers.IntegerField()


class MentorDetailApi(APIView):
    @extend_schema(
        operation_id="mentor_read",
        responses={200: PublicMentorOutput, 404: OpenApiResponse(ERROR), **ERRORS_4XX},
    )
    def get(self, request: Request, profile_id: int) -> Response:
        profile: Profile = selectors.public_mentor_detail(
            viewer=_user(request), profile_id=profile_id
        )
        return Response(PublicMentorOutput(profile).data)


class SpecialtyListApi(APIView):
    pagination_class = None

    @extend_schema(
        operation_id="specialty_list", responses={200: SpecialtySerializer(many=True), **ERRORS_4XX}
    )
    def get(self, request: Request) -> Response:
        return Response(SpecialtySerializer(selectors.specialty_list(), many=True).data)


class InterestListApi(APIView):
    @extend_schema(
        operation_id="interest_list", responses={200: InterestSerializer(many=True), **ERRORS_4XX}
    )
    def get(self, request: Request) -> Response:
        return Response(InterestSerializer(selectors.interest_list(), many=True).data)


class LanguageListApi(APIView):
    @extend_schema(
        operation_id="language_list", responses={200: LanguageSerializer(many=True), **ERRORS_4XX}
    )
    def get(self, request: Request) -> Response:
        return Response(LanguageSerializer(selectors.language_list(), many=True).data)


class InstitutionListApi(APIView):
    @extend_schema(
        operation_id="institution_list",
        responses={200: InstitutionSerializer(many=True), **ERRORS_4XX},
    )
    def get(self, request: Request) -> Response:
        return Response(InstitutionSerializer(selectors.institution_list(), many=True).data)


class TokenApi(APIView):
    """Exchange email and password for an API token (send it as `Authorization: Token …`).
    Accounts with two-factor sign-in also send the current 6-digit `code`. Repeated wrong
    passwords lock the account for a while, and each address has a few tries a minute:
    both answer 429 with a message saying when to try again."""

    permission_classes = [AllowAny]
    authentication_classes: list[type] = []
    throttle_classes = [LoginRateThrottle]

    class Input(serializers.Serializer):
        email = serializers.EmailField()
        password = serializers.CharField(trim_whitespace=False)
        code = serializers.CharField(
            required=False, allow_blank=True, help_text="Two-factor accounts only."
        )

    class Output(serializers.Serializer):
        token = serializers.CharField()

    @extend_schema(
        operation_id="token_obtain",
        request=Input,
        responses={
            200: Output,
            **ERRORS_4XX,
            429: OpenApiResponse(ERROR, "Account locked, or too many attempts"),
        },
    )
    def post(self, request: Request) -> Response:
        serializer = self.Input(data=request.data)
        serializer.is_valid(raise_exception=True)
        email = serializer.validated_data["email"].lower()
        # Django's request, not DRF's wrapper: axes marks a locked-out attempt on the
        # object it is given, and its middleware reads the mark from Django's request.
        django_request = request._request
        user = authenticate(
            request=django_request, username=email, password=serializer.validated_data["password"]
        )
        if user is None:
            if getattr(django_request, "axes_locked_out", False):
                raise LoginLocked()
            raise ApplicationError("Email or password is incorrect.")
        assert isinstance(user, User)
        if selectors.two_factor_device(user=user) is not None:
            code = serializer.validated_data.get("code", "")
            if not code:
                message = "This account uses two-factor sign-in: send the 6-digit code as code."
                raise ApplicationError(message, fields={"code": [message]})
            services.two_factor_verify(user=user, code=code)
        token = services.auth_token_obtain(user=user)
        return Response(self.Output({"token": token.key}).data, status=status.HTTP_200_OK)


class NotificationOutput(serializers.ModelSerializer):
    class Meta:
        model = Notification
        fields = ["id", "kind", "message", "url", "created_at", "read_at"]
        read_only_fields = fields


class NotificationListOutput(serializers.Serializer):
    count = serializers.IntegerField()
    unread_count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = NotificationOutput(many=True)


class NotificationReadAllOutput(serializers.Serializer):
    marked = serializers.IntegerField(help_text="How many notifications were unread.")
    unread_count = serializers.IntegerField()


ERRORS_404 = {**ERRORS_4XX, 404: OpenApiResponse(ERROR, "Not found")}


class NotificationListApi(APIView):
    """My in-app notifications, newest first, with how many are unread."""

    @extend_schema(
        operation_id="notification_list",
        parameters=[OpenApiParameter("page", int, description="Page number (50 per page)")],
        responses={200: NotificationListOutput, 404: OpenApiResponse(ERROR), **ERRORS_4XX},
    )
    def get(self, request: Request) -> Response:
        user = _user(request)
        paginator = PageNumberPagination()
        rows = paginator.paginate_queryset(
            selectors.notification_list(user=user), request, view=self
        )
        return Response(
            NotificationListOutput(
                {
                    "count": paginator.page.paginator.count if paginator.page else 0,
                    "unread_count": selectors.notification_unread_count(user=user),
                    "next": paginator.get_next_link(),
                    "previous": paginator.get_previous_link(),
                    "results": rows,
                }
            ).data
        )


class NotificationReadApi(APIView):
    @extend_schema(
        operation_id="notification_read",
        request=None,
        responses={200: NotificationOutput, **ERRORS_404},
    )
    def post(self, request: Request, notification_id: int) -> Response:
        notification = services.notification_mark_read(
            user=_user(request), notification_id=notification_id
        )
        return Response(NotificationOutput(notification).data)


class NotificationReadAllApi(APIView):
    @extend_schema(
        operation_id="notification_read_all",
        request=None,
        responses={200: NotificationReadAllOutput, **ERRORS_4XX},
    )
    def post(self, request: Request) -> Response:
        marked = services.notification_mark_all_read(user=_user(request))
        unread = selectors.notification_unread_count(user=_user(request))
        return Response(NotificationReadAllOutput({"marked": marked, "unread_count": unread}).data)


@extend_schema_field({"type": "string", "pattern": r"^\d{2}:\d{2}$", "example": "21:00"})
class ClockTimeField(serializers.TimeField):
    """A wall-clock time shown as HH:MM (OpenAPI's `time` format wants seconds and an offset)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%H:%M", **kwargs)


class NotificationSettingsOutput(serializers.Serializer):
    delivery = serializers.DictField(
        child=serializers.ChoiceField(Delivery.choices),
        help_text="Each kind of email: email, digest (reminders only) or off.",
    )
    checkin_lead_days = serializers.IntegerField()
    quiet_start = ClockTimeField()
    quiet_end = ClockTimeField()
    timezone = serializers.CharField(help_text="Quiet hours are in this time zone.")


class NotificationSettingsInput(serializers.Serializer):
    delivery = serializers.DictField(child=serializers.CharField(), required=False)
    checkin_lead_days = serializers.ChoiceField(["1", "2", "3", "7"], required=False)
    quiet_start = serializers.TimeField(required=False)
    quiet_end = serializers.TimeField(required=False)


def _notification_settings(user: User) -> dict[str, Any]:
    prefs = settings_of(user)
    return {
        "delivery": {kind.value: prefs.delivery_of(kind) for kind in EmailKind},
        "checkin_lead_days": prefs.checkin_lead.days,
        "quiet_start": prefs.quiet_start,
        "quiet_end": prefs.quiet_end,
        "timezone": user_timezone(user).key,
    }


class MyNotificationSettingsApi(APIView):
    """What we email you, when, and your quiet hours. Only you can read or change them."""

    @extend_schema(
        operation_id="my_notification_settings_read",
        responses={200: NotificationSettingsOutput, **ERRORS_4XX},
    )
    def get(self, request: Request) -> Response:
        user = _user(request)
        return Response(NotificationSettingsOutput(_notification_settings(user)).data)

    @extend_schema(
        operation_id="my_notification_settings_update",
        request=NotificationSettingsInput,
        responses={200: NotificationSettingsOutput, **ERRORS_4XX},
    )
    def patch(self, request: Request) -> Response:
        user = _user(request)
        serializer = NotificationSettingsInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.notification_settings_update(user=user, data=serializer.validated_data)
        user = User.objects.select_related("notification_settings", "profile").get(pk=user.pk)
        return Response(NotificationSettingsOutput(_notification_settings(user)).data)


class MyDataExportApi(APIView):
    @extend_schema(
        operation_id="me_export",
        responses={
            200: OpenApiResponse(
                OpenApiTypes.OBJECT,
                "Everything held about the person (see accounts.privacy.personal_data_export)",
            ),
            **ERRORS_4XX,
        },
    )
    def get(self, request: Request) -> Response:
        user = _user(request)
        data = privacy.personal_data_export(user=user)
        privacy.personal_data_export_record(user=user)
        return Response(data, headers={"Cache-Control": "no-store"})


class AccountDeleteApi(APIView):
    class AccountDeleteInput(serializers.Serializer):
        password = serializers.CharField(trim_whitespace=False)
        confirm = serializers.CharField(help_text='Type "delete" to confirm.')

    @extend_schema(
        operation_id="me_delete",
        request=AccountDeleteInput,
        responses={204: OpenApiResponse(description="Account deleted"), **ERRORS_4XX},
    )
    def post(self, request: Request) -> Response:
        serializer = self.AccountDeleteInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        privacy.account_delete(user=_user(request), **serializer.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)
