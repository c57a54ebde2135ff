"""Who is told what at each step of a request's life.

Each event writes an in-app notice in the transaction of the change
(``request_notice``) and sends an email after commit (``request_event_send``);
both say the same thing to the same person.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from accounts.choices import EmailKind
from accounts.mail import compose, user_timezone, wants_email
from accounts.models import User
from mentorship.exceptions import ApplicationError

from .models import MentorRequest

# event -> (recipient side, email subject)
EVENTS: dict[str, tuple[str, str]] = {
    "received": ("mentor", "{mentee} would like you as a mentor"),
    "accepted": ("mentee", "{mentor} accepted your request"),
    "declined": ("mentee", "{mentor} can't take your request"),
    "info_requested": ("mentee", "{mentor} has a question about your request"),
    "answered": ("mentor", "{mentee} answered your question"),
    "expired": ("mentee", "Your request to {mentor} expired"),
}
# Events after which the student's ranked list moves on (or runs out).
PASSED_ON = {"declined", "expired"}

_NOTICES = {
    "received": "{mentee} would like you as a mentor. Please answer by {deadline}.",
    "accepted": "{mentor} accepted your request. Next: agree on goals and how often you'll meet.",
    "declined": "{mentor} can't take your request.",
    "info_requested": "{mentor} has a question about your request.",
    "answered": "{mentee} answered your question. The request is waiting for your decision.",
    "expired": "{mentor} did not answer in time.",
}


def recipient_of(request: MentorRequest, event: str) -> User:
    side, _ = EVENTS[event]
    return request.mentor if side == "mentor" else request.mentee


def _day(when: dt.datetime | None, user: User) -> str:
    if when is None:
        return ""
    return date_format(timezone.localtime(when, user_timezone(user)), "M j")


def _page(request: MentorRequest, event: str) -> str:
    side, _ = EVENTS[event]
    name = "matching:inbox" if side == "mentor" else "matching:requests"
    return reverse(name) + f"#request-{request.pk}"


def request_notice(
    request: MentorRequest, event: str, *, next_request: MentorRequest | None = None
) -> tuple[User, str, str]:
    """The in-app notice for ``event``: recipient, message and the page it links to.

    After a decline or an expiry, ``next_request`` is the request the student's
    list passed to; without one the list ran out and the notice points to fresh
    recommendations.
    """
    recipient = recipient_of(request, event)
    message = _NOTICES[event].format(
        mentee=request.mentee.display_name,
        mentor=request.mentor.display_name,
        deadline=_day(request.expires_at, recipient),
    )
    url = _page(request, event)
    if event in PASSED_ON:
        if next_request is not None:
            message += (
                f" Your request passed to your next choice, {next_request.mentor.display_name}."
            )
        else:
            message += " No more mentors on your list: see fresh recommendations."
            url = reverse("matching:recommendations")
    return recipient, message, url


def passed_to(request: MentorRequest) -> MentorRequest | None:
    """The request of the same ranked batch that went out after this one closed."""
    return (
        MentorRequest.objects.filter(batch=request.batch, rank__gt=request.rank)
        .exclude(sent_at=None)
        .select_related("mentor")
        .order_by("rank")
        .first()
    )


def fresh_recommendations(request: MentorRequest, k: int = 3) -> list[dict[str, str]]:
    """Top mentors for the student now, leaving out those this batch already asked."""
    from .selectors import recommendations_for  # numpy and the engine: only when needed

    asked = set(
        MentorRequest.objects.filter(batch=request.batch).values_list("mentor_id", flat=True)
    )
    try:
        page = recommendations_for(user=request.mentee, k=k + len(asked))
    except ApplicationError:
        return []
    return [
        {
            "name": rec.mentor.user.display_name,
            "headline": rec.mentor.headline,
            "url": settings.SITE_URL + reverse("mentor_detail", args=[rec.mentor.pk]),
        }
        for rec in page.results
        if rec.mentor.user_id not in asked
    ][:k]


def request_event_send(*, request_id: int, event: str) -> bool:
    """Email the person who needs to act or know. Returns False if nothing was sent."""
    if event not in EVENTS:
        raise ValueError(f"Unknown request event {event!r}")
    request = (
        MentorRequest.objects.select_related(
            "mentee__profile",
            "mentor__profile",
            "mentee__notification_settings",
            "mentor__notification_settings",
            "suggested_mentor",
        )
        .filter(pk=request_id)
        .first()
    )
    if request is None:
        return False
    subject = EVENTS[event][1]
    recipient = recipient_of(request, event)
    if not wants_email(recipient, EmailKind.REQUESTS):
        return False
    context: dict[str, object] = {
        "event": event,
        "req": request,
        "recipient": recipient,
        "tz": user_timezone(recipient),
        "site_name": settings.SITE_NAME,
        "url": settings.SITE_URL + _page(request, event),
        "recommendations_url": settings.SITE_URL + reverse("matching:recommendations"),
    }
    if event in PASSED_ON:
        context["next_request"] = next_request = passed_to(request)
        if next_request is None:
            context["recommendations"] = fresh_recommendations(request)
    message = compose(
        user=recipient,
        kinds=[EmailKind.REQUESTS],
        subject=subject.format(
            mentee=request.mentee.display_name, mentor=request.mentor.display_name
        ),
        template="emails/request_event",
        context=context,
    )
    message.send()
    return True
