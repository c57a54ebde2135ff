"""Emails about requests: who is told what at each step of a request's life."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse

from .models import MentorRequest

# event -> (recipient side, subject)
EVENTS: dict[str, tuple[str, str]] = {
    "received": ("mentor", "{mentee} would like you as a mentor"),
    "accepted": ("mentee", "{mentor} accepted your request"),
    "declined": ("mentee", "{mentor} can't take your request"),
    "info_requested": ("mentee", "{mentor} has a question about your request"),
    "answered": ("mentor", "{mentee} answered your question"),
    "expired": ("mentee", "Your request to {mentor} expired"),
}


def request_event_send(*, request_id: int, event: str) -> bool:
    """Email the person who needs to act or know. Returns False if nothing was sent."""
    if event not in EVENTS:
        raise ValueError(f"Unknown request event {event!r}")
    request = (
        MentorRequest.objects.select_related("mentee", "mentor", "suggested_mentor")
        .filter(pk=request_id)
        .first()
    )
    if request is None:
        return False
    side, subject = EVENTS[event]
    recipient = request.mentor if side == "mentor" else request.mentee
    if not recipient.is_active:
        return False
    path = reverse("matching:inbox") if side == "mentor" else reverse("matching:requests")
    context = {
        "event": event,
        "req": request,
        "recipient": recipient,
        "site_name": settings.SITE_NAME,
        "url": settings.SITE_URL + path + f"#request-{request.pk}",
        "recommendations_url": settings.SITE_URL + reverse("matching:recommendations"),
    }
    message = EmailMultiAlternatives(
        subject=subject.format(
            mentee=request.mentee.display_name, mentor=request.mentor.display_name
        ),
        body=render_to_string("emails/request_event.txt", context),
        to=[recipient.email],
    )
    message.attach_alternative(render_to_string("emails/request_event.html", context), "text/html")
    message.send()
    return True
