"""Logits -> what the probes keep: each token's log-probability and two moments of the model's
next-token distribution; and the context windows a long text is scored in.

For the distribution p over the vocabulary at one position, with log p = log_softmax(z):

    logprob = log p[target]
    mu      = sum_v p_v log p_v                    (minus the entropy)
    var     = sum_v p_v (log p_v - mu)^2

``mu`` and ``var`` are what Min-K%++ standardizes a token's log-probability with. With
x = z - max(z), s = sum exp(x) and E[.] the mean under p: log p = x - log s, so
``mu = E[x] - log s`` and ``var = E[x^2] - E[x]^2`` (the shift by log s leaves the variance
alone). That takes one exp and three row sums per position, three times faster than
materializing log p and p; in float32 the difference of moments costs at most about 1e-4 of
``var``'s value on SmolLM2's logits (a test bounds it against float64).

The reductions run a few dozen positions at a time, so a backend never holds a second
(tokens x vocabulary) array beside the model's logits.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

#: Positions reduced at once: 64 x 49,152 vocabulary x 4 bytes = 12.6 MB per temporary,
#: small enough to stay in cache between the passes (faster than 256 rows, measured).
CHUNK = 64

Floats = npt.NDArray[np.float64]


def token_stats(
    logits: npt.NDArray[np.floating[Any]], targets: npt.NDArray[np.integer[Any]]
) -> tuple[Floats, Floats, Floats]:
    """Log-probabilities of ``targets`` under ``logits``, and mu, var of each position.

    Args:
        logits: (positions, vocabulary) raw scores; row i predicts ``targets[i]``.
        targets: (positions,) token ids.

    Returns:
        ``(logprobs, mu, var)``, each (positions,) float64. The arithmetic runs in the
        logits' dtype (float32 for llama.cpp), so a float64 array gives exact references.

    Example:
        >>> lp, mu, var = token_stats(np.log(np.array([[0.5, 0.25, 0.25]])), np.array([0]))
        >>> round(float(lp[0]), 6), round(float(mu[0]), 6), round(float(var[0]), 6)
        (-0.693147, -1.039721, 0.120113)
    """
    n = len(targets)
    if logits.ndim != 2 or logits.shape[0] != n:
        raise ValueError(f"logits {logits.shape} do not match {n} targets")
    out = np.empty((3, n), dtype=np.float64)
    for a in range(0, n, CHUNK):
        z = logits[a : a + CHUNK]
        x = z - z.max(axis=1, keepdims=True)
        e = np.exp(x)
        s = e.sum(axis=1)
        ex = e * x
        mean_x = ex.sum(axis=1) / s
        mean_xx = np.einsum("ij,ij->i", ex, x) / s
        log_s = np.log(s)
        out[0, a : a + CHUNK] = x[np.arange(len(z)), targets[a : a + CHUNK]] - log_s
        out[1, a : a + CHUNK] = mean_x - log_s
        out[2, a : a + CHUNK] = np.maximum(mean_xx - mean_x * mean_x, 0.0)
    return out[0], out[1], out[2]


def torch_token_stats(logits: Any, targets: Any) -> tuple[Floats, Floats, Floats]:
    """`token_stats` for a torch (positions, vocabulary) tensor, on its device, in float32.

    Example:
        >>> import torch  # doctest: +SKIP
        >>> torch_token_stats(torch.zeros(1, 4), torch.tensor([2]))[0]  # doctest: +SKIP
        array([-1.38629436])
    """
    import torch

    n = int(targets.shape[0])
    parts: list[Any] = []
    with torch.no_grad():
        for a in range(0, n, CHUNK):
            z = logits[a : a + CHUNK].float()
            x = z - z.max(dim=-1, keepdim=True).values
            e = x.exp()
            s = e.sum(-1)
            ex = e * x
            mean_x = ex.sum(-1) / s
            mean_xx = (ex * x).sum(-1) / s
            log_s = s.log()
            lp = x.gather(-1, targets[a : a + CHUNK].unsqueeze(-1)).squeeze(-1) - log_s
            var = (mean_xx - mean_x * mean_x).clamp_min(0.0)
            parts.append(torch.stack([lp, mean_x - log_s, var]))
        stacked = torch.cat(parts, dim=1) if parts else torch.zeros(3, 0)
    out = stacked.double().cpu().numpy()
    return out[0], out[1], out[2]


def windows(length: int, size: int, stride: int) -> list[tuple[int, int, int]]:
    """Context windows that score every target of a sequence of ``length`` tokens.

    Position 0 is the start token; positions 1..length-1 are targets, each predicted from the
    tokens before it. A sequence longer than ``size`` is cut into windows ``seq[a:b]`` that
    start ``stride`` apart; a window scores the targets ``keep..b-1`` that no earlier window
    scored, so every target after the first window has at least ``size - stride`` tokens of
    context (the sliding-window perplexity of the reference sharded test).

    Returns:
        ``(a, b, keep)`` triples: run the model on ``seq[a:b]``; keep the scores of targets
        ``keep..b-1`` (window rows ``keep-a-1 .. b-a-2``).

    Example:
        >>> windows(10, 6, 2)
        [(0, 6, 1), (2, 8, 6), (4, 10, 8)]
    """
    if size < 2 or not 1 <= stride <= size - 1:
        raise ValueError(f"window size {size} and stride {stride}: need 1 <= stride < size")
    if length <= size:
        return [(0, length, 1)]
    out = [(0, size, 1)]
    a, scored = 0, size
    while scored < length:
        a += stride
        b = min(a + size, length)
        out.append((a, b, scored))
        scored = b
    return out
