"""From a source's surfaces to every picture and model a page needs: the render package's entry points.

:mod:`~muscle_atlas.render.settings` says how (``RenderSettings``), :mod:`~muscle_atlas.render.plan`
what (``plan``: jobs grouped by scene), :mod:`~muscle_atlas.render.cachekeys` which jobs are stale,
:mod:`~muscle_atlas.render.schedule` which worker draws what, and :mod:`~muscle_atlas.render.workers`
draws and encodes. ``run`` orchestrates them: it renders the jobs in ``jobs`` worker processes,
each with one reused plotter, skipping every job whose content hash is already in the cache
manifest.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import nullcontext
from pathlib import Path

from muscle_atlas.render.cachekeys import (
    RENDER_VERSION,
    digest_jobs,
    read_manifest,
    read_posters,
    stale,
    write_manifest,
    write_posters,
)
from muscle_atlas.render.plan import MODEL_SUFFIX, Job, Plan, add_map_jobs, models_of, outputs_of, plan
from muscle_atlas.render.schedule import batches as batches_of
from muscle_atlas.render.schedule import cost_of
from muscle_atlas.render.settings import RenderSettings, hex_colour
from muscle_atlas.render.workers import render_scene, workers, write_models

__all__ = [
    "MODEL_SUFFIX", "RENDER_VERSION", "Plan", "RenderSettings", "add_map_jobs", "hex_colour", "models_of",
    "outputs_of", "plan", "posters_of", "run", "workers",
]  # fmt: skip


def run(
    work: Plan, settings: RenderSettings, out: Path, jobs: int = 1, progress: Callable[[int], object] | None = None,
    meanwhile: Callable[[], object] | None = None, pool: ProcessPoolExecutor | None = None,
) -> list[str]:  # fmt: skip
    """Render every job whose outputs are missing or stale; return the names rendered.
    ``meanwhile``: work for this process while the workers render (before, with ``jobs`` 1);
    ``pool``: the workers, started by :func:`workers` (else started here)."""
    out.mkdir(parents=True, exist_ok=True)
    digest_jobs(work, settings)
    cache = read_manifest(out)
    todo = stale(work, settings, out, cache)
    models = [j for j in todo if j.kind == "model"]
    by_scene: dict[str, list[Job]] = defaultdict(list)
    for job in todo:
        if job.kind != "model":
            by_scene[job.scene].append(job)
    cost = {j.name: cost_of(j, work.items) for j in todo}
    batches = [
        (estimate, ([work.items[k] for k in work.scenes[part[0].scene]], part, settings, out, jobs > 1))
        for estimate, part in batches_of(by_scene, jobs, cost)
    ]
    # Largest first, each to the next free worker: longest-processing-time scheduling.
    batches.sort(key=lambda b: -b[0])
    rendered: list[str] = []
    posters = read_posters(out)
    with workers(jobs, settings) if pool is None else nullcontext(pool) as running:
        if running is None:
            if meanwhile is not None:
                meanwhile()
            for _, batch in batches:
                done = render_scene(batch)
                rendered += done
                posters.update(done)
                if progress:
                    progress(len(batch[1]))
            rendered += write_models(models, work, out, progress)
        else:
            futures = [running.submit(render_scene, batch) for _, batch in batches]
            if meanwhile is not None:
                meanwhile()
            rendered += write_models(models, work, out, progress)
            for future in as_completed(futures):
                done = future.result()
                rendered += done
                posters.update(done)
                if progress:
                    progress(len(done))
    write_manifest(out, work, cache)
    write_posters(out, posters)
    return rendered


def posters_of(work: Plan, out: Path) -> dict[str, int]:
    """Turntable name → the still (1-based) its page opens on, as :func:`run` chose it."""
    chosen = read_posters(out)
    return {j.name: int(chosen.get(j.name) or 1) for j in work.jobs if j.kind == "turntable"}
