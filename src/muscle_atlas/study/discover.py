"""Find a study's segmentations: a BIDS-style folder or a CSV manifest.

BIDS-style folder::

    STUDY/participants.tsv                       participant_id, group, sex, age [, height, weight …]
    STUDY/dseg.tsv                               index, name (label table for every segmentation below)
    STUDY/sub-01/[ses-1/]anat/sub-01[_ses-1]_acq-T1w_dseg.nii.gz
    STUDY/sub-01/[ses-1/]anat/sub-01[_ses-1]_water.nii.gz  …   quantitative maps beside it

Label tables follow BIDS inheritance: a ``[entities_]dseg.tsv`` whose entities are all entities
of the segmentation applies to it; the nearest folder wins (the segmentation's own folder, then
each parent up to the study root), and in one folder the most specific name. Maps are found the
same way in the segmentation's folder, by suffix (:data:`MAP_SUFFIXES`).

Manifest (CSV, or TSV named ``.tsv``): one row per subject, session and acquisition; columns
``subject`` and ``segmentation`` (required), ``session``, ``acquisition``, ``labels``, map columns
``water`` and ``fat`` (Dixon), ``tensor`` (DTI) and ``map:NAME`` or ``map:NAME:UNIT`` (any scalar
map), and optional demographic columns ``group``, ``sex``, ``age``, ``height``, ``weight``. Paths are
relative to the manifest's folder; a ``participants.tsv`` beside it is read too (the manifest's
own demographic cells win).
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from muscle_atlas.sources.textfile import read_text
from muscle_atlas.study.model import Item, ItemMaps, Participant, ScalarMap, Study, StudyError, item_id, safe_label
from muscle_atlas.suffixes import NIFTI_SUFFIXES as NIFTI

SEGMENTATION_SUFFIX = "dseg"
# Suffix of a map file beside a segmentation → (quantity name, unit). Dixon (water + fat) and a
# diffusion tensor are recognised separately.
MAP_SUFFIXES: dict[str, tuple[str, str]] = {
    "T1map": ("T1", "ms"), "T2map": ("T2", "ms"), "T2starmap": ("T2star", "ms"), "R1map": ("R1", "1/s"),
    "R2map": ("R2", "1/s"), "R2starmap": ("R2star", "1/s"), "PDFF": ("PDFF", "%"), "MTRmap": ("MTR", "%"),
    "MTsat": ("MTsat", ""),
}  # fmt: skip
DIXON_SUFFIXES = ("water", "fat")
TENSOR_SUFFIX = "tensor"
DEMOGRAPHICS = ("group", "sex", "age", "height", "weight")
MAX_ITEMS = 100_000


# ---------------------------------------------------------------------------------------------
# BIDS names


def parse_bids_name(name: str) -> tuple[dict[str, str], str, str] | None:
    """``sub-01_acq-T1w_dseg.nii.gz`` → ({sub: 01, acq: T1w}, "dseg", ".nii.gz"); None if not BIDS-like."""
    extension = next((e for e in (*NIFTI, ".tsv", ".json", ".csv") if name.lower().endswith(e)), None)
    if extension is None:
        return None
    parts = name[: -len(extension)].split("_")
    suffix = parts[-1]
    entities: dict[str, str] = {}
    for part in parts[:-1]:
        key, dash, value = part.partition("-")
        if not dash or not key or not value:
            return None
        entities[key] = value
    return entities, suffix, extension


def _applies(candidate: dict[str, str], target: dict[str, str]) -> bool:
    return all(target.get(k) == v for k, v in candidate.items())


def inherited(
    path: Path, root: Path, suffix: str, extension: str, listings: dict[Path, list[Path]] | None = None,
) -> Path | None:  # fmt: skip
    """The nearest ``[entities_]SUFFIX.EXT`` file that applies to ``path`` (BIDS inheritance).
    ``listings``: each folder's candidates, kept between calls (the study root holds one folder per
    subject: listed once, not once per segmentation)."""
    parsed = parse_bids_name(path.name)
    entities = parsed[0] if parsed else {}
    folder = path.parent
    listings = {} if listings is None else listings
    while True:
        best: tuple[int, str, Path] | None = None
        if folder not in listings:
            listings[folder] = sorted(folder.glob(f"*{suffix}{extension}"))
        for candidate in listings[folder]:
            found = parse_bids_name(candidate.name)
            if found is None or found[1] != suffix or found[2] != extension or not candidate.is_file():
                continue
            if _applies(found[0], entities):
                rank = (len(found[0]), candidate.name, candidate)
                if best is None or rank[:2] > best[:2]:
                    best = rank
        if best is not None:
            return best[2]
        if folder == root or root not in folder.parents:
            return None
        folder = folder.parent


def _acquisition(entities: dict[str, str]) -> str:
    parts = [entities["acq"]] if "acq" in entities else []
    parts += [f"{k}-{v}" for k, v in entities.items() if k not in ("sub", "ses", "acq")]
    return "_".join(parts)


def maps_beside(segmentation: Path, entities: dict[str, str], notes: list[str]) -> ItemMaps:
    """Maps in the segmentation's folder whose entities all belong to the segmentation."""
    found: dict[str, Path] = {}
    for candidate in sorted(segmentation.parent.iterdir()):
        parsed = parse_bids_name(candidate.name)
        if parsed is None or parsed[2] not in NIFTI or parsed[1] == SEGMENTATION_SUFFIX or not _applies(parsed[0], entities):
            continue
        suffix = parsed[1]
        if suffix in MAP_SUFFIXES or suffix in DIXON_SUFFIXES or suffix == TENSOR_SUFFIX:
            previous = found.get(suffix)
            if previous is None or len(parse_bids_name(previous.name)[0]) < len(parsed[0]):  # type: ignore[index]
                found[suffix] = candidate
    dixon = None
    if "water" in found and "fat" in found:
        dixon = (str(found["water"]), str(found["fat"]))
    elif "water" in found or "fat" in found:
        lone = found.get("water") or found.get("fat")
        notes.append(f"{lone}: a Dixon {'water' if 'water' in found else 'fat'} image without its partner; not used")
    scalars = tuple(ScalarMap(MAP_SUFFIXES[s][0], str(p), MAP_SUFFIXES[s][1]) for s, p in found.items() if s in MAP_SUFFIXES)
    tensor = found.get(TENSOR_SUFFIX)
    return ItemMaps(dixon=dixon, dti=str(tensor) if tensor else None, scalars=scalars)


def discover_folder(root: Path) -> Study:
    root = root.resolve()
    if not root.is_dir():
        raise StudyError("no such study folder", root)
    notes: list[str] = []
    items: list[Item] = []
    patterns = [f"sub-*/anat/*_{SEGMENTATION_SUFFIX}{e}" for e in NIFTI]
    patterns += [f"sub-*/ses-*/anat/*_{SEGMENTATION_SUFFIX}{e}" for e in NIFTI]
    files = sorted({p for pattern in patterns for p in root.glob(pattern) if p.is_file()})
    if not files:
        raise StudyError("no segmentations found (expected sub-<id>/[ses-<id>/]anat/*_dseg.nii.gz)", root)
    seen: dict[str, Path] = {}
    listings: dict[Path, list[Path]] = {}
    for path in files[:MAX_ITEMS]:
        parsed = parse_bids_name(path.name)
        folder_subject = next(p for p in path.relative_to(root).parts if p.startswith("sub-"))[4:]
        if parsed is None:
            notes.append(f"{path}: not a BIDS name (sub-<id>_…_dseg.nii.gz); skipped")
            continue
        entities = parsed[0]
        subject = entities.get("sub", folder_subject)
        if subject != folder_subject:
            notes.append(f"{path}: names subject {subject} inside sub-{folder_subject}/; skipped")
            continue
        session = entities.get("ses", "")
        acquisition = _acquisition(entities)
        table = inherited(path, root, SEGMENTATION_SUFFIX, ".tsv", listings)
        item = Item(
            id=item_id(subject, session, acquisition), subject=subject, session=session, acquisition=acquisition,
            segmentation=str(path), labels=str(table) if table else None, maps=maps_beside(path, entities, notes),
            origin=str(path.relative_to(root)),
        )  # fmt: skip
        if item.id in seen:
            raise StudyError(f"two segmentations for {item.id}: {seen[item.id].name} and {path.name}", path.parent)
        seen[item.id] = path
        if table is None:
            notes.append(f"{path}: no dseg.tsv applies; labels are matched by their values only")
        items.append(item)
    participants = read_participants(root / "participants.tsv") if (root / "participants.tsv").is_file() else {}
    if not participants:
        notes.append(f"{root / 'participants.tsv'}: not found; no groups or demographics")
    return Study(str(root), str(root), items, participants, notes)


# ---------------------------------------------------------------------------------------------
# participants.tsv


def _number(text: str) -> float | None:
    try:
        value = float(text.strip())
    except ValueError:
        return None
    return value if value == value and abs(value) != float("inf") else None


def read_participants(path: Path) -> dict[str, Participant]:
    """participant_id, group, sex, age, and optional height (m, or cm when above 3) and weight (kg)."""
    text = read_text(path, StudyError, "participants table")
    rows = _rows(text, "\t" if path.suffix.lower() == ".tsv" else ",", path)
    if not rows:
        return {}
    header = [h.strip().lower() for h in rows[0]]
    if "participant_id" not in header:
        raise StudyError("the header must name a participant_id column", path)
    people: dict[str, Participant] = {}
    for number, cells in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in cells):
            continue
        row = {h: (cells[i].strip() if i < len(cells) else "") for i, h in enumerate(header)}
        subject = row["participant_id"].removeprefix("sub-")
        if not subject:
            raise StudyError(f"line {number}: empty participant_id", path)
        people[subject] = _participant(subject, row, f"{path}, line {number}")
    return people


def _participant(subject: str, row: dict[str, str], where: str) -> Participant:
    def na(text: str) -> str:
        return "" if text.lower() in ("n/a", "na", "nan", "") else text

    height = _number(row.get("height", "")) if na(row.get("height", "")) else None
    weight = _number(row.get("weight", "")) if na(row.get("weight", "")) else None
    if na(row.get("height", "")) and height is None:
        raise StudyError(f"height {row['height']!r} is not a number", where)
    if na(row.get("weight", "")) and weight is None:
        raise StudyError(f"weight {row['weight']!r} is not a number", where)
    if height is not None and height > 3:  # centimetres
        height /= 100
    skip = (*DEMOGRAPHICS, "participant_id", "subject")
    extra = {k: v for k, v in row.items() if k not in skip and not k.startswith("map:")}
    return Participant(subject, na(row.get("group", "")), na(row.get("sex", "")), na(row.get("age", "")),
                       height if height and height > 0 else None, weight if weight and weight > 0 else None,
                       {k: v for k, v in extra.items() if k not in _MANIFEST_COLUMNS})  # fmt: skip


def _rows(text: str, delimiter: str, path: Path) -> list[list[str]]:
    try:
        reader = csv.reader(io.StringIO(text, newline=None), delimiter=delimiter)
        return [r for r in reader if r and not r[0].startswith("#")]
    except csv.Error as exc:
        raise StudyError(f"not a valid table ({exc})", path) from exc


# ---------------------------------------------------------------------------------------------
# Manifest

_MANIFEST_COLUMNS = ("subject", "session", "acquisition", "segmentation", "labels", "water", "fat", "tensor")
_MAP_COLUMN = re.compile(r"^map:([A-Za-z][A-Za-z0-9_.-]*)(?::(.*))?$")


def discover_manifest(path: Path) -> Study:
    path = path.resolve()
    if not path.is_file():
        raise StudyError("no such manifest", path)
    text = read_text(path, StudyError, "study manifest (CSV)")
    rows = _rows(text, "\t" if path.suffix.lower() == ".tsv" else ",", path)
    if not rows:
        raise StudyError("empty manifest", path)
    header = [h.strip() for h in rows[0]]
    lower = [h.lower() for h in header]
    missing = [c for c in ("subject", "segmentation") if c not in lower]
    if missing:
        raise StudyError(f"the header must name the column(s) {', '.join(missing)} (found {', '.join(header)[:120]})", path)
    maps_columns = {i: _MAP_COLUMN.match(h) for i, h in enumerate(header) if _MAP_COLUMN.match(h)}
    folder = path.parent
    participants = read_participants(folder / "participants.tsv") if (folder / "participants.tsv").is_file() else {}
    items: list[Item] = []
    seen: dict[str, int] = {}
    notes: list[str] = []

    def file(value: str, column: str, number: int, required: bool = False) -> str | None:
        if not value:
            if required:
                raise StudyError(f"line {number}: empty {column}", path)
            return None
        resolved = Path(value) if Path(value).is_absolute() else folder / value
        if not resolved.exists():
            raise StudyError(f"line {number}, {column}: no such file: {value}", path)
        return str(resolved.resolve())

    for number, cells in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in cells):
            continue
        if number > MAX_ITEMS:
            raise StudyError(f"more than {MAX_ITEMS} rows", path)
        row = {lower[i]: (cells[i].strip() if i < len(cells) else "") for i in range(len(header))}
        subject = row["subject"].removeprefix("sub-")
        if not subject:
            raise StudyError(f"line {number}: empty subject", path)
        session = row.get("session", "").removeprefix("ses-")
        acquisition = row.get("acquisition", "").removeprefix("acq-")
        water, fat = file(row.get("water", ""), "water", number), file(row.get("fat", ""), "fat", number)
        if (water is None) != (fat is None):
            raise StudyError(f"line {number}: give both water and fat (Dixon), or neither", path)
        scalars = []
        for index, match in maps_columns.items():
            value = cells[index].strip() if index < len(cells) else ""
            found = file(value, header[index], number)
            if found is not None:
                scalars.append(ScalarMap(match.group(1), found, (match.group(2) or "").strip()))
        maps = ItemMaps(dixon=(water, fat) if water and fat else None, dti=file(row.get("tensor", ""), "tensor", number),
                        scalars=tuple(scalars))  # fmt: skip
        item = Item(
            id=item_id(subject, session, acquisition), subject=safe_label(subject), session=session,
            acquisition=acquisition, segmentation=file(row["segmentation"], "segmentation", number, True) or "",
            labels=file(row.get("labels", ""), "labels", number), maps=maps, origin=f"{path.name}, line {number}",
        )  # fmt: skip
        if item.id in seen:
            raise StudyError(f"line {number}: {item.id} is also on line {seen[item.id]} (give each repeat its own "
                             "acquisition)", path)  # fmt: skip
        seen[item.id] = number
        items.append(item)
        if any(row.get(c) for c in DEMOGRAPHICS):
            known = participants.get(item.subject)
            merged = {"group": known.group, "sex": known.sex, "age": known.age} if known else {}
            merged.update({c: row[c] for c in DEMOGRAPHICS if row.get(c)})
            participant = _participant(item.subject, merged, f"{path}, line {number}")
            if known is not None:
                participant.height_m = participant.height_m or known.height_m
                participant.weight_kg = participant.weight_kg or known.weight_kg
                participant.extra = {**known.extra, **participant.extra}
            participants[item.subject] = participant
    if not items:
        raise StudyError("no rows", path)
    return Study(str(folder), str(path), items, participants, notes)


def discover(source: str | Path) -> Study:
    """A study folder or a manifest file (``.csv``/``.tsv``)."""
    path = Path(source)
    if path.is_file():
        return discover_manifest(path)
    if not path.exists():
        raise StudyError("no such study folder or manifest", path)
    return discover_folder(path)
