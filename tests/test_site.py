"""The built site: pages, titles, galleries, facts, measures, search data, no CDN, Jekyll export."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from sitebuild import build_site, small_phantom

REFERENCE_KEYS = ["layout", "permalink", "title", "subheadline", "header", "tags", "images", "gallery"]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("site")
    volume, table = small_phantom(folder / "data")
    return build_site(volume, folder / "out", labels=str(table))


def _html_files(site: Path) -> list[Path]:
    return sorted(site.rglob("*.html"))


def test_pages_for_present_structures_and_their_ancestors(site: Path) -> None:
    pages = {str(p.relative_to(site).parent) for p in site.rglob("index.html")}
    assert {"muscle/leg/soleus", "muscle/leg/tibialis-anterior", "muscle/leg",
            "muscle/leg/superficial-posterior-compartment", "muscle/leg/anterior-compartment",
            "muscle/lower-limb", "muscle", "search", "."} == pages  # fmt: skip
    for name in ("404.html", "sitemap.xml", "robots.txt", "search-index.json", "data/measures.csv"):
        assert (site / name).is_file(), name


def test_muscle_page_has_the_reference_parts(site: Path) -> None:
    html = (site / "muscle/leg/soleus/index.html").read_text()
    assert "<h1" in html and "The soleus muscle of the leg" in html
    assert "Images and description." in html
    for index in (1, 2, 3, 4):
        assert f"The soleus muscle of the leg - orientation {index}" in html
        assert f"assets/renders/leg-soleus-both-{index}-thumb.avif" in html
    assert re.search(r"<video[^>]*autoplay[^>]*>", html) and "muted" in html and "loop" in html
    assert html.index('type="video/mp4"') < html.index("leg-soleus-both.gif") and "video/webm" not in html
    assert 'loading="lazy"' in html
    assert "Tibial nerve" in html and "FMA:22542" in html and "211200" in html
    assert "Volume (left)" in html and "Volume (right)" in html
    assert 'href="../../../muscle/leg/"' in html  # back to the leg
    assert "leg-both-scene.glb" in html  # the scene's model, shared by the leg's pages
    jsonld = re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S).group(1)
    data = json.loads(jsonld)
    assert data["@type"] == "AnatomicalStructure" and data["code"]["codeValue"] == "22542"


def test_region_page_has_a_sortable_measurements_table(site: Path) -> None:
    html = (site / "muscle/leg/index.html").read_text()
    assert "The muscles of the leg" in html
    assert 'class="sortable' in html and "Volume (mL)" in html
    assert html.count("<tr") >= 5  # header + soleus L/R + tibialis anterior L/R


def test_every_page_carries_provenance_and_no_cdn(site: Path) -> None:
    for page in _html_files(site):
        html = page.read_text()
        assert "Data:" in html, page
        html = re.sub(r'<link rel="canonical"[^>]*>', "", html)  # names the page, loads nothing
        for match in re.finditer(r'<(?:script|link|img|source|video)\b[^>]*?(?:src|href|poster)="([^"]+)"', html):
            url = match.group(1)
            assert not re.match(r"(https?:)?//", url), (page, url)


def test_search_index_covers_names_abbreviations_and_facts(site: Path) -> None:
    index = json.loads((site / "search-index.json").read_text())
    soleus = next(e for e in index if e["url"] == "muscle/leg/soleus/")
    assert "SOL" in soleus["text"] and "lantarflexion" in soleus["text"]


def test_sitemap_lists_every_page(site: Path) -> None:
    sitemap = (site / "sitemap.xml").read_text()
    assert sitemap.count("<loc>") == len(list(site.rglob("index.html")))
    assert "http://127.0.0.1:8000/muscle/leg/soleus/" in sitemap


# --- Jekyll --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def jekyll_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("jekyll")
    volume, table = small_phantom(folder / "data")
    return build_site(volume, folder / "out", labels=str(table), fmt="jekyll")


def _front_matter(text: str) -> dict:
    return yaml.safe_load(text.split("---")[1])


def test_jekyll_front_matter_has_exactly_the_reference_shape(jekyll_out: Path, data: Path) -> None:
    reference = _front_matter((data.parent / "reference" / "soleus-page.md").read_text())
    ours = (jekyll_out / "pages/muscles/muscle_leg-soleus.md").read_text()
    page = _front_matter(ours)
    assert list(page) == REFERENCE_KEYS == list(reference)
    for key in ("layout", "permalink", "title", "subheadline", "header", "tags"):
        assert page[key] == reference[key], key
    assert set(page["images"][0]) == set(reference["images"][0])
    assert page["images"][0]["image_name"] == "muscles/gif/Leg-Soleus.gif"
    assert set(page["gallery"][0]) == set(reference["gallery"][0])
    assert page["gallery"][0] == {"image_url": "muscles/png/Leg-Soleus-1.png",
                                  "caption": "The soleus muscle of the leg - orientation 1",
                                  "title": "The soleus muscle of the leg - orientation 1"}  # fmt: skip
    body = ours.split("---", 2)[2]
    assert body.index("[Back››](/muscle/leg/)") < body.index('{% include page-image im_id="soleus" %}')
    assert body.index("{% include page-image") < body.index("{% include gallery %}")
    for name in ("gif/Leg-Soleus.gif", "gif/Leg-Soleus.mp4", "png/Leg-Soleus-1.png",
                 "png/Leg-Soleus-4.png", "png/Leg-Soleus-4-thumb.png"):  # fmt: skip
        assert (jekyll_out / "assets/images/muscles" / name).is_file(), name


JEKYLL_LAYOUT = """<!DOCTYPE html><html><body><h1>{{ page.title }}</h1>{{ content }}</body></html>"""
PAGE_IMAGE = """{% for im in page.images %}{% if im.image_id == include.im_id %}<img src="{{ site.urlimg }}{{ im.image_name }}" alt="{{ im.image_alt }}">{% endif %}{% endfor %}"""  # noqa: E501
GALLERY = """{% for g in page.gallery %}<a href="{{ site.urlimg }}{{ g.image_url }}" title="{{ g.title }}">{{ g.caption }}</a>{% endfor %}"""  # noqa: E501


def test_jekyll_output_builds_with_debian_jekyll(jekyll_out: Path, tmp_path: Path) -> None:
    if shutil.which("jekyll") is None:
        pytest.skip("Debian's jekyll is not installed (make test installs it)")
    project = tmp_path / "jekyll-site"
    shutil.copytree(jekyll_out, project)
    (project / "_config.yml").write_text("title: test\nbaseurl: ''\nurlimg: '/assets/images/'\n")
    (project / "_layouts").mkdir()
    (project / "_layouts" / "page.html").write_text(JEKYLL_LAYOUT)
    (project / "_includes").mkdir()
    (project / "_includes" / "page-image").write_text(PAGE_IMAGE)
    (project / "_includes" / "gallery").write_text(GALLERY)
    subprocess.run(["jekyll", "build", "--quiet", "-s", str(project), "-d", str(project / "_site")],
                   check=True, capture_output=True, timeout=300)  # fmt: skip
    page = (project / "_site" / "muscle" / "leg" / "soleus" / "index.html").read_text()
    assert '<img src="/assets/images/muscles/gif/Leg-Soleus.gif"' in page
    assert "The soleus muscle of the leg - orientation 4" in page
    for src in re.findall(r'(?:src|href)="/(assets/images/muscles/[^"]+)"', page):
        assert (project / "_site" / src).is_file(), src


def test_first_load_of_a_muscle_page_at_default_size_is_under_300_kb(tmp_path: Path) -> None:
    """HTML, CSS, JS and the poster; the gallery, GIF and 3D model load lazily or on demand."""
    volume, table = small_phantom(tmp_path / "data", keep=("Soleus", "Tibia"))
    site = build_site(volume, tmp_path / "out", labels=str(table), views=2, size=800, thumb=200, ssaa=True)
    page = site / "muscle" / "leg" / "soleus" / "index.html"
    html = page.read_text()
    total = page.stat().st_size
    for ref in re.findall(r'<(?:link rel="stylesheet"|script)[^>]*(?:href|src)="([^"]+)"', html):
        total += (page.parent / ref).resolve().stat().st_size
    poster = re.search(r'poster="([^"]+)"', html).group(1)
    assert re.search(r"/leg-soleus-both-[12]\.webp$", poster)  # the still the page opens on
    total += (page.parent / poster).resolve().stat().st_size
    assert total <= 300 * 1024
    assert re.search(r"<script[^>]*model-viewer", html) is None  # the 3D viewer loads on demand


def test_serve_prints_its_url_and_serves_the_site_and_its_404(site: Path) -> None:
    import sys
    import urllib.error
    import urllib.request

    process = subprocess.Popen([sys.executable, "-m", "muscle_atlas", "serve", str(site), "--port", "0"],
                               stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        line = process.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+/", line).group(0)
        with urllib.request.urlopen(url + "muscle/leg/soleus/") as response:  # noqa: S310 - 127.0.0.1
            assert b"The soleus muscle of the leg" in response.read()
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(url + "no/such/page/")  # noqa: S310
        assert info.value.code == 404 and b"Page not found" in info.value.read()
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_project_colours_are_used(tmp_path: Path) -> None:
    from PIL import Image

    volume, table = small_phantom(tmp_path / "data", keep=("Soleus",))
    site = build_site(volume, tmp_path / "out", labels=str(table), highlight="#00ff00", background="black")
    import numpy as np

    pixels = np.asarray(Image.open(site / "assets/renders/leg-soleus-both-1.webp").convert("RGB")).reshape(-1, 3)
    assert max(pixels[0]) <= 3  # black, within lossy WebP's error
    r, g, b = pixels[:, 0].astype(int), pixels[:, 1].astype(int), pixels[:, 2].astype(int)
    assert ((g > 150) & (r < 80) & (b < 80)).any()
