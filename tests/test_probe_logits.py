"""contam.probe.logits: log-probabilities, mu and var from known logits; context windows."""

from __future__ import annotations

import math

import numpy as np
import pytest
from test_probe_helpers import require

from contam.probe import logits as logits_mod
from contam.probe.logits import token_stats, torch_token_stats, windows

LN2 = math.log(2)

#: Row 0: p = (1/2, 1/4, 1/8, 1/8), so log p = -(1, 2, 3, 3) ln 2;
#:   mu = -(1/2 + 2/4 + 3/8 + 3/8) ln 2 = -1.75 ln 2;
#:   var = E[(log p)^2] - mu^2 = (1/2 + 4/4 + 9/8 + 9/8 - 1.75^2) ln^2 2 = 0.6875 ln^2 2.
#: Row 1: p uniform over 4 tokens: log p = -2 ln 2 everywhere, mu = -2 ln 2, var = 0.
#: Row 2: p = (1/4, 1/2, 1/4, 0+) with logits (0, ln 2, 0, -50): var = 0.25 ln^2 2 (to e^-50).
LOGITS = np.array(
    [
        [2 * LN2, LN2, 0.0, 0.0],
        [5.0, 5.0, 5.0, 5.0],
        [0.0, LN2, 0.0, -50.0],
    ]
)
TARGETS = np.array([2, 0, 1])
EXPECTED_LOGPROBS = [-3 * LN2, -2 * LN2, -LN2]
EXPECTED_MU = [-1.75 * LN2, -2 * LN2, -1.5 * LN2]
EXPECTED_VAR = [0.6875 * LN2**2, 0.0, 0.25 * LN2**2]


def test_token_stats_by_hand() -> None:
    lp, mu, var = token_stats(LOGITS, TARGETS)
    assert lp == pytest.approx(EXPECTED_LOGPROBS, abs=1e-12)
    assert mu == pytest.approx(EXPECTED_MU, abs=1e-12)
    assert var == pytest.approx(EXPECTED_VAR, abs=1e-12)


def test_token_stats_float32_and_chunked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(logits_mod, "CHUNK", 2)  # rows 0-1, then row 2
    lp, mu, var = token_stats(LOGITS.astype(np.float32), TARGETS)
    assert lp == pytest.approx(EXPECTED_LOGPROBS, abs=1e-6)
    assert mu == pytest.approx(EXPECTED_MU, abs=1e-6)
    assert var == pytest.approx(EXPECTED_VAR, abs=1e-6)


def test_float32_moments_close_to_float64_on_a_large_vocabulary() -> None:
    # logits shaped like a language model's: a few likely tokens over 49,152
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 3, size=(40, 49152))
    logits[:, :5] += rng.uniform(5, 20, size=(40, 5))
    targets = rng.integers(0, 49152, size=40)
    exact = token_stats(logits, targets)
    single = token_stats(logits.astype(np.float32), targets)
    assert np.abs(single[0] - exact[0]).max() < 1e-4
    assert np.abs(single[1] - exact[1]).max() < 1e-4
    assert np.abs(single[2] - exact[2]).max() / exact[2].max() < 1e-4


def test_torch_token_stats_equals_numpy() -> None:
    torch = require("torch")
    lp, mu, var = torch_token_stats(torch.tensor(LOGITS, dtype=torch.float32),
                                    torch.tensor(TARGETS))  # fmt: skip
    assert lp == pytest.approx(EXPECTED_LOGPROBS, abs=1e-6)
    assert mu == pytest.approx(EXPECTED_MU, abs=1e-6)
    assert var == pytest.approx(EXPECTED_VAR, abs=1e-6)


def test_token_stats_rejects_mismatched_shapes() -> None:
    with pytest.raises(ValueError, match="do not match 2 targets"):
        token_stats(LOGITS, np.array([0, 1]))


def test_windows_short_sequence_is_one_window() -> None:
    assert windows(5, 8, 4) == [(0, 5, 1)]
    assert windows(8, 8, 4) == [(0, 8, 1)]


def test_windows_cover_every_target_once_with_context() -> None:
    # 10 positions (start token + 9 targets), windows of 6 starting 2 apart:
    # [0,6) scores targets 1-5, [2,8) targets 6-7, [4,10) targets 8-9
    assert windows(10, 6, 2) == [(0, 6, 1), (2, 8, 6), (4, 10, 8)]
    for length in range(2, 60):
        got = windows(length, 8, 4)
        scored = [t for a, b, keep in got for t in range(keep, b)]
        assert scored == list(range(1, length))
        assert all(b - a <= 8 for a, b, _ in got)
        assert all(keep - a >= 4 for a, _, keep in got[1:])  # >= size - stride of context


def test_windows_reject_bad_stride() -> None:
    with pytest.raises(ValueError):
        windows(10, 4, 4)
