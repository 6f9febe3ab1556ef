"""Run the study's tasks on a Dask cluster: a local one (``--jobs N`` worker processes) or an
existing one (``--scheduler tcp://HOST:PORT``, the study and the output on storage every worker
sees, muscle-atlas installed on every worker).

Items whose result is in the cache (same content hash) are not submitted. The others are one
task each, or a few per task in a large study (:func:`batches`), all submitted in one call
(``client.map(..., retries=2)``): a worker that dies takes its tasks with it and the scheduler runs
them elsewhere; a task that raises (not a user error) is retried twice. A segmentation with bad
files comes back as a failed result and the others complete.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from muscle_atlas.study.model import Item, StudyError
from muscle_atlas.study.results import ResultTable
from muscle_atlas.study.task import TaskOptions, cache_key, cached_result, failure, process_batch

RETRIES = 2
BATCH = 8  # at most this many segmentations per cluster task
RESULTS = "results.jsonl"  # the run's results, one JSON line per item, in the cache folder
CONNECT_TIMEOUT = "20s"
# Dask's settings for the local cluster (a cluster given by --scheduler keeps its own). Its
# defaults poll often: the workers' statistical profiler samples the task's thread every 10 ms,
# every process measures its event loop every 20 ms and its CPU and memory every 0.1–0.5 s. Idle,
# the scheduler, the nannies and the client took 4 % of a core and each worker 3.5 %; with these,
# under 1 % together: CPU the tasks get on a 2-core machine. Nothing here changes what a task does.
LOCAL_CONFIG = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "1s",
    "distributed.admin.system-monitor.interval": "5s",
    "distributed.worker.memory.monitor-interval": "1s",
}


@dataclass
class RunReport:
    results: ResultTable  # item id → result (failed ones have ok = False), read from disk when asked for
    processed: list[str] = field(default_factory=list)  # items computed by a task in this run
    cached: list[str] = field(default_factory=list)  # items taken from the cache
    failed: list[str] = field(default_factory=list)
    seconds: float = 0.0
    workers: int = 0
    scheduler: str = ""


@contextmanager
def dask_client(jobs: int, scheduler: str | None):
    """A client of an existing scheduler, or of a local cluster of ``jobs`` worker processes."""
    from distributed import Client, LocalCluster

    for name in ("distributed", "tornado"):
        logging.getLogger(name).setLevel(logging.ERROR)
    if scheduler:
        try:
            client = Client(scheduler, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError) as exc:
            reason = " ".join(str(exc).split())[:200]
            raise StudyError(f"cannot connect to the Dask scheduler ({reason})", scheduler) from exc
        try:
            client.wait_for_workers(1, timeout=60)
        except TimeoutError as exc:
            client.close()
            raise StudyError("the Dask scheduler has no workers (waited 60 s)", scheduler) from exc
        try:
            yield client
        finally:
            client.close()
        return
    import dask

    with dask.config.set(LOCAL_CONFIG):  # the nannies pass it on to their workers
        cluster = LocalCluster(n_workers=max(1, jobs), threads_per_worker=1, processes=True, dashboard_address=None,
                               silence_logs=logging.ERROR)  # fmt: skip
        client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def run_items(
    items: list[Item], options: dict[str, TaskOptions], cache: Path, jobs: int = 1, scheduler: str | None = None,
    progress: bool = True, on_result: Callable[[dict], None] | None = None, table: Path | None = None,
) -> RunReport:  # fmt: skip
    """Every item's result: from the cache, or from a task on the cluster. Results go to a
    :class:`~muscle_atlas.study.results.ResultTable` (``table``, default ``cache/results.jsonl``) as
    they arrive; the client keeps none of them in memory."""
    started = time.perf_counter()
    report = RunReport(ResultTable(table or cache / RESULTS))
    keys = {item.id: cache_key(item, options[item.id]) for item in items}
    todo: list[Item] = []
    for item in items:
        found = cached_result(cache, item, keys[item.id])
        if found is not None:
            report.results.add(found)
            report.cached.append(item.id)
        else:
            todo.append(item)
        del found
    if todo:
        from distributed import as_completed

        with dask_client(jobs, scheduler) as client, _progress(len(items), len(report.cached), progress) as advance:
            report.workers = len(client.scheduler_info(n_workers=-1)["workers"])
            report.scheduler = scheduler or "local"
            groups = batches(todo, report.workers)
            by_key = {batch_key(group, keys): group for group in groups}
            # One message for every task (client.map), each released as soon as its notes are read:
            # the workers hold no result, a note is small and the result is read from the cache.
            futures = client.map(process_batch, groups, [[options[i.id] for i in g] for g in groups],
                                 [str(cache)] * len(groups), [[keys[i.id] for i in g] for g in groups],
                                 key=list(by_key), retries=RETRIES, pure=False)  # fmt: skip
            completed = as_completed(futures)
            del futures
            for future in completed:
                group = by_key[future.key]
                try:
                    notes: list[dict | None] = future.result()
                    error = ""
                except Exception as exc:  # retries exhausted, or the worker died too often (KilledWorker)
                    notes, error = [None] * len(group), f"{type(exc).__name__}: {exc}"
                future.release()
                del future
                for item, note in zip(group, notes, strict=True):
                    report.results.add(_result(item, note, keys[item.id], cache, error))
                    report.processed.append(item.id)
                    if on_result is not None:
                        on_result(report.results[item.id])
                    advance()
                del notes
    report.results.order(item.id for item in items)
    report.failed = sorted(report.results.failed())
    _prune(cache, items, keys, report)
    report.seconds = time.perf_counter() - started
    return report


def _result(item: Item, note: dict | None, key: str, cache: Path, error: str) -> dict:
    """An item's result once its task ended: read from the cache (where the worker wrote it), the
    failure the worker returned, or, when the task raised (``note`` None), what it had done."""
    if note is not None and not note.get("ok"):
        return note
    result = cached_result(cache, item, key)
    if result is not None:
        return result
    if note is None:  # the batch raised: this one had not been done
        return failure(item, key, error)
    return failure(item, key, f"the result is not in {cache} (the output and its cache must be on storage the "
                   "client and every worker see at the same path)")  # fmt: skip


def batches(todo: list[Item], workers: int) -> list[list[Item]]:
    """The items in tasks of up to :data:`BATCH` segmentations, in order: a task costs the
    scheduler and the client some milliseconds whatever it holds (as much as a small
    segmentation's work), so a large study sends fewer, larger tasks; each worker still gets at
    least 16, and the last few segmentations go one per task, so that the workers end together."""
    size = max(1, min(BATCH, len(todo) // (16 * max(1, workers))))
    head = max(0, len(todo) - 2 * size * max(1, workers)) // size * size
    return [todo[i : i + size] for i in range(0, head, size)] + [[item] for item in todo[head:]]


def task_key(item: Item, key: str) -> str:
    """The Dask key of an item's task (the tests count tasks by it)."""
    return f"muscle-atlas-study-{item.id}-{key[:16]}"


def batch_key(items: list[Item], keys: dict[str, str]) -> str:
    """A task's Dask key: :func:`task_key` for one item; for several, the first item's id and how
    many follow, with a hash of their cache keys."""
    if len(items) == 1:
        return task_key(items[0], keys[items[0].id])
    digest = hashlib.sha256("".join(keys[i.id] for i in items).encode()).hexdigest()
    return f"muscle-atlas-study-{items[0].id}+{len(items) - 1}-{digest[:16]}"


@contextmanager
def _progress(total: int, done: int, show: bool):
    if not show:
        yield lambda: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("subjects"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()) as bar:
        task = bar.add_task("subjects", total=total, completed=done)
        yield lambda: bar.advance(task, 1)


def _prune(cache: Path, items: list[Item], keys: dict[str, str], report: RunReport) -> None:
    """Results of earlier versions of each item's inputs are removed once the new one is there."""
    import shutil

    from muscle_atlas.study.task import item_folder, result_folder

    for item in items:
        if not report.results.ok(item.id):
            continue
        keep = result_folder(cache, item, keys[item.id])
        folder = item_folder(cache, item)
        for old in folder.iterdir() if folder.is_dir() else []:
            if old != keep and old.is_dir() and not old.name.startswith(".tmp-"):
                shutil.rmtree(old, ignore_errors=True)
