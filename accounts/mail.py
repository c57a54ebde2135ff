"""Composing the emails people receive: their wishes, and a way out in every one.

Every email built here carries a signed one-click unsubscribe link for its kinds
(in the footer and in the ``List-Unsubscribe`` headers of RFC 2369 and RFC 8058),
so mail clients can offer "Unsubscribe" next to the sender.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse

from .choices import Delivery, EmailKind
from .models import NotificationSettings, User

UNSUBSCRIBE_SALT = "accounts.unsubscribe"


def settings_of(user: User) -> NotificationSettings:
    """The person's notification settings, or unsaved defaults when they never changed them."""
    try:
        return user.notification_settings
    except NotificationSettings.DoesNotExist:
        return NotificationSettings(user=user)


def wants_email(user: User, kind: str) -> bool:
    """Whether an email of ``kind`` may go to ``user`` now (event emails: not "off")."""
    return user.is_active and settings_of(user).delivery_of(kind) != Delivery.OFF


def zone(name: str | None) -> zoneinfo.ZoneInfo:
    """The named time zone; the site's for none, UTC for a name that does not exist."""
    try:
        return zoneinfo.ZoneInfo(name or settings.TIME_ZONE)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def user_timezone(user: User) -> zoneinfo.ZoneInfo:
    """The time zone of the person's profile: what every date they are sent is shown in."""
    profile = getattr(user, "profile", None)
    return zone(profile.timezone if profile is not None else None)


def local_time(moment: dt.datetime, tz: zoneinfo.ZoneInfo) -> str:
    """A moment as people read it in emails and notices: "Thu Oct 15, 10:00 AM EDT"."""
    return moment.astimezone(tz).strftime("%a %b %-d, %-I:%M %p %Z")


def unsubscribe_token(user_id: int, kinds: Iterable[str]) -> str:
    """A signed, unforgeable token naming one person and the kinds they opt out of.

    It does not expire: a link in an old email must still work (RFC 8058).
    """
    return signing.dumps({"u": user_id, "k": sorted(set(kinds))}, salt=UNSUBSCRIBE_SALT)


def unsubscribe_read(token: str) -> tuple[int, list[str]]:
    """The person and kinds named by a token; raises ``signing.BadSignature`` if forged."""
    data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    if not isinstance(data, dict) or not isinstance(data.get("u"), int):
        raise signing.BadSignature("Malformed unsubscribe token.")
    kinds = [k for k in data.get("k", []) if k in EmailKind.values]
    return data["u"], kinds


def unsubscribe_url(user_id: int, kinds: Iterable[str]) -> str:
    token = unsubscribe_token(user_id, kinds)
    return settings.SITE_URL + reverse("accounts:unsubscribe", args=[token])


def compose(
    *,
    user: User,
    kinds: Iterable[str],
    subject: str,
    template: str,
    context: Mapping[str, Any],
    headers: Mapping[str, str] | None = None,
) -> EmailMultiAlternatives:
    """A plain-text + HTML email to ``user`` from ``template``.txt/.html, with the footer.

    ``kinds`` are the ``EmailKind`` values the email belongs to: its unsubscribe
    link switches those off.
    """
    kinds = list(kinds)
    link = unsubscribe_url(user.pk, kinds)
    full = {
        **context,
        "site_name": settings.SITE_NAME,
        "unsubscribe_url": link,
        "unsubscribe_kinds": [EmailKind(k).label for k in kinds],
        "settings_url": settings.SITE_URL + reverse("accounts:notification_settings"),
    }
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"{template}.txt", full),
        to=[user.email],
        headers={
            "List-Unsubscribe": f"<{link}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            **(headers or {}),
        },
    )
    message.attach_alternative(render_to_string(f"{template}.html", full), "text/html")
    return message
