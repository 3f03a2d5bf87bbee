"""Research reports on disk: CSV tables and matplotlib plots (Agg backend, no display).

Used by ``gridbot research signals``; the numbers are computed in the domain
(:mod:`domain.signals.evaluation`) and only written and drawn here.
"""
