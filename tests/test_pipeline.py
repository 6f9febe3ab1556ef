"""The render pipeline end to end: outputs, cache, determinism, animations and 3D models."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import time
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from muscle_atlas.render.settings import RenderSettings
from muscle_atlas.subject import SubjectRequest, render_subject
from phantom import make_phantom, phantom_names

JS = Path(__file__).parent / "js"
KEEP = ("Soleus", "Tibialis anterior", "Tibia")


@pytest.fixture(scope="module")
def small_phantom(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Soleus, tibialis anterior and tibia of both phantom legs, with an ITK-SNAP table."""
    folder = tmp_path_factory.mktemp("phantom")
    labels, affine = make_phantom()
    names = phantom_names()
    keep = [i for i, n in enumerate(names, start=1) if n.rsplit(" ", 1)[0] in KEEP]
    labels = np.where(np.isin(labels, keep), labels, 0).astype(np.uint8)
    nib.save(nib.Nifti1Image(labels, affine), folder / "legs.nii.gz")
    rows = [f'{v} 200 50 50 1 1 1 "{names[v - 1]}"' for v in keep]
    (folder / "legs.txt").write_text("\n".join(rows) + "\n")
    return folder


SETTINGS = {"views": 4, "size": 96, "thumb": 32, "ssaa": False}


def _render(folder: Path, out: Path, **extra) -> object:
    settings = RenderSettings(**{**SETTINGS, **extra})
    request = SubjectRequest(str(folder / "legs.nii.gz"), str(folder / "legs.txt"))
    return render_subject(request, out, 1, settings, 1500, progress=False)


def test_outputs_measures_and_cache(small_phantom: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = _render(small_phantom, out)
    models = sorted(p.name for p in (out / "renders").glob("*.glb"))  # one per scene: region × side
    assert models == sorted(f"{r}-{v}-scene.glb" for r in ("leg", "lower-limb") for v in ("left", "right", "both"))
    assert not result.cached and result.rendered == len(result.turntables)
    assert "leg-soleus-left" in result.turntables and "leg-soleus-both" in result.turntables
    assert "leg-superficial-posterior-compartment-right" in result.turntables
    assert "lower-limb-both" in result.turntables
    for name in result.turntables:
        assert (out / "renders" / f"{name}.mp4").stat().st_size > 0
        if name.endswith(("-left", "-right")):  # they share the Both view's gallery: a poster only
            assert (out / "renders" / f"{name}-poster.webp").is_file()
            assert not list((out / "renders").glob(f"{name}-[0-9]*")) and not (out / "renders" / f"{name}.gif").exists()
            continue
        for index in range(1, 5):
            assert (out / "renders" / f"{name}-{index}.webp").is_file()
            assert (out / "renders" / f"{name}-{index}-thumb.avif").is_file()
        assert (out / "renders" / f"{name}.gif").stat().st_size > 0
    with (out / "measures.csv").open() as handle:
        rows = {(r["structure"], r["side"]): r for r in csv.DictReader(handle)}
    assert {"volume_mL", "surface_area_cm2", "length_mm", "max_cross_section_cm2"} <= set(next(iter(rows.values())))
    left, right = rows[("leg/soleus", "left")], rows[("leg/soleus", "right")]
    assert float(left["volume_mL"]) == pytest.approx(float(right["volume_mL"]), rel=0.03)  # mirror images
    assert abs(float(left["asymmetry_volume_pct"])) < 3
    assert float(left["centroid_R_mm"]) < 0 < float(right["centroid_R_mm"])  # RAS: left is -x
    assert json.loads((out / "measures.json").read_text())[0]["structure"]
    # Nothing changed: nothing is rendered or encoded, and it is quick.
    before = {p: p.stat().st_mtime_ns for p in (out / "renders").iterdir()}
    started = time.perf_counter()
    again = _render(small_phantom, out)
    assert again.cached and again.rendered == 0
    assert time.perf_counter() - started < 5
    assert before == {p: p.stat().st_mtime_ns for p in (out / "renders").iterdir()}


def test_same_input_gives_the_same_bytes(small_phantom: Path, tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    _render(small_phantom, first)
    _render(small_phantom, second)
    kinds = (".webp", ".avif", ".gif", ".mp4", ".glb")
    files = sorted(p.relative_to(first) for p in (first / "renders").iterdir() if p.suffix in kinds)
    assert len(files) > 50
    different = [str(f) for f in files if (first / f).read_bytes() != (second / f).read_bytes()]
    assert different == []
    assert (first / "measures.csv").read_bytes() == (second / "measures.csv").read_bytes()


def test_smoother_animation_keeps_the_stills(small_phantom: Path, tmp_path: Path) -> None:
    import imageio.v3 as iio

    plain, smooth = tmp_path / "plain", tmp_path / "smooth"
    _render(small_phantom, plain)
    _render(small_phantom, smooth, animation_views=16)
    name = "leg-soleus-both"
    for index in range(1, 5):
        still = f"renders/{name}-{index}.webp"
        assert (plain / still).read_bytes() == (smooth / still).read_bytes()
    frames = list(iio.imiter(smooth / "renders" / f"{name}.mp4", plugin="FFMPEG"))
    assert len(frames) == 16
    assert len(list(iio.imiter(plain / "renders" / f"{name}.mp4", plugin="FFMPEG"))) == 4


def test_gif_fits_its_budget_at_the_default_size(small_phantom: Path) -> None:
    from muscle_atlas.render.encode import GIF_MAX_BYTES, write_gif

    rng = np.random.default_rng(0)
    # A worst case for a palette: 16 noisy 800x800 frames.
    frames = [rng.integers(0, 255, (800, 800, 3), dtype=np.uint8) for _ in range(16)]
    path = small_phantom / "noise.gif"
    write_gif(frames, path, 8)
    assert path.stat().st_size <= GIF_MAX_BYTES


def test_models_pass_the_gltf_validator(small_phantom: Path, tmp_path: Path) -> None:
    if shutil.which("node") is None or not (JS / "node_modules" / "gltf-validator").is_dir():
        pytest.skip("gltf-validator not installed (make test runs npm install in tests/js)")
    _render(small_phantom, tmp_path)
    models = sorted((tmp_path / "renders").glob("*.glb"))
    report = subprocess.run(
        ["node", str(JS / "validate-gltf.mjs"), *map(str, models)], capture_output=True, text=True, check=True
    )
    results = json.loads(report.stdout)
    assert len(results) == len(models) > 0
    assert [r for r in results if r["errors"]] == []


def test_batches_split_a_scene_only_where_that_ends_sooner() -> None:
    """Every job in exactly one batch, each batch of one scene; the estimated end is no later
    than with whole scenes, and a scene that would keep one worker busy alone is split."""
    from muscle_atlas.render.plan import Job
    from muscle_atlas.render.schedule import BASE_COST
    from muscle_atlas.render.schedule import batches as _batches
    from muscle_atlas.render.schedule import makespan as _makespan

    sizes = {"thigh": 30, "leg": 4, "torso": 1}  # the thigh alone would be most of the work
    by_scene = {s: [Job(f"{s}-{i}", s, {}, None) for i in range(n)] for s, n in sizes.items()}
    cost = {j.name: 1.5 for jobs in by_scene.values() for j in jobs}
    whole = _makespan([BASE_COST + 1.5 * n for n in sizes.values()], 2)
    batches = _batches(by_scene, 2, cost)
    names = [j.name for _, part in batches for j in part]
    assert sorted(names) == sorted(cost) and len(set(names)) == len(names)
    assert all(len({j.scene for j in part}) == 1 for _, part in batches)
    assert _makespan([e for e, _ in batches], 2) < whole
    assert len(batches) > len(sizes)
    assert _batches(by_scene, 1, cost) == [(BASE_COST + 1.5 * n, by_scene[s]) for s, n in sizes.items()]
    lone = {"limb": [Job(f"limb-{i}", "limb", {}, None) for i in range(30)]}
    assert len(_batches(lone, 4, {j.name: 1.0 for j in lone["limb"]})) == 4
