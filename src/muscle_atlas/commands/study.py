"""``muscle-atlas study``: a study atlas of many subjects, processed on a Dask cluster.

The command line and the ``[study]`` table of atlas.toml (flags win)::

    [study]
    folder = "thigh-cohort"        # BIDS-style study folder …
    manifest = ""                  # … or a CSV manifest, one row per subject, session and acquisition
    reference_group = "Control"
    renders = "none"               # none | reference | all
    jobs = 0                       # local Dask worker processes; 0 = all CPUs
    scheduler = ""                 # tcp://HOST:PORT of an existing Dask cluster
    strict = false                 # a segmentation that fails makes the run fail (exit 2)
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

STUDY_KEYS: dict[str, type | tuple[type, ...]] = {
    "folder": str, "manifest": str, "reference_group": str, "renders": str, "jobs": int, "scheduler": str, "strict": bool,
}  # fmt: skip


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "study",
        help="a study atlas of many subjects: group distributions, z-scores and quality control (Dask)",
        description="Measures every segmentation of a BIDS-style study folder (sub-<id>/[ses-<id>/]anat/*_dseg.nii.gz, "
        "dseg.tsv, participants.tsv) or of a CSV manifest on a Dask cluster, and writes a website: a page per muscle "
        "with group distributions and tests, a page per subject with z-scores, and a quality-control page.",
    )
    p.add_argument("source", nargs="?", help="study folder, or a manifest (.csv/.tsv); or set it in --config")
    p.add_argument("-o", "--output", help="output folder (replaced only by a complete build; default study-site)")
    p.add_argument("--config", metavar="atlas.toml", help="project file with a [study] table; flags override it")
    p.add_argument("--manifest", metavar="CSV", help="a manifest instead of a study folder")
    p.add_argument("--reference-group", metavar="GROUP", help="group the others are compared with (default Control)")
    p.add_argument("--renders", choices=("none", "reference", "all"), default=None,
                   help="3D renders: none (default), reference (the first subject of the reference group), all")  # fmt: skip
    p.add_argument("--jobs", type=int, default=None, help="local Dask worker processes (default: all CPUs)")
    p.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="use an existing Dask cluster instead of a local one")
    p.add_argument("--strict", action="store_true", default=None, help="exit with status 2 if any segmentation fails")
    p.add_argument("--title", help="site title")
    p.add_argument("--base-url", help="public URL of the site")
    p.add_argument("--views", type=int, default=None, help="renders: orientations per turntable (default 16)")
    p.add_argument("--size", type=int, default=None, help="renders: image size in pixels (default 800)")
    p.add_argument("--no-ssaa", dest="ssaa", action="store_false", default=None, help="renders: no anti-aliasing")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _check_study_table(project: Any, config: str) -> None:
    from muscle_atlas.study.model import StudyError

    table = project.values.get("study", {})
    problems = []
    for key, value in table.items():
        expected = STUDY_KEYS.get(key)
        if expected is None:
            problems.append(f"study.{key}: unknown key (known: {', '.join(STUDY_KEYS)})")
        elif not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            problems.append(f"study.{key}: must be {expected.__name__}, not {value!r}")  # type: ignore[union-attr]
    if table.get("renders") not in (None, "none", "reference", "all"):
        problems.append(f"study.renders: must be none, reference or all, not {table['renders']!r}")
    if isinstance(table.get("jobs"), int) and table["jobs"] < 0:
        problems.append("study.jobs: must be 0 (all CPUs) or more")
    if table.get("folder") and table.get("manifest"):
        problems.append("study: give folder or manifest, not both")
    for key in ("folder", "manifest"):
        if isinstance(table.get(key), str) and table[key] and not os.path.exists(project.path("study", key)):
            problems.append(f"study.{key}: no such {'folder' if key == 'folder' else 'file'}: {table[key]}")
    if problems:
        raise StudyError("; ".join(problems), config)


def request_from(args: argparse.Namespace):
    """The study request: the project's [study], [atlas], [render] and [output] values, overridden by flags."""
    from muscle_atlas.config import Project, load_project
    from muscle_atlas.render.settings import RenderSettings
    from muscle_atlas.study import StudyRequest
    from muscle_atlas.study.model import StudyError

    project = load_project(args.config) if args.config else Project()
    if args.config:
        _check_study_table(project, args.config)

    def pick(flag: Any, section: str, key: str, default: Any) -> Any:
        return flag if flag is not None else project.get(section, key, default)

    source = args.manifest or args.source or project.path("study", "manifest") or project.path("study", "folder")
    if args.manifest and args.source:
        raise StudyError("give a study folder or --manifest, not both")
    if not source:
        raise StudyError("no study: give STUDY_DIR (or --manifest CSV), or set study.folder in the project file")
    output = args.output or (str(project.folder / project.get("output", "folder")) if args.config and
                             project.get("output", "folder") else None) or "study-site"  # fmt: skip
    jobs = pick(args.jobs, "study", "jobs", 0) or len(os.sched_getaffinity(0))
    settings = RenderSettings(
        views=pick(args.views, "render", "views", 16), size=pick(args.size, "render", "size", 800),
        thumb=project.get("render", "thumbnail", 200), background=project.get("render", "background", "white"),
        highlight=project.get("render", "highlight", "#db141f"), ssaa=pick(args.ssaa, "render", "ssaa", True),
    )  # fmt: skip
    return StudyRequest(
        source=source, output=output,
        reference_group=pick(args.reference_group, "study", "reference_group", "Control"),
        renders=pick(args.renders, "study", "renders", "none"), jobs=jobs,
        scheduler=pick(args.scheduler, "study", "scheduler", None) or None,
        strict=bool(pick(args.strict, "study", "strict", False)),
        title=pick(args.title, "atlas", "title", "Muscle study"),
        base_url=pick(args.base_url, "atlas", "base_url", None), settings=settings,
        triangles=project.get("render", "triangles", 6000), progress=not args.quiet,
    )  # fmt: skip


def run(args: argparse.Namespace) -> int:
    from muscle_atlas.study import run_study

    request = request_from(args)
    if request.renders != "none":
        request.settings.validate()
    started = time.perf_counter()
    outcome = run_study(request)
    report = outcome.report
    print(f"{len(report.processed)} segmentations processed, {len(report.cached)} from the cache, "  # type: ignore[attr-defined]
          f"{len(report.failed)} failed; site in {time.perf_counter() - started:.1f} s → {outcome.output}")  # type: ignore[attr-defined]
    findings = outcome.data.findings  # type: ignore[attr-defined]
    if findings:
        print(f"quality control: {len(findings)} findings in {len({f.item for f in findings})} segmentations "
              f"(see {outcome.output / 'qc' / 'index.html'})")  # fmt: skip
    if report.failed:  # type: ignore[attr-defined]
        failed = ", ".join(report.failed)  # type: ignore[attr-defined]
        print(f"failed: {failed}")
        if request.strict:  # the site is written all the same; the exit status says it is incomplete
            from muscle_atlas.study.model import StudyError

            raise StudyError(f"{len(report.failed)} segmentation(s) failed (--strict): {failed}")  # type: ignore[attr-defined]
    return 0
