"""Shared fixtures: where the real data lives, and small synthetic inputs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def data_root() -> Path:
    """Real data: $MUSCLE_ATLAS_DATA, else ../shared/data beside the checkout."""
    env = os.environ.get("MUSCLE_ATLAS_DATA")
    if env:
        return Path(env)
    for candidate in (REPO.parent / "shared" / "data", Path("/work/shared/data")):
        if candidate.is_dir():
            return candidate
    return REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def data() -> Path:
    root = data_root()
    if not root.is_dir():
        pytest.skip(f"real data not found at {root} (set MUSCLE_ATLAS_DATA)")
    return root


@pytest.fixture(scope="session")
def vhf(data: Path) -> Path:
    return data / "vhf-lower-limb"


@pytest.fixture(scope="session")
def vhf_site(vhf: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The VHF both-legs atlas, built once per test run with small, fast render settings."""
    from sitebuild import build_site

    return build_site(vhf, tmp_path_factory.mktemp("vhf") / "site", jobs=2, views=8, size=160, thumb=64)


@pytest.fixture(scope="session")
def thigh(data: Path) -> tuple[Path, Path]:
    """A thigh-cohort segmentation (one label per muscle for both legs) and its label table."""
    cohort = data / "thigh-cohort"
    return cohort / "sub-HV002" / "anat" / "sub-HV002_acq-fat_dseg.nii.gz", cohort / "dseg.tsv"


@pytest.fixture(scope="session")
def thigh_site(thigh: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Its atlas, built once per test run as a user builds it (the CLI), small and fast."""
    from muscle_atlas.cli import main

    site = tmp_path_factory.mktemp("thigh") / "site"
    segmentation, table = thigh
    fast = ["--views", "4", "--size", "96", "--no-ssaa", "--triangles", "1500", "--jobs", "2"]
    assert main(["build", str(segmentation), "--labels", str(table), "-o", str(site), *fast]) == 0
    return site


POPULATION = 10_000  # subjects of the fabricated study (issue #21: a site usable at this scale)


@pytest.fixture(scope="session")
def population_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The study site of a fabricated study of 10,000 subjects (thigh and hip, 20 muscles, both legs;
    ``studyfake``), written by the real site writer, shared by test_study.py and
    test_study_browser.py. Its writing time is in ``site-seconds.txt`` beside it (a record, not a
    test: the machine may be shared)."""
    import time

    from studyfake import fake_study, write_fake_site

    folder = tmp_path_factory.mktemp("population")
    data = fake_study(POPULATION, folder / "cache", maps=False)
    wall, cpu = time.perf_counter(), time.process_time()
    write_fake_site(data, folder / "cache", folder / "site")
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    (folder / "site-seconds.txt").write_text(f"{wall:.1f} s wall, {cpu:.1f} s CPU\n")
    return folder / "site"
