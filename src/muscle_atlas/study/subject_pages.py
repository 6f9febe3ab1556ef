"""The subject pages of the study site: the subject index, searchable and paged, and a page per
subject with every muscle's z-scores and repeat acquisitions side by side.

The index is paged, :data:`PAGE_ROWS` subjects to a page (``subject/``, ``subject/page-2/`` …,
linked by a pager: every subject page is reachable without JavaScript). ``site.js`` fetches the
whole list (``data/subjects.json``, linked from every page) when the reader searches, sorts or
turns a page, and draws one page at a time, so a page stays small at any number of subjects. The
list is also a CSV (``data/subjects.csv``).
"""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

from markupsafe import Markup, escape

from muscle_atlas.study import groupstats as stats
from muscle_atlas.study.aggregate import SIDE_ORDER, Variable
from muscle_atlas.study.pages import (
    FINDING_KINDS,
    SIDE_NAMES,
    StudyPages,
    count,
    paged_here,
    pager,
    short,
    value_text,
    z_text,
)
from muscle_atlas.web.context import cell
from muscle_atlas.web.format import file_size, fmt, signed

PAGE_ROWS = 50  # subjects per page of the index
LINK = "../subject/{}/"  # a subject's page by the text of its first cell, from data/subjects.json


class SubjectPages(StudyPages):
    def _subject_rows(self) -> tuple[list[str], list[list]]:
        """The index's columns and one row per subject; a cell is a text, a number or [text, URL
        relative to ``data/``]; the first, the subject, links to its page (:data:`LINK`)."""
        d = self.data
        flagged: dict[str, int] = defaultdict(int)
        for f in d.findings:
            flagged[d.results[f.item]["item"]["subject"]] += 1
        failed: dict[str, int] = defaultdict(int)
        for f in d.failures.values():
            failed[f["item"]["subject"]] += 1
        categories = self.categories()
        rows = []
        for subject in self.subjects:
            person = d.participant(subject)
            items = d.items_of(subject)
            acquisitions = ", ".join(sorted(r["item"]["acquisition"] or "—" for r in items)) or "—"
            atlas = [self.options.atlases[r["id"]] for r in items if r["id"] in self.options.atlases]
            qc = flagged[subject] if not failed[subject] else f"{flagged[subject]} + {failed[subject]} failed"
            rows.append([
                f"sub-{subject}", person.group or "n/a", person.sex or "—", person.age or "—",
                *(person.extra.get(k) or "—" for k in categories), acquisitions, qc,
                ["atlas", self.url("data/", atlas[0])] if atlas else "—",
            ])  # fmt: skip
        columns = ["Subject", "Group", "Sex", "Age", *(k.replace("_", " ").capitalize() for k in categories),
                   "Acquisitions", "QC findings", "3D atlas"]  # fmt: skip
        return columns, rows

    def subjects_index(self) -> list[tuple[str, dict]]:
        """(folder, context) of every page of the subject index: ``subject/``, ``subject/page-2/`` …"""
        columns, rows = self._subject_rows()
        json_path = self.write_json("data/subjects.json", {"columns": columns, "link": LINK, "rows": rows})
        csv_path = self.out / "data" / "subjects.csv"
        with csv_path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(columns)
            writer.writerows([c[0] if isinstance(c, list) else c for c in row] for row in rows)
        n = len(rows)
        pages = max(1, -(-n // PAGE_ROWS))
        out = []
        for number in range(1, pages + 1):
            here = paged_here("subject/", number)

            def from_data(url: str, here: str = here) -> str:  # a URL of the JSON, from this page
                return self.url(here, "data/" + url) if not url.startswith("../") else self.url(here, url[3:])

            table_rows = []
            for row in rows[(number - 1) * PAGE_ROWS : number * PAGE_ROWS]:
                first = cell(row[0], url=from_data(LINK.format(row[0])))
                rest = [cell(c[0], url=from_data(c[1])) if isinstance(c, list) else cell(str(c)) for c in row[1:]]
                table_rows.append([first, *rest])
            start = (number - 1) * PAGE_ROWS + 1
            shown = f"{start:,}–{start + len(table_rows) - 1:,} of " if n > PAGE_ROWS else ""
            title = "Subjects" if number == 1 else f"Subjects, page {number} of {pages}"
            crumbs = [("Subjects", "subject/")] + ([(f"Page {number}", here)] if number > 1 else [])
            table = {"caption": "Subjects of the study", "columns": columns, "rows": table_rows}
            out.append((here, self.page(
                here, "subjects", title, crumbs, table=table, total=n, page_rows=PAGE_ROWS, number=number,
                pager=pager("subject/", number, pages),
                status=f"{shown}{count(n, 'subject')}.",
                json={"url": self.url(here, "data/subjects.json"), "size": file_size(json_path)},
                csv={"url": self.url(here, "data/subjects.csv"), "size": file_size(csv_path)},
            )))  # fmt: skip
        return out

    def subject_page(self, here: str, subject: str) -> dict:
        d = self.data
        person = d.participant(subject)
        facts = [("Group", (person.group or "n/a") + (" (reference)" if person.group == d.reference_group else "")),
                 ("Sex", person.sex or "—"), ("Age", person.age or "—")]  # fmt: skip
        if person.height_m:
            facts.append(("Height", f"{fmt(person.height_m)} m"))
        if person.weight_kg:
            facts.append(("Mass", f"{fmt(person.weight_kg)} kg"))
        facts += [(k.replace("_", " ").capitalize(), v) for k, v in person.extra.items() if v]
        items = sorted(d.items_of(subject), key=lambda r: (r["item"]["session"], r["item"]["acquisition"]))
        failures = [f for f in d.failures.values() if f["item"]["subject"] == subject]
        sessions: dict[str, list[dict]] = {}
        for result in items:
            sessions.setdefault(result["item"]["session"], []).append(result)
        zvars = [v for v in d.variables if v.z and (v.key in ("volume", "max_csa") or v.group)]
        blocks = []
        for session, results in sessions.items():
            acquisitions = [self._acquisition(here, r, zvars) for r in results]
            blocks.append({"session": session, "acquisitions": acquisitions,
                           "repeats": self._repeats(results) if len(results) > 1 else None})  # fmt: skip
        findings = [{"text": f.text, "kind": FINDING_KINDS[f.kind]} for r in items for f in self.findings_of(r["id"])]
        first = d.subject_items.get(subject, [])
        averaged = None
        if len(first) > 1:
            averaged = ("Group statistics use this subject's mean over " +
                        ", ".join(d.results[i]["item"]["acquisition"] or i for i in first) + ".")  # fmt: skip
        return self.page(here, "subject", f"sub-{subject}", [("Subjects", "subject/"), (f"sub-{subject}", here)],
                         subheadline=", ".join(x for x in (person.group, person.sex, person.age) if x),
                         facts=[{"label": k, "value": v} for k, v in facts], sessions=blocks, findings=findings,
                         failures=[{"item": f["id"], "error": f["error"]} for f in failures], averaged=averaged,
                         qc_url=self.url(here, "qc/"), z_limit=stats.Z_LIMIT, reference=d.reference_group)  # fmt: skip

    def _acquisition(self, here: str, result: dict, zvars: list[Variable]) -> dict:
        d = self.data
        item = result["id"]
        columns = []
        for v in zvars:
            label = short(v)
            columns.append({"text": f"{label} ({v.unit})" if v.unit else label, "hidden": ""})
            columns.append({"text": "z", "hidden": f" of the {label.lower()}"})
        limit = escape(f"{stats.Z_LIMIT:g}")
        values, zs = d.values.row(item), d.z.row(item)  # (path, side, var) → value: one lookup of the item
        rows = []  # HTML: 40 rows × 7 cells on each of 10,000 pages is much faster written here than by Jinja
        for path in self.muscles():
            for side in SIDE_ORDER:
                if (path, side, "volume") not in values:
                    continue
                parts = [f'<tr>\n<th scope="row"><a href="{escape(self.muscle_url(here, path))}">'
                         f"{escape(self.muscle_name(path))}</a></th><td>{SIDE_NAMES[side]}</td>"]  # fmt: skip
                for v in zvars:
                    value = values.get((path, side, v.key))
                    sort = "" if value is None else f' data-sort="{value!r}"'
                    parts.append(f"<td{sort}>{value_text(value)}</td>")
                    z = z_text(zs.get((path, side, v.key)))
                    sort = f' data-sort="{z["sort"]}"' if z["sort"] else ""
                    if z["flag"]:
                        parts.append(f'<td class="z z-out"{sort}><span aria-hidden="true">{z["flag"]} </span>{z["text"]}'
                                     f'<span class="visually-hidden"> (beyond ±{limit})</span></td>')  # fmt: skip
                    else:
                        parts.append(f'<td class="z"{sort}>{z["text"]}</td>')
                slices = values.get((path, side, "slices"))
                parts.append(f"<td>{int(slices) if slices is not None else '—'}</td>\n</tr>")
                rows.append("".join(parts))
        rows_html = Markup("\n".join(rows))  # noqa: S704 - every text above is escaped or a number
        grid = result["grid"]
        info = result["thumb_info"]
        atlas = self.options.atlases.get(item)
        label = result["item"]["acquisition"] or "segmentation"
        return {
            "id": item, "label": label, "columns": columns, "rows_html": rows_html, "log": result["log"],
            "thumb": {"url": self.thumb_url(here, item), "width": info["width"], "height": info["height"],
                      "alt": f"Mid-thigh axial slice {info['slice']} of {info['slices']} of {item}: labels coloured per "
                             "muscle, the subject's right on the image's left, anterior up"},
            "grid": f"{grid['shape'][0]}×{grid['shape'][1]}×{grid['shape'][2]} voxels of "
                    f"{' × '.join(fmt(v, 3) for v in grid['voxel_mm'])} mm; {grid['slices_total']} slices of "
                    f"{fmt(grid['slice_mm'], 3)} mm",
            "file": Path(result["item"]["segmentation"]).name, "maps": result.get("maps", []),
            "atlas_url": self.url(here, atlas) if atlas else None,
        }  # fmt: skip

    def _repeats(self, results: list[dict]) -> dict:
        """Repeat acquisitions side by side: each against the first, difference and percent of their mean."""
        d = self.data
        first = results[0]
        labels = [r["item"]["acquisition"] or r["id"] for r in results]
        tables = []
        for var, title in (("volume", "Volume (mL)"), ("max_csa", "Maximal cross-sectional area (cm²)")):
            rows = []
            for path in self.muscles():
                for side in SIDE_ORDER:
                    values = [d.values.get((r["id"], path, side, var)) for r in results]
                    if all(v is None for v in values):
                        continue
                    cells = [value_text(v) for v in values]
                    a = values[0]
                    for b in values[1:]:
                        if a is None or b is None:
                            cells += ["—", "—"]
                            continue
                        diff = b - a
                        mean = (a + b) / 2
                        cells.append(signed(diff))
                        cells.append(f"{signed(100 * diff / mean, 2)} %" if mean else "—")
                    rows.append([self.muscle_name(path), SIDE_NAMES[side], *cells])
            columns = ["Muscle", "Side", *labels]
            for label in labels[1:]:
                columns += [f"{label} − {labels[0]}", "Difference, % of mean"]
            tables.append({"caption": f"{title}: {' and '.join(labels)} side by side", "columns": columns, "rows": rows})
        return {"labels": labels, "tables": tables, "first": first["id"]}
