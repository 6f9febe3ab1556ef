"""Benchmark: build time, peak memory and site weight against a release, in one run.

    .venv/bin/python bench/compare_release.py [--release d0ab718] [--source left|both] [--jobs 2] [--repeat 2]

The release's code is exported with ``git archive`` beside the working tree (into a temporary
folder) and run with this venv's libraries, so both builds see the same machine, libraries and
data. Each builds the VHF left leg (or both legs) at default settings into a fresh folder with a
cold cache; with ``--repeat N`` the two alternate N times (this machine's speed drifts by 10 %
from minute to minute) and the ratio is that of the median times. Prints both times, peak
memories (the whole process tree, summed RSS sampled every 0.2 s), the site sizes by file type,
and the ratios. Not a test.
Data: $MUSCLE_ATLAS_DATA (default ../shared/data).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("MUSCLE_ATLAS_DATA", REPO.parent / "shared" / "data"))


def tree_rss(pid: int) -> int:
    """Summed RSS (bytes) of a process and its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(entry.name))
            rss[int(entry.name)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            continue
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        total += rss.get(current, 0)
        todo += children.get(current, [])
    return total


def timed_build(pythonpath: Path, source: Path, output: Path, jobs: int) -> tuple[float, int]:
    env = {**os.environ, "PYTHONPATH": str(pythonpath), "VTK_DEFAULT_OPENGL_WINDOW": "vtkEGLRenderWindow"}
    command = [sys.executable, "-m", "muscle_atlas.cli", "build", str(source), "-o", str(output), "--jobs", str(jobs)]
    start = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peak = 0

    def sample() -> None:
        nonlocal peak
        while process.poll() is None:
            peak = max(peak, tree_rss(process.pid))
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, err = process.communicate()
    elapsed = time.perf_counter() - start
    sampler.join()
    if process.returncode != 0:
        raise SystemExit(f"build failed ({pythonpath}):\n{err[-2000:]}")
    return elapsed, peak


def weights(site: Path) -> Counter:
    sizes: Counter = Counter()
    for path in site.rglob("*"):
        if path.is_file():
            sizes[path.suffix.lower() or "(none)"] += path.stat().st_size
    return sizes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--release", default="d0ab718")
    parser.add_argument("--source", choices=("left", "both"), default="left")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=2, help="alternate the two builds this many times")
    args = parser.parse_args()
    vhf = DATA / "vhf-lower-limb"
    with tempfile.TemporaryDirectory(prefix="muscle-atlas-bench-") as tmp:
        work = Path(tmp)
        source = work / "vhf"
        source.mkdir()
        for side in ("Left",) if args.source == "left" else ("Left", "Right"):
            (source / side).mkdir()
            for mesh in (vhf / side).glob("*.stl"):  # links to files: folder links are not walked
                (source / side / mesh.name).symlink_to(mesh)
        release = work / "release"
        release.mkdir()
        archive = subprocess.run(["git", "-C", str(REPO), "archive", args.release], check=True, capture_output=True)
        subprocess.run(["tar", "-x", "-C", str(release)], input=archive.stdout, check=True)
        print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
        print(f"data: VHF {args.source} leg(s), build --jobs {args.jobs}, default settings, cold caches")
        times: dict[str, list[float]] = {args.release: [], "working tree": []}
        results = {}
        for run in range(1, args.repeat + 1):
            for name, path in ((args.release, release / "src"), ("working tree", REPO / "src")):
                site = work / f"site-{name.replace(' ', '-')}-{run}"
                seconds, peak = timed_build(path, source, site, args.jobs)
                sizes = weights(site)
                shutil.rmtree(site)
                times[name].append(seconds)
                results[name] = (peak, sizes)
                total = sum(sizes.values())
                kinds = ", ".join(f"{k} {v / 1e6:.1f} MB" for k, v in sizes.most_common(6))
                print(f"run {run}, {name}: {seconds:.1f} s, peak {peak / 2**30:.2f} GiB, "
                      f"site {total / 1e6:.1f} MB ({kinds})")  # fmt: skip
        old_s, new_s = statistics.median(times[args.release]), statistics.median(times["working tree"])
        old_w, new_w = results[args.release][1], results["working tree"][1]
        print(f"median times: {args.release} {old_s:.1f} s, working tree {new_s:.1f} s")
        print(f"speed-up: {old_s / new_s:.2f}x (runs: "
              + ", ".join(f"{o / n:.2f}x" for o, n in zip(times[args.release], times["working tree"], strict=True))
              + f"); site {sum(old_w.values()) / sum(new_w.values()):.2f}x lighter")  # fmt: skip


if __name__ == "__main__":
    main()
