"""Benchmark: the whole body at the default settings (issue #20), cold, as a user builds it.

    muscle-atlas build $MUSCLE_ATLAS_DATA/zanatomy-whole-body -o OUT --jobs 2

(800 px stills, anti-aliased, Both / Left / Right, the sides split from each node). Prints, and
with ``--write`` puts into docs/performance.md (between its "wholebody-bench" markers): the wall
time, turntables per minute, the peak memory of the process tree, the site's weight by kind of
file, and where a turntable's time goes. That last part profiles one region's scenes (``--profile
REGION``, default the leg: every side variant) in this process with one worker, and sorts the
time into drawing, stills, thumbnails, video, GIF and the rest. Not a test. Usage:

    python bench/wholebody_bench.py [--jobs 2] [--before REV] [--profile leg] [--write]

``--before REV`` first builds the same body with the code of a git revision (``git archive``),
in the same run, and reports the speed-up and the weight against it.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import platform
import pstats
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("MUSCLE_ATLAS_DATA", REPO.parent / "shared" / "data"))
START, END = "<!-- wholebody-bench:start -->", "<!-- wholebody-bench:end -->"
KINDS = {".webp": "stills (WebP)", ".avif": "thumbnails (AVIF)", ".mp4": "videos (MP4)", ".gif": "GIFs",
         ".glb": "3D models (GLB)", ".html": "pages (HTML)"}  # fmt: skip
# Where a turntable's time goes: the profile's functions, by what they do (cumulative time of
# the first function of each kind met on the way down; the rest is "other").
PHASES = {
    "drawing (VTK)": ("engine.py", ("turntable",)),
    "poster choice": ("engine.py", ("shown",)),
    "stills and posters (WebP, their SSIM measured), thumbnails (AVIF)": ("stills.py", ("encode_stills", "save_thumbnail")),
    "video (MP4, H.264)": ("encode.py", ("write_video",)),
    "GIF": ("encode.py", ("write_gif",)),
    "frames reduced for video and GIF": ("encode.py", ("__call__",)),
}


def build(source: Path, out: Path, jobs: int, code: Path | None = None) -> dict:
    """One cold build in a child process (of the code in ``code``, default this tree's): wall
    time, CPU time and the peak RSS of the largest process of the tree (the build, its render
    workers and ffmpeg)."""
    env = {**os.environ, "VTK_DEFAULT_OPENGL_WINDOW": os.environ.get("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")}
    if code is not None:
        env["PYTHONPATH"] = str(code)
    command = [sys.executable, "-m", "muscle_atlas", "build", str(source), "-o", str(out), "--jobs", str(jobs)]
    # Run through a small parent that reports its children's usage: ours would also count the
    # build of the other revision.
    wrapper = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL); "
               "u = resource.getrusage(resource.RUSAGE_CHILDREN); print(u.ru_utime + u.ru_stime, u.ru_maxrss)")  # fmt: skip
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", wrapper, *command], check=True, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    cpu_text, peak_kib = done.stdout.split()
    cpu, peak = float(cpu_text), int(peak_kib) / 1024  # MiB, the largest process of the tree
    turntables = len(list((out / "assets" / "renders").glob("*.mp4")))
    sizes: Counter[str] = Counter()
    for path in out.rglob("*"):
        if path.is_file():
            sizes[KINDS.get(path.suffix, "other")] += path.stat().st_size
    pages = len(list(out.rglob("index.html")))
    return {"seconds": seconds, "cpu": cpu, "peak_mib": peak, "turntables": turntables, "pages": pages,
            "sizes": sizes, "load": os.getloadavg()[0]}  # fmt: skip


def profile(source: Path, region: str, dump: Path | None = None) -> tuple[float, dict[str, float], int]:
    """Render every turntable of ``region``'s scenes in this process under cProfile: seconds in
    all, seconds per phase, turntables. ``dump``: also write the profile there (for pstats)."""
    os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")
    from muscle_atlas.geometry.surfaces import each_mesh, simplify
    from muscle_atlas.render import pipeline
    from muscle_atlas.render.settings import DEFAULT_TRIANGLES, RenderSettings
    from muscle_atlas.subject import CONTEXT_TRIANGLES, SubjectRequest, open_subject, surfaces_of

    settings = RenderSettings()
    subject = open_subject(SubjectRequest(str(source)))  # as a build prepares its scenes (subject._render_new)
    detailed = each_mesh(lambda m: simplify(m, DEFAULT_TRIANGLES), surfaces_of(subject, 2), 2)
    light = each_mesh(lambda m: simplify(m, CONTEXT_TRIANGLES),
                      {k: m for k, m in detailed.items() if m.n_cells > CONTEXT_TRIANGLES * 1.2}, 2)  # fmt: skip
    work = pipeline.plan(detailed, subject.matches, light, pipeline.hex_colour(settings.highlight), settings.sides,
                         models=False)  # fmt: skip
    work.jobs = [j for j in work.jobs if j.kind == "turntable" and j.scene.split("@")[0] == region]
    with tempfile.TemporaryDirectory(prefix="wholebody-profile-") as folder:
        profiler = cProfile.Profile()
        started = time.perf_counter()
        profiler.enable()
        pipeline.run(work, settings, Path(folder), jobs=1)
        profiler.disable()
        seconds = time.perf_counter() - started
    if dump is not None:
        profiler.dump_stats(dump)
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    phases = {}
    for phase, (module, names) in PHASES.items():
        phases[phase] = sum(v[3] for (file, _, name), v in stats.items() if file.endswith(module) and name in names)
    phases["other (styling, windows, scheduling)"] = seconds - sum(phases.values())
    return seconds, phases, len(work.jobs)


def report(result: dict, prof: tuple[float, dict[str, float], int] | None, region: str, jobs: int,
           before: tuple[str, dict] | None = None, source: str = "zanatomy-whole-body") -> str:  # fmt: skip
    minutes = result["seconds"] / 60
    total = sum(result["sizes"].values())
    lines = [
        f"`muscle-atlas build {source} -o OUT --jobs {jobs}`, cold (new output and cache), at the defaults:",
        "",
        "| figure | result | target |",
        "|---|---|---|",
        f"| wall time | **{result['seconds']:.1f} s** ({result['pages']} pages, {result['turntables']} turntables) "
        "| ≤ 300 s |",
        f"| turntables per minute | {result['turntables'] / minutes:.0f} | |",
        f"| CPU time, every process | {result['cpu']:.0f} s | |",
        f"| site | **{total / 1e6:.0f} MB** | ≤ 500 MB |",
        f"| peak memory, largest process | {result['peak_mib']:.0f} MiB | |",
        f"| load average (1 min) after | {result['load']:.1f} | (above 2: other work shared the cores) |",
        "",
        "The site by kind of file: "
        + ", ".join(f"{k} {v / 1e6:.1f} MB" for k, v in result["sizes"].most_common())
        + ".",
    ]  # fmt: skip
    if before is not None:
        rev, old = before
        old_total = sum(old["sizes"].values())
        lines += [
            "",
            f"In the same run, the same build by `{rev}` (`git archive`): {old['seconds']:.1f} s "
            f"({old['turntables']} turntables, CPU {old['cpu']:.0f} s), {old_total / 1e6:.0f} MB: now "
            f"{old['seconds'] / result['seconds']:.2f}× faster and {old_total / total:.2f}× lighter.",
        ]  # fmt: skip
    if prof is not None:
        seconds, phases, count = prof
        lines += [
            "",
            f"Where a turntable's time goes (the {region}'s {count} turntables, every side variant, profiled in one "
            f"process: {seconds:.1f} s, {seconds / count:.2f} s a turntable): "
            + ", ".join(f"{k} {v / seconds:.0%}" for k, v in sorted(phases.items(), key=lambda kv: -kv[1]))
            + ".",
        ]  # fmt: skip
    lines += ["", f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, CPython {platform.python_version()}."]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA / "zanatomy-whole-body")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--profile", default="leg", help="the region whose scenes are profiled ('' for none)")
    parser.add_argument("--before", metavar="REV", help="also build with the code of this git revision, first")
    parser.add_argument("--dump", type=Path, help="write the profile there (for pstats)")
    parser.add_argument("--write", action="store_true", help="write the figures into docs/performance.md")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="wholebody-bench-"))
    try:
        before = None
        if args.before:
            archive = subprocess.run(["git", "-C", str(REPO), "archive", args.before], check=True, capture_output=True)
            (folder / "before").mkdir()
            subprocess.run(["tar", "-x", "-C", str(folder / "before")], input=archive.stdout, check=True)
            before = (args.before, build(args.data, folder / "before-site", args.jobs, folder / "before" / "src"))
        result = build(args.data, folder / "site", args.jobs)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    prof = profile(args.data, args.profile, args.dump) if args.profile else None
    text = report(result, prof, args.profile, args.jobs, before, args.data.name)
    print(text)
    if args.write:
        doc = REPO / "docs" / "performance.md"
        content = doc.read_text()
        block = f"{START}\n{text}\n{END}"
        pattern = re.compile(re.escape(START) + ".*?" + re.escape(END), re.S)
        content = pattern.sub(lambda _: block, content) if START in content else content + "\n" + block + "\n"
        doc.write_text(content)


if __name__ == "__main__":
    main()
