"""``gridbot report`` as one self-contained HTML file with its PNG charts beside it.

The page must open anywhere, offline, years later: no script, no web font, no CDN; the
style sheet is inline and the charts are PNG files in the same directory, referenced by
relative name (the directory can be zipped or moved as a whole). Every piece of text that
comes from data (symbols, paths, table cells, notes) is HTML-escaped.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from html import escape
from pathlib import Path

from adapters.reporting.report_plots import ChartFiles, draw_charts
from application.ports.report import CalibrationReport, Kpi, ReportData, Table, WeightPoint
from application.report.summary import iso_time
from domain.attribution import WeekAttribution

__all__ = ["REPORT_FILE", "SECTION_TITLES", "HtmlReportRenderer"]

REPORT_FILE = "report.html"
ZERO = Decimal(0)

#: The section headings every report carries, in order (the browser test looks for them).
SECTION_TITLES = (
    "Equity and drawdown",
    "Price, fills and grid levels",
    "Conviction and regime",
    "Signal weights",
    "Per-week attribution",
    "Metrics",
    "KPIs",
)

_STYLE = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 0;
       color: #1b1f24; background: #f6f7f9; }
main { max-width: 1320px; margin: 0 auto; padding: 24px 28px 60px; background: #ffffff; }
h1 { font-size: 26px; margin: 0 0 6px; }
h2 { font-size: 19px; margin: 34px 0 10px; padding-bottom: 4px; border-bottom: 2px solid #1f4e9c; }
h3 { font-size: 15px; margin: 18px 0 6px; }
.meta { color: #57606a; font-size: 14px; margin: 2px 0; }
.note { background: #fff8e1; border-left: 4px solid #e0a800; padding: 6px 10px; margin: 8px 0;
        font-size: 14px; }
img { max-width: 100%; height: auto; display: block; margin: 6px 0 12px; }
table { border-collapse: collapse; font-size: 13px; margin: 6px 0 14px; }
th, td { border: 1px solid #d0d7de; padding: 3px 9px; text-align: right; }
th { background: #eef1f5; }
td:first-child, th:first-child { text-align: left; }
tr.total td { font-weight: bold; background: #f3f6fa; }
.met { color: #116329; font-weight: bold; }
.unmet { color: #b42318; font-weight: bold; }
.absent { color: #57606a; font-style: italic; }
details summary { cursor: pointer; font-weight: 600; margin: 6px 0; }
"""


def _text(value: object) -> str:
    return escape(str(value), quote=True)


def _table(table: Table) -> str:
    head = "".join(f"<th>{_text(c)}</th>" for c in table.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_text(cell)}</td>" for cell in row) + "</tr>" for row in table.rows
    )
    note = f'<p class="meta">{_text(table.note)}</p>' if table.note else ""
    return f"<h3>{_text(table.title)}</h3><table><tr>{head}</tr>{body}</table>{note}"


def _image(file: str | None, alt: str) -> str:
    if file is None:
        return f'<p class="absent">No data for this chart: {_text(alt)}.</p>'
    return f'<img src="{_text(file)}" alt="{_text(alt)}">'


def _weeks_table(weeks: Sequence[WeekAttribution]) -> str:
    if not weeks:
        return '<p class="absent">No weeks to attribute.</p>'
    columns = ("ISO week", "PnL", "trading (gross)", "fees", "funding", "equity at end")
    rows = [(w.label, w.pnl, w.trading, w.fees, w.funding, w.end_equity) for w in weeks]
    totals = (
        "total",
        sum((w.pnl for w in weeks), start=ZERO),
        sum((w.trading for w in weeks), start=ZERO),
        sum((w.fees for w in weeks), start=ZERO),
        sum((w.funding for w in weeks), start=ZERO),
        weeks[-1].end_equity,
    )

    def cells(row: Iterable[object]) -> str:
        return "".join(f"<td>{_text(_round(v))}</td>" for v in row)

    head = "".join(f"<th>{_text(c)}</th>" for c in columns)
    body = "".join(f"<tr>{cells(r)}</tr>" for r in rows)
    return (
        f'<table><tr>{head}</tr>{body}<tr class="total">{cells(totals)}</tr></table>'
        '<p class="meta">PnL is the equity change over the week; trading = PnL + fees − '
        "funding. The weekly PnLs add up to the total exactly.</p>"
    )


def _weights_table(points: Sequence[WeightPoint]) -> str:
    """The weights chart's values: every update with its outcome and system shares."""
    if not points:
        return ""
    systems = list(dict.fromkeys(s for p in points for s in p.weights))
    head = "".join(f"<th>{_text(c)}</th>" for c in ("from (UTC)", "source", *systems))
    body = "".join(
        f"<tr><td>{_text(iso_time(p.time))}</td><td>{_text(p.source)}</td>"
        + "".join(f"<td>{p.weights.get(s, 0.0):.3f}</td>" for s in systems)
        + "</tr>"
        for p in points
    )
    return (
        f"<details><summary>Weights per update ({len(points)})</summary>"
        f"<table><tr>{head}</tr>{body}</table></details>"
    )


def _score(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def _calibration(c: CalibrationReport | None) -> str:
    """The latest confidence calibration, scored and tabulated.

    Its Brier score beside the base rate's (the bar to beat), and predicted against observed
    hit rate per bin (the reliability table).
    """
    if c is None:
        return (
            '<p class="absent">No confidence calibration in this period (no weekly update '
            "fitted one).</p>"
        )
    if c.brier is not None and c.brier_base_rate is not None:
        if abs(c.brier - c.brier_base_rate) < 1e-12:
            verdict = "the same as"  # a constant map is the base rate
        else:
            verdict = "beats" if c.brier < c.brier_base_rate else "does not beat"
        versus = f"{verdict} the base rate's {c.brier_base_rate:.4f}"
    else:
        versus = "base rate's n/a"
    previous = (
        f"; the previous map on the same samples: {c.brier_previous:.4f}"
        if c.brier_previous is not None
        else ""
    )
    base = "n/a" if c.base_rate is None else f"{c.base_rate:.3f}"
    text = (
        f"Confidence calibration fitted {iso_time(c.fitted_at)} UTC ({c.method}, "
        f"{c.samples:,} held-out samples, hit rate {base}): Brier score "
        f"{_score(c.brier)} ({versus}; lower is better){previous}."
    )
    rows = "".join(
        f"<tr><td>{r.low:.1f} – {r.high:.1f}</td><td>{r.samples:,}</td>"
        f"<td>{_score(r.predicted)}</td><td>{_score(r.observed)}</td></tr>"
        for r in c.reliability
    )
    table = (
        "<table><tr><th>predicted</th><th>samples</th><th>mean predicted</th>"
        f"<th>observed hit rate</th></tr>{rows}</table>"
        if rows
        else '<p class="absent">No reliability table was journaled with this update.</p>'
    )
    return (
        f'<p class="meta">{_text(text)}</p>'
        f"<details open><summary>Reliability table</summary>{table}</details>"
    )


def _round(value: object) -> object:
    if isinstance(value, Decimal):
        return f"{value.quantize(Decimal('0.0001')):,}"
    return value


def _kpis(kpis: Sequence[Kpi]) -> str:
    if not kpis:
        return '<p class="absent">No KPI evaluation for this source.</p>'
    rows = []
    for k in kpis:
        if k.met is None:
            verdict = '<span class="absent">not measurable</span>'
        elif k.met:
            verdict = '<span class="met">met</span>'
        else:
            verdict = '<span class="unmet">not met</span>'
        rows.append(
            f"<tr><td>{_text(k.name)}</td><td>{_text(k.target)}</td>"
            f"<td>{_text(k.value)}</td><td>{verdict}</td></tr>"
        )
    return (
        "<table><tr><th>KPI</th><th>target</th><th>measured</th><th>verdict</th></tr>"
        + "".join(rows)
        + "</table>"
    )


def _page(data: ReportData, charts: ChartFiles) -> str:
    notes = "".join(f'<p class="note">{_text(n)}</p>' for n in data.notes)
    months = "".join(
        f"<h3>{_text(label)}</h3>{_image(file, f'price, levels and fills in {label}')}"
        for label, file in charts.price_months
    )
    month_block = (
        f"<details open><summary>One chart per month ({len(charts.price_months)})</summary>"
        f"{months}</details>"
        if months
        else ""
    )
    tables = "".join(_table(t) for t in data.tables) or '<p class="absent">No metrics.</p>'
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_text(data.title)}</title><style>{_STYLE}</style></head><body><main>",
        f"<h1>{_text(data.title)}</h1>",
        f'<p class="meta">Source: {_text(data.source)}</p>',
        f'<p class="meta">{_text(data.symbol)} · {_text(data.market)} · '
        f"{_text(iso_time(data.start))} → {_text(iso_time(data.end))} UTC</p>",
        notes,
        f"<h2>{SECTION_TITLES[0]}</h2>",
        _image(charts.equity, "equity and drawdown"),
        f"<h2>{SECTION_TITLES[1]}</h2>",
        _image(charts.price_overview, "price and fills over the whole period"),
        month_block,
        f"<h2>{SECTION_TITLES[2]}</h2>",
        _image(charts.conviction, "no decision records (the signal was off or not stored)"),
        f"<h2>{SECTION_TITLES[3]}</h2>",
        _image(charts.weights, "signal system weights over time")
        if charts.weights
        else _image(
            None,
            "no weekly weight update in this period (the signal or signals.learning was "
            "off, or no weekly boundary was crossed)",
        ),
        _weights_table(data.weights),
        _calibration(data.calibration),
        f"<h2>{SECTION_TITLES[4]}</h2>",
        _image(charts.weekly, "no weeks"),
        _weeks_table(data.weeks),
        f"<h2>{SECTION_TITLES[5]}</h2>",
        tables,
        f"<h2>{SECTION_TITLES[6]}</h2>",
        _kpis(data.kpis),
        "</main></body></html>",
    ]
    return "\n".join(parts)


class HtmlReportRenderer:
    """The :class:`~application.ports.report.ReportRenderer` writing ``report.html`` + PNGs."""

    def render(self, data: ReportData, out_dir: Path) -> Path:
        """Draw the charts and write the page into ``out_dir``; returns the page's path."""
        out_dir.mkdir(parents=True, exist_ok=True)
        charts = draw_charts(data, out_dir)
        page = out_dir / REPORT_FILE
        page.write_text(_page(data, charts), encoding="utf-8")
        return page
