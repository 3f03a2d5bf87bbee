"""Fit the conviction-to-hit-rate map: Platt scaling on few samples, isotonic on many.

Platt scaling (a logistic regression on the conviction size) has two parameters and
cannot overfit a few hundred samples, but forces an S-shape; isotonic regression follows
any monotone shape but needs many samples not to chase noise. The switch is at
:data:`ISOTONIC_MIN_SAMPLES`, the usual rule of thumb. Both are scikit-learn's; the
fitted map is stored as knots (:class:`~domain.signals.calibration.ConfidenceCalibration`)
so deciding on a candle needs no scikit-learn. scikit-learn (and SciPy under it) is imported
inside :func:`fit_calibration`, at the first weekly fit: importing it with this module cost
every backtest and every bot process about 100 MB of RSS and a second of start-up for a map
fitted once a week.

A fitted Platt slope below zero (bigger convictions were right *less* often) is not
trusted: the map becomes the base rate, so calibrated confidence never rises with a
conviction that has been anti-predictive.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from domain.signals.calibration import ConfidenceCalibration, calibration_from_knots

#: Samples from which isotonic regression replaces Platt scaling.
ISOTONIC_MIN_SAMPLES = 1000

#: Fewer samples than this (or one class only) and the map is the base rate.
MIN_SAMPLES = 30

#: Knots at which a Platt curve is tabulated.
_PLATT_KNOTS = np.linspace(0.0, 1.0, 21)


def fit_calibration(
    size: npt.ArrayLike, hit: npt.ArrayLike, fitted_at: int
) -> ConfidenceCalibration:
    """The monotone map from conviction size (in [0, 1]) to hit rate, with its scores.

    Args:
        size: ``|long - short|`` per sample.
        hit: 1.0 where the forward return went the conviction's way, else 0.0.
        fitted_at: The weekly boundary (ms) the map is fitted at.
    """
    x = np.asarray(size, dtype=np.float64)
    y = np.asarray(hit, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"expected two equal 1-D arrays, got {x.shape}, {y.shape}")
    base = float(y.mean()) if y.size else 0.5
    if y.size < MIN_SAMPLES or base in (0.0, 1.0):
        return calibration_from_knots([0.0], [base], "constant", x, y, fitted_at)
    from sklearn.isotonic import IsotonicRegression
    from sklearn.linear_model import LogisticRegression

    if y.size >= ISOTONIC_MIN_SAMPLES:
        iso = IsotonicRegression(y_min=0.0, y_max=1.0, increasing=True, out_of_bounds="clip")
        iso.fit(x, y)
        knots_x = np.asarray(iso.X_thresholds_, dtype=np.float64)
        knots_y = np.asarray(iso.y_thresholds_, dtype=np.float64)
        return calibration_from_knots(knots_x, knots_y, "isotonic", x, y, fitted_at)
    platt = LogisticRegression(C=1e6)
    platt.fit(x.reshape(-1, 1), y)
    slope = float(platt.coef_[0][0])
    if not math.isfinite(slope) or slope <= 0.0:
        return calibration_from_knots([0.0], [base], "constant", x, y, fitted_at)
    curve = platt.predict_proba(_PLATT_KNOTS.reshape(-1, 1))[:, 1]
    return calibration_from_knots(_PLATT_KNOTS, curve, "platt", x, y, fitted_at)
