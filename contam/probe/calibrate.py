"""How well each membership score separates known members from known non-members.

For a score oriented so that higher means member (`contam.probe.scores.oriented`):

    AUROC       P(score of a random member > score of a random non-member), ties counting
                one half: the Mann-Whitney U statistic / (members x non-members), computed
                from average ranks.
    TPR@5%FPR   the largest fraction of members found at a threshold that flags at most 5%
                of the non-members (thresholds taken at the observed scores, the ROC curve's
                corners, as sklearn.metrics.roc_curve draws it).

Items without a value for a metric (None / NaN) are left out of that metric's numbers, and
the counts say how many were used.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from contam.errors import ConfigError
from contam.probe.scores import MEMBER_IF_LOW, METRICS, oriented

#: The false-positive rate the TPR is read at.
FPR = 0.05


@dataclass(slots=True)
class MetricEval:
    """One metric's separation of members from non-members."""

    metric: str
    members: int
    nonmembers: int
    auroc: float | None
    tpr_at_fpr: float | None
    member_if_low: bool


def average_ranks(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """1-based ranks, tied values sharing the mean of their ranks.

    Example:
        >>> average_ranks(np.array([3.0, 1.0, 3.0, 2.0])).tolist()
        [3.5, 1.0, 3.5, 2.0]
    """
    order = np.argsort(values, kind="mergesort")
    sorted_ = values[order]
    first = np.r_[True, sorted_[1:] != sorted_[:-1]]
    group = np.cumsum(first) - 1
    starts = np.flatnonzero(first)
    ends = np.r_[starts[1:], len(values)]
    mean_rank = (starts + 1 + ends) / 2.0  # ranks starts+1 .. ends, averaged
    ranks = np.empty(len(values), dtype=np.float64)
    ranks[order] = mean_rank[group]
    return ranks


def auroc(scores: npt.NDArray[np.float64], members: npt.NDArray[np.bool_]) -> float:
    """Area under the ROC curve of ``scores`` (higher = member) against ``members``.

    Example:
        >>> auroc(np.array([0.9, 0.8, 0.7, 0.6]), np.array([True, False, True, False]))
        0.75
    """
    n1 = int(members.sum())
    n0 = len(members) - n1
    if n1 == 0 or n0 == 0:
        raise ConfigError("AUROC needs at least one member and one non-member")
    ranks = average_ranks(scores)
    u = ranks[members].sum() - n1 * (n1 + 1) / 2.0
    return float(u / (n1 * n0))


def tpr_at_fpr(
    scores: npt.NDArray[np.float64], members: npt.NDArray[np.bool_], fpr: float = FPR
) -> float:
    """Largest true-positive rate over thresholds whose false-positive rate is <= ``fpr``.

    A threshold flags the items scoring at least it; it is taken at each distinct score
    (and above them all, which flags nothing).

    Example:
        >>> tpr_at_fpr(np.array([0.9, 0.8, 0.7, 0.6]), np.array([True, False, True, False]))
        0.5
    """
    n1 = int(members.sum())
    n0 = len(members) - n1
    if n1 == 0 or n0 == 0:
        raise ConfigError("TPR at a false-positive rate needs members and non-members")
    order = np.argsort(-scores, kind="mergesort")
    s, m = scores[order], members[order]
    tp = np.cumsum(m)
    fp = np.cumsum(~m)
    last_of_value = np.r_[s[1:] != s[:-1], True]  # a threshold flags all of a tied value
    tpr = np.r_[0.0, tp[last_of_value] / n1]
    fpr_ = np.r_[0.0, fp[last_of_value] / n0]
    return float(tpr[fpr_ <= fpr + 1e-12].max())


def evaluate(
    values: dict[str, npt.NDArray[np.float64]], members: npt.NDArray[np.bool_]
) -> list[MetricEval]:
    """AUROC and TPR at 5% FPR of every metric in ``values`` (NaN = no value).

    Example:
        >>> evaluate({"loss": np.array([1.0, 3.0])}, np.array([True, False]))[0].auroc
        1.0
    """
    out = []
    for metric in [m for m in METRICS if m in values]:
        raw = values[metric]
        keep = ~np.isnan(raw)
        score, label = oriented(metric, raw[keep]), members[keep]
        n1, n0 = int(label.sum()), int((~label).sum())
        usable = n1 > 0 and n0 > 0
        out.append(
            MetricEval(
                metric,
                n1,
                n0,
                auroc(score, label) if usable else None,
                tpr_at_fpr(score, label) if usable else None,
                MEMBER_IF_LOW[metric],
            )
        )
    return out
