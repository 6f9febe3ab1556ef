"""Structures that hold both sides of the body in one label or one mesh, split into a left and a
right structure: one step for every source kind (label volumes, mesh files, glTF nodes).

Many real segmentations give one label to a muscle of both legs, and whole-body models one node
to a muscle's right copy and its mirrored left copy. Measured as one, such a structure gives
numbers of no muscle (two legs summed, one plane cut through both thighs). This step runs after
matching and orientation, in RAS+ (x points to the subject's right), and:

1. finds the body's midline, the sagittal plane x = m. First guess: halfway between the outer
   parts of the data. Then the plane the data are mirrored about: the median of the midpoints
   between the left and right parts of every structure whose two parts mirror each other
   (similar sizes, the same height and depth), and of every structure labelled both left and
   right. When fewer than half of the structures with parts on both sides of the first guess
   are mirrored (or one limb structure alone, its parts closer than two legs' would be), the
   data hold one side only (one leg imaged, one arm) and nothing is split: the first guess
   would cut a leg in two.
2. sends each connected piece of an unsided structure to the side where its centre lies. A
   piece lying across the midline (at least :data:`STRADDLE_SHARE` of it on each side) is cut
   there when the structure is a limb's (two legs touching in a label volume) or has other
   pieces that lie on a side; a structure made only of such pieces is one unsided structure
   (the diaphragm, orbicularis oris).
3. gives a side written in the label's name, or in a mapping file, precedence over position:
   such a structure is not split (orientation reports a side label that contradicts position).

Mesh pieces are turned outward first: a closed piece whose signed volume is negative (the
mirrored copies of whole-body exports wind inward) is inverted, so that it is measured, culled
and lit right. The source files are never touched: volumes are relabelled in a copy of the
array (split parts get new label values, their origin remembered), meshes replaced in memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np

from muscle_atlas.anatomy.match import MatchResult
from muscle_atlas.anatomy.tree import load_tree

if TYPE_CHECKING:
    import trimesh

    from muscle_atlas.sources import Source
    from muscle_atlas.sources.meshes import MeshFile
    from muscle_atlas.sources.volume import LabelVolume

SIDES = ("left", "right")
STRADDLE_SHARE = 0.05  # a piece with at least this share of itself on each side lies across the midline
MIRROR_SIZE_RATIO = 3.0  # the two parts of a mirrored structure: sizes within this factor
MIRROR_OFFSET = 0.5  # ... and height and depth apart by less than this share of their distance
MIRRORED_SHARE = 0.5  # mirrored: this share at least of the structures with parts on both sides of a first guess
LIMB_GAP_MM = 60.0  # one mirrored limb structure alone: its sides this far apart at least (not two heads)
LIMB_SLUGS = ("upper-limb", "lower-limb")  # a limb's structure never crosses the midline


@dataclass
class Piece:
    """One connected piece: where it lies (RAS mm) and its size (voxels, or mm² of surface)."""

    centroid: np.ndarray
    size: float
    low_x: float
    high_x: float


@dataclass
class SideSplit:
    """What the split did, for the commands' reports and the study's log."""

    midline_x: float | None = None
    basis: str = ""
    two_sides: bool = False
    lines: list[str] = field(default_factory=list)  # one per split structure, then the summary
    origins: dict[str, str] = field(default_factory=dict)  # new key → the label or node it came from
    inverted: int = 0  # closed mesh pieces turned outward
    # Label volumes: label value → the voxel counts of its connected pieces, where the split
    # labelled them (an unsided label, or a side of one that no cut changed): the study reuses them.
    pieces: dict[int, list[int]] = field(default_factory=dict)

    def report(self) -> list[str]:
        return list(self.lines)


# ---------------------------------------------------------------------------------------------
# The decision, whatever the source kind


def _weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    order = np.argsort(values)
    cumulative = np.cumsum(weights[order])
    return float(values[order][min(int(np.searchsorted(cumulative, cumulative[-1] * q)), len(values) - 1)])


def _parts(pieces: list[Piece], midline: float) -> dict[str, tuple[float, np.ndarray]] | None:
    """Size and centroid of the pieces on each side of ``midline`` (None: not on both sides)."""
    found: dict[str, tuple[float, np.ndarray]] = {}
    for side, chosen in (("left", [p for p in pieces if p.high_x < midline]),
                         ("right", [p for p in pieces if p.low_x >= midline])):  # fmt: skip
        size = sum(p.size for p in chosen)
        if size <= 0:
            return None
        found[side] = (size, sum(p.centroid * p.size for p in chosen) / size)
    return found


def _mirrored(pieces: list[Piece], midline: float) -> tuple[float, float] | None:
    """The midpoint of a structure's left and right parts and their distance, when they mirror
    each other."""
    parts = _parts(pieces, midline)
    if parts is None:
        return None
    (size_l, left), (size_r, right) = parts["left"], parts["right"]
    distance = float(right[0] - left[0])
    if distance <= 0 or max(size_l, size_r) > MIRROR_SIZE_RATIO * min(size_l, size_r):
        return None
    if float(np.linalg.norm(right[1:] - left[1:])) > MIRROR_OFFSET * distance:
        return None
    return float(left[0] + right[0]) / 2, distance


def find_midline(
    pieces: dict[str, list[Piece]], limbs: set[str], labelled_pairs: list[tuple[np.ndarray, np.ndarray]],
) -> tuple[float | None, str]:  # fmt: skip
    """The sagittal plane x = m the data are mirrored about, and how it was found; None when too
    few structures are mirrored (one side imaged). ``limbs``: the keys of limb structures."""
    found = {key: p for key, p in pieces.items() if p}
    every = [p for items in found.values() for p in items]
    midpoints = [float(left[0] + right[0]) / 2 for left, right in labelled_pairs]
    mirrored: list[float] = []
    if every:
        xs, sizes = np.array([p.centroid[0] for p in every]), np.array([p.size for p in every])
        # First guess: halfway between the outer parts of the data (a size-weighted median would
        # fall inside the larger of two legs).
        guess = (_weighted_quantile(xs, sizes, 0.05) + _weighted_quantile(xs, sizes, 0.95)) / 2
        pairs = {key: m for key, items in found.items() if (m := _mirrored(items, guess)) is not None}
        both = sum(1 for items in found.values() if _parts(items, guess) is not None)
        # Two legs mirror most structures with parts on both sides; one leg may mirror one by
        # chance (two heads in one label), not most.
        alone = len(pairs) == 1 and all(key in limbs and distance < LIMB_GAP_MM for key, (_, distance) in pairs.items())
        if len(pairs) >= MIRRORED_SHARE * both and not alone:
            mirrored = [midpoint for midpoint, _ in pairs.values()]
    midpoints += mirrored
    if not midpoints:
        return None, (f"{len(found)} structure{'s' if len(found) != 1 else ''} without a side, too few of them "
                      "mirrored about one plane: the data hold one side of the body")  # fmt: skip
    count = len(midpoints)
    return float(np.median(midpoints)), f"midway between the sides of {count} structure{'s' if count != 1 else ''}"


def _is_limb(match: MatchResult) -> bool:
    if match.code is None:
        return False
    structure = load_tree().by_code.get(match.code)
    return structure is not None and structure.limb.slug in LIMB_SLUGS


def assign(pieces: list[Piece], shares_left: list[float], limb: bool) -> list[str] | None:
    """Each piece's side (``left``, ``right``, or ``cut`` at the midline); None: the structure
    is one unsided structure across the midline."""
    sides = []
    for share in shares_left:
        if share >= 1 - STRADDLE_SHARE:
            sides.append("left")
        elif share <= STRADDLE_SHARE:
            sides.append("right")
        else:
            sides.append("cut")
    if not limb and set(sides) == {"cut"}:
        return None
    return sides


# ---------------------------------------------------------------------------------------------
# Label volumes


class _VolumePieces:
    """Connected pieces of labels (face connectivity), each label cropped to its box first."""

    def __init__(self, volume: LabelVolume, values: list[int]) -> None:
        self.volume = volume
        wanted = set(values)
        self.boxes = {v: box for v, box in volume.label_boxes().items() if v in wanted}
        self.components: dict[int, tuple[np.ndarray, int]] = {}
        self.sizes: dict[int, np.ndarray] = {}  # label → its pieces' voxel counts
        self.piece_boxes: dict[int, list[tuple[slice, ...]]] = {}  # label → its pieces' index boxes in the grid

    def _world(self, index: np.ndarray) -> np.ndarray:
        return index @ self.volume.affine[:3, :3].T + self.volume.affine[:3, 3]

    def _x_range(self, box: tuple[slice, ...]) -> tuple[float, float]:
        corners = np.array([[a, b, c] for a in (box[0].start, box[0].stop - 1) for b in (box[1].start, box[1].stop - 1)
                            for c in (box[2].start, box[2].stop - 1)], dtype=float)  # fmt: skip
        xs = self._world(corners)[:, 0]
        return float(xs.min()), float(xs.max())

    def pieces(self, value: int) -> list[Piece]:
        from scipy import ndimage

        box = self.boxes.get(value)
        if box is None:
            return []
        mask = self.volume.data[box] == value
        components, count = ndimage.label(mask)
        self.components[value] = (components, count)
        # Centres from one pass over the label's voxels: sums of integer indices are exact in
        # float64, so these are ndimage.center_of_mass's values, without its pass per axis.
        where = np.nonzero(components)
        of = components[where]
        sizes = self.sizes[value] = np.bincount(of, minlength=count + 1)[1:]
        origin = np.array([s.start for s in box], dtype=float)
        sums = [np.bincount(of, weights=w, minlength=count + 1)[1:] for w in where]
        centres = np.stack(sums, axis=1) / sizes[:, None] + origin
        found, boxes = [], []
        for size, centre, sub in zip(sizes, self._world(centres), ndimage.find_objects(components), strict=True):
            shifted = tuple(slice(s.start + int(o), s.stop + int(o)) for s, o in zip(sub, origin, strict=True))
            found.append(Piece(centre, float(size), *self._x_range(shifted)))
            boxes.append(shifted)
        self.piece_boxes[value] = boxes
        return found

    def _xs(self, value: int, k: int) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
        components, _ = self.components[value]
        where = np.nonzero(components == k + 1)
        origin = np.array([s.start for s in self.boxes[value]])
        return where, self._world(np.stack(where, axis=1) + origin)[:, 0]

    def share_left(self, value: int, k: int, piece: Piece, midline: float) -> float:
        if piece.high_x < midline:
            return 1.0
        if piece.low_x >= midline:
            return 0.0
        return float((self._xs(value, k)[1] < midline).mean())

    def relabel(
        self, out: np.ndarray, value: int, sides: list[str], midline: float, new: dict[str, int]
    ) -> tuple[dict[str, int], dict[str, list[tuple[slice, ...]]]]:  # fmt: skip
        """Write the sides' new values into ``out`` (every voxel of the label gets one); voxel
        counts per side, and the index boxes whose union is each side's bounding box."""
        components, count = self.components[value]
        target = out[self.boxes[value]]  # a view: writes go to ``out``
        sizes = self.sizes[value]
        lookup = np.zeros(count + 1, dtype=out.dtype)  # component → its side's new value (0: cut or none)
        counts = dict.fromkeys(SIDES, 0)
        boxes: dict[str, list[tuple[slice, ...]]] = {side: [] for side in SIDES}
        for k, side in enumerate(sides):
            if side in SIDES:
                lookup[k + 1] = new[side]
                counts[side] += int(sizes[k])
                boxes[side].append(self.piece_boxes[value][k])
        values = lookup[components]
        np.copyto(target, values, where=values > 0)
        origin = [s.start for s in self.boxes[value]]
        for k in (k for k, side in enumerate(sides) if side == "cut"):
            where, xs = self._xs(value, k)
            for name, keep in (("left", xs < midline), ("right", xs >= midline)):
                kept = tuple(w[keep] for w in where)
                target[kept] = new[name]
                counts[name] += int(keep.sum())
                if keep.any():  # the box of the voxels given this side
                    ends = [(int(w.min()) + o, int(w.max()) + 1 + o) for w, o in zip(kept, origin, strict=True)]
                    boxes[name].append(tuple(slice(*e) for e in ends))
        return counts, boxes


def _split_volume(volume: LabelVolume, matches: list[MatchResult], split: SideSplit) -> list[MatchResult]:
    candidates = {int(m.key): m for m in matches if _unsided_muscle(m) and m.key.lstrip("-").isdigit() and int(m.key) > 0}
    backend = _VolumePieces(volume, sorted(candidates) + _sided_values(matches))
    pieces = {str(v): backend.pieces(v) for v in candidates}
    split.pieces = {v: backend.sizes[v].tolist() for v in candidates if v in backend.sizes}
    labelled = _labelled_pairs(matches, lambda m: _volume_centroid(backend, int(m.key)))
    limbs = {str(v) for v, m in candidates.items() if _is_limb(m)}
    split.midline_x, split.basis = find_midline(pieces, limbs, labelled)
    if split.midline_x is None:
        return matches
    midline = split.midline_x
    split.two_sides = True
    out: np.ndarray | None = None
    next_value = max([*backend.boxes, *volume.label_counts()], default=0) + 1
    moved: dict[int, dict[int, tuple[int, list]]] = {}  # label → its new values' voxel counts and boxes
    result: list[MatchResult] = []
    for match in matches:
        found = pieces.get(match.key, [])
        if not found:
            result.append(match)
            continue
        value = int(match.key)
        sides = assign(found, [backend.share_left(value, k, p, midline) for k, p in enumerate(found)], match.key in limbs)
        if sides is None:
            split.lines.append(f"{_label(match)}: {_count(found)} across the midline, kept as one unsided structure")
            result.append(match)
            continue
        present = [s for s in SIDES if s in sides or "cut" in sides]
        if out is None:
            largest = next_value + 2 * len(candidates)
            wider = np.int32 if largest < 2**31 else np.int64
            dtype = volume.data.dtype if np.can_cast(np.min_scalar_type(largest), volume.data.dtype) else wider
            out = volume.data.astype(dtype, copy=True)
        new = {}
        for side in present:
            new[side] = next_value
            next_value += 1
        counts, boxes = backend.relabel(out, value, sides, midline, new)
        moved[value] = {new[side]: (counts[side], boxes[side]) for side in present if counts[side]}
        split.pieces.pop(value, None)
        if "cut" not in sides:  # whole pieces: a side's pieces are the label's on that side
            for side in present:
                split.pieces[new[side]] = [int(n) for n, s in zip(backend.sizes[value], sides, strict=True) if s == side]
        for side in present:
            if counts[side]:
                result.append(_sided(match, str(new[side]), side, split))
        split.lines.append(_split_line(match, found, sides, [s for s in SIDES if counts[s]], counts))
    if out is not None:
        volume.replace_data(out, moved)
    return result


def _volume_centroid(backend: _VolumePieces, value: int) -> np.ndarray | None:
    box = backend.boxes.get(value)
    if box is None:
        return None
    index = np.argwhere(backend.volume.data[box] == value) + [s.start for s in box]
    return backend._world(index.mean(axis=0))


def _sided_values(matches: list[MatchResult]) -> list[int]:
    return [int(m.key) for m in matches if m.status == "matched" and m.side in SIDES and m.key.lstrip("-").isdigit()
            and int(m.key) > 0]  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Meshes (mesh files and glTF nodes)


def turn_outward(mesh: trimesh.Trimesh) -> tuple[list[trimesh.Trimesh], int]:
    """The mesh's connected pieces, each closed one wound outward; and how many were inverted.
    (trimesh's ``fix_inversion(multibody=True)`` does the same in place but does not say how
    many pieces it turned, which the report needs.)"""
    pieces = mesh.split(only_watertight=False)
    inverted = 0
    for piece in pieces:
        # A closed piece of no volume (two triangles back to back) divides by zero in trimesh's
        # centre of mass, computed with the volume: nothing to turn, and nothing to warn about.
        with np.errstate(divide="ignore", invalid="ignore"):
            if piece.is_watertight and piece.is_winding_consistent and piece.volume < 0:
                piece.invert()
                inverted += 1
    return list(pieces), inverted


def _mesh_piece(piece: trimesh.Trimesh) -> Piece:
    weights = piece.area_faces
    total = float(weights.sum())
    centre = (piece.triangles_center * weights[:, None]).sum(axis=0) / max(total, 1e-12)
    xs = np.asarray(piece.vertices)[:, 0]
    return Piece(centre, max(total, 1e-12), float(xs.min()), float(xs.max()))


def _share_left(piece: trimesh.Trimesh, info: Piece, midline: float) -> float:
    if info.high_x < midline:
        return 1.0
    if info.low_x >= midline:
        return 0.0
    weights = piece.area_faces
    return float(weights[piece.triangles_center[:, 0] < midline].sum() / max(float(weights.sum()), 1e-12))


def _cut(piece: trimesh.Trimesh, midline: float) -> dict[str, trimesh.Trimesh]:
    """The two halves of a piece lying across the midline (closed pieces stay closed: capped)."""
    from trimesh.intersections import slice_mesh_plane

    cap = bool(piece.is_watertight)
    halves = {}
    for side, normal in (("left", (-1.0, 0, 0)), ("right", (1.0, 0, 0))):
        half = slice_mesh_plane(piece, plane_normal=normal, plane_origin=(midline, 0, 0), cap=cap)
        if half is not None and len(half.faces):
            halves[side] = half
    return halves


def _split_meshes(source: Source, matches: list[MatchResult], split: SideSplit) -> list[MatchResult]:
    import trimesh

    by_name = {m.key: m for m in matches}
    pieces: dict[str, list[trimesh.Trimesh]] = {}
    for item in source.meshes:
        found, inverted = turn_outward(item.mesh)
        split.inverted += inverted
        if inverted:
            item.mesh = trimesh.util.concatenate(found)
        match = by_name.get(item.name)
        if match is not None and _unsided_muscle(match):
            pieces[item.name] = found
    infos = {name: [_mesh_piece(p) for p in found] for name, found in pieces.items()}
    centroids = {item.name: _mesh_piece(item.mesh).centroid for item in source.meshes if len(item.mesh.faces)}
    labelled = _labelled_pairs(matches, lambda m: centroids.get(m.key))
    limbs = {m.key for m in matches if m.key in infos and _is_limb(m)}
    split.midline_x, split.basis = find_midline(infos, limbs, labelled)
    if split.midline_x is None:
        return matches
    midline = split.midline_x
    split.two_sides = True
    meshes = {item.name: item for item in source.meshes}
    result: list[MatchResult] = []
    replaced: dict[str, list[MeshFile]] = {}
    for match in matches:
        found = pieces.get(match.key)
        if not found:
            result.append(match)
            continue
        info = infos[match.key]
        sides = assign(info, [_share_left(p, i, midline) for p, i in zip(found, info, strict=True)], match.key in limbs)
        if sides is None:
            split.lines.append(f"{_label(match)}: {_count(info)} across the midline, kept as one unsided structure")
            result.append(match)
            continue
        parts: dict[str, list[trimesh.Trimesh]] = {s: [] for s in SIDES}
        for piece, side in zip(found, sides, strict=True):
            if side == "cut":
                for name, half in _cut(piece, midline).items():
                    parts[name].append(half)
            else:
                parts[side].append(piece)
        original = meshes[match.key]
        replaced[match.key] = []
        for side in SIDES:
            if parts[side]:
                key = f"{match.key}:{side}"
                mesh = parts[side][0] if len(parts[side]) == 1 else trimesh.util.concatenate(parts[side])
                replaced[match.key].append(replace(original, name=key, mesh=mesh))
                result.append(_sided(match, key, side, split))
        split.lines.append(_split_line(match, info, sides, [s for s in SIDES if parts[s]]))
    source.meshes = [m for item in source.meshes for m in replaced.get(item.name, [item])]
    return result


# ---------------------------------------------------------------------------------------------
# The step


def split_sides(source: Source, matches: list[MatchResult]) -> tuple[list[MatchResult], SideSplit]:
    """Split every unsided structure of ``source`` (already in RAS+) that lies on both sides of
    the body; returns the new matches (split ones replaced by a left and a right one) and what
    was done. ``source`` is changed in memory only."""
    split = SideSplit()
    if source.volume is not None:
        result = _split_volume(source.volume, matches, split)
    else:
        result = _split_meshes(source, matches, split)
    if split.inverted:
        split.lines.append(f"sides: {split.inverted} closed piece{'s' if split.inverted != 1 else ''} wound inward "
                           "(mirrored copies) turned outward before measuring")  # fmt: skip
    count = sum(1 for line in split.lines if "→" in line)
    if any(_unsided_muscle(m) for m in matches):
        if split.midline_x is not None:
            split.lines.append(f"sides: midline x = {split.midline_x:.1f} mm ({split.basis}); "
                               f"{count} structure{'s' if count != 1 else ''} given a side by position")  # fmt: skip
        else:
            split.lines.append(f"sides: nothing split by position ({split.basis})")
    return result, split


def _unsided_muscle(match: MatchResult) -> bool:
    """A structure of the tree whose side no name or mapping gives: its pieces tell."""
    return match.status == "matched" and match.side is None and match.code is not None


def _labelled_pairs(matches: list[MatchResult], centroid) -> list[tuple[np.ndarray, np.ndarray]]:
    """Centroids of the structures labelled both left and right (their midpoints mark the midline)."""
    by_path: dict[str, dict[str, list[np.ndarray]]] = {}
    for m in matches:
        if m.status == "matched" and m.side in SIDES and m.path:
            c = centroid(m)
            if c is not None:
                by_path.setdefault(m.path, {}).setdefault(m.side, []).append(np.asarray(c, dtype=float))
    return [(np.mean(s["left"], axis=0), np.mean(s["right"], axis=0)) for s in by_path.values() if len(s) == 2]


def _sided(match: MatchResult, key: str, side: str, split: SideSplit) -> MatchResult:
    split.origins[key] = match.key
    return replace(match, key=key, side=side, origin=match.key, candidates=[],
                   note="side by position")  # fmt: skip


def _label(match: MatchResult) -> str:
    return f"{match.structure or match.name} (label {match.key})" if match.key.isdigit() else (match.structure or match.name)


def _count(pieces: list[Piece]) -> str:
    return f"{len(pieces)} piece{'s' if len(pieces) != 1 else ''}"


def _split_line(
    match: MatchResult, pieces: list[Piece], sides: list[str], present: list[str], voxels: dict[str, int] | None = None,
) -> str:  # fmt: skip
    cut = sides.count("cut")
    parts = [f"{side} ({voxels[side]} voxels)" if voxels else side for side in present]
    text = f"{_label(match)}: {_count(pieces)} → {', '.join(parts)}"
    return text + (f" ({cut} across the midline cut there)" if cut else "")
