from django.conf import settings
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from accounts.models import User
from accounts.selectors import notification_unread_count


def site(request: HttpRequest) -> dict[str, object]:
    return {"SITE_NAME": settings.SITE_NAME, "API_DOCS_PUBLIC": settings.API_DOCS_PUBLIC}


def notifications(request: HttpRequest) -> dict[str, object]:
    """The unread count in the header: one indexed COUNT, run only if a template shows it."""
    user = getattr(request, "user", None)
    if not isinstance(user, User):  # anonymous
        return {}
    return {"unread_notifications": SimpleLazyObject(lambda: notification_unread_count(user=user))}
