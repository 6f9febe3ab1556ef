"""Turntable cameras: N evenly spaced views about the superior–inferior axis.

Orientation 1 looks at the anterior surface; the camera then moves round toward the subject's
left (RAS: +y anterior, -x left, +z superior), superior always up. A region's framing is shared
by all its structures so their views can be compared image by image.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Framing:
    """Centre and half-size (mm) of a parallel-projection view that fits every orientation."""

    center: tuple[float, float, float]
    half_height: float

    @classmethod
    def around(cls, points: np.ndarray, margin: float = 1.06) -> Framing:
        lo, hi = points.min(axis=0), points.max(axis=0)
        center = (lo + hi) / 2
        radius_xy = float(np.max(np.linalg.norm(points[:, :2] - center[:2], axis=1)))
        half_z = float(hi[2] - lo[2]) / 2
        return cls(tuple(float(c) for c in center), max(radius_xy, half_z) * margin)  # type: ignore[arg-type]


def view_direction(index: int, count: int) -> tuple[float, float, float]:
    """Unit vector from the focal point to the camera for orientation ``index`` (0-based)."""
    angle = 2 * math.pi * index / count
    return (-math.sin(angle), math.cos(angle), 0.0)
