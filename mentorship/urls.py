from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from . import views

admin.site.site_header = "MedMentor administration"

handler403 = "mentorship.views.permission_denied"
handler404 = "mentorship.views.page_not_found"
handler500 = "mentorship.views.server_error"


class ApiDocsPermission(BasePermission):
    """The schema and its docs: everyone when API_DOCS_PUBLIC (local default), else staff
    only (production default). Read per request, so a settings override applies."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        return settings.API_DOCS_PUBLIC or bool(request.user and request.user.is_staff)


urlpatterns = [
    path("", views.home, name="home"),
    path("healthz/", views.healthz, name="healthz"),
    path("accessibility/", views.accessibility, name="accessibility"),
    path("mentors/<int:profile_id>/", views.mentor_detail, name="mentor_detail"),
    path("accounts/", include("accounts.urls")),
    path("matching/", include("matching.urls")),
    path("programs/", include("matching.program_urls")),
    path("mentorships/", include("mentorship.relationship_urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("mentorship.api_urls")),
    path(
        "api/schema/",
        SpectacularAPIView.as_view(permission_classes=[ApiDocsPermission]),
        name="api-schema",
    ),
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(
            url_name="api-schema", permission_classes=[ApiDocsPermission]
        ),
        name="api-docs",
    ),
]
