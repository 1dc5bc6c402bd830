"""contam.probe.sharded: the sharded likelihood test on cases with known answers."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from contam.errors import ConfigError
from contam.probe.sharded import one_sided_t, shard_starts, sharded_test, t_sf

ITEMS = [f"item number {i} says {w}" for i, w in enumerate("abcdefghijklmnopqrstuvwx")]


def test_shard_starts_spread_the_remainder_first() -> None:
    assert shard_starts(7, 3).tolist() == [0, 3, 5]  # sizes 3, 2, 2
    assert shard_starts(24, 4).tolist() == [0, 6, 12, 18]


@pytest.mark.parametrize("t", [-3.0, -0.4, 0.0, 0.7, 2.0, 12.0])
def test_t_sf_matches_closed_forms(t: float) -> None:
    assert t_sf(t, 1) == pytest.approx(0.5 - math.atan(t) / math.pi, abs=1e-14)
    assert t_sf(t, 2) == pytest.approx(0.5 - t / (2 * math.sqrt(t * t + 2)), abs=1e-14)
    theta = math.atan(t / math.sqrt(3))  # df 3: A = 2/pi (theta + sin cos), signed
    assert t_sf(t, 3) == pytest.approx(
        0.5 - (theta + math.sin(theta) * math.cos(theta)) / math.pi, abs=1e-14
    )


@pytest.mark.parametrize(
    ("t", "df", "expected"),
    [  # scipy.stats.t.sf(t, df), computed once with scipy 1.17
        (1.96, 400, 0.025344835150013782),
        (2.5, 7, 0.020496109292876444),
        (-1.2, 10, 0.8711018496378472),
        (8.0, 30, 3.1329112378503795e-09),
    ],
)
def test_t_sf_matches_scipy_for_larger_df(t: float, df: int, expected: float) -> None:
    assert t_sf(t, df) == pytest.approx(expected, rel=1e-7)


def test_t_sf_infinite_t() -> None:
    assert t_sf(math.inf, 5) == 0.0 and t_sf(-math.inf, 5) == 1.0


def test_one_sided_t_by_hand() -> None:
    t, p = one_sided_t(np.array([1.0, 2.0, 3.0]))  # mean 2, sd 1, r 3
    assert t == pytest.approx(2 * math.sqrt(3))
    assert p == pytest.approx(0.5 - t / (2 * math.sqrt(t * t + 2)))  # df 2: 0.0370899
    assert p == pytest.approx(0.0370899, abs=1e-7)


def test_order_blind_model_gives_statistic_zero_and_p_one_half() -> None:
    # a model whose log-likelihood ignores order: every permutation scores the same
    result = sharded_test(ITEMS, lambda texts: [-float(len(t)) for t in texts], 4, 5, seed=1)
    assert result.statistic == 0.0 and result.t == 0.0 and result.p_value == 0.5
    assert result.canonical.shape == (4,) and result.permuted.shape == (4, 5)


def adjacency(texts: list[str]) -> list[float]:
    """A model that memorized the canonical order: +1 for each item followed by its
    canonical successor."""
    out = []
    for text in texts:
        lines = text.splitlines()
        out.append(float(sum(ITEMS.index(b) == ITEMS.index(a) + 1
                             for a, b in itertools.pairwise(lines))))  # fmt: skip
    return out


def test_memorized_order_is_detected() -> None:
    result = sharded_test(ITEMS, adjacency, shards=6, permutations=20, seed=0)
    # each shard of 4 items has 3 canonical successions; a random order keeps 3/4 of one
    # on average (each of the 3 pairs is adjacent and in order with probability 1/4)
    assert result.canonical.tolist() == [3.0] * 6
    assert result.permuted.mean() == pytest.approx(0.75, abs=0.25)
    assert result.statistic > 1.5 and result.p_value < 1e-4


def test_same_seed_same_result_other_seed_other_orders() -> None:
    a = sharded_test(ITEMS, adjacency, shards=3, permutations=10, seed=7)
    b = sharded_test(ITEMS, adjacency, shards=3, permutations=10, seed=7)
    c = sharded_test(ITEMS, adjacency, shards=3, permutations=10, seed=8)
    assert a.permuted.tolist() == b.permuted.tolist() and a.p_value == b.p_value
    assert a.permuted.tolist() != c.permuted.tolist()


def test_null_false_positive_rate_is_near_alpha() -> None:
    # an uncontaminated model: the log-likelihood of a text is order-independent plus
    # noise; over 400 benches the test should reject at p < 0.05 about 5% of the time
    # (binomial sd 1.1%: 2.5% - 8% is about +-2.7 sd)
    rejections = 0
    for bench in range(400):
        noise = np.random.default_rng(10_000 + bench)
        result = sharded_test(ITEMS, lambda ts, g=noise: (g.normal(size=len(ts))).tolist(),
                              shards=8, permutations=3, seed=bench)  # fmt: skip
        rejections += result.p_value < 0.05
    assert 10 <= rejections <= 32


def test_too_few_items_or_shards_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="at least 2 items per shard"):
        sharded_test(ITEMS[:5], adjacency, shards=3)
    with pytest.raises(ConfigError, match=">= 2 shards"):
        sharded_test(ITEMS, adjacency, shards=1)
    with pytest.raises(ConfigError, match=">= 1 permutation"):
        sharded_test(ITEMS, adjacency, permutations=0)
