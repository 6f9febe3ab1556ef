"""From per-segmentation results to the study: the tidy table, reference statistics, z-scores,
group comparisons and quality-control findings.

Units of analysis. Every segmentation (subject, session, acquisition) is a row of the tidy table
and gets its z-scores. Group statistics need one value per subject: a subject's value is the mean
over the acquisitions of its first session (repeat acquisitions are compared on the subject's
page, not counted twice). Group plots and tests use the mean of both legs (or the one leg there
is); z-scores are per side, against the reference group's subjects' values of the same side.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

import numpy as np

from muscle_atlas.study import groupstats as stats
from muscle_atlas.study.keyed import KeyedValues
from muscle_atlas.study.model import Participant, Study

SIDE_ORDER = ("left", "right", "none")
LEGS = "legs"  # the mean of both legs, for group analyses
LR_RANGE = (0.67, 1.5)  # a left/right volume ratio outside this is a QC finding
TIDY_COLUMNS = (
    "subject", "session", "acquisition", "item", "group", "sex", "age", "structure", "muscle", "side", "measure",
    "statistic", "erosion_voxels", "value", "unit", "z", "robust_z", "slice_mm", "slices_total",
)  # fmt: skip


@dataclass(frozen=True)
class Variable:
    key: str
    measure: str
    statistic: str
    erosion: int | None
    label: str
    unit: str
    z: bool  # z-scored against the reference group
    group: bool  # shown with group plots on muscle pages


GEOMETRY = (
    Variable("volume", "volume", "", None, "Volume", "mL", True, True),
    Variable("max_csa", "max_csa", "", None, "Maximal cross-sectional area", "cm²", True, True),
    Variable("volume_per_height_mass", "volume_per_height_mass", "", None, "Volume / (height × mass)", "mL/(m·kg)",
             True, True),
    Variable("slices", "slices", "", None, "Slices covered", "", False, False),
    Variable("voxels", "voxels", "", None, "Voxels", "", False, False),
    Variable("pieces", "pieces", "", None, "Pieces", "", False, False),
    Variable("specks", "specks", "", None, "Specks (below 1 % of the voxels)", "", False, False),
)  # fmt: skip
TABLE_BATCH = 50_000  # tidy rows written to the Parquet file at a time
QUANTITY_STATISTICS = ("mean", "median", "sd", "p25", "p75", "n_voxels", "coverage")


@dataclass
class Finding:
    item: str
    kind: str  # outlier | ratio | missing | pieces
    structure: str
    side: str
    text: str


@dataclass
class StudyData:
    study: Study
    reference_group: str
    results: Mapping[str, dict]  # item id → successful task result (read from disk: a ResultTable's view)
    failures: dict[str, dict]  # item id → failed result
    variables: list[Variable] = field(default_factory=list)
    structures: dict[str, dict] = field(default_factory=dict)  # path → name, code, sides
    # (item, path, side, var) → value, and the others alike: dict-like, stored compactly (KeyedValues)
    values: KeyedValues = field(default_factory=KeyedValues)  # (item, path, side, var)
    subject_values: KeyedValues = field(default_factory=KeyedValues)  # (subject, path, side, var)
    subject_items: dict[str, list[str]] = field(default_factory=dict)  # subject → the items averaged
    reference: dict[tuple[str, str, str], stats.Describe] = field(default_factory=dict)  # (path, side, var)
    z: KeyedValues = field(default_factory=KeyedValues)
    robust: KeyedValues = field(default_factory=KeyedValues)
    findings: list[Finding] = field(default_factory=list)
    _by_subject: dict[str, list[str]] = field(default_factory=dict, repr=False)  # subject → item ids
    _subjects: list[str] | None = field(default=None, repr=False)

    @property
    def rows(self) -> list[dict]:
        """The tidy table's rows (made on demand: :func:`tidy_rows` gives them one at a time)."""
        return list(tidy_rows(self))

    def participant(self, subject: str) -> Participant:
        return self.study.participants.get(subject) or Participant(subject)

    def group_of(self, subject: str) -> str:
        return self.participant(subject).group or "n/a"

    def items_of(self, subject: str) -> list[dict]:
        if not self._by_subject:
            subject_of = {i.id: i.subject for i in self.study.items}
            for item in self.results:  # the results stay on disk: their subjects are the study's items'
                self._by_subject.setdefault(subject_of.get(item) or self.results[item]["item"]["subject"], []).append(item)
        return [self.results[i] for i in self._by_subject.get(subject, [])]

    def groups(self) -> list[str]:
        """Groups with subjects, the reference first."""
        found = sorted({self.group_of(s) for s in self.subjects()})
        return sorted(found, key=lambda g: (g != self.reference_group, g == "n/a", g))

    def subjects(self) -> list[str]:
        if self._subjects is None:  # made once: the results are read from disk
            self.items_of("")
            self._subjects = sorted(set(self._by_subject) | {f["item"]["subject"] for f in self.failures.values()})
        return list(self._subjects)

    def variable(self, key: str) -> Variable:
        return next(v for v in self.variables if v.key == key)

    def group_values(self, path: str, var: str, side: str = LEGS) -> dict[str, list[tuple[str, float]]]:
        """Group → [(subject, value)] of the per-subject values."""
        out: dict[str, list[tuple[str, float]]] = defaultdict(list)
        for subject in self.subject_items:
            value = self.subject_values.get((subject, path, side, var))
            if value is not None:
                out[self.group_of(subject)].append((subject, value))
        return out


def _number(value: object) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def aggregate(study: Study, results: Mapping[str, dict], reference_group: str) -> StudyData:
    """``results``: item id → result, a dict or a :class:`~muscle_atlas.study.results.ResultTable`
    (then the results stay on disk and are read one at a time)."""
    from muscle_atlas.study.results import ResultTable

    if isinstance(results, ResultTable):
        ok: Mapping[str, dict] = results.view(results.ok_ids())
        failed = results.failed()
    else:
        ok = {k: r for k, r in results.items() if r.get("ok")}
        failed = {k: r for k, r in results.items() if not r.get("ok")}
    data = StudyData(study, reference_group, ok, failed)
    quantity_vars: dict[str, Variable] = {}
    for result in ok.values():
        item, subject = result["id"], result["item"]["subject"]
        person = data.participant(subject)
        row: dict[tuple, float] = {}  # (path, side, var) → value: the item's, set at once
        for s in result["structures"]:
            entry = data.structures.setdefault(s["path"], {"name": s["name"], "code": s["code"], "sides": set()})
            if not s["voxels"]:
                continue
            entry["sides"].add(s["side"])
            key = (s["path"], s["side"])
            row[(*key, "volume")] = s["volume_ml"]
            row[(*key, "max_csa")] = s["max_csa_cm2"]
            row[(*key, "slices")] = s["slices"]
            row[(*key, "voxels")] = s["voxels"]
            row[(*key, "pieces")] = s["pieces"]
            row[(*key, "specks")] = s["specks"]
            if person.height_m and person.weight_kg:
                row[(*key, "volume_per_height_mass")] = s["volume_ml"] / (person.height_m * person.weight_kg)
        units = {m["name"]: m["unit"] for m in result.get("maps", [])}
        for q in result.get("quantities", []):
            erosion = int(q["erosion_voxels"])
            for statistic in QUANTITY_STATISTICS:
                value = _number(q.get(statistic))
                if value is None:
                    continue
                var = f"{q['map']}:{statistic}:{erosion}"
                if var not in quantity_vars:
                    unit = "" if statistic in ("n_voxels", "coverage") else units.get(q["map"], q.get("unit") or "")
                    from muscle_atlas.web.format import NAMES

                    name = NAMES.get(q["map"], q["map"])
                    eroded = f"eroded {erosion} voxel{'s' if erosion != 1 else ''}" if erosion else "raw"
                    label = f"{name}, median" if statistic == "median" and erosion else f"{name}, {statistic}, {eroded}"
                    quantity_vars[var] = Variable(
                        var, q["map"], statistic, erosion, label, unit,
                        statistic in ("mean", "median"), statistic == "median" and erosion > 0,
                    )  # fmt: skip
                row[(q["structure"], q["side"], var)] = value
        data.values.set_row(item, row)
    _, columns, block = data.values.frame()
    present = {column[2] for column, given in zip(columns, (~np.isnan(block)).any(axis=0).tolist(), strict=True) if given}
    data.variables = [v for v in GEOMETRY if v.key in present] + [quantity_vars[k] for k in sorted(quantity_vars)]
    _subject_values(data)
    _reference(data)
    _robust(data)
    _findings(data)
    return data


def _first_session_items(data: StudyData) -> dict[str, list[str]]:
    by_subject: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for result in data.results.values():
        item = result["item"]
        by_subject[item["subject"]][item["session"]].append(result["id"])
    return {s: sorted(sessions[min(sessions)]) for s, sessions in by_subject.items()}


def _subject_values(data: StudyData) -> None:
    """A subject's value: the mean over the items of its first session; and the mean of its sides."""
    data.subject_items = _first_session_items(data)
    rows, columns, block = data.values.frame()
    index = {item: r for r, item in enumerate(rows)}
    subjects = list(data.subject_items)
    means = np.full((len(subjects), len(columns)), np.nan)
    with np.errstate(all="ignore"):
        for s, subject in enumerate(subjects):
            picked = block[[index[i] for i in data.subject_items[subject] if i in index]]
            if len(picked) == 1:
                means[s] = picked[0]
            elif len(picked):
                given = ~np.isnan(picked)
                means[s] = np.where(given, picked, 0).sum(axis=0) / given.sum(axis=0)
    if not subjects or not columns:
        return
    data.subject_values.set_block(subjects, columns, means)
    sides: dict[tuple[str, str], list[int]] = defaultdict(list)
    for c, (path, _side, var) in enumerate(columns):
        sides[(path, var)].append(c)
    legs = list(sides)
    with np.errstate(all="ignore"):
        pooled = np.stack([_nanmean(means[:, sides[key]]) for key in legs], axis=1)
    data.subject_values.set_block(subjects, [(path, LEGS, var) for path, var in legs], pooled)


def _nanmean(block):
    given = ~np.isnan(block)
    count = given.sum(axis=1)
    return np.where(count > 0, np.where(given, block, 0).sum(axis=1) / np.maximum(count, 1), np.nan)


def _reference(data: StudyData) -> None:
    subjects, columns, block = data.subject_values.frame()
    reference = [r for r, s in enumerate(subjects) if data.group_of(s) == data.reference_group]
    picked = block[reference]
    data.reference = {}
    for c, column in enumerate(columns):
        values = picked[:, c]
        values = values[~np.isnan(values)]
        if values.size:
            data.reference[column] = stats.describe(values.tolist())
    # z = (value − reference mean) / reference SD (stats.z_score), a column at a time
    zable = {v.key for v in data.variables if v.z}
    items, columns, block = data.values.frame()
    scored = [c for c, column in enumerate(columns) if column[2] in zable and (ref := data.reference.get(column))
              and ref.mean is not None and ref.sd]  # fmt: skip
    if items and scored:
        means = np.array([data.reference[columns[c]].mean for c in scored])
        sds = np.array([data.reference[columns[c]].sd for c in scored])
        data.z.set_block(list(items), [columns[c] for c in scored], (block[:, scored] - means) / sds)


def _robust(data: StudyData) -> None:
    """Robust z-scores of volume and maximal cross-section across every segmentation of the study."""
    items, columns, block = data.values.frame()
    for c, (path, side, var) in enumerate(columns):
        if var not in ("volume", "max_csa"):
            continue
        rows = np.flatnonzero(~np.isnan(block[:, c]))
        for r, z in zip(rows.tolist(), stats.robust_z(block[rows, c].tolist()), strict=True):
            if z is not None:
                data.robust[(items[r], path, side, var)] = z


def _fmt(value: float, digits: int = 3) -> str:
    from muscle_atlas.web.format import fmt

    return fmt(value, digits)


def _findings(data: StudyData) -> None:
    findings: list[Finding] = []
    names = {p: s["name"] for p, s in data.structures.items()}
    for item in sorted(data.results):
        result = data.results[item]  # read one at a time (a list of them would hold every result)
        by_side = {(s["path"], s["side"]): s for s in result["structures"]}
        for path in sorted(data.structures):
            expected = data.structures[path]["sides"]
            for side in SIDE_ORDER:
                if side in expected and not by_side.get((path, side), {}).get("voxels"):
                    where = "" if side == "none" else f", {side}"
                    findings.append(Finding(item, "missing", path, side, f"{names[path]}{where}: missing (other "
                                            "segmentations of the study have it)"))  # fmt: skip
            for side in SIDE_ORDER:
                s = by_side.get((path, side))
                if s and s["voxels"] and s["pieces"] > 1:
                    findings.append(Finding(item, "pieces", path, side, f"{names[path]}, {side}: {s['pieces']} pieces, "
                                            f"1 expected (pieces of at least 1 % of its {s['voxels']} voxels)"))  # fmt: skip
            left, right = data.values.get((item, path, "left", "volume")), data.values.get((item, path, "right", "volume"))
            if left and right:
                ratio = left / right
                if not LR_RANGE[0] <= ratio <= LR_RANGE[1]:
                    findings.append(Finding(item, "ratio", path, "both", f"{names[path]}: left/right volume ratio "
                                            f"{_fmt(ratio)} ({_fmt(left)} / {_fmt(right)} mL), outside "
                                            f"{LR_RANGE[0]}–{LR_RANGE[1]}"))  # fmt: skip
            for side in SIDE_ORDER:
                for var, label, unit in (("volume", "volume", "mL"), ("max_csa", "maximal cross-section", "cm²")):
                    z = data.robust.get((item, path, side, var))
                    if z is not None and abs(z) > stats.ROBUST_Z_LIMIT:
                        value = data.values[(item, path, side, var)]
                        findings.append(Finding(item, "outlier", path, side, f"{names[path]}, {side}: {label} "
                                                f"{_fmt(value)} {unit}, robust z = {_fmt(z, 2)} "
                                                f"({'above' if z > 0 else 'below'} the study's median)"))  # fmt: skip
    data.findings = findings


def tidy_rows(data: StudyData) -> Iterator[dict]:
    """The tidy table's rows, one per item, structure, side and variable, made one at a time."""
    for batch in _Tidy(data).batches(TABLE_BATCH):
        yield from (dict(zip(TIDY_COLUMNS, row, strict=True)) for row in zip(*batch.values(), strict=True))


class _Tidy:
    """The tidy table as indices into the study's values: items sorted, then structures, sides and
    variables (in :attr:`StudyData.variables`' order), a row where there is a value; the cells
    that are the item's (subject … age, slice_mm, slices_total) and the column's (structure …
    unit) are made once per item and column, not per row."""

    ITEM = ("subject", "session", "acquisition", "item", "group", "sex", "age", "slice_mm", "slices_total")
    COLUMN = ("structure", "muscle", "side", "measure", "statistic", "erosion_voxels", "unit")

    def __init__(self, data: StudyData) -> None:
        variables = {v.key: v for v in data.variables}
        names = {p: s["name"] for p, s in data.structures.items()}
        order = {key: index for index, key in enumerate(variables)}
        items, columns, block = data.values.frame()
        rows = sorted(range(len(items)), key=lambda r: items[r])  # type: ignore[arg-type, return-value]
        cols = sorted(range(len(columns)), key=lambda c: (columns[c][0], columns[c][1], order[columns[c][2]]))
        items, columns = [items[r] for r in rows], [columns[c] for c in cols]
        self.block = block[np.ix_(rows, cols)]
        self.floats = data.values.float_columns()[cols]
        self.z, self.robust = data.z.aligned(items, columns), data.robust.aligned(items, columns)
        self.per_item = np.empty((len(items), len(self.ITEM)), dtype=object)
        for r, item in enumerate(items):
            result = data.results[item]
            info, grid = result["item"], result["grid"]
            person = data.participant(info["subject"])
            self.per_item[r] = (info["subject"], info["session"], info["acquisition"], item, person.group, person.sex,
                                person.age, grid["slice_mm"], grid["slices_total"])  # fmt: skip
        self.per_column = np.empty((len(columns), len(self.COLUMN)), dtype=object)
        for c, (path, side, var) in enumerate(columns):
            v = variables[var]
            self.per_column[c] = (path, names[path], side, v.measure, v.statistic, v.erosion, v.unit)
        self.at_item, self.at_column = np.nonzero(~np.isnan(self.block))

    def batches(self, size: int, text: bool = False) -> Iterator[dict[str, list]]:
        """The rows ``size`` at a time, as columns: column → its values (None where none; integers
        in the columns that only hold integers), or with ``text`` the cells of study.csv (quoted
        as the csv module quotes them)."""
        per_item, per_column = self.per_item, self.per_column
        if text:
            per_item = np.vectorize(_text, otypes=[object])(per_item) if per_item.size else per_item
            per_column = np.vectorize(_text, otypes=[object])(per_column) if per_column.size else per_column
        for start in range(0, len(self.at_item), size):
            r, c = self.at_item[start : start + size], self.at_column[start : start + size]
            values, whole = self.block[r, c].tolist(), (~self.floats[c]).tolist()
            if text:
                value = [str(int(v)) if w else f"{v:.6g}" for v, w in zip(values, whole, strict=True)]
                z, robust = _texts(self.z[r, c]), _texts(self.robust[r, c])
            else:
                value = [int(v) if w else v for v, w in zip(values, whole, strict=True)]
                z, robust = _or_none(self.z[r, c]), _or_none(self.robust[r, c])
            batch = dict(zip(self.ITEM, per_item[r].T.tolist(), strict=True))
            batch.update(zip(self.COLUMN, per_column[c].T.tolist(), strict=True))
            batch.update(value=value, z=z, robust_z=robust)
            yield {name: batch[name] for name in TIDY_COLUMNS}


def _or_none(values) -> list:
    """A float array as a list, None for NaN."""
    return [None if v != v else v for v in values.tolist()]


def _texts(values) -> list[str]:
    """A float array as study.csv writes it: 6 significant digits, empty for NaN."""
    return ["" if v != v else f"{v:.6g}" for v in values.tolist()]


def _text(value: object) -> str:
    """A cell of study.csv: empty for none, floats with 6 significant digits, quoted where the csv
    module quotes (a comma, a quote, a line break)."""
    import csv
    import io

    text = "" if value is None else f"{value:.6g}" if isinstance(value, float) else str(value)
    if not text:
        return text
    line = io.StringIO()
    csv.writer(line, lineterminator="\n").writerow([text])
    return line.getvalue()[:-1]


def write_study_tables(data: StudyData, folder) -> list:
    """study.csv and study.parquet (pyarrow) of the tidy rows."""
    from pathlib import Path

    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    types = {"erosion_voxels": pa.int32(), "value": pa.float64(), "z": pa.float64(), "robust_z": pa.float64(),
             "slice_mm": pa.float64(), "slices_total": pa.int32()}  # fmt: skip
    schema = pa.schema([(c, types.get(c, pa.string())) for c in TIDY_COLUMNS])
    # Streamed: the rows are written a batch at a time (a study of 10,000 has millions of them).
    with (folder / "study.csv").open("w", newline="", encoding="utf-8") as handle, \
            pq.ParquetWriter(folder / "study.parquet", schema, compression="zstd") as parquet:  # fmt: skip
        handle.write(",".join(TIDY_COLUMNS) + "\n")
        tidy, written = _Tidy(data), 0
        for batch, text in zip(tidy.batches(TABLE_BATCH), tidy.batches(TABLE_BATCH, text=True), strict=True):
            handle.write("".join(line + "\n" for line in map(",".join, zip(*text.values(), strict=True))))
            parquet.write_table(pa.Table.from_pydict(batch, schema=schema))
            written += 1
        if not written:  # an empty table still has its columns
            parquet.write_table(pa.Table.from_pylist([], schema=schema))
    return [folder / "study.csv", folder / "study.parquet"]
