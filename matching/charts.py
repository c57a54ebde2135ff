"""Server-rendered charts: accessible SVG built from plain numbers, no JavaScript.

Pure Python (standard library only), so the charts are tested without Django. Each
chart is a ``<figure>``: the SVG (``role="img"`` named by its ``<title>`` and
``<desc>``) followed by a ``<details>`` holding the same numbers as a table, for
screen-reader users and anyone who wants the exact figures. No inline ``style``
attributes (the Content-Security-Policy forbids them): colours come from CSS classes
in ``static/css/app.css``, with SVG presentation attributes as the fallback.

:meth:`Chart.html` returns the figure as markup in which every piece of text has
been escaped here, so a view may mark it safe for a template.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

WIDTH = 640
HEIGHT = 260
TOP = 24  # room for the value above the tallest bar
BOTTOM = 44  # room for the category labels
LEFT = 44  # room for the y-axis labels
RIGHT = 12
MAX_X_LABELS = 12  # more categories than this: label every n-th one (the table has all)

BRAND = "#0b5d5b"
INK = "#1b2430"
LINE = "#d9dee5"


@dataclass(frozen=True)
class Chart:
    """An SVG chart and the table that says the same thing in words and numbers."""

    key: str  # unique on the page: prefixes the ids of the title and description
    title: str
    desc: str
    svg: str
    headers: tuple[str, str]
    rows: tuple[tuple[str, str], ...]

    def table_html(self) -> str:
        head = "".join(f'<th scope="col">{escape(h)}</th>' for h in self.headers)
        body = "".join(
            f'<tr><th scope="row">{escape(label)}</th><td>{escape(value)}</td></tr>'
            for label, value in self.rows
        )
        return (
            f'<table class="table chart-table"><caption>{escape(self.title)}</caption>'
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        )

    def html(self) -> str:
        return (
            f'<figure class="chart" id="{escape(self.key)}">{self.svg}'
            f"<details><summary>Show the data as a table</summary>{self.table_html()}</details>"
            "</figure>"
        )

    __html__ = html  # the markup protocol of markupsafe and Jinja


def _number(value: float) -> str:
    """12 -> "12", 12.5 -> "12.5", 12.345 -> "12.3"."""
    rounded = round(float(value), 1)
    return str(int(rounded)) if rounded == int(rounded) else f"{rounded:.1f}"


def _coord(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _open_svg(key: str, title: str, desc: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart-svg" role="img" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" aria-labelledby="{escape(key)}-title {escape(key)}-desc" '
        f'font-family="system-ui, sans-serif" font-size="12">',
        f'<title id="{escape(key)}-title">{escape(title)}</title>',
        f'<desc id="{escape(key)}-desc">{escape(desc)}</desc>',
    ]


def _label_step(count: int) -> int:
    return max(1, -(-count // MAX_X_LABELS))  # ceil(count / MAX_X_LABELS)


def _y_axis(top: float, unit: str) -> list[str]:
    """Three gridlines (0, half, top) with their values on the left."""
    parts = []
    plot = HEIGHT - TOP - BOTTOM
    for fraction in (0.0, 0.5, 1.0):
        y = HEIGHT - BOTTOM - fraction * plot
        parts.append(
            f'<line class="chart-grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{_coord(y)}" '
            f'y2="{_coord(y)}" stroke="{LINE}" stroke-width="1"/>'
        )
        parts.append(
            f'<text class="chart-axis" x="{LEFT - 6}" y="{_coord(y + 4)}" text-anchor="end" '
            f'fill="{INK}">{escape(_number(top * fraction) + unit)}</text>'
        )
    return parts


def bar_chart(
    *,
    key: str,
    title: str,
    desc: str,
    labels: Sequence[str],
    values: Sequence[float],
    x_label: str,
    y_label: str,
    unit: str = "",
) -> Chart:
    """Vertical bars, one per label, heights proportional to the values (zero at the
    baseline). Also used for histograms: pass the bins' labels and counts."""
    if len(labels) != len(values):
        raise ValueError("One value per label.")
    top = max([float(v) for v in values] + [0.0]) or 1.0
    if all(float(v).is_integer() for v in values):
        top += top % 2  # counts: an even top keeps the middle gridline a whole number
    plot_h = HEIGHT - TOP - BOTTOM
    slot = (WIDTH - LEFT - RIGHT) / max(len(values), 1)
    bar_w = slot * 0.7
    step = _label_step(len(labels))
    parts = _open_svg(key, title, desc) + _y_axis(top, unit)
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        height = float(value) / top * plot_h
        x = LEFT + i * slot + (slot - bar_w) / 2
        y = HEIGHT - BOTTOM - height
        shown = _number(value) + unit
        parts.append(
            f'<rect class="chart-bar" x="{_coord(x)}" y="{_coord(y)}" width="{_coord(bar_w)}" '
            f'height="{_coord(height)}" fill="{BRAND}" data-value="{escape(_number(value))}">'
            f"<title>{escape(label)}: {escape(shown)}</title></rect>"
        )
        parts.append(
            f'<text class="chart-value" x="{_coord(x + bar_w / 2)}" y="{_coord(y - 5)}" '
            f'text-anchor="middle" fill="{INK}">{escape(shown)}</text>'
        )
        if i % step == 0:
            parts.append(
                f'<text class="chart-axis" x="{_coord(x + bar_w / 2)}" '
                f'y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" fill="{INK}">'
                f"{escape(label)}</text>"
            )
    parts.append(
        f'<line class="chart-baseline" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{HEIGHT - BOTTOM}" '
        f'y2="{HEIGHT - BOTTOM}" stroke="{INK}" stroke-width="1"/>'
    )
    parts.append(
        f'<text class="chart-axis-title" x="{_coord(LEFT + (WIDTH - LEFT - RIGHT) / 2)}" '
        f'y="{HEIGHT - 6}" text-anchor="middle" fill="{INK}">{escape(x_label)}</text>'
    )
    parts.append("</svg>")
    rows = tuple((label, _number(v) + unit) for label, v in zip(labels, values, strict=True))
    return Chart(key, title, desc, "".join(parts), (x_label, y_label), rows)


def line_chart(
    *,
    key: str,
    title: str,
    desc: str,
    labels: Sequence[str],
    values: Sequence[float | None],
    x_label: str,
    y_label: str,
    y_max: float = 100.0,
    unit: str = "%",
    missing: str = "no data",
) -> Chart:
    """A line through the points, on a fixed scale from 0 to ``y_max``. A ``None`` value
    (nothing to measure that period) breaks the line and shows as ``missing`` in the
    table."""
    if len(labels) != len(values):
        raise ValueError("One value per label.")
    plot_h = HEIGHT - TOP - BOTTOM
    slot = (WIDTH - LEFT - RIGHT) / max(len(values), 1)
    step = _label_step(len(labels))
    parts = _open_svg(key, title, desc) + _y_axis(y_max, unit)
    points: list[tuple[float, float, str, float]] = []
    path: list[str] = []
    pen_down = False
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        x = LEFT + i * slot + slot / 2
        if value is None:
            pen_down = False
        else:
            y = HEIGHT - BOTTOM - min(float(value), y_max) / y_max * plot_h
            path.append(f"{'L' if pen_down else 'M'}{_coord(x)} {_coord(y)}")
            pen_down = True
            points.append((x, y, label, float(value)))
        if i % step == 0:
            parts.append(
                f'<text class="chart-axis" x="{_coord(x)}" y="{HEIGHT - BOTTOM + 16}" '
                f'text-anchor="middle" fill="{INK}">{escape(label)}</text>'
            )
    if path:
        parts.append(
            f'<path class="chart-line" d="{" ".join(path)}" fill="none" stroke="{BRAND}" '
            f'stroke-width="2"/>'
        )
    for x, y, label, value in points:
        parts.append(
            f'<circle class="chart-point" cx="{_coord(x)}" cy="{_coord(y)}" r="4" '
            f'fill="{BRAND}" data-value="{escape(_number(value))}">'
            f"<title>{escape(label)}: {escape(_number(value) + unit)}</title></circle>"
        )
    parts.append(
        f'<text class="chart-axis-title" x="{_coord(LEFT + (WIDTH - LEFT - RIGHT) / 2)}" '
        f'y="{HEIGHT - 6}" text-anchor="middle" fill="{INK}">{escape(x_label)}</text>'
    )
    parts.append("</svg>")
    rows = tuple(
        (label, missing if v is None else _number(v) + unit)
        for label, v in zip(labels, values, strict=True)
    )
    return Chart(key, title, desc, "".join(parts), (x_label, y_label), rows)
