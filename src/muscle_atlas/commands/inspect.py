"""``muscle-atlas inspect``: one row per structure of a source, with warnings."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

import numpy as np
from scipy import ndimage

from muscle_atlas.anatomy.match import MatchResult
from muscle_atlas.sources import Source
from muscle_atlas.subject import SubjectRequest, open_subject, structure_volumes

# 26-connectivity: voxels that touch at an edge or a corner are one piece.
_FULL_CONNECTIVITY = np.ones((3, 3, 3), dtype=bool)


@dataclass
class InspectRow:
    name: str
    label: int | None
    count: int
    count_unit: str
    volume_ml: float | None
    bbox_min_mm: list[float] | None
    bbox_max_mm: list[float] | None
    pieces: int
    warnings: list[str] = field(default_factory=list)
    side: str | None = None  # the side of a structure split by position (both sides in one label)


@dataclass
class Inspection:
    source: str
    kind: str
    label_table: str | None
    voxel_size_mm: list[float] | None
    rows: list[InspectRow]
    warnings: list[str]
    orientation: list[str] = field(default_factory=list)  # axes, units, conflicts: one line each

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, ensure_ascii=False)


def _round3(values: np.ndarray) -> list[float]:
    return [round(float(v), 3) for v in values]


def inspect_source(
    source: Source, split: dict[str, MatchResult] | None = None, volumes: dict[str, float | None] | None = None,
) -> Inspection:  # fmt: skip
    """One row per label or node. ``split``: the sides made of labels or nodes that held both
    (new key → its match); ``volumes``: each key's volume as the site measures it."""
    split = split or {}
    if source.volume is not None:
        return _inspect_volume(source, split, volumes)
    return _inspect_meshes(source, split, volumes)


def _inspect_volume(source: Source, split: dict[str, MatchResult], volumes: dict[str, float | None] | None) -> Inspection:
    volume = source.volume
    if volume is None:
        raise TypeError("not a volume source")
    counts = volume.label_counts()
    boxes = volume.label_boxes() if counts else {}
    table = source.table
    rows: list[InspectRow] = []
    origins = {int(m.origin) for m in split.values() if m.origin is not None}
    voxel_ml = volume.voxel_volume_mm3 / 1000.0

    def order(value: int) -> tuple[int, str]:
        match = split.get(str(value))
        return (int(match.origin), match.side or "") if match is not None and match.origin else (value, "")

    for value in sorted((set(counts) | set(table.entries if table else {})) - origins, key=order):
        match = split.get(str(value))
        label = int(match.origin) if match is not None and match.origin else value
        name = table.name(label) if table else None
        count = counts.get(value, 0)
        warnings: list[str] = []
        if table is not None and name is None:
            warnings.append("label present in the volume but absent from the table")
        if count == 0:
            warnings.append("table entry absent from the volume")
            rows.append(InspectRow(name or str(value), value, 0, "voxels", 0.0, None, None, 0, warnings))
            continue
        lo = hi = None
        pieces = 1
        block = boxes.get(value)
        if block is not None:
            lo, hi = volume.world_bounds(block)
            _, pieces = ndimage.label(volume.data[block] == value, structure=_FULL_CONNECTIVITY)
        if pieces > 1:
            warnings.append(f"{pieces} disconnected pieces")
        rows.append(
            InspectRow(
                name=name or str(label),
                label=label,
                count=count,
                count_unit="voxels",
                volume_ml=volumes.get(str(value)) if volumes is not None else round(count * voxel_ml, 3),
                bbox_min_mm=_round3(lo) if lo is not None else None,
                bbox_max_mm=_round3(hi) if hi is not None else None,
                pieces=int(pieces),
                warnings=warnings,
                side=match.side if match is not None else None,
            )
        )
    return Inspection(
        source=str(source.path),
        kind="volume (one-hot 4D)" if volume.one_hot else "volume",
        label_table=table.source if table else None,
        voxel_size_mm=[round(v, 4) for v in volume.voxel_size_mm],
        rows=rows,
        warnings=list(volume.warnings) + [f"{table.source}: {w}" for w in (table.warnings if table else [])],
    )


def _inspect_meshes(source: Source, split: dict[str, MatchResult], volumes: dict[str, float | None] | None) -> Inspection:
    rows = []
    for item in source.meshes:
        mesh = item.mesh
        match = split.get(item.name)
        warnings = []
        watertight = bool(mesh.is_watertight)
        volume_ml = round(abs(float(mesh.volume)) / 1000.0, 3) if watertight else None
        if volumes is not None and item.name in volumes:
            volume_ml = volumes[item.name]
        if volume_ml is None:
            warnings.append("open mesh (not watertight): no enclosed volume")
        pieces = int(mesh.body_count)
        if pieces > 1:
            warnings.append(f"{pieces} disconnected pieces")
        lo, hi = mesh.bounds
        rows.append(
            InspectRow(
                name=match.origin if match is not None and match.origin else item.name,
                label=None,
                count=len(mesh.vertices),
                count_unit="vertices",
                volume_ml=volume_ml,
                bbox_min_mm=_round3(lo),
                bbox_max_mm=_round3(hi),
                pieces=pieces,
                warnings=warnings,
                side=match.side if match is not None else None,
            )
        )
    return Inspection(str(source.path), "meshes", None, None, rows, [])


def _fmt_box(row: InspectRow) -> str:
    if row.bbox_min_mm is None or row.bbox_max_mm is None:
        return "-"
    lo, hi = row.bbox_min_mm, row.bbox_max_mm
    return " ".join(f"{a:.0f}..{b:.0f}" for a, b in zip(lo, hi, strict=True))


def print_inspection(inspection: Inspection) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console(width=None if Console().is_terminal else 160)
    title = f"{inspection.source} ({inspection.kind}"
    if inspection.voxel_size_mm:
        title += ", voxels " + "×".join(f"{v:g}" for v in inspection.voxel_size_mm) + " mm"
    if inspection.label_table:
        title += f", labels {inspection.label_table}"
    title += ")"
    table = Table(title=title, title_justify="left")
    is_volume = inspection.kind.startswith("volume")
    if is_volume:
        table.add_column("label", justify="right")
    table.add_column("name", no_wrap=True)
    sided = any(row.side for row in inspection.rows)
    if sided:
        table.add_column("side")
    table.add_column("voxels" if is_volume else "vertices", justify="right")
    table.add_column("mL", justify="right")
    table.add_column("bounding box R, A, S (mm)", no_wrap=True)
    table.add_column("warnings", style="yellow")
    for row in inspection.rows:
        cells = [str(row.label)] if is_volume else []
        cells += [
            row.name,
            *([row.side or ""] if sided else []),
            str(row.count),
            f"{row.volume_ml:.2f}" if row.volume_ml is not None else "-",
            _fmt_box(row),
            "; ".join(row.warnings),
        ]
        table.add_row(*cells)
    console.print(table)
    for warning in inspection.warnings:
        console.print(f"[yellow]warning:[/] {warning}")
    for line in inspection.orientation:
        console.print(escape(line))


def run(source: str, labels: str | None, as_json: bool, orientation: str = "auto", units: str = "auto") -> int:
    subject = open_subject(SubjectRequest(source, labels, orientation=orientation, units=units))
    split = {m.key: m for m in subject.matches if m.origin is not None}
    inspection = inspect_source(subject.source, split, structure_volumes(subject))
    inspection.orientation = subject.report()
    if as_json:
        print(inspection.to_json())
    else:
        print_inspection(inspection)
    return 0
