from django.conf import settings
from django.http import HttpRequest


def site(request: HttpRequest) -> dict[str, object]:
    return {"SITE_NAME": settings.SITE_NAME, "API_DOCS_PUBLIC": settings.API_DOCS_PUBLIC}
