"""Benchmark: a study atlas of the real thigh cohort (31 segmentations of 28 subjects) on a local
Dask cluster of 1 and 2 worker processes, measures only and with the reference subject's renders.

Every run starts cold (a new output folder and cache), so every segmentation is a task. Prints a
Markdown table and, with ``--write``, puts it into docs/performance.md (the "Study atlases"
section, between its markers). Not a test. Usage:

    python bench/study_bench.py [--data ../shared/data/thigh-cohort] [--workers 1 2] [--write]
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import tempfile
import time
from pathlib import Path

from muscle_atlas.render.settings import RenderSettings
from muscle_atlas.study import StudyRequest, run_study

REPO = Path(__file__).resolve().parents[1]
START, END = "<!-- study-bench:start -->", "<!-- study-bench:end -->"


def one_run(data: Path, workers: int, renders: str, settings: RenderSettings) -> dict:
    folder = Path(tempfile.mkdtemp(prefix="study-bench-"))
    try:
        request = StudyRequest(source=str(data), output=str(folder / "site"), renders=renders, jobs=workers,
                               settings=settings, progress=False)  # fmt: skip
        started = time.perf_counter()
        outcome = run_study(request)
        seconds = time.perf_counter() - started
        load = os.getloadavg()[0]
        report = outcome.report
        return {
            "workers": workers, "renders": renders, "seconds": seconds, "items": len(outcome.study.items),
            "subjects": len(outcome.study.subjects()), "tasks": len(report.processed),  # type: ignore[attr-defined]
            "task_seconds": report.seconds, "load": load,  # type: ignore[attr-defined]
        }  # fmt: skip
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def table(rows: list[dict], settings: RenderSettings) -> str:
    lines = [
        "| workers | renders | wall time | segmentations / min | subjects / min | load average (1 min) after |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        minutes = r["seconds"] / 60
        lines.append(f"| {r['workers']} | {r['renders']} | {r['seconds']:.1f} s | {r['items'] / minutes:.1f} | "
                     f"{r['subjects'] / minutes:.1f} | {r['load']:.1f} |")  # fmt: skip
    cpu = os.cpu_count()
    lines += [
        "",
        f"{rows[0]['items']} segmentations of {rows[0]['subjects']} subjects, every run cold (new output and cache: "
        f"every segmentation a task), local Dask cluster of N worker processes with one thread each, on "
        f"{platform.machine()} with {cpu} CPUs ({platform.python_implementation()} {platform.python_version()}). "
        f"Wall time includes starting the cluster and writing the site. Reference renders: one subject, "
        f"{settings.views} views of {settings.size}×{settings.size}{'' if settings.ssaa else ' without SSAA'}. A load "
        f"average above {cpu} means other work shared the CPUs during the run.",
    ]
    return "\n".join(lines)


def write(text: str) -> None:
    doc = REPO / "docs" / "performance.md"
    body = doc.read_text(encoding="utf-8")
    block = f"{START}\n{text}\n{END}"
    if START in body and END in body:
        body = re.sub(re.escape(START) + r".*?" + re.escape(END), lambda _: block, body, flags=re.DOTALL)
    else:
        body = (
            body.rstrip("\n") + "\n\n## Study atlases\n\n`muscle-atlas study` on the thigh cohort "
            "(`bench/study_bench.py`).\n\n" + block + "\n"
        )
    doc.write_text(body, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(REPO.parent / "shared" / "data" / "thigh-cohort"))
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--renders", nargs="+", default=["none", "reference"])
    parser.add_argument("--views", type=int, default=16)
    parser.add_argument("--size", type=int, default=400)
    parser.add_argument("--ssaa", action="store_true")
    parser.add_argument("--write", action="store_true", help="update docs/performance.md")
    args = parser.parse_args()
    settings = RenderSettings(views=args.views, size=args.size, ssaa=args.ssaa)
    rows = []
    for renders in args.renders:
        for workers in args.workers:
            row = one_run(Path(args.data), workers, renders, settings)
            print(f"{workers} worker(s), renders {renders}: {row['seconds']:.1f} s, {row['tasks']} tasks", flush=True)
            rows.append(row)
    text = table(rows, settings)
    print(text)
    if args.write:
        write(text)


if __name__ == "__main__":
    main()
