from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.permissions import AllowAny, IsAdminUser

from . import views

admin.site.site_header = "MedMentor administration"

_docs_permission = AllowAny if settings.API_DOCS_PUBLIC else IsAdminUser

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz/", views.healthz, name="healthz"),
    path("mentors/<int:profile_id>/", views.mentor_detail, name="mentor_detail"),
    path("accounts/", include("accounts.urls")),
    path("matching/", include("matching.urls")),
    path("programs/", include("matching.program_urls")),
    path("mentorships/", include("mentorship.relationship_urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("mentorship.api_urls")),
    path(
        "api/schema/",
        SpectacularAPIView.as_view(permission_classes=[_docs_permission]),
        name="api-schema",
    ),
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(
            url_name="api-schema", permission_classes=[_docs_permission]
        ),
        name="api-docs",
    ),
]
