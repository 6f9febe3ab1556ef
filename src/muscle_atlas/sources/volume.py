"""Labelled NIfTI volumes: 3D integer labels, or 4D one-hot stacks (Muscle-BIDS).

Coordinates are world millimetres in RAS+, from the image affine (nibabel chooses sform or
qform as the NIfTI standard says), whatever the storage orientation.
"""

from __future__ import annotations

import gzip
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import nibabel as nib
import numpy as np

from muscle_atlas.errors import SourceError

NIFTI_SUFFIXES = (".nii", ".nii.gz")


def is_nifti_path(path: Path) -> bool:
    return path.name.lower().endswith(NIFTI_SUFFIXES)


@dataclass
class LabelVolume:
    """A 3D integer label array with its voxel → world (RAS+, mm) affine."""

    path: Path
    data: np.ndarray
    affine: np.ndarray
    one_hot: bool = False
    warnings: list[str] = field(default_factory=list)

    @property
    def voxel_volume_mm3(self) -> float:
        return float(abs(np.linalg.det(self.affine[:3, :3])))

    @property
    def voxel_size_mm(self) -> tuple[float, float, float]:
        sizes = np.sqrt((self.affine[:3, :3] ** 2).sum(axis=0))
        return (float(sizes[0]), float(sizes[1]), float(sizes[2]))

    def label_counts(self) -> dict[int, int]:
        """Voxel count of every non-zero label."""
        flat = self.data.ravel()
        if flat.size and flat.min() >= 0:
            counts = np.bincount(flat)
            values = np.nonzero(counts)[0]
            return {int(v): int(counts[v]) for v in values if v != 0}
        values, counts = np.unique(flat, return_counts=True)
        return {int(v): int(c) for v, c in zip(values, counts, strict=True) if v != 0}

    def world_bounds(self, index_slices: tuple[slice, ...]) -> tuple[np.ndarray, np.ndarray]:
        """World (RAS mm) bounding box of a block of voxels, voxel edges included."""
        lo = np.array([s.start for s in index_slices], dtype=float) - 0.5
        hi = np.array([s.stop for s in index_slices], dtype=float) - 0.5
        corners = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])
        world = nib.affines.apply_affine(self.affine, corners)
        return world.min(axis=0), world.max(axis=0)


def read_volume(path: str | Path) -> LabelVolume:
    """Read a label volume; every problem a user can cause ends in a :class:`SourceError`."""
    path = Path(path)
    if not path.exists():
        raise SourceError("no such file", path)
    if path.is_dir():
        raise SourceError("is a folder, expected a NIfTI file", path)
    if not is_nifti_path(path):
        raise SourceError("not a NIfTI file (expected .nii or .nii.gz)", path)
    try:
        image = nib.load(path)
        if not isinstance(image, nib.Nifti1Image | nib.Nifti2Image):
            raise SourceError(f"not a NIfTI image ({type(image).__name__})", path)
        raw = np.asanyarray(image.dataobj)
    except SourceError:
        raise
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise SourceError(f"truncated or corrupt file ({exc})", path) from exc
    except nib.filebasedimages.ImageFileError as exc:
        if _gzip_is_truncated(path):
            raise SourceError("truncated or corrupt file (the gzip stream ends early)", path) from exc
        raise SourceError("not a NIfTI file (no valid header)", path) from exc
    except (OSError, ValueError) as exc:
        raise SourceError(f"cannot read NIfTI data ({exc})", path) from exc
    affine = image.affine
    if affine is None or not np.all(np.isfinite(affine)) or abs(np.linalg.det(affine[:3, :3])) == 0:
        raise SourceError("the image affine is missing or singular", path)

    # A trailing singleton axis (X, Y, Z, 1) is a 3D volume.
    while raw.ndim > 3 and raw.shape[-1] == 1:
        raw = raw[..., 0]
    if raw.ndim < 3:
        raise SourceError(f"a {raw.ndim}D image; expected a 3D label volume or a 4D one-hot stack", path)
    if raw.ndim > 4:
        raise SourceError(f"a {raw.ndim}D image; expected 3D labels or a 4D one-hot stack", path)

    data = _as_integer_labels(raw, path)
    if data.min() < 0 and np.unique(data).size > 255:
        raise SourceError(
            "negative values and hundreds of distinct values: this looks like an image (CT or MRI), not a segmentation",
            path,
        )
    volume = LabelVolume(path=path, data=data, affine=np.asarray(affine, dtype=float))
    if data.ndim == 4:
        _collapse_one_hot(volume)
    return volume


def _gzip_is_truncated(path: Path) -> bool:
    if not path.name.lower().endswith(".gz"):
        return False
    try:
        with gzip.open(path, "rb") as stream:
            while stream.read(1 << 20):
                pass
    except (EOFError, zlib.error, gzip.BadGzipFile, OSError):
        return True
    return False


def _as_integer_labels(raw: np.ndarray, path: Path) -> np.ndarray:
    if np.issubdtype(raw.dtype, np.integer) or raw.dtype == bool:
        return raw.astype(np.int32, copy=False)
    if not np.issubdtype(raw.dtype, np.floating):
        raise SourceError(f"unsupported voxel type {raw.dtype}", path)
    if not np.all(np.isfinite(raw)):
        raise SourceError("label volume contains NaN or infinite values", path)
    rounded = np.rint(raw)
    bad = np.abs(raw - rounded) > 1e-3
    if bad.any():
        example = float(raw[bad].flat[0])
        raise SourceError(
            f"non-integer label values (e.g. {example:g} at {int(bad.sum())} voxels): "
            "this looks like an image, not a segmentation",
            path,
        )
    return rounded.astype(np.int32)


def _collapse_one_hot(volume: LabelVolume) -> None:
    """4D (X, Y, Z, N) binary stack → 3D labels 1..N; voxels claimed twice take the first."""
    stack = volume.data
    if stack.min() < 0 or stack.max() > 1:
        raise SourceError(
            "4D image is not a one-hot stack (values other than 0 and 1); "
            "4D label volumes must hold one binary volume per label",
            volume.path,
        )
    mask = stack.astype(bool)
    claimed = mask.sum(axis=3)
    overlap = int((claimed > 1).sum())
    labels = np.where(claimed > 0, mask.argmax(axis=3) + 1, 0).astype(np.int32)
    volume.data = labels
    volume.one_hot = True
    if overlap:
        volume.warnings.append(f"{overlap} voxels belong to more than one label; the first is kept")
