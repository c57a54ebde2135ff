"""What each side of a mentorship is told, in the app and by email.

``EVENTS`` maps an event to its email subject and the page it points to. The
in-app message and the email say the same thing; check-in emails carry an
``.ics`` invitation.
"""

from __future__ import annotations

import datetime as dt

import icalendar
from django.conf import settings
from django.urls import reverse

from accounts.choices import EmailKind
from accounts.mail import compose, local_time, user_timezone, wants_email
from accounts.models import User

from .models import CheckIn, Mentorship

DETAIL = "mentorships:detail"

# event -> (email subject, page)
EVENTS: dict[str, tuple[str, str]] = {
    "agreement_to_sign": ("Your mentoring agreement with {other} is ready to sign", DETAIL),
    "agreement_signed": ("You and {other} signed your mentoring agreement", DETAIL),
    "checkin_scheduled": ("Check-in with {other}: {when}", DETAIL),
    "checkin_moved": ("Check-in with {other} moved to {when}", DETAIL),
    "checkin_cancelled": ("Check-in with {other} on {when} cancelled", DETAIL),
    "pulse": ("Is your mentorship with {other} working for you?", DETAIL),
    "note_shared": ("{other} shared a note with you", DETAIL),
    "rematch_offered": ("Would another mentor suit you better?", DETAIL),
    "rematch_mentor": ("About your mentorship with {other}", DETAIL),
    "ended": ("{other} ended your mentorship: a short closing survey", DETAIL),
    "renewed": ("{other} renewed your mentorship", DETAIL),
    "thank_you": ("A thank-you note from {other}", DETAIL),
    "program_match": ("Your mentoring match: {other}", "mentorships:agreement"),
}
# Events whose email carries the check-in as an .ics invitation.
ICS_EVENTS = ("checkin_scheduled", "checkin_moved", "checkin_cancelled", "program_match")

_MESSAGES = {
    "agreement_to_sign": "Your mentoring agreement with {other} is waiting for your signature.",
    "agreement_signed": "You and {other} have both signed your mentoring agreement.",
    "checkin_scheduled": "{other} scheduled a check-in for {when}.",
    "checkin_moved": "{other} moved your check-in to {when}.",
    "checkin_cancelled": "{other} cancelled the check-in of {when}.",
    "pulse": "One question about your check-in with {other}: is it working for you?",
    "note_shared": "{other} shared a note with you.",
    "rematch_offered": (
        "Your last check-ins with {other} did not feel right. You can look for another mentor."
    ),
    "rematch_mentor": (
        "Your mentorship with {other} may not be working as hoped; a fresh start is on offer."
    ),
    "ended": "{other} ended your mentorship. Tell us how it went in a short closing survey.",
    "renewed": "{other} renewed your mentorship: the next review is on {review}.",
    "thank_you": "{other} sent you a thank-you note.",
    "program_match": (
        "{other} is your {role} in {program}. Your first check-in is planned for {when}; "
        "before it, agree on your goals and sign your mentoring agreement together."
    ),
}


def _when(checkin: CheckIn | None, recipient: User) -> str:
    return local_time(checkin.scheduled_at, user_timezone(recipient)) if checkin else ""


def event_message(
    mentorship: Mentorship, recipient_id: int, event: str, checkin: CheckIn | None = None
) -> str:
    other_id = mentorship.other_party_id(recipient_id)
    other = mentorship.mentor if other_id == mentorship.mentor_id else mentorship.mentee
    recipient = mentorship.mentee if recipient_id == mentorship.mentee_id else mentorship.mentor
    review = getattr(getattr(mentorship, "agreement", None), "review_date", None)
    # Only the program match names the program: no extra query for the other events.
    program = mentorship.program.name if event == "program_match" and mentorship.program else ""
    return _MESSAGES[event].format(
        other=other.display_name,
        when=_when(checkin, recipient) or "the agreed time",
        review=review.strftime("%B %-d, %Y") if review else "",
        role="mentor" if recipient_id == mentorship.mentee_id else "mentee",
        program=program or "your school's mentoring program",
    )


def checkin_ics(checkin: CheckIn) -> bytes:
    """An iCalendar invitation for one check-in (RFC 5545), for both diaries."""
    mentorship = checkin.mentorship
    calendar = icalendar.Calendar()
    calendar.add("prodid", f"-//{settings.SITE_NAME}//Mentoring check-ins//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    event = icalendar.Event()
    host = settings.SITE_URL.split("//")[-1].split("/")[0] or "medmentor.example"
    event.add("uid", f"checkin-{checkin.pk}@{host}")
    event.add("dtstamp", dt.datetime.now(dt.UTC))
    event.add("dtstart", checkin.scheduled_at.astimezone(dt.UTC))
    event.add("dtend", checkin.ends_at.astimezone(dt.UTC))
    event.add(
        "summary",
        f"Mentoring check-in: {mentorship.mentor.display_name} & {mentorship.mentee.display_name}",
    )
    lines = [f"Mode: {checkin.get_mode_display()}"]
    if checkin.agenda:
        lines += ["", "Agenda:", checkin.agenda]
    lines += ["", settings.SITE_URL + reverse(DETAIL, args=[mentorship.pk])]
    event.add("description", "\n".join(lines))
    if checkin.location:
        event.add("location", checkin.location)
    cancelled = checkin.status == CheckIn.Status.CANCELLED
    event.add("sequence", checkin.sequence + (1 if cancelled else 0))
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    calendar.add_component(event)
    return calendar.to_ical()


def mentorship_event_send(
    *, mentorship_id: int, recipient_id: int, event: str, checkin_id: int | None = None
) -> bool:
    """Email one side of the pair about ``event``. False if there is nobody to tell."""
    if event not in EVENTS:
        raise ValueError(f"Unknown mentorship event {event!r}")
    mentorship = (
        Mentorship.objects.select_related(
            "mentee__profile",
            "mentor__profile",
            "mentee__notification_settings",
            "mentor__notification_settings",
            "agreement",
        )
        .filter(pk=mentorship_id)
        .first()
    )
    if mentorship is None or recipient_id not in (mentorship.mentee_id, mentorship.mentor_id):
        return False
    recipient = mentorship.mentee if recipient_id == mentorship.mentee_id else mentorship.mentor
    if not wants_email(recipient, EmailKind.MENTORSHIP):
        return False
    checkin = None
    if checkin_id is not None:
        checkin = CheckIn.objects.filter(pk=checkin_id, mentorship=mentorship).first()
    other = mentorship.mentor if recipient_id == mentorship.mentee_id else mentorship.mentee
    subject, url_name = EVENTS[event]
    when = _when(checkin, recipient)
    context = {
        "event": event,
        "recipient": recipient,
        "other": other,
        "message": event_message(mentorship, recipient_id, event, checkin),
        "checkin": checkin,
        "recipient_tz": user_timezone(recipient).key,
        "site_name": settings.SITE_NAME,
        "url": settings.SITE_URL + reverse(url_name, args=[mentorship.pk]),
        "recommendations_url": settings.SITE_URL + reverse("matching:recommendations"),
    }
    message = compose(
        user=recipient,
        kinds=[EmailKind.MENTORSHIP],
        subject=subject.format(other=other.display_name, when=when),
        template="emails/mentorship_event",
        context=context,
    )
    if checkin is not None and event in ICS_EVENTS:
        message.attach("checkin.ics", checkin_ics(checkin), "text/calendar")
    message.send()
    return True
