"""Every WebP still of an atlas against the lossless render of the same view (issue #20).

Builds the source twice, as the HTML site (WebP stills, each gallery's quality measured) and as
the Jekyll export (PNG), then compares each ``.webp`` of the site with the PNG render of the same
name, with the tests' own SSIM (``tests/imagequality.py``, scipy, independent of the package's):

    python bench/stills_ssim.py [SOURCE] [--jobs 2]        # default: the whole-body model
    python bench/stills_ssim.py --site OUT --png DIR       # two builds already made

Side posters have no twin in the Jekyll export (it shows the Both view); they are measured one by
one as they are encoded.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from imagequality import ssim


def _compare(pair: tuple[Path, Path]) -> tuple[str, float]:
    lossy, lossless = pair
    a = np.asarray(Image.open(lossless).convert("RGB"))
    return lossy.stem, ssim(a, np.asarray(Image.open(lossy).convert("RGB")))


def _build(source: Path, out: Path, jobs: int, *extra: str) -> None:
    command = [sys.executable, "-m", "muscle_atlas", "build", str(source), "-o", str(out), "--jobs", str(jobs), *extra]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)


def main() -> None:
    data = Path(os.environ.get("MUSCLE_ATLAS_DATA", "../shared/data"))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", nargs="?", type=Path, default=data / "zanatomy-whole-body")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--site", type=Path, help="an HTML build (skips building)")
    parser.add_argument("--png", type=Path, help="the PNG renders of a Jekyll build (its cache's renders/)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="stills-ssim-") as folder:
        site, png = args.site, args.png
        if site is None or png is None:
            site, jekyll = Path(folder) / "site", Path(folder) / "jekyll"
            _build(args.source, site, args.jobs)
            _build(args.source, jekyll, args.jobs, "--format", "jekyll")
            png = Path(folder) / f".{jekyll.name}.muscle-atlas-cache" / "renders"
        pairs = [(f, png / f"{f.stem}.png") for f in sorted(site.rglob("*.webp"))]
        twins = [(a, b) for a, b in pairs if b.is_file()]
        with ProcessPoolExecutor(args.jobs) as pool:
            results = sorted(pool.map(_compare, twins, chunksize=16), key=lambda r: r[1])
    values = np.array([s for _, s in results])
    print(f"{len(pairs)} WebP stills, {len(twins)} with a lossless render of the same name")
    print(f"SSIM: worst {values.min():.4f}, under 0.98: {int((values < 0.98).sum())}, mean {values.mean():.4f}")
    print("the worst:", ", ".join(f"{name} {value:.4f}" for name, value in results[:5]))


if __name__ == "__main__":
    main()
