"""Both sides in one label or one mesh: split by position, measured per side (issue #19).

Synthetic cases pin each rule of :mod:`muscle_atlas.geometry.sides`; the real data sets check
the numbers against independent computations: a thigh-cohort label volume (one label per muscle
for both legs) against a per-side voxel count, and a glTF made here from the VHF meshes (each
muscle's right copy and its mirrored, inward-wound left copy in one node) against the STLs."""

from __future__ import annotations

import csv
import json
import re
from collections import defaultdict
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import trimesh
from scipy import ndimage

from muscle_atlas.anatomy.match import MatchResult
from muscle_atlas.anatomy.tree import load_tree
from muscle_atlas.cli import main
from muscle_atlas.geometry.sides import split_sides
from muscle_atlas.sources import Source
from muscle_atlas.sources.meshes import MeshFile
from muscle_atlas.sources.volume import LabelVolume

FAST = ["--views", "4", "--size", "96", "--no-ssaa", "--triangles", "1500", "--jobs", "2"]  # as conftest.thigh_site


def _match(key: str, path: str, side: str | None = None) -> MatchResult:
    structure = load_tree().by_path[path]
    return MatchResult(key, structure.name, "matched", side, structure.code, path, structure.name, structure.kind)


def _volume(data: np.ndarray) -> LabelVolume:
    affine = np.diag([4.0, 2.0, 5.0, 1.0])
    affine[:3, 3] = [-80.0, 0.0, 0.0]  # x = −80 + 4 i: the midline (x = 0) at i = 20
    return LabelVolume(Path("labels.nii.gz"), data, affine)


def _assert_counts_and_boxes_are_the_arrays(volume: LabelVolume) -> None:
    """The label counts and boxes the split hands over are what counting its new array gives."""
    fresh = LabelVolume(volume.path, volume.data, volume.affine)
    assert volume.label_counts() == fresh.label_counts()
    assert volume.label_boxes() == fresh.label_boxes()
    for value, box in volume.label_boxes().items():  # and each box is the tight one
        index = np.argwhere(volume.data == value)
        assert box == tuple(
            slice(int(lo), int(hi) + 1) for lo, hi in zip(index.min(axis=0), index.max(axis=0), strict=True)
        ), value


def _sides_of(matches: list[MatchResult]) -> dict[str, set[str | None]]:
    found: dict[str, set[str | None]] = defaultdict(set)
    for m in matches:
        found[m.path or ""].add(m.side)
    return dict(found)


# ---------------------------------------------------------------------------------------------
# The rules, on small synthetic sources


def test_a_label_on_both_legs_becomes_a_left_and_a_right_label() -> None:
    data = np.zeros((40, 10, 8), np.uint8)
    data[4:12, 2:8, 1:7] = 1  # soleus, both legs (x −64…−36 and +32…+60)
    data[28:36, 2:8, 1:7] = 1
    data[5:11, 8:10, 2:6] = 2  # tibialis anterior, both legs
    data[29:35, 8:10, 2:6] = 2
    data[30:34, 0:2, 2:6] = 3  # gastrocnemius medial head: the right leg only
    volume = _volume(data)
    original = data.copy()
    matches = [_match("1", "leg/soleus"), _match("2", "leg/tibialis-anterior"),
               _match("3", "leg/gastrocnemius-medial-head")]  # fmt: skip
    result, split = split_sides(Source(volume.path, volume=volume), matches)
    assert split.two_sides and split.midline_x == pytest.approx(0.0, abs=2.0)
    assert _sides_of(result) == {"leg/soleus": {"left", "right"}, "leg/tibialis-anterior": {"left", "right"},
                                 "leg/gastrocnemius-medial-head": {"right"}}  # fmt: skip
    assert np.array_equal(data, original)  # the caller's array is not written to
    for m in result:
        voxels = np.argwhere(volume.data == int(m.key))
        x = voxels[:, 0] * 4.0 - 80.0
        assert len(voxels) and ((x < 0).all() if m.side == "left" else (x > 0).all()), m
        assert m.origin in {"1", "2", "3"} and volume.data[tuple(voxels[0])] == int(m.key)
    assert (volume.data > 0).sum() == (original > 0).sum()
    assert "Soleus (label 1): 2 pieces → left (288 voxels), right (288 voxels)" in split.lines
    _assert_counts_and_boxes_are_the_arrays(volume)


def test_a_side_of_several_pieces_gets_the_box_around_them_all() -> None:
    data = np.zeros((40, 12, 10), np.uint8)
    data[4:12, 2:8, 1:7] = 1  # soleus: the left leg in two pieces, one higher and further back
    data[6:9, 9:12, 8:10] = 1
    data[28:36, 2:8, 1:7] = 1  # and the right leg in one
    data[5:11, 0:2, 2:6] = 2  # tibialis anterior, both legs
    data[29:35, 0:2, 2:6] = 2
    volume = _volume(data)
    result, split = split_sides(Source(volume.path, volume=volume), [_match("1", "leg/soleus"),
                                                                     _match("2", "leg/tibialis-anterior")])  # fmt: skip
    assert split.two_sides
    left = next(m for m in result if m.path == "leg/soleus" and m.side == "left")
    assert volume.label_boxes()[int(left.key)] == (slice(4, 12), slice(2, 12), slice(1, 10))
    assert volume.label_counts()[int(left.key)] == 8 * 6 * 6 + 3 * 3 * 2
    _assert_counts_and_boxes_are_the_arrays(volume)


def test_two_legs_touching_in_one_piece_are_cut_at_the_midline_but_a_trunk_muscle_stays_one() -> None:
    data = np.zeros((40, 10, 8), np.uint8)
    data[4:20, 2:8, 1:7] = 1  # the adductor magnus of both legs, touching at the midline
    data[20:36, 2:8, 1:7] = 1
    data[10:30, 0:2, 2:5] = 2  # rectus abdominis: one piece across the midline
    data[6:12, 8:10, 1:7] = 3  # soleus, both legs: mirrored
    data[28:34, 8:10, 1:7] = 3
    volume = _volume(data)
    matches = [_match("1", "thigh/adductor-magnus"), _match("2", "abdomen/rectus-abdominis"), _match("3", "leg/soleus")]
    result, split = split_sides(Source(volume.path, volume=volume), matches)
    sides = _sides_of(result)
    assert sides["thigh/adductor-magnus"] == {"left", "right"}
    assert sides["abdomen/rectus-abdominis"] == {None}
    left = next(m for m in result if m.path == "thigh/adductor-magnus" and m.side == "left")
    assert (volume.data == int(left.key)).sum() == 16 * 6 * 6
    assert any("across the midline cut there" in line for line in split.lines)
    _assert_counts_and_boxes_are_the_arrays(volume)
    assert any("Rectus abdominis" in line and "kept as one unsided structure" in line for line in split.lines)


def test_one_leg_with_two_pieces_per_label_is_not_split() -> None:
    """One leg: the pieces of a muscle lie side by side but mirror nothing (a guessed midline
    through the leg would make a left and a right half of one leg)."""
    data = np.zeros((40, 12, 10), np.uint8)
    data[20:26, 2:10, 0:10] = 1  # soleus, two pieces of different sizes and heights
    data[30:33, 2:10, 0:4] = 1
    data[22:30, 0:2, 2:8] = 2  # tibialis anterior, in front
    data[30:34, 10:12, 5:10] = 3  # one head, behind and higher
    data[20:24, 10:12, 1:4] = 3
    volume = _volume(data)
    matches = [_match("1", "leg/soleus"), _match("2", "leg/tibialis-anterior"),
               _match("3", "leg/gastrocnemius-medial-head")]  # fmt: skip
    result, split = split_sides(Source(volume.path, volume=volume), matches)
    assert not split.two_sides and result == matches
    assert split.lines == [f"sides: nothing split by position ({split.basis})"]


def test_a_side_in_the_name_wins_over_position() -> None:
    data = np.zeros((40, 10, 8), np.uint8)
    data[4:12, 2:8, 1:7] = 1  # named "soleus right" but lies on the left: the name wins
    data[28:36, 2:8, 1:7] = 2
    data[5:11, 8:10, 2:6] = 3  # unsided, both legs
    data[29:35, 8:10, 2:6] = 3
    volume = _volume(data)
    matches = [_match("1", "leg/soleus", "right"), _match("2", "leg/soleus", "left"), _match("3", "leg/tibialis-anterior")]
    result, _ = split_sides(Source(volume.path, volume=volume), matches)
    assert [m for m in result if m.path == "leg/soleus"] == matches[:2]
    assert _sides_of(result)["leg/tibialis-anterior"] == {"left", "right"}


def test_mirrored_mesh_copies_are_turned_outward_and_split() -> None:
    right = trimesh.creation.box(extents=(40, 30, 200), transform=trimesh.transformations.translation_matrix((120, 0, 0)))
    left = right.copy()
    left.apply_transform(np.diag([-1.0, 1, 1, 1]))  # mirrored: trimesh keeps it outward...
    left.invert()  # ... as exports do not: the copy winds inward
    both = trimesh.util.concatenate([right, left])
    with np.errstate(divide="ignore", invalid="ignore"):
        assert abs(both.volume) < 1e-6  # the two signed volumes cancel
    calf = trimesh.creation.box(extents=(30, 30, 150), transform=trimesh.transformations.translation_matrix((100, 40, -250)))
    calf_left = calf.copy()
    calf_left.apply_transform(np.diag([-1.0, 1, 1, 1]))
    sheet = trimesh.creation.box(extents=(300, 10, 10), transform=trimesh.transformations.translation_matrix((0, -60, 300)))
    meshes = [MeshFile("vastus_lateralis", Path("x.glb"), both),
              MeshFile("soleus", Path("x.glb"), trimesh.util.concatenate([calf, calf_left])),
              MeshFile("diaphragm", Path("x.glb"), sheet)]  # fmt: skip
    matches = [_match("vastus_lateralis", "thigh/vastus-lateralis"), _match("soleus", "leg/soleus"),
               MatchResult("diaphragm", "diaphragm", "context", kind="muscle")]  # fmt: skip
    source = Source(Path("x.glb"), meshes=meshes)
    result, split = split_sides(source, matches)
    assert split.inverted == 1 and any("1 closed piece wound inward" in line for line in split.lines)
    by_key = {m.name: m for m in source.meshes}
    assert set(by_key) == {"vastus_lateralis:left", "vastus_lateralis:right", "soleus:left", "soleus:right", "diaphragm"}
    for side in ("left", "right"):
        piece = by_key[f"vastus_lateralis:{side}"].mesh
        assert piece.volume == pytest.approx(40 * 30 * 200) and (piece.vertices[:, 0] < 0).all() == (side == "left")
    assert {m.key: m.side for m in result if m.path == "thigh/vastus-lateralis"} == {
        "vastus_lateralis:left": "left", "vastus_lateralis:right": "right"}  # fmt: skip


# ---------------------------------------------------------------------------------------------
# A thigh-cohort segmentation: one label per muscle for both legs


def _independent_sides(path: Path, names: dict[int, str]) -> dict[tuple[str, str], float]:
    """(name, side) → mL, computed apart from the tool: face-connected components of each
    label, each to the side of the body its mean x lies on, the midline taken halfway between
    the two legs' centres of mass (k-means with two centres along x)."""
    image = nib.load(path)
    data = np.asarray(image.dataobj)
    affine = image.affine
    xs = (np.argwhere(data > 0) @ affine[:3, :3].T + affine[:3, 3])[:, 0]
    centres = np.percentile(xs, [25, 75])
    for _ in range(20):
        nearest = np.abs(xs[:, None] - centres[None, :]).argmin(axis=1)
        centres = np.array([xs[nearest == k].mean() for k in (0, 1)])
    midline = centres.mean()
    voxel_ml = abs(np.linalg.det(affine[:3, :3])) / 1000
    out: dict[tuple[str, str], float] = defaultdict(float)
    for value, name in names.items():
        components, count = ndimage.label(data == value)
        for k in range(1, count + 1):
            index = np.argwhere(components == k)
            x = (index @ affine[:3, :3].T + affine[:3, 3])[:, 0].mean()
            out[(name, "right" if x > midline else "left")] += len(index) * voxel_ml
    return dict(out)


def _measures(site: Path) -> dict[tuple[str, str], dict]:
    with (site / "data" / "measures.csv").open() as handle:
        return {(row["name"], row["side"]): row for row in csv.DictReader(handle)}


def test_thigh_cohort_build_measures_each_leg_as_an_independent_count_does(
    thigh: tuple[Path, Path], thigh_site: Path, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    segmentation, table = thigh
    names = {int(r["index"]): r["name"] for r in csv.DictReader(table.open(), delimiter="\t")}
    expected = _independent_sides(segmentation, names)
    rows = _measures(thigh_site)
    assert len(expected) == 22 and {side for _, side in rows} == {"left", "right"}
    by_name = {r["name"].replace(",", "").lower(): r for r in rows.values()}
    for (name, side), ml in expected.items():
        row = rows[next(k for k in rows if k[1] == side and k[0].replace(",", "").lower() == name.lower())]
        assert float(row["volume_mL"]) == pytest.approx(ml, rel=1e-6, abs=1e-3), (name, side)
        assert row["asymmetry_volume_pct"] != ""
        assert 0 < float(row["max_cross_section_cm2"]) < 80  # one thigh's muscle, not a plane through two
    assert by_name
    # inspect gives the same volume for the same structure and side.
    assert main(["inspect", str(segmentation), "--labels", str(table), "--json"]) == 0
    inspected = json.loads(capsys.readouterr().out)
    for row in inspected["rows"]:
        assert row["side"] in ("left", "right")
        assert row["volume_ml"] == pytest.approx(expected[(names[row["label"]], row["side"])], abs=1e-3)
    assert any(re.fullmatch(r"Vastus lateralis \(label 3\): \d+ pieces → left \(\d+ voxels\), right \(\d+ voxels\)", line)
               for line in inspected["orientation"])  # fmt: skip


def test_thigh_cohort_page_has_the_side_switch_and_per_side_measures(thigh_site: Path) -> None:
    html = (thigh_site / "muscle/thigh/vastus-lateralis/index.html").read_text()
    assert 'class="side-switch"' in html
    for variant in ("both", "left", "right"):
        assert f"thigh-vastus-lateralis-{variant}.mp4" in html
    assert "Volume (left)" in html and "Volume (right)" in html and "Volume asymmetry" in html
    rows = _measures(thigh_site)
    for side in ("left", "right"):
        shown = f"{float(rows[('Vastus lateralis', side)]['volume_mL']):.1f}"
        assert shown in html, (side, shown)
    # Each side is a node of its own in the scene's model, which the page colours per side.
    glb = (thigh_site / "assets/renders/thigh-both-scene.glb").read_bytes()
    length = int.from_bytes(glb[12:16], "little")
    nodes = {n.get("name", "") for n in json.loads(glb[20 : 20 + length])["nodes"]}
    highlights = [set(json.loads(h.replace("&#34;", '"'))) for h in re.findall(r'data-model-highlight="([^"]*)"', html)]
    left, right = highlights[-2:]  # the Left and Right views' models, after Both's
    assert len(left) == len(right) == 1 and left != right and left | right <= nodes


# ---------------------------------------------------------------------------------------------
# A whole-body-style glTF made from the VHF meshes: both copies of a muscle in one node


def _vhf_pairs(vhf: Path) -> dict[str, tuple[Path, Path]]:
    pairs = {}
    for left in sorted((vhf / "Left").glob("VHF_Left_Muscle_*_smooth.stl")):
        name = left.name.removeprefix("VHF_Left_Muscle_").removesuffix("_smooth.stl")
        right = vhf / "Right" / left.name.replace("Left", "Right")
        if right.is_file():
            pairs[name] = (left, right)
    return pairs


@pytest.fixture(scope="module")
def merged_glb(vhf: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, dict[str, float]]]:
    """One node per VHF muscle: the right copy and the left one with its triangles reversed
    (inward), as whole-body exports have them; in glTF's frame (metres, +Y up, +Z anterior)."""
    to_gltf = np.array([[-1.0, 0, 0, 0], [0, 0, 1, 0], [0, 1, 0, 0], [0, 0, 0, 1]]) @ np.diag([1e-3, 1e-3, 1e-3, 1])
    scene = trimesh.Scene()
    volumes: dict[str, dict[str, float]] = {}
    for name, (left_path, right_path) in _vhf_pairs(vhf).items():
        left, right = trimesh.load_mesh(left_path), trimesh.load_mesh(right_path)
        volumes[name] = {"left": abs(left.volume) / 1000, "right": abs(right.volume) / 1000}
        left.invert()
        merged = trimesh.util.concatenate([right, left])
        merged.apply_transform(to_gltf)
        scene.add_geometry(merged, node_name=name, geom_name=name)
    path = tmp_path_factory.mktemp("merged") / "vhf-merged.glb"
    path.write_bytes(scene.export(file_type="glb"))
    return path, volumes


def test_merged_glb_inspect_gives_each_side_the_stl_volume(merged_glb, capsys: pytest.CaptureFixture[str]) -> None:
    path, volumes = merged_glb
    assert len(volumes) >= 30
    assert main(["inspect", str(path), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    rows = {(r["name"], r["side"]): r for r in result["rows"]}
    for name, sides in volumes.items():
        for side, ml in sides.items():
            assert rows[(name, side)]["volume_ml"] == pytest.approx(ml, rel=0.01), (name, side)
    assert any(re.match(r"sides: \d+ closed pieces wound inward", line) for line in result["orientation"])


def test_merged_glb_build_measures_each_side_as_inspect_does(merged_glb, tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    path, volumes = merged_glb
    site = tmp_path / "site"
    assert main(["build", str(path), "-o", str(site), *FAST, "--sides", "each"]) == 0
    out = capsys.readouterr().out
    assert "Soleus: 2 pieces → left, right" in out
    assert main(["inspect", str(path), "--json"]) == 0
    inspected = {(r["name"], r["side"]): r["volume_ml"] for r in json.loads(capsys.readouterr().out)["rows"]}
    with (site / "data" / "measures.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert rows and all(r["side"] in ("left", "right") for r in rows)
    for row in rows:
        assert float(row["volume_mL"]) > 0
        labels = row["label"].split("+")
        assert float(row["volume_mL"]) == pytest.approx(sum(inspected[(k, row["side"])] for k in labels), abs=2e-3)
        if len(labels) == 1:
            assert float(row["volume_mL"]) == pytest.approx(volumes[labels[0]][row["side"]], rel=0.01)
    soleus = (site / "muscle/leg/soleus/index.html").read_text()
    assert "Volume asymmetry" in soleus and 'class="side-switch"' in soleus


# ---------------------------------------------------------------------------------------------
# The shared whole-body model: every muscle node holds both sides


def test_whole_body_model_sides_and_volumes(data: Path) -> None:
    from muscle_atlas.subject import SubjectRequest, measure_all, open_subject, structure_volumes, surfaces_of

    subject = open_subject(SubjectRequest(str(data / "zanatomy-whole-body" / "muscular.glb")))
    assert subject.sides.two_sides and subject.sides.midline_x == pytest.approx(0.0, abs=5.0)
    assert subject.sides.inverted > 100
    surfaces = surfaces_of(subject, threads=2)
    volumes = structure_volumes(subject, surfaces)
    rows = measure_all(surfaces, subject.matches, closed_only=True)
    tree = load_tree()
    by = {(r["structure"], r["side"]): r for r in rows}
    for row in rows:
        assert row["volume_mL"] is None or row["volume_mL"] > 0, row
        if tree.by_path[row["structure"]].limb.slug in ("upper-limb", "lower-limb"):
            assert row["side"] in ("left", "right"), row  # never two limbs as one
    left, right = by[("thigh/vastus-lateralis", "left")], by[("thigh/vastus-lateralis", "right")]
    assert 300 < left["volume_mL"] < 700 and left["volume_mL"] == pytest.approx(right["volume_mL"], rel=0.01)
    assert left["max_cross_section_cm2"] < 60  # one thigh
    assert left["volume_mL"] == pytest.approx(volumes["vastus_lateralis:left"], abs=1e-3)
    assert left["centroid_R_mm"] < 0 < right["centroid_R_mm"]
    diaphragm = [m for m in subject.matches if m.key == "diaphragm"]
    assert diaphragm and diaphragm[0].side is None
    # Independently: every node read again, cut into its connected pieces, each closed piece's
    # unsigned volume added to the side of x = 0 where it lies.
    from muscle_atlas.sources.gltf import read_gltf

    checked = 0
    matched = {m.origin: m for m in subject.matches if m.origin and m.status == "matched"}
    for node in read_gltf(data / "zanatomy-whole-body" / "muscular.glb"):
        pieces = node.mesh.split(only_watertight=False)
        if node.name not in matched or not all(p.is_watertight for p in pieces):
            continue
        expected = {"left": 0.0, "right": 0.0}
        with np.errstate(divide="ignore", invalid="ignore"):
            for piece in pieces:
                expected["left" if piece.triangles_center[:, 0].mean() < 0 else "right"] += abs(piece.volume) / 1000
        for side, ml in expected.items():
            row = by.get((matched[node.name].path, side))
            if row is not None and row["label"] == node.name:  # not pooled with another node
                assert row["volume_mL"] == pytest.approx(ml, rel=0.005, abs=0.01), (node.name, side)
                checked += 1
    assert checked > 150


def _video_frames(path: Path) -> list[np.ndarray]:
    import imageio_ffmpeg

    reader = imageio_ffmpeg.read_frames(str(path))
    width, height = next(reader)["size"]
    return [np.frombuffer(f, np.uint8).reshape(height, width, 3).astype(float) for f in reader]


def test_the_turntable_starts_on_the_still_the_page_opens_on(thigh_site: Path) -> None:
    from PIL import Image

    from muscle_atlas.subject import MANIFEST
    from muscle_atlas.web.publish import cache_dir

    html = (thigh_site / "muscle/thigh/vastus-lateralis/index.html").read_text()
    renders = thigh_site / "assets/renders"
    posters = json.loads(next(cache_dir(thigh_site).rglob(MANIFEST)).read_text())["posters"]

    def nearest(still: Path, frames: list[np.ndarray]) -> int:
        height, width = frames[0].shape[:2]
        image = np.asarray(Image.open(still).convert("RGB").resize((width, height)), float)
        return int(np.argmin([np.abs(image - f).mean() for f in frames]))

    # Both sides: the page opens on a gallery still, and the turntable starts on it.
    opened = re.search(r'poster="[^"]*thigh-vastus-lateralis-both-(\d)\.webp"', html)
    assert opened and int(opened.group(1)) == posters["thigh-vastus-lateralis-both"]
    frames = _video_frames(renders / "thigh-vastus-lateralis-both.mp4")
    assert [nearest(renders / f"thigh-vastus-lateralis-both-{i}.webp", frames) for i in range(1, 5)] == [
        (i - int(opened.group(1))) % 4 for i in range(1, 5)
    ]
    # Each side: its own poster (it shares the Both view's gallery), the first frame of its turntable.
    for side in ("left", "right"):
        poster = renders / f"thigh-vastus-lateralis-{side}-poster.webp"
        assert f'poster="../../../assets/renders/{poster.name}"' in html
        assert nearest(poster, _video_frames(renders / f"thigh-vastus-lateralis-{side}.mp4")) == 0
    # A lateral muscle opens on a lateral view: the left one from the left (2 of 4), the right from the right.
    assert posters["thigh-vastus-lateralis-left"] == 2 and posters["thigh-vastus-lateralis-right"] == 4


def test_maps_of_a_label_holding_both_legs_are_quantified_per_side(data: Path, tmp_path: Path) -> None:
    """The QMRITools leg with each muscle's two labels merged into one: quantify splits them by
    position and gives each side the statistics the sided labels give."""
    leg = data / "qmritools-leg-qmri"
    image = nib.load(leg / "labels.nii.gz")
    labels = np.asarray(image.dataobj)
    merged = np.where((labels > 0) & (labels % 2 == 0), labels - 1, labels).astype(labels.dtype)
    nib.save(nib.Nifti1Image(merged, image.affine, image.header), tmp_path / "merged.nii.gz")
    names = {}
    for line in (leg / "labels.txt").read_text().splitlines():
        if match := re.match(r'\s*(\d+)\s.*"(.+) right"', line):
            names[int(match.group(1))] = match.group(2)
    (tmp_path / "merged.tsv").write_text("label\tname\n" + "".join(f"{v}\t{n}\n" for v, n in names.items()))
    maps = ["--dixon", str(leg / "water.nii.gz"), str(leg / "fat.nii.gz")]
    assert main(["quantify", str(leg / "labels.nii.gz"), "--labels", str(leg / "labels.txt"), *maps,
                 "-o", str(tmp_path / "sided")]) == 0  # fmt: skip
    assert main(["quantify", str(tmp_path / "merged.nii.gz"), "--labels", str(tmp_path / "merged.tsv"), *maps,
                 "-o", str(tmp_path / "split")]) == 0  # fmt: skip

    def rows(folder: str) -> dict[tuple, dict]:
        with (tmp_path / folder / "quantities.csv").open() as handle:
            return {(r["structure"], r["side"], r["map"], r["erosion_voxels"]): r for r in csv.DictReader(handle)}

    sided, split = rows("sided"), rows("split")
    assert len(split) == len(sided) > 0 and {k[1] for k in split} == {"left", "right"}
    for key, row in sided.items():
        assert split[key]["n_voxels"] == row["n_voxels"] and split[key]["median"] == row["median"], key


def test_whole_body_in_another_frame_and_unit_splits_the_same(data: Path, tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    """The whole-body nodes as an STL folder in LPS metres (x to the subject's left, y to the
    back): turned to RAS millimetres first, then split; every side measures as in the glTF."""
    from muscle_atlas.sources.gltf import read_gltf

    source = data / "zanatomy-whole-body" / "muscular.glb"
    folder = tmp_path / "lps"
    folder.mkdir()
    for node in read_gltf(source):
        mesh = node.mesh.copy()
        mesh.vertices = mesh.vertices * np.array([-1.0, -1.0, 1.0]) / 1000.0
        mesh.export(folder / f"{node.name}.stl")
    rows = {}
    for path in (source, folder):
        assert main(["inspect", str(path), "--json"]) == 0
        result = json.loads(capsys.readouterr().out)
        rows[path] = {(r["name"], r["side"]): r for r in result["rows"]}
    assert "frame turned to RAS+" in result["orientation"][0]
    assert rows[folder].keys() == rows[source].keys()
    for key, row in rows[source].items():
        other = rows[folder][key]
        if row["volume_ml"] is None:
            assert other["volume_ml"] is None, key
        else:
            assert other["volume_ml"] == pytest.approx(row["volume_ml"], rel=1e-3, abs=2e-3), key
        assert other["bbox_min_mm"][0] == pytest.approx(row["bbox_min_mm"][0], abs=0.5), key


def test_a_label_at_the_top_of_int32_splits_into_wider_values() -> None:
    top = np.iinfo(np.int32).max
    data = np.zeros((40, 10, 8), np.int32)
    data[4:12, 2:8, 1:7] = top  # soleus, both legs
    data[28:36, 2:8, 1:7] = top
    data[5:11, 8:10, 2:6] = 7  # tibialis anterior, both legs
    data[29:35, 8:10, 2:6] = 7
    volume = _volume(data)
    result, split = split_sides(Source(volume.path, volume=volume), [_match(str(top), "leg/soleus"),
                                                                     _match("7", "leg/tibialis-anterior")])  # fmt: skip
    assert split.two_sides and volume.data.dtype == np.int64
    soleus = [m for m in result if m.path == "leg/soleus"]
    assert {m.side for m in soleus} == {"left", "right"}
    assert all((volume.data == int(m.key)).sum() == 8 * 6 * 6 for m in soleus) and int(soleus[0].key) > top
    _assert_counts_and_boxes_are_the_arrays(volume)


def test_a_thigh_segmentation_split_hands_over_the_counts_and_boxes_of_its_new_labels(
    thigh: tuple[Path, Path],
) -> None:  # fmt: skip
    from muscle_atlas.subject import SubjectRequest, open_subject

    segmentation, table = thigh
    subject = open_subject(SubjectRequest(str(segmentation), labels=str(table)))
    assert subject.sides.two_sides
    _assert_counts_and_boxes_are_the_arrays(subject.source.volume)
