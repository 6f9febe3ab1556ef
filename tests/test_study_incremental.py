"""A study site built again with subjects added: the pages whose inputs did not change are the
previous build's files (not rendered, same inode and time stamp), the others are rendered, and
the site is byte for byte the one a build from scratch makes (fabricated results of studyfake)."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from muscle_atlas.site.provenance import Provenance
from muscle_atlas.study.aggregate import StudyData, aggregate
from muscle_atlas.study.site import StudyOptions, StudySiteWriter
from muscle_atlas.web import memo as memo_module
from muscle_atlas.web.memo import PageMemo
from muscle_atlas.web.publish import staged
from studyfake import fake_results

N = 36  # subjects of the grown study


@pytest.fixture(scope="module")
def grown(tmp_path_factory) -> tuple:
    """(study, results, cache) of N fabricated subjects."""
    cache = tmp_path_factory.mktemp("cache")
    study, results = fake_results(N, cache, maps=False, failures=1)
    return study, results, cache


def _without(grown: tuple, subjects: set[str]) -> StudyData:
    study, results, _ = grown
    items = [i for i in study.items if i.subject not in subjects]
    kept = {i.id: results[i.id] for i in items}
    participants = {s: p for s, p in study.participants.items() if s not in subjects}
    return aggregate(replace(study, items=items, participants=participants), kept, "Control")


def _build(data: StudyData, cache: Path, out: Path, manifest: Path | None) -> PageMemo | None:
    """The site as run_study publishes it: written into a staging folder that replaces ``out``, the
    pages of the previous build kept where their digests (in ``manifest``) are unchanged."""
    pages = PageMemo(manifest, out) if manifest else None
    options = StudyOptions(title="Population study", log=["study: fabricated"])
    with staged(out) as staging:
        StudySiteWriter(data, options, Provenance("fabricated test data"), cache, pages).write(staging)
    if pages is not None:
        pages.save(out)
    return pages


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _stamps(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_ino, p.stat().st_mtime_ns) for p in folder.rglob("*.html")}


def _last_of(grown: tuple, group: str, n: int) -> set[str]:
    participants = grown[0].participants
    return set(sorted(s for s, p in participants.items() if p.group == group)[-n:])


@pytest.mark.parametrize("group", ["LGMDR1", "Control"])
def test_adding_subjects_renders_only_the_pages_that_change(grown: tuple, tmp_path: Path, group: str) -> None:
    cache, manifest = grown[2], tmp_path / "pages.json"
    added = _last_of(grown, group, 2)
    out, scratch, before = tmp_path / "site", tmp_path / "scratch", tmp_path / "before"
    first = _build(_without(grown, added), cache, out, manifest)
    assert first is not None and not first.kept and first.rendered, "a first build renders every page"
    shutil.copytree(out, before)
    stamps = _stamps(out)
    again = _build(_without(grown, set()), cache, out, manifest)
    _build(_without(grown, set()), cache, scratch, None)
    assert _files(out) == _files(scratch), "the site built again is the one built from scratch"
    assert again is not None
    old, new = _files(before), _files(out)
    pages = {p for p in new if p.endswith(".html")}
    changed = {p for p in pages if old.get(p) != new[p]}
    assert set(again.rendered) | set(again.kept) == pages - {"404.html"}
    assert set(again.rendered) == changed, "rendered: exactly the pages that changed"
    for page in again.kept:
        assert _stamps(out)[page] == stamps[page], f"{page} is the previous file"
    assert {f"subject/sub-{s}/index.html" for s in added} <= changed
    assert {"index.html", "muscle/index.html", "subject/index.html", "muscle/thigh/gracilis/index.html"} <= changed
    old_subjects = {p for p in pages if p.startswith("subject/sub-")} - {f"subject/sub-{s}/index.html" for s in added}
    if group == "Control":  # the reference group grew: every z-score moved, every measured subject's page with it
        failed = {f"subject/sub-{r['item']['subject']}/index.html" for r in grown[1].values() if not r["ok"]}
        assert failed and old_subjects - failed <= changed and not failed & changed
    else:  # the reference is the same: the others' pages stay (but those whose QC findings moved)
        assert len(old_subjects - changed) >= len(old_subjects) - 3, sorted(old_subjects & changed)


def test_a_new_theme_or_a_page_edited_renders_again(grown: tuple, tmp_path: Path, monkeypatch) -> None:
    cache, out, manifest = grown[2], tmp_path / "site", tmp_path / "pages.json"
    data = _without(grown, set())
    _build(data, cache, out, manifest)
    (out / "methods" / "index.html").write_text("edited by hand", encoding="utf-8")
    same = _build(data, cache, out, manifest)
    assert same is not None and same.rendered == ["methods/index.html"]
    assert "edited" not in (out / "methods" / "index.html").read_text(encoding="utf-8")
    templates = tmp_path / "templates"
    shutil.copytree(Path(memo_module.__file__).parent / "templates", templates)
    with (templates / "study_subject.html").open("a", encoding="utf-8") as handle:
        handle.write("{# a new version of one template #}\n")
    monkeypatch.setattr("muscle_atlas.web.theme.templates", lambda: templates)
    memo_module.theme_digest.cache_clear()
    try:
        new = _build(data, cache, out, manifest)
    finally:
        memo_module.theme_digest.cache_clear()
    assert new is not None and not new.kept and len(new.rendered) == len(same.kept) + 1


def test_the_tidy_table_files_hold_the_tidy_rows(grown: tuple, tmp_path: Path) -> None:
    import csv

    import pyarrow.parquet as pq

    from muscle_atlas.study.aggregate import TIDY_COLUMNS, tidy_rows, write_study_tables

    study, results, _ = grown
    odd = sorted(study.participants)[:3]  # texts the CSV must quote: a comma, a quote, a line break
    participants = {**study.participants, odd[0]: replace(study.participants[odd[0]], sex='F, "x"'),
                    odd[1]: replace(study.participants[odd[1]], age="50\n60"),
                    odd[2]: replace(study.participants[odd[2]], group="")}  # fmt: skip
    data = aggregate(replace(study, participants=participants), results, "Control")
    rows = list(tidy_rows(data))
    assert len(rows) == len(data.values) and {r["item"] for r in rows} == set(data.values.frame()[0])
    assert all(r["value"] == data.values[(r["item"], r["structure"], r["side"], r["measure"])] for r in rows)
    write_study_tables(data, tmp_path)
    with (tmp_path / "study.csv").open(newline="", encoding="utf-8") as handle:
        read = list(csv.reader(handle))
    assert read[0] == list(TIDY_COLUMNS)
    texts = [["" if r[c] is None else f"{r[c]:.6g}" if isinstance(r[c], float) else str(r[c]) for c in TIDY_COLUMNS]
             for r in rows]  # fmt: skip
    assert read[1:] == texts
    assert any('F, "x"' in row for row in read) and any("50\n60" in row for row in read)
    assert pq.read_table(tmp_path / "study.parquet").to_pylist() == rows


def test_rows_set_at_once_equal_values_set_one_by_one() -> None:
    import random

    from muscle_atlas.study.keyed import KeyedValues

    rng = random.Random(3)  # noqa: S311 (test data)
    one, many = KeyedValues(), KeyedValues()
    for item in range(40):
        row = {}
        for _ in range(rng.randrange(0, 30)):
            column = (f"path{rng.randrange(9)}", rng.choice(["left", "right"]), rng.choice("abc"))
            row[column] = rng.randrange(100) if column[2] == "a" else rng.choice([rng.uniform(-1, 1), float("nan")])
        for column, value in row.items():
            one[(f"item{item}", *column)] = value
        many.set_row(f"item{item}", row)
    assert len(one) == len(many) and dict(one.items()) == dict(many.items())
    assert all(type(many[k]) is type(v) for k, v in one.items())
    present = next(k for k in one if k[0] == "item3")
    rows, columns = ["item3", "nothing", "item1"], [present[1:], ("nowhere", "left", "a")]
    block = many.aligned(rows, columns)
    assert block.shape == (3, 2) and not np.isnan(block).all()
    for (r, c), value in np.ndenumerate(block):
        key = (rows[r], *columns[c])
        assert value == one[key] if key in one else np.isnan(value)
