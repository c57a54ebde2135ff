"""Emails about a person's account. Each is claimed by a conditional UPDATE so that a
retried or duplicated task sends it once."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from .choices import EmailKind
from .mail import compose
from .models import Profile


def welcome_email_send(*, user_id: int) -> bool:
    """Send the welcome email once. Returns True if this call sent it."""
    with transaction.atomic():
        claimed = Profile.objects.filter(user_id=user_id, welcomed_at__isnull=True).update(
            welcomed_at=timezone.now()
        )
        if not claimed:
            return False
        profile = Profile.objects.select_related("user").get(user_id=user_id)
        user = profile.user
        context = {
            "user": user,
            "site_name": settings.SITE_NAME,
            "setup_url": settings.SITE_URL + reverse("accounts:profile_step", args=["about"]),
        }
        message = compose(
            user=user,
            kinds=EmailKind.values,  # its link stops every email we would send
            subject=f"Welcome to {settings.SITE_NAME}",
            template="emails/welcome",
            context=context,
        )
        # Sending inside the transaction: if the SMTP call fails, the claim rolls
        # back and the retry can claim it again.
        message.send()
    return True
