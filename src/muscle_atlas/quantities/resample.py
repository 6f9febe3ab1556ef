"""Labels onto a map's grid, by nearest neighbour through the two affines.

A map voxel takes the label of the label voxel its centre falls in: map voxel → world → label
voxel, rounded (ties upwards, as scipy's order-0 interpolation does). Grids whose axes are
parallel (the usual case, whatever the voxel sizes and axis order) are resampled axis by axis;
oblique grids slice by slice. Only the block of the map that can hold labels is computed.
"""

from __future__ import annotations

import numpy as np

# Coordinates within this many voxels below a half-voxel tie still round up: the two affines'
# float products must not decide ties (e.g. 1.5 mm voxels in 3 mm ones).
TIE_TOLERANCE = 1e-4

Box = tuple[slice, slice, slice]


def voxel_to_voxel(source_affine: np.ndarray, target_affine: np.ndarray) -> np.ndarray:
    """4×4 matrix: source voxel indices → (fractional) target voxel indices."""
    return np.linalg.inv(target_affine) @ source_affine


def nearest_index(coordinates: np.ndarray) -> np.ndarray:
    return np.floor(coordinates + (0.5 + TIE_TOLERANCE)).astype(np.int64)


def axis_permutation(matrix: np.ndarray) -> tuple[int, int, int] | None:
    """For a 3×3 matrix with exactly one non-zero per row and column (parallel axes, maybe
    permuted and flipped): row axis a → the column axis it depends on. Otherwise None."""
    m = np.abs(np.asarray(matrix, dtype=float)[:3, :3])
    big = m > 1e-9 * m.max()
    if not (big.sum(axis=0) == 1).all() or not (big.sum(axis=1) == 1).all():
        return None
    perm = tuple(int(np.flatnonzero(big[a])[0]) for a in range(3))
    return perm  # type: ignore[return-value]


def bounding_box(
    box: Box, source_affine: np.ndarray, target_affine: np.ndarray, target_shape: tuple[int, ...], margin: int = 1
) -> Box | None:
    """The block of the target grid that holds a block of the source grid (voxel edges
    included, ``margin`` voxels added); None if they do not meet."""
    lo = np.array([s.start for s in box], dtype=float) - 0.5
    hi = np.array([s.stop for s in box], dtype=float) - 0.5
    corners = np.array([[x, y, z, 1.0] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])
    mapped = (voxel_to_voxel(source_affine, target_affine) @ corners.T)[:3]
    start = np.floor(mapped.min(axis=1)).astype(int) - margin
    stop = np.ceil(mapped.max(axis=1)).astype(int) + 1 + margin
    start = np.maximum(start, 0)
    stop = np.minimum(stop, np.asarray(target_shape[:3]))
    if (stop <= start).any():
        return None
    return (slice(int(start[0]), int(stop[0])), slice(int(start[1]), int(stop[1])), slice(int(start[2]), int(stop[2])))


def resample_labels(labels: np.ndarray, label_affine: np.ndarray, map_affine: np.ndarray, box: Box) -> np.ndarray:
    """The labels at the centres of the map voxels in ``box`` (0 outside the label volume)."""
    shape = tuple(s.stop - s.start for s in box)
    to_label = voxel_to_voxel(map_affine, label_affine)
    perm = axis_permutation(to_label[:3, :3])
    if perm is not None:
        index = []
        valid = []
        for a in range(3):
            p = perm[a]
            along = np.arange(box[p].start, box[p].stop, dtype=float)
            target = nearest_index(to_label[a, p] * along + to_label[a, 3])
            ok = (target >= 0) & (target < labels.shape[a])
            index.append(np.clip(target, 0, labels.shape[a] - 1))
            valid.append(ok)
        # out[i0, i1, i2] in label-axis order, then to map-axis order.
        out = labels[np.ix_(index[0], index[1], index[2])]
        for a in range(3):
            if not valid[a].all():
                cut = [slice(None)] * 3
                cut[a] = ~valid[a]  # type: ignore[call-overload]
                out[tuple(cut)] = 0
        inverse = np.argsort(perm)  # map axis p is label axis inverse[p]
        return np.ascontiguousarray(np.transpose(out, tuple(int(i) for i in inverse)))
    out = np.zeros(shape, dtype=labels.dtype)
    i, j = np.meshgrid(
        np.arange(box[0].start, box[0].stop, dtype=float), np.arange(box[1].start, box[1].stop, dtype=float), indexing="ij"
    )
    plane = to_label[:3, 0, None] * i.ravel() + to_label[:3, 1, None] * j.ravel() + to_label[:3, 3, None]
    limits = np.asarray(labels.shape)[:, None]
    for n, k in enumerate(range(box[2].start, box[2].stop)):
        target = nearest_index(plane + to_label[:3, 2, None] * k)
        ok = ((target >= 0) & (target < limits)).all(axis=0)
        if not ok.any():
            continue
        values = np.zeros(ok.shape, dtype=labels.dtype)
        values[ok] = labels[target[0, ok], target[1, ok], target[2, ok]]
        out[:, :, n] = values.reshape(shape[:2])
    return out


def counts_inside(
    ids: np.ndarray, box: Box, label_affine: np.ndarray, map_affine: np.ndarray, map_shape: tuple[int, ...], n_ids: int
) -> np.ndarray:
    """Per id (1..n_ids; index 0 is not counted), the label voxels in ``box`` whose centres lie
    in the map's field of view."""
    to_map = voxel_to_voxel(label_affine, map_affine)
    lo = np.full(3, -0.5)
    hi = np.asarray(map_shape[:3], dtype=float) - 0.5
    perm = axis_permutation(to_map[:3, :3])
    if perm is not None:
        # The field of view is a block of label voxels: along label axis q = perm[b], the
        # indices whose map coordinate b lies in [lo, hi).
        ranges = [np.arange(s.start, s.stop) for s in box]
        keep: list[np.ndarray] = [np.ones(r.size, dtype=bool) for r in ranges]
        for b in range(3):
            q = perm[b]
            coordinate = to_map[b, q] * ranges[q] + to_map[b, 3]
            keep[q] &= (coordinate >= lo[b]) & (coordinate < hi[b])
        if not all(k.any() for k in keep):
            return np.zeros(n_ids + 1, dtype=np.int64)
        block = ids[box][np.ix_(*keep)]
        counts = np.bincount(block.ravel(), minlength=n_ids + 1)[: n_ids + 1]
        counts[0] = 0
        return counts
    counts = np.zeros(n_ids + 1, dtype=np.int64)
    i, j = np.meshgrid(
        np.arange(box[0].start, box[0].stop, dtype=float), np.arange(box[1].start, box[1].stop, dtype=float), indexing="ij"
    )
    plane = to_map[:3, 0, None] * i.ravel() + to_map[:3, 1, None] * j.ravel() + to_map[:3, 3, None]
    for k in range(box[2].start, box[2].stop):
        layer = ids[box[0], box[1], k].ravel()
        present = layer > 0
        if not present.any():
            continue
        coordinate = plane[:, present] + to_map[:3, 2, None] * k
        inside = ((coordinate >= lo[:, None]) & (coordinate < hi[:, None])).all(axis=0)
        counts += np.bincount(layer[present][inside], minlength=n_ids + 1)[: n_ids + 1]
    return counts
