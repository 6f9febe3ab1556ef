"""Write a :class:`~muscle_atlas.quantities.compute.QuantityResult` as tidy tables.

- ``quantities.csv`` / ``quantities.json``: one row per structure, side, map and erosion;
- ``profiles.csv``: one row per structure, side, map, erosion and slice;
- ``histograms.json``: the maps (name, unit, files, grid) and per structure, side and map the
  histogram of the eroded mask's values (common bin edges per map).

Numbers are written with 6 significant digits; a missing value is an empty CSV cell or null.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import asdict
from pathlib import Path

from muscle_atlas.quantities.compute import COLUMNS, PROFILE_COLUMNS, QuantityResult

FILES = ("quantities.csv", "quantities.json", "profiles.csv", "histograms.json")


def _number(value: object) -> object:
    if isinstance(value, float):
        return None if not math.isfinite(value) else float(f"{value:.6g}")
    return value


def _cell(value: object) -> str:
    value = _number(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _write_csv(path: Path, columns: tuple[str, ...], rows: list[dict]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_cell(row[c]) for c in columns])


def write_tables(result: QuantityResult, out: str | Path) -> list[Path]:
    """Write the four files into ``out`` (created if needed); returns their paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    _write_csv(out / "quantities.csv", COLUMNS, result.rows)
    rows = [{k: _number(v) for k, v in row.items()} for row in result.rows]
    (out / "quantities.json").write_text(json.dumps(rows, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    _write_csv(out / "profiles.csv", PROFILE_COLUMNS, result.profiles)
    histograms = {
        "maps": [asdict(m) for m in result.maps],
        "erosion_voxels": result.erosions[-1],
        "histograms": [
            {k: ([_number(e) for e in v] if k == "edges" else _number(v)) for k, v in h.items()} for h in result.histograms
        ],
    }
    (out / "histograms.json").write_text(json.dumps(histograms, ensure_ascii=False) + "\n", encoding="utf-8")
    return [out / name for name in FILES]
