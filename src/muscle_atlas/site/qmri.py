"""Quantitative MRI on the site: the tables ``quantify`` wrote, shaped for pages, and plots.

The plots are drawn by :mod:`muscle_atlas.web.svg`; their numbers go as a table in a
``<details>`` element beside them, for screen readers and for reuse.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from muscle_atlas.web.context import cell
from muscle_atlas.web.format import NAMES, SHORT, fmt, label_of, round_number, scale
from muscle_atlas.web.svg import Series, colour_bar_svg, histogram_svg, line_svg

DATA = "data/"
SIDE_ORDER = ("left", "right", "none")
# Okabe–Ito blue and vermillion: told apart by colour-blind readers; the right side is also dashed.
SIDE_STYLE = {"left": ("#0072b2", ""), "right": ("#d55e00", "6 4"), "none": ("#0072b2", "")}
SIDE_LABEL = {"left": "Left", "right": "Right", "none": "—"}
HIDDEN_BEYOND = 0.995  # histograms show the bins that hold this share of each side's voxels


@dataclass
class Quantities:
    """What ``quantify`` measured, as read back from its tables."""

    rows: list[dict]
    profiles: list[dict]
    histograms: list[dict]
    maps: list[dict]
    erosion: int
    folder: Path
    dti_order: tuple[str, ...] | None = None
    surface_maps: dict[str, dict] = field(default_factory=dict)  # structure path → map turntable

    def names(self) -> list[str]:
        return [m["name"] for m in self.maps]

    def unit(self, name: str) -> str:
        return next((m["unit"] for m in self.maps if m["name"] == name), "")

    def structures(self) -> set[str]:
        return {r["structure"] for r in self.rows}


def load(folder: Path, dti_order: Sequence[str] | None = None, surface_maps: dict[str, dict] | None = None) -> Quantities:
    """Read quantities.json, histograms.json and profiles.csv from ``folder``."""
    rows = json.loads((folder / "quantities.json").read_text(encoding="utf-8"))
    histograms = json.loads((folder / "histograms.json").read_text(encoding="utf-8"))
    with (folder / "profiles.csv").open(newline="", encoding="utf-8") as handle:
        profiles = [
            {k: (v if k in ("structure", "side", "map", "unit") else _float(v)) for k, v in row.items()}
            for row in csv.DictReader(handle)
        ]
    return Quantities(rows, profiles, histograms["histograms"], histograms["maps"], int(histograms["erosion_voxels"]),
                      folder, tuple(dti_order) if dti_order else None, dict(surface_maps or {}))  # fmt: skip


def _float(text: str) -> float:
    return float(text) if text not in ("", None) else math.nan


def copy_data(quantities: Quantities, data: Path) -> None:
    """The four tables into the site's ``data/``; map files are named without their folders."""
    data.mkdir(parents=True, exist_ok=True)
    for name in ("quantities.csv", "quantities.json", "profiles.csv"):
        (data / name).write_bytes((quantities.folder / name).read_bytes())
    histograms = json.loads((quantities.folder / "histograms.json").read_text(encoding="utf-8"))
    for info in histograms["maps"]:
        info["files"] = [Path(f).name for f in info["files"]]
    (data / "histograms.json").write_text(json.dumps(histograms, ensure_ascii=False) + "\n", encoding="utf-8")


# ---------------------------------------------------------------------------------------------
# Page parts


def _sides(rows: list[dict]) -> list[str]:
    present = {r["side"] for r in rows}
    return [s for s in SIDE_ORDER if s in present]


def card(q: Quantities, path: str, title: str) -> dict | None:
    """Median [IQR] per map, raw and eroded, per side: the muscle page's table."""
    rows = [r for r in q.rows if r["structure"] == path]
    if not rows:
        return None
    sides = _sides(rows)
    erosions = sorted({int(r["erosion_voxels"]) for r in rows})
    by_key = {(r["map"], r["side"], int(r["erosion_voxels"])): r for r in rows}
    body = []
    for name in q.names():
        factor, _ = scale(name, q.unit(name))
        cells = []
        for side in sides:
            for erosion in erosions:
                row = by_key.get((name, side, erosion))
                if row is None or not row["n_voxels"]:
                    cells.append({"text": "—", "n": 0})
                    continue
                median, p25, p75 = (_scaled(row[k], factor) for k in ("median", "p25", "p75"))
                cells.append({"text": f"{fmt(median)} [{fmt(p25)}–{fmt(p75)}]", "n": row["n_voxels"]})
        body.append({"label": label_of(name, q.unit(name)), "cells": cells})
    cut = sorted({c for r in rows for c in (r.get("cut_by") or [])})
    partial = sorted({f"{SIDE_LABEL[r['side']].lower()} {100 * r['coverage']:.0f} %" for r in rows
                      if r["coverage"] is not None and r["coverage"] < 1})  # fmt: skip
    eroded = erosions[-1]
    what = {"raw": "whole mask", "eroded": f"eroded by {eroded} voxel{'s' if eroded != 1 else ''} in-plane"}
    return {
        "caption": f"{title}: median [interquartile range] of each map, left and right, over the whole mask (raw) "
                   f"and after an in-plane erosion of {eroded} voxel{'s' if eroded != 1 else ''} (eroded)",
        "sides": [SIDE_LABEL[s] if s != "none" else "Values" for s in sides],
        "erosions": [("Raw" if e == 0 else "Eroded", what["raw"] if e == 0 else what["eroded"]) for e in erosions],
        "rows": body,
        "cut": " and ".join({"labels": "the edge of the segmentation", "map": "the edge of a map"}[c] for c in cut),
        "partial": ", ".join(partial),
    }  # fmt: skip


def _scaled(value: float | None, factor: float) -> float | None:
    return None if value is None else value * factor


def histograms(q: Quantities, path: str, ident: str, title: str) -> list[dict]:
    """One figure per map: the eroded mask's histogram, sides overlaid, as shares of voxels."""
    figures = []
    for index, name in enumerate(q.names()):
        found = {h["side"]: h for h in q.histograms if h["structure"] == path and h["map"] == name}
        sides = [s for s in SIDE_ORDER if s in found and sum(found[s]["counts"]) > 0]
        if not sides:
            continue
        factor, unit = scale(name, q.unit(name))
        edges = [e * factor for e in found[sides[0]]["edges"]]
        shares = {s: _shares(found[s]["counts"]) for s in sides}
        lo = min(_first_bin(found[s]["counts"]) for s in sides)  # bins lo … hi - 1 are drawn
        hi = max(_last_bin(found[s]["counts"]) for s in sides) + 1
        shown = edges[lo : hi + 1]
        series = [Series(SIDE_LABEL[s] if s != "none" else name, *SIDE_STYLE[s], [], shares[s][lo:hi]) for s in sides]
        hidden = {s: sum(found[s]["counts"][:lo]) + sum(found[s]["counts"][hi:]) + found[s]["below"] + found[s]["above"]
                  for s in sides}  # fmt: skip
        name_text = NAMES.get(name, name)
        summary = "; ".join(
            f"{SIDE_LABEL[s].lower() if s != 'none' else 'values'}: {sum(found[s]['counts'])} voxels"
            + (f", {hidden[s]} beyond the axis" if hidden[s] else "")
            for s in sides
        )
        axis = f"{name_text} ({unit})" if unit else name_text
        desc = (f"Histogram of {name_text.lower() if name != 'FA' else name_text} in the eroded mask, share of voxels "
                f"per bin of {fmt(edges[1] - edges[0])}{' ' + unit if unit else ''}, from {fmt(shown[0])} to "
                f"{fmt(shown[-1])}; {summary}.")  # fmt: skip
        figure_title = f"{name_text}: distribution in the {title.lower()}"
        table_rows = [
            [f"{fmt(edges[i])}–{fmt(edges[i + 1])}", *(fmt(shares[s][i], 2) for s in sides)]
            for i in range(len(edges) - 1) if any(found[s]["counts"][i] for s in sides)
        ]  # fmt: skip
        figures.append(
            {
                "id": f"{ident}-hist-{index}",
                "title": figure_title,
                "svg": histogram_svg(f"{ident}-hist-{index}", figure_title, desc, shown, series, axis, "Voxels (%)"),
                "table": {
                    "caption": f"{figure_title}: share of the eroded mask's voxels per bin (%); empty bins left out",
                    "columns": [
                        f"{name_text} ({unit})" if unit else name_text,
                        *(f"{SIDE_LABEL[s] if s != 'none' else 'Voxels'} (%)" for s in sides),
                    ],
                    "rows": table_rows,
                },
            }
        )
    return figures


def _shares(counts: list[int]) -> list[float]:
    total = sum(counts) or 1
    return [100.0 * c / total for c in counts]


def _last_bin(counts: list[int]) -> int:
    total, running = sum(counts), 0
    for i, c in enumerate(counts):
        running += c
        if running >= HIDDEN_BEYOND * total:
            return i
    return len(counts) - 1


def _first_bin(counts: list[int]) -> int:
    return next((i for i, c in enumerate(counts) if c), 0)


def profiles(q: Quantities, path: str, ident: str, title: str) -> list[dict]:
    """The cross-sectional area along the structure, then the median of each map per slice."""
    figures = []
    rows = [p for p in q.profiles if p["structure"] == path]
    if not rows:
        return figures
    sides = _sides(rows)
    first_map = q.names()[0]
    area_rows = [p for p in rows if p["map"] == first_map and int(p["erosion_voxels"]) == 0]
    if area_rows:
        series = []
        table = {}
        for s in sides:
            points = sorted((p["position_mm"], p["area_mm2"] / 100) for p in area_rows if p["side"] == s)
            series.append(Series(SIDE_LABEL[s] if s != "none" else "Area", *SIDE_STYLE[s], [x for x, _ in points],
                                 [y for _, y in points]))  # fmt: skip
            for x, y in points:
                table.setdefault(x, {})[s] = y
        largest = ", ".join(f"{SIDE_LABEL[s].lower() if s != 'none' else 'largest'} {fmt(max(r.ys))} cm²"
                            for s, r in zip(sides, series, strict=True) if r.ys)  # fmt: skip
        figure_title = f"Cross-sectional area along the {title.lower()}"
        figures.append(_line_figure(
            f"{ident}-area", figure_title,
            f"Area of the mask in each slice of the {NAMES.get(first_map, first_map).lower()} map against the slice "
            f"position (mm); largest: {largest}.",
            series, table, sides, "Slice position (mm)", "Area (cm²)", "Area (cm²)", zero=True,
        ))  # fmt: skip
    for index, name in enumerate(q.names()):
        chosen = [p for p in rows if p["map"] == name and int(p["erosion_voxels"]) == q.erosion]
        if not chosen:
            continue
        factor, unit = scale(name, q.unit(name))
        series, table = [], {}
        for s in sides:
            points = sorted((p["position_mm"], p["median"] * factor) for p in chosen if p["side"] == s)
            if not points:
                continue
            series.append(Series(SIDE_LABEL[s] if s != "none" else name, *SIDE_STYLE[s], [x for x, _ in points],
                                 [y for _, y in points]))  # fmt: skip
            for x, y in points:
                table.setdefault(x, {})[s] = y
        if not series:
            continue
        name_text = NAMES.get(name, name)
        axis = f"{SHORT.get(name, name)} ({unit})" if unit else SHORT.get(name, name)
        figure_title = f"{name_text} along the {title.lower()}, median per slice"
        figures.append(_line_figure(
            f"{ident}-profile-{index}", figure_title,
            f"Median {name_text.lower() if name != 'FA' else name_text} of the eroded mask in each slice against the "
            f"slice position (mm), {len(table)} slices.",
            series, table, [s for s in sides if any(r.label == (SIDE_LABEL[s] if s != 'none' else name) for r in series)],
            "Slice position (mm)", axis, f"Median {axis}",
        ))  # fmt: skip
    return figures


def _line_figure(ident: str, title: str, desc: str, series: list[Series], table: dict[float, dict[str, float]],
                 sides: list[str], xlabel: str, ylabel: str, column: str, zero: bool = False) -> dict:  # fmt: skip
    return {
        "id": ident,
        "title": title,
        "svg": line_svg(ident, title, desc, series, xlabel, ylabel, zero=zero),
        "table": {
            "caption": f"{title}: values per slice",
            "columns": [
                "Slice position (mm)",
                *(f"{column}, {SIDE_LABEL[s].lower()}" if s != "none" else column for s in sides),
            ],
            "rows": [[fmt(x, 4), *(fmt(values.get(s)) for s in sides)] for x, values in sorted(table.items())],
        },
    }


def surface_figure(q: Quantities, path: str, ident: str, title: str, stops: Sequence[tuple[float, str]]) -> dict | None:
    """The colour bar of the map turntable (the video itself is the writer's)."""
    info = q.surface_maps.get(path)
    if info is None:
        return None
    name, unit = info["quantity"], info["unit"]
    factor, shown = scale(name, unit)
    name_text = NAMES.get(name, name)
    label = f"{name_text} ({shown})" if shown else name_text
    low, high = round_number(info["low"] * factor), round_number(info["high"] * factor)
    bar_title = f"Colour scale: {label}"
    desc = (f"Colours from dark purple through blue and green to yellow ({info['colormap']}) for {label} from {low} "
            f"to {high}; lower values take the first colour, higher values the last; grey: no value.")  # fmt: skip
    return {
        "name": info["name"],
        "quantity": name_text,
        "label": label,
        "low": low,
        "high": high,
        "alt": f"{title} turning, its surface coloured by {name_text.lower() if name != 'FA' else name_text}",
        "bar": colour_bar_svg(f"{ident}-colour-bar", bar_title, desc, stops, info["low"], info["high"], label, factor),
    }


def region_table(q: Quantities, region_path: str, places: dict[str, list[str]], name_of: Callable[[str], str],
                 url_of: Callable[[str], str | None], region_name: str) -> dict | None:  # fmt: skip
    """Eroded medians per muscle and side under a region, in the sortable-table shape."""
    structures = sorted(q.structures())
    rows = []
    by_key = {(r["structure"], r["side"], r["map"]): r for r in q.rows if int(r["erosion_voxels"]) == q.erosion}
    names = q.names()
    for structure in structures:
        here = [p for p in places.get(structure, [structure]) if p == region_path or p.startswith(region_path + "/")]
        if not here:
            continue
        for side in _sides([r for r in q.rows if r["structure"] == structure]):
            row = [cell(name_of(structure), url=url_of(here[0])), cell(side)]
            for quantity in names:
                found = by_key.get((structure, side, quantity))
                factor, _ = scale(quantity, q.unit(quantity))
                value = found["median"] * factor if found and found["median"] is not None else None
                row.append(cell(fmt(value), "" if value is None else f"{value:.6g}"))
            rows.append(row)
    if not rows:
        return None
    eroded = q.erosion
    return {
        "caption": f"Quantitative MRI of the {region_name.lower()} muscles: median of each map after an in-plane "
                   f"erosion of {eroded} voxel{'s' if eroded != 1 else ''}",
        "columns": ["Structure", "Side", *(label_of(n, q.unit(n), short=True) for n in names)],
        "rows": rows,
    }  # fmt: skip


def methods(q: Quantities, data_url: Callable[[str], str], measures: bool) -> dict:
    """What the methods page lists: the maps used and the data files."""
    maps = []
    for info in q.maps:
        size = " × ".join(f"{v:g}" for v in info["voxel_size_mm"])
        shape = " × ".join(str(n) for n in info["shape"])
        maps.append({"name": label_of(info["name"], info["unit"]), "files": ", ".join(Path(f).name for f in info["files"]),
                     "grid": f"{shape} voxels of {size} mm", "kind": info["kind"]})  # fmt: skip
    files = [
        ("quantities.csv", "Statistics per structure, side, map and erosion (CSV)"),
        ("quantities.json", "The same statistics (JSON)"),
        ("profiles.csv", "Per-slice median and cross-sectional area (CSV)"),
        ("histograms.json", "Histograms of the eroded masks and the maps' grids (JSON)"),
    ]
    if measures:
        files += [("measures.csv", "Shape measurements per structure and side (CSV)"),
                  ("measures.json", "The same measurements (JSON)")]  # fmt: skip
    surface = next(iter(q.surface_maps.values()), None)
    return {
        "maps": maps,
        "erosion": q.erosion,
        "dti_order": ", ".join(q.dti_order) if q.dti_order and any(m["kind"] == "dti" for m in q.maps) else None,
        "has_dixon": any(m["kind"] == "dixon" for m in q.maps),
        "surface": _surface_scale(surface) if surface else None,
        "files": [{"url": data_url(DATA + name), "name": name, "label": label} for name, label in files],
    }


def _surface_scale(info: dict) -> dict:
    factor, unit = scale(info["quantity"], info["unit"])
    return {"quantity": NAMES.get(info["quantity"], info["quantity"]), "low": round_number(info["low"] * factor),
            "high": round_number(info["high"] * factor), "unit": unit, "colormap": info["colormap"]}  # fmt: skip


def downloads(data_url: Callable[[str], str]) -> list[dict]:
    return [
        {"label": "Quantitative MRI statistics, all structures (CSV)", "url": data_url(DATA + "quantities.csv"), "size": ""},
        {"label": "Per-slice profiles, all structures (CSV)", "url": data_url(DATA + "profiles.csv"), "size": ""},
    ]
