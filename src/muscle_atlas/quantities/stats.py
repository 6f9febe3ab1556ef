"""Statistics of a structure's values: summary, per-slice profile, histogram (vectorised)."""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

PERCENTILES = (5, 25, 50, 75, 95)
HISTOGRAM_BINS = 50
# Fixed ranges where the quantity has natural bounds, so that histograms compare across data sets.
FIXED_RANGES = {"fat_fraction": (0.0, 100.0), "FA": (0.0, 1.0)}


def percentiles_of_sorted(ordered: np.ndarray, qs: tuple[float, ...] | list[float]) -> np.ndarray:
    """numpy's default (linear) percentiles of an already sorted array."""
    position = np.asarray(qs, dtype=float) / 100 * (ordered.size - 1)
    below = np.floor(position).astype(int)
    above = np.minimum(below + 1, ordered.size - 1)
    weight = position - below
    return ordered[below] * (1 - weight) + ordered[above] * weight


def summary(values: np.ndarray) -> dict[str, float | int]:
    """n, mean, median, SD (n − 1) and percentiles of the finite values (NaN when there are none)."""
    finite = np.sort(values[np.isfinite(values)])  # a vectorised sort beats repeated partitions
    n = int(finite.size)
    if n == 0:
        nan = math.nan
        return {"n_voxels": 0, "mean": nan, "median": nan, "sd": nan, "p5": nan, "p25": nan, "p75": nan, "p95": nan}
    p5, p25, p50, p75, p95 = (float(v) for v in percentiles_of_sorted(finite, PERCENTILES))
    return {
        "n_voxels": n,
        "mean": float(finite.mean()),
        "median": p50,
        "sd": float(finite.std(ddof=1)) if n > 1 else math.nan,
        "p5": p5,
        "p25": p25,
        "p75": p75,
        "p95": p95,
    }


def in_plane_erosion(mask: np.ndarray, iterations: int, slice_axis: int) -> np.ndarray:
    """2D erosion (4-connected cross) within every slice; nothing is eroded across slices."""
    if iterations <= 0:
        return mask
    shape = [3, 3, 3]
    shape[slice_axis] = 1
    structure = np.zeros(shape, dtype=bool)
    centre = [1, 1, 1]
    centre[slice_axis] = 0
    structure[tuple(centre)] = True
    for axis in range(3):
        if axis == slice_axis:
            continue
        for offset in (0, 2):
            where = list(centre)
            where[axis] = offset
            structure[tuple(where)] = True
    return ndimage.binary_erosion(mask, structure=structure, iterations=iterations, border_value=0)


def profile(slices: np.ndarray, values: np.ndarray, n_slices: int) -> dict[str, np.ndarray]:
    """Per slice index 0..n_slices-1 (of the voxels given): voxel count, finite-value count,
    median and mean of the finite values (NaN where none)."""
    count = np.bincount(slices, minlength=n_slices)
    finite = np.isfinite(values)
    s, v = slices[finite], values[finite]
    n = np.bincount(s, minlength=n_slices)
    median = np.full(n_slices, np.nan)
    mean = np.full(n_slices, np.nan)
    has = n > 0
    if not has.any():
        return {"voxels": count, "n_values": n, "median": median, "mean": mean}
    # One sort groups the values by slice and orders them within it: slice k's values are
    # shifted into [k·span, (k+1)·span). (np.lexsort would be ~15× slower.)
    low = float(v.min())
    span = float(v.max()) - low + 1.0
    offsets = np.arange(n_slices) * span
    ordered = np.sort((v - low) + offsets[s]) - np.repeat(offsets, n) + low
    start = np.concatenate(([0], np.cumsum(n)[:-1]))
    lower = start[has] + (n[has] - 1) // 2
    upper = start[has] + n[has] // 2
    median[has] = 0.5 * (ordered[lower] + ordered[upper])
    mean[has] = np.bincount(s, weights=v, minlength=n_slices)[has] / n[has]
    return {"voxels": count, "n_values": n, "median": median, "mean": mean}


def histogram_edges(name: str, pooled: np.ndarray, bins: int = HISTOGRAM_BINS) -> np.ndarray:
    """Common bin edges for a quantity: its natural range, else the 0.5–99.5 percentiles of the
    values of every structure pooled."""
    if name in FIXED_RANGES:
        lo, hi = FIXED_RANGES[name]
    else:
        finite = pooled[np.isfinite(pooled)]
        if finite.size == 0:
            return np.linspace(0.0, 1.0, bins + 1)
        lo, hi = (float(x) for x in np.percentile(finite, (0.5, 99.5)))
        if hi <= lo:
            lo, hi = lo - 0.5, hi + 0.5
    return np.linspace(lo, hi, bins + 1)


def histogram(values: np.ndarray, edges: np.ndarray) -> dict[str, object]:
    finite = values[np.isfinite(values)]
    counts, _ = np.histogram(finite, bins=edges)
    return {
        "counts": [int(c) for c in counts],
        "below": int((finite < edges[0]).sum()),
        "above": int((finite > edges[-1]).sum()),
    }
