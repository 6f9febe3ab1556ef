"""The study website: home, a page per muscle, per subject, quality control and methods.

Pages extend the atlas's ``base.html`` and use its styles and script; plots are inline SVG with
their numbers in tables. Every file written is linked from a page: thumbnails from subject pages
(and the QC page), the tables and the log from the home, QC and methods pages, the search index
from the search page, and the atlases of rendered subjects from their subject pages.
"""

from __future__ import annotations

import json
import math
import re
import shutil
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from urllib.parse import unquote

from markupsafe import Markup

from muscle_atlas import __version__
from muscle_atlas.site.html import FAVICON, environment, file_size
from muscle_atlas.site.provenance import Provenance
from muscle_atlas.site.qmri import fmt
from muscle_atlas.study import stats
from muscle_atlas.study.aggregate import LEGS, LR_RANGE, SIDE_ORDER, StudyData, Variable, write_tables
from muscle_atlas.study.plots import describe_groups, strip_box_svg

SIDE_NAMES = {"left": "Left", "right": "Right", "none": "—", LEGS: "Mean of both legs"}
SHORT_LABELS = {"max_csa": "Max. cross-section", "volume_per_height_mass": "Volume / (h × m)"}


def _short(var: Variable) -> str:
    """A label short enough for a plot's axis."""
    if var.key in SHORT_LABELS:
        return SHORT_LABELS[var.key]
    if var.erosion is not None:
        from muscle_atlas.site.qmri import SHORT

        return f"{SHORT.get(var.measure, var.measure)}, {var.statistic}"
    return var.label


def _n(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"
KIND_NAMES = {"outlier": "Outlier", "ratio": "Left/right ratio", "missing": "Missing", "pieces": "Split into pieces"}


@dataclass
class StudyOptions:
    title: str = "Muscle study"
    base_url: str = "http://127.0.0.1:8000/"
    thumb_size: int = 200
    atlases: dict[str, str] = field(default_factory=dict)  # item id → site folder of its atlas ("atlas/<id>/")
    atlas_pages: dict[str, dict[str, dict]] = field(default_factory=dict)  # item id → structure path → poster, url
    log: list[str] = field(default_factory=list)  # the study log (discovery notes, failures, summary)
    renders: str = "none"


def _z_text(z: float | None) -> dict:
    if z is None:
        return {"text": "—", "flag": "", "sort": ""}
    flag = "" if abs(z) <= stats.Z_LIMIT else ("▲" if z > 0 else "▼")
    return {"text": f"{z:+.2f}".replace("-", "−"), "flag": flag, "sort": f"{z:.4f}"}


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


def _signed(value: float, digits: int = 3) -> str:
    """+1.23, −0.0132, 0: a sign and three significant digits."""
    if value == 0:
        return "0"
    return ("+" if value > 0 else "−") + fmt(abs(value), digits)


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

    @staticmethod
    def root(path: str) -> str:
        return "../" * path.count("/")

    def url(self, here: str, target: str) -> str:
        return (self.root(here) + target) or "./"

    def site(self, here: str) -> dict:
        return {
            "title": self.options.title, "root": self.root(here),
            "nav": [{"name": "Subjects", "url": self.url(here, "subject/"), "children": []},
                    {"name": "Quality control", "url": self.url(here, "qc/"), "children": []}],
            "attribution_html": self.provenance.html(), "notice": self.provenance.notice,
            "generator": f"muscle-atlas {__version__}", "css_url": self.url(here, "assets/site.css"),
            "js_url": self.url(here, "assets/site.js"), "search_url": self.url(here, "search/"),
            "index_url": self.url(here, "muscle/"), "favicon_url": self.url(here, "assets/favicon.svg"),
            "methods_url": self.url(here, "methods/"),
        }  # fmt: skip

    def page(self, here: str, kind: str, title: str, crumbs: list[tuple[str, str]], **extra: object) -> dict:
        breadcrumbs = [{"name": "Home", "url": self.url(here, "")}]
        breadcrumbs += [{"name": name, "url": self.url(here, target)} for name, target in crumbs]
        return {"kind": kind, "title": title, "subheadline": "", "url": self.options.base_url + here, "description": "",
                "breadcrumbs": breadcrumbs, "jsonld": Markup(""), **extra}  # fmt: skip

    def render(self, here: str, template: str, page: dict) -> None:
        html = self.env.get_template(template).render(site=self.site(here), page=page)
        target = self.out / here / "index.html"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(html, encoding="utf-8")
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
        self._static()
        tables = write_tables(self.data, out / "data")
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

    def _static(self) -> None:
        static = resources.files("muscle_atlas.site") / "static"
        assets = self.out / "assets"
        assets.mkdir(parents=True, exist_ok=True)
        for name in ("site.css", "site.js"):
            (assets / name).write_text((static / name).read_text(encoding="utf-8"), encoding="utf-8")
        (assets / "favicon.svg").write_text(FAVICON, encoding="utf-8")

    def _search_index(self) -> None:
        index = []
        for path in self.muscles():
            index.append({"title": self.muscle_name(path), "url": f"muscle/{_slug(path)}/", "kind": "muscle",
                          "text": f"{path} group distributions volume cross-sectional area"})  # fmt: skip
        for subject in self.data.subjects():
            person = self.data.participant(subject)
            items = [r["item"]["acquisition"] for r in self.data.items_of(subject)]
            text = " ".join([person.group, person.sex, person.age, *person.extra.values(), *items])
            index.append({"title": f"sub-{subject}", "url": f"subject/sub-{subject}/", "kind": "subject", "text": text})
        index.append({"title": "Quality control", "url": "qc/", "kind": "page", "text": "outliers missing pieces ratio"})
        (self.out / "search-index.json").write_text(json.dumps(index, ensure_ascii=False, separators=(",", ":")),
                                                    encoding="utf-8")  # fmt: skip

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
                {"text": f"sub-{subject}", "sort": subject, "url": self.subject_url(here, subject)},
                {"text": person.group or "n/a", "sort": person.group}, {"text": person.sex or "—", "sort": person.sex},
                {"text": person.age or "—", "sort": person.age_years if person.age_years is not None else person.age},
                {"text": acquisitions, "sort": acquisitions},
                {"text": qc, "sort": flagged.get(subject, 0) + 100 * len(failed)},
                {"text": "atlas" if atlas else "—", "sort": "1" if atlas else "0",
                 "url": self.url(here, atlas[0]) if atlas else None},
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
            rows.append([{"text": self.muscle_name(path), "sort": self.muscle_name(path), "url": f"{_slug(path)}/"},
                         {"text": str(n), "sort": n},
                         {"text": _median_iqr(ref_volume), "sort": ref_volume.median or ""},
                         {"text": _median_iqr(ref_csa), "sort": ref_csa.median or ""}])  # fmt: skip
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
                         "—" if g_value is None else f"{g_value:+.2f}".replace("-", "−"),
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
        findings = [{"text": f.text, "kind": KIND_NAMES[f.kind]} for f in d.findings
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
                    cells.append({"text": _value(value), "sort": value if value is not None else ""})
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
                        cells.append(_signed(diff))
                        cells.append(f"{_signed(100 * diff / mean, 2)} %" if mean else "—")
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
                "findings": [{"kind": KIND_NAMES[f.kind], "text": f.text} for f in findings],
            })  # fmt: skip
        counts = {KIND_NAMES[k]: sum(1 for f in d.findings if f.kind == k) for k in KIND_NAMES}
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


_DATA_ROOT = re.compile(r'<body[^>]* data-root="([^"]*)"')
_REFERENCE = re.compile(r'(?:href|src|poster|data-model|data-model-poster|data-viewer-src)="([^"#?]*)')


def linked_files(folder: Path) -> set[Path]:
    """Every file reachable from ``folder/index.html`` through the pages' links, images, videos,
    posters and 3D models (and the search index, which the search page fetches)."""
    folder = folder.resolve()
    seen: set[Path] = set()
    queue = [folder / "index.html"]
    while queue:
        path = queue.pop()
        if path in seen or not path.is_file():
            continue
        seen.add(path)
        if path.suffix != ".html":
            continue
        text = path.read_text(encoding="utf-8")
        root = _DATA_ROOT.search(text)
        if 'id="search-form"' in text and root:  # site.js fetches the index from the page's data-root
            queue.append((path.parent / unquote(root.group(1)) / "search-index.json").resolve())
        for ref in _REFERENCE.findall(text):
            if not ref or ref.startswith(("http:", "https:", "mailto:", "data:", "/")):
                continue
            target = (path.parent / unquote(ref)).resolve()
            if ref.endswith("/"):
                target = target / "index.html"
            if folder in target.parents:
                queue.append(target)
    return seen


def prune_unlinked(folder: Path, within: Path | None = None) -> int:
    """Remove the files under ``within`` (default: all) that no page of ``folder`` links to (an
    atlas ships every side's stills and videos; a study shows one), keeping licence files."""
    keep = linked_files(folder)
    removed = 0
    for path in sorted((within or folder).resolve().rglob("*")):
        if path.is_file() and path not in keep and "LICENSE" not in path.name:
            path.unlink()
            removed += 1
    return removed


def is_number(value: object) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)
