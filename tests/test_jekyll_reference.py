"""The Jekyll export in the reference site's own URL space (muscle-atlas.org), and the HTML site's
redirects from that URL space.

The reference's page list (``reference-pages.tsv``: permalink, file, title, tags, image_id,
image_name, Back target, ordered children, for all 222 pages) is test data beside the real data
(``$MUSCLE_ATLAS_DATA/../reference``); the package holds only rules and a table of exceptions.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
import yaml

from muscle_atlas.anatomy.tree import build_tree, load_tree
from muscle_atlas.render.settings import RenderSettings
from muscle_atlas.site.atlas import SiteOptions
from muscle_atlas.site.build import BuildRequest, build
from muscle_atlas.site.reference import exceptions, name_of, page_list
from sitebuild import FAST

SOURCES = {"vhf": "vhf-lower-limb", "zanatomy": "zanatomy-upper-limb/upper-limb.glb",
           "whole-body": "zanatomy-whole-body"}  # fmt: skip
BASE_URL = "https://atlas.example.org/"


@pytest.fixture(scope="module")
def rows(data: Path) -> dict[str, dict]:
    table = data.parent / "reference" / "reference-pages.tsv"
    if not table.is_file():
        pytest.skip(f"reference page list not found at {table}")
    with table.open(encoding="utf-8", newline="") as handle:
        found = {row["permalink"]: row for row in csv.DictReader(handle, delimiter="\t")}
    assert len(found) == 222
    return found


def _children(row: dict) -> list[str]:
    return [c for c in row["children"].split(",") if c]


# --- the rules, over the whole structure tree -------------------------------------------------------


def test_every_structure_of_the_tree_gets_exactly_its_reference_row(rows: dict[str, dict]) -> None:
    tree = load_tree()
    present = {s.code: s for s in tree}
    names = {s.code: name_of(s) for s in tree}
    permalinks = [n.permalink for n in names.values()]
    assert len(set(permalinks)) == len(permalinks) == len(tree)
    assert set(rows) == set(permalinks)  # every page of the reference is a structure of ours
    assert set(permalinks) <= set(rows)  # no structure of ours is outside the reference
    linked = {n.linked_as for n in names.values()}
    for structure in tree:
        name = names[structure.code]
        row = rows[name.permalink]
        ours = {"file": name.file, "title": name.title, "tags": name.tags, "image_id": name.image_id,
                "image_name": name.image_name, "back": name.back}  # fmt: skip
        assert ours == {k: row[k] for k in ours}, structure.path
        listed = [n.linked_as for _, n in page_list(structure, present)[1:]]
        assert listed == [c for c in _children(row) if c in linked], structure.path


def test_exceptions_are_a_small_table_of_real_structures() -> None:
    tree = load_tree()
    table = exceptions()
    assert 0 < len(table) <= 20
    for code, entry in table.items():
        assert code in tree.by_code, code
        for other in [entry.get("lists"), *entry.get("order", [])]:
            assert other is None or other in tree.by_code, (code, other)


def test_a_limb_lists_regions_and_groups_and_links_its_own_bullet_to_the_root() -> None:
    tree = load_tree()
    present = {s.code: s for s in tree}
    items = page_list(tree.by_code[200000], present)
    assert items[0][1].linked_as == "/muscle/" and items[0][1].text == "Lower Limb"
    assert {n.kind for _, n in items[1:]} == {"region", "group"}
    texts = [(depth, n.text) for depth, n in page_list(tree.by_code[211100], present)]
    assert texts == [(0, "Gastrocnemius"), (1, "Lateral Head Of Gastrocnemius"), (1, "Medial Head Of Gastrocnemius")]
    assert page_list(tree.by_code[211200], present) == []  # soleus: no list
    # Only the pages that exist are listed.
    some = {c: present[c] for c in (200000, 210000, 211000, 211200)}
    assert [n.permalink for _, n in page_list(tree.by_code[210000], some)] == [
        "/muscle/leg/", "/muscle/leg/superficialposterior/", "/muscle/leg/soleus/"]  # fmt: skip


FACTS = {"latin": "x", "synonyms": [], "abbreviations": [], "origin": "x", "insertion": "x", "action": "x",
         "innervation": "x", "arterial_supply": "x", "fma_id": 1, "description": "x"}  # fmt: skip


def test_structures_the_reference_lacks_are_named_by_the_same_rules() -> None:
    entries = [
        {"code": 800000, "kind": "limb", "slug": "lower-limb", "name": "Lower limb", "description": "x"},
        {"code": 840000, "kind": "region", "slug": "foot", "name": "Foot", "description": "x"},
        {"code": 841000, "kind": "group", "slug": "dorsal-group", "name": "Dorsal muscles, extensor group",
         "description": "x"},
        {"code": 841100, "kind": "muscle", "slug": "extensor-digitorum-brevis", "name": "Extensor digitorum brevis",
         **FACTS},
        {"code": 841110, "kind": "head", "slug": "extensor-digitorum-brevis-medial-head",
         "name": "Extensor digitorum brevis, medial head", **FACTS},
    ]  # fmt: skip
    tree = build_tree([("foot.yaml", yaml.safe_dump(entries))])
    got = {s.code: name_of(s) for s in tree}
    region, group, muscle, head = got[840000], got[841000], got[841100], got[841110]
    assert (region.permalink, region.title, region.tags, region.base) == (
        "/muscle/foot/", "Muscles of the Foot", "muscle_low", "Foot")  # fmt: skip
    assert (group.permalink, group.title, group.image_id, group.base, group.text) == (
        "/muscle/foot/dorsalextensor/", "Muscles of the dorsal extensor compartment of the foot",
        "footdorsalextensor", "Foot-DorsalExtensor", "Dorsal Extensor Compartment")  # fmt: skip
    assert (muscle.permalink, muscle.file, muscle.title, muscle.image_name) == (
        "/muscle/foot/extensordigitorumbrevis/", "pages/muscles/muscle_foot-extensordigitorumbrevis.md",
        "The extensor digitorum brevis muscle of the foot", "muscles/gif/Foot-ExtensorDigitorumBrevis.gif")  # fmt: skip
    assert (head.permalink, head.title, head.image_id, head.base, head.back) == (
        "/muscle/foot/medialextensordigitorumbrevis/",
        "The medial head of the extensor digitorum brevis muscle of the foot",
        "medialheadofextensordigitorumbrevis", "Foot-MedialExtensorDigitorumBrevis", "/muscle/foot/")  # fmt: skip


# --- exports of real data ------------------------------------------------------------------------


def _build(source: Path, output: Path, fmt: str, redirects: bool = False) -> Path:
    request = BuildRequest(
        source=str(source), output=str(output), jobs=2, settings=RenderSettings(**FAST), triangles=1500,
        format=fmt, site=SiteOptions(title="Test atlas", base_url=BASE_URL), progress=False,
        reference_redirects=redirects,
    )  # fmt: skip
    return build(request)


@pytest.fixture(scope="module", params=sorted(SOURCES))
def built(request: pytest.FixtureRequest, data: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One source exported for Jekyll, then built as our HTML site with --reference-redirects
    (the second build renders nothing: the renders are cached beside the output)."""
    source = data / SOURCES[request.param]
    if not source.exists():
        pytest.skip(f"{source} not found")
    folder = tmp_path_factory.mktemp(request.param)
    jekyll = _build(source, folder / "site", "jekyll").rename(folder / "jekyll")
    html = _build(source, folder / "site", "html", redirects=True)
    return {"name": request.param, "jekyll": jekyll, "html": html}


def _page(path: Path) -> tuple[dict, str]:
    _, front, body = path.read_text(encoding="utf-8").split("---", 2)
    return yaml.safe_load(front), body


def _exported(jekyll: Path) -> dict[str, tuple[Path, dict, str]]:
    pages = {}
    for path in sorted((jekyll / "pages" / "muscles").glob("*.md")):
        front, body = _page(path)
        pages[front["permalink"]] = (path, front, body)
    return pages


def test_every_exported_page_is_its_reference_row(built: dict[str, Path], rows: dict[str, dict]) -> None:
    jekyll = built["jekyll"]
    pages = _exported(jekyll)
    redirects = {_page(p)[0]["permalink"] for p in (jekyll / "pages" / "muscles" / "redirects").glob("*.html")}
    expected = {"vhf": {"/muscle/lowerlimb/", "/muscle/leg/lateralgastrocnemius/", "/muscle/thigh/shortbicepsfemoris/",
                        "/muscle/hip/gemellussuperior/", "/muscle/thigh/iliacus/", "/muscle/abdomen/iliacus/",
                        "/muscle/abdomen/psoasmajor/", "/muscle/torso/"},
                "zanatomy": {"/muscle/upperlimb/", "/muscle/shoulder/scapulardeltoid/", "/muscle/back/rhomboidmajor/",
                             "/muscle/shoulder/rhomboidmajor/", "/muscle/arm/longtricepsbrachii/",
                             "/muscle/forearm/humeroulnarflexordigitorumsuperficialis/"},
                # The whole body: the four regions the limbs lack, each with a group and a muscle.
                "whole-body": {"/muscle/torso/", "/muscle/head/", "/muscle/head/facialnasal/", "/muscle/head/procerus/",
                               "/muscle/head/masseter/", "/muscle/neck/", "/muscle/neck/suprahyoids/",
                               "/muscle/neck/digastric/", "/muscle/back/", "/muscle/back/erectorspinae/",
                               "/muscle/back/multifidus/", "/muscle/back/transversospinalesgroup/",
                               "/muscle/back/minordeepintrinsic/", "/muscle/back/interspinalis/",
                               "/muscle/back/intertransversarii/", "/muscle/back/levatorescostarum/",
                               "/muscle/abdomen/", "/muscle/abdomen/anterolateral/",
                               "/muscle/abdomen/rectusabdominis/", "/muscle/upperlimb/", "/muscle/lowerlimb/"},
                }[built["name"]]  # fmt: skip
    assert expected <= set(pages)
    # Every reference row whose structure the whole body holds: 193 of the 222. The rest are 20 heads
    # that the model keeps inside their muscles (biceps, triceps, deltoid, gastrocnemius…) and 9
    # muscles it lacks (the tongue's intrinsic muscles, styloglossus, palatoglossus, puborectalis,
    # tensor fasciae latae, semitendinosus).
    assert len(pages) >= {"vhf": 50, "zanatomy": 70, "whole-body": 193}[built["name"]]
    linkable = set(pages) | redirects | {"/muscle/"}
    for permalink, (path, front, body) in pages.items():
        row = rows[permalink]
        assert path.relative_to(jekyll).as_posix() == row["file"]
        assert (front["title"], front["tags"]) == (row["title"], row["tags"]), permalink
        image = front["images"][0]
        assert (image["image_id"], image["image_name"]) == (row["image_id"], row["image_name"]), permalink
        assert front["gallery"][0]["image_url"] == row["image_name"].replace("/gif/", "/png/").replace(".gif", "-1.png")
        assert re.search(r"^\[Back››\]\(([^)]+)\)$", body, re.M).group(1) == row["back"], permalink
        links = re.findall(r"^ *- \[[^\]]+\]\(([^)]+)\)$", body, re.M)
        assert links[1:] == [c for c in _children(row) if c in linkable], permalink
        assert all(link in linkable for link in links), permalink
        assert body.index("[Back››]") < body.index("{% include page-image") < body.index("{% include gallery %}")
        for suffix in (".gif", ".mp4", "-1.png", "-4.png", "-4-thumb.png"):
            asset = (
                jekyll
                / "assets/images"
                / row["image_name"]
                .replace(".gif", suffix)
                .replace("/gif/", "/gif/" if suffix in (".gif", ".mp4") else "/png/")
            )
            assert asset.is_file(), asset
    root, _ = _page(jekyll / "pages" / "muscle.md")
    assert root["permalink"] == "/muscle/"
    if built["name"] == "zanatomy":
        assert redirects == {"/muscle/shoulder/scapularpartdeltoid/"}
        deltoid = pages["/muscle/shoulder/deltoid/"][2]
        assert "  - [Scapular Part Of Deltoid](/muscle/shoulder/scapularpartdeltoid/)" in deltoid
        rhomboids = pages["/muscle/back/rhomboids/"][2]
        assert "- [Rhomboids](/muscle/shoulder/rhomboids/)\n  - [Rhomboid Minor](/muscle/shoulder/rhomboidminor/)" in (
            rhomboids
        )
    elif built["name"] == "vhf":
        leg = pages["/muscle/leg/"][2]
        assert "    - [Gastrocnemius](/muscle/leg/gastrocnemius/)\n      - [Lateral Head Of Gastrocnemius]" in leg
        assert "- [Lower Limb](/muscle/)\n  - [Leg](/muscle/leg/)" in pages["/muscle/lowerlimb/"][2]


JEKYLL_LAYOUT = """<!DOCTYPE html><html lang="en"><head><title>{{ page.title }}</title></head><body><h1>{{ page.title }}</h1>{{ content }}</body></html>"""  # noqa: E501
# Modelled on the reference's own includes: a video beside the GIF (the MP4 the export ships),
# thumbnails beside the stills.
PAGE_IMAGE = """{% assign img = page.images | where: "image_id", include.im_id %}{% for item in img %}{% assign base = item.image_name | replace: '.gif', '' %}<video autoplay loop muted><source src="{{ site.urlimg }}{{ base }}.mp4" type="video/mp4"><img src="{{ site.urlimg }}{{ item.image_name }}" alt="{{ item.image_alt }}"></video>{% endfor %}"""  # noqa: E501
GALLERY = """<ul>{% for item in page.gallery %}{% assign split_url = item.image_url | split: '.' %}<li><a href="{{ site.urlimg }}{{ item.image_url }}"><img src="{{ site.urlimg }}{{ split_url[0] }}-thumb.{{ split_url[1] }}" alt="{{ item.caption }}"></a></li>{% endfor %}</ul>"""  # noqa: E501


class _Refs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for key in ("href", "src", "poster"):
            if values.get(key):
                self.refs.append(values[key])
        if tag == "meta" and (values.get("http-equiv") or "").lower() == "refresh":
            self.refs.append((values.get("content") or "").split("url=", 1)[-1])


def _refs(page: Path) -> list[str]:
    parser = _Refs()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser.refs


def _broken_links(site: Path, own_host: str = "") -> list[tuple[str, str]]:
    """Every internal href/src of every built page that does not resolve to a file."""
    broken = []
    for page in sorted(site.rglob("*.html")):
        for ref in _refs(page):
            parsed = urlparse(ref)
            if parsed.scheme in ("mailto", "data") or ref.startswith("#"):
                continue
            if parsed.scheme or parsed.netloc:
                if not own_host or parsed.netloc != own_host:
                    continue
            path = unquote(parsed.path)
            target = site / path.lstrip("/") if path.startswith("/") else page.parent / path
            if path.endswith("/") or target.is_dir():
                target = target / "index.html"
            if not target.resolve().is_file():
                broken.append((str(page.relative_to(site)), ref))
    return broken


def test_the_export_builds_with_debian_jekyll_without_a_broken_link(built: dict[str, Path], tmp_path: Path) -> None:
    if shutil.which("jekyll") is None:
        pytest.skip("Debian's jekyll is not installed (make test installs it)")
    project = tmp_path / "jekyll-site"
    shutil.copytree(built["jekyll"], project)
    (project / "_config.yml").write_text("title: test\nurl: 'https://atlas.example.org'\nbaseurl: ''\n"
                                         "urlimg: '/assets/images/'\n")  # fmt: skip
    (project / "_layouts").mkdir()
    (project / "_layouts" / "page.html").write_text(JEKYLL_LAYOUT)
    (project / "_includes").mkdir()
    (project / "_includes" / "page-image").write_text(PAGE_IMAGE)
    (project / "_includes" / "gallery").write_text(GALLERY)
    subprocess.run(["jekyll", "build", "--quiet", "-s", str(project), "-d", str(project / "_site")],
                   check=True, capture_output=True, timeout=600)  # fmt: skip
    site = project / "_site"
    pages = list(site.rglob("index.html"))
    assert len(pages) == len(list((built["jekyll"] / "pages").rglob("*.md"))) + len(
        list((built["jekyll"] / "pages").rglob("*.html")))  # fmt: skip
    assert _broken_links(site) == []
    crawled = " ".join(" ".join(_refs(p)) for p in pages)
    assert crawled.count("/assets/images/muscles/png/") >= 8 * len(pages) - 16  # the gallery is there
    if built["name"] == "zanatomy":
        moved = (site / "muscle/shoulder/scapularpartdeltoid/index.html").read_text()
        assert 'content="0; url=/muscle/shoulder/scapulardeltoid/"' in moved
        assert 'href="https://atlas.example.org/muscle/shoulder/scapulardeltoid/"' in moved
        deltoid = (site / "muscle/shoulder/deltoid/index.html").read_text()
        assert '<a href="/muscle/shoulder/scapularpartdeltoid/">Scapular Part Of Deltoid</a>' in deltoid
        soleus_like = (site / "muscle/shoulder/scapulardeltoid/index.html").read_text()
        assert '<img src="/assets/images/muscles/gif/Shoulder-ScapularDeltoid.gif"' in soleus_like


# --- our HTML site, with redirects from the reference's addresses -------------------------------------


REDIRECTED = {
    "vhf": {"muscle/leg/lateralgastrocnemius/": "muscle/leg/gastrocnemius-lateral-head/",
            "muscle/leg/superficialposterior/": "muscle/leg/superficial-posterior-compartment/",
            "muscle/lowerlimb/": "muscle/lower-limb/", "muscle/hip/deep/": "muscle/hip/deep-lateral-rotators/",
            "muscle/abdomen/psoasmajor/": "muscle/abdomen/psoas-major/"},
    "zanatomy": {"muscle/shoulder/scapulardeltoid/": "muscle/shoulder/deltoid-scapular-part/",
                 "muscle/shoulder/scapularpartdeltoid/": "muscle/shoulder/deltoid-scapular-part/",
                 "muscle/arm/longbicepsbrachii/": "muscle/arm/biceps-brachii-long-head/",
                 "muscle/back/rhomboidmajor/": "muscle/back/rhomboid-major/",
                 "muscle/forearm/anteriorsuperficial/": "muscle/forearm/anterior-superficial-group/"},
    "whole-body": {"muscle/head/facialnasal/": "muscle/head/facial-nasal-group/",
                   "muscle/head/corrugatorsupercilii/": "muscle/head/corrugator-supercilii/",
                   "muscle/back/erectorspinae/": "muscle/back/erector-spinae/",
                   "muscle/back/deepintrinsic/": "muscle/back/deep-intrinsic/",
                   "muscle/back/transversospinalesgroup/": "muscle/back/transversospinales/",
                   "muscle/back/minordeepintrinsic/": "muscle/back/minor-deep-intrinsic/",
                   "muscle/back/interspinalis/": "muscle/back/interspinales/",
                   "muscle/abdomen/rectusabdominis/": "muscle/abdomen/rectus-abdominis/"},
}  # fmt: skip


def test_html_site_redirects_the_reference_permalinks_to_our_pages(built: dict[str, Path]) -> None:
    site = built["html"]
    listing = json.loads((site / "redirects.json").read_text())
    for old, new in REDIRECTED[built["name"]].items():
        assert listing[f"/{old}"] == f"/{new}"
        page = site / old / "index.html"
        html = page.read_text()
        refresh = re.search(r'<meta http-equiv="refresh" content="0; url=([^"]+)">', html).group(1)
        assert (page.parent / refresh).resolve() == (site / new).resolve()
        assert (site / new / "index.html").is_file()
        assert f'<link rel="canonical" href="{BASE_URL}{new}">' in html
        assert '<meta name="robots" content="noindex">' in html and f'<a href="{refresh}">' in html
    # Our own pages are never replaced by a redirect, and the reference's names that are ours stay pages.
    for path in ("muscle/leg/soleus/", "muscle/shoulder/deltoid/", "muscle/", "muscle/arm/"):
        if (site / path).is_dir():
            assert "http-equiv" not in (site / path / "index.html").read_text(), path
    assert 'href="/redirects.json"' in (site / "404.html").read_text()  # the redirects are listed and linked
    assert _broken_links(site, urlparse(BASE_URL).netloc) == []


def test_redirect_pages_are_valid_html(built: dict[str, Path]) -> None:
    jar = Path(__file__).parent / "js" / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"
    if shutil.which("java") is None or not jar.is_file():
        pytest.skip("vnu-jar or java missing (make test installs vnu-jar)")
    pages = [str(built["html"] / old / "index.html") for old in REDIRECTED[built["name"]]]
    result = subprocess.run(["java", "-jar", str(jar), "--errors-only", "--format", "json", *pages],
                            capture_output=True, text=True, timeout=300)  # fmt: skip
    assert json.loads(result.stderr or '{"messages": []}')["messages"] == []


def test_the_flag_and_the_project_file_switch_the_redirects_on(tmp_path: Path) -> None:
    from muscle_atlas.cli import build_parser
    from muscle_atlas.config import build_request as request_from

    source = tmp_path / "meshes"
    source.mkdir()
    args = build_parser().parse_args(["build", str(source), "--reference-redirects"])
    assert request_from(args).reference_redirects is True
    assert request_from(build_parser().parse_args(["build", str(source)])).reference_redirects is False
    project = tmp_path / "atlas.toml"
    project.write_text(f'[source]\npath = "{source}"\n[output]\nreference_redirects = true\n')
    assert request_from(build_parser().parse_args(["build", "--config", str(project)])).reference_redirects is True
