"""contam.probe.calibrate: AUROC and TPR at 5% FPR against hand counts."""

from __future__ import annotations

import numpy as np
import pytest

from contam.errors import ConfigError
from contam.probe.calibrate import auroc, average_ranks, evaluate, tpr_at_fpr


def test_auroc_by_hand_with_ties() -> None:
    members = [0.9, 0.7, 0.7, 0.2]
    nonmembers = [0.8, 0.7, 0.1]
    # pairs won by the member, of 4 x 3 = 12: 0.9 beats all 3; each 0.7 beats 0.1 and ties
    # 0.7 (1.5 each); 0.2 beats 0.1: (3 + 1.5 + 1.5 + 1) / 12
    scores = np.array(members + nonmembers)
    labels = np.array([True] * 4 + [False] * 3)
    assert auroc(scores, labels) == pytest.approx(7 / 12)
    assert auroc(-scores, labels) == pytest.approx(5 / 12)


def test_auroc_perfect_and_inverted() -> None:
    labels = np.array([True, True, False, False])
    assert auroc(np.array([4.0, 3.0, 2.0, 1.0]), labels) == 1.0
    assert auroc(np.array([1.0, 2.0, 3.0, 4.0]), labels) == 0.0
    assert auroc(np.array([1.0, 1.0, 1.0, 1.0]), labels) == 0.5


def test_average_ranks_share_ties() -> None:
    assert average_ranks(np.array([0.7, 0.2, 0.7, 0.7, 0.1])).tolist() == [4, 2, 4, 4, 1]


def test_tpr_at_5_percent_fpr_by_hand() -> None:
    members = [10.0, 9.0, 8.0, 3.0]
    # 20 non-members: one at 9.5 (1/20 = 5% false positives is allowed), one at 7.0
    nonmembers = [9.5, 7.0] + [2.0 - i * 0.1 for i in range(18)]
    scores = np.array(members + nonmembers)
    labels = np.array([True] * 4 + [False] * 20)
    # threshold 8.0 flags 10, 9.5, 9, 8: 3 of 4 members, 1 of 20 non-members
    assert tpr_at_fpr(scores, labels) == pytest.approx(0.75)
    # at 0% FPR only 10.0 is flagged
    assert tpr_at_fpr(scores, labels, fpr=0.0) == pytest.approx(0.25)


def test_tpr_threshold_takes_a_tie_whole() -> None:
    # a member and a non-member tied at the top: flagging one flags both (FPR 1/3 > 5%)
    scores = np.array([5.0, 5.0, 1.0, 0.0, 0.5])
    labels = np.array([True, False, True, False, False])
    assert tpr_at_fpr(scores, labels) == 0.0


def test_evaluate_orients_each_metric_and_drops_missing_values() -> None:
    labels = np.array([True, True, False, False, False])
    values = {
        "loss": np.array([1.0, 2.0, 3.0, 4.0, 5.0]),  # members low: perfect
        "min_k": np.array([-1.0, -2.0, -3.0, -4.0, -5.0]),  # members high: perfect
        "ref_ratio": np.array([np.nan, 2.0, 1.0, 4.0, np.nan]),  # 1 member vs 2 non-members
        "min_k_pp": np.array([np.nan] * 5),  # no value at all (an endpoint)
    }
    got = {e.metric: e for e in evaluate(values, labels)}
    assert list(got) == ["loss", "ref_ratio", "min_k", "min_k_pp"]  # METRICS order
    assert (got["loss"].auroc, got["loss"].tpr_at_fpr) == (1.0, 1.0)
    assert (got["min_k"].auroc, got["min_k"].member_if_low) == (1.0, False)
    assert (got["ref_ratio"].members, got["ref_ratio"].nonmembers) == (1, 2)
    assert got["ref_ratio"].auroc == pytest.approx(0.5)  # 2.0 beats 4.0, loses to 1.0
    assert got["min_k_pp"].auroc is None and got["min_k_pp"].members == 0


def test_auroc_needs_both_classes() -> None:
    with pytest.raises(ConfigError, match="one member and one non-member"):
        auroc(np.array([1.0, 2.0]), np.array([True, True]))
