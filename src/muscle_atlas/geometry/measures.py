"""Measurements of a structure's surface: volume, area, length, maximal cross-section.

Length is the extent along the principal axis (the first principal component of the surface
points); cross-sections are cut perpendicular to that axis and their enclosed areas compared.
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


def closed_outward(mesh: trimesh.Trimesh, closed_only: bool = False) -> trimesh.Trimesh:
    """The surface to measure: holes filled (``closed_only``) and every closed piece wound
    outward, so that pieces' volumes and section areas add up instead of cancelling (mirrored
    copies wind inward)."""
    if closed_only and not mesh.is_watertight:
        mesh = mesh.copy()
        trimesh.repair.fill_holes(mesh)
    if mesh.is_watertight and mesh.body_count > 1:
        mesh = mesh.copy()
        trimesh.repair.fix_inversion(mesh, multibody=True)
    return mesh


def enclosed_volume_ml(mesh: trimesh.Trimesh, closed_only: bool = False) -> float | None:
    """The volume a surface encloses (mL), None for a surface that stays open (``closed_only``).
    Every command measures a surface's volume through this function."""
    mesh = closed_outward(mesh, closed_only)
    return _volume_ml(mesh) if mesh.is_watertight or not closed_only else None


def _volume_ml(mesh: trimesh.Trimesh) -> float:
    return round(abs(float(mesh.volume)) / 1000.0, 3)


def measure(mesh: trimesh.Trimesh, closed_only: bool = False) -> Measures:
    """``closed_only``: a surface that stays open after its holes are filled gets no volume and
    no cross-section (anatomical models are often open shells; their numbers would be wrong)."""
    mesh = closed_outward(mesh, closed_only)
    enclosed = mesh.is_watertight or not closed_only
    points = np.asarray(mesh.vertices, dtype=float)
    centroid = points.mean(axis=0)
    _, _, axes = np.linalg.svd(points - centroid, full_matrices=False)
    axis = axes[0]
    along = (points - centroid) @ axis
    lo, hi = float(along.min()), float(along.max())
    heights = np.linspace(lo, hi, CSA_SLICES + 2)[1:-1]
    if not enclosed:  # no cross-section is reported: none is cut (trimesh's sections cost 0.2 s here)
        max_csa = 0.0
    elif mesh.is_watertight and mesh.is_winding_consistent:
        max_csa = float(section_areas(mesh, centroid, axis, heights).max(initial=0.0))
    else:  # open loops: trimesh assembles the closed ones into polygons
        sections = mesh.section_multiplane(plane_origin=centroid, plane_normal=axis, heights=heights)
        max_csa = max((float(s.area) for s in sections if s is not None), default=0.0)
    return Measures(
        volume_ml=_volume_ml(mesh) if enclosed else None,
        area_cm2=round(float(mesh.area) / 100.0, 2),
        length_mm=round(hi - lo, 1),
        max_csa_cm2=round(max_csa / 100.0, 2) if enclosed else None,
        centroid_mm=tuple(round(float(c), 1) for c in (mesh.center_mass if mesh.is_watertight else centroid)),  # type: ignore[arg-type]
    )


def section_areas(mesh: trimesh.Trimesh, origin: np.ndarray, normal: np.ndarray, heights: np.ndarray) -> np.ndarray:
    """Area enclosed by the section of a closed, consistently wound surface by each plane
    ``(x - origin) · normal = height``.

    By Green's theorem the area is half the sum, over the section's segments each oriented
    along ``normal × face normal``, of their cross product about any point of the plane; holes
    count negative by themselves. No loops are assembled: trimesh's ``section_multiplane``
    builds a Path2D and its polygons per plane, 50 ms a muscle for 40 planes, where this takes
    about 2 ms and gives the same areas (tested against it)."""
    normal = np.asarray(normal, dtype=float) / np.linalg.norm(normal)
    triangles = np.asarray(mesh.triangles, dtype=float)  # face × corner × xyz
    along = (triangles - origin) @ normal  # face × corner
    # The section's direction in each face; its sign follows the winding, whatever the normals say.
    direction = np.cross(normal, np.cross(triangles[:, 1] - triangles[:, 0], triangles[:, 2] - triangles[:, 0]))
    low, high = along.min(axis=1), along.max(axis=1)
    areas = np.zeros(len(heights))
    for index, height in enumerate(heights):
        cut = np.flatnonzero((low < height) & (high >= height))
        if cut.size == 0:
            continue
        above = along[cut] >= height  # face × corner; a corner on the plane counts as above
        # The corner alone on its side, and the two edges from it that the plane crosses.
        lone = np.where(above.sum(axis=1) == 1, np.argmax(above, axis=1), np.argmin(above, axis=1))
        ends = []
        for step in (1, 2):
            other = (lone + step) % 3
            d0, d1 = along[cut, lone] - height, along[cut, other] - height
            t = (d0 / (d0 - d1))[:, None]
            p0, p1 = triangles[cut, lone], triangles[cut, other]
            ends.append(p0 + (p1 - p0) * t)
        a, b = ends
        forward = np.einsum("ij,ij->i", b - a, direction[cut]) >= 0
        a, b = np.where(forward[:, None], a, b), np.where(forward[:, None], b, a)
        centre = origin + normal * height
        areas[index] = 0.5 * float((np.cross(a - centre, b - centre) @ normal).sum())
    return np.abs(areas)  # a surface wound inward gives negative areas


def asymmetry_percent(left: float, right: float) -> float | None:
    """(L − R) / mean(L, R) × 100; None when either side is missing or zero."""
    if not left or not right:
        return None
    return round((left - right) / ((left + right) / 2) * 100, 1)
