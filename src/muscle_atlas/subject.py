"""One subject, from its source to every number and picture its pages need.

open → match → orient → surfaces → measures → renders. ``build``, ``render``, ``inspect`` and
``match`` (and multi-subject runs) call this module; commands only parse and delegate.
"""

from __future__ import annotations

import csv
import gc
import hashlib
import json
from collections import defaultdict
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from muscle_atlas import __version__
from muscle_atlas.anatomy.mapping import read_mapping
from muscle_atlas.anatomy.match import MatchResult, default_matcher, match_labels
from muscle_atlas.anatomy.orientation import Orientation, Placed, orient
from muscle_atlas.anatomy.tree import load_tree
from muscle_atlas.geometry.measures import Measures, asymmetry_percent, enclosed_volume_ml, measure
from muscle_atlas.geometry.sides import SideSplit, split_sides
from muscle_atlas.render import pipeline
from muscle_atlas.sources import Source, open_source
from muscle_atlas.sources.labels import TOTALSEGMENTATOR_PREFIX

if TYPE_CHECKING:
    from muscle_atlas.quantities import MapSpecs
    from muscle_atlas.sources.volume import LabelVolume

MANIFEST = "render-manifest.json"
# Per structure drawn as translucent context: at 12 % opacity 2,500 looked the same and drew 17 % slower.
CONTEXT_TRIANGLES = 1200


@dataclass
class SubjectRequest:
    """What to open and how to read it."""

    source: str
    labels: str | None = None
    map_file: str | None = None
    inline_map: dict[str, str] | None = None
    include: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    orientation: str = "auto"  # auto | header | a code such as LPS
    units: str = "auto"  # auto | mm | cm | m (mesh sources)
    maps: MapSpecs | None = None  # quantitative maps (volume sources only)


@dataclass
class Subject:
    source: Source
    matches: list[MatchResult]
    orientation: Orientation
    # The label volume's affine as its header gives it, before orientation may reinterpret it:
    # quantitative maps share the scanner frame with this one.
    header_affine: np.ndarray | None = None
    sides: SideSplit = field(default_factory=SideSplit)  # structures split into left and right

    def report(self) -> list[str]:
        """What reading the source found, one line each: orientation, units, sides."""
        return [*self.orientation.report(), *self.sides.report()]


def resolve_mapping(map_file: str | None, inline: dict[str, str] | None) -> dict[str, MatchResult] | None:
    mapping = read_mapping(map_file) if map_file else {}
    if inline:
        matcher = default_matcher()
        for key, target in inline.items():
            mapping[key.lower()] = matcher.resolve_target(target, f"mapping.{key}")
    return mapping or None


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


def place(source: Source, matches: list[MatchResult]) -> list[Placed]:
    """Centroid and principal length of every matched structure, in the source's frame."""
    placed: list[Placed] = []
    matched = {m.key: m for m in matches if m.status == "matched"}
    if source.volume is not None:
        volume = source.volume
        values = [int(k) for k in matched if k.lstrip("-").isdigit() and int(k) > 0]
        boxes = volume.label_boxes()
        for value in values:
            box = boxes.get(value)
            if box is None:
                continue
            index = np.argwhere(volume.data[box] == value) + [s.start for s in box]
            # The affine is linear: the centroid is that of the indices, and the principal length
            # needs the world positions of its sample of the voxels only.
            centre = volume.affine[:3, :3] @ index.mean(axis=0) + volume.affine[:3, 3]
            sample = index[:: max(1, len(index) // 4000)]
            world = sample @ volume.affine[:3, :3].T + volume.affine[:3, 3]
            placed.append(Placed(matched[str(value)], centre, _principal_length(world, sampled=True)))
        return placed
    for mesh_file in source.meshes:
        match = matched.get(mesh_file.name)
        if match is None:
            continue
        mesh = mesh_file.mesh
        weights = mesh.area_faces
        centroid = (mesh.triangles_center * weights[:, None]).sum(axis=0) / max(float(weights.sum()), 1e-12)
        placed.append(Placed(match, centroid, _principal_length(np.asarray(mesh.vertices))))
    return placed


def _principal_length(points: np.ndarray, sampled: bool = False) -> float:
    if len(points) < 2:
        return 0.0
    sample = points if sampled else points[:: max(1, len(points) // 4000)]
    centred = sample - sample.mean(axis=0)
    _, _, axes = np.linalg.svd(centred, full_matrices=False)
    along = centred @ axes[0]
    return float(along.max() - along.min())


def open_subject(request: SubjectRequest) -> Subject:
    """Open, match and orient a source; mesh sources come out in RAS+ mm."""
    mapping = resolve_mapping(request.map_file, request.inline_map)
    source = open_source(Path(request.source), request.labels)
    matches = match_labels(source.label_names(), mapping)
    select(matches, request.include, request.exclude)
    placed = place(source, matches)
    orientation = orient(placed, source.kind, request.orientation, 1.0, request.units)
    transform = np.eye(4)
    transform[:3, :3] = orientation.matrix
    header_affine = source.volume.affine.copy() if source.volume is not None else None
    if source.volume is not None:
        if orientation.changes_frame:  # a forced code: the header's world frame is reinterpreted
            source.volume.affine = transform @ source.volume.affine
    elif orientation.changes_frame:
        for mesh_file in source.meshes:
            mesh_file.mesh = mesh_file.mesh.copy()
            mesh_file.mesh.apply_transform(transform)  # trimesh keeps faces outward on reflections
    matches, sides = split_sides(source, matches)  # in RAS+, whatever the source's frame was
    return Subject(source, matches, orientation, header_affine, sides)


# ---------------------------------------------------------------------------------------------
# Surfaces and measures


def surfaces_of(subject: Subject, threads: int = 1) -> dict[str, object]:
    """Label key → full-resolution world-mm surface (pyvista), for everything that is drawn."""
    import pyvista as pv

    from muscle_atlas.geometry.surfaces import clean_mesh, each_mesh, surfaces_from_volume

    # Unidentified labels are drawn too, as context: they are part of the anatomy shown.
    wanted = [m.key for m in subject.matches if m.status != "ignored"]
    if subject.source.volume is not None:
        surfaces = surfaces_from_volume(subject.source.volume, [int(k) for k in wanted])
        return {str(k): v for k, v in surfaces.items()}
    by_name = {m.name: m for m in subject.source.meshes}
    raw = {key: pv.wrap(by_name[key].mesh) for key in wanted if key in by_name}
    return each_mesh(clean_mesh, raw, threads)  # type: ignore[return-value]


def voxel_volumes(volume: LabelVolume) -> dict[str, float]:
    """Label → volume (mL) as voxels × voxel volume: the field's standard for label volumes, which
    an independent count of the voxels reproduces (the smoothed surface's volume only approaches it)."""
    return {str(v): n * volume.voxel_volume_mm3 / 1000.0 for v, n in volume.label_counts().items()}


def measure_all(
    surfaces: dict[str, object], matches: list[MatchResult], closed_only: bool = False,
    volumes: dict[str, float] | None = None,
) -> list[dict]:  # fmt: skip
    """One row per structure and side, units in the column names. Several labels of one
    structure and side (heads or parts merged into their muscle) are measured as one.
    ``closed_only`` (mesh sources): open surfaces get no volume or cross-section. ``volumes``
    (label volumes): each label's voxel volume, else each surface's enclosed volume. Every
    command takes its volumes from here (``inspect`` through :func:`structure_volumes`)."""
    import trimesh

    from muscle_atlas.geometry.surfaces import to_trimesh

    keys: dict[tuple[str, str], list[MatchResult]] = defaultdict(list)
    for match in matches:
        if match.status == "matched" and match.key in surfaces:
            keys[(match.path or "", match.side or "none")].append(match)
    per_side: dict[tuple[str, str], Measures] = {}
    rows: dict[tuple[str, str], dict] = {}
    for (path, side), group in keys.items():
        meshes = [to_trimesh(surfaces[m.key]) for m in group]  # type: ignore[arg-type]
        m = measure(meshes[0] if len(meshes) == 1 else trimesh.util.concatenate(meshes), closed_only)
        parts = [volumes.get(g.key) for g in group] if volumes is not None else [
            enclosed_volume_ml(mesh, closed_only) for mesh in meshes]  # fmt: skip
        m = replace(m, volume_ml=None if None in parts else round(sum(parts), 3))  # type: ignore[arg-type]
        first = group[0]
        per_side[(path, side)] = m
        rows[(path, side)] = {
            "structure": path, "name": first.structure, "code": first.side_code, "side": side,
            "label": "+".join(g.origin or g.key for g in group), "volume_mL": m.volume_ml,
            "surface_area_cm2": m.area_cm2, "length_mm": m.length_mm, "max_cross_section_cm2": m.max_csa_cm2,
            "centroid_R_mm": m.centroid_mm[0], "centroid_A_mm": m.centroid_mm[1],
            "centroid_S_mm": m.centroid_mm[2], "asymmetry_volume_pct": None,
        }  # fmt: skip
    for (path, _side), row in rows.items():
        left, right = per_side.get((path, "left")), per_side.get((path, "right"))
        if left and right and left.volume_ml is not None and right.volume_ml is not None:
            row["asymmetry_volume_pct"] = asymmetry_percent(left.volume_ml, right.volume_ml)
    return [rows[k] for k in sorted(rows)]


def structure_volumes(subject: Subject, surfaces: dict[str, object] | None = None) -> dict[str, float | None]:
    """Label or node → volume (mL), as :func:`measure_all` measures it: voxels for label volumes,
    the enclosed volume of the drawn (cleaned) surface for meshes."""
    if subject.source.volume is not None:
        return {k: round(v, 3) for k, v in voxel_volumes(subject.source.volume).items()}
    from muscle_atlas.geometry.surfaces import to_trimesh

    surfaces = surfaces if surfaces is not None else surfaces_of(subject)
    return {k: enclosed_volume_ml(to_trimesh(s), closed_only=True) for k, s in surfaces.items()}  # type: ignore[arg-type]


def write_measures(rows: list[dict], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "measures.json").write_text(json.dumps(rows, indent=2, ensure_ascii=False) + "\n")
    fields = list(rows[0]) if rows else ["structure"]
    with (out / "measures.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


# ---------------------------------------------------------------------------------------------
# Renders


def input_key(request: SubjectRequest, settings: dict) -> str:
    """Content hash of everything a render depends on: inputs, options and our version."""
    source = Path(request.source)
    digest = hashlib.sha256()
    files = sorted(p for p in source.rglob("*") if p.is_file()) if source.is_dir() else [source]
    extra = [Path(x) for x in (request.labels, request.map_file) if x and not x.startswith(TOTALSEGMENTATOR_PREFIX)]
    for path in [*files, *extra]:
        digest.update(str(path.relative_to(source) if source.is_dir() and path in files else path.name).encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    options = [request.labels, request.orientation, request.units, settings, __version__, pipeline.RENDER_VERSION]
    if request.maps is not None and not request.maps.empty:  # without maps the key is as it was
        options.append(_maps_key(request.maps))
    digest.update(json.dumps(options, sort_keys=True).encode())
    return digest.hexdigest()


def _maps_key(specs: MapSpecs) -> dict:
    """The maps' content hashes and options: new maps, a new order or erosion re-render."""

    def content(path: Path) -> str:
        try:
            return hashlib.sha256(Path(path).read_bytes()).hexdigest()
        except OSError:
            return f"missing:{path}"  # quantify reports it, naming the file

    return {
        "dixon": [content(p) for p in specs.dixon] if specs.dixon else None,
        "dti": content(specs.dti) if specs.dti else None,
        "dti_order": list(specs.dti_order),
        "scalars": [[s.name, s.unit, content(s.path)] for s in specs.scalars],
        "erode": specs.erode,
    }


@dataclass
class RenderResult:
    matches: list[MatchResult]
    measures: list[dict]
    turntables: list[str]
    rendered: int
    cached: bool
    orientation: list[str] = field(default_factory=list)  # one line per finding
    quantities: Path | None = None  # folder of quantities.csv/.json, profiles.csv, histograms.json
    surface_maps: dict[str, dict] = field(default_factory=dict)  # structure path → map turntable
    warnings: list[str] = field(default_factory=list)
    models: dict[str, dict] = field(default_factory=dict)  # turntable → its scene's GLB and colours
    posters: dict[str, int] = field(default_factory=dict)  # turntable → the still its page opens on (1-based)


def render_subject(
    request: SubjectRequest, out: Path, jobs: int, settings: pipeline.RenderSettings, triangles: int,
    progress: bool = True,
) -> RenderResult:  # fmt: skip
    """Everything of one subject into ``out``: measures, turntables and the manifest (cached by
    content hash: an unchanged subject is not opened again)."""
    settings.validate()
    options = {**asdict(settings), "triangles": triangles, "map": request.inline_map,
               "include": request.include, "exclude": request.exclude}  # fmt: skip
    key = input_key(request, options)
    manifest_path = out / MANIFEST
    if manifest_path.exists():
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("key") == key and all((out / p).exists() for p in manifest["outputs"]):
            return RenderResult(
                [MatchResult(**{**m, "candidates": []}) for m in manifest["matches"]],
                manifest["measures"], manifest["turntables"], 0, True, manifest.get("orientation", []),
                out / QUANTITIES if manifest.get("quantities") else None, manifest.get("surface_maps", {}),
                manifest.get("warnings", []), manifest.get("models", {}), manifest.get("posters", {}),
            )  # fmt: skip
    with pipeline.workers(jobs, settings) as pool:  # they set up while the subject is read
        return _render_new(request, out, key, jobs, settings, triangles, progress, pool)


def _return_freed_memory() -> None:
    """Give the heap's freed pages back to the system (glibc keeps them for reuse): the
    full-resolution meshes are gone, and the render workers need the memory more."""
    import ctypes

    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to do
        pass


def _render_new(
    request: SubjectRequest, out: Path, key: str, jobs: int, settings: pipeline.RenderSettings, triangles: int,
    progress: bool, pool: object,
) -> RenderResult:  # fmt: skip
    from muscle_atlas.geometry.surfaces import each_mesh, simplify

    manifest_path = out / MANIFEST
    subject = open_subject(request)
    maps = request.maps if request.maps is not None and not request.maps.empty else None
    quantified = _quantify(subject, maps, out) if maps is not None else None
    surfaces = surfaces_of(subject, jobs)
    detailed = each_mesh(lambda m: simplify(m, triangles), surfaces, jobs)  # type: ignore[arg-type]
    context = each_mesh(
        lambda m: simplify(m, CONTEXT_TRIANGLES),
        {k: m for k, m in detailed.items() if m.n_cells > CONTEXT_TRIANGLES * 1.2},  # type: ignore[attr-defined]
        jobs,
    )  # fmt: skip
    surface_map = None
    if quantified is not None and maps is not None:
        surface_map = _surface_map(subject, maps, detailed, quantified)
    matches, findings = subject.matches, subject.report()
    closed_only = subject.source.volume is None
    volumes = voxel_volumes(subject.source.volume) if subject.source.volume is not None else None
    del subject
    rows: list[dict] = []

    def measure_while_rendering() -> None:
        # The main process measures while the workers render; then the full-resolution meshes go.
        nonlocal surfaces
        rows.extend(measure_all(surfaces, matches, closed_only=closed_only, volumes=volumes))
        write_measures(rows, out)
        surfaces = {}
        gc.collect()
        _return_freed_memory()

    work = pipeline.plan(detailed, matches, context, pipeline.hex_colour(settings.highlight), settings.sides,
                         settings.models)  # fmt: skip
    surface_maps: dict[str, dict] = {}
    if surface_map is not None and quantified is not None:
        colours = {k: surface_map.colours(k) for k in surface_map.values}
        for job in pipeline.add_map_jobs(work, colours, {s.path for s in quantified.structures}):
            surface_maps[job.structure] = {"name": job.name, "variant": job.variant, **surface_map.describe()}
    renders = out / "renders"
    if progress:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        with Progress(TextColumn("rendering"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()) as bar:
            task = bar.add_task("render", total=len(work.jobs))
            rendered = pipeline.run(work, settings, renders, jobs, lambda n: bar.advance(task, n),
                                    measure_while_rendering, pool)  # fmt: skip
    else:
        rendered = pipeline.run(work, settings, renders, jobs, meanwhile=measure_while_rendering, pool=pool)
    quantity_files = []
    if quantified is not None:
        from muscle_atlas.quantities.tables import FILES

        quantity_files = [f"{QUANTITIES}/{name}" for name in FILES]
    outputs = ["measures.csv", "measures.json", *quantity_files] + [
        str(p.relative_to(out)) for job in work.jobs for p in pipeline.outputs_of(job, settings, renders)
    ]
    turntables = [j.name for j in work.jobs if j.kind == "turntable"]
    warnings = quantified.warnings if quantified is not None else []
    manifest = {
        "key": key,
        "outputs": outputs,
        "turntables": turntables,
        "measures": rows,
        "orientation": findings,
        "models": pipeline.models_of(work),
        "posters": pipeline.posters_of(work, renders),
        "matches": [{k: v for k, v in m.to_dict().items() if k not in ("side_code", "candidates")} for m in matches],
    }
    if quantified is not None:
        manifest.update({"quantities": True, "surface_maps": surface_maps, "warnings": warnings})
    manifest_path.write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n")
    pictures = [n for n in rendered if not n.endswith(pipeline.MODEL_SUFFIX)]  # the models are counted apart
    return RenderResult(matches, rows, turntables, len(pictures), False, findings,
                        out / QUANTITIES if quantified is not None else None, surface_maps, warnings,
                        manifest["models"], manifest["posters"])  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Quantitative maps

QUANTITIES = "quantities"


def _quantify(subject: Subject, maps: MapSpecs, out: Path):
    """Statistics of the maps over every matched structure, into ``out/quantities/``. The maps
    are read in the scanner frame of the label volume's header affine, whatever orientation did."""
    from muscle_atlas.errors import MapError
    from muscle_atlas.quantities import quantify, write_tables

    volume = subject.source.volume
    if volume is None or subject.header_affine is None:
        raise MapError(
            "quantitative maps (--dixon, --dti, --qmap) need a NIfTI label volume; this source is made of meshes",
            subject.source.path,
        )
    result = quantify(replace(volume, affine=subject.header_affine), subject.matches, maps)
    write_tables(result, out / QUANTITIES)
    return result


def _surface_map(subject: Subject, maps: MapSpecs, meshes: dict[str, object], quantified):
    """Per-vertex values of one map (fat fraction if measured) on the structures' surfaces."""
    from muscle_atlas.render.surfacemap import choose_quantity, sample_surfaces

    quantity = choose_quantity([m.name for m in quantified.maps])
    if quantity is None or subject.source.volume is None or subject.header_affine is None:
        return None
    return sample_surfaces(subject.source.volume, subject.header_affine, subject.matches, maps, meshes, quantity)
