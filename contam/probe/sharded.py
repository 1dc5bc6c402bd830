"""The sharded likelihood comparison test of Oren et al. 2024, *Proving test set
contamination in black box language models* (ICLR): is a benchmark's canonical order more
likely under the model than shuffled orders of the same items?

A model that never saw the benchmark cannot prefer the order its files have: the items are
exchangeable, and every order of them is equally likely a priori. A model trained on the
benchmark's file memorizes the order too. So:

1. cut the n items, in file order, into r contiguous shards (sizes differ by at most one);
2. for each shard s, score its items concatenated in canonical order, log p(canon_s), and in
   m random orders, and take ``d_s = log p(canon_s) - mean_j log p(perm_s,j)``;
3. under the null (no contamination) the d_s are independent with mean <= 0, so a one-sided
   t-test of mean(d) > 0 on r - 1 degrees of freedom gives the p-value:
   ``t = mean(d) / (sd(d) / sqrt(r))``, ``p = P(T_{r-1} >= t)``.

The reference implementation divides by the population standard deviation (``np.std``); this
one uses the sample standard deviation (ddof=1), the t-test's own, which is slightly more
conservative. Items are joined with ``"\\n"`` after each, as the reference reads them from a
file of lines. The permutations are drawn from ``numpy.random.default_rng(seed)``, so a run
is reproducible.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from contam.errors import ConfigError


@dataclass(slots=True)
class ShardedResult:
    """The test's outcome for one bench.

    Attributes:
        starts: first item of each shard; shard s holds items starts[s] .. starts[s+1]-1.
        canonical: log p of each shard in canonical order.
        permuted: (shards, permutations) log p of each shard in each random order.

    The statistic, t and p-value follow from these (properties).
    """

    starts: npt.NDArray[np.int64]
    canonical: npt.NDArray[np.float64]
    permuted: npt.NDArray[np.float64]

    @property
    def diffs(self) -> npt.NDArray[np.float64]:
        """d_s of each shard."""
        means: npt.NDArray[np.float64] = self.permuted.mean(axis=1)
        return self.canonical - means

    @property
    def statistic(self) -> float:
        """Mean over shards of d_s, in nats (> 0: the canonical order is preferred)."""
        return float(self.diffs.mean())

    @property
    def t(self) -> float:
        """The t statistic; +-inf when every d_s is equal and not 0, 0 when all are 0."""
        return one_sided_t(self.diffs)[0]

    @property
    def p_value(self) -> float:
        """One-sided P(T_{r-1} >= t)."""
        return one_sided_t(self.diffs)[1]


def shard_starts(n: int, shards: int) -> npt.NDArray[np.int64]:
    """First item of each of ``shards`` contiguous shards of n items; the first n % shards
    shards get one item more (as in the reference).

    Example:
        >>> shard_starts(7, 3).tolist()
        [0, 3, 5]
    """
    sizes = np.full(shards, n // shards, dtype=np.int64)
    sizes[: n % shards] += 1
    return np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)


def check_shards(items: int, shards: int, bench: str = "") -> None:
    """Fail unless ``items`` fill ``shards`` shards with 2 items each (at least 2 shards).

    Example:
        >>> check_shards(5, 3)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        contam.errors.ConfigError: the sharded test needs at least 2 items per shard: 5 items...
    """
    if shards < 2:
        raise ConfigError(f"the sharded test needs >= 2 shards, got {shards}")
    if items < 2 * shards:
        of = f" of {bench}" if bench else ""
        raise ConfigError(
            f"the sharded test needs at least 2 items per shard: {items} items{of}, {shards} "
            f"shards (use --shards {max(2, items // 2)} or fewer)"
        )


def t_sf(t: float, df: int) -> float:
    """P(T >= t) for Student's t with ``df`` (integer) degrees of freedom.

    Exact finite series (Abramowitz & Stegun 26.7.3-4): with theta = atan(t / sqrt(df)),
    P(|T| < t) = sin(theta) * sum_{i<df/2} c_i cos(theta)^(2i) for even df, and
    (2/pi) (theta + sin(theta) cos(theta) * sum_{i<(df-1)/2} c'_i cos(theta)^(2i)) for odd df.
    Below about 1e-16 the difference 1 - P(|T| < t) is lost to rounding and 0 is returned.

    Example:
        >>> round(t_sf(1.0, 1), 6)  # Cauchy: 1/2 - atan(1)/pi
        0.25
    """
    if df < 1:
        raise ValueError(f"degrees of freedom must be >= 1, got {df}")
    if math.isinf(t):
        return 0.0 if t > 0 else 1.0
    theta = math.atan(abs(t) / math.sqrt(df))
    c2 = math.cos(theta) ** 2
    total, term = 0.0, 1.0
    if df % 2 == 0:
        for i in range(df // 2):
            total += term
            term *= c2 * (2 * i + 1) / (2 * i + 2)
        inside = math.sin(theta) * total
    else:
        for i in range((df - 1) // 2):
            total += term
            term *= c2 * (2 * i + 2) / (2 * i + 3)
        inside = 2 / math.pi * (theta + math.sin(theta) * math.cos(theta) * total)
    inside = min(1.0, inside)
    return (1 - inside) / 2 if t >= 0 else (1 + inside) / 2


def sharded_test(
    texts: Sequence[str],
    logprob: Callable[[list[str]], list[float]],
    shards: int = 10,
    permutations: int = 25,
    seed: int = 0,
    progress: Callable[[int], None] | None = None,
) -> ShardedResult:
    """Test whether the model prefers the canonical order of ``texts``.

    Args:
        texts: the bench's items in file order.
        logprob: total log-probability of each of a list of texts under the model.
        shards: r, at least 2; every shard needs at least 2 items.
        permutations: m random orders per shard.
        seed: seed of the random orders.
        progress: called with the number of shard texts scored after each shard.

    Example:
        >>> sharded_test(items, lambda ts: [score(t) for t in ts], shards=10)  # doctest: +SKIP
    """
    n = len(texts)
    if permutations < 1:
        raise ConfigError(f"the sharded test needs >= 1 permutation, got {permutations}")
    check_shards(n, shards)
    rng = np.random.default_rng(seed)
    starts = shard_starts(n, shards)
    ends = [*starts[1:].tolist(), n]
    canonical = np.empty(shards, dtype=np.float64)
    permuted = np.empty((shards, permutations), dtype=np.float64)
    for s, (a, b) in enumerate(zip(starts.tolist(), ends, strict=True)):
        items = list(texts[a:b])
        orders = [np.arange(b - a)] + [rng.permutation(b - a) for _ in range(permutations)]
        joined = ["".join(items[i] + "\n" for i in order) for order in orders]
        values = logprob(joined)
        canonical[s], permuted[s] = values[0], values[1:]
        if progress is not None:
            progress(len(joined))
    return ShardedResult(starts, canonical, permuted)


def one_sided_t(diffs: npt.NDArray[np.float64]) -> tuple[float, float]:
    """``(t, P(T_{r-1} >= t))`` for H0: mean(diffs) <= 0 against mean > 0.

    Example:
        >>> t, p = one_sided_t(np.array([1.0, 2.0, 3.0]))  # mean 2, sd 1: t = 2 sqrt(3)
        >>> round(t, 4), round(p, 6)  # df 2: p = 1/2 - t / (2 sqrt(t^2 + 2))
        (3.4641, 0.03709)
    """
    r = len(diffs)
    mean = float(diffs.mean())
    sd = float(diffs.std(ddof=1))
    if sd == 0.0:
        t = 0.0 if mean == 0.0 else math.copysign(math.inf, mean)
    else:
        t = mean / (sd / math.sqrt(r))
    return t, t_sf(t, r - 1)
