"""``gridbot report``: gather a run's history (backtest, evaluation or journal) into one model.

The renderer (an adapter behind :class:`~application.ports.report.ReportRenderer`) only
draws and writes what :class:`~application.report.model.ReportData` holds; every number in
the report is computed here or in the domain.
"""
