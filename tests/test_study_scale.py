"""What lets a study grow to ten thousand segmentations: results kept on disk, not in memory
(ResultTable), and measures kept in a compact table (KeyedValues) that reads like a dict."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from muscle_atlas.study.keyed import KeyedValues
from muscle_atlas.study.results import ResultTable


def test_keyed_values_behave_like_a_dict() -> None:
    rng = random.Random(5)  # noqa: S311 (test data)
    table, reference = KeyedValues(), {}
    for _ in range(3000):
        key = (f"item{rng.randrange(60)}", f"path{rng.randrange(7)}", rng.choice(["left", "right"]), rng.choice("abc"))
        if rng.random() < 0.1 and key in reference:
            del table[key], reference[key]
        else:
            value = rng.randrange(1000) if key[3] == "a" else rng.uniform(-5, 5)
            table[key] = value
            reference[key] = value
    assert len(table) == len(reference) and set(table) == set(reference)
    assert dict(table.items()) == reference
    for key, value in reference.items():
        assert table[key] == value and type(table[key]) is type(value)
        assert table.row(key[0])[key[1:]] == value
    assert table.get(("nothing", "p", "s", "v")) is None and ("item1", "x") not in table
    with pytest.raises(KeyError):
        table[("item1", "path1", "left", "zzz")]


def test_result_table_keeps_results_on_disk(tmp_path: Path) -> None:
    table = ResultTable(tmp_path / "results.jsonl")
    table.add({"id": "b", "ok": True, "value": 2})
    table.add({"id": "a", "ok": True, "value": 1})
    table.add({"id": "c", "ok": False, "error": "bad file"})
    table.add({"id": "a", "ok": True, "value": 3})  # a later result of the same item wins
    table.order(["a", "b", "c", "missing"])
    assert list(table) == ["a", "b", "c"] and len(table) == 3
    assert [r.get("value") for r in table.values()] == [3, 2, None]
    assert table["a"] == {"id": "a", "ok": True, "value": 3} and table.failed() == {"c": table["c"]}
    assert table.ok_ids() == ["a", "b"] and dict(table.view(["b"]).items()) == {"b": table["b"]}
    assert len((tmp_path / "results.jsonl").read_text().splitlines()) == 3  # appended, never held


_FAULTS = """
import resource, sys, threading
import numpy as np
from muscle_atlas.study.task import tune_allocator

def work():
    if sys.argv[1] == "tuned":
        assert tune_allocator()
    for _ in range(3):  # warm: what a first task allocates
        np.ones(1 << 20)
    before = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt
    for _ in range(40):  # 40 arrays of 8 MB, each written and freed, as a task's steps do
        np.ones(1 << 20)
    print(resource.getrusage(resource.RUSAGE_THREAD).ru_minflt - before)

thread = threading.Thread(target=work)  # a Dask worker runs its tasks in a thread
thread.start()
thread.join()
"""


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="glibc's allocator (Linux) only")
def test_a_worker_keeps_the_memory_its_tasks_free(tmp_path: Path) -> None:
    """Dask starts its workers with MALLOC_TRIM_THRESHOLD_=65536: glibc then maps every array
    anew and gives it back, a page fault per page written. A tuned worker reuses freed memory."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "MALLOC_TRIM_THRESHOLD_": "65536"}
    faults = {}
    for mode in ("plain", "tuned"):
        done = subprocess.run([sys.executable, "-c", _FAULTS, mode], env=env, capture_output=True, text=True, check=True)
        faults[mode] = int(done.stdout.split()[-1])
    assert faults["plain"] >= 40 * 100  # every 8 MB array faulted in anew (in 4 kB pages, or larger ones)
    assert faults["tuned"] < faults["plain"] / 20


def test_a_worker_warms_up_on_a_real_segmentation(tmp_path: Path, monkeypatch) -> None:
    """The warm-up before a worker's first task measures a tiny two-leg segmentation for real (it
    would otherwise fail silently: it is only a warm-up) and leaves nothing behind."""
    import tempfile

    from muscle_atlas.study import task

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    task._rehearse()
    assert list(tmp_path.iterdir()) == []
    seen = []
    monkeypatch.setattr(task, "_rehearse", lambda: seen.append(1))
    monkeypatch.setattr(task, "_warmed", [])
    task.warm_worker()
    task.warm_worker()
    assert seen == [1]  # once per process
