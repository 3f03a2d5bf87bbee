"""The page itself: every text escaped, nothing fetched, every section present."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from pathlib import Path

from adapters.reporting.html_report import SECTION_TITLES, HtmlReportRenderer
from application.ports.report import EquityPoint, Kpi, ReportData, Table, WeightPoint
from application.report.weights import latest_calibration

T0 = 1_704_067_200_000
EVIL = '<script>alert("x")</script>&'


def test_text_from_data_is_escaped_and_nothing_is_fetched(tmp_path: Path) -> None:
    data = ReportData(
        title=EVIL,
        source=EVIL,
        symbol="BTCUSDT",
        market="SPOT",
        start=T0,
        end=T0 + 60_000,
        initial_equity=Decimal(100),
        equity=[EquityPoint(T0, Decimal(100)), EquityPoint(T0 + 60_000, Decimal(101))],
        tables=[Table(EVIL, ("a", EVIL), ((EVIL, EVIL),), EVIL)],
        kpis=[Kpi(EVIL, "> 1.5", EVIL, None)],
        notes=[EVIL],
        strategy_name=EVIL,
    )
    page = HtmlReportRenderer().render(data, tmp_path / "out")
    html = page.read_text()
    assert "<script" not in html
    assert html.count("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;") >= 8
    assert "http://" not in html and "https://" not in html and "<link" not in html
    for title in SECTION_TITLES:
        assert f"<h2>{title}</h2>" in html
    assert (tmp_path / "out" / "equity.png").is_file()
    # What the data cannot show is said, not left blank.
    assert "No data for this chart" in html and "not measurable" in html


def test_signal_weights_are_plotted_with_a_table_when_there_were_updates(tmp_path: Path) -> None:
    week = 7 * 86_400_000
    base = ReportData(
        title="t",
        source="s",
        symbol="BTCUSDT",
        market="SPOT",
        start=T0,
        end=T0 + 3 * week,
        initial_equity=Decimal(100),
        equity=[EquityPoint(T0, Decimal(100)), EquityPoint(T0 + 3 * week, Decimal(101))],
    )
    html = HtmlReportRenderer().render(base, tmp_path / "none").read_text()
    assert "<h2>Signal weights</h2>" in html and "no weekly weight update" in html
    assert not (tmp_path / "none" / "weights.png").exists()
    points = [
        WeightPoint(T0, "start", {"UP": 0.3, "DOWN": 0.3, "NEUTRAL": 0.4}),
        WeightPoint(T0 + week, "refit", {"UP": 0.0, "DOWN": 0.2, "NEUTRAL": 0.8}),
        WeightPoint(T0 + 2 * week, "current", {"UP": 0.0, "DOWN": 0.2, "NEUTRAL": 0.8}),
    ]
    page = HtmlReportRenderer().render(replace(base, weights=points), tmp_path / "some")
    html = page.read_text()
    assert 'src="weights.png"' in html and (tmp_path / "some" / "weights.png").is_file()
    assert "no weekly weight update" not in html
    assert "Weights per update (3)" in html
    assert "<td>refit</td><td>0.000</td><td>0.200</td><td>0.800</td>" in html


def test_signal_weights_show_the_latest_calibrations_brier_and_reliability_table(
    tmp_path: Path,
) -> None:
    base = ReportData(
        title="t",
        source="s",
        symbol="BTCUSDT",
        market="SPOT",
        start=T0,
        end=T0 + 86_400_000,
        initial_equity=Decimal(100),
        equity=[EquityPoint(T0, Decimal(100)), EquityPoint(T0 + 86_400_000, Decimal(101))],
    )
    html = HtmlReportRenderer().render(base, tmp_path / "none").read_text()
    assert "No confidence calibration in this period" in html
    calibration = latest_calibration(
        [
            {"boundary": T0, "calibration": None},
            {
                "boundary": T0 + 3_600_000,
                "calibration": {
                    "method": "platt",
                    "samples": 672,
                    "base_rate": 0.5,
                    "brier": 0.2401,
                    "brier_base_rate": 0.25,
                    "brier_previous_out_of_sample": 0.2612,
                    "fitted_at": T0 + 3_600_000,
                    "reliability": [
                        {"low": 0.4, "high": 0.5, "count": 400, "predicted": 0.45,
                         "observed": 0.43},
                        {"low": 0.5, "high": 0.6, "count": 0, "predicted": None,
                         "observed": None},
                    ],
                },
            },
        ]
    )  # fmt: skip
    assert calibration is not None and calibration.samples == 672
    assert calibration.reliability[1].predicted is None
    html = HtmlReportRenderer().render(replace(base, calibration=calibration), tmp_path / "c")
    html = html.read_text()
    assert "No confidence calibration" not in html
    assert "2024-01-01 01:00 UTC (platt, 672 held-out samples, hit rate 0.500)" in html
    assert "Brier score 0.2401 (beats the base rate&#x27;s 0.2500" in html
    assert "the previous map on the same samples: 0.2612" in html
    assert "<tr><td>0.4 – 0.5</td><td>400</td><td>0.4500</td><td>0.4300</td></tr>" in html
    assert "<tr><td>0.5 – 0.6</td><td>0</td><td>n/a</td><td>n/a</td></tr>" in html
    assert latest_calibration([{"boundary": T0, "calibration": None}]) is None
