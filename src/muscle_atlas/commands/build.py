"""``muscle-atlas build``: the atlas website of one segmentation (see :mod:`muscle_atlas.site.build`)."""

from __future__ import annotations

import time

from muscle_atlas.site.build import BuildRequest, build_with_result


def run(request: BuildRequest) -> int:
    started = time.perf_counter()
    output, unidentified = build_with_result(request)
    redirect = 'http-equiv="refresh"'
    pages = sum(1 for p in output.rglob("index.html") if redirect not in p.read_text(encoding="utf-8")) or sum(
        1 for p in output.rglob("*.md") if redirect not in p.read_text(encoding="utf-8")
    )
    print(f"built {pages} pages in {time.perf_counter() - started:.1f} s → {output}")
    if unidentified:
        names = ", ".join(m.key if m.name == m.key else f"{m.key} ({m.name})" for m in unidentified)
        print(f"unidentified labels, drawn as context without pages: {names}")
        print("  name them with --map (see `muscle-atlas match SOURCE` for candidates)")
    print(f"open it with: muscle-atlas serve {request.output}")
    return 0
