"""The project's URLs plus views that fail, for tests only (``@pytest.mark.urls``).

Error handlers are looked up on the root URLconf, so this module re-exports the
project's own: a test using it exercises exactly what production serves.
"""

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.urls import path
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from mentorship.urls import handler403, handler404, handler500
from mentorship.urls import urlpatterns as project_urls

__all__ = ["handler403", "handler404", "handler500", "urlpatterns"]

# Text that exists only in the exception: it must reach the log and never the response.
SECRET = "db password is hunter2 at /srv/medmentor/settings.py line 42"


def boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError(SECRET)


def forbidden(request: HttpRequest) -> HttpResponse:
    raise PermissionDenied("Only for some.")


class BoomApi(APIView):
    permission_classes = [AllowAny]

    def get(self, request: Request) -> Response:
        raise RuntimeError(SECRET)


urlpatterns = [
    path("test-only/boom/", boom),
    path("api/v1/test-only/boom/", BoomApi.as_view()),
    path("api/v1/test-only/forbidden/", forbidden),
    *project_urls,
]
