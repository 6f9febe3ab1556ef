"""``muscle-atlas render``: surfaces, measurements, turntables, animations and 3D models."""

from __future__ import annotations

import csv
import gc
import hashlib
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from muscle_atlas import __version__
from muscle_atlas.anatomy.match import MatchResult, default_matcher, match_labels, read_mapping
from muscle_atlas.anatomy.tree import load_tree
from muscle_atlas.geometry.measures import Measures, asymmetry_percent, measure
from muscle_atlas.geometry.surfaces import clean_mesh, simplify, surfaces_from_volume, to_trimesh
from muscle_atlas.render import pipeline
from muscle_atlas.sources import Source, open_source
from muscle_atlas.sources.labels import TOTALSEGMENTATOR_PREFIX

MANIFEST = "render-manifest.json"
CONTEXT_TRIANGLES = 2500  # per structure drawn as translucent context


def surfaces_of(source: Source, matches: list[MatchResult]) -> dict[str, object]:
    """Label key → full-resolution world-mm surface (pyvista), for everything that is drawn."""
    import pyvista as pv

    # Unidentified labels are drawn too, as context: they are part of the anatomy shown.
    wanted = [m.key for m in matches if m.status != "ignored"]
    if source.volume is not None:
        surfaces = surfaces_from_volume(source.volume, [int(k) for k in wanted])
        return {str(k): v for k, v in surfaces.items()}
    by_name = {m.name: m for m in source.meshes}
    return {key: clean_mesh(pv.wrap(by_name[key].mesh)) for key in wanted if key in by_name}


def measure_all(surfaces: dict[str, object], matches: list[MatchResult]) -> list[dict]:
    """One row per structure and side, units in the column names."""
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
            "centroid_R_mm": m.centroid_mm[0], "centroid_A_mm": m.centroid_mm[1],
            "centroid_S_mm": m.centroid_mm[2], "asymmetry_volume_pct": None,
        }  # fmt: skip
    for (path, _side), row in rows.items():
        left, right = per_side.get((path, "left")), per_side.get((path, "right"))
        if left and right:
            row["asymmetry_volume_pct"] = asymmetry_percent(left.volume_ml, right.volume_ml)
    return [rows[k] for k in sorted(rows)]


def write_measures(rows: list[dict], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "measures.json").write_text(json.dumps(rows, indent=2, ensure_ascii=False) + "\n")
    fields = list(rows[0]) if rows else ["structure"]
    with (out / "measures.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def input_key(source: Path, labels: str | None, map_file: str | None, settings: dict) -> str:
    """Content hash of everything a render depends on: inputs, options and our version."""
    digest = hashlib.sha256()
    files = sorted(p for p in source.rglob("*") if p.is_file()) if source.is_dir() else [source]
    extra = [Path(x) for x in (labels, map_file) if x and not x.startswith(TOTALSEGMENTATOR_PREFIX)]
    for path in [*files, *extra]:
        digest.update(str(path.relative_to(source) if source.is_dir() and path in files else path.name).encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    digest.update(json.dumps([labels, settings, __version__, pipeline.RENDER_VERSION], sort_keys=True).encode())
    return digest.hexdigest()


@dataclass
class RenderResult:
    matches: list[MatchResult]
    measures: list[dict]
    turntables: list[str]
    rendered: int
    cached: bool


def select(matches: list[MatchResult], include: list[str], exclude: list[str]) -> None:
    """Structures left out by the project become context: drawn, but without pages."""
    if not include and not exclude:
        return
    tree = load_tree()
    wanted = [tree.get(i) for i in include]
    unwanted = [tree.get(e) for e in exclude]
    for match in matches:
        if match.status != "matched" or match.code is None:
            continue
        chain = [*tree.by_code[match.code].ancestors(), tree.by_code[match.code]]
        codes = {s.code for s in chain}
        if (wanted and not any(w.code in codes for w in wanted)) or any(u.code in codes for u in unwanted):
            match.status = "excluded"


def resolve_mapping(map_file: str | None, inline: dict[str, str] | None) -> dict[str, MatchResult] | None:
    mapping = read_mapping(map_file) if map_file else {}
    if inline:
        matcher = default_matcher()
        for key, target in inline.items():
            mapping[key.lower()] = matcher.resolve_target(target, f"mapping.{key}")
    return mapping or None


def render_source(
    source: str, out: Path, labels: str | None, map_file: str | None, jobs: int,
    settings: pipeline.RenderSettings, triangles: int, progress: bool = True,
    inline_map: dict[str, str] | None = None, include: list[str] | None = None, exclude: list[str] | None = None,
) -> RenderResult:  # fmt: skip
    settings.validate()
    options = {**asdict(settings), "triangles": triangles, "map": inline_map, "include": include, "exclude": exclude}
    key = input_key(Path(source), labels, map_file, options)
    manifest_path = out / MANIFEST
    if manifest_path.exists():
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("key") == key and all((out / p).exists() for p in manifest["outputs"]):
            return RenderResult(
                [MatchResult(**{**m, "candidates": []}) for m in manifest["matches"]],
                manifest["measures"], manifest["turntables"], 0, True,
            )  # fmt: skip
    mapping = resolve_mapping(map_file, inline_map)
    opened = open_source(Path(source), labels)
    matches = match_labels(opened.label_names(), mapping)
    select(matches, include or [], exclude or [])
    surfaces = surfaces_of(opened, matches)
    rows = measure_all(surfaces, matches)
    write_measures(rows, out)
    detailed = {k: simplify(m, triangles) for k, m in surfaces.items()}  # type: ignore[arg-type]
    context = {
        k: simplify(m, CONTEXT_TRIANGLES)  # type: ignore[arg-type]
        for k, m in detailed.items()
        if m.n_cells > CONTEXT_TRIANGLES * 1.2  # type: ignore[attr-defined]
    }
    del opened, surfaces  # the full-resolution meshes are not needed while rendering
    gc.collect()
    work = pipeline.plan(detailed, matches, context, pipeline.hex_colour(settings.highlight))
    renders = out / "renders"
    if progress:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        with Progress(TextColumn("rendering"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()) as bar:
            task = bar.add_task("render", total=len(work.jobs))
            rendered = pipeline.run(work, settings, renders, jobs, progress=lambda n: bar.advance(task, n))
    else:
        rendered = pipeline.run(work, settings, renders, jobs)
    outputs = ["measures.csv", "measures.json"] + [
        str(p.relative_to(out)) for job in work.jobs for p in pipeline.outputs_of(job, settings, renders)
    ]
    manifest = {
        "key": key,
        "outputs": outputs,
        "turntables": [j.name for j in work.jobs],
        "measures": rows,
        "matches": [{k: v for k, v in m.to_dict().items() if k not in ("side_code", "candidates")} for m in matches],
    }
    manifest_path.write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n")
    return RenderResult(matches, rows, [j.name for j in work.jobs], len(rendered), False)


def run(
    source: str, output: str, labels: str | None, map_file: str | None, jobs: int,
    settings: pipeline.RenderSettings, triangles: int,
) -> int:  # fmt: skip
    started = time.perf_counter()
    out = Path(output)
    result = render_source(source, out, labels, map_file, jobs, settings, triangles)
    cached = len(result.turntables) - result.rendered
    print(
        f"{len(result.turntables)} turntables ({result.rendered} rendered, {cached} cached), "
        f"{settings.views} views each, in {time.perf_counter() - started:.1f} s → {out}"
    )
    return 0
