"""Agreement between annotators: Krippendorff's alpha (interval metric; Krippendorff, 2011, "Computing
Krippendorff's Alpha-Reliability"); numpy only."""

from __future__ import annotations

import math

import numpy as np


def krippendorff_alpha_interval(values: np.ndarray) -> float:
    """Krippendorff's alpha with the interval metric (squared difference).

    `values` has one row per unit (a rated summary) and one column per
    annotator, nan where an annotator gave no value; the number of values may
    differ from unit to unit. Only units with two or more values count
    ("pairable" values). alpha = 1 - D_o / D_e, with D_o the mean squared
    difference between values of the same unit (each unit's pairs weighted
    1 / (m_u - 1)) and D_e the mean squared difference between any two pairable
    values. nan when fewer than two units are pairable or every value is the same.
    """
    v = np.atleast_2d(np.asarray(values, dtype=np.float64))
    present = np.isfinite(v)
    m = present.sum(axis=1)
    keep = m >= 2
    if keep.sum() < 1:
        return math.nan
    v, present, m = np.where(present, v, 0.0)[keep], present[keep], m[keep].astype(np.float64)
    s1 = v.sum(axis=1)
    s2 = (v * v).sum(axis=1)
    # Sum over ordered pairs i != j of a unit of (v_i - v_j)^2 = 2 (m sum v^2 - (sum v)^2).
    within = 2.0 * (m * s2 - s1 * s1)
    n = m.sum()
    d_o = (within / (m - 1.0)).sum() / n
    total = 2.0 * (n * s2.sum() - s1.sum() ** 2)
    d_e = total / (n * (n - 1.0))
    if d_e <= 0:
        return math.nan
    return float(1.0 - d_o / d_e)
