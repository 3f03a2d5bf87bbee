"""The page itself: every text escaped, nothing fetched, every section present."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from adapters.reporting.html_report import SECTION_TITLES, HtmlReportRenderer
from application.ports.report import EquityPoint, Kpi, ReportData, Table

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
