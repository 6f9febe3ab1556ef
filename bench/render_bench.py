"""Benchmark: render the VHF left leg (38 muscles with bones and context), then re-run it.

Prints the machine, the command and the figures. Not a test: run it with `make bench`.
Data: $MUSCLE_ATLAS_DATA (default ../shared/data).
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


def main() -> int:
    left = DATA / "vhf-lower-limb" / "Left"
    if not left.is_dir():
        print(f"no data at {left}; set MUSCLE_ATLAS_DATA", file=sys.stderr)
        return 2
    jobs = int(os.environ.get("BENCH_JOBS", "2"))
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "vhf-left"
        source.mkdir()
        for stl in left.glob("*.stl"):
            (source / stl.name).symlink_to(stl)
        out = Path(tmp) / "out"
        command = [sys.executable, "-m", "muscle_atlas", "render", str(source), "-o", str(out), "--jobs", str(jobs)]
        print(f"machine: {platform.node()} {platform.machine()} {os.cpu_count()} CPUs, Python {platform.python_version()}")
        print("command:", " ".join(command))
        timings = []
        for label in ("first run", "re-run (nothing changed)"):
            start = time.perf_counter()
            subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
            timings.append(time.perf_counter() - start)
            print(f"{label}: {timings[-1]:.1f} s")
        frames = len(list((out / "renders").glob("*-[0-9]*.png"))) // 2
        print(f"frames: {frames}, {frames / timings[0]:.1f} frames/s overall")
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(f"peak memory of one process: {peak:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
