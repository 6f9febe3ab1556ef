"""Group statistics: descriptives, Hedges' g, the Mann–Whitney U test, z-scores and robust z-scores."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

ROBUST_Z_LIMIT = 3.5  # Iglewicz and Hoaglin's modified z-score: |z| > 3.5 is a possible outlier
ROBUST_Z_FACTOR = 0.6745  # Φ⁻¹(0.75): makes the MAD comparable with the SD of a normal sample
Z_LIMIT = 2.0  # subject pages mark |z| > 2 against the reference group
ROBUST_MIN = 8  # fewer values: a MAD means little, no robust z-scores


@dataclass
class Describe:
    n: int
    mean: float | None
    sd: float | None
    median: float | None
    q1: float | None
    q3: float | None
    low: float | None
    high: float | None


def describe(values: Sequence[float]) -> Describe:
    x = np.asarray([v for v in values if v is not None and math.isfinite(v)], dtype=float)
    if x.size == 0:
        return Describe(0, None, None, None, None, None, None, None)
    q1, median, q3 = (float(v) for v in np.percentile(x, [25, 50, 75]))
    sd = float(x.std(ddof=1)) if x.size > 1 else None
    return Describe(int(x.size), float(x.mean()), sd, median, q1, q3, float(x.min()), float(x.max()))


def hedges_g(group: Sequence[float], reference: Sequence[float]) -> float | None:
    """(mean of group − mean of reference) / pooled SD, times the small-sample correction
    J = 1 − 3 / (4 (n₁ + n₂) − 9). None with fewer than two values in either, or no spread."""
    a, b = np.asarray(group, dtype=float), np.asarray(reference, dtype=float)
    if a.size < 2 or b.size < 2:
        return None
    pooled = math.sqrt(((a.size - 1) * a.var(ddof=1) + (b.size - 1) * b.var(ddof=1)) / (a.size + b.size - 2))
    if pooled == 0:
        return None
    correction = 1 - 3 / (4 * (a.size + b.size) - 9)
    return float((a.mean() - b.mean()) / pooled * correction)


def mann_whitney(group: Sequence[float], reference: Sequence[float]) -> tuple[float, float] | None:
    """Two-sided Mann–Whitney U test (scipy): (U of the group, p). None with fewer than two
    values in either sample."""
    from scipy.stats import mannwhitneyu

    if len(group) < 2 or len(reference) < 2:
        return None
    result = mannwhitneyu(list(group), list(reference), alternative="two-sided")
    return float(result.statistic), float(result.pvalue)


def z_score(value: float | None, reference: Describe) -> float | None:
    """(value − reference mean) / reference SD; None without an SD (fewer than two references)."""
    if value is None or reference.mean is None or not reference.sd:
        return None
    return (value - reference.mean) / reference.sd


def robust_z(values: Sequence[float]) -> list[float | None]:
    """0.6745 (x − median) / MAD for every value; None where the MAD is 0 or with fewer than
    :data:`ROBUST_MIN` values."""
    x = np.asarray(values, dtype=float)
    if x.size < ROBUST_MIN:
        return [None] * int(x.size)
    median = float(np.median(x))
    mad = float(np.median(np.abs(x - median)))
    if mad == 0:
        return [None] * int(x.size)
    return [float(ROBUST_Z_FACTOR * (v - median) / mad) for v in x]
