"""Which worker draws what: jobs grouped into batches by scene, a scene split where that ends the
whole run sooner by the estimated costs, the largest batches first (longest-processing-time)."""

from __future__ import annotations

import numpy as np

from muscle_atlas.render.engine import SceneItem
from muscle_atlas.render.plan import Job

# Estimated costs, in turntables encoded (about 0.45 s on one core at 800 px): a turntable's frames
# drawn whole cost about twice its encoding, a window a share of that by its area; a scene's batch
# loads the scene and draws its base frames.
BASE_COST = 2.0


def cost_of(job: Job, items: dict[str, SceneItem]) -> float:
    boxes = [np.asarray(items[k].mesh.bounds).reshape(3, 2) for k in job.highlight if k in items]  # type: ignore[attr-defined]
    if not boxes or job.framing is None:
        return 3.0
    lo, hi = np.min([b[:, 0] for b in boxes], axis=0), np.max([b[:, 1] for b in boxes], axis=0)
    side = 2 * job.framing.half_height
    area = float(np.hypot(hi[0] - lo[0], hi[1] - lo[1]) * (hi[2] - lo[2])) / side**2  # its widest view's box
    return 3.0 if area > 0.6 else 1.0 + 2.0 * min(1.0, 0.1 + 1.5 * area)


def split(scene_jobs: list[Job], count: int, cost: dict[str, float]) -> list[list[Job]]:
    """A scene's jobs in ``count`` consecutive parts of about equal estimated cost."""
    total = sum(cost[j.name] for j in scene_jobs)
    parts: list[list[Job]] = [[] for _ in range(count)]
    done = 0.0
    for job in scene_jobs:
        index = min(count - 1, int(count * (done + cost[job.name] / 2) / total)) if total > 0 else 0
        parts[index].append(job)
        done += cost[job.name]
    return [part for part in parts if part]


def makespan(estimates: list[float], workers: int) -> float:
    """When the last of ``workers`` ends, each taking the largest batch left when it is free."""
    loads = [0.0] * workers
    for estimate in sorted(estimates, reverse=True):
        loads[loads.index(min(loads))] += estimate
    return max(loads)


def batches(by_scene: dict[str, list[Job]], workers: int, cost: dict[str, float]) -> list[tuple[float, list[Job]]]:
    """Each scene's jobs as one batch or as several, whichever ends soonest by the estimates:
    a batch draws its scene's base frames again (BASE_COST), but a scene left whole can keep one
    worker busy long after the others are done. Greedy: split further the scene whose next split
    shortens the estimated end most, while one does."""
    counts = {scene: 1 for scene in by_scene}
    known: dict[tuple[str, int], list[tuple[float, list[Job]]]] = {}

    def pieces(scene: str, count: int) -> list[tuple[float, list[Job]]]:
        if (scene, count) not in known:
            parts = split(by_scene[scene], count, cost)
            known[scene, count] = [(BASE_COST + sum(cost[j.name] for j in part), part) for part in parts]
        return known[scene, count]

    def end(trial: dict[str, int]) -> float:
        return makespan([e for scene, n in trial.items() for e, _ in pieces(scene, n)], workers)

    best = end(counts)
    while workers > 1:
        options = [(end({**counts, scene: n + 1}), scene) for scene, n in counts.items()
                   if n < min(workers, len(by_scene[scene]))]  # fmt: skip
        if not options or min(options)[0] >= best - 1e-9:
            break
        best, scene = min(options)
        counts[scene] += 1
    return [piece for scene, n in counts.items() for piece in pieces(scene, n)]
