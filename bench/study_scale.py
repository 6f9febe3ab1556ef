"""Benchmark: studies at population scale (issue #21) on synthetic cohorts made from the thigh
cohort by ``bench/synthetic_cohort.py``: 1,000 and 10,000 segmentations, measures only, on a local
Dask cluster of 1 and 2 worker processes, every run cold (a new output folder and cache).

Reports segmentations per minute, the client process's peak memory (its own maximum resident set,
workers not included), the task times (median and largest, measured in the workers) and where the
wall time went (discovery, cache keys and tasks, aggregation, site, publishing). With ``--add N``,
N subjects are then added to the finished study of the first size and it is run again: the tasks
run, the pages rendered and kept (``web.memo``) and the site files rewritten are counted; with
``--add-group G``, N more subjects, all of group G, are added after that. Each study runs in a
child process (so that its peak memory is its own); take the figures on a quiet machine, under
the bench lock::

    flock /tmp/muscle-bench.lock python bench/study_scale.py --subjects 1000 --workers 1 2 --add 10 --add-group LGMDR2
    flock /tmp/muscle-bench.lock python bench/study_scale.py --subjects 10000 --workers 2 --no-site
    flock /tmp/muscle-bench.lock python bench/study_scale.py --task-times ../shared/data/thigh-cohort

``--write`` puts the table into docs/performance.md (between the study-scale markers): a new row
replaces the row of the same run, size and workers (a note in brackets after the run's name, such
as "(under load)", does not count); rows of other sizes already there are kept. Not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
START, END = "<!-- study-scale:start -->", "<!-- study-scale:end -->"
RERUN = "flock /tmp/muscle-bench.lock python bench/study_scale.py --subjects 1000 --workers 1 2 --add 10 --add-group LGMDR2"
COHORTS = Path(tempfile.gettempdir()) / "muscle-atlas-synthetic"


def _generator():
    sys.path.insert(0, str(REPO / "bench"))
    import synthetic_cohort

    return synthetic_cohort


def cohort(size: int, folder: Path, source: Path) -> Path:
    """The synthetic study of ``size`` subjects (made once, kept for the next runs)."""
    path = folder / f"synthetic-{size}"
    if not (path / "participants.tsv").is_file():
        shutil.rmtree(path, ignore_errors=True)
        started = time.perf_counter()
        _generator().generate(source, path, size)
        print(f"made {path} in {time.perf_counter() - started:.1f} s", flush=True)
    return path


class _Computed:
    """What :func:`compute_only` gives, shaped like a StudyOutcome for :func:`child`."""

    def __init__(self, study, report, seconds: dict) -> None:
        from muscle_atlas.web.publish import Published

        self.study, self.report, self.seconds, self.published = study, report, seconds, Published()


def compute_only(study_path: str, output: str, workers: int) -> _Computed:
    """The compute half of a study without its pages: discovery, tasks, aggregation and the tidy
    table (study.csv, study.parquet), as run_study does them."""
    from muscle_atlas.study.aggregate import aggregate, write_study_tables
    from muscle_atlas.study.discover import discover
    from muscle_atlas.study.runner import run_items
    from muscle_atlas.study.task import TaskOptions
    from muscle_atlas.web.publish import cache_dir

    seconds: dict[str, float] = {}
    mark = time.perf_counter()
    study = discover(study_path)
    cache = cache_dir(Path(output).resolve()) / "study"
    cache.mkdir(parents=True, exist_ok=True)
    options = {item.id: TaskOptions() for item in study.items}
    seconds["discover"], mark = time.perf_counter() - mark, time.perf_counter()
    report = run_items(study.items, options, cache, workers, None, False)
    seconds["tasks"], mark = time.perf_counter() - mark, time.perf_counter()
    data = aggregate(study, report.results, "Control")
    seconds["aggregate"], mark = time.perf_counter() - mark, time.perf_counter()
    write_study_tables(data, Path(output) / "data")
    seconds["tables"] = time.perf_counter() - mark
    return _Computed(study, report, seconds)


def child(study: str, output: str, workers: int, site: bool = True) -> dict:
    """One study, in this (child) process: what the parent reports."""
    from muscle_atlas.study import StudyRequest, run_study

    load = os.getloadavg()[0]
    started = time.perf_counter()
    if site:
        outcome = run_study(StudyRequest(source=study, output=output, jobs=workers, progress=False))
    else:
        outcome = compute_only(study, output, workers)  # type: ignore[assignment]
    seconds = time.perf_counter() - started
    report = outcome.report
    processed = set(report.processed)
    done = [r for i, r in report.results.items() if i in processed and r.get("ok") and "seconds" in r]
    tasks = [r["seconds"] for r in done]
    cpu = [r["cpu_seconds"] for r in done if "cpu_seconds" in r]
    return {
        "workers": workers, "items": len(outcome.study.items), "processed": len(report.processed),
        "failed": len(report.failed), "seconds": seconds, "steps": outcome.seconds,
        "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "task_median": statistics.median(tasks) if tasks else None, "task_max": max(tasks) if tasks else None,
        "task_cpu_max": max(cpu) if cpu else None,
        "slowest": max((r for r in report.results.values() if r.get("ok") and r["id"] in processed),
                       key=lambda r: r.get("seconds", 0), default={}).get("id"),
        "written": outcome.published.written, "unchanged": outcome.published.unchanged,
        "pages": [getattr(outcome, "pages_rendered", 0), getattr(outcome, "pages_kept", 0)],
        "load_before": load, "load_after": os.getloadavg()[0],
    }  # fmt: skip


def task_times(study_path: str) -> dict:
    """Every segmentation's task, one after the other in this process (cold cache, the libraries
    imported first): the median and largest time, the sum."""
    from muscle_atlas.study.discover import discover
    from muscle_atlas.study.task import TaskOptions, process

    study = discover(study_path)
    times = {}
    with tempfile.TemporaryDirectory() as cache:
        process(study.items[0], TaskOptions(), cache + "/warm")
        for item in study.items:
            started = time.perf_counter()
            result = process(item, TaskOptions(), cache)
            times[item.id] = time.perf_counter() - started
            assert result["ok"], result
    slowest = max(times, key=times.__getitem__)
    return {"items": len(times), "median": statistics.median(times.values()), "largest": times[slowest],
            "slowest": slowest, "sum": sum(times.values()), "load": os.getloadavg()[0]}  # fmt: skip


def run_child(study: Path, output: Path, workers: int, site: bool = True) -> dict:
    command = [sys.executable, __file__, "--child", str(study), str(output), str(workers), *([] if site else ["--no-site"])]
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def row(r: dict, label: str) -> str:
    rate = r["processed"] / (r["steps"].get("tasks", r["seconds"]) / 60)
    overall = r["items"] / (r["seconds"] / 60)
    steps = ", ".join(f"{k} {v:.1f} s" for k, v in r["steps"].items())
    if "pages" in r["steps"]:
        steps += f" ({r['pages'][0]:,} pages rendered, {r['pages'][1]:,} kept)"
    task = f"{r['task_median']:.2f} / {r['task_max']:.2f} s" if r["task_median"] is not None else "—"
    if r.get("task_cpu_max") is not None:
        task += f" (CPU ≤ {r['task_cpu_max']:.2f} s)"
    return (f"| {label} | {r['items']:,} | {r['workers']} | {r['processed']:,} | {r['seconds']:.0f} s | {rate:.0f} | "
            f"{overall:.0f} | {task} | {r['peak_mib']:.0f} MiB | {steps} | {r['written']:,} / {r['unchanged']:,} | "
            f"{r['load_before']:.1f} → {r['load_after']:.1f} |")  # fmt: skip


HEADER = [
    "| run | segmentations | workers | tasks | wall time | tasks / min | segmentations / min (whole run) | task median / "
    "largest (largest CPU time) | client peak memory | where the time went | site files written / unchanged | "
    "load (1 min) before → after |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|",
]


def _label(line: str) -> tuple[str, ...]:
    """A row's run (without a note in brackets), size and workers: a new row replaces the old one."""
    run, size, workers = (cell.strip() for cell in line.split("|")[1:4])
    return run.split(" (")[0], size, workers


def write(rows: list[str], note: str) -> None:
    doc = REPO / "docs" / "performance.md"
    body = doc.read_text(encoding="utf-8")
    old = []
    if START in body:
        block = body[body.index(START) : body.index(END)]
        old = [line for line in block.splitlines() if line.startswith("| ") and not line.startswith("| run ")]
    labels = {_label(r) for r in rows}
    kept = [line for line in old if _label(line) not in labels]
    text = "\n".join([*HEADER, *kept, *rows, "", note])
    block = f"{START}\n{text}\n{END}"
    if START in body:
        body = re.sub(re.escape(START) + r".*?" + re.escape(END), lambda _: block, body, flags=re.DOTALL)
    else:
        body = body.rstrip("\n") + "\n\n" + block + "\n"
    doc.write_text(body, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, nargs="+", default=[1000])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--add", type=int, default=0, help="then add N subjects to the first size's study and re-run")
    parser.add_argument("--add-group", metavar="GROUP",
                        help="after --add, add as many subjects again, all of GROUP (not the reference group: the "
                             "z-scores of the others stay, so do their pages)")  # fmt: skip
    parser.add_argument("--source", default=str(REPO.parent / "shared" / "data" / "thigh-cohort"))
    parser.add_argument("--cohorts", default=str(COHORTS), help="where the synthetic studies are kept")
    parser.add_argument("--write", action="store_true", help="update docs/performance.md")
    parser.add_argument("--no-site", dest="site", action="store_false",
                        help="the compute half only: tasks, aggregation and the tidy table, no pages")  # fmt: skip
    parser.add_argument("--task-times", metavar="STUDY", help="time every task of STUDY in this process, and stop")
    parser.add_argument("--child", nargs=3, metavar=("STUDY", "OUTPUT", "WORKERS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child[0], args.child[1], int(args.child[2]), args.site)))
        return
    if args.task_times:
        print(json.dumps(task_times(args.task_times)))
        return
    folder = Path(args.cohorts)
    rows = []
    for size in args.subjects:
        study = cohort(size, folder, Path(args.source))
        for index, workers in enumerate(args.workers):
            out = Path(tempfile.mkdtemp(prefix="study-scale-"))
            keep = args.add and size == args.subjects[0] and index == len(args.workers) - 1
            try:
                result = run_child(study, out / "site", workers, args.site)
                print(json.dumps(result), flush=True)
                rows.append(row(result, "cold" if args.site else "cold, no pages"))
                if keep:
                    grown = out / "study"
                    shutil.copytree(study, grown)  # the same bytes: the same cache keys
                    again = run_child(grown, out / "site", workers)  # the copy: warm cache, nothing new
                    print(json.dumps(again), flush=True)
                    rows.append(row(again, "re-run, nothing new"))
                    _generator().generate(Path(args.source), grown, args.add, start=size + 1)
                    again = run_child(grown, out / "site", workers)
                    print(json.dumps(again), flush=True)
                    rows.append(row(again, f"+{args.add} subjects"))
                    if args.add_group:  # then as many again, none of the reference group's z-scores moving
                        _generator().generate(Path(args.source), grown, args.add, start=size + args.add + 1,
                                              group=args.add_group)  # fmt: skip
                        again = run_child(grown, out / "site", workers)
                        print(json.dumps(again), flush=True)
                        rows.append(row(again, f"+{args.add} more, all {args.add_group}"))
            finally:
                shutil.rmtree(out, ignore_errors=True)
    note = (f"Synthetic cohorts of `bench/synthetic_cohort.py` (the thigh cohort's 31 grids in turn, 5 % of the "
            f"subjects missing a muscle), measures only (`--renders none`), every run cold unless it says otherwise, "
            f"a local Dask cluster of N worker processes with one thread each, on {platform.machine()} with "
            f"{os.cpu_count()} CPUs shared with other work (the load average says how much). Tasks / min: the tasks' "
            f"step (cache keys, cluster start, tasks); segmentations / min: the whole run, site included. Client peak "
            f"memory: the maximum resident set of the study process alone. Re-run:\n\n    {RERUN}")  # fmt: skip
    print("\n".join([*HEADER, *rows]))
    if args.write:
        write(rows, note)


if __name__ == "__main__":
    main()
