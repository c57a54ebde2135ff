from django.urls import path

from accounts import apis as accounts_apis
from matching import apis as matching_apis

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
    path("institutions/", accounts_apis.InstitutionListApi.as_view(), name="institutions"),
]
