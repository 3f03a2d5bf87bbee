"""The ensemble rule, the dominant regime and the decision record's plain-value form."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.features.names import FEATURE_NAMES
from domain.signals.decision import DecisionRecord, round_significant
from domain.signals.ensemble import (
    convictions,
    convictions_batch,
    dominant_regime,
    dominant_regime_batch,
    normalise_system_weights,
)
from domain.signals.regime import SYSTEM_INDEX, SYSTEMS, Regime

unit = st.floats(0.0, 1.0)
signed_unit = st.floats(-1.0, 1.0)
triples = st.tuples


def test_convictions_hand_computed() -> None:
    scores = (0.8, -0.4, 0.2)
    confidences = (0.5, 1.0, 0.25)
    weights = (0.5, 0.25, 0.25)
    long, short = convictions(scores, confidences, weights)
    assert long == pytest.approx(0.5 * 0.5 * 0.8 + 0.25 * 0.25 * 0.2)
    assert short == pytest.approx(0.25 * 1.0 * 0.4)
    # Unnormalised weights: divided by their sum.
    assert convictions(scores, confidences, (2.0, 1.0, 1.0)) == pytest.approx((long, short))


def test_full_agreement_reaches_one() -> None:
    assert convictions((1.0, 1.0, 1.0), (1.0, 1.0, 1.0), (0.2, 0.3, 0.5)) == (1.0, 0.0)
    assert convictions((-1.0, -1.0, -1.0), (1.0, 1.0, 1.0), (1 / 3,) * 3) == (0.0, 1.0)


def test_conflict_is_kept_not_netted() -> None:
    long, short = convictions((0.9, 0.0, -0.9), (1.0, 0.0, 1.0), (0.5, 0.0, 0.5))
    assert long == pytest.approx(0.45) and short == pytest.approx(0.45)


@settings(max_examples=500, deadline=None)
@given(
    triples(signed_unit, signed_unit, signed_unit),
    triples(unit, unit, unit),
    triples(unit, unit, unit).filter(lambda w: sum(w) > 0),
)
def test_convictions_bounded_and_batch_equal(
    scores: tuple[float, float, float],
    confidences: tuple[float, float, float],
    weights: tuple[float, float, float],
) -> None:
    w = normalise_system_weights(weights)
    long, short = convictions(scores, confidences, w)
    assert 0.0 <= long <= 1.0 and 0.0 <= short <= 1.0
    if long > 0.0:
        assert any(s > 0 and c > 0 for s, c in zip(scores, confidences, strict=True))
    if short > 0.0:
        assert any(s < 0 and c > 0 for s, c in zip(scores, confidences, strict=True))
    bl, bs = convictions_batch(np.array([scores]), np.array([confidences]), w)
    assert bl[0] == long and bs[0] == short
    regime = dominant_regime(confidences, w, (0.5, 0.5, 0.5))
    code = dominant_regime_batch(np.array([confidences]), w, np.array([[0.5, 0.5, 0.5]]))
    assert SYSTEMS[int(code[0])] is regime


def test_dominant_regime_is_the_largest_weighted_confidence() -> None:
    gates = (0.9, 0.1, 0.0)
    assert dominant_regime((0.2, 0.6, 0.1), (1 / 3,) * 3, gates) is Regime.DOWN
    # A strong confidence with a small weight loses to a weaker one with a large weight.
    assert dominant_regime((0.9, 0.0, 0.5), (0.1, 0.1, 0.8), gates) is Regime.NEUTRAL
    # Nothing said: the gates decide.
    assert dominant_regime((0.0, 0.0, 0.0), (1 / 3,) * 3, gates) is Regime.UP
    assert dominant_regime((0.9, 0.0, 0.0), (0.0, 0.5, 0.5), (0.1, 0.7, 0.2)) is Regime.DOWN


def test_ties_go_to_neutral_then_up() -> None:
    w = (1 / 3,) * 3
    assert dominant_regime((0.5, 0.5, 0.5), w, (0.0, 0.0, 0.0)) is Regime.NEUTRAL
    assert dominant_regime((0.0, 0.0, 0.0), w, (0.5, 0.5, 0.5)) is Regime.NEUTRAL
    assert dominant_regime((0.5, 0.5, 0.0), w, (0.0, 0.0, 0.0)) is Regime.UP
    codes = dominant_regime_batch(
        np.array([[0.5, 0.5, 0.5], [0.0, 0.0, 0.0], [0.5, 0.5, 0.0], [0.1, 0.2, 0.0]]),
        w,
        np.full((4, 3), 0.5),
    )
    assert [SYSTEMS[c] for c in codes] == [Regime.NEUTRAL, Regime.NEUTRAL, Regime.UP, Regime.DOWN]


def test_system_weights_are_validated() -> None:
    assert normalise_system_weights((2.0, 1.0, 1.0)) == (0.5, 0.25, 0.25)
    for bad in ((0.0, 0.0, 0.0), (1.0, -0.1, 0.5), (1.0, math.nan, 1.0), (1.0, 1.0)):
        with pytest.raises(ValueError):
            normalise_system_weights(bad)


def test_regime_is_a_str_enum_in_systems_order() -> None:
    assert [str(r) for r in SYSTEMS] == ["UP", "DOWN", "NEUTRAL"]
    assert SYSTEM_INDEX[Regime.NEUTRAL] == 2
    assert Regime("DOWN") is Regime.DOWN


# ------------------------------------------------------------------ decision record


def record(**overrides: object) -> DecisionRecord:
    values: dict[str, object] = {
        "open_time": 1_700_000_000_000,
        "features": tuple(float(i) / 7.0 - 3.0 for i in range(len(FEATURE_NAMES))),
        "scores": (0.123456789, -0.5, -1e-9),
        "confidences": (0.987654321, 0.0, 1.0),
        "gates": (0.75, 0.25, 0.1),
        "system_weights": (0.5, 0.3, 0.2),
        "long_conviction": 0.0609681,
        "short_conviction": 1 / 3,
        "regime": Regime.UP,
    }
    values.update(overrides)
    return DecisionRecord(**values)  # type: ignore[arg-type]


def test_round_significant() -> None:
    assert round_significant(0.123456789) == 0.123457
    assert round_significant(123456789.0) == 123457000.0
    assert round_significant(-1.23456789e-7) == -1.23457e-7
    zero = round_significant(-0.0)
    assert zero == 0.0 and zero is not None and math.copysign(1.0, zero) == 1.0
    assert round_significant(math.nan) is None and round_significant(math.inf) is None


def test_to_dict_is_plain_json_in_feature_order() -> None:
    r = record()
    data = r.to_dict()
    text = json.dumps(data, allow_nan=False)
    assert json.loads(text) == data
    assert data["open_time"] == 1_700_000_000_000 and data["regime"] == "UP"
    assert data["short_conviction"] == 0.333333
    assert list(data["systems"]) == ["UP", "DOWN", "NEUTRAL"]
    assert data["systems"]["UP"] == {
        "score": 0.123457,
        "confidence": 0.987654,
        "gate": 0.75,
        "weight": 0.5,
    }
    assert data["systems"]["NEUTRAL"]["score"] == -1e-9
    assert len(data["features"]) == len(FEATURE_NAMES)
    assert data["features"][0] == -3.0
    assert data["features"][7] == round_significant(7 / 7.0 - 3.0)
    assert isinstance(data["regime"], str) and type(data["regime"]) is str


def test_non_finite_features_become_null_and_come_back_as_nan() -> None:
    features = list(record().features)
    features[3] = math.nan
    data = record(features=tuple(features)).to_dict()
    assert data["features"][3] is None
    json.dumps(data, allow_nan=False)
    back = DecisionRecord.from_dict(data)
    assert math.isnan(back.features[3])


def test_from_dict_round_trip() -> None:
    data = record().to_dict()
    back = DecisionRecord.from_dict(json.loads(json.dumps(data)))
    assert back.to_dict() == data
    assert back.regime is Regime.UP
    assert back.scores[0] == 0.123457
    with pytest.raises(ValueError):
        DecisionRecord.from_dict({**data, "features": [0.0] * 3})
    with pytest.raises(ValueError):
        DecisionRecord.from_dict({k: v for k, v in data.items() if k != "systems"})


def test_record_is_frozen() -> None:
    r = record()
    with pytest.raises(AttributeError):
        r.long_conviction = 1.0  # type: ignore[misc]
    assert r == record()
