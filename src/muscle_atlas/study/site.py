"""The study website: home, a page per muscle, per subject, quality control and methods.

:class:`StudySiteWriter` writes every page; the pages of one kind are written by its bases
(:mod:`~muscle_atlas.study.muscle_pages`, :mod:`~muscle_atlas.study.subject_pages`,
:mod:`~muscle_atlas.study.qc_pages`, sharing :mod:`~muscle_atlas.study.pages`); the home (the
cohort at a glance) and the methods are here. Layout, contexts, the search index, number formats
and the SVG primitives are the site core's (:mod:`muscle_atlas.web`).

Pages extend the atlas's ``base.html`` and use its styles and script; plots are inline SVG with
their numbers in tables. Every page stays light at any number of subjects: muscle pages draw large
groups as densities, the subject index and the QC pages are paged. Every file written is linked
from a page: thumbnails from subject pages (and the QC pages), the tables and the log from the
home, QC and methods pages, each muscle's CSV from its page, the subject list (CSV and JSON) from
the subject index, the search index from the search page, and the atlases of rendered subjects
from their subject pages.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

from muscle_atlas.study import groupstats as stats
from muscle_atlas.study.aggregate import LR_RANGE, write_study_tables
from muscle_atlas.study.muscle_pages import MusclePages
from muscle_atlas.study.pages import CATEGORIES_MAX, StudyOptions, count, mean_sd, slug
from muscle_atlas.study.plots import OUTLIERS_MAX, POINTS_MAX, bars_svg
from muscle_atlas.study.qc_pages import QCPages
from muscle_atlas.study.subject_pages import SubjectPages
from muscle_atlas.web.format import file_size, fmt
from muscle_atlas.web.search import SearchEntry, write_search_index
from muscle_atlas.web.theme import link, write_theme

__all__ = ["StudyOptions", "StudySiteWriter"]
CROSS_MAX = 12  # a category with at most this many values gets a table of subjects per group and value


class StudySiteWriter(MusclePages, SubjectPages, QCPages):
    # --- write --------------------------------------------------------------------------------------

    def write(self, out: Path) -> list[str]:
        self.out = out
        write_theme(out)
        started = time.perf_counter()
        tables = write_study_tables(self.data, out / "data")
        self.seconds_tables = time.perf_counter() - started
        (out / "data" / "study-log.txt").write_text("\n".join(self.options.log) + "\n", encoding="utf-8")
        self.downloads = [{"label": "Every measure of every segmentation, structure and side (CSV)",
                           "url": "data/study.csv", "size": file_size(tables[0])},
                          {"label": "The same table as Parquet", "url": "data/study.parquet", "size": file_size(tables[1])},
                          {"label": "The study log (text)", "url": "data/study-log.txt",
                           "size": file_size(out / "data" / "study-log.txt")}]  # fmt: skip
        (out / "assets" / "qc").mkdir(parents=True, exist_ok=True)
        for result in self.data.results.values():
            link(self.cache_result(result) / result["thumb"], out / "assets" / "qc" / f"{result['id']}.png")
        self.render("", "study_home.html", self._home())
        self.render("muscle/", "study_muscles.html", self.muscles_index())
        for path in self.muscles():
            here = f"muscle/{slug(path)}/"
            self.render(here, "study_muscle.html", self.muscle_page(here, path))
        for here, page in self.subjects_index():
            self.render(here, "study_subjects.html", page)
        for subject in self.subjects:
            here = f"subject/sub-{subject}/"
            self.render(here, "study_subject.html", self.subject_page(here, subject))
        for here, page in self.qc_pages():
            self.render(here, "study_qc.html", page)
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
            index.append(SearchEntry(self.muscle_name(path), f"muscle/{slug(path)}/", "muscle",
                                     f"{path} group distributions volume cross-sectional area"))  # fmt: skip
        for subject in self.subjects:
            person = self.data.participant(subject)
            items = [r["item"]["acquisition"] for r in self.data.items_of(subject)]
            text = " ".join([person.group, person.sex, person.age, *person.extra.values(), *items])
            index.append(SearchEntry(f"sub-{subject}", f"subject/sub-{subject}/", "subject", text))
        index.append(SearchEntry("Quality control", "qc/", "page", "outliers missing pieces ratio"))
        write_search_index(self.out, index)

    # --- home ------------------------------------------------------------------------------------------

    def _demographics(self, by_group: dict[str, list[str]]) -> dict:
        rows = []
        has_height = any(p.height_m for p in self.data.study.participants.values())
        for group, subjects in by_group.items():
            people = [self.data.participant(s) for s in subjects]
            sexes = Counter(p.sex for p in people if p.sex)
            sex = ", ".join(f"{n:,} {s}" for s, n in sorted(sexes.items())) or "—"
            ages = [p.age_years for p in people if p.age_years is not None]
            bands = Counter(p.age for p in people if p.age and p.age_years is None)
            age = "—"
            if ages:
                d = stats.describe(ages)
                age = f"{fmt(d.median, 2)} [{fmt(d.low, 2)}–{fmt(d.high, 2)}]"
            if bands:
                shown = ", ".join(f"{b} ({n:,})" for b, n in sorted(bands.items()))
                age = f"{age}; as bands: {shown}" if ages else f"as bands: {shown}"
            row = [group + (" (reference)" if group == self.data.reference_group else ""), f"{len(subjects):,}",
                   f"{sum(len(self.data.items_of(s)) for s in subjects):,}", sex, age]  # fmt: skip
            if has_height:
                heights = [p.height_m for p in people if p.height_m]
                weights = [p.weight_kg for p in people if p.weight_kg]
                row += [mean_sd(stats.describe(heights)) if heights else "—",
                        mean_sd(stats.describe(weights)) if weights else "—"]  # fmt: skip
            rows.append(row)
        columns = ["Group", "Subjects", "Segmentations", "Sex", "Age, years: median [range]"]
        if has_height:
            columns += ["Height, m", "Mass, kg"]
        return {"columns": columns, "rows": rows}

    def _glance(self, by_group: dict[str, list[str]]) -> tuple[list[dict], list[dict]]:
        """The cohort at a glance: bars of the subjects per group, sex and category (site, dataset…),
        and a table of subjects per group and category value."""
        people = [self.data.participant(s) for s in self.subjects]
        charts = [{"title": "Subjects per group", "counts": [(g, len(s)) for g, s in by_group.items()]}]
        sexes = Counter(p.sex or "not given" for p in people)
        if len(sexes) > 1 or "not given" not in sexes:
            charts.append({"title": "Subjects per sex", "counts": sorted(sexes.items(), key=lambda kv: -kv[1])})
        crosses = []
        for key in self.categories():
            name = key.replace("_", " ")
            values = Counter(p.extra.get(key) or "not given" for p in people)
            ordered = sorted(values.items(), key=lambda kv: (-kv[1], kv[0]))[:CATEGORIES_MAX]
            charts.append({"title": f"Subjects per {name}", "counts": ordered})
            if len(values) <= CROSS_MAX and len(by_group) > 1:
                columns = [v for v, _ in ordered]
                rows = []
                for group, subjects in by_group.items():
                    here = Counter(self.data.participant(s).extra.get(key) or "not given" for s in subjects)
                    rows.append([group, *(f"{here.get(v, 0):,}" for v in columns), f"{len(subjects):,}"])
                crosses.append({"caption": f"Subjects per group and {name}", "id": f"cross-{slug(key)}",
                                "columns": ["Group", *columns, "All"], "rows": rows})  # fmt: skip
        for index, chart in enumerate(charts):
            chart["svg"] = bars_svg(f"glance-{index}", chart["title"], chart["counts"])
        return charts, crosses

    def _home(self) -> dict:
        d = self.data
        n_items = len(d.results) + len(d.failures)
        subjects = self.subjects
        repeats = sum(1 for s in subjects if len(d.items_of(s)) > 1)
        intro = (f"{count(len(subjects), 'subject')}, {count(n_items, 'segmentation')}"
                 + (f" ({count(repeats, 'subject')} with repeat acquisitions)" if repeats else "")
                 + f", {len(self.muscles())} muscles, measured per leg. Group statistics compare each group with "
                 f"the reference group, {d.reference_group}.")  # fmt: skip
        by_group: dict[str, list[str]] = {g: [] for g in self.groups}
        for subject in subjects:
            by_group[self.group_of(subject)].append(subject)
        missing_ref = not any(self.group_of(s) == d.reference_group for s in d.subject_items)
        charts, crosses = self._glance(by_group)
        return self.page("", "home", self.options.title, [], intro=intro, demographics=self._demographics(by_group),
                         charts=charts, crosses=crosses, n_subjects=count(len(subjects), "subject"),
                         muscles=[{"name": self.muscle_name(p), "url": f"muscle/{slug(p)}/"} for p in self.muscles()],
                         downloads=self.downloads, failures=len(d.failures), findings=len({f.item for f in d.findings}),
                         missing_reference=missing_ref, reference=d.reference_group)  # fmt: skip

    def _methods(self) -> dict:
        d = self.data
        maps = sorted({m["name"] for r in d.results.values() for m in r.get("maps", [])})
        downloads = [{**x, "url": self.url("methods/", x["url"])} for x in self.downloads]
        atlases = [{"item": item, "url": self.url("methods/", folder),
                    "licence": self.url("methods/", f"{folder}assets/vendor/model-viewer-LICENSE.txt")}
                   for item, folder in sorted(self.options.atlases.items())]  # fmt: skip
        return self.page("methods/", "methods", "Methods", [("Methods", "methods/")], reference=d.reference_group,
                         limit=stats.ROBUST_Z_LIMIT, ratio=LR_RANGE, z_limit=stats.Z_LIMIT, maps=maps,
                         points_max=POINTS_MAX, outliers_max=OUTLIERS_MAX,
                         downloads=downloads, renders=self.options.renders, atlases=atlases)  # fmt: skip
