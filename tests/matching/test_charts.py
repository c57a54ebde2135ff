"""Server-rendered SVG charts: well-formed, accessible, proportional, with a table that
says the same. Pure Python: no database."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from matching.charts import BOTTOM, HEIGHT, TOP, Chart, bar_chart, line_chart

NS = {"svg": "http://www.w3.org/2000/svg"}


def parse(markup: str) -> ET.Element:
    return ET.fromstring(markup)  # noqa: S314 (markup this code base just rendered)


def bars() -> Chart:
    return bar_chart(
        key="chart-test",
        title="Pairs by match score",
        desc="Most pairs score between 70 and 80%.",
        labels=["0–10%", "10–20%", "20–30%", "30–40%"],
        values=[2, 4, 1, 0],
        x_label="Match score",
        y_label="Pairs",
    )


def test_the_svg_is_well_formed_and_named_by_its_title_and_description():
    svg = parse(bars().svg)
    assert svg.tag == "{http://www.w3.org/2000/svg}svg"
    assert svg.get("role") == "img"
    title, desc = svg.find("svg:title", NS), svg.find("svg:desc", NS)
    assert title is not None and title.text == "Pairs by match score"
    assert desc is not None and desc.text == "Most pairs score between 70 and 80%."
    assert svg.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    assert title.get("id") == "chart-test-title"


def test_bar_heights_are_proportional_to_the_values():
    rects = parse(bars().svg).findall("svg:rect", NS)
    heights = [float(r.get("height", "nan")) for r in rects]
    assert len(heights) == 4
    assert heights[1] == pytest.approx(HEIGHT - TOP - BOTTOM)  # the largest fills the plot
    assert heights[0] == pytest.approx(heights[1] / 2)
    assert heights[2] == pytest.approx(heights[1] / 4)
    assert heights[3] == 0
    baseline = HEIGHT - BOTTOM  # every bar stands on the baseline
    for rect in rects:
        assert float(rect.get("y", "nan")) + float(rect.get("height", "nan")) == pytest.approx(
            baseline
        )
    assert [r.get("data-value") for r in rects] == ["2", "4", "1", "0"]
    assert [r.findtext("svg:title", namespaces=NS) for r in rects][1] == "10–20%: 4"


def test_the_table_alternative_lists_the_same_numbers():
    chart = bars()
    assert chart.rows == (("0–10%", "2"), ("10–20%", "4"), ("20–30%", "1"), ("30–40%", "0"))
    figure = parse(chart.html())
    assert figure.tag == "figure"
    details = figure.find("details")
    assert details is not None and details.findtext("summary") == "Show the data as a table"
    table = details.find("table")
    assert table is not None and table.findtext("caption") == "Pairs by match score"
    assert [th.text for th in table.iterfind("thead/tr/th")] == ["Match score", "Pairs"]
    cells = [(tr.findtext("th"), tr.findtext("td")) for tr in table.iterfind("tbody/tr")]
    assert cells == list(chart.rows)
    svg_values = [r.get("data-value") for r in figure.iter("{http://www.w3.org/2000/svg}rect")]
    assert svg_values == [value for _, value in cells]


def test_no_inline_styles_or_scripts():
    """The Content-Security-Policy allows neither: colours come from classes and
    presentation attributes."""
    for chart in (bars(), line()):
        for element in parse(chart.html()).iter():
            assert not element.tag.endswith("script")
            assert "style" not in element.attrib
            assert not [name for name in element.attrib if name.startswith("on")]
        assert all(r.get("class") == "chart-bar" for r in parse(bars().svg).findall("svg:rect", NS))


def test_text_is_escaped_and_the_markup_stays_well_formed():
    chart = bar_chart(
        key="chart-x",
        title='Scores <script>alert("x")</script> & more',
        desc="A & B",
        labels=["<b>1</b>", "A & B"],
        values=[1, 2],
        x_label="x<y",
        y_label='"y"',
    )
    figure = parse(chart.html())
    assert "<script>" not in chart.html()
    svg = figure.find("svg:svg", NS)
    assert svg is not None
    assert svg.findtext("svg:title", namespaces=NS) == 'Scores <script>alert("x")</script> & more'
    assert [tr.findtext("th") for tr in figure.iterfind("details/table/tbody/tr")] == [
        "<b>1</b>",
        "A & B",
    ]


def test_all_zero_or_no_values_draw_without_dividing_by_zero():
    zeros = bar_chart(
        key="z", title="t", desc="d", labels=["a", "b"], values=[0, 0], x_label="x", y_label="y"
    )
    assert [r.get("height") for r in parse(zeros.svg).findall("svg:rect", NS)] == ["0", "0"]
    empty = bar_chart(key="e", title="t", desc="d", labels=[], values=[], x_label="x", y_label="y")
    assert parse(empty.svg).findall("svg:rect", NS) == []
    assert empty.rows == ()
    nothing = line_chart(key="n", title="t", desc="d", labels=[], values=[], x_label="x",
                         y_label="y")  # fmt: skip
    assert parse(nothing.svg).find("svg:path", NS) is None


def test_labels_and_values_must_pair_up():
    with pytest.raises(ValueError):
        bar_chart(key="k", title="t", desc="d", labels=["a"], values=[], x_label="x", y_label="y")


def line() -> Chart:
    return line_chart(
        key="chart-line",
        title="Check-in adherence",
        desc="Share of live mentorships that met, by month.",
        labels=["Jan", "Feb", "Mar", "Apr", "May"],
        values=[80.0, 37.5, None, 100.0, 0.0],
        x_label="Month",
        y_label="Mentorships that met",
        missing="no live mentorship",
    )


def test_line_points_sit_at_their_share_of_the_scale():
    svg = parse(line().svg)
    assert svg.get("role") == "img" and svg.findtext("svg:title", namespaces=NS)
    points = svg.findall("svg:circle", NS)
    assert [p.get("data-value") for p in points] == ["80", "37.5", "100", "0"]
    plot = HEIGHT - TOP - BOTTOM
    ys = [float(p.get("cy", "nan")) for p in points]
    assert ys[3] == pytest.approx(HEIGHT - BOTTOM)  # 0% on the baseline
    assert ys[2] == pytest.approx(HEIGHT - BOTTOM - plot)  # 100% at the top
    assert ys[0] == pytest.approx(HEIGHT - BOTTOM - 0.8 * plot)
    assert ys[1] == pytest.approx(HEIGHT - BOTTOM - 0.375 * plot)


def test_a_month_without_data_breaks_the_line_and_says_so_in_the_table():
    chart = line()
    path = parse(chart.svg).find("svg:path", NS)
    assert path is not None
    assert path.get("d", "").count("M") == 2  # Jan–Feb, then Apr–May
    assert chart.rows == (
        ("Jan", "80%"),
        ("Feb", "37.5%"),
        ("Mar", "no live mentorship"),
        ("Apr", "100%"),
        ("May", "0%"),
    )


def test_long_series_label_every_nth_category_but_tabulate_all():
    labels = [f"M{n}" for n in range(24)]
    chart = line_chart(
        key="long",
        title="t",
        desc="d",
        labels=labels,
        values=[50.0] * 24,
        x_label="Month",
        y_label="Share",
    )
    texts = [t.text for t in parse(chart.svg).iter("{http://www.w3.org/2000/svg}text")]
    assert "M0" in texts and "M2" in texts and "M1" not in texts
    assert [label for label, _ in chart.rows] == labels


def test_count_axes_have_whole_number_gridlines():
    chart = bar_chart(
        key="c", title="t", desc="d", labels=["a", "b"], values=[1, 3], x_label="x", y_label="y"
    )
    texts = parse(chart.svg).iter(f"{{{NS['svg']}}}text")
    axis = [t.text for t in texts if t.get("text-anchor") == "end"]  # the y-axis labels
    assert axis == ["0", "2", "4"]
    heights = [float(r.get("height", "nan")) for r in parse(chart.svg).findall("svg:rect", NS)]
    assert heights[1] == pytest.approx(3 * heights[0])
