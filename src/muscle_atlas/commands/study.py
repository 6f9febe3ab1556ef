"""``muscle-atlas study``: a study atlas of many subjects, processed on a Dask cluster.

The command line and the ``[study]`` table of atlas.toml (flags win; read by
:func:`muscle_atlas.config.study_request`)::

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
import time

from muscle_atlas.choices import RENDER_MODES


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
    p.add_argument("--renders", choices=RENDER_MODES, default=None,
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


def run(args: argparse.Namespace) -> int:
    from muscle_atlas.config import study_request
    from muscle_atlas.study import run_study

    request = study_request(args)
    if request.renders != "none":
        request.settings.validate()
    started = time.perf_counter()
    outcome = run_study(request)
    report = outcome.report
    print(
        f"{len(report.processed)} segmentations processed, {len(report.cached)} from the cache, "
        f"{len(report.failed)} failed; site in {time.perf_counter() - started:.1f} s → {outcome.output}"
    )
    published = outcome.published
    if published.unchanged:
        print(f"site: {published.written} files new or changed, {published.unchanged} unchanged (kept as they were); "
              f"{outcome.pages_rendered} pages rendered, {outcome.pages_kept} kept from the previous build")  # fmt: skip
    findings = outcome.data.findings
    if findings:
        print(f"quality control: {len(findings)} findings in {len({f.item for f in findings})} segmentations "
              f"(see {outcome.output / 'qc' / 'index.html'})")  # fmt: skip
    if report.failed:
        failed = ", ".join(report.failed)
        print(f"failed: {failed}")
        if request.strict:  # the site is written all the same; the exit status says it is incomplete
            from muscle_atlas.study.model import StudyError

            raise StudyError(f"{len(report.failed)} segmentation(s) failed (--strict): {failed}")
    return 0
