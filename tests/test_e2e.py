"""End-to-end builds of every real data set, as users run them (the CLI), checked as sites."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from muscle_atlas.anatomy.match import match_labels
from muscle_atlas.cli import main

FAST = ["--views", "4", "--size", "96", "--no-ssaa", "--triangles", "1500"]


def _pages(site: Path) -> set[str]:
    return {str(p.parent.relative_to(site)) for p in site.rglob("index.html")}


def test_vhf_both_legs_every_muscle_has_its_page_and_the_attribution(vhf: Path, vhf_site: Path) -> None:
    names = {p.stem: p.stem for p in vhf.rglob("*_Muscle_*.stl")}
    results = match_labels(names)
    assert len(results) == 75
    pages = _pages(vhf_site)
    for result in results:
        assert f"muscle/{result.path}" in pages, result.name
    for page in vhf_site.rglob("*.html"):
        html = page.read_text()
        assert "CC BY 4.0" in html and "creativecommons.org/licenses/by/4.0" in html, page
        assert "10.1038/s41597-022-01905-2" in html, page
    soleus = (vhf_site / "muscle/leg/soleus/index.html").read_text()
    assert "Volume (left)" in soleus and "Volume (right)" in soleus and "Volume asymmetry" in soleus


def test_calf_mri_with_a_mapping_file(data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mapping = tmp_path / "calf.map"
    mapping.write_text(
        "# labels 17 and 18 are the soleus muscles (RAS: +x is the right side)\n17 = soleus right\n18 = soleus left\n"
    )
    site = tmp_path / "site"
    code = main(["build", str(data / "qmritools-calf-mri/labels.nii.gz"), "--map", str(mapping), "-o", str(site), *FAST])
    assert code == 0
    assert "unidentified labels, drawn as context without pages: 13, 14, 15, 16, 19" in capsys.readouterr().out
    assert _pages(site) == {".", "muscle", "search", "muscle/lower-limb", "muscle/leg",
                            "muscle/leg/superficial-posterior-compartment", "muscle/leg/soleus"}  # fmt: skip
    home = (site / "index.html").read_text()
    assert "Unidentified labels" in home
    for label in range(13, 27):
        if label not in (17, 18):
            assert re.search(rf"\b{label}\b", home), label
    # The unnamed labels are drawn as context in the 3D model, not left out.
    glb = (site / "assets/renders/leg-both-scene.glb").read_bytes()
    assert glb.count(b'"name":"13"') + glb.count(b'"13"') >= 1
    assert "BSD 3-Clause" in home


@pytest.mark.parametrize(
    ("volume", "task", "expected"),
    [
        ("example_seg_mr.nii.gz", "total_mr", {"muscle/hip/gluteus-maximus", "muscle/thigh/iliopsoas",
                                               "muscle/back/erector-spinae"}),
        ("example_seg.nii.gz", "total", {"muscle/hip/gluteus-maximus", "muscle/thigh/iliopsoas"}),
    ],
)  # fmt: skip
def test_totalsegmentator_examples(data: Path, tmp_path: Path, volume: str, task: str, expected: set[str]) -> None:
    site = tmp_path / "site"
    source = data / "totalsegmentator-example" / volume
    assert main(["build", str(source), "--labels", f"totalsegmentator:{task}", "-o", str(site), *FAST]) == 0
    assert expected <= _pages(site)
    assert "Apache License 2.0" in (site / "index.html").read_text()


def test_demo_builds_the_whole_body_atlas_with_its_attribution(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    site = tmp_path / "demo"
    assert main(["demo", "-o", str(site), "--views", "2", "--size", "64", "--no-ssaa", "--jobs", "2"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"sides: \d+ closed pieces wound inward", out) and "Vastus lateralis: 2 pieces → left, right" in out
    pages = _pages(site)
    regions = ("head", "neck", "back", "abdomen", "shoulder", "arm", "forearm", "hip", "thigh", "leg")
    assert {f"muscle/{r}" for r in regions} <= pages
    for page in ("muscle/head/masseter", "muscle/head/procerus", "muscle/neck/digastric", "muscle/back/multifidus",
                 "muscle/abdomen/rectus-abdominis", "muscle/leg/soleus", "muscle/thigh/vastus-lateralis",
                 "muscle/arm/biceps-brachii", "muscle/forearm/pronator-teres"):  # fmt: skip
        assert page in pages, page
    home = (site / "index.html").read_text()
    assert "real anatomy" in home and "one body" in home and "ten regions" in home
    soleus = (site / "muscle/leg/soleus/index.html").read_text()
    assert 'class="side-switch"' not in soleus  # the demo's default: both sides shown together
    assert "Volume (left)" in soleus and "Volume (right)" in soleus
    for page in site.rglob("*.html"):
        text = page.read_text()
        assert "CC BY-SA 4.0" in text and "Z-Anatomy" in text and "BodyParts3D" in text, page


def test_zanatomy_upper_limb_gltf_pages_show_their_muscle(data: Path, tmp_path: Path) -> None:
    """A glTF scene (Draco, metres, Y-up) becomes shoulder, arm and forearm pages whose renders
    show the named muscle; muscles of two regions have a page in both; CC BY-SA on every page."""
    import numpy as np
    from PIL import Image

    site = tmp_path / "site"
    source = data / "zanatomy-upper-limb" / "upper-limb.glb"
    assert main(["build", str(source), "-o", str(site), "--views", "4", "--size", "128", "--no-ssaa",
                 "--triangles", "1500", "--jobs", "2"]) == 0  # fmt: skip
    pages = _pages(site)
    for page in ("muscle/shoulder/deltoid", "muscle/arm/biceps-brachii", "muscle/arm/triceps-brachii",
                 "muscle/forearm/pronator-teres", "muscle/forearm/flexor-carpi-ulnaris",
                 "muscle/shoulder/latissimus-dorsi", "muscle/back/latissimus-dorsi",
                 "muscle/shoulder/rhomboid-major", "muscle/back/rhomboid-major"):  # fmt: skip
        assert page in pages, page
    # Bones are never muscles: no page for a hip muscle or the trapezius in an upper limb of bones.
    assert "muscle/hip/piriformis" not in pages and "muscle/shoulder/trapezius" not in pages
    renders = site / "assets" / "renders"
    for page in sorted(p for p in pages if p.count("/") == 2):
        stem = page.removeprefix("muscle/").replace("/", "-")
        shown = 0
        for view in range(1, 5):
            rgb = np.asarray(Image.open(renders / f"{stem}-right-{view}.webp").convert("RGB")).astype(int)
            red = (rgb[..., 0] > 110) & (rgb[..., 0] > 2.2 * rgb[..., 1]) & (rgb[..., 0] > 2.2 * rgb[..., 2])
            shown += int(red.sum() >= 6)  # the highlight (or a first child's colour), whatever the shading
        assert shown >= 2, f"{page}: the muscle shows in {shown} of 4 views"
    for html in site.rglob("*.html"):
        text = html.read_text()
        assert "CC BY-SA 4.0" in text and "BodyParts3D" in text, html
    home = (site / "index.html").read_text()
    assert "Muscles outside the atlas tree (12)" in home and "Bones (32)" in home and "Nerves (22)" in home
