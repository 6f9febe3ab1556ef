"""Benchmark: every render, animation and model of the VHF left leg, against the naive way.

Prints the machine, the command and the figures; `make bench` runs it. Not a test.
Data: $MUSCLE_ATLAS_DATA (default ../shared/data). BENCH_JOBS sets --jobs (default 2).

The naive way is what a lab script does: a new pyvista plotter for every frame, full-resolution
meshes, SSAA. It is timed on a sample of turntables in the same run and scaled to the same
number of frames; encoding is not counted for it, which flatters it.
"""

from __future__ import annotations

import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("MUSCLE_ATLAS_DATA", REPO.parent / "shared" / "data"))
NAIVE_SAMPLE = ("VHF_Left_Muscle_Soleus_smooth", "VHF_Left_Muscle_TibialisPosterior_smooth")


def naive_seconds_per_frame(left: Path, views: int = 16) -> float:
    """A new plotter per frame, full meshes: the way a first script does it."""
    os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")
    import numpy as np
    import pyvista as pv

    meshes = {p.stem: pv.read(p) for p in sorted(left.glob("*.stl"))}
    leg = [m for k, m in meshes.items() if "Muscle" in k]
    centre = np.vstack([m.points for m in leg]).mean(axis=0)
    frames = 0
    start = time.perf_counter()
    for target in NAIVE_SAMPLE:
        for index in range(views):
            plotter = pv.Plotter(off_screen=True, window_size=(800, 800))
            plotter.ren_win.SetMultiSamples(0)
            plotter.enable_anti_aliasing("ssaa")
            for key, mesh in meshes.items():
                if key == target:
                    plotter.add_mesh(mesh, color="red")
                elif "_Bone_" in key:
                    plotter.add_mesh(mesh, color="ivory")
                else:
                    plotter.add_mesh(mesh, color="tan", opacity=0.12)
            angle = 2 * np.pi * index / views
            plotter.camera.focal_point = centre
            plotter.camera.position = centre + 1500 * np.array([-np.sin(angle), np.cos(angle), 0])
            plotter.camera.up = (0, 0, 1)
            plotter.screenshot(return_img=True)
            plotter.close()
            frames += 1
    return (time.perf_counter() - start) / frames


def main() -> int:
    left = DATA / "vhf-lower-limb" / "Left"
    if not left.is_dir():
        print(f"no data at {left}; set MUSCLE_ATLAS_DATA", file=sys.stderr)
        return 2
    jobs = int(os.environ.get("BENCH_JOBS", "2"))
    print(f"machine: {platform.node()}, {platform.machine()}, {os.cpu_count()} CPUs, "
          f"Python {platform.python_version()}, {platform.platform()}")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "vhf-left"
        source.mkdir()
        for stl in left.glob("*.stl"):
            (source / stl.name).symlink_to(stl)
        out = Path(tmp) / "out"
        command = [sys.executable, "-m", "muscle_atlas", "render", str(source), "-o", str(out), "--jobs", str(jobs)]
        print("command:", " ".join(command))
        timings = []
        for label in ("first run", "re-run, nothing changed"):
            start = time.perf_counter()
            subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            timings.append(time.perf_counter() - start)
            print(f"{label}: {timings[-1]:.1f} s")
        renders = out / "renders"
        frames = len([p for p in renders.glob("*.png") if not p.stem.endswith("-thumb")])
        turntables = len(list(renders.glob("*.glb")))
        print(f"turntables: {turntables} ({frames} frames of 800x800, thumbnails, MP4, WebM, GIF, GLB each)")
        print(f"throughput: {frames / timings[0]:.1f} frames/s, everything included")
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(f"peak memory (largest process): {peak:.0f} MiB")
    naive = naive_seconds_per_frame(left)
    naive_total = naive * frames
    print(f"naive way: {naive:.2f} s/frame on {len(NAIVE_SAMPLE)} turntables; for {frames} frames ≈ {naive_total:.0f} s")
    print(f"speed-up: {naive_total / timings[0]:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
