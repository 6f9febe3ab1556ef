"""A study site in a real browser (Debian Chromium driven by Playwright), with the Nu HTML checker
and axe-core, reusing test_browser.py's set-up: a muscle page, a subject page with repeat
acquisitions, the QC page, a crawl for broken links, and the embedded atlas of the reference
subject rendered at tiny settings."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin, urlparse

import pytest

from muscle_atlas.cli import main
from sitebuild import serving
from test_browser import JS, browser, page  # noqa: F401 - the browser and page fixtures

ENTRIES = [("THIGH029", "T2w"), ("THIGH031", "T1w"), ("THIGH031", "fat"), ("THIGH022", "T1w"), ("THIGH022", "water"),
           ("THIGH034", "T2w"), ("THIGH040", "T1w"), ("THIGH112", "stir")]  # fmt: skip


@pytest.fixture(scope="module")
def study_site(data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    cohort = data / "thigh-cohort"
    if not cohort.is_dir():
        pytest.skip("the thigh cohort is not in the data folder")
    folder = tmp_path_factory.mktemp("study")
    rows = ["subject,session,acquisition,segmentation,labels"]
    for subject, acquisition in ENTRIES:
        seg = cohort / f"sub-{subject}" / "anat" / f"sub-{subject}_acq-{acquisition}_dseg.nii.gz"
        rows.append(f"{subject},,{acquisition},{seg},{cohort / 'dseg.tsv'}")
    (folder / "subjects.csv").write_text("\n".join(rows) + "\n")
    (folder / "participants.tsv").write_text((cohort / "participants.tsv").read_text(encoding="utf-8"), encoding="utf-8")
    out = folder / "site"
    args = ["study", str(folder / "subjects.csv"), "-o", str(out), "--jobs", "1", "--quiet", "--renders", "reference",
            "--views", "4", "--size", "96", "--no-ssaa", "--title", "Thigh study"]  # fmt: skip
    assert main(args) == 0
    return out


@pytest.fixture(scope="module")
def server(study_site: Path) -> Iterator[str]:
    with serving(study_site) as url:
        yield url


def _watch(tab) -> list:
    failed: list = []
    tab.on("response", lambda r: failed.append((r.status, r.url)) if r.status >= 400 else None)
    return failed


def test_home_to_muscle_to_subject_and_qc(page, server: str) -> None:  # noqa: F811
    failed = _watch(page)
    page.goto(server)
    assert page.locator("h1").inner_text() == "Thigh study"
    page.locator("main").get_by_role("link", name="Vastus lateralis").click()
    page.wait_for_url("**/muscle/thigh/vastus-lateralis/")
    assert page.locator("svg.study-plot[role=img]").count() == 2
    page.locator("summary", has_text="Numbers").first.click()
    assert page.get_by_role("rowheader", name="sub-THIGH022").first.is_visible()
    assert page.locator(".study-atlas img").evaluate("img => img.naturalWidth") > 0  # the reference subject's render
    page.locator(".study-atlas figcaption a", has_text="turning view").click()
    page.wait_for_url("**/atlas/sub-THIGH029_acq-T2w/muscle/thigh/vastus-lateralis/")
    page.goto(server + "subject/sub-THIGH022/")
    assert page.get_by_role("heading", name="Repeat acquisitions side by side: T1w and water").is_visible()
    header = page.locator("table.study-z").first.locator("thead th").nth(3)  # sortable by site.js
    header.locator("button").click()
    assert header.get_attribute("aria-sort") in ("ascending", "descending")
    page.goto(server + "qc/")
    cards = page.locator(".study-qc-card")
    assert cards.count() >= 1
    assert cards.first.locator("img").evaluate("img => img.complete && img.naturalWidth > 0")
    page.goto(server + "search/?q=THIGH022")
    page.wait_for_selector("#search-results a")
    assert "subject/sub-THIGH022/" in page.locator("#search-results a").first.get_attribute("href")
    assert failed == [] and page.console_errors == []


def test_crawl_finds_no_broken_link(server: str, study_site: Path) -> None:
    from muscle_atlas.web.publish import linked_files

    seen, queue, broken = set(), [server], []
    while queue:
        url = queue.pop()
        if url in seen:
            continue
        seen.add(url)
        try:
            with urllib.request.urlopen(url) as response:  # noqa: S310 - our own 127.0.0.1 server
                body, kind = response.read(), response.headers.get("Content-Type", "")
        except Exception as exc:
            broken.append((url, str(exc)))
            continue
        if "html" in kind:
            for ref in re.findall(r'(?:href|src|poster|data-model|data-model-poster|data-viewer-src)="([^"#?]+)"',
                                  body.decode()):  # fmt: skip
                target = urljoin(url, ref)
                if urlparse(target).netloc == urlparse(server).netloc:
                    queue.append(target)
    assert broken == []
    shipped = {p.resolve() for p in study_site.rglob("*") if p.is_file()}
    assert shipped - linked_files(study_site) == set()


def test_study_pages_pass_the_nu_html_checker(study_site: Path) -> None:
    jar = JS / "vnu-jar" / "build" / "dist" / "vnu.jar"
    if shutil.which("java") is None or not jar.is_file():
        pytest.skip("vnu-jar or java missing (make test installs vnu-jar)")
    pages = [str(p) for p in sorted(study_site.rglob("*.html")) if "/atlas/" not in str(p)]
    pages += [str(p) for p in sorted((study_site / "atlas").rglob("muscle/thigh/*/index.html"))][:2]
    result = subprocess.run(["java", "-jar", str(jar), "--errors-only", "--format", "json", *pages],
                            capture_output=True, text=True, timeout=600)  # fmt: skip
    messages = json.loads(result.stderr or '{"messages": []}')["messages"]
    assert [(m.get("url", "").rsplit("/site/", 1)[-1], m["message"]) for m in messages] == []
    assert len(pages) > 15


@pytest.mark.parametrize("path", ["muscle/thigh/vastus-lateralis/", "subject/sub-THIGH022/", "qc/", ""])
def test_axe_finds_no_serious_accessibility_problem(page, server: str, path: str) -> None:  # noqa: F811
    axe = JS / "axe-core" / "axe.min.js"
    if not axe.is_file():
        pytest.skip("axe-core missing (make test installs it)")
    page.goto(server + path)
    page.add_script_tag(path=str(axe))
    results = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    serious = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in results["violations"]
               if v["impact"] in ("serious", "critical")]  # fmt: skip
    assert serious == []


# ---------------------------------------------------------------------------------------------
# At population scale: the fabricated study of 10,000 subjects (conftest.population_site)


@pytest.fixture(scope="module")
def population_server(population_site: Path) -> Iterator[str]:
    with serving(population_site) as url:
        yield url


def _axe_serious(tab) -> list:
    axe = JS / "axe-core" / "axe.min.js"
    if not axe.is_file():
        pytest.skip("axe-core missing (make test installs it)")
    tab.add_script_tag(path=str(axe))
    results = tab.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in results["violations"]
            if v["impact"] in ("serious", "critical")]  # fmt: skip


def test_the_largest_muscle_page_at_10000_subjects_loads_under_1_mb(page, population_server: str,  # noqa: F811
                                                                    population_site: Path) -> None:  # fmt: skip
    largest = max((population_site / "muscle").glob("*/*/index.html"), key=lambda p: p.stat().st_size)
    loaded: list[tuple[str, int]] = []
    page.on("requestfinished", lambda r: loaded.append((r.url, r.sizes()["responseBodySize"])))
    failed = _watch(page)
    page.goto(population_server + largest.parent.relative_to(population_site).as_posix() + "/")
    page.wait_for_load_state("networkidle")
    assert sum(size for _, size in loaded) <= 1_000_000, loaded
    assert page.locator("svg.study-plot[role=img]").count() == 3
    assert page.locator("svg.study-plot polygon.density").count() == 3 * 4
    page.locator("summary", has_text="Numbers").first.click()
    assert page.locator("details[open] tbody tr").count() > 116  # the small group's every subject, the outliers
    assert failed == [] and page.console_errors == []
    assert _axe_serious(page) == []


def test_the_subject_index_at_10000_subjects_searches_sorts_and_pages(page, population_server: str) -> None:  # noqa: F811
    failed = _watch(page)
    page.goto(population_server + "subject/")
    rows = page.locator("table.paged tbody tr")
    status = page.locator(".paged-status")
    assert rows.count() == 50 and status.inner_text() == "1–50 of 10,000 subjects."
    assert page.get_by_role("navigation", name="Pages of subjects").count() == 1  # the static pager gave way
    page.get_by_role("button", name="Next page").click()
    page.wait_for_function("() => document.querySelector('.paged-status').textContent.startsWith('51–100')")
    assert status.inner_text() == "51–100 of 10,000 subjects."
    assert rows.first.locator("th").inner_text() == "sub-P00050" and rows.count() == 50
    assert page.locator(".paged-position").inner_text() == "Page 2 of 200"
    assert page.locator("h1").inner_text() == "Subjects, page 2 of 200"
    page.get_by_role("button", name="Previous page").click()
    page.wait_for_function("() => document.querySelector('.paged-status').textContent.startsWith('1–50')")
    search = page.get_by_label(re.compile("^Find subjects"))
    search.fill("P00042")
    page.wait_for_function("() => document.querySelector('.paged-status').textContent.includes('matching')")
    assert status.inner_text() == "1 subject matching “P00042”."
    assert rows.count() == 1 and page.get_by_role("navigation", name="Pages of subjects").is_hidden()
    rows.first.get_by_role("link", name="sub-P00042").click()
    page.wait_for_url("**/subject/sub-P00042/")
    page.go_back()
    search = page.get_by_label(re.compile("^Find subjects"))
    search.fill("TMD F")  # every word: the small group's women
    page.wait_for_function("() => document.querySelector('.paged-status').textContent.includes('TMD F')")
    groups = rows.locator("td:nth-child(2)").all_inner_texts()
    assert groups and set(groups) == {"TMD"} and set(rows.locator("td:nth-child(3)").all_inner_texts()) == {"F"}
    search.fill("")
    page.wait_for_function("() => document.querySelector('.paged-status').textContent.startsWith('1–50 of 10,000')")
    header = page.locator("table.paged thead th").nth(3)  # age: sorted as numbers, bands last
    header.locator("button").click()
    page.wait_for_function("() => document.querySelector('table.paged thead th:nth-child(4)').getAttribute('aria-sort')")
    ages = [int(a) for a in rows.locator("td:nth-child(4)").all_inner_texts()]  # ">80" comes after the numbers
    assert ages == sorted(ages) and ages[0] == 16
    assert page.url.endswith("/subject/")  # an empty search leaves no ?q=
    page.goto(population_server + "subject/?q=sub-P09999")  # the home's search form lands here
    page.wait_for_function("() => document.querySelector('.paged-status').textContent.includes('matching')")
    assert rows.count() == 1 and rows.first.locator("th").inner_text() == "sub-P09999"
    assert failed == [] and page.console_errors == []
    assert _axe_serious(page) == []


def test_the_qc_pages_at_10000_subjects_page_by_severity_with_lazy_thumbnails(page, population_server: str) -> None:  # noqa: F811
    failed = _watch(page)
    thumbs: list[str] = []
    page.on("request", lambda r: thumbs.append(r.url) if "/assets/qc/" in r.url else None)
    page.goto(population_server + "qc/")
    page.wait_for_load_state("networkidle")
    cards = page.locator(".study-qc-card")
    assert cards.count() == 25
    assert page.locator(".study-qc-card img:not([loading=lazy])").count() == 0
    assert len(thumbs) < 25  # the thumbnails far below the first screen wait until they are scrolled to
    last = cards.last.locator("img")
    last.scroll_into_view_if_needed()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=last.element_handle())
    assert cards.first.get_attribute("data-level") == "high"
    first_page = cards.locator("h3 a").all_inner_texts()
    page.get_by_role("navigation", name="Pages of findings, bottom").get_by_role("link", name="Next page").click()
    page.wait_for_url("**/qc/page-2/")
    assert page.locator("h1").inner_text().startswith("Quality control, page 2 of ")
    assert cards.count() == 25 and not set(cards.locator("h3 a").all_inner_texts()) & set(first_page)
    page.get_by_role("navigation", name="Pages of findings, top").locator("a").last.click()  # next
    page.wait_for_url("**/qc/page-3/")
    pages = page.get_by_role("navigation", name="Pages of findings, top").locator("a:not([rel])").all_inner_texts()
    page.goto(population_server + f"qc/page-{pages[-1].split()[-1]}/")  # the last page: the least severe
    assert page.locator(".study-qc-card").last.get_attribute("data-level") == "low"
    assert failed == [] and page.console_errors == []
    assert _axe_serious(page) == []


def test_the_10000_subject_pages_pass_the_nu_html_checker(population_site: Path) -> None:
    jar = JS / "vnu-jar" / "build" / "dist" / "vnu.jar"
    if shutil.which("java") is None or not jar.is_file():
        pytest.skip("vnu-jar or java missing (make test installs vnu-jar)")
    largest = max((population_site / "muscle").glob("*/*/index.html"), key=lambda p: p.stat().st_size)
    pages = [population_site / p / "index.html" for p in ("", "subject/", "subject/page-2/", "subject/sub-P00024/",
                                                          "qc/", "qc/page-2/", "methods/")]  # fmt: skip
    result = subprocess.run(["java", "-jar", str(jar), "--errors-only", "--format", "json", str(largest),
                             *map(str, pages)], capture_output=True, text=True, timeout=600)  # fmt: skip
    messages = json.loads(result.stderr or '{"messages": []}')["messages"]
    assert [(m.get("url", "").rsplit("/site/", 1)[-1], m["message"]) for m in messages] == []
