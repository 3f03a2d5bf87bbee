"""Baselines a user compares the bot against, as ordinary strategies.

:mod:`domain.baselines.buy_and_hold` (spot: all in; futures: 1x long) and the grids in
:mod:`domain.grid` (the neutral futures grid, the fee-clearing volatility-spaced grid) run
on the same data, fees and funding as the strategy under test.
"""
