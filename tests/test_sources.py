"""Readers: volumes in any orientation, one-hot stacks, label tables and mesh folders."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import trimesh

from muscle_atlas.commands.inspect import inspect_source
from muscle_atlas.errors import LabelTableError, SourceError
from muscle_atlas.sources import open_source, read_label_table
from muscle_atlas.sources.labels import totalsegmentator_tasks
from muscle_atlas.sources.volume import read_volume


def _block_volume() -> np.ndarray:
    data = np.zeros((10, 12, 8), dtype=np.int16)
    data[2:5, 3:9, 1:7] = 3  # 3*6*6 = 108 voxels
    data[6:9, 2:4, 2:4] = 7  # 12 voxels
    return data


def _save(tmp_path: Path, data: np.ndarray, affine: np.ndarray, name: str = "seg.nii.gz") -> Path:
    path = tmp_path / name
    nib.save(nib.Nifti1Image(data, affine), path)
    return path


def test_ras_volume_counts_volumes_and_world_bounds(tmp_path: Path) -> None:
    affine = np.diag([2.0, 2.0, 3.0, 1.0])
    affine[:3, 3] = [-10, 20, 5]
    source = open_source(_save(tmp_path, _block_volume(), affine))
    rows = {r.label: r for r in inspect_source(source).rows}
    assert rows[3].count == 108
    assert rows[3].volume_ml == pytest.approx(108 * 12 / 1000)
    # voxel i spans [i-0.5, i+0.5] in index space → x from -10 + 2*1.5 to -10 + 2*4.5
    assert rows[3].bbox_min_mm == pytest.approx([-7.0, 25.0, 6.5])
    assert rows[3].bbox_max_mm == pytest.approx([-1.0, 37.0, 24.5])


def test_lps_storage_gives_the_same_world_box_as_ras(tmp_path: Path) -> None:
    data = _block_volume()
    ras_affine = np.diag([2.0, 2.0, 3.0, 1.0])
    ras = {r.label: r for r in inspect_source(open_source(_save(tmp_path, data, ras_affine, "a.nii"))).rows}
    # Store the same voxels flipped in x and y (LPS order) with the matching affine.
    flipped = data[::-1, ::-1, :].copy()
    lps_affine = np.diag([-2.0, -2.0, 3.0, 1.0])
    lps_affine[:3, 3] = [2.0 * (data.shape[0] - 1), 2.0 * (data.shape[1] - 1), 0]
    lps = {r.label: r for r in inspect_source(open_source(_save(tmp_path, flipped, lps_affine, "b.nii"))).rows}
    assert lps[3].bbox_min_mm == pytest.approx(ras[3].bbox_min_mm)
    assert lps[3].bbox_max_mm == pytest.approx(ras[3].bbox_max_mm)
    assert lps[3].volume_ml == pytest.approx(ras[3].volume_ml)


def test_oblique_affine_volume_uses_the_determinant(tmp_path: Path) -> None:
    angle = np.deg2rad(30)
    rot = np.array([[np.cos(angle), -np.sin(angle), 0], [np.sin(angle), np.cos(angle), 0], [0, 0, 1]])
    affine = np.eye(4)
    affine[:3, :3] = rot @ np.diag([1.5, 1.5, 4.0])
    volume = read_volume(_save(tmp_path, _block_volume(), affine))
    assert volume.voxel_volume_mm3 == pytest.approx(9.0)
    assert volume.voxel_size_mm == pytest.approx((1.5, 1.5, 4.0))


def test_one_hot_stack_becomes_labels(tmp_path: Path) -> None:
    stack = np.zeros((6, 6, 6, 2), dtype=np.uint8)
    stack[1:3, 1:3, 1:3, 0] = 1
    stack[3:5, 3:5, 3:5, 1] = 1
    volume = read_volume(_save(tmp_path, stack, np.eye(4)))
    assert volume.one_hot
    assert volume.label_counts() == {1: 8, 2: 8}


def test_integer_valued_float_volume_is_accepted(tmp_path: Path) -> None:
    volume = read_volume(_save(tmp_path, _block_volume().astype(np.float32), np.eye(4)))
    assert volume.label_counts() == {3: 108, 7: 12}


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.int32, np.int64])
def test_label_boxes_and_counts_match_a_search_of_every_voxel(dtype) -> None:
    """The labelled-box crop and the fast paths give each value's exact box and count, whatever
    the values (negative, zero, large) and the array's memory order."""
    from muscle_atlas.sources.volume import LabelVolume, label_boxes

    rng = np.random.default_rng(7)
    data = np.zeros((30, 20, 12), dtype=dtype)
    values = [1, 2, 5, 200] + ([-3, 40_000, 2_000_000_000] if np.iinfo(dtype).max > 2**31 else [])
    values += [-3] if np.iinfo(dtype).min < 0 and -3 not in values else []
    for v in values:
        corner = rng.integers(0, [25, 15, 8])
        data[tuple(slice(c, c + int(rng.integers(1, 5))) for c in corner)] = v
    for array in (data, np.asfortranarray(data)):
        wanted = [v for v in values if v > 0]
        expected = {}
        for v in wanted:
            where = np.nonzero(array == v)
            if where[0].size:
                expected[v] = tuple(slice(int(w.min()), int(w.max()) + 1) for w in where)
        assert label_boxes(array) == expected
        assert label_boxes(array, wanted[:2]) == {v: expected[v] for v in wanted[:2] if v in expected}
        counts = {int(v): int((array == v).sum()) for v in np.unique(array) if v != 0}
        assert LabelVolume(Path("x.nii"), array, np.eye(4)).label_counts() == counts
    assert label_boxes(np.zeros((3, 3, 3), dtype)) == {}


def test_a_volume_counts_and_boxes_its_current_data() -> None:
    """Counts and boxes are computed once per array: a volume whose data is replaced (the side
    split does so) gives the new array's, and what a caller does to the dicts changes nothing."""
    from muscle_atlas.sources.volume import LabelVolume

    volume = LabelVolume(Path("x.nii"), _block_volume(), np.eye(4))
    counts, boxes = volume.label_counts(), volume.label_boxes()
    assert counts == {3: 108, 7: 12}
    assert boxes == {3: (slice(2, 5), slice(3, 9), slice(1, 7)), 7: (slice(6, 9), slice(2, 4), slice(2, 4))}
    counts.clear()
    boxes.clear()
    assert volume.label_counts() == {3: 108, 7: 12} and set(volume.label_boxes()) == {3, 7}
    relabelled = volume.data.copy()
    relabelled[relabelled == 7] = 9
    relabelled[0, 0, 0] = 4
    volume.data = relabelled
    assert volume.label_counts() == {3: 108, 4: 1, 9: 12}
    assert volume.label_boxes()[4] == (slice(0, 1), slice(0, 1), slice(0, 1))
    assert volume.label_boxes()[9] == (slice(6, 9), slice(2, 4), slice(2, 4))


def test_disconnected_pieces_are_reported(tmp_path: Path) -> None:
    data = _block_volume()
    data[0, 0, 0] = 7
    rows = {r.label: r for r in inspect_source(open_source(_save(tmp_path, data, np.eye(4)))).rows}
    assert rows[7].pieces == 2
    assert "2 disconnected pieces" in rows[7].warnings
    assert rows[3].warnings == []


def test_table_mismatches_are_reported(tmp_path: Path) -> None:
    table = tmp_path / "labels.tsv"
    table.write_text("label\tname\n3\tsoleus_left\n9\tgone\n")
    rows = {r.label: r for r in inspect_source(open_source(_save(tmp_path, _block_volume(), np.eye(4)), table)).rows}
    assert rows[3].name == "soleus_left" and rows[3].warnings == []
    assert rows[7].warnings == ["label present in the volume but absent from the table"]
    assert rows[9].warnings == ["table entry absent from the volume"]


# --- label tables -----------------------------------------------------------------------------

ITKSNAP = """################################################
# ITK-SnAP Label Description File
    0     0    0    0        0  0  0    "Clear Label"
    5   255   38    0        1  1  1    "5 Soleus Left"
    6   143  188  143     0.5  0  1    "6 Soleus Right"
"""
SLICER = """# Color table file /tmp/x.ctbl
# 3 values
0 Background 0 0 0 0
1 soleus 255 0 0 255
2 tibia 200 200 200 128
"""
FREESURFER = """#$Id: FreeSurferColorLUT.txt
#No. Label Name:                            R   G   B   A
0   Unknown                                 0   0   0   0
7   Left-Cerebellum-White-Matter            220 248 164 0
"""
CSV = "value,name,r,g,b\n1,Soleus,255,0,0\n2,Tibia,200,200,200\n"
BIDS = json.dumps({"Labels": [{"Value": 1, "Name": "soleus"}, {"Value": 2, "Name": "gastrocnemius"}]})


@pytest.mark.parametrize(
    ("name", "text", "fmt", "value", "label", "color", "opacity"),
    [
        ("leg.txt", ITKSNAP, "itksnap", 6, "6 Soleus Right", (143, 188, 143), 0.5),
        ("x.ctbl", SLICER, "slicer", 2, "tibia", (200, 200, 200), 128 / 255),
        ("lut.txt", FREESURFER, "freesurfer", 7, "Left-Cerebellum-White-Matter", (220, 248, 164), 1.0),
        ("t.csv", CSV, "csv", 1, "Soleus", (255, 0, 0), None),
        ("seg.json", BIDS, "json", 2, "gastrocnemius", None, None),
        ("no-extension", ITKSNAP, "itksnap", 5, "5 Soleus Left", (255, 38, 0), 1.0),
    ],
)
def test_label_table_formats_detected_by_content(
    tmp_path: Path, name: str, text: str, fmt: str, value: int, label: str, color, opacity
) -> None:
    path = tmp_path / name
    path.write_text(text)
    table = read_label_table(path)
    assert table.format == fmt
    entry = table.entries[value]
    assert entry.name == label
    assert entry.color == color
    assert entry.opacity == (pytest.approx(opacity) if opacity is not None else None)
    assert 0 not in table.entries


def test_itksnap_tolerates_what_itksnap_tolerates(tmp_path: Path) -> None:
    path = tmp_path / "body.txt"
    path.write_text(ITKSNAP + '  314  1 2 3  1 1 1 "314 Iliacus"# 4. Hip\n  415 1 2 3 1 1 1 "415 Gluteus Maximus\n')
    table = read_label_table(path)
    assert table.entries[314].name == "314 Iliacus"
    assert table.entries[415].name == "415 Gluteus Maximus"
    assert table.warnings == ["line 6: comment after the label ignored", "line 7: label has no closing quote"]


def test_itksnap_visibility_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "leg.txt"
    path.write_text(ITKSNAP)
    table = read_label_table(path)
    assert table.entries[5].visible and not table.entries[6].visible


def test_totalsegmentator_task_maps_are_shipped() -> None:
    assert {"total", "total_mr", "thigh_shoulder_muscles", "appendicular_bones"} <= set(totalsegmentator_tasks())
    table = read_label_table("totalsegmentator:total_mr")
    assert table.entries[40].name == "gluteus_maximus_left"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (ITKSNAP + '    7   1 2 3 1 1 "broken\n', "line 6: expected IDX R G B A VIS MSH"),
        (ITKSNAP + "    7   1 2 3 1 1 1\n", "line 6: expected IDX R G B A VIS MSH"),
        (ITKSNAP + '    7   1 2 3 1 1 1 "a" b\n', "line 6: unexpected text after the label"),
        (ITKSNAP + '    x   1 2 3 1 1 1 "a"\n', "line 6: IDX, A and VIS must be numbers"),
        (ITKSNAP + '    5   1 2 3 1 1 1 "dup"\n', "line 6: label 5 is defined twice"),
        ("label\tname\n1\tsoleus\nx\ttibia\n", "line 3: label value 'x' is not an integer"),
        ("label\tname\n1\t\n", "line 2: empty name"),
        ("id,colour\n1,red\n", "line 1: header must name"),
        ('{"Labels": [{"Value": "a", "Name": "x"}]}', "Labels[1]: label value 'a'"),
        ('{"Labels": [', "line 1: invalid JSON"),
        ("just some words\n", "not a label table"),
    ],
)
def test_malformed_label_tables_name_the_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.txt"
    path.write_text(text)
    with pytest.raises(LabelTableError) as info:
        read_label_table(path)
    assert str(path) in str(info.value)
    assert message in str(info.value)


# --- meshes -----------------------------------------------------------------------------------


def test_mesh_folder_names_volume_and_open_mesh(tmp_path: Path) -> None:
    box = trimesh.creation.box(extents=(10, 20, 30))
    box.export(tmp_path / "VHF_Left_Muscle_Box_smooth.stl")
    sphere = trimesh.creation.icosphere(radius=5)
    open_sphere = trimesh.Trimesh(sphere.vertices, sphere.faces[:-3])
    open_sphere.export(tmp_path / "open.ply")
    two = trimesh.util.concatenate([box, box.copy().apply_translation((100, 0, 0))])
    two.export(tmp_path / "two.obj")
    rows = {r.name: r for r in inspect_source(open_source(tmp_path)).rows}
    assert rows["VHF_Left_Muscle_Box_smooth"].volume_ml == pytest.approx(6.0)
    assert rows["VHF_Left_Muscle_Box_smooth"].bbox_min_mm == pytest.approx([-5, -10, -15])
    assert rows["open"].volume_ml is None
    assert any("open mesh" in w for w in rows["open"].warnings)
    assert rows["two"].pieces == 2


# --- bad input: one clear error per case --------------------------------------------------------


def _bad_sources(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    cases: dict[str, tuple[Path, str]] = {}
    cases["missing"] = (tmp_path / "nope.nii.gz", "no such file")
    not_nifti = tmp_path / "image.nii.gz"
    not_nifti.write_bytes(gzip.compress(b"this is not a nifti header" * 20))
    cases["not nifti"] = (not_nifti, "not a NIfTI file")
    good = _save(tmp_path, _block_volume(), np.eye(4), "good.nii.gz")
    truncated = tmp_path / "truncated.nii.gz"
    truncated.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])
    cases["truncated"] = (truncated, "truncated or corrupt")
    noisy = np.random.default_rng(1).integers(0, 20, (40, 40, 40)).astype(np.int16)
    big = _save(tmp_path, noisy, np.eye(4), "big.nii.gz")
    truncated_data = tmp_path / "truncated-data.nii.gz"
    truncated_data.write_bytes(big.read_bytes()[: len(big.read_bytes()) // 2])
    cases["truncated data"] = (truncated_data, "truncated or corrupt")
    cases["2d"] = (_save(tmp_path, np.zeros((5, 5), np.uint8), np.eye(4), "flat.nii"), "a 2D image")
    floats = np.random.default_rng(0).random((4, 4, 4)).astype(np.float32)
    cases["float"] = (_save(tmp_path, floats, np.eye(4), "mri.nii.gz"), "non-integer label values")
    ct = np.random.default_rng(2).integers(-1024, 2000, (12, 12, 12)).astype(np.int16)
    cases["ct image"] = (_save(tmp_path, ct, np.eye(4), "ct.nii.gz"), "looks like an image")
    stl_dir = tmp_path / "empty-stl"
    stl_dir.mkdir()
    (stl_dir / "soleus.stl").write_bytes(b"")
    cases["empty stl"] = (stl_dir, "empty mesh file")
    corrupt_dir = tmp_path / "corrupt-stl"
    corrupt_dir.mkdir()
    (corrupt_dir / "soleus.stl").write_bytes(b"solid x\nfacet normal 0 0 1\nouter loop\nvertex 1 2\n")
    cases["corrupt stl"] = (corrupt_dir, "soleus.stl")
    empty = tmp_path / "empty"
    empty.mkdir()
    cases["empty folder"] = (empty, "no mesh files")
    return cases


@pytest.mark.parametrize(
    "case",
    [
        "missing",
        "not nifti",
        "truncated",
        "truncated data",
        "2d",
        "float",
        "empty stl",
        "corrupt stl",
        "empty folder",
    ],
)
def test_bad_sources_raise_one_clear_error(tmp_path: Path, case: str) -> None:
    path, message = _bad_sources(tmp_path)[case]
    with pytest.raises(SourceError) as info:
        open_source(path)
    assert message in str(info.value)
    assert str(path) in str(info.value) or case == "corrupt stl"
