"""A study on a real Dask cluster: ``dask scheduler`` and ``dask worker`` processes (Dask's own
commands from the venv, on 127.0.0.1, random free ports, one thread each) and ``--scheduler``.

One run checks what a cluster of machines needs: the tidy table equals the local run's, a worker
that joins mid-study takes tasks, and a worker killed mid-study (SIGKILL, no nanny to restart it)
loses nothing: every segmentation has its result. The study is a synthetic cohort of small
segmentations (``bench/synthetic_cohort.py``), long enough for a worker to join and another to die.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from muscle_atlas.cli import main

REPO = Path(__file__).resolve().parents[1]
ITEMS = 48
TIMEOUT = 90  # seconds: the cluster's start, the join and the kill


def _generator():
    spec = importlib.util.spec_from_file_location("synthetic_cohort", REPO / "bench" / "synthetic_cohort.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def _dask() -> str:
    command = Path(sys.executable).parent / "dask"
    assert command.is_file(), f"{command}: Dask's command line is not installed in this venv"
    return str(command)


class Cluster:
    """A scheduler and its workers as subprocesses, every one killed at the end."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.file = folder / "scheduler.json"
        self.processes: list[subprocess.Popen] = []
        self.address = ""

    def _start(self, args: list[str], name: str) -> subprocess.Popen:
        log = (self.folder / f"{name}.log").open("wb")
        process = subprocess.Popen([_dask(), *args], stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.processes.append(process)
        return process

    def scheduler(self) -> str:
        self._start(["scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard", "--scheduler-file",
                     str(self.file)], "scheduler")  # fmt: skip
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            if self.file.is_file():
                try:
                    self.address = json.loads(self.file.read_text())["address"]
                    return self.address
                except (ValueError, KeyError):
                    pass
            time.sleep(0.1)
        raise AssertionError(f"the scheduler did not start: {(self.folder / 'scheduler.log').read_text()[-2000:]}")

    def worker(self, name: str) -> subprocess.Popen:
        return self._start(["worker", self.address, "--nthreads", "1", "--no-nanny", "--no-dashboard", "--host",
                            "127.0.0.1", "--name", name, "--memory-limit", "0"], name)  # fmt: skip

    def wait_for_workers(self, n: int) -> None:
        from distributed import Client

        with Client(self.address, timeout="20s") as client:
            client.wait_for_workers(n, timeout=TIMEOUT)

    def close(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


@pytest.fixture
def cohort(data: Path, tmp_path: Path) -> Path:
    source = data / "thigh-cohort"
    if not source.is_dir():
        pytest.skip("the thigh cohort is not in the data folder")
    study = tmp_path / "study"
    _generator().generate(source, study, ITEMS, seed=4, subjects="sub-THIGH0*")  # 512 × 512 × ~15: fast tasks
    return study


def _results(cache: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in (cache / "study" / "subjects").glob("*/*/result.json")]


def test_a_study_on_a_dask_cluster_of_processes(cohort: Path, tmp_path: Path) -> None:
    local = tmp_path / "local"
    assert main(["study", str(cohort), "-o", str(local), "--jobs", "1", "--quiet"]) == 0
    cluster = Cluster(tmp_path)
    try:
        address = cluster.scheduler()
        first, second = cluster.worker("first"), cluster.worker("second")
        cluster.wait_for_workers(2)
        out = tmp_path / "site"
        cache = tmp_path / ".site.muscle-atlas-cache"
        events: dict[str, object] = {}

        def meddle() -> None:
            """Once tasks run, a third worker joins; once it is in, the first one is killed."""
            deadline = time.monotonic() + TIMEOUT
            while time.monotonic() < deadline and "killed" not in events:
                done = len(list((cache / "study" / "subjects").glob("*/*/result.json"))) if cache.is_dir() else 0
                if done >= 2 and "joined" not in events:
                    events["joined"] = cluster.worker("joined")
                    cluster.wait_for_workers(3)
                    events["done_at_join"] = len(_results(cache))
                elif "joined" in events and done >= events["done_at_join"] + 4:  # type: ignore[operator]
                    os.kill(first.pid, signal.SIGKILL)  # no nanny: the worker is gone for good
                    events["killed"] = done
                time.sleep(0.05)

        meddler = threading.Thread(target=meddle, daemon=True)
        meddler.start()
        code = main(["study", str(cohort), "-o", str(out), "--scheduler", address, "--quiet"])
        meddler.join(timeout=TIMEOUT)
        assert code == 0
        assert "joined" in events and "killed" in events, f"the study ended before the worker joined or died: {events}"
        assert events["killed"] < ITEMS, "the first worker was killed after the study's end"  # type: ignore[operator]
        assert first.wait(timeout=10) == -signal.SIGKILL and second.poll() is None
        # Nothing lost: every segmentation has its result, and the table is the local run's.
        log = (out / "data" / "study-log.txt").read_text()
        assert f"tasks: {ITEMS} processed on {address} (2 workers)" in log and ", 0 failed" in log
        assert (out / "data" / "study.csv").read_bytes() == (local / "data" / "study.csv").read_bytes()
        results = _results(cache)
        assert len(results) == ITEMS and all(r["ok"] for r in results)
        pids = {r["worker_pid"] for r in results}
        joined = events["joined"]
        assert joined.pid in pids, "the worker that joined mid-study took no task"  # type: ignore[union-attr]
        assert {first.pid, second.pid} <= pids
    finally:
        cluster.close()
