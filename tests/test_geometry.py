"""Surfaces are faithful to the voxels and measurements are right."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import trimesh

from muscle_atlas.geometry.measures import asymmetry_percent, measure
from muscle_atlas.geometry.surfaces import simplify, surfaces_from_volume, to_polydata, to_trimesh
from muscle_atlas.sources.volume import read_volume


@pytest.fixture(scope="module")
def calf(data: Path):
    volume = read_volume(data / "qmritools-calf-mri" / "labels.nii.gz")
    return volume, surfaces_from_volume(volume)


def test_calf_surfaces_keep_every_label_volume_within_5_percent(calf) -> None:
    volume, surfaces = calf
    counts = volume.label_counts()
    assert set(surfaces) == set(counts)
    for value, surface in surfaces.items():
        mesh = to_trimesh(surface)
        assert mesh.volume == pytest.approx(counts[value] * volume.voxel_volume_mm3, rel=0.05), value


def test_calf_surfaces_are_smooth_not_terraced(calf) -> None:
    """Slice terraces would show as many faces whose normals point straight along the slice axis."""
    _, surfaces = calf
    for value, surface in surfaces.items():
        normals = to_trimesh(surface).face_normals
        flat = np.mean(np.abs(normals[:, 2]) > 0.995)
        assert flat < 0.05, (value, flat)


def _touching_pairs(labels: np.ndarray) -> set[tuple[int, int]]:
    pairs = set()
    for axis in range(3):
        a = np.moveaxis(labels, axis, 0)[:-1].ravel()
        b = np.moveaxis(labels, axis, 0)[1:].ravel()
        touching = (a != b) & (a > 0) & (b > 0)
        pairs |= {tuple(sorted(p)) for p in zip(a[touching].tolist(), b[touching].tolist(), strict=True)}
    return pairs


def test_touching_calf_muscles_do_not_overlap(calf) -> None:
    volume, surfaces = calf
    meshes = {k: to_trimesh(v) for k, v in surfaces.items()}
    pairs = _touching_pairs(volume.data)
    assert len(pairs) >= 3  # the calf labels do touch (14-16, 14-18, 19-23)
    for a, b in sorted(pairs):
        for inner, outer in ((a, b), (b, a)):
            inside = meshes[outer].contains(meshes[inner].vertices[::2])
            assert inside.mean() < 0.05, (inner, outer, inside.mean())


def test_world_coordinates_follow_the_affine(calf) -> None:
    volume, surfaces = calf
    index = np.argwhere(volume.data == 17)
    world = index @ volume.affine[:3, :3].T + volume.affine[:3, 3]
    centre = np.asarray(surfaces[17].points).mean(axis=0)
    assert np.allclose(centre, world.mean(axis=0), atol=8.0)


def test_measures_of_a_cylinder() -> None:
    cylinder = trimesh.creation.cylinder(radius=10, height=100, sections=128)
    cylinder.apply_translation((5, -3, 40))
    result = measure(cylinder)
    assert result.volume_ml == pytest.approx(np.pi * 100 * 100 / 1000, rel=0.01)
    assert result.length_mm == pytest.approx(100, abs=0.5)
    assert result.max_csa_cm2 == pytest.approx(np.pi, rel=0.01)
    assert result.area_cm2 == pytest.approx((2 * np.pi * 10 * 100 + 2 * np.pi * 100) / 100, rel=0.01)
    assert result.centroid_mm == pytest.approx((5, -3, 40), abs=0.1)


def test_section_areas_are_trimesh_s_section_areas_on_real_muscles(calf, vhf: Path) -> None:
    """Our section areas (Green's theorem over oriented segments) against trimesh's polygons."""
    from muscle_atlas.geometry.measures import section_areas
    from muscle_atlas.sources.meshes import read_mesh

    meshes = [to_trimesh(m) for m in calf[1].values()]
    meshes += [read_mesh(p) for p in sorted((vhf / "Left").glob("*Muscle*.stl"))[:8]]
    checked = 0
    for mesh in meshes:
        if not (mesh.is_watertight and mesh.is_winding_consistent):
            continue
        centre = mesh.vertices.mean(axis=0)
        axis = np.linalg.svd(mesh.vertices - centre, full_matrices=False)[2][0]
        along = (mesh.vertices - centre) @ axis
        heights = np.linspace(along.min(), along.max(), 12)[1:-1]
        ours = section_areas(mesh, centre, axis, heights)
        sections = mesh.section_multiplane(plane_origin=centre, plane_normal=axis, heights=heights)
        theirs = np.array([s.area if s is not None else 0.0 for s in sections])
        assert ours == pytest.approx(theirs, rel=1e-6, abs=1e-6)
        checked += 1
    assert checked >= 10
    # A hole counts negative, and a surface wound inward gives the same areas.
    ring = trimesh.creation.annulus(r_min=5, r_max=10, height=20, sections=256)
    expected = 256 / 2 * np.sin(2 * np.pi / 256) * (100 - 25)
    assert section_areas(ring, np.zeros(3), np.array([0, 0, 1.0]), np.array([0.0]))[0] == pytest.approx(expected)
    ring.invert()
    assert section_areas(ring, np.zeros(3), np.array([0, 0, 1.0]), np.array([0.0]))[0] == pytest.approx(expected)


def test_asymmetry() -> None:
    assert asymmetry_percent(110, 90) == 20.0
    assert asymmetry_percent(0, 90) is None


def test_simplify_keeps_shape_within_budget() -> None:
    sphere = to_polydata(trimesh.creation.icosphere(subdivisions=5, radius=30))
    small = simplify(sphere, 2000)
    assert small.n_cells <= 2200
    assert to_trimesh(small).volume == pytest.approx(4 / 3 * np.pi * 30**3, rel=0.03)


def test_simplifying_on_threads_gives_what_one_thread_gives() -> None:
    """The decimation library keeps its mesh in global state: meshes simplified on several
    threads at once must come out as they do one by one (and not crash the process)."""
    from muscle_atlas.geometry.surfaces import each_mesh

    sphere = trimesh.creation.icosphere(subdivisions=6)  # 81,920 triangles: decimations overlap in time
    meshes = {str(i): to_polydata(sphere.copy().apply_scale([10 + i, 12, 14 + 2 * i])) for i in range(12)}
    alone = each_mesh(lambda m: simplify(m, 2000), meshes, threads=1)
    together = each_mesh(lambda m: simplify(m, 2000), meshes, threads=4)
    for key, mesh in alone.items():
        assert mesh.n_cells <= 2200
        assert np.array_equal(mesh.points, together[key].points) and np.array_equal(mesh.faces, together[key].faces)
