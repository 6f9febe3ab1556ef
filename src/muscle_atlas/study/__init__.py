"""Study atlases: many subjects, group distributions, z-scores and quality control, on Dask.

::

    request = StudyRequest(source="thigh-cohort/", output="site")   # a BIDS-style folder or a CSV manifest
    outcome = run_study(request)                                     # the site, the tidy table, the run report

Steps: :mod:`~muscle_atlas.study.discover` finds the segmentations (one *item* per subject,
session and acquisition); :mod:`~muscle_atlas.study.runner` runs one task per item
(:func:`~muscle_atlas.study.task.process`) on a Dask cluster, skipping items whose result is
cached; :mod:`~muscle_atlas.study.aggregate` builds the tidy table, z-scores, group statistics and
QC findings; :mod:`~muscle_atlas.study.site` writes the pages.
"""

from __future__ import annotations

import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from muscle_atlas.choices import RENDER_MODES
from muscle_atlas.render.settings import DEFAULT_TRIANGLES, RenderSettings
from muscle_atlas.study.model import Item, Study, StudyError
from muscle_atlas.web.context import with_slash
from muscle_atlas.web.memo import PageMemo
from muscle_atlas.web.publish import Published, cache_dir, check_output, prune_unlinked, staged

if TYPE_CHECKING:
    from muscle_atlas.study.aggregate import StudyData
    from muscle_atlas.study.runner import RunReport

__all__ = ["RENDER_MODES", "StudyError", "StudyOutcome", "StudyRequest", "run_study"]
PAGES_MANIFEST = "site-pages.json"  # in the study's cache folder: each page's digest (web.memo)


@dataclass
class StudyRequest:
    source: str  # a study folder (BIDS-style) or a manifest (.csv/.tsv)
    output: str = "study-site"
    reference_group: str = "Control"
    renders: str = "none"  # none | reference | all
    jobs: int = 1  # local Dask worker processes (when no scheduler is given)
    scheduler: str | None = None  # tcp://HOST:PORT of an existing Dask cluster
    strict: bool = False  # a segmentation that fails makes the run fail (exit 2)
    title: str = "Muscle study"
    base_url: str | None = None  # the public URL; without one, no canonical links
    settings: RenderSettings = field(default_factory=RenderSettings)
    triangles: int = DEFAULT_TRIANGLES
    orientation: str = "auto"
    erode: int = 1
    progress: bool = True


@dataclass
class StudyOutcome:
    output: Path
    study: Study
    report: RunReport
    data: StudyData
    log: list[str]
    published: Published = field(default_factory=Published)  # files new or changed, and unchanged ones kept
    seconds: dict[str, float] = field(default_factory=dict)  # where the time went: step → seconds
    pages_rendered: int = 0  # pages rendered by this build
    pages_kept: int = 0  # pages kept from the previous build (their digests unchanged: web.memo)


def _rendered_items(study: Study, mode: str, reference_group: str, log: list[str]) -> set[str]:
    if mode == "all":
        return {i.id for i in study.items}
    if mode == "reference":
        references = sorted(
            (i for i in study.items if (p := study.participants.get(i.subject)) is not None and p.group == reference_group),
            key=lambda i: (i.subject, i.session, i.acquisition),
        )
        if not references:
            log.append(f"renders: no subject in the reference group {reference_group!r}; nothing rendered")
            return set()
        log.append(f"renders: {references[0].id}, the first subject of the reference group {reference_group}")
        return {references[0].id}
    return set()


def run_study(request: StudyRequest) -> StudyOutcome:
    from muscle_atlas.site.provenance import detect
    from muscle_atlas.study.aggregate import aggregate
    from muscle_atlas.study.discover import discover
    from muscle_atlas.study.runner import run_items
    from muscle_atlas.study.site import StudyOptions, StudySiteWriter
    from muscle_atlas.study.task import TaskOptions

    if request.renders not in RENDER_MODES:
        raise StudyError(f"--renders must be one of {', '.join(RENDER_MODES)}, not {request.renders!r}")
    if request.jobs < 1:
        raise StudyError(f"--jobs must be at least 1, not {request.jobs}")
    started = time.perf_counter()
    seconds: dict[str, float] = {}
    mark = [started]

    def step(name: str) -> None:
        now = time.perf_counter()
        seconds[name] = seconds.get(name, 0.0) + now - mark[0]
        mark[0] = now

    study = discover(request.source)
    output = Path(request.output).resolve()
    root = Path(study.root).resolve()
    inputs = [Path(f).resolve() for i in study.items for f in (i.segmentation, i.labels, *i.maps.files()) if f]
    check_output(output, StudyError, root if Path(study.source).is_dir() else None, "the study folder", inputs)
    output.parent.mkdir(parents=True, exist_ok=True)
    cache = cache_dir(output) / "study"
    cache.mkdir(parents=True, exist_ok=True)
    log = [f"study: {study.source}: {len(study.items)} segmentations of {len(study.subjects())} subjects", *study.notes]
    unknown = sorted({i.subject for i in study.items} - set(study.participants))
    if study.participants and unknown:
        log.append(f"participants.tsv has no row for {', '.join('sub-' + s for s in unknown)}: group n/a")
    rendered = _rendered_items(study, request.renders, request.reference_group, log)
    render_options = {**asdict(request.settings), "triangles": request.triangles}
    base = TaskOptions(orientation=request.orientation, erode=request.erode, render=render_options)
    options = {item.id: base.for_item(item.id in rendered) for item in study.items}
    step("discover")

    def note(result: dict) -> None:
        if not result.get("ok"):
            print(f"muscle-atlas: warning: {result['id']}: {result['error']}", file=sys.stderr)

    report = run_items(study.items, options, cache, request.jobs, request.scheduler, request.progress, note)
    step("tasks")
    for item_id in report.failed:
        log.append(f"failed: {item_id}: {report.results[item_id]['error']}")
    log.append(f"tasks: {len(report.processed)} processed on {report.scheduler or 'no cluster'}"
               f"{f' ({report.workers} workers)' if report.workers else ''}, {len(report.cached)} from the cache, "
               f"{len(report.failed)} failed, {report.seconds:.1f} s")  # fmt: skip
    data = aggregate(study, report.results, request.reference_group)
    step("aggregate")
    if not any(data.group_of(s) == request.reference_group for s in data.subject_items):
        log.append(f"no subject in the reference group {request.reference_group!r}: no z-scores or group comparisons")
    provenance = detect(root)
    base_url = with_slash(request.base_url) if request.base_url else None
    options_site = StudyOptions(title=request.title, base_url=base_url, log=log, renders=request.renders)
    published = Published()
    memo = PageMemo(cache / PAGES_MANIFEST, output)
    with staged(output, published) as staging:
        items = {i.id: i for i in study.items}
        for item_id in sorted(rendered):
            if report.results.get(item_id, {}).get("rendered"):
                _write_atlas(items[item_id], options[item_id], cache, staging, request, provenance, options_site)
        log.append(f"site: written {time.perf_counter() - started:.1f} s after the start")
        writer = StudySiteWriter(data, options_site, provenance, cache, memo)
        writer.write(staging)
        if (staging / "atlas").is_dir():  # robots.txt, sitemap.xml, 404.html, unshown sides: only what pages link
            prune_unlinked(staging, staging / "atlas")
        step("site")
    step("publish")
    memo.save(output)
    pages = seconds.pop("site") - writer.seconds_tables  # the site: the tidy tables, then the pages
    seconds = {**{k: v for k, v in seconds.items() if k != "publish"}, "tables": writer.seconds_tables, "pages": pages,
               "publish": seconds["publish"]}  # fmt: skip
    log.append(f"site: {len(memo.rendered)} pages rendered, {len(memo.kept)} kept from the previous build")
    return StudyOutcome(output, study, report, data, log, published, seconds, len(memo.rendered), len(memo.kept))


def _write_atlas(item: Item, options, cache: Path, staging: Path, request: StudyRequest, provenance, site_options) -> None:
    """The single-subject atlas of a rendered item, at ``atlas/<id>/`` (its renders are cached)."""
    from muscle_atlas.site.atlas import SiteOptions, gather
    from muscle_atlas.site.pages import SiteWriter
    from muscle_atlas.study.task import atlas_cache, render

    result = render(item, options, cache)
    settings = request.settings
    atlas = gather(None, result.matches, result.turntables, result.measures, settings.views,
                   models=result.models, image_format=settings.image_format, posters=result.posters)  # fmt: skip
    folder = f"atlas/{item.id}/"
    writer_options = SiteOptions(title=f"{item.id}: 3D atlas", base_url=site_options.base_url, folder=folder,
                                 size=settings.size, thumb=settings.thumb)  # fmt: skip
    target = staging / folder
    SiteWriter(atlas, provenance, writer_options, atlas_cache(cache, item) / "render" / "renders").write(target)
    site_options.atlases[item.id] = folder
    pages = {}
    for page in atlas.structure_pages:
        if not (page.primary and page.kind in ("muscle", "head")):
            continue
        view = atlas.poster_of(page, page.primary)
        names = [f"{page.stem}-{page.primary}-{view}-thumb.{atlas.thumb_format}", atlas.poster_file(page, page.primary)]
        poster = next((n for n in names if (target / "assets" / "renders" / n).is_file()), None)
        if poster is not None:  # the thumbnail, else the still
            size = settings.thumb if "-thumb" in poster else settings.size
            pages[page.structure.path] = {"url": folder + page.path, "poster": f"{folder}assets/renders/{poster}",
                                          "width": size, "height": size}  # fmt: skip
    site_options.atlas_pages[item.id] = pages
