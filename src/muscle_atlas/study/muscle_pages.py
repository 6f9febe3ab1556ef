"""The muscle pages of the study site: the index of muscles, and per muscle each group's
distribution, statistics and comparison with the reference group, and a CSV of every subject's
values (the page itself lists only the values its plots draw as points, so that it stays light
at any number of subjects)."""

from __future__ import annotations

import csv

from muscle_atlas.study import groupstats as stats
from muscle_atlas.study.aggregate import LEGS, Variable
from muscle_atlas.study.pages import StudyPages, count, mean_sd, median_iqr, p_text, short, slug, value_text
from muscle_atlas.study.plots import POINTS_MAX, beyond_whiskers, describe_groups, group_plot_svg
from muscle_atlas.web.context import cell
from muscle_atlas.web.format import file_size, fixed_signed, fmt


def u_text(mw: tuple[float, float] | None) -> str:
    """The Mann–Whitney U: three significant digits, or a whole number with thousands separated."""
    return "—" if mw is None else fmt(mw[0], 3) if mw[0] < 1000 else f"{mw[0]:,.0f}"


class MusclePages(StudyPages):
    def muscle_csv(self, path: str) -> str:
        """Where a muscle's table of every subject's values is, below the site root."""
        return f"data/muscles/{slug(path).replace('/', '-')}.csv"

    def write_muscle_csv(self, path: str, shown: list[Variable]) -> str:
        """One row per subject: its group and the mean of both legs of every plotted measure."""
        d = self.data
        target = self.out / self.muscle_csv(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(["subject", "group", *(f"{v.key} ({v.unit})" if v.unit else v.key for v in shown),
                             "slices"])  # fmt: skip
            for subject in sorted(d.subject_items):
                values = [d.subject_values.get((subject, path, LEGS, v.key)) for v in shown]
                if all(v is None for v in values):
                    continue
                slices = d.subject_values.get((subject, path, LEGS, "slices"))
                writer.writerow([f"sub-{subject}", self.group_of(subject),
                                 *("" if v is None else f"{v:.6g}" for v in values),
                                 "" if slices is None else f"{slices:.6g}"])  # fmt: skip
        return file_size(target)

    def muscles_index(self) -> dict:
        d = self.data
        rows = []
        for path in self.muscles():
            volumes = self.group_values(path, "volume")
            ref_volume = stats.describe([v for _, v in volumes.get(d.reference_group, [])])
            ref_csa = stats.describe([v for _, v in self.group_values(path, "max_csa").get(d.reference_group, [])])
            n = sum(len(v) for v in volumes.values())
            rows.append([cell(self.muscle_name(path), url=f"{slug(path)}/"), cell(f"{n:,}", n),
                         cell(median_iqr(ref_volume), ref_volume.median or ""),
                         cell(median_iqr(ref_csa), ref_csa.median or "")])  # fmt: skip
        table = {"caption": f"Muscles of the study, with the values of the reference group ({d.reference_group}), "
                            "mean of both legs",
                 "columns": ["Muscle", "Subjects", "Volume (mL): median [IQR]", "Max. cross-section (cm²): median [IQR]"],
                 "rows": rows}  # fmt: skip
        return self.page("muscle/", "index", "Muscles", [("Muscles", "muscle/")], table=table)

    def _figure(self, path: str, var: Variable, ident: str) -> dict | None:
        d = self.data
        values = self.group_values(path, var.key)
        groups = [(g, [v for _, v in values.get(g, [])]) for g in self.groups if values.get(g)]
        if not groups:
            return None
        name = self.muscle_name(path)
        label = f"{short(var)} ({var.unit})" if var.unit else short(var)
        title = f"{var.label} of the {name.lower()} by group (mean of both legs)"
        svg = group_plot_svg(ident, title, describe_groups(groups, var.unit), groups, label, d.reference_group)
        rows, every = [], True
        for g in self.groups:
            pairs = values.get(g, [])
            if len(pairs) > POINTS_MAX:  # the plot draws a density and these values as points
                every = False
                pairs = [pairs[i] for i in beyond_whiskers([v for _, v in pairs])]
            for subject, value in sorted(pairs, key=lambda sv: sv[1]):
                covered = d.subject_values.get((subject, path, LEGS, "slices"))
                rows.append([f"sub-{subject}", g, value_text(value), value_text(covered, 2)])
        caption = f"{title}: every subject" if every else (
            f"{title}: the values drawn as points (every subject of a group of up to {POINTS_MAX}, the values "
            "beyond the whiskers of a larger group)")  # fmt: skip
        table = {"caption": caption, "rows": rows, "columns": ["Subject", "Group", label, "Slices covered"]}
        return {"id": ident, "title": title, "svg": svg, "table": table, "every": every}

    def _group_table(self, path: str, var: Variable) -> dict:
        d = self.data
        values = self.group_values(path, var.key)
        reference = [v for _, v in values.get(d.reference_group, [])]
        rows = []
        for g in self.groups:
            x = [v for _, v in values.get(g, [])]
            if not x:
                continue
            desc = stats.describe(x)
            g_value = mw = None
            if g != d.reference_group:
                g_value = stats.hedges_g(x, reference)
                mw = stats.mann_whitney(x, reference)
            rows.append([g + (" (reference)" if g == d.reference_group else ""), f"{desc.n:,}", mean_sd(desc),
                         median_iqr(desc), "—" if g_value is None else fixed_signed(g_value),
                         u_text(mw), "—" if mw is None else p_text(mw[1])])  # fmt: skip
        unit = f" ({var.unit})" if var.unit else ""
        return {"caption": f"{var.label}{unit} by group: mean of both legs, one value per subject",
                "columns": ["Group", "N", "Mean ± SD", "Median [IQR]", f"Hedges’ g vs {d.reference_group}",
                            "Mann–Whitney U", "p (two-sided)"], "rows": rows}  # fmt: skip

    def _coverage(self, path: str) -> str:
        slices = self._slices.get(path)
        if not slices:
            return ""
        thickness = sorted({r["grid"]["slice_mm"] for r in self.data.results.values()})
        low, high = min(slices), max(slices)
        span = f"{fmt(thickness[0], 2)}–{fmt(thickness[-1], 2)} mm" if len(thickness) > 1 else f"{fmt(thickness[0], 2)} mm"
        return (f"Coverage: the {self.muscle_name(path).lower()} appears on {int(low)} to {int(high)} slices "
                f"(median {int(stats.describe(slices).median or 0)}) of {span}. Volumes are of the imaged slab only and "
                "depend on how much of the muscle each protocol covers; the maximal cross-sectional area (the largest "
                "slice) depends far less on coverage.")  # fmt: skip

    def muscle_page(self, here: str, path: str) -> dict:
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
        size = self.write_muscle_csv(path, shown)
        atlas = None
        for item, pages in self.options.atlas_pages.items():
            if path in pages:
                atlas = {**pages[path], "url": self.url(here, pages[path]["url"]),
                         "poster": self.url(here, pages[path]["poster"]), "item": item,
                         "subject_url": self.subject_url(here, d.results[item]["item"]["subject"])}  # fmt: skip
                break
        n = sum(len(v) for v in self.group_values(path, "volume").values())
        has_mass = any(v.key == "volume_per_height_mass" for v in shown)
        notes = []
        if not has_mass:
            notes.append("No volume normalised by height × mass: participants.tsv gives no height and weight.")
        counts = f"{count(n, 'subject')} in {count(len(self.groups), 'group')}"
        return self.page(here, "muscle", name, [("Muscles", "muscle/"), (name, here)],
                         subheadline=f"{counts}; reference group {d.reference_group}.",
                         coverage=self._coverage(path), sections=sections, atlas=atlas, notes=notes,
                         pair=sections[:2], rest=sections[2:], points_max=POINTS_MAX,
                         dense=any(not s["figure"]["every"] for s in sections),
                         csv={"url": self.url(here, self.muscle_csv(path)), "size": size},
                         pair_title=" and ".join(s["title"] if i == 0 else s["title"][0].lower() + s["title"][1:]
                                                 for i, s in enumerate(sections[:2])))  # fmt: skip
