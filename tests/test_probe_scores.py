"""contam.probe.scores: every metric against a hand computation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from contam.probe.backends import TokenScores
from contam.probe.logits import token_stats
from contam.probe.scores import MEMBER_IF_LOW, METRICS, min_k, min_k_count, oriented, score_item

#: Five tokens of "Abcde" (5 bytes; zlib.compress gives 13 bytes: 2 header, 7 deflate, 4
#: Adler-32), log-probabilities in nats.
TEXT = "Abcde"
LP = np.array([-1.0, -3.0, -0.5, -2.0, -4.0])
#: mu and var per position, chosen so that z = (lp - mu) / sqrt(var) = (1, -0.5, 1, -1, -1).
MU = np.array([-2.0, -2.0, -1.0, -1.0, -2.0])
VAR = np.array([1.0, 4.0, 0.25, 1.0, 4.0])


def scores(k: float = 0.2) -> dict[str, float | None]:
    lower = TokenScores(np.array([-3.0, -3.0, -3.0]))  # "abcde": loss 3
    ref = TokenScores(np.array([-6.0, -4.0, -4.0]))  # NLL 14 over 5 bytes: 2.8 per byte
    s = score_item(TEXT, TokenScores(LP, MU, VAR), k, lower=lower, ref=ref)
    return {
        "tokens": s.tokens, "bytes": s.bytes, "zlib_bytes": s.zlib_bytes,
        "nll_per_byte": s.nll_per_byte, "ref_nll_per_byte": s.ref_nll_per_byte,
        **{m: getattr(s, m) for m in METRICS},
    }  # fmt: skip


def test_loss_perplexity_zlib_by_hand() -> None:
    s = scores()
    assert (s["tokens"], s["bytes"], s["zlib_bytes"]) == (5, 5, 13)
    assert s["loss"] == pytest.approx(10.5 / 5)  # (1 + 3 + 0.5 + 2 + 4) / 5
    assert s["perplexity"] == pytest.approx(math.exp(2.1))
    assert s["zlib"] == pytest.approx(2.1 / 13)
    assert s["nll_per_byte"] == pytest.approx(10.5 / 5)


def test_lowercase_and_reference_ratios_by_hand() -> None:
    s = scores()
    assert s["lowercase"] == pytest.approx(2.1 / 3.0)
    assert s["ref_nll_per_byte"] == pytest.approx(14 / 5)
    assert s["ref_ratio"] == pytest.approx(2.1 / 2.8)


@pytest.mark.parametrize(
    ("k", "min_k_value", "min_k_pp_value"),
    [
        (0.2, -4.0, -1.0),  # 1 token: -4; z: -1
        (0.4, -3.5, -1.0),  # 2 tokens: (-4 - 3) / 2; z: (-1 - 1) / 2
        (0.5, -3.5, -1.0),  # floor(2.5) = 2
        (0.6, -3.0, -2.5 / 3),  # 3 tokens: (-4 - 3 - 2) / 3; z: (-1 - 1 - 0.5) / 3
        (1.0, -2.1, -0.1),  # all: the mean; z: (1 - 0.5 + 1 - 1 - 1) / 5
    ],
)
def test_min_k_and_min_k_pp_by_hand(k: float, min_k_value: float, min_k_pp_value: float) -> None:
    s = scores(k)
    assert s["min_k"] == pytest.approx(min_k_value)
    assert s["min_k_pp"] == pytest.approx(min_k_pp_value)


def test_min_k_pp_from_known_logits() -> None:
    # two positions over a vocabulary of 4; targets 2 and 0
    ln2 = math.log(2)
    logits = np.array([[2 * ln2, ln2, 0.0, 0.0], [ln2, 0.0, 0.0, 0.0]])
    lp, mu, var = token_stats(logits, np.array([2, 0]))
    # position 0: p = (1/2, 1/4, 1/8, 1/8), lp = -3 ln2, mu = -1.75 ln2, var = 0.6875 ln2^2
    # position 1: p = (2/5, 1/5, 1/5, 1/5), lp = ln(2/5), mu = 2/5 ln(2/5) + 3/5 ln(1/5)
    mu1 = 0.4 * math.log(0.4) + 0.6 * math.log(0.2)
    var1 = 0.4 * (math.log(0.4) - mu1) ** 2 + 0.6 * (math.log(0.2) - mu1) ** 2
    z0 = (-3 * ln2 + 1.75 * ln2) / math.sqrt(0.6875 * ln2**2)
    z1 = (math.log(0.4) - mu1) / math.sqrt(var1)
    s = score_item("xy", TokenScores(lp, mu, var), k=0.5)
    assert s.min_k_pp == pytest.approx(min(z0, z1))
    assert s.min_k == pytest.approx(-3 * ln2)
    assert s.loss == pytest.approx((3 * ln2 - math.log(0.4)) / 2)


def test_min_k_count_rounds_down_but_keeps_one_token() -> None:
    assert [min_k_count(n, 0.2) for n in (1, 4, 5, 9, 10, 11)] == [1, 1, 1, 1, 2, 2]
    assert min_k_count(100, 0.29) == 29  # 0.29 * 100 = 28.999999999999996 in floats
    assert min_k(np.array([3.0, 1.0, 2.0]), 0.7) == 1.5


def test_no_tokens_no_reference_no_vocab_stats_give_none() -> None:
    empty = score_item("", TokenScores(np.zeros(0)))
    assert (empty.tokens, empty.bytes) == (0, 0)
    assert all(getattr(empty, m) is None for m in METRICS)
    endpoint_like = score_item(TEXT, TokenScores(LP))
    assert endpoint_like.min_k_pp is None and endpoint_like.ref_ratio is None
    assert endpoint_like.lowercase is None and endpoint_like.loss == pytest.approx(2.1)


def test_zero_variance_position_is_floored_not_nan() -> None:
    s = score_item("ab", TokenScores(np.array([-1.0, -1.0]), np.array([-1.0, -1.5]),
                                     np.array([0.0, 0.25])), k=1.0)  # fmt: skip
    assert s.min_k_pp == pytest.approx((0.0 + 1.0) / 2)  # 0/1e-6 and 0.5/0.5


def test_orientation_makes_higher_mean_member() -> None:
    assert set(MEMBER_IF_LOW) == set(METRICS)
    assert oriented("loss", np.array([1.0, 2.0])).tolist() == [-1.0, -2.0]
    assert oriented("min_k", np.array([-1.0, -2.0])).tolist() == [-1.0, -2.0]
