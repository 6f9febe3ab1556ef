"""The VHF both-legs atlas in a real browser (Debian Chromium driven by Playwright).

Also checked here: every HTML page with the Nu HTML checker, axe-core on the home, a region and
a muscle page, a crawl for broken links and missing assets, and the first-load weight of a page.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin, urlparse

import pytest

from sitebuild import serving

JS = Path(__file__).parent / "js" / "node_modules"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic"]  # fmt: skip


@pytest.fixture(scope="module")
def server(vhf_site: Path) -> Iterator[str]:
    with serving(vhf_site) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed (make test installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield instance
        instance.close()


@pytest.fixture()
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    tab.console_errors = []
    tab.on("console", lambda m: tab.console_errors.append(m.text) if m.type == "error" else None)
    tab.on("pageerror", lambda e: tab.console_errors.append(str(e)))
    yield tab
    context.close()


def test_click_home_to_soleus_video_lightbox_and_3d_viewer(page, server: str) -> None:
    page.goto(server)
    page.get_by_role("link", name="Lower limb").first.click()
    page.wait_for_url("**/muscle/lower-limb/")
    page.locator("main").get_by_role("link", name=re.compile("^Leg")).first.click()
    page.wait_for_url("**/muscle/leg/")
    page.locator("main").get_by_role("link", name=re.compile("^Soleus")).first.click()
    page.wait_for_url("**/muscle/leg/soleus/")
    assert page.locator("h1").inner_text() == "The soleus muscle of the leg"
    # The video plays.
    page.wait_for_function("() => { const v = document.querySelector('video'); return v && v.currentTime > 0.2 }",
                           timeout=15000)  # fmt: skip
    # The lightbox opens and steps with the keyboard.
    page.locator(".gallery a").first.click()
    dialog = page.get_by_role("dialog")
    dialog.wait_for()
    first = dialog.locator("img").get_attribute("src")
    assert first.endswith("leg-soleus-both-1.webp")
    page.keyboard.press("ArrowRight")
    page.wait_for_function("() => document.querySelector('[role=dialog] img').src.endsWith('-2.webp')")
    page.keyboard.press("ArrowLeft")
    page.wait_for_function("() => document.querySelector('[role=dialog] img').src.endsWith('-1.webp')")
    page.keyboard.press("Escape")
    dialog.wait_for(state="hidden")
    # The 3D viewer loads the model.
    page.get_by_role("button", name=re.compile("3D model")).click()
    page.wait_for_function(
        "() => { const m = document.querySelector('model-viewer'); return m && m.loaded === true }", timeout=60000
    )
    assert page.evaluate("document.querySelector('model-viewer').src").endswith("leg-both-scene.glb")
    assert page.console_errors == []


@pytest.mark.parametrize("query", ["SOL", "plantarflexion"])
def test_search_finds_the_soleus(page, server: str, query: str) -> None:
    page.goto(server + f"search/?q={query}")
    page.wait_for_selector("#search-results a, .search-results a", timeout=10000)
    hrefs = page.eval_on_selector_all("main a", "els => els.map(e => e.href)")
    assert any(h.endswith("/muscle/leg/soleus/") for h in hrefs), hrefs
    assert page.console_errors == []


def test_pages_load_without_console_errors(page, server: str) -> None:
    for path in ("", "muscle/", "muscle/leg/", "muscle/thigh/biceps-femoris/", "muscle/hip/gemelli/", "nope/"):
        page.goto(server + path)
        page.wait_for_load_state("load")
    assert [e for e in page.console_errors if "404" not in e] == []


def test_crawl_finds_no_broken_link_or_missing_asset(vhf_site: Path, server: str) -> None:
    import urllib.request

    seen, queue, broken = set(), [server], []
    while queue:
        url = queue.pop()
        if url in seen:
            continue
        seen.add(url)
        try:
            with urllib.request.urlopen(url) as response:  # noqa: S310 - our own 127.0.0.1 server
                body = response.read()
                kind = response.headers.get("Content-Type", "")
        except Exception as exc:
            broken.append((url, str(exc)))
            continue
        if "html" not in kind:
            continue
        for ref in re.findall(r'(?:href|src|poster)="([^"#]+)"', body.decode()):
            target = urljoin(url, ref)
            if urlparse(target).netloc == urlparse(server).netloc and target not in seen:
                queue.append(target)
    assert broken == []
    assert sum(1 for u in seen if u.endswith("/")) >= len(list(vhf_site.rglob("index.html")))


def test_every_page_passes_the_nu_html_checker(vhf_site: Path) -> None:
    jar = JS / "vnu-jar" / "build" / "dist" / "vnu.jar"
    if shutil.which("java") is None or not jar.is_file():
        pytest.skip("vnu-jar or java missing (make test installs vnu-jar)")
    pages = [str(p) for p in sorted(vhf_site.rglob("*.html"))]
    result = subprocess.run(["java", "-jar", str(jar), "--errors-only", "--format", "json", *pages],
                            capture_output=True, text=True, timeout=600)  # fmt: skip
    messages = json.loads(result.stderr or '{"messages": []}')["messages"]
    assert [(m.get("url", "").rsplit("/site/", 1)[-1], m["message"]) for m in messages] == []
    assert len(pages) > 50


@pytest.mark.parametrize("path", ["", "muscle/leg/", "muscle/leg/soleus/"])
def test_axe_finds_no_serious_accessibility_problem(page, server: str, path: str) -> None:
    axe = JS / "axe-core" / "axe.min.js"
    if not axe.is_file():
        pytest.skip("axe-core missing (make test installs it)")
    page.goto(server + path)
    page.add_script_tag(path=str(axe))
    results = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    serious = [(v["id"], v["impact"]) for v in results["violations"] if v["impact"] in ("serious", "critical")]
    assert serious == []


# --- issue #11: the side switch, the shared scene, nothing unreachable --------------------------------


def _visible(page, selector: str) -> list[str]:
    return page.eval_on_selector_all(selector, "els => els.filter(e => !e.closest('[hidden]'))"
                                     ".map(e => e.getAttribute('src') || e.getAttribute('href'))")  # fmt: skip


def test_side_switch_changes_the_turntable_and_keeps_the_shared_gallery(page, server: str) -> None:
    page.goto(server + "muscle/leg/soleus/")
    group = page.get_by_role("group", name="Side shown")
    group.wait_for()
    radios = group.get_by_role("radio")
    assert radios.count() == 3 and radios.nth(0).is_checked()
    assert any(s.endswith("leg-soleus-both.mp4") for s in _visible(page, ".viewer-stage video source"))
    # Click: the left side's video plays; the gallery (both sides, shared) stays, with its lightbox.
    group.get_by_role("radio", name="Left").click()  # where the label shows: the radio covers it
    assert group.get_by_role("radio", name="Left").is_checked()
    page.wait_for_function("() => { const v = [...document.querySelectorAll('.viewer-stage video')]"
                           ".find(v => !v.closest('[hidden]')); return v && v.currentSrc.includes('-left.') "
                           "&& v.currentTime > 0.2 }", timeout=15000)  # fmt: skip
    links = _visible(page, ".gallery a")
    assert len(links) == 8 and all("leg-soleus-both-" in h for h in links)
    assert page.locator(".viewer-caption").inner_text().endswith("left, turning")
    page.locator(".gallery a").nth(2).click()
    assert page.get_by_role("dialog").locator("img").get_attribute("src").endswith("leg-soleus-both-3.webp")
    page.keyboard.press("Escape")
    # Keyboard: arrows move through the radios, focus is visible, the turntable follows.
    group.get_by_role("radio", name="Left").focus()
    page.keyboard.press("ArrowRight")
    assert group.get_by_role("radio", name="Right").is_checked()
    outline = page.evaluate("getComputedStyle(document.activeElement.nextElementSibling).outlineStyle")
    assert outline not in ("", "none")
    page.wait_for_function("() => [...document.querySelectorAll('.viewer-stage video')]"
                           ".some(v => !v.closest('[hidden]') && v.currentSrc.includes('-right.'))")  # fmt: skip
    assert len(_visible(page, ".gallery a")) == 8
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    assert group.get_by_role("radio", name="Both sides").is_checked()
    assert all("leg-soleus-both-" in h for h in _visible(page, ".gallery a"))
    assert page.console_errors == []


def test_side_switch_is_hidden_without_javascript(browser, server: str) -> None:
    context = browser.new_context(java_script_enabled=False)
    tab = context.new_page()
    tab.goto(server + "muscle/leg/soleus/")
    assert not tab.locator(".side-switch").is_visible()
    assert tab.locator("video").count() == 1 and tab.locator(".gallery").count() == 1
    assert all("leg-soleus-both-" in h for h in tab.eval_on_selector_all(".gallery a", "e => e.map(a => a.href)"))
    context.close()


def _red(page):
    """Pixels of the 3D viewer's canvas in a highlight red (whatever the shading)."""
    import base64
    import io

    import numpy as np
    from PIL import Image

    url = page.evaluate("document.querySelector('model-viewer').toDataURL('image/png')")
    rgb = np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).convert("RGB")).astype(int)
    return (rgb[..., 0] > 110) & (rgb[..., 0] > 2.2 * rgb[..., 1]) & (rgb[..., 0] > 2.2 * rgb[..., 2])


def _model_mask(page, server: str, path: str):
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(server + path)
    page.get_by_role("button", name="Show 3D model").click()
    page.wait_for_function("() => { const m = document.querySelector('model-viewer'); return m && m.loaded }",
                           timeout=60000)  # fmt: skip
    side_view = "m.cameraOrbit = '90deg 75deg auto'"  # from the side: the soleus behind, the other in front
    page.evaluate("() => { const m = document.querySelector('model-viewer'); m.autoRotate = false;"
                  f" {side_view}; m.jumpCameraToGoal(); }}")  # fmt: skip
    # Painted on the model's load event: the page's structures take the highlight colour, opaque.
    page.wait_for_function(
        "() => { const m = document.querySelector('model-viewer'), figure = m.closest('figure');"
        " const keys = Object.keys(JSON.parse(figure.dataset.modelHighlight));"
        " return keys.every(k => { const x = m.model.getMaterialByName(k);"
        " return x && x.getAlphaMode() === 'OPAQUE' && x.pbrMetallicRoughness.baseColorFactor[1] < 0.05; }); }",
        timeout=20000,
    )
    page.wait_for_timeout(500)  # a few frames drawn with the new colours
    mask = _red(page)
    outside = [u for u in requests if not u.startswith((server, "blob:", "data:"))]
    assert outside == []  # the Draco decoder comes from the site (its worker from a blob)
    assert any(u.endswith("draco_decoder.wasm") for u in requests)
    return float(mask.mean()), mask, page.evaluate("document.querySelector('model-viewer').src")


def test_3d_viewer_highlights_the_pages_structure_in_the_shared_scene(page, server: str) -> None:
    soleus_share, soleus, soleus_src = _model_mask(page, server, "muscle/leg/soleus/")
    anterior_share, anterior, anterior_src = _model_mask(page, server, "muscle/leg/tibialis-anterior/")
    assert soleus_src == anterior_src and soleus_src.endswith("leg-both-scene.glb")  # one model, two pages
    assert soleus_share > 0.002 and anterior_share > 0.002  # each page's structure in the highlight colour
    same = (soleus & anterior).sum() / max(1, (soleus | anterior).sum())
    assert same < 0.3, same  # … and not the same pixels (seen from the side: the soleus behind, the other in front)
    assert page.console_errors == []


def test_no_file_of_the_site_is_unreachable(vhf_site: Path) -> None:
    from sitecrawl import orphans

    assert orphans(vhf_site) == []


# --- issue #19: a muscle whose label held both legs gets the side switch --------------------------


def test_side_switch_of_a_muscle_split_from_one_label(browser, thigh_site: Path) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    errors: list[str] = []
    tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    with serving(thigh_site) as url:
        tab.goto(url + "muscle/thigh/vastus-lateralis/")
        group = tab.get_by_role("group", name="Side shown")
        group.wait_for()
        assert [group.get_by_role("radio").nth(i).get_attribute("value") for i in range(3)] == ["both", "left", "right"]
        for side in ("left", "right"):
            group.get_by_role("radio", name=side.capitalize()).click()
            tab.wait_for_function(
                "side => { const v = [...document.querySelectorAll('.viewer-stage video')]"
                ".find(v => !v.closest('[hidden]')); return v && v.currentSrc.includes('-' + side + '.') }",
                arg=side, timeout=15000,
            )  # fmt: skip
            poster = tab.eval_on_selector_all(".viewer-stage video", "vs => vs.filter(v => !v.closest('[hidden]'))"
                                              ".map(v => v.getAttribute('poster'))")  # fmt: skip
            assert poster == [f"../../../assets/renders/thigh-vastus-lateralis-{side}-poster.webp"]
            links = _visible(tab, ".gallery a")  # the Both view's, shared
            assert len(links) == 4 and all("thigh-vastus-lateralis-both-" in h for h in links)
        text = tab.locator("main").inner_text()
        assert "Volume (left)" in text and "Volume (right)" in text and "Volume asymmetry" in text
    context.close()
    assert errors == []
