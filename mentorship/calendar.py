"""The US academic calendar of medicine, as defaults each institution can edit.

Dates follow the usual US cycle (PRODUCT.md): board exams, clerkships, ERAS opening
in June and going to programs in late September, interviews from October, rank
lists in February (certified in early March) and Match Day on the third Friday
of March. Schools differ, so coordinators move, switch off or add dates.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from accounts.choices import Stage

EXAM, CLERKSHIP, APPLICATION, INTERVIEWS, MATCH = (
    "exam",
    "clerkship",
    "application",
    "interviews",
    "match",
)


@dataclass(frozen=True)
class DefaultDate:
    key: str
    title: str
    category: str
    month: int
    day: int | None  # None: ``weekday`` number ``nth`` of the month (nth=-1: the last)
    stages: tuple[int, ...]
    lead_days: int
    prompt: str
    weekday: int = 0  # Monday 0 ... Sunday 6
    nth: int = 1


DEFAULTS = (
    DefaultDate(
        "eras_opens", "ERAS opens to applicants", APPLICATION, 6, 4, (Stage.MS3, Stage.MS4), 21,
        "a good time to review the personal statement and the list of programs together.",
    ),
    DefaultDate(
        "step2", "USMLE Step 2 CK / COMLEX Level 2 season", EXAM, 8, 15, (Stage.MS4,), 42,
        "scores should be back before programs review applications: plan the date together.",
    ),
    DefaultDate(
        "eras_submission", "ERAS applications go to programs", APPLICATION, 9, 24,
        (Stage.MS4,), 21,
        "time for a last read of the personal statement, the letters and the program list.",
    ),
    DefaultDate(
        "interviews", "Interview season opens", INTERVIEWS, 10, 15, (Stage.MS4,), 14,
        "practise an interview together and talk through what to ask programs.",
    ),
    DefaultDate(
        "rank_list", "Rank order lists are certified", MATCH, 3, None, (Stage.MS4,), 28,
        "talk through your rank list: rank where you would be happy, in your true order.",
        weekday=2, nth=1,
    ),
    DefaultDate(
        "match_day", "Match Day", MATCH, 3, None, (Stage.MS4,), 14,
        "plan for both outcomes together, including SOAP if the match does not come.",
        weekday=4, nth=3,
    ),
    DefaultDate(
        "step1", "USMLE Step 1 / COMLEX Level 1 season", EXAM, 4, 15, (Stage.MS2,), 56,
        "build a study schedule together, with rest days: burnout peaks in dedicated study.",
    ),
    DefaultDate(
        "clerkships", "Clerkships begin", CLERKSHIP, 5, 1, (Stage.MS2,), 21,
        "ask how to do well on the wards, how evaluations work and which electives to choose.",
    ),
)  # fmt: skip


def academic_year(today: dt.date) -> int:
    """The academic year a day belongs to, named by the calendar year it starts (July)."""
    return today.year if today.month >= 7 else today.year - 1


def occurs_on(default: DefaultDate, year: int) -> dt.date:
    """The date of ``default`` in the academic year starting in July of ``year``."""
    calendar_year = year if default.month >= 7 else year + 1
    if default.day is not None:
        return dt.date(calendar_year, default.month, default.day)
    first = dt.date(calendar_year, default.month, 1)
    if default.nth > 0:
        offset = (default.weekday - first.weekday()) % 7
        return first + dt.timedelta(days=offset + 7 * (default.nth - 1))
    following = dt.date(calendar_year + (default.month == 12), default.month % 12 + 1, 1)
    last = following - dt.timedelta(days=1)
    return last - dt.timedelta(days=(last.weekday() - default.weekday) % 7)
