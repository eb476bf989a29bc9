"""One quantile concept: names and probabilities written by hand (issue 12: 0.9999999 is p99.99999)."""

from __future__ import annotations

import pytest

from surgeplan import quantiles
from surgeplan.errors import SurgeplanError


@pytest.mark.parametrize(
    ("q", "name"),
    [
        (0.9, "p90"),
        (0.975, "p97.5"),
        (0.01, "p1"),
        (0.5, "p50"),
        (0.9999999, "p99.99999"),
        ("p90", "p90"),
        ("0.99", "p99"),
        ("mean", "mean"),
    ],
)
def test_column(q, name):
    assert quantiles.column(q) == name


def test_parse_and_round_trip():
    assert quantiles.parse("p97.5") == 0.975 and quantiles.parse(0.9) == 0.9
    for q in (0.001, 0.1, 0.333, 0.9999999):
        assert quantiles.parse(quantiles.column(q)) == pytest.approx(q, rel=1e-12)
    assert quantiles.parse_list("p90, 0.1,0.9") == (0.1, 0.9)


def test_is_column():
    assert quantiles.is_column("p90") and quantiles.is_column("p97.5")
    assert (
        not quantiles.is_column("mean")
        and not quantiles.is_column("p100")
        and not quantiles.is_column("load")
    )


@pytest.mark.parametrize("bad", [1.0, 0.0, -0.1, "p100", "p0", "high", True, float("nan"), None])
def test_bad_quantiles_are_refused_naming_the_value(bad):
    with pytest.raises(SurgeplanError, match="quantile"):
        quantiles.column(bad)
