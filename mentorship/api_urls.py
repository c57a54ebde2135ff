from django.urls import path

from accounts import apis as accounts_apis
from matching import apis as matching_apis
from mentorship import apis as mentorship_apis

app_name = "api"

urlpatterns = [
    path("auth/token/", accounts_apis.TokenApi.as_view(), name="token"),
    path("me/", accounts_apis.MeApi.as_view(), name="me"),
    path("me/profile/", accounts_apis.MyProfileApi.as_view(), name="my_profile"),
    path("me/demographics/", accounts_apis.MyDemographicsApi.as_view(), name="my_demographics"),
    path("mentors/<int:profile_id>/", accounts_apis.MentorDetailApi.as_view(), name="mentor"),
    path("specialties/", accounts_apis.SpecialtyListApi.as_view(), name="specialties"),
    path("interests/", accounts_apis.InterestListApi.as_view(), name="interests"),
    path("languages/", accounts_apis.LanguageListApi.as_view(), name="languages"),
    path("recommendations/", matching_apis.RecommendationListApi.as_view(), name="recommendations"),
    path("requests/", matching_apis.RequestListCreateApi.as_view(), name="requests"),
    path("requests/<int:request_id>/", matching_apis.RequestDetailApi.as_view(), name="request"),
    path(
        "requests/<int:request_id>/withdraw/",
        matching_apis.RequestWithdrawApi.as_view(),
        name="request_withdraw",
    ),
    path(
        "requests/<int:request_id>/decline/",
        matching_apis.RequestDeclineApi.as_view(),
        name="request_decline",
    ),
    path(
        "requests/<int:request_id>/ask/", matching_apis.RequestAskApi.as_view(), name="request_ask"
    ),
    path(
        "requests/<int:request_id>/answer/",
        matching_apis.RequestAnswerApi.as_view(),
        name="request_answer",
    ),
    path(
        "requests/<int:request_id>/accept/",
        mentorship_apis.RequestAcceptApi.as_view(),
        name="request_accept",
    ),
    path("inbox/", matching_apis.InboxApi.as_view(), name="inbox"),
    path("mentorships/", mentorship_apis.MentorshipListApi.as_view(), name="mentorships"),
    path("institutions/", accounts_apis.InstitutionListApi.as_view(), name="institutions"),
]
