"""Label tables: which integer in a label volume means which structure.

Formats are recognised by content, not by extension: ITK-SNAP label description files,
3D Slicer colour tables, FreeSurfer LUTs, TSV/CSV with label and name columns, Muscle-BIDS
JSON sidecars with a ``Labels`` array, and the TotalSegmentator class maps shipped with the
package (``totalsegmentator:<task>``).

No maintained library reads all of these (nibabel reads only FreeSurfer's LUT, and none reads
ITK-SNAP's), and each format is a few lines per row, so the parsers are written here.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from muscle_atlas.errors import LabelTableError
from muscle_atlas.sources.textfile import read_text, shorten

TOTALSEGMENTATOR_PREFIX = "totalsegmentator:"
MAX_ENTRIES = 10_000  # FreeSurfer's LUT, the largest table in use, has about 1,400
MAX_NAME = 256  # characters; longer "names" are data, not labels
LABEL_RANGE = (-(2**31), 2**31 - 1)  # what a NIfTI integer label volume can hold
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")  # line breaks, tabs, escapes

Color = tuple[int, int, int]


@dataclass(frozen=True)
class LabelEntry:
    """One row of a label table."""

    value: int
    name: str
    color: Color | None = None
    opacity: float | None = None
    visible: bool = True


@dataclass
class LabelTable:
    """Label value → entry, with where it came from and its format."""

    source: str
    format: str
    entries: dict[int, LabelEntry] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def name(self, value: int) -> str | None:
        entry = self.entries.get(value)
        return entry.name if entry else None

    def __len__(self) -> int:
        return len(self.entries)


# ---------------------------------------------------------------------------------------------
# Public entry point


def totalsegmentator_tasks() -> list[str]:
    """Names of the TotalSegmentator class maps shipped as package data."""
    folder = resources.files("muscle_atlas.sources") / "totalsegmentator"
    return sorted(p.name[: -len(".tsv")] for p in folder.iterdir() if p.name.endswith(".tsv"))


def read_label_table(spec: str | Path) -> LabelTable:
    """Read a label table from a path or a ``totalsegmentator:<task>`` name."""
    text_spec = str(spec)
    if text_spec.startswith(TOTALSEGMENTATOR_PREFIX):
        task = text_spec[len(TOTALSEGMENTATOR_PREFIX) :]
        if task not in totalsegmentator_tasks():
            raise LabelTableError(
                f"unknown TotalSegmentator task {task!r} (known: {', '.join(totalsegmentator_tasks())})",
                text_spec,
            )
        resource = resources.files("muscle_atlas.sources") / "totalsegmentator" / f"{task}.tsv"
        table = _parse_delimited(resource.read_text(encoding="utf-8"), text_spec)
        table.format = "totalsegmentator"
        return table

    path = Path(spec)
    if not path.exists():
        raise LabelTableError("no such file", path)
    if path.is_dir():
        raise LabelTableError("is a folder, not a label table", path)
    text = read_text(path, LabelTableError, "label table")
    if not text.strip():
        raise LabelTableError("empty label table", path)
    return parse_label_table(text, str(path))


def parse_label_table(text: str, source: str) -> LabelTable:
    """Detect the format of ``text`` and parse it."""
    kind = detect_format(text)
    if kind == "json":
        table = _parse_json(text, source)
    elif kind == "itksnap":
        table = _parse_itksnap(text, source)
    elif kind in ("slicer", "freesurfer"):
        table = _parse_colortable(text, source, kind)
    elif kind == "delimited":
        table = _parse_delimited(text, source)
    else:
        raise LabelTableError(
            "not a label table (expected ITK-SNAP, 3D Slicer, FreeSurfer LUT, TSV/CSV or Muscle-BIDS JSON)",
            source,
        )
    if not table.entries:
        raise LabelTableError("label table has no entries", source)
    if len(table.entries) > MAX_ENTRIES:
        raise LabelTableError(f"{len(table.entries)} entries: more than any label table has ({MAX_ENTRIES})", source)
    return table


# ---------------------------------------------------------------------------------------------
# Format detection

_ITKSNAP_ROW = re.compile(r"^\s*-?\d+(\s+[-+.\deE]+){6}\s+\".*\"\s*$")
_COLORTABLE_ROW = re.compile(r"^\s*\d+\s+\S+\s+\d+\s+\d+\s+\d+(\s+\d+)?\s*$")


def _content_lines(text: str) -> list[tuple[int, str]]:
    return [
        (number, line)
        for number, line in enumerate(text.splitlines(), start=1)
        if line.strip() and not line.lstrip().startswith("#")
    ]


def detect_format(text: str) -> str:
    stripped = text.lstrip()
    if stripped.startswith("{") or stripped.startswith("["):
        return "json"
    lowered = text.lower()
    if "itk-snap label description" in lowered:
        return "itksnap"
    lines = _content_lines(text)
    if not lines:
        return "unknown"
    first = lines[0][1]
    if _ITKSNAP_ROW.match(first):
        return "itksnap"
    if "\t" in first or "," in first or ";" in first:
        return "delimited"
    if _COLORTABLE_ROW.match(first):
        if "freesurfer" in lowered or "#no. label name" in lowered.replace("  ", " "):
            return "freesurfer"
        return "slicer"
    return "unknown"


# ---------------------------------------------------------------------------------------------
# Parsers


def _bad_line(source: str, number: int, problem: str) -> LabelTableError:
    return LabelTableError(f"line {number}: {problem}", source)


def _add(table: LabelTable, entry: LabelEntry, number: int) -> None:
    if not LABEL_RANGE[0] <= entry.value <= LABEL_RANGE[1]:
        raise _bad_line(table.source, number, f"label value {shorten(str(entry.value))} is out of range")
    if not entry.name.strip():
        raise _bad_line(table.source, number, "empty name")
    if len(entry.name) > MAX_NAME:
        raise _bad_line(table.source, number, f"name longer than {MAX_NAME} characters")
    if _CONTROL.search(entry.name):
        raise _bad_line(table.source, number, f"name {shorten(entry.name)} holds a line break or control character")
    if entry.value in table.entries:
        raise _bad_line(table.source, number, f"label {entry.value} is defined twice")
    table.entries[entry.value] = entry


def _integer(text: str) -> int:
    """An integer written as ``12`` or ``12.0``; ValueError for anything else (inf and nan too)."""
    try:
        return int(text)
    except ValueError:
        value = float(text)
        if not math.isfinite(value) or value != int(value):
            raise ValueError(text) from None
        return int(value)


def _color(values: list[str], source: str, number: int) -> Color:
    try:
        rgb = tuple(int(float(v)) for v in values)
    except (ValueError, OverflowError) as exc:
        raise _bad_line(source, number, f"colour {shorten(' '.join(values))} is not three numbers") from exc
    if any(not 0 <= c <= 255 for c in rgb):
        raise _bad_line(source, number, f"colour {shorten(' '.join(values))} outside 0..255")
    return rgb  # type: ignore[return-value]


_ITKSNAP_FIELDS = re.compile(r'^\s*(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+"([^"]*)("?)(.*)$')


def _parse_itksnap(text: str, source: str) -> LabelTable:
    """``IDX R G B A VIS MSH "LABEL"``; A is opacity 0..1 (ITK-SNAP calls it transparency).

    Like ITK-SNAP itself, a label whose closing quote is missing runs to the end of the line
    and a comment after the closing quote is ignored; both are reported as warnings."""
    table = LabelTable(source, "itksnap")
    for number, line in _content_lines(text):
        match = _ITKSNAP_FIELDS.match(line)
        if match is None:
            fields = len(line.split())
            raise _bad_line(
                source,
                number,
                f'expected IDX R G B A VIS MSH "LABEL", got {fields} fields without a quoted label',
            )
        parts = match.groups()
        label, closed, rest = parts[7], parts[8], parts[9].strip()
        if not closed:
            table.warnings.append(f"line {number}: label has no closing quote")
            label = label.rstrip()
        elif rest and not rest.startswith("#"):
            raise _bad_line(source, number, f"unexpected text after the label: {shorten(rest)}")
        elif rest:
            table.warnings.append(f"line {number}: comment after the label ignored")
        try:
            value = int(parts[0])
            opacity, shown = float(parts[4]), float(parts[5])
            if not (math.isfinite(opacity) and math.isfinite(shown)):
                raise ValueError(parts[4])
            visible = int(shown) != 0
        except ValueError as exc:
            raise _bad_line(source, number, "IDX, A and VIS must be numbers") from exc
        if value == 0:
            continue  # the background ("Clear Label")
        _add(
            table,
            LabelEntry(value, label.strip(), _color(list(parts[1:4]), source, number), opacity, visible),
            number,
        )
    return table


def _parse_colortable(text: str, source: str, kind: str) -> LabelTable:
    """3D Slicer ``.ctbl`` and FreeSurfer LUT: ``value name R G B A``.

    Slicer's A is opacity 0..255; FreeSurfer's is transparency (0 = opaque)."""
    table = LabelTable(source, kind)
    for number, line in _content_lines(text):
        parts = line.split()
        if len(parts) not in (5, 6):
            raise _bad_line(source, number, f"expected 'value name R G B A', got {len(parts)} fields")
        try:
            value = int(parts[0])
        except ValueError as exc:
            raise _bad_line(source, number, f"label value {shorten(parts[0])} is not an integer") from exc
        alpha = 255 if kind == "slicer" else 0
        if len(parts) == 6:
            try:
                alpha = int(parts[5])
            except ValueError as exc:
                raise _bad_line(source, number, f"alpha {shorten(parts[5])} is not an integer") from exc
        opacity = alpha / 255 if kind == "slicer" else 1 - alpha / 255
        if value == 0:
            continue
        _add(table, LabelEntry(value, parts[1], _color(parts[2:5], source, number), opacity), number)
    return table


_VALUE_COLUMNS = ("label", "value", "index", "idx", "id", "label_value", "labelvalue")
_NAME_COLUMNS = ("name", "label_name", "labelname", "structure", "description", "abbreviation")


def _parse_delimited(text: str, source: str) -> LabelTable:
    """TSV/CSV with a header naming a label column and a name column."""
    table = LabelTable(source, "tsv" if "\t" in text.splitlines()[0] else "csv")
    # The sniffer's regular expressions are quadratic in the line length: a bounded sample.
    sample = "\n".join(text.splitlines()[:5])[:4096]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters="\t,;")
    except csv.Error:
        dialect = csv.excel_tab if "\t" in sample else csv.excel  # type: ignore[assignment]
    reader = csv.reader(io.StringIO(text, newline=None), dialect)
    header: list[str] | None = None
    value_col = name_col = -1
    color_cols: list[int] = []
    number = 0
    try:
        for number, row in enumerate(reader, start=1):
            if not row or not "".join(row).strip() or row[0].lstrip().startswith("#"):
                continue
            cells = [c.strip() for c in row]
            if header is None:
                header = [c.lower() for c in cells]
                value_col = next((header.index(c) for c in _VALUE_COLUMNS if c in header), -1)
                name_col = next((header.index(c) for c in _NAME_COLUMNS if c in header), -1)
                if value_col < 0 or name_col < 0:
                    raise _bad_line(
                        source,
                        number,
                        "header must name a label column (label/value/index) and a "
                        f"name column (name/structure); found {shorten(', '.join(cells), 80)}",
                    )
                color_cols = [header.index(c) for c in ("r", "g", "b") if c in header]
                continue
            if len(cells) <= max(value_col, name_col):
                raise _bad_line(source, number, f"expected at least {max(value_col, name_col) + 1} columns")
            try:
                value = _integer(cells[value_col])
            except ValueError as exc:
                raise _bad_line(source, number, f"label value {shorten(cells[value_col])} is not an integer") from exc
            if not cells[name_col]:
                raise _bad_line(source, number, "empty name")
            has_color = len(color_cols) == 3 and max(color_cols) < len(cells) and all(cells[i] for i in color_cols)
            color = _color([cells[i] for i in color_cols], source, number) if has_color else None
            if value == 0:
                continue
            _add(table, LabelEntry(value, cells[name_col], color), number)
    except csv.Error as exc:
        raise _bad_line(source, reader.line_num or number, f"not a valid {table.format.upper()} row ({exc})") from exc
    return table


def _parse_json(text: str, source: str) -> LabelTable:
    """Muscle-BIDS sidecar: ``{"Labels": [{"Value"|"Label"|"Index": 1, "Name": "..."}]}``.

    Also accepted: ``{"Labels": {"1": "name"}}`` and a bare list or mapping."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LabelTableError(f"line {exc.lineno}: invalid JSON ({exc.msg})", source) from exc
    except RecursionError as exc:
        raise LabelTableError("invalid JSON (nested too deeply)", source) from exc
    labels = data.get("Labels", data.get("labels")) if isinstance(data, dict) else data
    if labels is None:
        raise LabelTableError("JSON sidecar has no 'Labels' array", source)
    table = LabelTable(source, "json")
    items: list[tuple[object, object, dict]]
    if isinstance(labels, dict):
        items = [(k, v, {}) for k, v in labels.items()]
    elif isinstance(labels, list):
        items = []
        for i, item in enumerate(labels, start=1):
            if not isinstance(item, dict):
                raise LabelTableError(f"Labels[{i}] is not an object", source)
            lowered = {str(k).lower(): v for k, v in item.items()}
            value = next((lowered[k] for k in ("value", "label", "index", "id") if k in lowered), None)
            name = next((lowered[k] for k in ("name", "labelname", "description") if k in lowered), None)
            items.append((value, name, lowered))
    else:
        raise LabelTableError("'Labels' must be an array or an object", source)
    for i, (value, name, extra) in enumerate(items, start=1):
        try:
            number = _integer(value) if isinstance(value, str) else int(value)  # type: ignore[arg-type]
            if isinstance(value, float) and number != value:
                raise ValueError(value)
        except (TypeError, ValueError, OverflowError) as exc:
            echo = shorten(value) if isinstance(value, str) else repr(value)[:40]
            raise LabelTableError(f"Labels[{i}]: label value {echo} is not an integer", source) from exc
        if not LABEL_RANGE[0] <= number <= LABEL_RANGE[1]:
            raise LabelTableError(f"Labels[{i}]: label value {shorten(str(number))} is out of range", source)
        if isinstance(name, str) and len(name) > MAX_NAME:
            raise LabelTableError(f"Labels[{i}]: name longer than {MAX_NAME} characters", source)
        if isinstance(name, str) and _CONTROL.search(name.strip()):
            raise LabelTableError(f"Labels[{i}]: name {shorten(name)} holds a line break or control character", source)
        if not isinstance(name, str) or not name.strip():
            raise LabelTableError(f"Labels[{i}]: missing name", source)
        color = None
        raw_color = extra.get("color") or extra.get("colour")
        if isinstance(raw_color, list) and len(raw_color) >= 3:
            color = _color([str(c) for c in raw_color[:3]], source, i)
        if number == 0:
            continue
        if number in table.entries:
            raise LabelTableError(f"Labels[{i}]: label {number} is defined twice", source)
        table.entries[number] = LabelEntry(number, name.strip(), color)
    return table
