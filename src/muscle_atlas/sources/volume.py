"""Labelled NIfTI volumes: 3D integer labels, or 4D one-hot stacks (Muscle-BIDS).

Coordinates are world millimetres in RAS+, from the image affine (nibabel chooses sform or
qform as the NIfTI standard says), whatever the storage orientation.
"""

from __future__ import annotations

import gzip
import logging
import math
import struct
import warnings
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import nibabel as nib
import numpy as np

from muscle_atlas.errors import AtlasError, SourceError, one_line
from muscle_atlas.suffixes import is_nifti_name

MAX_VOXELS = 2**31 - 1  # more than any label volume; int32 arrays and indices stay safe
MAX_LABELS = 10_000  # distinct non-zero values; more is an image, not a segmentation
GZIP_MAX_RATIO = 1032  # deflate never expands more than this: bounds what a .gz can hold
_INT32 = np.iinfo(np.int32)
_COUNT_BLOCK = 1 << 18  # voxels counted at a time (bincount casts each block to intp)


def is_nifti_path(path: Path) -> bool:
    return is_nifti_name(path.name)


@dataclass
class LabelVolume:
    """A 3D integer label array with its voxel → world (RAS+, mm) affine."""

    path: Path
    data: np.ndarray
    affine: np.ndarray
    one_hot: bool = False
    warnings: list[str] = field(default_factory=list)
    # label_counts and label_boxes of the array they were computed from (``data`` may be replaced,
    # by the side split say; it is never changed in place): each is one or two passes over the grid.
    _counts: tuple[np.ndarray, dict[int, int]] | None = field(default=None, init=False, repr=False, compare=False)
    _boxes: tuple[np.ndarray, dict[int, tuple[slice, ...]]] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    @property
    def voxel_volume_mm3(self) -> float:
        return float(abs(np.linalg.det(self.affine[:3, :3])))

    @property
    def voxel_size_mm(self) -> tuple[float, float, float]:
        sizes = np.sqrt((self.affine[:3, :3] ** 2).sum(axis=0))
        return (float(sizes[0]), float(sizes[1]), float(sizes[2]))

    def label_counts(self) -> dict[int, int]:
        """Voxel count of every non-zero label (counted within the labelled box)."""
        if self._counts is None or self._counts[0] is not self.data:
            self._counts = (self.data, self._count_labels())
        return dict(self._counts[1])

    def _count_labels(self) -> dict[int, int]:
        box = labelled_box(self.data)
        if box is None:
            return {}
        block = self.data[box]
        flat = block.ravel(order="K")  # no copy of a Fortran-ordered (NIfTI) array
        # bincount allocates one counter per value up to the largest: only for small values. It
        # casts to intp: labels are counted a block at a time (no 8-byte copy of the whole grid).
        if block.dtype.kind in "biu" and flat.min() >= 0 and (top := int(flat.max())) <= max(1 << 16, flat.size):
            counts = np.zeros(top + 1, np.int64)
            for start in range(0, flat.size, _COUNT_BLOCK):
                counts += np.bincount(flat[start : start + _COUNT_BLOCK], minlength=top + 1)
            return {int(v): int(counts[v]) for v in np.nonzero(counts)[0] if v != 0}
        values, counts = np.unique(flat, return_counts=True)
        return {int(v): int(c) for v, c in zip(values, counts, strict=True) if v != 0}

    def label_boxes(self) -> dict[int, tuple[slice, ...]]:
        """Index bounding box of every positive label (see :func:`label_boxes`)."""
        if self._boxes is None or self._boxes[0] is not self.data:
            self._boxes = (self.data, label_boxes(self.data, [v for v in self.label_counts() if v > 0]))
        return dict(self._boxes[1])

    def replace_data(self, data: np.ndarray, moved: dict[int, dict[int, tuple[int, list[tuple[slice, ...]]]]]) -> None:
        """``data`` in place of the array: the array with every voxel of each label of ``moved``
        given a new value; ``moved``: label → new value → (its voxel count, index boxes whose union
        is its box). The side split knows these (it moved whole pieces whose sizes and boxes it had
        found), so the new array's label counts and boxes are not counted again over the grid."""
        counts, boxes = self.label_counts(), self.label_boxes()  # of the array being replaced
        for old, new in moved.items():
            counts.pop(old, None)
            boxes.pop(old, None)
            for value, (count, parts) in new.items():
                counts[value] = count
                boxes[value] = tuple(slice(min(b[a].start for b in parts), max(b[a].stop for b in parts))
                                     for a in range(data.ndim))  # fmt: skip
        self.data = data
        self._counts, self._boxes = (data, counts), (data, boxes)

    def world_bounds(self, index_slices: tuple[slice, ...]) -> tuple[np.ndarray, np.ndarray]:
        """World (RAS mm) bounding box of a block of voxels, voxel edges included."""
        lo = np.array([s.start for s in index_slices], dtype=float) - 0.5
        hi = np.array([s.stop for s in index_slices], dtype=float) - 0.5
        corners = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])
        world = nib.affines.apply_affine(self.affine, corners)
        return world.min(axis=0), world.max(axis=0)


def labelled_box(data: np.ndarray) -> tuple[slice, ...] | None:
    """The index box of every non-zero voxel (None when there is none): a few cheap passes that
    let the per-label work run on the labelled part of the grid only."""
    nonzero = data != 0
    box = []
    for axis in range(data.ndim):
        along = np.flatnonzero(nonzero.any(axis=tuple(a for a in range(data.ndim) if a != axis)))
        if along.size == 0:
            return None
        box.append(slice(int(along[0]), int(along[-1]) + 1))
    return tuple(box)


def label_boxes(data: np.ndarray, values: list[int] | None = None) -> dict[int, tuple[slice, ...]]:
    """Index bounding box of every positive label value, for any label values.

    ``scipy.ndimage.find_objects`` on the raw labels allocates a slot per value up to the
    largest: one voxel labelled 2,000,000,000 asks for gigabytes. Labels are numbered 1..N first,
    unless they are small integers (find_objects then reads them as they are: values below 1 or
    above the largest wanted are skipped). Either way only the labelled box of the grid is searched."""
    from scipy import ndimage

    box = labelled_box(data)
    if box is None:
        return {}
    block = data[box]
    if values is None:
        values = [int(v) for v in np.unique(block) if v > 0]
    ordered = np.array(sorted(values), dtype=np.int64)
    if ordered.size == 0:
        return {}
    if block.dtype.kind in "iu" and ordered[-1] <= 1 << 16:
        found = ndimage.find_objects(block, max_label=int(ordered[-1]))
        boxes = [found[v - 1] if v >= 1 else None for v in ordered]
    else:
        position = np.searchsorted(ordered, block)
        inside = position < ordered.size
        present = inside & (ordered[np.minimum(position, ordered.size - 1)] == block)
        boxes = ndimage.find_objects(np.where(present, position + 1, 0).astype(np.int32), max_label=ordered.size)
    origin = [s.start for s in box]
    return {
        int(v): tuple(slice(s.start + o, s.stop + o) for s, o in zip(b, origin, strict=True))
        for v, b in zip(ordered, boxes, strict=True)
        if b is not None
    }


def read_volume(path: str | Path) -> LabelVolume:
    """Read a label volume; every problem a user can cause ends in a :class:`SourceError`."""
    path = Path(path)
    if not path.exists():
        raise SourceError("no such file", path)
    if path.is_dir():
        raise SourceError("is a folder, expected a NIfTI file", path)
    if not is_nifti_path(path):
        raise SourceError("not a NIfTI file (expected .nii or .nii.gz)", path)
    if not path.is_file():
        raise SourceError("not a regular file", path)
    check_nifti_header(path)  # before nibabel allocates what the header claims
    notes: list[str] = []
    try:
        with nibabel_messages(notes):
            image = nib.load(path)
            if not isinstance(image, nib.Nifti1Image | nib.Nifti2Image):
                raise SourceError(f"not a NIfTI image ({type(image).__name__})", path)
            raw = np.asanyarray(image.dataobj)
            affine = image.affine
    except SourceError:
        raise
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise SourceError(f"truncated or corrupt file ({one_line(exc)})", path) from exc
    except nib.filebasedimages.ImageFileError as exc:
        if _gzip_is_truncated(path):
            raise SourceError("truncated or corrupt file (the gzip stream ends early)", path) from exc
        raise SourceError("not a NIfTI file (no valid header)", path) from exc
    except MemoryError as exc:
        raise SourceError("not enough memory to read the voxel data", path) from exc
    except (OSError, ValueError) as exc:
        raise SourceError(f"cannot read NIfTI data ({one_line(exc)})", path) from exc
    except Exception as exc:  # nibabel's header and extension errors on hostile files
        raise SourceError(f"not a valid NIfTI file ({type(exc).__name__}: {one_line(exc)})", path) from exc
    if affine is None or not np.all(np.isfinite(affine)):
        raise SourceError("the image affine is missing or singular", path)
    determinant = np.linalg.det(affine[:3, :3])
    if not np.isfinite(determinant) or determinant == 0:
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
    volume = LabelVolume(path=path, data=data, affine=np.asarray(affine, dtype=float), warnings=notes)
    if data.ndim == 4:
        _collapse_one_hot(volume)
    distinct = len(volume.label_counts())
    if distinct > MAX_LABELS:
        raise SourceError(
            f"{distinct} distinct values: this looks like an image (CT or MRI), not a segmentation "
            f"(at most {MAX_LABELS} labels)",
            path,
        )
    return volume


@contextmanager
def nibabel_messages(notes: list[str]) -> Iterator[None]:
    """nibabel's log lines and warnings about a header it fixes become the volume's warnings
    instead of lines on the terminal."""

    class _Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            notes.append(f"NIfTI header: {one_line(record.getMessage())}")

    logger = logging.getLogger("nibabel.global")
    handlers, propagate = logger.handlers[:], logger.propagate
    collect = _Collect(logging.WARNING)
    logger.handlers, logger.propagate = [collect], False
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield
    finally:
        logger.handlers, logger.propagate = handlers, propagate
    notes.extend(f"NIfTI: {one_line(w.message)}" for w in caught)


def check_nifti_header(path: Path, error: type[AtlasError] = SourceError) -> None:
    """Refuse a header whose claims the file cannot hold, before any voxel is read: a broken or
    hostile header must not make us allocate gigabytes or wait for data that is not there."""
    compressed = path.name.lower().endswith(".gz")
    try:
        with gzip.open(path, "rb") if compressed else path.open("rb") as stream:
            head = stream.read(544)
    except gzip.BadGzipFile as exc:
        if _header_size(path.read_bytes()[:4]):
            raise error("not gzip-compressed: an uncompressed NIfTI must be named .nii", path) from exc
        raise error("not a gzip file (a .nii.gz must be gzip-compressed)", path) from exc
    except (EOFError, zlib.error) as exc:
        raise error(f"truncated or corrupt file ({one_line(exc)})", path) from exc
    except OSError as exc:
        raise error(f"cannot read ({exc.strerror or one_line(exc)})", path) from exc
    if not compressed and head[:2] == b"\x1f\x8b":
        raise error("gzip-compressed: a compressed NIfTI must be named .nii.gz", path)
    size, order = _header_size(head[:4]) or (0, "<")
    if not size:
        raise error("not a NIfTI file (no valid header)", path)
    if len(head) < size:
        raise error(f"truncated or corrupt file ({len(head)} bytes, shorter than a NIfTI header)", path)
    header_dtype = (nib.nifti1.header_dtype if size == 348 else nib.nifti2.header_dtype).newbyteorder(order)
    header = np.frombuffer(head[:size], dtype=header_dtype, count=1)[0]
    magic = bytes(header["magic"]).rstrip(b"\0")[:3]
    if magic in (b"ni1", b"ni2"):
        raise error("the header of a .hdr/.img pair: convert it to a single .nii file", path)
    if magic not in (b"n+1", b"n+2"):
        raise error("not a NIfTI file (no valid header)", path)
    ndim = int(header["dim"][0])
    if not 1 <= ndim <= 7:
        raise error(f"invalid header: {ndim} dimensions (dim[0] must be 1 to 7)", path)
    shape = [int(d) for d in header["dim"][1 : ndim + 1]]
    if any(d < 1 for d in shape):
        raise error(f"invalid header: image size {'×'.join(map(str, shape))} (no voxels)", path)
    try:
        itemsize = np.dtype(nib.nifti1.data_type_codes.dtype[int(header["datatype"])]).itemsize
    except (KeyError, TypeError) as exc:
        raise error(f"invalid header: unknown data type code {int(header['datatype'])}", path) from exc
    voxels = math.prod(shape)
    if voxels > MAX_VOXELS:
        raise error(f"invalid header: image size {'×'.join(map(str, shape))} ({voxels:.3g} voxels)", path)
    offset = float(header["vox_offset"])
    if not math.isfinite(offset):
        raise error("invalid header: vox_offset is not a number", path)
    end = max(int(offset), size + 4) + voxels * itemsize
    stored = path.stat().st_size
    if not compressed and end > stored:
        raise error(f"truncated or corrupt file (the header promises {end} bytes, the file has {stored})", path)
    if compressed and end > stored * GZIP_MAX_RATIO + 4096:
        raise error(
            f"truncated or corrupt file (the header promises {end:.3g} bytes, more than a {stored}-byte gzip file can hold)",
            path,
        )


def _header_size(first: bytes) -> tuple[int, str] | None:
    """(header size, byte order) from the first four bytes of a NIfTI-1 or NIfTI-2 file."""
    if len(first) < 4:
        return None
    for order in "<>":
        size = struct.unpack(f"{order}i", first)[0]
        if size in (348, 540):
            return size, order
    return None


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
    if raw.size == 0:
        raise SourceError("the image has no voxels", path)
    if raw.dtype == bool:
        return raw.astype(np.int32)
    if np.issubdtype(raw.dtype, np.integer):
        if np.iinfo(raw.dtype).max > _INT32.max and (raw.min() < _INT32.min or raw.max() > _INT32.max):
            raise SourceError(f"label values up to {int(raw.max())}: too large for labels (at most {_INT32.max})", path)
        return raw.astype(np.int32, copy=False)
    if not np.issubdtype(raw.dtype, np.floating):
        raise SourceError(f"unsupported voxel type {raw.dtype}", path)
    if not np.all(np.isfinite(raw)):
        raise SourceError("label volume contains NaN or infinite values", path)
    if raw.min() < _INT32.min or raw.max() > _INT32.max:
        raise SourceError(f"label values up to {float(np.abs(raw).max()):g}: too large for labels", path)
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
