"""Trading metrics of a finished run, pure: returns, risk, trades, activity, comparison.

Money (fees, funding, trade PnL, notional) is exact :class:`~decimal.Decimal`; ratios of
equity (Sharpe, Sortino, drawdown duration, exposure) are numpy floats, which is what
they are. Win rate and profit factor come from FIFO-matched trades of the *net position*
(:mod:`domain.metrics.trades`), never from a grid's own round trips: a take-profit one step
away cannot lose, so its round trips say nothing.

Modules:
    returns: total / annualised return, daily returns, Sharpe, Sortino, Calmar.
    drawdown: max drawdown (fraction, amount, underwater duration) of an equity curve.
    trades: FIFO matching of the net position into trades, and their statistics.
    activity: fills (maker / taker, fees, turnover), fill rate, exposure and leverage,
        requests per hour against Binance's order-rate limits.
    comparison: which run is best on each metric.
"""
