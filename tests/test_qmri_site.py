"""Quantitative MRI on the site (issue #10, "On the site"): the QMRITools lower-leg demo built with
its Dixon and DTI maps. The soleus page's card against ``quantify()``, the plots' accessibility,
the map-coloured turntable and GLB, the region table, the methods page, downloads; the wiring
(flags, atlas.toml, cache key, header affine); and the soleus page in Chromium.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import numpy as np
import pytest

from muscle_atlas.quantities import MapSpecs, quantify
from muscle_atlas.render.settings import RenderSettings
from muscle_atlas.site.atlas import SiteOptions
from muscle_atlas.site.build import BuildRequest, build
from sitebuild import serving
from test_browser import CHROMIUM, JS, browser, page  # noqa: F401 - the Playwright fixtures, reused

SOLEUS = "muscle/leg/soleus/index.html"
TIMINGS: dict[str, float] = {}


@pytest.fixture(scope="module")
def leg(data: Path) -> Path:
    folder = data / "qmritools-leg-qmri"
    if not (folder / "labels.nii.gz").is_file():
        pytest.skip(f"no {folder}")
    return folder


def _specs(leg: Path) -> MapSpecs:
    return MapSpecs(dixon=(leg / "water.nii.gz", leg / "fat.nii.gz"), dti=leg / "DTI-tensor.nii.gz", erode=1)


@pytest.fixture(scope="module")
def site(leg: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """labels + table + --dixon + --dti, tiny render settings, two render processes."""
    out = tmp_path_factory.mktemp("qmri") / "site"
    request = BuildRequest(
        source=str(leg / "labels.nii.gz"), output=str(out), labels=str(leg / "labels.txt"), jobs=2,
        settings=RenderSettings(views=4, size=128, thumb=32, ssaa=False), triangles=1500,
        site=SiteOptions(title="Leg qMRI atlas"), progress=False, maps=_specs(leg),
    )  # fmt: skip
    started = time.perf_counter()
    build(request)
    TIMINGS["build"] = time.perf_counter() - started
    return out


@pytest.fixture(scope="module")
def reference(leg: Path):
    from muscle_atlas.anatomy.match import match_labels
    from muscle_atlas.sources import open_source

    source = open_source(leg / "labels.nii.gz", leg / "labels.txt")
    return quantify(source.volume, match_labels(source.label_names()), _specs(leg))


def _html(site: Path, path: str = SOLEUS) -> str:
    return (site / path).read_text(encoding="utf-8")


def _numbers(cell: str) -> tuple[float, float, float]:
    found = re.fullmatch(r"([\d.−-]+) \[([\d.−-]+)–([\d.−-]+)\]", cell.strip())
    assert found, cell
    return tuple(float(g.replace("−", "-")) for g in found.groups())  # type: ignore[return-value]


def _close(shown: float, value: float) -> bool:
    """Shown with three significant digits."""
    return abs(shown - value) <= 0.51 * 10 ** (np.floor(np.log10(abs(value))) - 2)


# ---------------------------------------------------------------------------------------------
# The soleus page


@pytest.mark.parametrize(("label", "quantity", "factor"), [
    ("Fat fraction (%)", "fat_fraction", 1.0), ("Mean diffusivity, MD (10⁻³ mm²/s)", "MD", 1e3),
    ("Fractional anisotropy, FA", "FA", 1.0),
])  # fmt: skip
def test_soleus_card_shows_the_medians_quantify_computes(site: Path, reference, label: str, quantity: str,
                                                         factor: float) -> None:  # fmt: skip
    html = _html(site)
    card = re.search(r'<table class="data qmri-table">(.*?)</table>', html, re.S).group(1)
    assert "<caption" in card and "median [interquartile range]" in card
    assert re.findall(r'<th scope="colgroup" colspan="2">(\w+)</th>', card) == ["Left", "Right"]
    row = re.search(rf'<th scope="row">{re.escape(label)}</th>(.*?)</tr>', card, re.S).group(1)
    cells = re.findall(r"<td>(.*?)</td>", row)
    assert len(cells) == 4  # left raw, left eroded, right raw, right eroded
    for cell, (side, erosion) in zip(cells, [("left", 0), ("left", 1), ("right", 0), ("right", 1)], strict=True):
        median, p25, p75 = _numbers(cell)
        expected = next(r for r in reference.rows if (r["structure"], r["side"], r["map"], r["erosion_voxels"])
                        == ("leg/soleus", side, quantity, erosion))  # fmt: skip
        assert _close(median, expected["median"] * factor), (cell, expected["median"])
        assert _close(p25, expected["p25"] * factor) and _close(p75, expected["p75"] * factor), cell
    left, right = (reference.median("leg/soleus", side, "fat_fraction", 1) for side in ("left", "right"))
    assert left < right  # the card shows what the data says: the right soleus has more fat


class _Svgs(HTMLParser):
    """Every inline <svg>: its attributes, the ids of its <title> and <desc>, its polylines' strokes."""

    def __init__(self) -> None:
        super().__init__()
        self.svgs: list[dict] = []
        self.inside: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "svg":
            self.svgs.append({"attrs": a, "title": None, "desc": None, "text": {}, "strokes": []})
        elif self.svgs and tag in ("title", "desc"):
            self.svgs[-1][tag] = a.get("id")
            self.inside = tag
        elif self.svgs and tag == "polyline":
            self.svgs[-1]["strokes"].append(a.get("stroke"))

    def handle_data(self, data: str) -> None:
        if self.inside:
            self.svgs[-1]["text"][self.inside] = data

    def handle_endtag(self, tag: str) -> None:
        if tag in ("title", "desc"):
            self.inside = None


def test_histograms_and_profiles_are_accessible_svg_with_their_numbers(site: Path) -> None:
    html = _html(site)
    parser = _Svgs()
    parser.feed(html)
    plots = [s for s in parser.svgs if "plot" in (s["attrs"].get("class") or "")]
    assert len(plots) == 6 + 1 + 6  # a histogram per map, the area, a profile per map
    for svg in [*plots, *(s for s in parser.svgs if s not in plots)]:  # the colour bar too
        assert svg["attrs"]["role"] == "img"
        assert svg["attrs"]["aria-labelledby"] == f"{svg['title']} {svg['desc']}"
        assert svg["text"].get("title") and svg["text"].get("desc")
    titles = [s["text"]["title"] for s in plots]
    assert "Fat fraction: distribution in the soleus" in titles
    assert "Cross-sectional area along the soleus" in titles
    assert "Fat fraction along the soleus, median per slice" in titles
    ff = plots[titles.index("Fat fraction: distribution in the soleus")]
    assert ff["strokes"] == ["#0072b2", "#d55e00"]  # left and right overlaid
    assert "Fat fraction (%)" in html and "Slice position (mm)" in html and "Area (cm²)" in html
    # Ticks with units on both axes, and the numbers as a table in <details> for every plot.
    assert html.count('class="tick-label"') > 13 * 6
    assert html.count('<details class="plot-data">') == 13
    assert len(re.findall(r"<caption id=\"qmri-[a-z0-9-]+-caption\">", html)) == 13


def test_map_turntable_is_coloured_by_fat_fraction_and_varies(site: Path) -> None:
    from PIL import Image

    html = _html(site)
    assert 'class="viewer map-viewer"' in html and "leg-soleus-both-map.mp4" in html
    assert "coloured by fat fraction" in html
    assert re.search(r"<text [^>]*>≤ 0</text>.*<text [^>]*>≥ \d+</text>", html, re.S)  # the colour bar and its range
    frame = np.asarray(Image.open(site / "assets/renders/leg-soleus-both-map-1.webp").convert("RGB")).astype(int)
    plain = np.asarray(Image.open(site / "assets/renders/leg-soleus-both-1.webp").convert("RGB")).astype(int)
    red = (plain[..., 0] > 150) & (plain[..., 1] < 90) & (plain[..., 2] < 90)
    assert red.sum() > 500  # the plain turntable shows the soleus in its highlight colour …
    coloured = (frame.max(axis=-1) - frame.min(axis=-1)) > 60
    assert coloured.sum() > 500 and not ((frame[..., 0] > 150) & (frame[..., 1] < 90)).any()  # … this one by the map
    green = frame[..., 1][coloured]  # viridis runs from dark purple (G ≈ 0) to yellow (G ≈ 230)
    assert green.std() > 15 and np.percentile(green, 95) - np.percentile(green, 5) > 50
    rows = np.flatnonzero(coloured.any(axis=1))
    bands = np.array_split(np.arange(rows.min(), rows.max() + 1), 4)
    means = [frame[band][..., 1][coloured[band]].mean() for band in bands]
    assert max(means) - min(means) > 3  # the colours change along the muscle (rows ≈ superior–inferior)


def test_map_model_has_vertex_colours(site: Path) -> None:
    import pygltflib

    mapped = pygltflib.GLTF2().load(str(site / "assets/renders/leg-soleus-both-map.glb"))
    with_colours = [p for m in mapped.meshes for p in m.primitives if p.attributes.COLOR_0 is not None]
    assert len(with_colours) == 2  # the left and the right soleus
    assert all(mapped.materials[p.material].pbrMetallicRoughness.baseColorFactor[:3] == [1, 1, 1] for p in with_colours)
    plain = pygltflib.GLTF2().load(str(site / "assets/renders/leg-both-scene.glb"))
    assert all(p.attributes.COLOR_0 is None for m in plain.meshes for p in m.primitives)
    if shutil.which("node") and (JS / "gltf-validator").is_dir():
        model = site / "assets/renders/leg-soleus-both-map.glb"
        report = subprocess.run(["node", str(JS.parent / "validate-gltf.mjs"), str(model)],
                                capture_output=True, text=True, check=True, timeout=120)  # fmt: skip
        assert [r for r in json.loads(report.stdout) if r["errors"]] == []


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for key, value in attrs:
            if key in ("href", "src", "poster", "data-model", "data-model-poster") and value:
                self.refs.append(value)


def _references(site: Path) -> dict[Path, set[Path]]:
    found: dict[Path, set[Path]] = {}
    for page_file in site.rglob("*.html"):
        parser = _Links()
        parser.feed(page_file.read_text(encoding="utf-8"))
        targets = set()
        for ref in parser.refs:
            if re.match(r"[a-z]+:|#", ref):
                continue
            target = (page_file.parent / unquote(ref.split("#")[0])).resolve()
            targets.add(target / "index.html" if ref.endswith("/") or target.is_dir() else target)
        found[page_file] = targets
    return found


def test_downloads_resolve_and_every_quantity_file_is_linked(site: Path) -> None:
    references = _references(site)
    for page_file, targets in references.items():
        if page_file.name == "404.html":  # its links start from the site's root path
            continue
        missing = [str(t) for t in targets if not t.exists()]
        assert missing == [], page_file
    linked = set().union(*references.values())
    shipped = [p.resolve() for p in (site / "data").iterdir()]
    shipped += [p.resolve() for p in (site / "assets/renders").glob("*-map*")]
    assert len(shipped) >= 6 + 3 * 6  # six data files; a poster, a video and a model per muscle
    assert [str(p) for p in shipped if p not in linked] == []
    soleus = _html(site)
    downloads = re.search(r'<section class="downloads".*?</section>', soleus, re.S).group(0)
    for name in ("leg-soleus-both-map.glb", "data/quantities.csv", "data/profiles.csv"):
        assert name in downloads
    histograms = json.loads((site / "data/histograms.json").read_text())
    assert all("/" not in f for m in histograms["maps"] for f in m["files"])  # no paths of the build machine


def test_region_page_has_a_sortable_table_of_eroded_medians(site: Path, reference) -> None:
    html = _html(site, "muscle/leg/index.html")
    section = re.search(r'<section class="qmri".*?</section>', html, re.S).group(0)
    assert '<table class="sortable data">' in section and "Fat fraction (%)" in section and "MD (10⁻³ mm²/s)" in section
    row = re.search(r'<th scope="row" data-sort="Soleus"><a href="\.\./\.\./muscle/leg/soleus/">Soleus</a></th>\s*'
                    r'<td data-sort="left">left</td>\s*<td data-sort="([^"]+)">', section)  # fmt: skip
    assert row is not None
    assert float(row.group(1)) == pytest.approx(reference.median("leg/soleus", "left", "fat_fraction", 1), rel=1e-5)
    muscles = {(r["structure"], r["side"]) for r in reference.rows}
    assert section.count("<tr") == 1 + len(muscles) >= 1 + 12  # header + every muscle and side


def test_methods_page_defines_the_numbers_and_is_linked_from_every_page(site: Path) -> None:
    html = _html(site, "methods/index.html")
    for words in ("nearest neighbour", "in-plane", "F / (W + F)", "1 % of the image’s robust maximum",
                  "xx, yy, zz, xy, xz, yz", "MD = (λ1 + λ2 + λ3) / 3", "fractional anisotropy FA = √(3/2)",
                  "n_voxels", "coverage", "edge_cut", "viridis"):  # fmt: skip
        assert words in html, words
    for page_file in site.rglob("index.html"):
        assert re.search(r'<a href="[./]*methods/">Methods</a>', page_file.read_text()), page_file
    assert "<loc>http://127.0.0.1:8000/methods/</loc>" in (site / "sitemap.xml").read_text()


# ---------------------------------------------------------------------------------------------
# Wiring: flags, atlas.toml, cache key, the header affine


def test_build_flags_route_map_files_and_scalar_maps(leg: Path) -> None:
    from muscle_atlas.cli import build_parser
    from muscle_atlas.config import build_request as request_from

    water, fat = str(leg / "water.nii.gz"), str(leg / "fat.nii.gz")
    args = build_parser().parse_args([
        "build", str(leg / "labels.nii.gz"), "--map", "names.txt", "--map", f"T2={water}:ms", "--qmap", f"PD={fat}",
        "--dixon", water, fat, "--dti", str(leg / "DTI-tensor.nii.gz"), "--dti-order", "fsl", "--erode", "2",
    ])  # fmt: skip
    request = request_from(args)
    assert request.map_file == "names.txt"
    assert [(s.name, s.unit) for s in request.maps.scalars] == [("T2", "ms"), ("PD", "")]
    assert request.maps.dixon == (Path(water), Path(fat)) and request.maps.erode == 2
    assert request.maps.dti_order == ("xx", "xy", "xz", "yy", "yz", "zz")
    plain = request_from(build_parser().parse_args(["build", str(leg / "labels.nii.gz"), "--map", "names.txt"]))
    assert plain.maps is None and plain.map_file == "names.txt"


def test_atlas_toml_maps_section(leg: Path, tmp_path: Path) -> None:
    import tomllib

    from muscle_atlas.cli import build_parser
    from muscle_atlas.config import TEMPLATE, load_project
    from muscle_atlas.config import build_request as request_from
    from muscle_atlas.errors import ConfigError

    assert tomllib.loads(TEMPLATE)["maps"] == {} and "dixon = [" in TEMPLATE
    (tmp_path / "atlas.toml").write_text(
        f'[source]\npath = "{leg / "labels.nii.gz"}"\n[maps]\ndixon = ["{leg / "water.nii.gz"}", "{leg / "fat.nii.gz"}"]\n'
        f'erode = 2\n[maps.T2]\nfile = "{leg / "fat.nii.gz"}"\nunit = "ms"\n'
    )  # fmt: skip
    load_project(tmp_path / "atlas.toml")
    request = request_from(build_parser().parse_args(["build", "--config", str(tmp_path / "atlas.toml"), "--erode", "1"]))
    assert request.maps.dixon is not None and request.maps.erode == 1  # the flag wins
    assert [(s.name, s.unit) for s in request.maps.scalars] == [("T2", "ms")]
    (tmp_path / "atlas.toml").write_text('[maps]\ndixon = "water.nii.gz"\nbogus = 1\n[render]\nviews = 0\n')
    with pytest.raises(ConfigError) as info:
        load_project(tmp_path / "atlas.toml")
    for key in ("maps.dixon", "maps.bogus", "render.views"):  # every problem at once
        assert key in info.value.message


def test_maps_are_part_of_the_render_cache_key(leg: Path) -> None:
    from dataclasses import replace

    from muscle_atlas.subject import SubjectRequest, input_key

    plain = SubjectRequest(str(leg / "labels.nii.gz"), str(leg / "labels.txt"))
    with_maps = replace(plain, maps=_specs(leg))
    keys = {input_key(r, {}) for r in (plain, with_maps, replace(plain, maps=replace(_specs(leg), erode=2)),
                                       replace(plain, maps=replace(_specs(leg), dti=None)))}  # fmt: skip
    assert len(keys) == 4
    assert input_key(with_maps, {}) == input_key(replace(plain, maps=_specs(leg)), {})
    assert input_key(replace(plain, maps=MapSpecs()), {}) == input_key(plain, {})  # no maps: the key as before


def test_a_forced_orientation_still_reads_the_maps_in_the_header_frame(leg: Path, tmp_path: Path, reference) -> None:
    from muscle_atlas.subject import SubjectRequest, _quantify, open_subject

    subject = open_subject(SubjectRequest(str(leg / "labels.nii.gz"), str(leg / "labels.txt"), orientation="LPS"))
    assert not np.allclose(subject.source.volume.affine, subject.header_affine)  # the frame was reinterpreted
    result = _quantify(subject, _specs(leg), tmp_path)
    assert result.rows == reference.rows


def test_maps_with_a_mesh_source_are_a_one_line_error(leg: Path, tmp_path: Path, capsys) -> None:
    import trimesh

    from muscle_atlas.cli import main

    (tmp_path / "meshes").mkdir()
    trimesh.creation.box(extents=(30, 30, 200)).export(tmp_path / "meshes" / "Soleus_left.stl")
    code = main(["build", str(tmp_path / "meshes"), "-o", str(tmp_path / "out"), "--dixon",
                 str(leg / "water.nii.gz"), str(leg / "fat.nii.gz"), "--views", "4", "--size", "96"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "need a NIfTI label volume" in err
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------------------------------------
# In a browser, and the checkers


@pytest.fixture(scope="module")
def server(site: Path) -> Iterator[str]:
    with serving(site) as url:
        yield url


def test_soleus_page_in_chromium(page, server: str) -> None:  # noqa: F811 - the reused fixture
    page.goto(server + "muscle/leg/soleus/")
    section = page.locator("section.qmri")
    section.wait_for()
    assert page.locator("table.qmri-table").is_visible()
    assert page.locator("table.qmri-table tbody tr").count() == 6
    assert page.locator("section.qmri svg.plot").count() == 13
    assert page.locator("section.qmri svg.plot").first.bounding_box()["width"] > 200
    viewer = page.locator("figure.map-viewer")
    viewer.scroll_into_view_if_needed()  # Chromium pauses muted autoplay videos out of view
    page.wait_for_function("() => { const v = document.querySelector('figure.map-viewer video');"
                           " return v && v.currentTime > 0.2 }", timeout=15000)  # fmt: skip
    assert viewer.locator(".colour-bar svg").is_visible()
    # The coloured 3D model loads in the viewer.
    viewer.get_by_role("button", name="Show 3D model").click()
    page.wait_for_function(
        "() => { const m = document.querySelector('figure.map-viewer model-viewer'); return m && m.loaded === true }",
        timeout=60000,
    )
    # The numbers of a plot open without JavaScript's help (details/summary).
    page.locator("details.plot-data summary").first.click()
    assert page.locator("details.plot-data table").first.is_visible()
    page.goto(server + "muscle/leg/")
    page.locator("section.qmri th button").nth(2).click()  # sort by fat fraction
    values = page.eval_on_selector_all("section.qmri tbody tr td:nth-child(3)", "els => els.map(e => e.dataset.sort)")
    assert [float(v) for v in values] == sorted(float(v) for v in values)
    assert page.console_errors == []


@pytest.mark.parametrize("path", ["muscle/leg/soleus/", "muscle/leg/", "methods/"])
def test_axe_finds_no_serious_problem(page, server: str, path: str) -> None:  # noqa: F811
    axe = JS / "axe-core" / "axe.min.js"
    if not axe.is_file():
        pytest.skip("axe-core missing (make test installs it)")
    page.goto(server + path)
    page.add_script_tag(path=str(axe))
    results = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    serious = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in results["violations"]
               if v["impact"] in ("serious", "critical")]  # fmt: skip
    assert serious == []


def test_every_page_passes_the_nu_html_checker(site: Path) -> None:
    jar = JS / "vnu-jar" / "build" / "dist" / "vnu.jar"
    if shutil.which("java") is None or not jar.is_file() or not Path(CHROMIUM).exists():
        pytest.skip("vnu-jar or java missing (make test installs vnu-jar)")
    pages = [str(p) for p in sorted(site.rglob("*.html"))]
    result = subprocess.run(["java", "-jar", str(jar), "--errors-only", "--format", "json", *pages],
                            capture_output=True, text=True, timeout=600)  # fmt: skip
    messages = json.loads(result.stderr or '{"messages": []}')["messages"]
    assert [(m.get("url", "").rsplit("/site/", 1)[-1], m["message"]) for m in messages] == []


def test_maps_with_the_jekyll_export_are_refused_in_one_line(leg: Path, tmp_path: Path, capsys) -> None:
    """The reference's page format has no place for maps: asking for both is a one-line error,
    before anything is computed."""
    from muscle_atlas.cli import main

    dixon = [str(leg / "water.nii.gz"), str(leg / "fat.nii.gz")]
    code = main(["build", str(leg / "labels.nii.gz"), "--labels", str(leg / "labels.txt"), "--dixon", *dixon,
                 "--format", "jekyll", "-o", str(tmp_path / "j")])  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "HTML site only" in err[0]
    assert not (tmp_path / "j").exists()
