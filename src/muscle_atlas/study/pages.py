"""What every page of the study site shares: the study data and options, the layout's context,
URLs, names of muscles and segmentations, and how values are put into words.

:class:`StudyPages` is the base of the page writers (:mod:`~muscle_atlas.study.muscle_pages`,
:mod:`~muscle_atlas.study.subject_pages`, :mod:`~muscle_atlas.study.qc_pages`), which
:class:`~muscle_atlas.study.site.StudySiteWriter` joins.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from muscle_atlas.site.provenance import Provenance
from muscle_atlas.study import groupstats as stats
from muscle_atlas.study.aggregate import LEGS, StudyData, Variable
from muscle_atlas.web import context
from muscle_atlas.web.context import PageContext, SiteContext, page_context, site_context
from muscle_atlas.web.format import SHORT, fixed_signed, fmt
from muscle_atlas.web.memo import PageMemo, page_digest
from muscle_atlas.web.theme import environment, write_text

SIDE_NAMES = {"left": "Left", "right": "Right", "none": "—", LEGS: "Mean of both legs"}
SHORT_LABELS = {"max_csa": "Max. cross-section", "volume_per_height_mass": "Volume / (h × m)"}
CATEGORIES_MAX = 24  # a participants.tsv column with at most this many values is a category (site, scanner…)
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


def short(var: Variable) -> str:
    """A label short enough for a plot's axis."""
    if var.key in SHORT_LABELS:
        return SHORT_LABELS[var.key]
    if var.erosion is not None:
        return f"{SHORT.get(var.measure, var.measure)}, {var.statistic}"
    return var.label


def count(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def z_text(z: float | None) -> dict:
    if z is None:
        return {"text": "—", "flag": "", "sort": ""}
    flag = "" if abs(z) <= stats.Z_LIMIT else ("▲" if z > 0 else "▼")
    return {"text": fixed_signed(z), "flag": flag, "sort": f"{z:.4f}"}


def value_text(value: float | None, digits: int = 3) -> str:
    return fmt(value, digits) if value is not None else "—"


def mean_sd(d: stats.Describe) -> str:
    if d.mean is None:
        return "—"
    return f"{fmt(d.mean)} ± {fmt(d.sd)}" if d.sd is not None else fmt(d.mean)


def median_iqr(d: stats.Describe) -> str:
    if d.median is None:
        return "—"
    return f"{fmt(d.median)} [{fmt(d.q1)}–{fmt(d.q3)}]"


def p_text(p: float) -> str:
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def slug(path: str) -> str:
    return path.strip("/")


def paged_here(first: str, number: int) -> str:
    """The folder of page ``number`` of a paged list whose first page is at ``first`` ("qc/")."""
    return first if number == 1 else f"{first}page-{number}/"


def pager(first: str, number: int, pages: int) -> dict:
    """A paged list's navigation (the ``pager`` macro of ``_macros.html``), from page ``number``:
    previous, the first, last and nearby pages (gaps marked), next; every page links its neighbours,
    so the whole list is reachable without JavaScript."""
    here = paged_here(first, number)
    wanted = sorted({1, pages, *range(max(1, number - 2), min(pages, number + 2) + 1)})
    links: list[dict] = []
    previous = 0
    for n in wanted:
        if n - previous > 1:
            links.append({"gap": True, "number": 0, "url": "", "current": False})
        links.append({"gap": False, "number": n, "url": context.url(here, paged_here(first, n)), "current": n == number})
        previous = n
    return {"links": links if pages > 1 else [],
            "previous": context.url(here, paged_here(first, number - 1)) if number > 1 else None,
            "next": context.url(here, paged_here(first, number + 1)) if number < pages else None}  # fmt: skip


class StudyPages:
    """The study data, the options and the shared parts of every page."""

    def __init__(self, data: StudyData, options: StudyOptions, provenance: Provenance, cache: Path,
                 memo: PageMemo | None = None) -> None:  # fmt: skip
        self.data = data
        self.options = options
        self.provenance = provenance
        self.cache = cache
        self.memo = memo  # pages of the previous build kept where their digests are unchanged
        self.env = environment()
        self.written: list[str] = []
        self.seconds_tables = 0.0  # writing the tidy tables (study.csv, study.parquet)
        self.out = Path()
        with_values: set[str] = set()
        slices: dict[str, list[float]] = defaultdict(list)
        for (_item, path, side, var), value in data.values.items():
            with_values.add(path)
            if var == "slices" and side != LEGS:
                slices[path].append(value)
        self._slices = slices  # path → slices covered of every segmentation and side
        self._muscles = sorted((p for p in data.structures if p in with_values), key=lambda p: self.muscle_name(p).lower())
        self.subjects = data.subjects()  # sorted, with or without a result
        self.groups = data.groups()  # the reference first
        self._group_of = {s: data.group_of(s) for s in self.subjects}
        self._group_values: dict[tuple[str, str], dict[str, list[tuple[str, float]]]] = {}
        self._findings_of: dict[str, list] = defaultdict(list)  # item → its findings
        for f in data.findings:
            self._findings_of[f.item].append(f)

    # --- URLs and shared context -----------------------------------------------------------------

    url = staticmethod(context.url)

    def site(self, here: str) -> SiteContext:
        nav = [{"name": "Subjects", "url": self.url(here, "subject/"), "children": []},
               {"name": "Quality control", "url": self.url(here, "qc/"), "children": []}]  # fmt: skip
        return site_context(here, self.options.title, nav, self.provenance.html(), self.provenance.notice, True)

    def page(self, here: str, kind: str, title: str, crumbs: list[tuple[str, str]], **extra: object) -> PageContext:
        return page_context(here, kind, title, crumbs, self.options.base_url, **extra)

    def render(self, here: str, template: str, page: PageContext) -> None:
        """Write the page at ``here`` (or keep the previous build's, if its digest is unchanged)."""
        site = self.site(here)
        target = self.out / here / "index.html"
        if self.memo is None or not self.memo.keep(f"{here}index.html", page_digest(template, site, page), target):
            target.unlink(missing_ok=True)  # never written through a link to the published file
            write_text(target, self.env.get_template(template).render(site=site, page=page))
        self.written.append(here)

    def write_json(self, target: str, value: object) -> Path:
        """A data file below the site root, compact UTF-8 JSON (fetched by ``site.js``)."""
        path = self.out / target
        write_text(path, json.dumps(value, ensure_ascii=False, separators=(",", ":")))
        return path

    # --- names ------------------------------------------------------------------------------------

    def muscle_name(self, path: str) -> str:
        return self.data.structures[path]["name"]

    def muscles(self) -> list[str]:
        return self._muscles

    def muscle_url(self, here: str, path: str) -> str:
        return self.url(here, f"muscle/{slug(path)}/")

    def subject_url(self, here: str, subject: str) -> str:
        return self.url(here, f"subject/sub-{subject}/")

    def thumb_url(self, here: str, item: str) -> str:
        return self.url(here, f"assets/qc/{item}.png")

    def group_of(self, subject: str) -> str:
        return self._group_of.get(subject) or self.data.group_of(subject)

    def group_values(self, path: str, var: str) -> dict[str, list[tuple[str, float]]]:
        """Group → [(subject, value)]: :meth:`StudyData.group_values` (mean of both legs), kept."""
        key = (path, var)
        if key not in self._group_values:
            out: dict[str, list[tuple[str, float]]] = defaultdict(list)
            values = self.data.subject_values
            for subject in self.data.subject_items:
                value = values.get((subject, path, LEGS, var))
                if value is not None:
                    out[self.group_of(subject)].append((subject, value))
            self._group_values[key] = out
        return self._group_values[key]

    def findings_of(self, item: str) -> list:
        return self._findings_of.get(item, [])

    def categories(self) -> list[str]:
        """The participants' own columns that sort them into a few categories (a site, a dataset, a
        scanner): at most :data:`CATEGORIES_MAX` values, and fewer values than subjects."""
        if not hasattr(self, "_categories"):
            people = [self.data.participant(s) for s in self.subjects]
            values: dict[str, set[str]] = defaultdict(set)
            for person in people:
                for key, value in person.extra.items():
                    if value:
                        values[key].add(value)
            self._categories = [k for k, v in values.items() if 1 <= len(v) <= min(CATEGORIES_MAX, len(people) - 1)]
        return self._categories

    def item_label(self, item: dict) -> str:
        parts = [f"sub-{item['subject']}"]
        if item["session"]:
            parts.append(f"session {item['session']}")
        if item["acquisition"]:
            parts.append(f"acquisition {item['acquisition']}")
        return ", ".join(parts)
