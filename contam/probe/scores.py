"""Item-level membership scores from a text's token log-probabilities.

With ``lp`` the log-probabilities of a text's n tokens (natural log), and bytes its UTF-8
length:

    loss        -mean(lp)                                   mean NLL per token, in nats
    perplexity  exp(loss)
    zlib        loss / len(zlib.compress(text))             Carlini et al. 2021
    lowercase   loss(text) / loss(text.lower())             Carlini et al. 2021
    ref_ratio   nll_per_byte / nll_per_byte(reference)      Carlini et al. 2021, per byte
    min_k       mean of the k·n lowest lp                   Shi et al. 2024 (Min-K% Prob)
    min_k_pp    the same over (lp - mu) / sqrt(var)         Zhang et al. 2025 (Min-K%++)

where ``nll_per_byte = -sum(lp) / bytes``: a reference model has its own tokenizer, so only
the per-byte (not the per-token) losses of the two models are comparable. ``k·n`` is rounded
down, but never below one token (the papers' ``int(n * k)`` gives short texts no score).
``mu`` and ``var`` are the mean and variance of log p under the model's own next-token
distribution at each position (`contam.probe.logits`).

A member (a text the model was trained on) scores *low* on the first five and *high* on the
Min-K% pair; `MEMBER_IF_LOW` says which, and `oriented` turns any of them into "higher means
member" for AUROC.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass

import numpy as np

from contam.probe.backends import TokenScores

#: Every item-level metric, in report order.
METRICS = ("loss", "perplexity", "zlib", "lowercase", "ref_ratio", "min_k", "min_k_pp")
#: True where a lower value means "more likely a member".
MEMBER_IF_LOW = {
    "loss": True,
    "perplexity": True,
    "zlib": True,
    "lowercase": True,
    "ref_ratio": True,
    "min_k": False,
    "min_k_pp": False,
}
#: Min-K%++ divides by sqrt(var); a one-hot next-token distribution has var = 0.
VAR_FLOOR = 1e-12


@dataclass(slots=True)
class ItemScores:
    """The scores of one text; a metric is None where it has no value (no tokens, no
    reference model, no lowercase pass, no full-vocabulary statistics)."""

    tokens: int
    bytes: int
    zlib_bytes: int
    nll_per_byte: float | None = None
    ref_nll_per_byte: float | None = None
    loss: float | None = None
    perplexity: float | None = None
    zlib: float | None = None
    lowercase: float | None = None
    ref_ratio: float | None = None
    min_k: float | None = None
    min_k_pp: float | None = None


def min_k_count(n: int, k: float) -> int:
    """How many of n tokens Min-K% averages: floor(k·n), at least 1.

    Example:
        >>> min_k_count(12, 0.2), min_k_count(3, 0.2)
        (2, 1)
    """
    return max(1, math.floor(k * n + 1e-9))


def min_k(values: np.ndarray, k: float) -> float:
    """Mean of the ``min_k_count`` lowest values.

    Example:
        >>> min_k(np.array([-1.0, -5.0, -0.5, -3.0, -2.0]), 0.4)
        -4.0
    """
    count = min_k_count(len(values), k)
    return float(np.mean(np.partition(values, count - 1)[:count]))


def score_item(
    text: str,
    scores: TokenScores,
    k: float = 0.2,
    lower: TokenScores | None = None,
    ref: TokenScores | None = None,
) -> ItemScores:
    """Every metric of one text.

    Args:
        text: the scored text (for its bytes and zlib size).
        scores: its token log-probabilities (and ``mu``, ``var``) under the target model.
        k: Min-K%'s fraction of tokens.
        lower: the scores of ``text.lower()``, for the lowercase ratio.
        ref: the scores of ``text`` under the reference model.

    Example:
        >>> s = score_item("ab", TokenScores(np.log(np.array([0.5, 0.25]))))
        >>> round(s.loss, 4), round(s.perplexity, 4), s.min_k
        (1.0397, 2.8284, -1.3862943611198906)
    """
    raw = text.encode("utf-8")
    out = ItemScores(scores.tokens, len(raw), len(zlib.compress(raw)))
    lp = scores.logprobs
    if scores.tokens == 0:
        return out
    nll = -float(lp.sum())
    out.loss = nll / scores.tokens
    out.perplexity = math.exp(out.loss)
    out.zlib = out.loss / out.zlib_bytes
    out.nll_per_byte = nll / out.bytes
    out.min_k = min_k(lp, k)
    if scores.mu is not None and scores.var is not None:
        z = (lp - scores.mu) / np.sqrt(np.maximum(scores.var, VAR_FLOOR))
        out.min_k_pp = min_k(z, k)
    if lower is not None and lower.tokens:
        lower_loss = -float(lower.logprobs.sum()) / lower.tokens
        out.lowercase = out.loss / lower_loss if lower_loss > 0 else None
    if ref is not None and ref.tokens:
        out.ref_nll_per_byte = -float(ref.logprobs.sum()) / out.bytes
        ratio_ok = out.ref_nll_per_byte > 0
        out.ref_ratio = out.nll_per_byte / out.ref_nll_per_byte if ratio_ok else None
    return out


def oriented(metric: str, values: np.ndarray) -> np.ndarray:
    """``values`` of ``metric`` turned so that higher means member (negated if low does).

    Example:
        >>> oriented("loss", np.array([1.0, 2.0])).tolist()
        [-1.0, -2.0]
    """
    return -values if MEMBER_IF_LOW[metric] else values
