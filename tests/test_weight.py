"""Issue #11: nothing is made that no page shows, and what is made is light.

Side variants by option, every file of a site reachable from its pages or data files, WebP
stills as good as the lossless images (SSIM), one Draco-compressed GLB per scene with a named
node and material per structure, videos sized for the page, a small GIF.
"""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from imagequality import ssim
from muscle_atlas.render.settings import RenderSettings
from muscle_atlas.subject import SubjectRequest, render_subject
from sitebuild import build_site, small_phantom
from sitecrawl import orphans

JS = Path(__file__).parent / "js"


def test_ssim_is_one_for_equal_images_and_low_for_noise() -> None:
    rng = np.random.default_rng(1)
    image = rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)
    assert ssim(image, image) == pytest.approx(1.0)
    assert ssim(image, rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)) < 0.1


@pytest.fixture(scope="module")
def phantom(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return small_phantom(tmp_path_factory.mktemp("phantom"))


def _render(volume: Path, table: Path, out: Path, **settings: object):
    base = {"views": 2, "size": 800, "thumb": 200, "ssaa": True}
    request = SubjectRequest(str(volume), str(table))
    return render_subject(request, out, 1, RenderSettings(**{**base, **settings}), 1500, progress=False)


def test_webp_stills_look_like_the_lossless_ones(phantom: tuple[Path, Path], tmp_path: Path) -> None:
    """The same renders, at the default size, as WebP stills and AVIF thumbnails (the HTML site) and
    PNG (the Jekyll export): both at SSIM ≥ 0.98, a white background still white, far fewer bytes."""
    webp = _render(*phantom, tmp_path / "webp", image_format="webp", sides="both", models=False)
    _render(*phantom, tmp_path / "png", image_format="png", sides="both", models=False)
    compared, sizes = 0, {"webp": 0, "png": 0}
    for name in webp.turntables:
        for index in range(1, 3):
            for suffix, kind in (("", "webp"), ("-thumb", "avif")):
                lossy = tmp_path / "webp" / "renders" / f"{name}-{index}{suffix}.{kind}"
                lossless = tmp_path / "png" / "renders" / f"{name}-{index}{suffix}.png"
                a = np.asarray(Image.open(lossless).convert("RGB"))
                b = np.asarray(Image.open(lossy).convert("RGB"))
                assert Image.open(lossy).format == kind.upper()
                assert ssim(a, b) >= 0.98, (lossy.name, ssim(a, b))
                # No off-white box on a white page: the background away from what is drawn stays white.
                far = ndimage.distance_transform_edt((a == 255).all(axis=2)) > a.shape[1] / 12
                assert far.mean() > 0.2 and (b[far] >= 254).all(), lossy.name
                sizes["webp"] += lossy.stat().st_size
                sizes["png"] += lossless.stat().st_size
                compared += 1
    assert compared >= 20
    assert sizes["webp"] < 0.5 * sizes["png"]
    assert not list((tmp_path / "webp" / "renders").glob("*.png"))
    assert not list((tmp_path / "png" / "renders").glob("*.webp"))


@pytest.mark.parametrize(
    ("sides", "variants"), [("all", {"left", "right", "both"}), ("both", {"both"}), ("each", {"left", "right"})]
)
def test_sides_option_chooses_the_variants(phantom: tuple[Path, Path], tmp_path: Path, sides: str,
                                           variants: set[str]) -> None:  # fmt: skip
    from muscle_atlas.anatomy.match import match_labels
    from muscle_atlas.render import pipeline

    result = _render(*phantom, tmp_path, sides=sides, views=1, size=64, thumb=16, ssaa=False)
    soleus = {n.rsplit("-", 1)[1] for n in result.turntables if n.startswith("leg-soleus-")}
    assert soleus == variants
    models = sorted(p.name for p in (tmp_path / "renders").glob("*.glb"))
    assert models == sorted(f"{r}-{v}-scene.glb" for r in ("leg", "lower-limb") for v in variants)
    # A structure of one side keeps its one variant, whatever the option.
    import pyvista as pv

    names = {"1": "Soleus left", "2": "Tibia left"}
    matches = match_labels(names)
    meshes = {"1": pv.Sphere(center=(-60, 0, 0), radius=20), "2": pv.Cylinder(center=(-40, 0, 0), radius=8)}
    plan = pipeline.plan(meshes, matches, sides=sides)
    assert {j.name for j in plan.jobs if j.kind == "turntable" and j.structure == "leg/soleus"} == {"leg-soleus-left"}


@pytest.fixture(scope="module")
def site(phantom: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    volume, table = phantom
    return build_site(volume, tmp_path_factory.mktemp("site") / "out", labels=str(table), size=160, thumb=40)


def test_every_file_of_the_site_is_reachable(site: Path) -> None:
    assert orphans(site) == []
    renders = {p.suffix for p in (site / "assets/renders").iterdir()}
    assert renders == {".webp", ".avif", ".mp4", ".gif", ".glb"}


def test_every_side_is_shown_and_the_both_sides_view_needs_no_script(site: Path) -> None:
    html = (site / "muscle/leg/soleus/index.html").read_text()
    switch = re.search(r'<fieldset class="side-switch" hidden>.*?</fieldset>', html, re.S).group(0)
    assert re.findall(r'value="(\w+)"', switch) == ["both", "left", "right"]
    assert switch.count("checked") == 1 and "<legend>" in switch
    # Outside <template> (what shows without JavaScript): only the both-sides view.
    live = re.sub(r"<template\b.*?</template>", "", html, flags=re.S)
    assert "leg-soleus-both.mp4" in live and "leg-soleus-both-2-thumb.avif" in live
    for name in ('src="../../../assets/renders/leg-soleus-left.mp4"', 'src="../../../assets/renders/leg-soleus-right.mp4"',
                 "leg-soleus-left-poster.webp"):  # fmt: skip
        assert name not in live, name
    templates = re.findall(r'<template data-side="(\w+)">', html)
    assert templates == ["left", "right"]  # each side's turntable; the gallery is the Both view's
    for side in ("left", "right"):
        assert f"leg-soleus-{side}-poster.webp" in html and f"leg-{side}-scene.glb" in html
        assert f"leg-soleus-{side}-1.webp" not in html and f"leg-soleus-{side}.gif" not in html
        assert f'<a href="../../../assets/renders/leg-soleus-{side}.mp4" download>Animation, {side} (MP4)</a>' in html
    assert "The views show both sides" in html
    assert "Animation, both sides (GIF)" in html


def _glb_json(path: Path) -> dict:
    data = path.read_bytes()
    length = struct.unpack_from("<I", data, 12)[0]
    return json.loads(data[20 : 20 + length])


def test_one_model_per_scene_with_a_named_node_and_material_per_structure(site: Path) -> None:
    html = (site / "muscle/leg/soleus/index.html").read_text()
    highlight = json.loads(re.search(r'data-model-highlight="([^"]+)"', html).group(1).replace("&#34;", '"'))
    model = _glb_json(site / "assets/renders/leg-both-scene.glb")
    assert model["extensionsRequired"] == ["KHR_draco_mesh_compression"]
    nodes = {n["name"] for n in model["nodes"]}
    materials = [m["name"] for m in model["materials"]]
    assert set(highlight) <= nodes and set(highlight) <= set(materials)
    assert len(set(materials)) == len(materials)
    anterior = (site / "muscle/leg/tibialis-anterior/index.html").read_text()
    assert 'data-model="../../../assets/renders/leg-both-scene.glb"' in anterior  # the same scene …
    other = json.loads(re.search(r'data-model-highlight="([^"]+)"', anterior).group(1).replace("&#34;", '"'))
    assert set(other) <= set(materials) and not set(other) & set(highlight)  # … another structure
    assert len(list((site / "assets/renders").glob("*.glb"))) == 6  # leg and lower limb × 3 sides
    if shutil.which("node") and (JS / "node_modules" / "gltf-validator").is_dir():
        models = sorted(str(p) for p in (site / "assets/renders").glob("*.glb"))
        report = subprocess.run(["node", str(JS / "validate-gltf.mjs"), *models],
                                capture_output=True, text=True, check=True, timeout=120)  # fmt: skip
        assert [(r["path"], r["messages"]) for r in json.loads(report.stdout) if r["errors"]] == []
    assert (site / "assets/vendor/draco/draco_decoder.wasm").is_file()


def test_draco_pays_for_its_decoder() -> None:
    """Measured on one 6,000-triangle surface: compressed, it is several times smaller; the
    decoder (250 KB, once per site) is paid back by a few models."""
    import pyvista as pv

    from muscle_atlas.render.model import RAS_MM_TO_GLTF, GlbBuilder

    mesh = pv.ParametricEllipsoid(40, 30, 150, u_res=60, v_res=50).triangulate().decimate(0.0)
    points = np.asarray(mesh.points, dtype=np.float32)
    faces = np.asarray(mesh.faces).reshape(-1, 4)[:, 1:]
    builder = GlbBuilder()
    builder.add("m", mesh, None, builder.material("m", (1.0, 0.0, 0.0)), RAS_MM_TO_GLTF)
    compressed = len(builder.to_bytes())
    plain = points.size * 4 * 2 + faces.size * 4  # positions, normals and indices as glTF floats and ints
    assert compressed * 4 < plain


def test_videos_are_sized_for_the_page_and_the_gif_is_small(tmp_path: Path) -> None:
    import imageio.v3 as iio

    from muscle_atlas.render.encode import GIF_SIZE, VIDEO_SIZE, video_frames, write_gif, write_video

    frames = [np.full((800, 800, 3), 255 - 10 * i, dtype=np.uint8) for i in range(16)]
    small = video_frames(frames)
    write_video(small, tmp_path / "t.mp4", 8)
    write_gif(small, tmp_path / "t.gif", 8)
    first = next(iter(iio.imiter(tmp_path / "t.mp4", plugin="FFMPEG")))
    assert first.shape[:2] == (VIDEO_SIZE, VIDEO_SIZE) and VIDEO_SIZE <= 1.5 * 480
    assert Image.open(tmp_path / "t.gif").size == (GIF_SIZE, GIF_SIZE) and GIF_SIZE <= 320
    assert video_frames(frames[:1], 900)[0].shape == (800, 800, 3)  # never enlarged


def test_jekyll_export_gets_png_and_nothing_else(phantom: tuple[Path, Path], tmp_path: Path) -> None:
    volume, table = phantom
    out = build_site(volume, tmp_path / "jekyll", labels=str(table), fmt="jekyll")
    assets = {p.suffix for p in (out / "assets/images/muscles").rglob("*") if p.is_file()}
    assert assets == {".png", ".gif", ".mp4"}
    cache = tmp_path / ".jekyll.muscle-atlas-cache" / "renders"
    made = {p.name for p in cache.iterdir() if not p.name.startswith(".")}
    assert not [n for n in made if n.endswith((".webp", ".glb")) or "-left" in n or "-right" in n]
