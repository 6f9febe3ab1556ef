"""``muscle-atlas quantify``: per-structure statistics of quantitative maps, without a site.

Writes ``quantities.csv``/``.json``, ``profiles.csv`` and ``histograms.json`` into the output
folder and prints a short summary; warnings go to stderr.
"""

from __future__ import annotations

import sys
import time
from dataclasses import replace

from muscle_atlas.errors import SourceError
from muscle_atlas.quantities import MapSpecs, quantify, write_tables
from muscle_atlas.subject import SubjectRequest, open_subject


def run(source: str, labels: str | None, label_map: str | None, specs: MapSpecs, output: str) -> int:
    started = time.perf_counter()
    # Opened as every command opens a source: labels holding both legs are split into sides.
    subject = open_subject(SubjectRequest(source, labels, label_map))
    volume = subject.source.volume
    if volume is None or subject.header_affine is None:
        raise SourceError("quantify needs a NIfTI label volume, not a folder of meshes", source)
    matches = subject.matches
    for line in subject.sides.report():
        print(line)
    result = quantify(replace(volume, affine=subject.header_affine), matches, specs)
    write_tables(result, output)
    for warning in result.warnings:
        print(f"muscle-atlas: warning: {warning}", file=sys.stderr)
    names = [m.name for m in result.maps]
    erosions = " and ".join(str(e) for e in result.erosions)
    print(
        f"{len(result.structures)} structures × {len(names)} maps ({', '.join(names)}), erosion {erosions} voxels, "
        f"in {time.perf_counter() - started:.1f} s → {output}/quantities.csv"
    )
    cut = sorted({f"{r['structure']} {r['side']}" for r in result.rows if r["edge_cut"]})
    if cut:
        print(f"{len(cut)} structures cut by an edge of the labels or a map (edge_cut = true)")
    unmatched = [m for m in matches if m.status in ("unmatched", "ambiguous")]
    if unmatched:
        listed = ", ".join(f"{m.key} {m.name!r}" for m in unmatched)
        print(f"not quantified, unmatched labels: {listed}; name them with --label-map FILE")
    if result.warnings:
        print(f"{len(result.warnings)} warning(s), on stderr")
    return 0
