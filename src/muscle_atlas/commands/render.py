"""``muscle-atlas render``: surfaces, measurements, turntables and animations of a source."""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path

from muscle_atlas.anatomy.match import MatchResult, match_labels, read_mapping
from muscle_atlas.geometry.measures import Measures, asymmetry_percent, measure
from muscle_atlas.geometry.surfaces import clean_mesh, simplify, surfaces_from_volume, to_trimesh
from muscle_atlas.render import pipeline
from muscle_atlas.sources import Source, open_source


def surfaces_of(source: Source, matches: list[MatchResult]) -> dict[str, object]:
    """Label key → full-resolution world-mm surface (pyvista), for everything that is drawn."""
    import pyvista as pv

    wanted = [m.key for m in matches if m.status in ("matched", "context")]
    if source.volume is not None:
        surfaces = surfaces_from_volume(source.volume, [int(k) for k in wanted])
        return {str(k): v for k, v in surfaces.items()}
    by_name = {m.name: m for m in source.meshes}
    return {key: clean_mesh(pv.wrap(by_name[key].mesh)) for key in wanted if key in by_name}


def measure_all(surfaces: dict[str, object], matches: list[MatchResult]) -> list[dict]:
    rows: dict[tuple[str, str], dict] = {}
    per_side: dict[tuple[str, str], Measures] = {}
    for match in matches:
        if match.status != "matched" or match.key not in surfaces:
            continue
        m = measure(to_trimesh(surfaces[match.key]))  # type: ignore[arg-type]
        side = match.side or "none"
        per_side[(match.path or "", side)] = m
        rows[(match.path or "", side)] = {
            "structure": match.path, "name": match.structure, "code": match.side_code, "side": side,
            "label": match.key, "volume_mL": m.volume_ml, "surface_area_cm2": m.area_cm2,
            "length_mm": m.length_mm, "max_cross_section_cm2": m.max_csa_cm2,
            "centroid_R_mm": m.centroid_mm[0], "centroid_A_mm": m.centroid_mm[1], "centroid_S_mm": m.centroid_mm[2],
            "asymmetry_volume_pct": None,
        }  # fmt: skip
    for (path, _side), row in rows.items():
        left, right = per_side.get((path, "left")), per_side.get((path, "right"))
        if left and right:
            row["asymmetry_volume_pct"] = asymmetry_percent(left.volume_ml, right.volume_ml)
    return [rows[k] for k in sorted(rows)]


def write_measures(rows: list[dict], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "measures.json").write_text(json.dumps(rows, indent=2, ensure_ascii=False))
    fields = list(rows[0]) if rows else ["structure"]
    with (out / "measures.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


def run(
    source: str, output: str, labels: str | None, map_file: str | None, jobs: int,
    settings: pipeline.RenderSettings, triangles: int,
) -> int:  # fmt: skip
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    started = time.perf_counter()
    out = Path(output)
    opened = open_source(Path(source), labels)
    mapping = read_mapping(map_file) if map_file else None
    matches = match_labels(opened.label_names(), mapping)
    surfaces = surfaces_of(opened, matches)
    write_measures(measure_all(surfaces, matches), out)
    light = {k: simplify(m, triangles) for k, m in surfaces.items()}  # type: ignore[arg-type]
    work = pipeline.plan(light, matches)
    with Progress(
        TextColumn("rendering"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), transient=True
    ) as progress:
        task = progress.add_task("render", total=len(work.jobs))
        rendered = pipeline.run(work, settings, out / "renders", jobs, progress=lambda n: progress.advance(task, n))
    print(
        f"{len(work.jobs)} turntables ({len(rendered)} rendered, {len(work.jobs) - len(rendered)} cached), "
        f"{settings.views} views each, in {time.perf_counter() - started:.1f} s → {out}"
    )
    return 0
