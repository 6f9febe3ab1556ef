"""Benchmark: per-structure statistics of quantitative maps over a whole-body-sized volume.

A synthetic label volume (default 512×512×400, 100 labels filling a body-shaped cylinder) and
two cases, timed separately (maps read from uncompressed NIfTI files, as `quantify` would):

1. a scalar map (T2) on the label grid;
2. Dixon water + fat on another grid (other voxel sizes and origin), so the labels are resampled.

Prints the machine, the sizes and the seconds. Not a test. Usage:
    python bench/quantify_bench.py [--shape 512 512 400] [--labels 100]
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import tempfile
import time
from pathlib import Path

import nibabel as nib
import numpy as np
from scipy.spatial import cKDTree

from muscle_atlas.anatomy.match import MatchResult
from muscle_atlas.quantities import MapSpecs, ScalarMapSpec, quantify, write_tables
from muscle_atlas.sources.volume import LabelVolume


def synthetic_labels(shape: tuple[int, int, int], n_labels: int, seed: int = 1) -> np.ndarray:
    """Voronoi cells of random seeds inside an elliptic cylinder, on a grid 8× coarser, upsampled."""
    rng = np.random.default_rng(seed)
    coarse = tuple(max(1, n // 8) for n in shape)
    grid = np.stack(np.meshgrid(*[np.arange(n) for n in coarse], indexing="ij"), axis=-1).reshape(-1, 3)
    centre = np.array(coarse[:2]) / 2
    inside = (((grid[:, :2] - centre) / (centre * np.array([0.8, 0.55]))) ** 2).sum(axis=1) < 1
    seeds = grid[inside][rng.choice(int(inside.sum()), n_labels, replace=False)] + rng.random((n_labels, 3))
    _, nearest = cKDTree(seeds).query(grid[inside] + 0.5)
    small = np.zeros(coarse, dtype=np.int32)
    small.reshape(-1)[np.flatnonzero(inside)] = nearest + 1
    labels = np.zeros(shape, dtype=np.int32)
    big = small.repeat(8, 0).repeat(8, 1).repeat(8, 2)
    labels[: big.shape[0], : big.shape[1], : big.shape[2]] = big[: shape[0], : shape[1], : shape[2]]
    return labels


def synthetic_map(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    base = (30 + labels.astype(np.float32) * 0.2).astype(np.float32)
    base += rng.standard_normal(labels.shape, dtype=np.float32) * 3
    return base


def matches_for(n_labels: int) -> list[MatchResult]:
    """Every label a distinct (fake) matched structure: the statistics do not care about names."""
    return [
        MatchResult(key=str(v), name=f"label {v}", status="matched", side="left" if v % 2 else "right",
                    code=v, path=f"bench/structure-{(v + 1) // 2:03d}", structure=f"structure {v}")
        for v in range(1, n_labels + 1)
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", type=int, nargs=3, default=[512, 512, 400])
    parser.add_argument("--labels", type=int, default=100)
    args = parser.parse_args()
    shape = tuple(args.shape)
    cpus = len(os.sched_getaffinity(0))
    print(f"machine: {platform.processor() or platform.machine()}, {cpus} CPUs, Python {platform.python_version()}")
    started = time.perf_counter()
    labels = synthetic_labels(shape, args.labels)  # type: ignore[arg-type]
    label_affine = np.diag([1.0, 1.0, 2.5, 1.0])
    label_affine[:3, 3] = [-256, -256, -500]
    volume = LabelVolume(path=Path("synthetic.nii"), data=labels, affine=label_affine)
    labelled = int((labels > 0).sum())
    print(f"labels: {shape[0]}×{shape[1]}×{shape[2]} voxels (1×1×2.5 mm), {args.labels} labels, "
          f"{labelled / 1e6:.1f} M labelled voxels (made in {time.perf_counter() - started:.1f} s)")  # fmt: skip
    rng = np.random.default_rng(2)
    matches = matches_for(args.labels)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        t2 = folder / "t2.nii"
        nib.save(nib.Nifti1Image(synthetic_map(labels, rng), label_affine), t2)
        other_shape = (shape[0] * 3 // 4, shape[1] * 3 // 4, shape[2] * 5 // 6)
        other_affine = np.diag([4 / 3, 4 / 3, 3.0, 1.0])
        other_affine[:3, 3] = [-255.7, -256.2, -499.0]
        water = np.full(other_shape, 300, np.float32) + rng.standard_normal(other_shape, dtype=np.float32) * 10
        fat = np.abs(rng.standard_normal(other_shape, dtype=np.float32)) * 15
        nib.save(nib.Nifti1Image(water, other_affine), folder / "water.nii")
        nib.save(nib.Nifti1Image(fat, other_affine), folder / "fat.nii")
        del water, fat
        print(f"maps: T2 on the label grid; Dixon water/fat {other_shape[0]}×{other_shape[1]}×{other_shape[2]} "
              "(1.33×1.33×3 mm, shifted origin), uncompressed NIfTI")  # fmt: skip
        cases = [
            ("T2 on the label grid", MapSpecs(scalars=[ScalarMapSpec("T2", t2, "ms")])),
            ("Dixon on another grid", MapSpecs(dixon=(folder / "water.nii", folder / "fat.nii"))),
        ]
        for title, specs in cases:
            started = time.perf_counter()
            result = quantify(volume, matches, specs)
            seconds = time.perf_counter() - started
            write_tables(result, folder / "out")
            print(f"{title}: {seconds:.1f} s for {len(result.structures)} structures, "
                  f"{len(result.rows)} rows, {len(result.profiles)} profile rows (raw + eroded 1 voxel)")  # fmt: skip
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory: {peak:.0f} MB")


if __name__ == "__main__":
    main()
