"""Voxel measures of one segmentation: sides, volumes, cross-sections, pieces, and a thumbnail.

Sides. A label without a side in its name that holds both legs is split by position, by the
one side-splitting step of every command (:mod:`muscle_atlas.geometry.sides`: each connected
piece to the side of the body's midline where it lies, pieces across the midline cut there).
When no label is mirrored across a midline (one leg imaged), the study still needs a side to
compare subjects: the leg is taken as right when it lies at +x of the scanner's isocentre
(x = 0), else left, and the log says so.

Measures per structure and side (labels of one structure and side pooled): voxel count, volume
= count × voxel volume, the maximal cross-sectional area (the largest per-slice voxel count ×
the in-plane voxel area, along the slice axis: the axis of largest spacing), the number of
slices covered, and the number of pieces (components of at least :data:`PIECE_SHARE` of the
side's voxels; smaller specks are counted apart).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from scipy import ndimage

from muscle_atlas.anatomy.match import MatchResult
from muscle_atlas.geometry import sides
from muscle_atlas.sources import Source
from muscle_atlas.sources.volume import LabelVolume, label_boxes

PIECE_SHARE = 0.01  # a component of at least 1 % of a side's voxels is a piece; smaller ones are specks


@dataclass
class SideSplit:
    """The label volume relabelled one value per structure label and side, with its matches."""

    data: np.ndarray
    matches: list[MatchResult]
    log: list[str] = field(default_factory=list)
    midline_x: float = 0.0
    two_legs: bool = True
    pieces: dict[int, list[int]] = field(default_factory=dict)  # label → its pieces' voxel counts, where known


def slice_axis(affine: np.ndarray) -> int:
    """The voxel axis of the slices: largest spacing; if equal, the one most along world z."""
    sizes = np.sqrt((affine[:3, :3] ** 2).sum(axis=0))
    along_z = np.abs(affine[2, :3]) / np.maximum(sizes, 1e-12)
    return int(max(range(3), key=lambda a: (round(float(sizes[a]), 3), along_z[a])))


def in_plane_area_mm2(affine: np.ndarray, axis: int) -> float:
    a, b = [i for i in range(3) if i != axis]
    return float(np.linalg.norm(np.cross(affine[:3, a], affine[:3, b])))


def split_sides(
    data: np.ndarray, affine: np.ndarray, matches: list[MatchResult], done: sides.SideSplit | None = None,
) -> SideSplit:  # fmt: skip
    """Every matched label without a side becomes one label per side present: by the one
    side-splitting step of every command (``done``: its result, when ``open_subject`` ran it),
    then, when the segmentation holds one leg, by the leg's side of the scanner's isocentre."""
    if not (data > 0).any():
        return SideSplit(np.zeros(data.shape, np.int32), [], ["the segmentation holds no labels"], 0.0, False)
    if done is None:
        volume = LabelVolume(Path("segmentation"), data, affine)
        matches, done = sides.split_sides(Source(volume.path, volume=volume), matches)
        data = volume.data
    log = done.report()
    if done.two_sides and done.midline_x is not None:
        return SideSplit(data, matches, log, done.midline_x, True, done.pieces)
    centre = float(np.asarray(ndimage.center_of_mass(data > 0)) @ affine[0, :3] + affine[0, 3])
    unsided = [m for m in matches if m.status == "matched" and m.side is None and m.key.lstrip("-").isdigit()]
    if unsided:
        side = "right" if centre > 0 else "left"
        log.append(f"one leg only (no label mirrored across a midline): taken as the {side} leg because it lies at "
                   f"{'+' if centre > 0 else '−'}x of the scanner's isocentre")  # fmt: skip
        matches = [replace(m, side=side, candidates=[]) if m in unsided else m for m in matches]
    return SideSplit(data, matches, log, centre, False, done.pieces)


# ---------------------------------------------------------------------------------------------
# Measures


@dataclass
class StructureSide:
    path: str
    name: str
    code: int | None
    side: str
    labels: list[int]
    voxels: int = 0
    volume_ml: float = 0.0
    max_csa_cm2: float = 0.0
    max_csa_slice: int = -1
    slices: int = 0
    pieces: int = 0
    specks: int = 0
    speck_voxels: int = 0
    cut: str = ""  # "first slice", "last slice", "both ends" when the structure reaches the slab's ends

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def measure_sides(
    split: SideSplit, affine: np.ndarray, known_boxes: dict[int, tuple[slice, ...]] | None = None
) -> tuple[list[StructureSide], dict]:  # fmt: skip
    """Voxel measures of every matched structure and side, and the grid's description.
    ``known_boxes``: the index box of every label of ``split.data``, when the caller has them
    (a label volume keeps them); else they are found here."""
    axis = slice_axis(affine)
    voxel_mm3 = float(abs(np.linalg.det(affine[:3, :3])))
    area_mm2 = in_plane_area_mm2(affine, axis)
    spacing = np.sqrt((affine[:3, :3] ** 2).sum(axis=0))
    grid = {
        "shape": [int(n) for n in split.data.shape], "voxel_mm": [round(float(s), 4) for s in spacing],
        "slice_axis": axis, "slice_mm": round(float(spacing[axis]), 4), "slices_total": int(split.data.shape[axis]),
        "voxel_mm3": voxel_mm3, "in_plane_mm2": area_mm2, "midline_x_mm": round(split.midline_x, 2),
        "two_legs": split.two_legs,
    }  # fmt: skip
    groups: dict[tuple[str, str], StructureSide] = {}
    for m in split.matches:
        if m.status != "matched" or not m.path:
            continue
        key = (m.path, m.side or "none")
        entry = groups.setdefault(key, StructureSide(m.path, m.structure or m.name, m.code, m.side or "none", []))
        entry.labels.append(int(m.key))
    data = split.data
    wanted = sorted({v for entry in groups.values() for v in entry.labels})
    if known_boxes is None:
        boxes = label_boxes(data, wanted)
    else:
        boxes = {v: known_boxes[v] for v in wanted if v in known_boxes}
    n_slices = data.shape[axis]
    for entry in groups.values():
        present = [v for v in entry.labels if v in boxes]
        if not present:
            continue
        lo = [min(boxes[v][a].start for v in present) for a in range(3)]
        hi = [max(boxes[v][a].stop for v in present) for a in range(3)]
        box = tuple(slice(a, b) for a, b in zip(lo, hi, strict=True))
        mask = data[box] == present[0] if len(present) == 1 else np.isin(data[box], present)
        entry.voxels = int(mask.sum())
        entry.volume_ml = entry.voxels * voxel_mm3 / 1000
        per_slice = mask.sum(axis=tuple(a for a in range(3) if a != axis))
        entry.max_csa_cm2 = float(per_slice.max()) * area_mm2 / 100
        entry.max_csa_slice = int(np.argmax(per_slice)) + lo[axis]
        entry.slices = int((per_slice > 0).sum())
        first, last = lo[axis] == 0, hi[axis] == n_slices
        entry.cut = "both ends" if first and last else "first slice" if first else "last slice" if last else ""
        known = split.pieces.get(present[0]) if len(entry.labels) == 1 else None
        if known is not None:  # the side split labelled this label's pieces already
            sizes = np.array(known, dtype=np.int64)
        else:
            components, _ = ndimage.label(mask)
            sizes = np.bincount(components.ravel())[1:]
        big = sizes >= PIECE_SHARE * entry.voxels
        entry.pieces = int(big.sum())
        entry.specks = int((~big).sum())
        entry.speck_voxels = int(sizes[~big].sum())
    return sorted(groups.values(), key=lambda e: (e.path, e.side)), grid


# ---------------------------------------------------------------------------------------------
# Thumbnail: an axial slice at mid-thigh

# Okabe–Ito and Tol colours, distinct on a dark background.
PALETTE = (
    (230, 159, 0), (86, 180, 233), (0, 158, 115), (240, 228, 66), (0, 114, 178), (213, 94, 0), (204, 121, 167),
    (255, 255, 255), (136, 204, 238), (68, 170, 153), (221, 204, 119), (170, 68, 153), (153, 153, 51), (238, 102, 119),
)  # fmt: skip
BACKGROUND = (24, 28, 33)


def thumbnail(data: np.ndarray, affine: np.ndarray, colour_of: dict[int, int], size: int = 160) -> tuple[object, dict]:
    """An axial slice through the middle of the labelled slab, as seen from the feet (the subject's
    right on the image's left, anterior up), labels coloured, cropped to the labels. Returns a
    PIL image and its description (slice index, count, orientation)."""
    from PIL import Image

    axis = slice_axis(affine)
    covered = np.nonzero((data > 0).any(axis=tuple(a for a in range(3) if a != axis)))[0]
    if covered.size == 0:
        index = data.shape[axis] // 2
    else:
        index = (int(covered[0]) + int(covered[-1])) // 2
    plane = data[tuple(index if a == axis else slice(None) for a in range(3))]  # a view (np.take copied)
    a, b = [i for i in range(3) if i != axis]
    # Columns run along the in-plane axis closer to world x, rows along the other.
    if abs(affine[0, b]) > abs(affine[0, a]):
        plane, (a, b) = plane.T, (b, a)
    # plane[i, j]: i along voxel axis a (≈ x), j along b (≈ y). Image rows = y (anterior up), columns = x
    # (the subject's right on the left: world x decreasing to the right).
    image = plane.T  # rows along b, columns along a
    if affine[0, a] > 0:
        image = image[:, ::-1]
    if affine[1, b] > 0:
        image = image[::-1, :]
    spacing_col, spacing_row = float(np.linalg.norm(affine[:3, a])), float(np.linalg.norm(affine[:3, b]))
    rows, cols = np.nonzero(image)
    if rows.size:
        margin = 4
        r0, r1 = max(rows.min() - margin, 0), min(rows.max() + margin + 1, image.shape[0])
        c0, c1 = max(cols.min() - margin, 0), min(cols.max() + margin + 1, image.shape[1])
        image = image[r0:r1, c0:c1]
    lut_size = int(image.max()) + 1 if image.size else 1
    palette = np.array([BACKGROUND] * max(lut_size, 1), dtype=np.uint8)
    for value, colour in colour_of.items():
        if 0 < value < lut_size:
            palette[value] = PALETTE[colour % len(PALETTE)]
    for value in range(1, lut_size):  # labels without a colour of their own
        if value not in colour_of:
            palette[value] = (120, 120, 120)
    rgb = palette[image]
    height_mm, width_mm = image.shape[0] * spacing_row, image.shape[1] * spacing_col
    scale = size / max(height_mm, width_mm, 1e-6)
    width, height = max(1, round(width_mm * scale)), max(1, round(height_mm * scale))
    picture = Image.fromarray(rgb, "RGB").resize((width, height), Image.Resampling.NEAREST)
    info = {"slice": index + 1, "slices": int(data.shape[axis]), "width": width, "height": height}
    return picture, info
