"""The study website: home, a page per muscle, per subject, quality control and methods.

Over 500 lines for one cohesive class, :class:`StudySiteWriter`: every page reads the same study
data and options through it. Layout, contexts, the search index, number formats and the SVG
primitives are the site core's (:mod:`muscle_atlas.web`).

Pages extend the atlas's ``base.html`` and use its styles and script; plots are inline SVG with
their numbers in tables. Every file written is linked from a page: thumbnails from subject pages
(and the QC page), the tables and the log from the home, QC and methods pages, the search index
from the search page, and the atlases of rendered subjects from their subject pages.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from muscle_atlas.site.provenance import Provenance
from muscle_atlas.study import groupstats as stats
from muscle_atlas.study.aggregate import LEGS, LR_RANGE, SIDE_ORDER, StudyData, Variable, write_study_tables
from muscle_atlas.study.plots import describe_groups, strip_box_svg
from muscle_atlas.web import context
from muscle_atlas.web.context import PageContext, SiteContext, cell, page_context, site_context
from muscle_atlas.web.format import SHORT, file_size, fixed_signed, fmt, signed
from muscle_atlas.web.search import SearchEntry, write_search_index
from muscle_atlas.web.theme import environment, write_text, write_theme

SIDE_NAMES = {"left": "Left", "right": "Right", "none": "—", LEGS: "Mean of both legs"}
SHORT_LABELS = {"max_csa": "Max. cross-section", "volume_per_height_mass": "Volume / (h × m)"}


def _short(var: Variable) -> str:
    """A label short enough for a plot's axis."""
    if var.key in SHORT_LABELS:
        return SHORT_LABELS[var.key]
    if var.erosion is not None:
        return f"{SHORT.get(var.measure, var.measure)}, {var.statistic}"
    return var.label


def _n(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


FINDING_KINDS = {"outlier": "Outlier", "ratio": "Left/right ratio", "missing": "Missing", "pieces": "Split into pieces"}


@dataclass
class StudyOptions:
    title: str = "Muscle study"
    base_url: str | None = None  # the public URL; without one, no canonical links
    thumb_size: int = 200
    atlases: dict[str, str] = field(default_factory=dict)  # item id → site folder of its atlas ("atlas/<id>/")
    atlas_pages: dict[str, dict[str, dict]] = field(default_factory=dict)  # item id → structure path → poster, url
    log: list[str] = field(default_factory=list)  # the study log (discovery notes, failures, summary)
    renders: str = "none"


def _z_text(z: float | None) -> dict:
    if z is None:
        return {"text": "—", "flag": "", "sort": ""}
    flag = "" if abs(z) <= stats.Z_LIMIT else ("▲" if z > 0 else "▼")
    return {"text": fixed_signed(z), "flag": flag, "sort": f"{z:.4f}"}


def _value(value: float | None, digits: int = 3) -> str:
    return fmt(value, digits) if value is not None else "—"


def _pm(d: stats.Describe) -> str:
    if d.mean is None:
        return "—"
    return f"{fmt(d.mean)} ± {fmt(d.sd)}" if d.sd is not None else fmt(d.mean)


def _median_iqr(d: stats.Describe) -> str:
    if d.median is None:
        return "—"
    return f"{fmt(d.median)} [{fmt(d.q1)}–{fmt(d.q3)}]"


def _p(p: float) -> str:
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def _slug(path: str) -> str:
    return path.strip("/")


class StudySiteWriter:
    def __init__(self, data: StudyData, options: StudyOptions, provenance: Provenance, cache: Path) -> None:
        self.data = data
        self.options = options
        self.provenance = provenance
        self.cache = cache
        self.env = environment()
        self.written: list[str] = []

    # --- URLs and shared context -----------------------------------------------------------------

    url = staticmethod(context.url)

    def site(self, here: str) -> SiteContext:
        nav = [{"name": "Subjects", "url": self.url(here, "subject/"), "children": []},
               {"name": "Quality control", "url": self.url(here, "qc/"), "children": []}]  # fmt: skip
        return site_context(here, self.options.title, nav, self.provenance.html(), self.provenance.notice, True)

    def page(self, here: str, kind: str, title: str, crumbs: list[tuple[str, str]], **extra: object) -> PageContext:
        return page_context(here, kind, title, crumbs, self.options.base_url, **extra)

    def render(self, here: str, template: str, page: PageContext) -> None:
        write_text(self.out / here / "index.html", self.env.get_template(template).render(site=self.site(here), page=page))
        self.written.append(here)

    # --- names ------------------------------------------------------------------------------------

    def muscle_name(self, path: str) -> str:
        return self.data.structures[path]["name"]

    def muscles(self) -> list[str]:
        with_values = {k[1] for k in self.data.values}
        return sorted((p for p in self.data.structures if p in with_values), key=lambda p: self.muscle_name(p).lower())

    def subject_url(self, here: str, subject: str) -> str:
        return self.url(here, f"subject/sub-{subject}/")

    def thumb_url(self, here: str, item: str) -> str:
        return self.url(here, f"assets/qc/{item}.png")

    def item_label(self, item: dict) -> str:
        parts = [f"sub-{item['subject']}"]
        if item["session"]:
            parts.append(f"session {item['session']}")
        if item["acquisition"]:
            parts.append(f"acquisition {item['acquisition']}")
        return ", ".join(parts)

    # --- write --------------------------------------------------------------------------------------

    def write(self, out: Path) -> list[str]:
        self.out = out
        write_theme(out)
        tables = write_study_tables(self.data, out / "data")
        (out / "data" / "study-log.txt").write_text("\n".join(self.options.log) + "\n", encoding="utf-8")
        self.downloads = [{"label": "Every measure of every segmentation, structure and side (CSV)",
                           "url": "data/study.csv", "size": file_size(tables[0])},
                          {"label": "The same table as Parquet", "url": "data/study.parquet", "size": file_size(tables[1])},
                          {"label": "The study log (text)", "url": "data/study-log.txt",
                           "size": file_size(out / "data" / "study-log.txt")}]  # fmt: skip
        for result in self.data.results.values():
            source = self.cache_result(result) / result["thumb"]
            target = out / "assets" / "qc" / f"{result['id']}.png"
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
        self.render("", "study_home.html", self._home())
        self.render("muscle/", "study_muscles.html", self._muscles())
        for path in self.muscles():
            here = f"muscle/{_slug(path)}/"
            self.render(here, "study_muscle.html", self._muscle(here, path))
        self.render("subject/", "study_subjects.html", self._subjects())
        for subject in self.data.subjects():
            here = f"subject/sub-{subject}/"
            self.render(here, "study_subject.html", self._subject(here, subject))
        self.render("qc/", "study_qc.html", self._qc())
        self.render("methods/", "study_methods.html", self._methods())
        self.render("search/", "search.html", self.page("search/", "search", "Search the study", [("Search", "search/")]))
        self._search_index()
        return self.written

    def cache_result(self, result: dict) -> Path:
        from muscle_atlas.study.model import Item, ItemMaps, ScalarMap
        from muscle_atlas.study.task import result_folder

        info = dict(result["item"])
        maps = info.pop("maps")
        item = Item(**{**info, "maps": ItemMaps(
            tuple(maps["dixon"]) if maps["dixon"] else None, maps["dti"],
            tuple(ScalarMap(**s) for s in maps["scalars"]))})  # fmt: skip
        return result_folder(self.cache, item, result["key"])

    def _search_index(self) -> None:
        index = []
        for path in self.muscles():
            index.append(SearchEntry(self.muscle_name(path), f"muscle/{_slug(path)}/", "muscle",
                                     f"{path} group distributions volume cross-sectional area"))  # fmt: skip
        for subject in self.data.subjects():
            person = self.data.participant(subject)
            items = [r["item"]["acquisition"] for r in self.data.items_of(subject)]
            text = " ".join([person.group, person.sex, person.age, *person.extra.values(), *items])
            index.append(SearchEntry(f"sub-{subject}", f"subject/sub-{subject}/", "subject", text))
        index.append(SearchEntry("Quality control", "qc/", "page", "outliers missing pieces ratio"))
        write_search_index(self.out, index)

    # --- home ------------------------------------------------------------------------------------------

    def _demographics(self) -> dict:
        rows = []
        has_height = any(p.height_m for p in self.data.study.participants.values())
        for group in self.data.groups():
            subjects = [s for s in self.data.subjects() if self.data.group_of(s) == group]
            people = [self.data.participant(s) for s in subjects]
            sexes = sorted({p.sex for p in people if p.sex})
            sex = ", ".join(f"{sum(1 for p in people if p.sex == s)} {s}" for s in sexes) or "—"
            ages = [p.age_years for p in people if p.age_years is not None]
            bands = sorted(p.age for p in people if p.age and p.age_years is None)
            age = "—"
            if ages:
                d = stats.describe(ages)
                age = f"{fmt(d.median, 2)} [{fmt(d.low, 2)}–{fmt(d.high, 2)}]"
            if bands:
                shown = ", ".join(f"{b} ({bands.count(b)})" for b in sorted(set(bands)))
                age = f"{age}; as bands: {shown}" if ages else f"as bands: {shown}"
            row = [group + (" (reference)" if group == self.data.reference_group else ""), str(len(subjects)),
                   str(sum(len(self.data.items_of(s)) for s in subjects)), sex, age]  # fmt: skip
            if has_height:
                heights = [p.height_m for p in people if p.height_m]
                weights = [p.weight_kg for p in people if p.weight_kg]
                row += [_pm(stats.describe(heights)) if heights else "—", _pm(stats.describe(weights)) if weights else "—"]
            rows.append(row)
        columns = ["Group", "Subjects", "Segmentations", "Sex", "Age, years: median [range]"]
        if has_height:
            columns += ["Height, m", "Mass, kg"]
        return {"columns": columns, "rows": rows}

    def _home(self) -> dict:
        d = self.data
        n_items = len(d.results) + len(d.failures)
        repeats = sum(1 for s in d.subjects() if len(d.items_of(s)) > 1)
        intro = (f"{len(d.subjects())} subjects, {n_items} segmentations"
                 + (f" ({repeats} subjects with repeat acquisitions)" if repeats else "")
                 + f", {len(self.muscles())} muscles, measured per leg. Group statistics compare each group with "
                 f"the reference group, {d.reference_group}.")  # fmt: skip
        missing_ref = not any(d.group_of(s) == d.reference_group for s in d.subject_items)
        page = self.page("", "home", self.options.title, [], intro=intro, demographics=self._demographics(),
                         muscles=[{"name": self.muscle_name(p), "url": f"muscle/{_slug(p)}/"} for p in self.muscles()],
                         subjects=self._subject_table(""), downloads=self.downloads, failures=len(d.failures),
                         findings=len({f.item for f in d.findings}), missing_reference=missing_ref,
                         reference=d.reference_group)  # fmt: skip
        return page

    def _subject_table(self, here: str) -> dict:
        d = self.data
        rows = []
        flagged: dict[str, int] = {}
        for f in d.findings:
            subject = d.results[f.item]["item"]["subject"]
            flagged[subject] = flagged.get(subject, 0) + 1
        for subject in d.subjects():
            person = d.participant(subject)
            items = d.items_of(subject)
            failed = [f for f in d.failures.values() if f["item"]["subject"] == subject]
            acquisitions = ", ".join(sorted(r["item"]["acquisition"] or "—" for r in items)) or "—"
            atlas = [self.options.atlases[r["id"]] for r in items if r["id"] in self.options.atlases]
            qc = str(flagged.get(subject, 0)) + (f" + {len(failed)} failed" if failed else "")
            rows.append([
                cell(f"sub-{subject}", subject, self.subject_url(here, subject)),
                cell(person.group or "n/a", person.group), cell(person.sex or "—", person.sex),
                cell(person.age or "—", person.age_years if person.age_years is not None else person.age),
                cell(acquisitions), cell(qc, flagged.get(subject, 0) + 100 * len(failed)),
                cell("atlas" if atlas else "—", "1" if atlas else "0", self.url(here, atlas[0]) if atlas else None),
            ])  # fmt: skip
        return {"caption": "Subjects of the study", "rows": rows,
                "columns": ["Subject", "Group", "Sex", "Age", "Acquisitions", "QC findings", "3D atlas"]}  # fmt: skip

    def _subjects(self) -> dict:
        table = self._subject_table("subject/")
        return self.page("subject/", "subjects", "Subjects", [("Subjects", "subject/")], table=table)

    # --- muscles ---------------------------------------------------------------------------------------

    def _muscles(self) -> dict:
        d = self.data
        rows = []
        for path in self.muscles():
            ref_volume = stats.describe([v for _, v in d.group_values(path, "volume").get(d.reference_group, [])])
            ref_csa = stats.describe([v for _, v in d.group_values(path, "max_csa").get(d.reference_group, [])])
            n = sum(len(v) for v in d.group_values(path, "volume").values())
            rows.append([cell(self.muscle_name(path), url=f"{_slug(path)}/"), cell(str(n), n),
                         cell(_median_iqr(ref_volume), ref_volume.median or ""),
                         cell(_median_iqr(ref_csa), ref_csa.median or "")])  # fmt: skip
        table = {"caption": f"Muscles of the study, with the values of the reference group ({d.reference_group}), "
                            "mean of both legs",
                 "columns": ["Muscle", "Subjects", "Volume (mL): median [IQR]", "Max. cross-section (cm²): median [IQR]"],
                 "rows": rows}  # fmt: skip
        return self.page("muscle/", "index", "Muscles", [("Muscles", "muscle/")], table=table)

    def _figure(self, path: str, var: Variable, ident: str) -> dict | None:
        d = self.data
        values = d.group_values(path, var.key)
        groups = [(g, [v for _, v in values.get(g, [])]) for g in d.groups() if values.get(g)]
        if not groups:
            return None
        name = self.muscle_name(path)
        short = _short(var)
        label = f"{short} ({var.unit})" if var.unit else short
        title = f"{var.label} of the {name.lower()} by group (mean of both legs)"
        svg = strip_box_svg(ident, title, describe_groups(groups, var.unit), groups, label, d.reference_group)
        slices_key = "slices"
        table_rows = []
        for g in d.groups():
            for subject, value in sorted(values.get(g, []), key=lambda sv: sv[1]):
                covered = d.subject_values.get((subject, path, LEGS, slices_key))
                table_rows.append([f"sub-{subject}", g, _value(value), _value(covered, 2) if covered is not None else "—"])
        table = {"caption": f"{title}: every subject", "rows": table_rows,
                 "columns": ["Subject", "Group", label, "Slices covered"]}  # fmt: skip
        return {"id": ident, "title": title, "svg": svg, "table": table}

    def _group_table(self, path: str, var: Variable) -> dict:
        d = self.data
        values = d.group_values(path, var.key)
        reference = [v for _, v in values.get(d.reference_group, [])]
        rows = []
        for g in d.groups():
            x = [v for _, v in values.get(g, [])]
            if not x:
                continue
            desc = stats.describe(x)
            g_value = mw = None
            if g != d.reference_group:
                g_value = stats.hedges_g(x, reference)
                mw = stats.mann_whitney(x, reference)
            rows.append([g + (" (reference)" if g == d.reference_group else ""), str(desc.n), _pm(desc), _median_iqr(desc),
                         "—" if g_value is None else fixed_signed(g_value),
                         "—" if mw is None else fmt(mw[0], 3), "—" if mw is None else _p(mw[1])])  # fmt: skip
        unit = f" ({var.unit})" if var.unit else ""
        return {"caption": f"{var.label}{unit} by group: mean of both legs, one value per subject",
                "columns": ["Group", "N", "Mean ± SD", "Median [IQR]", f"Hedges’ g vs {d.reference_group}",
                            "Mann–Whitney U", "p (two-sided)"], "rows": rows}  # fmt: skip

    def _coverage(self, path: str) -> str:
        d = self.data
        slices = [v for (_, p, side, var), v in d.values.items() if p == path and var == "slices" and side != LEGS]
        thickness = sorted({r["grid"]["slice_mm"] for r in d.results.values()})
        if not slices:
            return ""
        low, high = min(slices), max(slices)
        span = f"{fmt(thickness[0], 2)}–{fmt(thickness[-1], 2)} mm" if len(thickness) > 1 else f"{fmt(thickness[0], 2)} mm"
        return (f"Coverage: the {self.muscle_name(path).lower()} appears on {int(low)} to {int(high)} slices "
                f"(median {int(stats.describe(slices).median or 0)}) of {span}. Volumes are of the imaged slab only and "
                "depend on how much of the muscle each protocol covers; the maximal cross-sectional area (the largest "
                "slice) depends far less on coverage.")  # fmt: skip

    def _muscle(self, here: str, path: str) -> dict:
        d = self.data
        name = self.muscle_name(path)
        shown = [v for v in d.variables if v.group]
        sections = []
        for index, var in enumerate(shown):
            figure = self._figure(path, var, f"plot-{index}")
            if figure is None:
                continue
            sections.append({"id": var.key.replace(":", "-").replace(".", "-"), "title": var.label, "figure": figure,
                             "stats": self._group_table(path, var)})  # fmt: skip
        atlas = None
        for item, pages in self.options.atlas_pages.items():
            if path in pages:
                atlas = {**pages[path], "url": self.url(here, pages[path]["url"]),
                         "poster": self.url(here, pages[path]["poster"]), "item": item,
                         "subject_url": self.subject_url(here, d.results[item]["item"]["subject"])}  # fmt: skip
                break
        n = sum(len(v) for v in d.group_values(path, "volume").values())
        has_mass = any(v.key == "volume_per_height_mass" for v in shown)
        notes = []
        if not has_mass:
            notes.append("No volume normalised by height × mass: participants.tsv gives no height and weight.")
        counts = f"{_n(n, 'subject')} in {_n(len(d.groups()), 'group')}"
        return self.page(here, "muscle", name, [("Muscles", "muscle/"), (name, here)],
                         subheadline=f"{counts}; reference group {d.reference_group}.",
                         coverage=self._coverage(path), sections=sections, atlas=atlas, notes=notes,
                         pair=sections[:2], rest=sections[2:],
                         pair_title=" and ".join(s["title"] if i == 0 else s["title"][0].lower() + s["title"][1:]
                                                 for i, s in enumerate(sections[:2])),
                         z_limit=stats.Z_LIMIT)  # fmt: skip

    # --- subjects ------------------------------------------------------------------------------------

    def _subject(self, here: str, subject: str) -> dict:
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
        findings = [{"text": f.text, "kind": FINDING_KINDS[f.kind]} for f in d.findings
                    if d.results[f.item]["item"]["subject"] == subject]  # fmt: skip
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
            short = _short(v)
            columns.append({"text": f"{short} ({v.unit})" if v.unit else short, "hidden": ""})
            columns.append({"text": "z", "hidden": f" of the {short.lower()}"})
        rows = []
        for path in self.muscles():
            for side in SIDE_ORDER:
                if (item, path, side, "volume") not in d.values:
                    continue
                cells = []
                for v in zvars:
                    value = d.values.get((item, path, side, v.key))
                    cells.append(cell(_value(value), value if value is not None else ""))
                    z = d.z.get((item, path, side, v.key))
                    cells.append({**_z_text(z), "z": True})
                slices = d.values.get((item, path, side, "slices"))
                rows.append({"muscle": self.muscle_name(path), "url": self.url(here, f"muscle/{_slug(path)}/"),
                             "side": SIDE_NAMES[side], "cells": cells,
                             "slices": str(int(slices)) if slices is not None else "—"})  # fmt: skip
        grid = result["grid"]
        info = result["thumb_info"]
        atlas = self.options.atlases.get(item)
        label = result["item"]["acquisition"] or "segmentation"
        return {
            "id": item, "label": label, "columns": columns, "rows": rows, "log": result["log"],
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
                    cells = [_value(v) for v in values]
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

    # --- QC -------------------------------------------------------------------------------------------

    def _qc(self) -> dict:
        d = self.data
        here = "qc/"
        by_item: dict[str, list] = {}
        for f in d.findings:
            by_item.setdefault(f.item, []).append(f)
        cards = []
        for item, findings in sorted(by_item.items()):
            result = d.results[item]
            info = result["thumb_info"]
            cards.append({
                "id": item, "label": self.item_label(result["item"]),
                "subject_url": self.subject_url(here, result["item"]["subject"]),
                "group": d.group_of(result["item"]["subject"]),
                "thumb": {"url": self.thumb_url(here, item), "width": info["width"], "height": info["height"],
                          "alt": f"Mid-thigh axial slice {info['slice']} of {info['slices']} of {item}, labels coloured "
                                 "per muscle, the subject's right on the image's left"},
                "findings": [{"kind": FINDING_KINDS[f.kind], "text": f.text} for f in findings],
            })  # fmt: skip
        counts = {FINDING_KINDS[k]: sum(1 for f in d.findings if f.kind == k) for k in FINDING_KINDS}
        failures = [{"item": f["id"], "label": self.item_label(f["item"]), "file": Path(f["item"]["segmentation"]).name,
                     "error": f["error"], "subject_url": self.subject_url(here, f["item"]["subject"])}
                    for f in sorted(d.failures.values(), key=lambda f: f["id"])]  # fmt: skip
        return self.page(here, "qc", "Quality control", [("Quality control", here)], cards=cards, counts=counts,
                         failures=failures, limit=stats.ROBUST_Z_LIMIT, ratio=LR_RANGE, n_items=len(d.results),
                         robust_min=stats.ROBUST_MIN,
                         log_url=self.url(here, "data/study-log.txt"))  # fmt: skip

    def _methods(self) -> dict:
        d = self.data
        maps = sorted({m["name"] for r in d.results.values() for m in r.get("maps", [])})
        downloads = [{**x, "url": self.url("methods/", x["url"])} for x in self.downloads]
        atlases = [{"item": item, "url": self.url("methods/", folder),
                    "licence": self.url("methods/", f"{folder}assets/vendor/model-viewer-LICENSE.txt")}
                   for item, folder in sorted(self.options.atlases.items())]  # fmt: skip
        return self.page("methods/", "methods", "Methods", [("Methods", "methods/")], reference=d.reference_group,
                         limit=stats.ROBUST_Z_LIMIT, ratio=LR_RANGE, z_limit=stats.Z_LIMIT, maps=maps,
                         downloads=downloads, renders=self.options.renders, atlases=atlases)  # fmt: skip
