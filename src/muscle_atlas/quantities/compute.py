"""Per-structure statistics of quantitative maps: the function the commands call.

:func:`quantify` takes the opened label volume, the match results and the map specs, and
returns rows (one per structure, side, quantity and erosion), per-slice profiles and
histograms. Labels are resampled onto each map's grid (nearest neighbour) and the statistics
are computed there, inside each structure's bounding box.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from muscle_atlas.anatomy.match import MatchResult
from muscle_atlas.errors import MapError
from muscle_atlas.quantities import stats
from muscle_atlas.quantities.maps import MapGroup, open_groups
from muscle_atlas.quantities.resample import Box, bounding_box, counts_inside, resample_labels
from muscle_atlas.quantities.specs import MapSpecs
from muscle_atlas.sources.volume import LabelVolume

COLUMNS = (
    "structure", "side", "label", "map", "unit", "erosion_voxels", "n_voxels", "coverage",
    "mean", "median", "sd", "p5", "p25", "p75", "p95", "edge_cut",
)  # fmt: skip
PROFILE_COLUMNS = (
    "structure", "side", "map", "unit", "erosion_voxels", "slice", "position_mm", "area_mm2", "n_voxels", "median", "mean",
)  # fmt: skip
HISTOGRAM_SAMPLE = 200_000  # voxels sampled to choose a quantity's common histogram range


@dataclass
class PooledStructure:
    """A matched structure and side: every label naming it pooled."""

    id: int
    path: str
    side: str
    name: str | None
    labels: list[int]
    voxels: int = 0  # in the label volume
    label_box: Box | None = None
    cut_by_labels: bool = False  # touches an edge of the label volume

    @property
    def label(self) -> str:
        return "+".join(str(v) for v in self.labels)


@dataclass
class MapInfo:
    name: str
    unit: str
    kind: str  # dixon | dti | scalar
    files: list[str]
    shape: list[int]
    voxel_size_mm: list[float]
    slice_axis: int


@dataclass
class QuantityResult:
    """Everything :func:`quantify` measured. Rows hold the :data:`COLUMNS` (NaN where no value)
    plus ``cut_by`` (["labels"], ["map"], both or none); profiles the :data:`PROFILE_COLUMNS`;
    histograms one dict per structure, side and quantity (eroded mask): ``edges``, ``counts``,
    ``below``, ``above``."""

    rows: list[dict]
    profiles: list[dict]
    histograms: list[dict]
    maps: list[MapInfo]
    structures: list[PooledStructure]
    erosions: tuple[int, ...]
    warnings: list[str] = field(default_factory=list)

    def median(self, structure: str, side: str, quantity: str, erosion: int) -> float:
        """The median of one row (NaN if absent): a convenience for pages and tests."""
        for row in self.rows:
            if (row["structure"], row["side"], row["map"], row["erosion_voxels"]) == (structure, side, quantity, erosion):
                return float(row["median"])
        return math.nan


def structures_of(volume: LabelVolume, matches: Sequence[MatchResult]) -> tuple[list[PooledStructure], np.ndarray]:
    """The matched structures (labels pooled by structure and side) and the label volume as
    structure ids (0: anything else)."""
    pooled: dict[tuple[str, str], list[int]] = {}
    names: dict[tuple[str, str], str | None] = {}
    for match in matches:
        if match.status != "matched" or not match.path:
            continue
        try:
            value = int(match.key)
        except ValueError:
            continue
        key = (match.path, match.side or "none")
        pooled.setdefault(key, []).append(value)
        names[key] = match.structure
    structures = [
        PooledStructure(i, path, side, names[(path, side)], sorted(pooled[(path, side)]))
        for i, (path, side) in enumerate(sorted(pooled), start=1)
    ]
    data = volume.data
    low = min(0, int(data.min())) if data.size else 0
    high = int(data.max()) if data.size else 0
    dtype = np.uint8 if len(structures) < 255 else np.uint16 if len(structures) < 65535 else np.uint32
    lut = np.zeros(high - low + 1, dtype=dtype)
    for s in structures:
        for value in s.labels:
            if low <= value <= high:
                lut[value - low] = s.id
    ids = lut[data - low] if low else lut[data]
    counts = np.bincount(ids.ravel(), minlength=len(structures) + 1)
    boxes = ndimage.find_objects(ids, max_label=len(structures)) if structures else []
    for s in structures:
        s.voxels = int(counts[s.id])
        box = boxes[s.id - 1]
        s.label_box = box
        if box is not None:
            s.cut_by_labels = any(b.start == 0 or b.stop == n for b, n in zip(box, data.shape, strict=True))
    return structures, ids


def _union(boxes: list[Box]) -> Box:
    return tuple(slice(min(b[a].start for b in boxes), max(b[a].stop for b in boxes)) for a in range(3))  # type: ignore[return-value]


def _world_extent(shape: Sequence[int], affine: np.ndarray) -> str:
    corners = np.array(
        [[x, y, z, 1.0] for x in (-0.5, shape[0] - 0.5) for y in (-0.5, shape[1] - 0.5) for z in (-0.5, shape[2] - 0.5)]
    )
    world = (affine @ corners.T)[:3]
    return ", ".join(
        f"{axis} {lo:.0f}…{hi:.0f}" for axis, lo, hi in zip("RAS", world.min(axis=1), world.max(axis=1), strict=True)
    )


def quantify(volume: LabelVolume, matches: Sequence[MatchResult], specs: MapSpecs) -> QuantityResult:
    """Statistics of every map over every matched structure, raw and eroded.

    Raises MapError (naming the file) for a map that cannot be used: unreadable, wrong number
    of dimensions or tensor components, only NaNs, water and fat on different grids, or no
    overlap with the structures. A partial overlap is a warning naming the structures.
    """
    groups = open_groups(specs)  # every file checked from its header before any work
    erosions = (0, specs.erode) if specs.erode > 0 else (0,)
    structures, ids = structures_of(volume, matches)
    present = [s for s in structures if s.voxels > 0]
    warnings = list(volume.warnings)
    absent = [s for s in structures if s.voxels == 0]
    if absent:
        listed = ", ".join(f"{s.path} {s.side} (label {s.label})" for s in absent)
        warnings.append(f"{volume.path.name}: no voxels for {listed}; not quantified")
    if not present:
        raise MapError("no matched structure with voxels to quantify (see `muscle-atlas match`)", volume.path)
    rows: list[dict] = []
    profiles: list[dict] = []
    histograms: list[dict] = []
    infos: list[MapInfo] = []
    for group in groups:
        measured = _quantify_group(group, volume, ids, present, erosions, warnings)
        rows += measured[0]
        profiles += measured[1]
        histograms += measured[2]
        infos += [
            MapInfo(q.name, q.unit, group.kind, [str(p) for p in group.paths], list(group.grid.shape),
                    [round(float(v), 4) for v in group.grid.voxel_size], group.grid.slice_axis)
            for q in group.quantities
        ]  # fmt: skip
    order = {info.name: i for i, info in enumerate(infos)}
    rows.sort(key=lambda r: (r["structure"], r["side"], order[r["map"]], r["erosion_voxels"]))
    profiles.sort(key=lambda r: (r["structure"], r["side"], order[r["map"]], r["erosion_voxels"], r["slice"]))
    histograms.sort(key=lambda r: (r["structure"], r["side"], order[r["map"]]))
    return QuantityResult(rows, profiles, histograms, infos, present, erosions, warnings)


def _quantify_group(
    group: MapGroup, volume: LabelVolume, ids: np.ndarray, structures: list[PooledStructure],
    erosions: tuple[int, ...], warnings: list[str],
) -> tuple[list[dict], list[dict], list[dict]]:  # fmt: skip
    grid = group.grid
    n_ids = max(s.id for s in structures)
    union = _union([s.label_box for s in structures if s.label_box is not None])
    box = bounding_box(union, volume.affine, grid.affine, grid.shape)
    inside = counts_inside(ids, union, volume.affine, grid.affine, grid.shape, n_ids) if box is not None else None
    if box is None or inside is None or not inside[1:].any():
        raise MapError(
            f"does not overlap the structures of {volume.path.name}: the map covers "
            f"{_world_extent(grid.shape, grid.affine)} mm, the structures {_world_extent_box(union, volume.affine)} mm",
            group.path,
        )
    resampled = resample_labels(ids, volume.affine, grid.affine, box)
    boxes = ndimage.find_objects(resampled, max_label=n_ids)
    if all(b is None for b in boxes):
        raise MapError(f"no voxel of this map falls in a structure of {volume.path.name}", group.path)
    group.load()
    axis = grid.slice_axis
    positions = grid.slice_positions_mm()
    area = grid.in_plane_area_mm2
    edges = _histogram_edges(group, resampled, box)
    pad = max(erosions) + 1
    partial: list[str] = []
    rows: list[dict] = []
    profiles: list[dict] = []
    histograms: list[dict] = []
    for s in structures:
        coverage = float(inside[s.id]) / s.voxels
        local = boxes[s.id - 1]
        touches_map = local is not None and any(
            b.start + o.start == 0 or b.stop + o.start == n for b, o, n in zip(local, box, grid.shape, strict=True)
        )
        cut_by = (["labels"] if s.cut_by_labels else []) + (["map"] if coverage < 1 or touches_map else [])
        if coverage < 1:
            partial.append(f"{s.path} {s.side} {100 * coverage:.0f} %")
        base = {"structure": s.path, "side": s.side, "label": s.label, "coverage": coverage}
        if local is None:  # the map does not reach this structure
            for q in group.quantities:
                for erosion in erosions:
                    rows.append(_row(base, q.name, q.unit, erosion, stats.summary(np.empty(0)), cut_by))
            continue
        block = tuple(
            o if a == axis else slice(max(o.start - pad, 0), min(o.stop + pad, resampled.shape[a]))
            for a, o in enumerate(local)
        )
        mask = resampled[block] == s.id
        where = np.nonzero(mask)
        index = tuple(where[a] + block[a].start + box[a].start for a in range(3))
        values = group.values(index)  # type: ignore[arg-type]
        selections = {0: np.ones(where[0].size, dtype=bool)}
        for erosion in erosions:
            if erosion:
                selections[erosion] = stats.in_plane_erosion(mask, erosion, axis)[mask]
        slices = index[axis]
        first = int(slices.min())
        relative = slices - first
        n_slices = int(relative.max()) + 1
        for q in group.quantities:
            v = values[q.name]
            finite_any = False
            for erosion in erosions:
                chosen = selections[erosion]
                summary = stats.summary(v[chosen])
                finite_any |= summary["n_voxels"] > 0
                rows.append(_row(base, q.name, q.unit, erosion, summary, cut_by))
                p = stats.profile(relative[chosen], v[chosen], n_slices)
                for k in np.flatnonzero(p["voxels"]):
                    profiles.append({
                        "structure": s.path, "side": s.side, "map": q.name, "unit": q.unit, "erosion_voxels": erosion,
                        "slice": first + int(k), "position_mm": float(positions[first + k]),
                        "area_mm2": float(p["voxels"][k]) * area, "n_voxels": int(p["n_values"][k]),
                        "median": float(p["median"][k]), "mean": float(p["mean"][k]),
                    })  # fmt: skip
            eroded = selections[erosions[-1]]
            histograms.append({
                "structure": s.path, "side": s.side, "label": s.label, "map": q.name, "unit": q.unit,
                "erosion_voxels": erosions[-1], "edges": [float(e) for e in edges[q.name]],
                **stats.histogram(v[eroded], edges[q.name]),
            })  # fmt: skip
            if not finite_any:
                warnings.append(f"{group.path.name}: no valid {q.name} value in {s.path} {s.side}")
    group.release()
    if partial:
        warnings.append(
            f"{group.description}: the map covers only part of {len(partial)} structure(s): {', '.join(partial)}"
        )
    return rows, profiles, histograms


def _world_extent_box(box: Box, affine: np.ndarray) -> str:
    shift = np.eye(4)
    shift[:3, 3] = [b.start for b in box]
    return _world_extent([b.stop - b.start for b in box], affine @ shift)


def _row(base: dict, name: str, unit: str, erosion: int, summary: dict, cut_by: list[str]) -> dict:
    return {
        "structure": base["structure"], "side": base["side"], "label": base["label"], "map": name, "unit": unit,
        "erosion_voxels": erosion, "n_voxels": summary["n_voxels"], "coverage": base["coverage"],
        "mean": summary["mean"], "median": summary["median"], "sd": summary["sd"], "p5": summary["p5"],
        "p25": summary["p25"], "p75": summary["p75"], "p95": summary["p95"], "edge_cut": bool(cut_by),
        "cut_by": cut_by,
    }  # fmt: skip


def _histogram_edges(group: MapGroup, resampled: np.ndarray, box: Box) -> dict[str, np.ndarray]:
    """Common bin edges per quantity, from a sample of the structures' voxels."""
    flat = np.flatnonzero(resampled)
    step = max(1, flat.size // HISTOGRAM_SAMPLE)
    local = np.unravel_index(flat[::step], resampled.shape)
    index = tuple(local[a] + box[a].start for a in range(3))
    values = group.values(index)  # type: ignore[arg-type]
    return {q.name: stats.histogram_edges(q.name, values[q.name]) for q in group.quantities}
