"""Quantitative MRI per structure (issue #10): fat fraction, DTI and scalar maps.

The real data is the QMRITools lower-leg demo (labels 3×3×6 mm; Dixon water/fat on a
1.5×1.5×6.6 mm grid; the DTI tensor on the label grid). The reference values are computed
here a different way: labels sampled at the map voxel centres with scipy's map_coordinates
(order 0), a plain slice-by-slice 2D erosion, MD and FA from the tensor invariants (trace and
Frobenius norm, no eigenvalues), numpy percentiles.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from scipy import ndimage

from muscle_atlas.anatomy.match import match_labels
from muscle_atlas.cli import main
from muscle_atlas.errors import ConfigError, MapError
from muscle_atlas.quantities import (
    COLUMNS,
    MapSpecs,
    ScalarMapSpec,
    add_map_arguments,
    parse_dti_order,
    parse_map_spec,
    quantify,
    specs_from_args,
    specs_from_toml,
)
from muscle_atlas.quantities.maps import Grid
from muscle_atlas.quantities.resample import counts_inside, resample_labels
from muscle_atlas.sources import open_source

EXPECTED_COLUMNS = "structure,side,label,map,unit,erosion_voxels,n_voxels,coverage,mean,median,sd,p5,p25,p75,p95".split(",")
GASTROCNEMIUS = ("leg/gastrocnemius-medial-head", "leg/gastrocnemius-lateral-head")


@pytest.fixture(scope="module")
def leg(data: Path) -> Path:
    folder = data / "qmritools-leg-qmri"
    if not (folder / "labels.nii.gz").is_file():
        pytest.skip(f"no {folder}")
    return folder


@pytest.fixture(scope="module")
def opened(leg: Path):
    source = open_source(leg / "labels.nii.gz", leg / "labels.txt")
    return source, match_labels(source.label_names())


@pytest.fixture(scope="module")
def result(leg: Path, opened):
    source, matches = opened
    specs = MapSpecs(dixon=(leg / "water.nii.gz", leg / "fat.nii.gz"), dti=leg / "DTI-tensor.nii.gz", erode=1)
    return quantify(source.volume, matches, specs)


def _label_values(matches) -> dict[tuple[str, str], list[int]]:
    pooled: dict[tuple[str, str], list[int]] = {}
    for m in matches:
        if m.status == "matched":
            pooled.setdefault((m.path, m.side or "none"), []).append(int(m.key))
    return pooled


def _labels_on(map_image: nib.Nifti1Image, label_image: nib.Nifti1Image) -> np.ndarray:
    """Reference resampling: the label at every map voxel centre, scipy order-0 interpolation."""
    labels = np.asanyarray(label_image.dataobj).astype(np.int32)
    shape = map_image.shape[:3]
    to_label = np.linalg.inv(label_image.affine) @ map_image.affine
    centres = np.indices(shape).reshape(3, -1).astype(float)
    coords = to_label[:3, :3] @ centres + to_label[:3, 3:]
    return ndimage.map_coordinates(labels, coords, order=0, mode="grid-constant", cval=0).reshape(shape)


def _eroded_per_slice(mask: np.ndarray) -> np.ndarray:
    out = np.zeros_like(mask)
    for k in range(mask.shape[2]):
        out[:, :, k] = ndimage.binary_erosion(mask[:, :, k], iterations=1, border_value=0)
    return out


def _row(result, structure: str, side: str, quantity: str, erosion: int) -> dict:
    rows = [
        r
        for r in result.rows
        if (r["structure"], r["side"], r["map"], r["erosion_voxels"]) == (structure, side, quantity, erosion)
    ]
    assert len(rows) == 1, (structure, side, quantity, erosion)
    return rows[0]


# ---------------------------------------------------------------------------------------------
# Agreement with the independent computation


def test_fat_fraction_medians_match_an_independent_computation(leg: Path, opened, result) -> None:
    _source, matches = opened
    water_image = nib.load(leg / "water.nii.gz")
    water = water_image.get_fdata()
    fat = nib.load(leg / "fat.nii.gz").get_fdata()
    total = water + fat
    with np.errstate(invalid="ignore", divide="ignore"):
        ff = np.where(total > 1.0, 100 * fat / total, np.nan)
    resampled = _labels_on(water_image, nib.load(leg / "labels.nii.gz"))
    differences = {}
    for (structure, side), values in _label_values(matches).items():
        mask = _eroded_per_slice(np.isin(resampled, values))
        expected = float(np.percentile(ff[mask & np.isfinite(ff)], 50))
        got = _row(result, structure, side, "fat_fraction", 1)["median"]
        differences[f"{structure} {side}"] = got - expected
        assert 1.0 < got < 10.0, (structure, side, got)  # healthy muscle: a few percent
    worst = max(abs(d) for d in differences.values())
    assert worst < 0.3, differences


def test_md_and_fa_match_the_tensor_invariants(leg: Path, opened, result) -> None:
    _source, matches = opened
    labels = np.asanyarray(nib.load(leg / "labels.nii.gz").dataobj)
    t = nib.load(leg / "DTI-tensor.nii.gz").get_fdata()
    xx, yy, zz, xy, xz, yz = (t[..., i] for i in range(6))
    md = (xx + yy + zz) / 3
    norm2 = xx**2 + yy**2 + zz**2 + 2 * (xy**2 + xz**2 + yz**2)
    with np.errstate(invalid="ignore", divide="ignore"):
        fa = np.sqrt(1.5 * np.clip(norm2 - 3 * md**2, 0, None) / norm2)
    data = np.abs(t).sum(axis=-1) > 0
    for (structure, side), values in _label_values(matches).items():
        for erosion in (0, 1):
            mask = np.isin(labels, values)
            if erosion:
                mask = _eroded_per_slice(mask)
            mask &= data
            expected_md = float(np.percentile(md[mask], 50))
            expected_fa = float(np.percentile(fa[mask], 50))
            got_md = _row(result, structure, side, "MD", erosion)["median"]
            got_fa = _row(result, structure, side, "FA", erosion)["median"]
            assert abs(got_md - expected_md) < 0.03 * expected_md, (structure, side, erosion, got_md, expected_md)
            assert abs(got_fa - expected_fa) < 0.02, (structure, side, erosion, got_fa, expected_fa)
            assert 1.4e-3 < got_md < 1.8e-3 and 0.15 < got_fa < 0.35, (structure, side, got_md, got_fa)
            assert _row(result, structure, side, "MD", erosion)["n_voxels"] == int(mask.sum())


def test_raw_gastrocnemius_mean_lies_far_above_its_median(result) -> None:
    # Boundary voxels are partly subcutaneous or intermuscular fat: the raw mean is pulled up.
    gaps = {}
    for structure in GASTROCNEMIUS:
        for side in ("left", "right"):
            raw = _row(result, structure, side, "fat_fraction", 0)
            eroded = _row(result, structure, side, "fat_fraction", 1)
            gaps[(structure, side)] = raw["mean"] - raw["median"]
            assert raw["mean"] > raw["median"] + 2.0, raw
            assert eroded["mean"] - eroded["median"] < raw["mean"] - raw["median"], (raw, eroded)
            assert raw["n_voxels"] > eroded["n_voxels"]
    medial = _row(result, "leg/gastrocnemius-medial-head", "right", "fat_fraction", 0)
    assert medial["mean"] > 3 * medial["median"], medial  # measured: 23.3 % against 5.9 %
    assert max(gaps.values()) > 10.0, gaps


def test_oblique_dixon_grid_gives_the_same_medians(leg: Path, opened, result, tmp_path: Path) -> None:
    """Water and fat turned 20° about S and resampled (linear): medians within interpolation error."""
    source, matches = opened
    water_image, fat_image = nib.load(leg / "water.nii.gz"), nib.load(leg / "fat.nii.gz")
    angle = math.radians(20)
    rotation = np.eye(4)
    rotation[:2, :2] = [[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]]
    centre = water_image.affine @ np.array([*(np.array(water_image.shape) - 1) / 2, 1.0])
    about = np.eye(4)
    about[:3, 3] = centre[:3]
    oblique_affine = about @ rotation @ np.linalg.inv(about) @ water_image.affine
    to_input = np.linalg.inv(water_image.affine) @ oblique_affine
    paths = []
    for name, image in (("water", water_image), ("fat", fat_image)):
        moved = ndimage.affine_transform(
            image.get_fdata(dtype=np.float32), to_input[:3, :3], offset=to_input[:3, 3], order=1, mode="constant", cval=0.0
        )
        paths.append(tmp_path / f"{name}-oblique.nii.gz")
        nib.save(nib.Nifti1Image(moved, oblique_affine), paths[-1])
    oblique = quantify(source.volume, matches, MapSpecs(dixon=(paths[0], paths[1]), erode=1))
    assert not oblique.warnings  # the legs lie well inside the turned field of view
    differences = {}
    for structure, side in _label_values(matches):
        straight = _row(result, structure, side, "fat_fraction", 1)["median"]
        turned = _row(oblique, structure, side, "fat_fraction", 1)["median"]
        differences[f"{structure} {side}"] = turned - straight
        assert _row(oblique, structure, side, "fat_fraction", 1)["coverage"] == 1.0
    # Measured: at most 0.25 percentage points (linear interpolation smooths the fat at edges).
    assert max(abs(d) for d in differences.values()) < 0.5, differences


def _profile(result, structure, quantity: str, erosion: int) -> list[dict]:
    key = (structure.path, structure.side, quantity, erosion)
    return [p for p in result.profiles if (p["structure"], p["side"], p["map"], p["erosion_voxels"]) == key]


def test_profiles_areas_add_up_to_the_volume(opened, result) -> None:
    source, _matches = opened
    volume = source.volume
    counts = volume.label_counts()
    for structure in result.structures:
        label_ml = sum(counts[v] for v in structure.labels) * volume.voxel_volume_mm3
        profile = _profile(result, structure, "MD", 0)  # on the label grid: exact
        assert sum(p["area_mm2"] for p in profile) * 6.0 == pytest.approx(label_ml, rel=1e-6)
        dixon = _profile(result, structure, "fat_fraction", 0)  # resampled: close
        assert sum(p["area_mm2"] for p in dixon) * 6.6 == pytest.approx(label_ml, rel=0.1)
        assert all(-80 < p["position_mm"] < 75 for p in dixon)


def test_histograms_count_the_eroded_voxels(result) -> None:
    for h in result.histograms:
        row = _row(result, h["structure"], h["side"], h["map"], 1)
        assert sum(h["counts"]) + h["below"] + h["above"] == row["n_voxels"]
        assert len(h["edges"]) == len(h["counts"]) + 1
    ff = next(h for h in result.histograms if h["map"] == "fat_fraction")
    assert ff["edges"][0] == 0 and ff["edges"][-1] == 100


def test_tensor_component_order_fsl(leg: Path, opened, result, tmp_path: Path) -> None:
    source, matches = opened
    image = nib.load(leg / "DTI-tensor.nii.gz")
    t = image.get_fdata(dtype=np.float32)
    fsl = t[..., [0, 3, 4, 1, 5, 2]]  # xx,yy,zz,xy,xz,yz → xx,xy,xz,yy,yz,zz
    path = tmp_path / "tensor-fsl.nii.gz"
    nib.save(nib.Nifti1Image(fsl, image.affine), path)
    other = quantify(source.volume, matches, MapSpecs(dti=path, dti_order=parse_dti_order("fsl")))
    for row in other.rows:
        assert row["median"] == pytest.approx(
            _row(result, row["structure"], row["side"], row["map"], row["erosion_voxels"])["median"]
        )


# ---------------------------------------------------------------------------------------------
# Resampling, grids and specs (synthetic)


@pytest.mark.parametrize(
    "matrix",
    [
        np.diag([0.5, 0.5, 1.1]),  # finer in-plane, like the Dixon
        np.array([[0, -1.3, 0], [0.7, 0, 0], [0, 0, 2.0]]),  # permuted and flipped axes
        None,  # oblique
    ],
)
def test_resampling_matches_map_coordinates(matrix) -> None:
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 5, size=(23, 19, 11)).astype(np.uint8)
    label_affine = np.diag([3.0, 3.0, 6.0, 1.0])
    label_affine[:3, 3] = [-30, -20, -10]
    if matrix is None:
        c, s = math.cos(0.4), math.sin(0.4)
        matrix = np.array([[c, -s, 0.1], [s, c, 0], [0, 0.2, 0.9]]) * 0.8
    to_label = np.eye(4)
    to_label[:3, :3] = matrix
    to_label[:3, 3] = [3.2, -2.03, 1.3]  # no centre exactly on a tie
    map_affine = label_affine @ to_label
    shape = (30, 28, 12)
    box = (slice(2, 29), slice(0, 28), slice(1, 12))
    got = resample_labels(labels, label_affine, map_affine, box)
    expected = _labels_on(nib.Nifti1Image(np.zeros(shape, np.float32), map_affine), nib.Nifti1Image(labels, label_affine))
    assert (got == expected[box]).all()


@pytest.mark.parametrize("oblique", [False, True])
def test_field_of_view_counts(oblique: bool) -> None:
    rng = np.random.default_rng(5)
    ids = rng.integers(0, 4, size=(20, 18, 9)).astype(np.uint8)
    label_affine = np.diag([2.0, 2.0, 5.0, 1.0])
    map_affine = np.diag([1.5, 1.5, 4.0, 1.0])
    map_affine[:3, 3] = [7.0, -3.0, 11.0]
    if oblique:
        c, s = math.cos(0.5), math.sin(0.5)
        turn = np.eye(4)
        turn[:2, :2] = [[c, -s], [s, c]]
        map_affine = turn @ map_affine
    map_shape = (14, 16, 6)
    box = (slice(1, 19), slice(0, 18), slice(2, 9))
    got = counts_inside(ids, box, label_affine, map_affine, map_shape, 3)
    centres = np.indices(ids.shape).reshape(3, -1)
    coords = (np.linalg.inv(map_affine) @ label_affine)[:3] @ np.vstack([centres, np.ones(centres.shape[1])])
    inside = ((coords >= -0.5) & (coords < np.array(map_shape)[:, None] - 0.5)).all(axis=0).reshape(ids.shape)
    expected = np.bincount(ids[box][inside[box]], minlength=4)
    assert list(got[1:]) == list(expected[1:]) and 0 < expected[1:].sum() < ids[box].astype(bool).sum()


def test_resampling_ties_round_up() -> None:
    """1.5 mm voxels in 3 mm ones: every other centre lies on a label-voxel face; it takes the
    upper voxel whatever the float error of the affine products."""
    labels = np.arange(1, 11, dtype=np.uint8)[:, None, None] * np.ones((1, 2, 2), np.uint8)
    label_affine = np.diag([3.0, 3.0, 6.0, 1.0])
    label_affine[:3, 3] = [-240.0, -240.0, -75.0]
    map_affine = np.diag([1.5, 3.0, 6.0, 1.0])
    map_affine[:3, 3] = [-240.0, -240.0, -75.0]
    got = resample_labels(labels, label_affine, map_affine, (slice(0, 20), slice(0, 2), slice(0, 2)))
    assert list(got[:, 0, 0]) == [1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 0]


def test_slice_axis_is_the_thickest() -> None:
    assert Grid((10, 10, 10), np.diag([1.0, 6.0, 1.0, 1.0])).slice_axis == 1
    assert Grid((10, 10, 10), np.diag([1.0, 1.0, 1.0, 1.0]), slice_dim=0).slice_axis == 0
    assert Grid((10, 10, 10), np.diag([1.0, 1.0, 1.0, 1.0])).slice_axis == 2


def test_map_specs_parse() -> None:
    assert parse_map_spec("T2=t2.nii.gz:ms") == ScalarMapSpec("T2", Path("t2.nii.gz"), "ms")
    assert parse_map_spec("T1=maps/t1.nii") == ScalarMapSpec("T1", Path("maps/t1.nii"), "")
    assert parse_map_spec(r"T2=C:\maps\t2.nii.gz").path == Path(r"C:\maps\t2.nii.gz")
    assert parse_map_spec("ff=ff.nii.gz:%").unit == "%"
    assert parse_map_spec("ADC=a.nii:mm2/s").unit == "mm2/s"
    for bad in ("t2.nii.gz", "=x.nii", "FA=fa.nii.gz", "2T=x.nii"):
        with pytest.raises(ValueError):
            parse_map_spec(bad)
    assert parse_dti_order("fsl") == ("xx", "xy", "xz", "yy", "yz", "zz")
    assert parse_dti_order("nifti") == ("xx", "xy", "yy", "xz", "yz", "zz")
    assert parse_dti_order("xx,yy,zz,yx,zx,zy") == ("xx", "yy", "zz", "xy", "xz", "yz")
    with pytest.raises(ValueError):
        parse_dti_order("xx,yy,zz,xy,xz")

    parser = argparse.ArgumentParser()
    add_map_arguments(parser)
    args = parser.parse_args(["--dixon", "w.nii", "f.nii", "--map", "T2=t2.nii:ms", "--dti-order", "fsl", "--erode", "2"])
    specs = specs_from_args(args)
    assert specs.dixon == (Path("w.nii"), Path("f.nii")) and specs.erode == 2
    assert specs.quantity_names() == ["fat_fraction", "T2"] and specs.dti_order[1] == "xy"
    with pytest.raises(MapError, match="--map"):
        specs_from_args(parser.parse_args(["--map", "T2=a.nii", "--map", "t2=b.nii"]))


def test_maps_table_from_atlas_toml(tmp_path: Path) -> None:
    for name in ("water.nii.gz", "fat.nii.gz", "tensor.nii.gz", "t2.nii.gz"):
        (tmp_path / name).write_bytes(b"")
    table = {
        "dixon": ["water.nii.gz", "fat.nii.gz"],
        "dti": "tensor.nii.gz",
        "dti_order": "fsl",
        "erode": 2,
        "T2": {"file": "t2.nii.gz", "unit": "ms"},
    }
    specs = specs_from_toml(table, tmp_path, tmp_path / "atlas.toml")
    assert specs.dixon == ((tmp_path / "water.nii.gz").resolve(), (tmp_path / "fat.nii.gz").resolve())
    assert specs.erode == 2 and specs.dti_order[1] == "xy"
    assert specs.scalars == [ScalarMapSpec("T2", (tmp_path / "t2.nii.gz").resolve(), "ms")]
    bad = {
        "dixon": ["water.nii.gz"],
        "dti": "missing.nii.gz",
        "erode": -1,
        "T2": {"file": "t2.nii.gz", "units": "ms"},
        "fa": 3,
    }
    with pytest.raises(ConfigError) as caught:
        specs_from_toml(bad, tmp_path, tmp_path / "atlas.toml")
    message = str(caught.value)
    for key in ("maps.dixon", "maps.dti: no such file", "maps.erode", "maps.T2: unknown key(s) units", "maps.fa"):
        assert key in message, message


# ---------------------------------------------------------------------------------------------
# The command line: bad inputs end in one line naming the file, exit 2


def _save(path: Path, data: np.ndarray, affine: np.ndarray) -> Path:
    nib.save(nib.Nifti1Image(data, affine), path)
    return path


def _run(leg: Path, capsys, *flags: str, out: Path) -> tuple[int, str, str]:
    code = main(["quantify", str(leg / "labels.nii.gz"), "--labels", str(leg / "labels.txt"), *flags, "-o", str(out)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _one_line_error(code: int, err: str, path: Path) -> None:
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert str(path) in lines[0] and lines[0].startswith("muscle-atlas: error: "), err


def _label_affine(leg: Path) -> np.ndarray:
    return nib.load(leg / "labels.nii.gz").affine


def test_cli_map_outside_the_labels(leg: Path, tmp_path: Path, capsys) -> None:
    affine = _label_affine(leg).copy()
    affine[0, 3] += 2000.0
    path = _save(tmp_path / "far.nii.gz", np.ones((20, 20, 5), np.float32), affine)
    code, _out, err = _run(leg, capsys, "--map", f"T2={path}:ms", out=tmp_path / "out")
    _one_line_error(code, err, path)
    assert "does not overlap" in err


def test_cli_4d_scalar_map(leg: Path, tmp_path: Path, capsys) -> None:
    path = _save(tmp_path / "t2-4d.nii.gz", np.ones((20, 20, 5, 3), np.float32), _label_affine(leg))
    code, _out, err = _run(leg, capsys, "--map", f"T2={path}", out=tmp_path / "out")
    _one_line_error(code, err, path)
    assert "4D" in err


def test_cli_4d_water(leg: Path, tmp_path: Path, capsys) -> None:
    path = _save(tmp_path / "water-4d.nii.gz", np.ones((20, 20, 5, 2), np.float32), _label_affine(leg))
    code, _out, err = _run(leg, capsys, "--dixon", str(path), str(leg / "fat.nii.gz"), out=tmp_path / "out")
    _one_line_error(code, err, path)


def test_cli_tensor_with_five_components(leg: Path, tmp_path: Path, capsys) -> None:
    path = _save(tmp_path / "tensor5.nii.gz", np.ones((20, 20, 5, 5), np.float32), _label_affine(leg))
    code, _out, err = _run(leg, capsys, "--dti", str(path), out=tmp_path / "out")
    _one_line_error(code, err, path)
    assert "5 components" in err


def test_cli_tensor_given_a_3d_image(leg: Path, tmp_path: Path, capsys) -> None:
    code, _out, err = _run(leg, capsys, "--dti", str(leg / "water.nii.gz"), out=tmp_path / "out")
    _one_line_error(code, err, leg / "water.nii.gz")


def test_cli_map_of_nans(leg: Path, tmp_path: Path, capsys) -> None:
    path = _save(tmp_path / "nan.nii.gz", np.full((160, 160, 25), np.nan, np.float32), _label_affine(leg))
    code, _out, err = _run(leg, capsys, "--map", f"T2={path}", out=tmp_path / "out")
    _one_line_error(code, err, path)
    assert "NaN" in err


def test_cli_unreadable_map(leg: Path, tmp_path: Path, capsys) -> None:
    path = tmp_path / "broken.nii.gz"
    path.write_bytes(b"this is not a NIfTI image at all")
    code, _out, err = _run(leg, capsys, "--map", f"T2={path}", out=tmp_path / "out")
    _one_line_error(code, err, path)
    missing = tmp_path / "missing.nii.gz"
    code, _out, err = _run(leg, capsys, "--map", f"T2={missing}", out=tmp_path / "out")
    _one_line_error(code, err, missing)


def test_cli_truncated_map(leg: Path, tmp_path: Path, capsys) -> None:
    whole = (leg / "water.nii.gz").read_bytes()
    path = tmp_path / "truncated.nii.gz"
    path.write_bytes(whole[: len(whole) // 2])
    code, _out, err = _run(leg, capsys, "--map", f"W={path}", out=tmp_path / "out")
    _one_line_error(code, err, path)


def test_cli_water_and_fat_on_different_grids(leg: Path, tmp_path: Path, capsys) -> None:
    fat = _save(tmp_path / "fat-labelgrid.nii.gz", np.ones((160, 160, 25), np.float32), _label_affine(leg))
    code, _out, err = _run(leg, capsys, "--dixon", str(leg / "water.nii.gz"), str(fat), out=tmp_path / "out")
    _one_line_error(code, err, fat)
    assert "grid" in err


def test_cli_no_map_given(leg: Path, tmp_path: Path, capsys) -> None:
    code, _out, err = _run(leg, capsys, out=tmp_path / "out")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "nothing to quantify" in err


def test_cli_partial_overlap_is_a_warning(leg: Path, tmp_path: Path, capsys) -> None:
    image = nib.load(leg / "DTI-tensor.nii.gz")
    md = image.get_fdata(dtype=np.float32)[..., :3].mean(axis=-1)
    affine = image.affine.copy()
    affine[:3, 3] = image.affine[:3, :3] @ [0, 0, 12] + image.affine[:3, 3]  # slices 12..24 only
    path = _save(tmp_path / "md-upper.nii.gz", md[:, :, 12:], affine)
    code, out, err = _run(leg, capsys, "--map", f"MDx={path}:mm2/s", out=tmp_path / "out")
    assert code == 0, err
    warning = [line for line in err.splitlines() if "covers only part" in line]
    assert len(warning) == 1 and path.name in warning[0] and "leg/soleus left" in warning[0], err
    rows = list(csv.DictReader((tmp_path / "out" / "quantities.csv").open()))
    soleus = next(r for r in rows if r["structure"] == "leg/soleus" and r["side"] == "left")
    assert 0.3 < float(soleus["coverage"]) < 0.7 and soleus["edge_cut"] == "true"
    assert "14 structures" in out  # seven per leg, "Peroneus" as the lateral compartment


# ---------------------------------------------------------------------------------------------
# End to end


def test_quantify_command_end_to_end(leg: Path, tmp_path: Path, capsys) -> None:
    mapping = tmp_path / "peroneus.txt"
    mapping.write_text("21 = fibularis longus right\n22 = fibularis longus left\n")
    out = tmp_path / "out"
    code, stdout, err = _run(
        leg, capsys,
        "--dixon", str(leg / "water.nii.gz"), str(leg / "fat.nii.gz"), "--dti", str(leg / "DTI-tensor.nii.gz"),
        "--map", f"T2={leg / 'water.nii.gz'}:au", "--erode", "2", "--label-map", str(mapping), out=out,
    )  # fmt: skip
    assert code == 0, err
    assert "14 structures × 7 maps" in stdout
    with (out / "quantities.csv").open() as handle:
        reader = csv.reader(handle)
        header = next(reader)
        rows = list(reader)
    assert header[: len(EXPECTED_COLUMNS)] == EXPECTED_COLUMNS and header[len(EXPECTED_COLUMNS) :] == ["edge_cut"]
    assert list(COLUMNS) == header
    assert len(rows) == 14 * 7 * 2
    assert {r[header.index("erosion_voxels")] for r in rows} == {"0", "2"}
    fibularis = [r for r in rows if r[0] == "leg/fibularis-longus" and r[3] == "fat_fraction"]
    assert len(fibularis) == 4 and {r[2] for r in fibularis} == {"21", "22"}
    records = json.loads((out / "quantities.json").read_text())
    assert len(records) == len(rows) and all(list(r)[:16] == header for r in records)
    with (out / "profiles.csv").open() as handle:
        profile_header = next(csv.reader(handle))
    assert profile_header[:8] == ["structure", "side", "map", "unit", "erosion_voxels", "slice", "position_mm", "area_mm2"]
    histograms = json.loads((out / "histograms.json").read_text())
    assert {m["name"] for m in histograms["maps"]} == {"fat_fraction", "MD", "FA", "lambda1", "lambda2", "lambda3", "T2"}
    assert len(histograms["histograms"]) == 14 * 7


def test_pooled_labels_are_one_structure(leg: Path, opened, tmp_path: Path) -> None:
    source, _matches = opened
    from muscle_atlas.anatomy.mapping import read_mapping

    mapping = tmp_path / "pool.txt"
    mapping.write_text("13 = soleus left\n")  # label 13 joins 18 (a deliberately wrong, pooled name)
    pooled = match_labels(source.label_names(), read_mapping(mapping))
    result = quantify(source.volume, pooled, MapSpecs(dti=leg / "DTI-tensor.nii.gz"))
    rows = [r for r in result.rows if r["structure"] == "leg/soleus" and r["side"] == "left" and r["map"] == "MD"]
    assert [r["label"] for r in rows] == ["13+18", "13+18"]
    counts = source.volume.label_counts()
    assert rows[0]["n_voxels"] <= counts[13] + counts[18]
    assert not any(r["structure"] == "leg/gastrocnemius-medial-head" and r["side"] == "right" for r in result.rows)
