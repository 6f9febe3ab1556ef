"""Measurements of a structure's surface: volume, area, length, maximal cross-section.

Length is the extent along the principal axis (the first principal component of the surface
points); cross-sections are cut perpendicular to that axis with trimesh and their enclosed
areas compared.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import trimesh

CSA_SLICES = 40


@dataclass(frozen=True)
class Measures:
    volume_ml: float | None  # None: an open surface encloses no volume
    area_cm2: float
    length_mm: float
    max_csa_cm2: float | None
    centroid_mm: tuple[float, float, float]


def measure(mesh: trimesh.Trimesh, closed_only: bool = False) -> Measures:
    """``closed_only``: a surface that stays open after its holes are filled gets no volume and
    no cross-section (anatomical models are often open shells; their numbers would be wrong)."""
    if closed_only and not mesh.is_watertight:
        mesh = mesh.copy()
        trimesh.repair.fill_holes(mesh)
    enclosed = mesh.is_watertight or not closed_only
    points = np.asarray(mesh.vertices, dtype=float)
    centroid = points.mean(axis=0)
    _, _, axes = np.linalg.svd(points - centroid, full_matrices=False)
    axis = axes[0]
    along = (points - centroid) @ axis
    lo, hi = float(along.min()), float(along.max())
    heights = np.linspace(lo, hi, CSA_SLICES + 2)[1:-1]
    sections = mesh.section_multiplane(plane_origin=centroid, plane_normal=axis, heights=heights)
    max_csa = max((float(s.area) for s in sections if s is not None), default=0.0)
    return Measures(
        volume_ml=round(abs(float(mesh.volume)) / 1000.0, 3) if enclosed else None,
        area_cm2=round(float(mesh.area) / 100.0, 2),
        length_mm=round(hi - lo, 1),
        max_csa_cm2=round(max_csa / 100.0, 2) if enclosed else None,
        centroid_mm=tuple(round(float(c), 1) for c in (mesh.center_mass if mesh.is_watertight else centroid)),  # type: ignore[arg-type]
    )


def asymmetry_percent(left: float, right: float) -> float | None:
    """(L − R) / mean(L, R) × 100; None when either side is missing or zero."""
    if not left or not right:
        return None
    return round((left - right) / ((left + right) / 2) * 100, 1)
