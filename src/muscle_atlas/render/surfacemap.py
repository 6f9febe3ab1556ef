"""A quantitative map painted on a structure's surface: per-vertex values, colours, colour bar.

How a vertex gets its value
---------------------------
The surface lies on the boundary of the segmentation, exactly where the map is least reliable:
boundary voxels mix muscle with the fat, fascia or neighbouring muscle next to it (and maps are
often registered to the labels only approximately). A vertex therefore does not take the map
value where it sits; it takes the **median of the map values found beneath it**: points are
placed along the vertex's inward normal every 0.5 mm from 0.5 to :data:`DEPTH_MM` mm deep, each
falls in one map voxel (nearest neighbour), and only the voxels of the structure's *eroded*
mask count (the structure's labels resampled onto the map grid and eroded in-plane by the
``--erode`` voxels, as in the eroded statistics). The median of those few values is robust to
one odd voxel and keeps the surface's pattern local (a few millimetres).

The values are then averaged over each vertex and its neighbours, :data:`SMOOTHING` times
(about 2–4 mm on a surface of a few thousand triangles): single noisy voxels no longer speckle
the surface, while patterns of a centimetre (fatty infiltration, a fascia) stay where they are.

Where no such voxel lies beneath a vertex (a thin part of the muscle, a normal leaving the
structure at once, a slice-end cap) the vertex takes the value of the nearest voxel of the
eroded mask that has a value (Euclidean distance in millimetres). A vertex with neither stays
without value and is drawn grey.

The maps share the scanner's frame with the label volume's *header* affine, so surface points
are carried back to that frame first (``to_scanner``) when orientation reinterpreted the axes.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from scipy import ndimage

if TYPE_CHECKING:
    from muscle_atlas.anatomy.match import MatchResult
    from muscle_atlas.quantities.specs import MapSpecs
    from muscle_atlas.sources.volume import LabelVolume

DEPTH_MM = 5.0
STEP_MM = 0.5
SMOOTHING = 2  # passes of neighbour averaging of the per-vertex values
COLORMAP = "viridis"  # perceptually uniform, readable in grey and by colour-blind readers
NO_VALUE = (190, 190, 190)  # vertices without a value
# The colour scale, one for every page: from the 2nd to the 90th percentile of all coloured
# vertices, rounded outward. Fat infiltration and boundary voxels make a long upper tail that
# would squeeze healthy muscle into the lowest colours; values beyond take the end colours.
RANGE_PERCENTILES = (2.0, 90.0)
PREFERRED = ("fat_fraction",)


@dataclass
class SurfaceMap:
    """Per-vertex values of one quantity on the surfaces of the structures (label key →
    values, NaN where none) and the colour scale shared by every structure."""

    quantity: str
    unit: str
    values: dict[str, np.ndarray] = field(default_factory=dict)
    low: float = 0.0
    high: float = 1.0

    def colours(self, key: str) -> np.ndarray:
        return colourise(self.values[key], self.low, self.high)

    def describe(self) -> dict:
        return {"quantity": self.quantity, "unit": self.unit, "low": self.low, "high": self.high, "colormap": COLORMAP}


def choose_quantity(names: list[str]) -> str | None:
    """The quantity painted on the surfaces: fat fraction when measured, else the first map."""
    for name in PREFERRED:
        if name in names:
            return name
    return names[0] if names else None


def _colormap():
    from matplotlib import colormaps

    return colormaps[COLORMAP]


def colourise(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """Values → sRGB uint8 (n, 3) on the colour map, clipped to [low, high]; NaN → grey."""
    values = np.asarray(values, dtype=float)
    span = high - low if high > low else 1.0
    scaled = np.clip((values - low) / span, 0.0, 1.0)
    rgba = _colormap()(np.where(np.isfinite(scaled), scaled, 0.0))
    rgb = np.round(rgba[:, :3] * 255).astype(np.uint8)
    rgb[~np.isfinite(values)] = NO_VALUE
    return rgb


def gradient_stops(count: int = 11) -> list[tuple[float, str]]:
    """(offset 0..1, #rrggbb) stops of the colour map, for an SVG colour bar."""
    cmap = _colormap()
    stops = []
    for offset in np.linspace(0.0, 1.0, count):
        r, g, b, _ = cmap(float(offset))
        stops.append((float(offset), f"#{round(r * 255):02x}{round(g * 255):02x}{round(b * 255):02x}"))
    return stops


def nice_range(values: np.ndarray) -> tuple[float, float]:
    """The :data:`RANGE_PERCENTILES` of the values, widened to round numbers."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return 0.0, 1.0
    lo, hi = (float(v) for v in np.percentile(finite, RANGE_PERCENTILES))
    if hi <= lo:
        hi = lo + (abs(lo) or 1.0) * 0.1
    step = 10 ** math.floor(math.log10(hi - lo)) / 2
    lo, hi = math.floor(lo / step) * step, math.ceil(hi / step) * step
    if float(finite.min()) >= 0 and lo < 0:
        lo = 0.0
    return float(f"{lo:.6g}"), float(f"{hi:.6g}")


def to_scanner(current_affine: np.ndarray, header_affine: np.ndarray) -> np.ndarray:
    """4×4: world points of the (possibly reoriented) label volume → the header's world frame."""
    return header_affine @ np.linalg.inv(current_affine)


def sample_surfaces(
    volume: LabelVolume, header_affine: np.ndarray, matches: list[MatchResult], specs: MapSpecs,
    meshes: dict[str, object], quantity: str,
) -> SurfaceMap:  # fmt: skip
    """Per-vertex values of ``quantity`` on every matched structure's surface in ``meshes``
    (label key → pyvista surface in ``volume``'s current world frame)."""
    from dataclasses import replace

    from muscle_atlas.quantities import stats
    from muscle_atlas.quantities.compute import structures_of
    from muscle_atlas.quantities.maps import open_groups
    from muscle_atlas.quantities.resample import bounding_box, nearest_index, resample_labels

    groups = [g for g in open_groups(specs) if any(q.name == quantity for q in g.quantities)]
    if not groups:
        raise ValueError(f"no map gives {quantity}")
    group = groups[0]
    unit = next(q.unit for q in group.quantities if q.name == quantity)
    result = SurfaceMap(quantity, unit)
    scanner_volume = replace(volume, affine=header_affine)
    structures, ids = structures_of(scanner_volume, matches)
    present = [s for s in structures if s.label_box is not None]
    if not present:
        return result
    keys_of: dict[int, list[str]] = {}
    by_path = {(s.path, s.side): s for s in present}
    for match in matches:
        s = by_path.get((match.path or "", match.side or "none")) if match.status == "matched" else None
        if s is not None and match.key in meshes:
            keys_of.setdefault(s.id, []).append(match.key)
    grid = group.grid
    union = tuple(
        slice(min(s.label_box[a].start for s in present), max(s.label_box[a].stop for s in present))  # type: ignore[index]
        for a in range(3)
    )
    box = bounding_box(union, header_affine, grid.affine, grid.shape)  # type: ignore[arg-type]
    if box is None:
        return result
    resampled = resample_labels(ids, header_affine, grid.affine, box)
    blocks = ndimage.find_objects(resampled, max_label=max(s.id for s in present))
    transform = to_scanner(volume.affine, header_affine)
    to_map = np.linalg.inv(grid.affine) @ transform
    normal_matrix = np.linalg.inv(transform[:3, :3]).T
    depths = np.arange(STEP_MM, DEPTH_MM + STEP_MM / 2, STEP_MM)
    axis = grid.slice_axis
    pad = specs.erode + 1
    group.load()
    try:
        for s in present:
            local = blocks[s.id - 1]
            if local is None or s.id not in keys_of:
                continue
            block = tuple(
                o if a == axis else slice(max(o.start - pad, 0), min(o.stop + pad, resampled.shape[a]))
                for a, o in enumerate(local)
            )
            mask = resampled[block] == s.id
            core = stats.in_plane_erosion(mask, specs.erode, axis) if specs.erode else mask
            if not core.any():
                core = mask
            where = np.nonzero(core)
            index = tuple(where[a] + block[a].start + box[a].start for a in range(3))
            values = np.full(mask.shape, np.nan)
            values[where] = group.values(index)[quantity]  # type: ignore[arg-type]
            origin = np.array([block[a].start + box[a].start for a in range(3)])
            nearest = None
            for key in keys_of[s.id]:
                mesh = meshes[key]
                points = np.asarray(mesh.points, dtype=float)  # type: ignore[attr-defined]
                normals = _outward_normals(mesh) @ normal_matrix.T
                normals /= np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)
                scanner = points @ transform[:3, :3].T + transform[:3, 3]
                samples = scanner[:, None, :] - depths[None, :, None] * normals[:, None, :]
                voxel = nearest_index(samples @ np.linalg.inv(grid.affine)[:3, :3].T + np.linalg.inv(grid.affine)[:3, 3])
                found = _lookup(values, voxel - origin)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows stay NaN
                    per_vertex = np.nanmedian(found, axis=1)
                missing = ~np.isfinite(per_vertex)
                if missing.any():
                    if nearest is None:
                        nearest = _nearest_valued(values, grid.voxel_size)
                    if nearest is not None:
                        at = nearest_index(points[missing] @ to_map[:3, :3].T + to_map[:3, 3]) - origin
                        at = np.clip(at, 0, np.asarray(values.shape) - 1)
                        chosen = tuple(nearest[a][at[:, 0], at[:, 1], at[:, 2]] for a in range(3))
                        per_vertex[missing] = values[chosen]
                result.values[key] = _smooth(per_vertex, mesh, SMOOTHING)
    finally:
        group.release()
    pooled = np.concatenate(list(result.values.values())) if result.values else np.empty(0)
    result.low, result.high = nice_range(pooled)
    return result


def _smooth(values: np.ndarray, mesh: object, passes: int) -> np.ndarray:
    """Each vertex's value averaged with its edge neighbours' (vertices without value ignored)."""
    if passes <= 0 or values.size == 0:
        return values
    from scipy import sparse

    triangles = mesh if mesh.is_all_triangles else mesh.triangulate()  # type: ignore[attr-defined]
    faces = np.asarray(triangles.faces).reshape(-1, 4)[:, 1:]
    a = np.concatenate([faces[:, 0], faces[:, 1], faces[:, 2], np.arange(values.size)])
    b = np.concatenate([faces[:, 1], faces[:, 2], faces[:, 0], np.arange(values.size)])
    adjacency = sparse.coo_matrix((np.ones(a.size), (a, b)), shape=(values.size, values.size)).tocsr()
    adjacency = ((adjacency + adjacency.T) > 0).astype(float)
    for _ in range(passes):
        valued = np.isfinite(values)
        total = adjacency @ np.where(valued, values, 0.0)
        count = adjacency @ valued.astype(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            values = np.where(count > 0, total / count, np.nan)
    return values


def _outward_normals(mesh: object) -> np.ndarray:
    normals = mesh.point_data.get("Normals")  # type: ignore[attr-defined]
    if normals is not None and len(normals) == mesh.n_points:  # type: ignore[attr-defined]
        return np.asarray(normals, dtype=float)
    computed = mesh.compute_normals(  # type: ignore[attr-defined]
        cell_normals=False, point_normals=True, split_vertices=False, consistent_normals=False, auto_orient_normals=False
    )
    return np.asarray(computed.point_data["Normals"], dtype=float)


def _lookup(values: np.ndarray, voxel: np.ndarray) -> np.ndarray:
    """values[voxel] for an (..., 3) array of block indices; NaN outside the block."""
    shape = np.asarray(values.shape)
    inside = ((voxel >= 0) & (voxel < shape)).all(axis=-1)
    clipped = np.clip(voxel, 0, shape - 1)
    found = values[clipped[..., 0], clipped[..., 1], clipped[..., 2]]
    return np.where(inside, found, np.nan)


def _nearest_valued(values: np.ndarray, voxel_size: np.ndarray) -> tuple[np.ndarray, ...] | None:
    """For every voxel of the block, the index of the nearest voxel that has a value."""
    valued = np.isfinite(values)
    if not valued.any():
        return None
    _, indices = ndimage.distance_transform_edt(~valued, sampling=voxel_size, return_indices=True)
    return tuple(indices)
