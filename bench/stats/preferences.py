"""Pairwise preferences: win rates with ties counted half, their bootstrap interval, and the sign test.

An *outcome* is one comparison seen from one side: 1 (won), 0 (lost), 0.5 (tie),
or any value in between when several judgments of one item are averaged first
(two annotators split: 0.5). The win rate is the mean outcome, so a tie counts
half a win, as Chatbot Arena and AlpacaEval count them. Its interval is bench's
percentile bootstrap over the outcomes (`bench.stats.bootstrap`), and the sign
test (Dixon and Mood, 1946) asks whether wins and losses differ more than a fair
coin would make them: ties carry no sign and are left out of it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bench.stats.bootstrap import DEFAULT_RESAMPLES, DEFAULT_SEED, bootstrap_ci


@dataclass(frozen=True)
class WinRate:
    """How often one side won: the mean outcome (ties half), its interval and the sign test."""

    rate: float
    """Mean outcome; nan when there is no comparison."""
    ci: tuple[float, float]
    wins: int
    """Outcomes above 0.5."""
    losses: int
    """Outcomes below 0.5."""
    ties: int
    """Outcomes of exactly 0.5."""
    p: float
    """Two-sided sign test of wins against losses (`sign_test`)."""

    @property
    def n(self) -> int:
        return self.wins + self.losses + self.ties


def sign_test(wins: int, losses: int) -> float:
    """Two-sided exact sign test: p = min(1, 2 P[X <= min(wins, losses)]), X ~ Binomial(wins + losses, 1/2).

    1 when there is nothing to test (no wins and no losses). Computed in log space, exact to rounding for any
    size. McNemar's exact test is this test on the discordant counts.
    """
    if wins < 0 or losses < 0:
        raise ValueError("counts must be non-negative")
    n = wins + losses
    if n == 0:
        return 1.0
    k = np.arange(min(wins, losses) + 1)
    logs = (math.lgamma(n + 1) - np.array([math.lgamma(i + 1) + math.lgamma(n - i + 1) for i in k])
            - n * math.log(2.0))
    top = logs.max()
    tail = math.exp(top) * float(np.exp(logs - top).sum())
    return min(1.0, 2.0 * tail)


def win_rate(outcomes: Sequence[float] | np.ndarray, *, confidence: float = 0.95,
             n_resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED) -> WinRate:
    """The win rate of `outcomes` (each in [0, 1]; 1 won, 0.5 tie, 0 lost) with its bootstrap interval and sign test."""
    x = np.asarray(outcomes, dtype=np.float64).reshape(-1)
    if x.size and (not np.all(np.isfinite(x)) or x.min() < 0 or x.max() > 1):
        raise ValueError("outcomes must lie between 0 and 1")
    wins, losses = int((x > 0.5).sum()), int((x < 0.5).sum())
    if x.size == 0:
        return WinRate(math.nan, (math.nan, math.nan), 0, 0, 0, 1.0)
    return WinRate(float(x.mean()), bootstrap_ci(x, confidence=confidence, n_resamples=n_resamples, seed=seed),
                   wins, losses, int(x.size) - wins - losses, sign_test(wins, losses))
