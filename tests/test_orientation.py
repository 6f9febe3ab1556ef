"""Any lab's frame, the right way up: orientation and units from anatomy, and glTF scenes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import trimesh

os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")

from muscle_atlas.anatomy.orientation import code_matrix, orient
from muscle_atlas.cli import main
from muscle_atlas.subject import SubjectRequest, open_subject, place

# Turns about each axis, a unit change and the common LPS frame: each is a source frame the
# tool has never been told about.
QUARTER = {
    "x": lambda a: np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]]),
    "y": lambda a: np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]]),
    "z": lambda a: np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]]),
}
FRAMES = {
    **{f"{axis}{deg}": (np.round(QUARTER[axis](np.radians(deg))), 1.0) for axis in "xyz" for deg in (90, 180)},
    "metres": (np.eye(3), 0.001),
    "centimetres": (np.eye(3), 0.1),
    "LPS-metres": (np.diag([-1.0, -1.0, 1.0]), 0.001),
}


@pytest.fixture(scope="module")
def vhf_meshes(vhf: Path) -> dict[Path, trimesh.Trimesh]:
    return {p.relative_to(vhf): trimesh.load(p, force="mesh") for p in sorted(vhf.rglob("*.stl"))}


def _reframed(meshes: dict[Path, trimesh.Trimesh], rotation: np.ndarray, scale: float, folder: Path) -> Path:
    transform = np.eye(4)
    transform[:3, :3] = rotation * scale
    transform[:3, 3] = np.array([12.0, -40.0, 7.0]) * scale  # an arbitrary origin too
    for rel, mesh in meshes.items():
        out = folder / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        moved = mesh.copy()
        moved.apply_transform(transform)
        moved.export(out)
    return folder


def _key(subject, slug: str, side: str) -> str:
    return next(m.key for m in subject.matches if (m.path or "").endswith("/" + slug) and m.side == side)


def _anterior_views(subject, slugs: tuple[str, ...]) -> list[np.ndarray]:
    """View 1 of 16 of the left leg, once with each muscle highlighted: the highlighted pixels."""
    import pyvista as pv

    from muscle_atlas.geometry.surfaces import clean_mesh, simplify
    from muscle_atlas.render.camera import Framing
    from muscle_atlas.render.engine import HIGHLIGHT, Renderer, SceneItem

    items = []
    for mesh_file in subject.source.meshes:
        if "Left" in mesh_file.name:
            mesh = simplify(clean_mesh(pv.wrap(mesh_file.mesh)), 1500)
            items.append(SceneItem(mesh_file.name, mesh, "bone" if "Bone" in mesh_file.name else "muscle"))
    framing = Framing.around(np.vstack([np.asarray(i.mesh.points) for i in items]))
    renderer = Renderer(160, "white", ssaa=False)
    renderer.load(items)
    masks = []
    for slug in slugs:
        image = renderer.turntable({_key(subject, slug, "left"): HIGHLIGHT}, framing, 1)[0]
        red = (image[..., 0] > 150) & (image[..., 1] < 90) & (image[..., 2] < 90)
        assert red.sum() > 20, f"{slug} is not visible in the anterior view"
        masks.append(red)
    renderer.close()
    return masks


def _centre(mask: np.ndarray) -> tuple[float, float]:
    rows, cols = np.nonzero(mask)
    return float(rows.mean()), float(cols.mean())


@pytest.mark.parametrize("frame", sorted(FRAMES))
def test_reframed_meshes_are_rendered_the_right_way_up_and_round(frame: str, vhf_meshes, tmp_path: Path) -> None:
    rotation, scale = FRAMES[frame]
    folder = _reframed(vhf_meshes, rotation, scale, tmp_path / "vhf")
    subject = open_subject(SubjectRequest(str(folder)))
    found = subject.orientation
    assert found.decided and not found.warnings, found.report()
    # The transform applied, composed with ours, is a pure translation: same way up and round.
    assert np.allclose(found.matrix @ (rotation * scale), np.eye(3), atol=1e-9), found.report()
    assert any(line.startswith("orientation: ") for line in found.lines)
    unit = {0.001: "units: m (", 0.1: "units: cm ("}.get(scale, "units: mm")
    assert any(line.startswith(unit) for line in found.lines), found.lines
    # And the renders: in the anterior view the left iliacus is drawn above the left vastus
    # medialis, and (the subject's left on the viewer's right) the vastus lateralis lies lateral
    # to it, further right.
    iliacus, medialis, lateralis = map(_centre, _anterior_views(subject, ("iliacus", "vastus-medialis", "vastus-lateralis")))
    assert iliacus[0] < medialis[0] - 10, "the iliacus must be drawn above the vastus medialis"
    assert lateralis[1] > medialis[1] + 3, "the vastus lateralis must lie lateral to the vastus medialis"


def test_a_mirrored_frame_is_reported_never_silently_reflected(vhf_meshes, tmp_path: Path) -> None:
    mirror = np.diag([-1.0, 1.0, 1.0])  # x flipped: a left-handed frame
    folder = _reframed(vhf_meshes, mirror, 1.0, tmp_path / "vhf")
    subject = open_subject(SubjectRequest(str(folder)))
    assert np.linalg.det(subject.orientation.matrix) > 0
    assert any("mirrored" in w for w in subject.orientation.warnings), subject.orientation.report()
    forced = open_subject(SubjectRequest(str(folder), orientation="LAS"))
    assert np.allclose(forced.orientation.matrix @ mirror, np.eye(3))
    assert "reflection, applied as asked" in " ".join(forced.orientation.lines)
    assert not forced.orientation.warnings


def test_one_structure_keeps_the_frame_and_says_so(vhf: Path, tmp_path: Path) -> None:
    (tmp_path / "one").mkdir()
    source = next(vhf.glob("Left/*Soleus*"))
    (tmp_path / "one" / source.name).write_bytes(source.read_bytes())
    subject = open_subject(SubjectRequest(str(tmp_path / "one")))
    assert not subject.orientation.decided
    assert np.allclose(subject.orientation.matrix, np.eye(3))
    assert "too few structures to decide" in subject.orientation.lines[0]


def test_a_header_with_left_and_right_swapped_is_reported(data: Path, tmp_path: Path, capsys) -> None:
    labels = data / "qmritools-leg-qmri" / "labels.nii.gz"
    table = data / "qmritools-leg-qmri" / "labels.txt"
    assert main(["inspect", str(labels), "--labels", str(table)]) == 0
    assert "L/R flip" not in capsys.readouterr().out
    image = nib.load(labels)
    flipped = nib.Nifti1Image(np.asanyarray(image.dataobj), np.diag([-1.0, 1, 1, 1]) @ image.affine)
    nib.save(flipped, tmp_path / "flipped.nii.gz")
    for command in (["inspect"], ["match"]):
        assert main([*command, str(tmp_path / "flipped.nii.gz"), "--labels", str(table)]) == 0
        out = capsys.readouterr().out
        assert "classic L/R flip" in out, out
        assert "orientation: header kept" in out


def test_a_header_upside_down_is_reported(vhf: Path) -> None:
    subject = open_subject(SubjectRequest(str(vhf)))
    placed = place(subject.source, subject.matches)
    for p in placed:
        p.centroid = p.centroid * np.array([1.0, -1.0, -1.0])  # turned 180° about x: S down, A back
    found = orient(placed, "volume")
    assert any("superior axis points down" in w for w in found.warnings), found.report()
    assert np.allclose(found.matrix, np.eye(3)), "a volume's header is kept"


def test_orientation_codes() -> None:
    assert np.allclose(code_matrix("RAS"), np.eye(3))
    assert np.allclose(code_matrix("lps"), np.diag([-1, -1, 1]))
    assert np.linalg.det(code_matrix("LAS")) < 0


@pytest.mark.parametrize("bad", ["XYZ", "RRS", "RA"])
def test_a_bad_orientation_code_is_one_line(bad: str, vhf: Path, capsys) -> None:
    assert main(["inspect", str(vhf / "Left"), "--orientation", bad]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "orientation" in err[0]


# ---------------------------------------------------------------------------------------------
# glTF scenes


def _glb_json(path: Path) -> dict:
    blob = path.read_bytes()
    length = int.from_bytes(blob[12:16], "little")
    return json.loads(blob[20 : 20 + length])


def test_gltf_nodes_are_structures_with_their_transforms(data: Path) -> None:
    """Each node's mesh lies in its accessor's box moved by the node transform, metres → mm,
    glTF's +Y up → RAS (computed here independently from the JSON)."""
    from muscle_atlas.sources.gltf import read_gltf

    path = data / "zanatomy-upper-limb" / "upper-limb.glb"
    model = _glb_json(path)
    meshes = {m.name: m.mesh for m in read_gltf(path)}
    assert len(meshes) == len(model["nodes"]) == 126
    for node in model["nodes"]:
        primitives = model["meshes"][node["mesh"]]["primitives"]
        boxes = [model["accessors"][p["attributes"]["POSITION"]] for p in primitives]
        lo, hi = np.min([b["min"] for b in boxes], axis=0), np.max([b["max"] for b in boxes], axis=0)
        corners = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])
        q = node.get("rotation", [0, 0, 0, 1])
        rotation = trimesh.transformations.quaternion_matrix([q[3], q[0], q[1], q[2]])[:3, :3]
        moved = corners * np.array(node.get("scale", [1, 1, 1])) @ rotation.T + np.array(node.get("translation", [0, 0, 0]))
        ras = np.column_stack([-moved[:, 0], moved[:, 2], moved[:, 1]]) * 1000.0
        mesh = meshes[node["name"]]
        assert np.all(mesh.vertices.min(axis=0) >= ras.min(axis=0) - 0.5), node["name"]
        assert np.all(mesh.vertices.max(axis=0) <= ras.max(axis=0) + 0.5), node["name"]
    # The shoulder is above the hand, and this right limb's hand lies to the subject's right of the chest.
    assert meshes["Clavicle_r"].centroid[2] > meshes["Capitate_bone_r"].centroid[2] + 300
    assert meshes["Capitate_bone_r"].centroid[0] > meshes["Sternocostal_head_of_pectoralis_major_muscle_r"].centroid[0]


def test_gltf_inspect_and_match_work_and_report_the_frame(data: Path, capsys) -> None:
    path = data / "zanatomy-upper-limb" / "upper-limb.glb"
    assert main(["inspect", str(path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert len(report["rows"]) == 126 and report["kind"] == "meshes"
    assert any(line.startswith("orientation: superior = +z, anterior = +y") for line in report["orientation"])
    assert main(["match", str(path)]) == 0
    out = capsys.readouterr().out
    assert "units: mm" in out and "orientation:" in out


def test_a_broken_gltf_is_one_line(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "cut.glb"
    bad.write_bytes(b"glTF\x02\x00\x00\x00" + (10_000).to_bytes(4, "little") + b"\x20\x00\x00\x00JSON{")
    assert main(["inspect", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cut.glb" in err[0]


def test_real_volumes_in_their_right_headers_raise_no_false_alarm(data: Path) -> None:
    """Every real volume we have is correctly oriented by its header: the anatomy must agree
    or say it cannot tell, never claim another frame or warn."""
    cases = [
        (data / "qmritools-leg-qmri" / "labels.nii.gz", str(data / "qmritools-leg-qmri" / "labels.txt")),
        (data / "totalsegmentator-example" / "example_seg.nii.gz", "totalsegmentator:total"),
        (data / "totalsegmentator-example" / "example_seg_mr.nii.gz", "totalsegmentator:total_mr"),
        *[(p, str(data / "thigh-cohort" / "dseg.tsv")) for p in sorted((data / "thigh-cohort").rglob("*_dseg.nii.gz"))[:6]],
    ]
    for volume, labels in cases:
        found = open_subject(SubjectRequest(str(volume), labels)).orientation
        assert not found.warnings, (volume.name, found.report())
        if found.decided:
            assert found.axes == "superior = +z, anterior = +y, left = −x", (volume.name, found.report())


@pytest.mark.parametrize("frame", ["x90", "z180", "LPS-metres"])
def test_a_reframed_single_upper_limb_comes_back_to_ras(frame: str, data: Path, tmp_path: Path) -> None:
    """One right upper limb (no left side to compare with): up from shoulder-arm-forearm, front
    from the flexor and extensor compartments."""
    from muscle_atlas.sources.gltf import read_gltf

    rotation, scale = FRAMES[frame]
    meshes = {Path(f"{m.name}.ply"): m.mesh for m in read_gltf(data / "zanatomy-upper-limb" / "upper-limb.glb")}
    folder = _reframed(meshes, rotation, scale, tmp_path / "limb")
    found = open_subject(SubjectRequest(str(folder))).orientation
    assert found.decided and not found.warnings, found.report()
    assert np.allclose(found.matrix @ (rotation * scale), np.eye(3), atol=1e-9), found.report()


def test_the_calf_mri_with_its_x_axis_flipped_gives_the_lr_warning(data: Path, tmp_path: Path, capsys) -> None:
    """The calf MRI names only its soleus labels (by a mapping file); flipping the header's x
    axis puts the left soleus on the subject's right, and the build log says so."""
    calf = data / "qmritools-calf-mri" / "labels.nii.gz"
    mapping = tmp_path / "calf.map"
    mapping.write_text("17 = soleus right\n18 = soleus left\n")
    image = nib.load(calf)
    flipped = tmp_path / "calf-flipped.nii.gz"
    nib.save(nib.Nifti1Image(np.asanyarray(image.dataobj), np.diag([-1.0, 1, 1, 1]) @ image.affine), flipped)
    assert main(["match", str(calf), "--map", str(mapping)]) == 0
    assert "L/R flip" not in capsys.readouterr().out
    site = tmp_path / "site"
    assert main(["build", str(flipped), "--map", str(mapping), "-o", str(site), "--views", "1", "--size", "64",
                 "--no-ssaa", "--triangles", "500", "--jobs", "1"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "warning: the structures labelled left lie on the subject's right" in out and "L/R flip" in out
