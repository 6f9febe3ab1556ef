"""``muscle-atlas render``: surfaces, measurements, turntables, animations and 3D models."""

from __future__ import annotations

import time
from pathlib import Path

from muscle_atlas.render.settings import RenderSettings
from muscle_atlas.subject import SubjectRequest, render_subject


def run(request: SubjectRequest, output: str, jobs: int, settings: RenderSettings, triangles: int) -> int:
    started = time.perf_counter()
    out = Path(output)
    result = render_subject(request, out, jobs, settings, triangles)
    for line in result.orientation:
        print(line)
    cached = len(result.turntables) - result.rendered
    print(
        f"{len(result.turntables)} turntables ({result.rendered} rendered, {cached} cached), "
        f"{settings.views} views each, in {time.perf_counter() - started:.1f} s → {out}"
    )
    return 0
