"""Run the study's tasks on a Dask cluster: a local one (``--jobs N`` worker processes) or an
existing one (``--scheduler tcp://HOST:PORT``, the study and the output on storage every worker
sees, muscle-atlas installed on every worker).

Items whose result is in the cache (same content hash) are not submitted. The others are one
task each, all submitted in one call (``client.map(..., retries=2)``): a worker that dies takes its tasks with it and
the scheduler runs them elsewhere; a task that raises (not a user error) is retried twice. A
segmentation with bad files comes back as a failed result and the others complete.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from muscle_atlas.study.model import Item, StudyError
from muscle_atlas.study.results import ResultTable
from muscle_atlas.study.task import TaskOptions, cache_key, cached_result, failure, process_to_cache

RETRIES = 2
RESULTS = "results.jsonl"  # the run's results, one JSON line per item, in the cache folder
CONNECT_TIMEOUT = "20s"


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
            by_key = {task_key(item, keys[item.id]): item for item in todo}
            # One message for every task (client.map), each released as soon as its note is read:
            # the workers hold no result, the note is small and the result is read from the cache.
            futures = client.map(process_to_cache, todo, [options[i.id] for i in todo], [str(cache)] * len(todo),
                                 [keys[i.id] for i in todo], key=list(by_key), retries=RETRIES, pure=False)  # fmt: skip
            completed = as_completed(futures)
            del futures
            for future in completed:
                item = by_key[future.key]
                try:
                    note = future.result()
                except Exception as exc:  # retries exhausted, or the worker died too often (KilledWorker)
                    note = failure(item, keys[item.id], f"{type(exc).__name__}: {exc}")
                future.release()
                del future
                result = note if not note.get("ok") else cached_result(cache, item, keys[item.id])
                if result is None:  # the worker wrote it where this client cannot see it
                    result = failure(item, keys[item.id], f"the result is not in {cache} (the output and its cache "
                                     "must be on storage the client and every worker see at the same path)")  # fmt: skip
                report.results.add(result)
                report.processed.append(item.id)
                if on_result is not None:
                    on_result(result)
                del result, note
                advance()
    report.results.order(item.id for item in items)
    report.failed = sorted(report.results.failed())
    _prune(cache, items, keys, report)
    report.seconds = time.perf_counter() - started
    return report


def task_key(item: Item, key: str) -> str:
    """The Dask key of an item's task (the tests count tasks by it)."""
    return f"muscle-atlas-study-{item.id}-{key[:16]}"


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
