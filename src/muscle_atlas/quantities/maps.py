"""Quantitative maps: read and check the files, then give values at chosen voxels.

A :class:`MapGroup` is one grid with the quantities computed on it: a scalar map (one), Dixon
water + fat (fat fraction), a diffusion tensor (MD, FA, eigenvalues). Files are checked from
their headers when the group is opened, so that every bad input is reported before any work;
the voxels are read by :meth:`MapGroup.load`. Values are computed only at the voxels asked
for (the structures' voxels), never over the whole volume.
"""

from __future__ import annotations

import gzip
import zlib
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np

from muscle_atlas.errors import MapError
from muscle_atlas.quantities.specs import (
    COMPONENTS,
    DIXON_QUANTITIES,
    DTI_QUANTITIES,
    MapSpecs,
    ScalarMapSpec,
)
from muscle_atlas.sources.volume import check_nifti_header, nibabel_messages
from muscle_atlas.suffixes import is_nifti_name

# Fat fraction is NaN where water + fat ≤ this fraction of the image's robust maximum
# (99th percentile of the positive water + fat): background and air, whose ratio is noise.
DIXON_EPSILON = 0.01
GRID_TOLERANCE_MM = 1e-3

Index = tuple[np.ndarray, np.ndarray, np.ndarray]


@dataclass(frozen=True)
class Quantity:
    name: str
    unit: str


@dataclass
class Grid:
    """A 3D voxel grid: shape, voxel → world (RAS+ mm) affine, and the acquisition's slice axis."""

    shape: tuple[int, int, int]
    affine: np.ndarray
    slice_dim: int | None = None  # from the NIfTI header (dim_info), when set

    @property
    def voxel_size(self) -> np.ndarray:
        return np.sqrt((self.affine[:3, :3] ** 2).sum(axis=0))

    @property
    def slice_axis(self) -> int:
        """The axis slices are stacked along: the one with the largest voxel size; when two or
        three are (nearly) equal, the header's slice dimension, else the last axis."""
        sizes = self.voxel_size
        largest = np.flatnonzero(sizes >= sizes.max() * 0.99)
        if largest.size == 1:
            return int(largest[0])
        if self.slice_dim is not None and self.slice_dim in largest:
            return int(self.slice_dim)
        return int(largest[-1])

    @property
    def in_plane_area_mm2(self) -> float:
        a, b = (i for i in range(3) if i != self.slice_axis)
        return float(np.linalg.norm(np.cross(self.affine[:3, a], self.affine[:3, b])))

    def slice_positions_mm(self) -> np.ndarray:
        """Position (mm) of every slice along the slice direction; for an axial acquisition the
        S coordinate of the slice."""
        axis = self.slice_axis
        step = self.affine[:3, axis]
        unit = step / np.linalg.norm(step)
        if unit[np.argmax(np.abs(unit))] < 0:
            unit = -unit
        origin = self.affine[:3, 3]
        return np.array([float(np.dot(origin + k * step, unit)) for k in range(self.shape[axis])])

    def same_as(self, other: Grid) -> bool:
        return self.shape == other.shape and bool(np.allclose(self.affine, other.affine, atol=GRID_TOLERANCE_MM))


@dataclass
class _Image:
    path: Path
    image: nib.Nifti1Image
    shape: tuple[int, ...]  # trailing singleton axes removed

    @property
    def grid(self) -> Grid:
        slice_dim = self.image.header.get_dim_info()[2] if hasattr(self.image.header, "get_dim_info") else None
        return Grid(tuple(int(n) for n in self.shape[:3]), np.asarray(self.image.affine, dtype=float), slice_dim)  # type: ignore[arg-type]

    def read(self) -> np.ndarray:
        """The voxels as float32 (scaling applied); read errors as MapError."""
        try:
            with nibabel_messages([]):
                data = self.image.get_fdata(dtype=np.float32, caching="unchanged")
        except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
            raise MapError(f"truncated or corrupt file ({exc})", self.path) from exc
        except MemoryError as exc:
            raise MapError("not enough memory to read the image data", self.path) from exc
        except (OSError, ValueError) as exc:
            raise MapError(f"cannot read the image data ({' '.join(str(exc).split())[:200]})", self.path) from exc
        except Exception as exc:  # nibabel on a hostile file
            raise MapError(f"cannot read the image data ({type(exc).__name__}: {str(exc)[:200]})", self.path) from exc
        return data.reshape(self.shape)


def _open_image(path: Path, what: str) -> _Image:
    """Open a NIfTI image from its header (no voxels read yet)."""
    if not path.exists():
        raise MapError(f"no such file ({what})", path)
    if path.is_dir():
        raise MapError(f"is a folder, expected a NIfTI image ({what})", path)
    if not is_nifti_name(path.name):
        raise MapError(f"not a NIfTI file (expected .nii or .nii.gz) ({what})", path)
    if not path.is_file():
        raise MapError(f"not a regular file ({what})", path)
    check_nifti_header(path, MapError)  # before nibabel allocates what a broken header claims
    try:
        with nibabel_messages([]):  # nibabel's notes on headers it fixes: not lines on the terminal
            image = nib.load(path)
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise MapError(f"truncated or corrupt file ({exc})", path) from exc
    except nib.filebasedimages.ImageFileError as exc:
        raise MapError(f"not a readable NIfTI image, no valid header ({what})", path) from exc
    except (OSError, ValueError) as exc:
        raise MapError(f"cannot read ({' '.join(str(exc).split())[:200]})", path) from exc
    except Exception as exc:  # nibabel's header and extension errors on hostile files
        raise MapError(f"not a valid NIfTI image ({type(exc).__name__}: {' '.join(str(exc).split())[:200]})", path) from exc
    if not isinstance(image, nib.Nifti1Image | nib.Nifti2Image):
        raise MapError(f"not a NIfTI image ({type(image).__name__})", path)
    affine = image.affine
    if affine is None or not np.all(np.isfinite(affine)) or abs(np.linalg.det(affine[:3, :3])) < 1e-12:
        raise MapError("the image affine is missing or singular", path)
    shape = tuple(int(n) for n in image.shape)
    while len(shape) > 3 and shape[-1] == 1:
        shape = shape[:-1]
    if len(shape) < 3:
        raise MapError(f"a {len(shape)}D image; expected a 3D {what}", path)
    return _Image(path, image, shape)


def _open_3d(path: Path, what: str) -> _Image:
    image = _open_image(path, what)
    if len(image.shape) != 3:
        extra = " × ".join(str(n) for n in image.shape[3:])
        raise MapError(f"a {len(image.shape)}D image ({extra} volumes); expected a 3D {what}", path)
    return image


def _check_finite(data: np.ndarray, path: Path, what: str) -> None:
    if not np.isfinite(data).any():
        raise MapError(f"contains only NaN or infinite values ({what})", path)


class MapGroup:
    """Quantities computed on one grid. Subclasses: scalar map, Dixon, diffusion tensor."""

    kind = "map"
    quantities: list[Quantity]
    paths: list[Path]

    def __init__(self, grid: Grid) -> None:
        self.grid = grid

    @property
    def path(self) -> Path:
        """The file errors and warnings name."""
        return self.paths[0]

    @property
    def description(self) -> str:
        return " + ".join(p.name for p in self.paths)

    def load(self) -> None:
        """Read the voxels (checked: not all NaN)."""
        raise NotImplementedError

    def release(self) -> None:
        """Drop the voxels once the group is done."""
        raise NotImplementedError

    def values(self, index: Index) -> dict[str, np.ndarray]:
        """Quantity name → float64 values at the voxels ``index`` (NaN where there is no value)."""
        raise NotImplementedError


class ScalarGroup(MapGroup):
    kind = "scalar"

    def __init__(self, spec: ScalarMapSpec) -> None:
        self._image = _open_3d(spec.path, f"map {spec.name}")
        super().__init__(self._image.grid)
        self.quantities = [Quantity(spec.name, spec.unit)]
        self.paths = [spec.path]
        self._data: np.ndarray | None = None

    def load(self) -> None:
        data = self._image.read()
        _check_finite(data, self.path, f"map {self.quantities[0].name}")
        self._data = data

    def release(self) -> None:
        self._data = None

    def values(self, index: Index) -> dict[str, np.ndarray]:
        if self._data is None:
            raise RuntimeError("load() first")
        values = self._data[index].astype(np.float64)
        values[~np.isfinite(values)] = np.nan
        return {self.quantities[0].name: values}


class DixonGroup(MapGroup):
    """Fat fraction (%) = fat / (water + fat), NaN where water + fat is tiny."""

    kind = "dixon"

    def __init__(self, water: Path, fat: Path) -> None:
        self._water = _open_3d(water, "Dixon water image")
        self._fat = _open_3d(fat, "Dixon fat image")
        grid = self._water.grid
        if not self._fat.grid.same_as(grid):
            raise MapError(
                f"the fat image is not on the grid of the water image {water.name} "
                f"(shape {self._fat.grid.shape} vs {grid.shape}, or different affines)",
                fat,
            )
        super().__init__(grid)
        self.quantities = [Quantity(n, u) for n, u in DIXON_QUANTITIES.items()]
        self.paths = [water, fat]
        self._w: np.ndarray | None = None
        self._f: np.ndarray | None = None
        self.epsilon = 0.0

    def load(self) -> None:
        water = self._water.read()
        _check_finite(water, self.paths[0], "Dixon water image")
        fat = self._fat.read()
        _check_finite(fat, self.paths[1], "Dixon fat image")
        step = max(1, round((water.size / 2e6) ** (1 / 3)))  # a sample of ~2 million voxels
        total = water[::step, ::step, ::step] + fat[::step, ::step, ::step]
        positive = total[np.isfinite(total) & (total > 0)]
        if positive.size == 0:
            raise MapError("water + fat is zero or negative everywhere: no fat fraction can be computed", self.paths[0])
        self.epsilon = DIXON_EPSILON * float(np.percentile(positive, 99))
        self._w, self._f = water, fat

    def release(self) -> None:
        self._w = self._f = None

    def values(self, index: Index) -> dict[str, np.ndarray]:
        if self._w is None or self._f is None:
            raise RuntimeError("load() first")
        water = self._w[index].astype(np.float64)
        fat = self._f[index].astype(np.float64)
        total = water + fat
        good = np.isfinite(total) & (total > self.epsilon)
        fraction = np.full(total.shape, np.nan)
        fraction[good] = 100.0 * fat[good] / total[good]
        return {"fat_fraction": fraction}


class TensorGroup(MapGroup):
    """MD, FA and eigenvalues λ1 ≥ λ2 ≥ λ3 of a symmetric tensor; an all-zero tensor is no data."""

    kind = "dti"

    def __init__(self, path: Path, order: tuple[str, ...]) -> None:
        image = _open_image(path, "diffusion tensor")
        shape = image.shape
        if len(shape) == 5 and shape[3] == 1:  # NIfTI symmatrix: X × Y × Z × 1 × 6
            shape = (*shape[:3], shape[4])
            image = _Image(path, image.image, shape)
        if len(shape) == 3:
            raise MapError("a 3D image; a diffusion tensor is 4D with 6 components in its last axis", path)
        if len(shape) != 4:
            raise MapError(f"a {len(shape)}D image of shape {shape}; a diffusion tensor is X × Y × Z × 6", path)
        if shape[3] != 6:
            raise MapError(f"{shape[3]} components in the last axis; a diffusion tensor has 6 ({', '.join(order)})", path)
        self._image = image
        super().__init__(image.grid)
        self.order = order
        self.quantities = [Quantity(n, u) for n, u in DTI_QUANTITIES.items()]
        self.paths = [path]
        self._data: np.ndarray | None = None

    def load(self) -> None:
        data = self._image.read()
        _check_finite(data, self.path, "diffusion tensor")
        self._data = data

    def release(self) -> None:
        self._data = None

    def values(self, index: Index) -> dict[str, np.ndarray]:
        if self._data is None:
            raise RuntimeError("load() first")
        components = self._data[index].astype(np.float64)  # (n, 6) in file order
        n = components.shape[0]
        valid = np.isfinite(components).all(axis=1) & (components != 0).any(axis=1)
        tensors = np.empty((int(valid.sum()), 3, 3))
        axis = {"x": 0, "y": 1, "z": 2}
        for column, name in enumerate(self.order):
            i, j = axis[name[0]], axis[name[1]]
            tensors[:, i, j] = tensors[:, j, i] = components[valid, column]
        eigen = np.linalg.eigvalsh(tensors)[:, ::-1]  # λ1 ≥ λ2 ≥ λ3
        md = eigen.mean(axis=1)
        norm2 = (eigen**2).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            fa = np.sqrt(1.5 * ((eigen - md[:, None]) ** 2).sum(axis=1) / norm2)
        fa[norm2 == 0] = np.nan
        out = {}
        for name, values in (
            ("MD", md),
            ("FA", fa),
            ("lambda1", eigen[:, 0]),
            ("lambda2", eigen[:, 1]),
            ("lambda3", eigen[:, 2]),
        ):
            full = np.full(n, np.nan)
            full[valid] = values
            out[name] = full
        return out


def open_groups(specs: MapSpecs) -> list[MapGroup]:
    """Open and check every map from its header; the first problem raises MapError."""
    if specs.empty:
        raise MapError("nothing to quantify: give --dixon WATER FAT, --dti TENSOR or --map NAME=FILE[:UNIT]")
    if sorted(specs.dti_order) != sorted(COMPONENTS):
        raise MapError(f"tensor component order {specs.dti_order} is not a permutation of {COMPONENTS}")
    groups: list[MapGroup] = []
    if specs.dixon is not None:
        groups.append(DixonGroup(*specs.dixon))
    if specs.dti is not None:
        groups.append(TensorGroup(specs.dti, specs.dti_order))
    groups += [ScalarGroup(spec) for spec in specs.scalars]
    return groups
