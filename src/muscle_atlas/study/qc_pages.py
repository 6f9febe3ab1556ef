"""The quality-control pages of the study site: the segmentations with findings, the most severe
first, :data:`QC_PAGE` to a page (``qc/``, ``qc/page-2/`` …, linked by a pager that works without
JavaScript), each with its mid-thigh thumbnail loaded lazily; and those that failed.

Severity, by kind of finding: a muscle or side missing is *high* (the segmentation is incomplete);
a left/right volume ratio out of range or an outlier is *medium* (a side assigned wrongly, a cut
field of view, or a real difference); a muscle in pieces is *low*. A segmentation takes the
severity of its worst finding.
"""

from __future__ import annotations

from pathlib import Path

from muscle_atlas.study import groupstats as stats
from muscle_atlas.study.aggregate import LR_RANGE
from muscle_atlas.study.pages import FINDING_KINDS, StudyPages, paged_here, pager

QC_PAGE = 25  # segmentations per page
FINDINGS_SHOWN = 8  # findings listed per segmentation (the rest on its subject's page)
FAILURES_SHOWN = 100  # failures listed (the rest in the study log)
SEVERITY = {"missing": 0, "ratio": 1, "outlier": 1, "pieces": 2}
LEVELS = ("High", "Medium", "Low")


def qc_here(number: int) -> str:
    """The folder of the QC page ``number`` (1 is ``qc/``)."""
    return paged_here("qc/", number)


class QCPages(StudyPages):
    def qc_cards(self) -> list[dict]:
        """Every segmentation with findings, the most severe first (then the most findings)."""
        d = self.data
        ranked = []
        for item in sorted({f.item for f in d.findings}):
            findings = sorted(self.findings_of(item), key=lambda f: SEVERITY[f.kind])
            level = SEVERITY[findings[0].kind]
            ranked.append((level, -sum(1 for f in findings if SEVERITY[f.kind] == level), -len(findings), item, findings))
        ranked.sort(key=lambda r: r[:4])
        return [{"item": item, "level": level, "findings": findings} for level, _, _, item, findings in ranked]

    def _card(self, here: str, card: dict) -> dict:
        d = self.data
        item, findings = card["item"], card["findings"]
        result = d.results[item]
        info = result["thumb_info"]
        return {
            "id": item, "label": self.item_label(result["item"]), "level": LEVELS[card["level"]],
            "subject_url": self.subject_url(here, result["item"]["subject"]),
            "group": self.group_of(result["item"]["subject"]),
            "thumb": {"url": self.thumb_url(here, item), "width": info["width"], "height": info["height"],
                      "alt": f"Mid-thigh axial slice {info['slice']} of {info['slices']} of {item}, labels coloured "
                             "per muscle, the subject's right on the image's left"},
            "findings": [{"kind": FINDING_KINDS[f.kind], "text": f.text} for f in findings[:FINDINGS_SHOWN]],
            "more": max(0, len(findings) - FINDINGS_SHOWN),
        }  # fmt: skip

    def qc_pages(self) -> list[tuple[str, dict]]:
        """(folder, context) of every QC page."""
        d = self.data
        cards = self.qc_cards()
        pages = max(1, -(-len(cards) // QC_PAGE))
        levels = []
        for level, name in enumerate(LEVELS):
            at = [i for i, c in enumerate(cards) if c["level"] == level]
            start = qc_here(at[0] // QC_PAGE + 1) if at else None
            levels.append({"name": name, "segmentations": len(at), "findings": sum(len(cards[i]["findings"]) for i in at),
                           "url": start})  # fmt: skip
        counts = {FINDING_KINDS[k]: sum(1 for f in d.findings if f.kind == k) for k in FINDING_KINDS}
        failures = sorted(d.failures.values(), key=lambda f: f["id"])
        out = []
        for number in range(1, pages + 1):
            here = qc_here(number)
            chunk = cards[(number - 1) * QC_PAGE : number * QC_PAGE]
            shown = [self._card(here, c) for c in chunk]
            first = (number - 1) * QC_PAGE + 1
            title = "Quality control" if number == 1 else f"Quality control, page {number} of {pages}"
            crumbs = [("Quality control", "qc/")] + ([(f"Page {number}", here)] if number > 1 else [])
            out.append((here, self.page(
                here, "qc", title, crumbs, number=number, cards=shown,
                range=f"{first:,}–{first + len(chunk) - 1:,} of {len(cards):,}" if chunk else "",
                pager=pager("qc/", number, pages),
                levels=[{**lv, "url": self.url(here, lv["url"]) if lv["url"] else None} for lv in levels],
                counts=counts, n_failures=len(failures), failures=[
                    {"item": f["id"], "label": self.item_label(f["item"]), "file": Path(f["item"]["segmentation"]).name,
                     "error": f["error"], "subject_url": self.subject_url(here, f["item"]["subject"])}
                    for f in failures[:FAILURES_SHOWN]] if number == 1 else [],
                limit=stats.ROBUST_Z_LIMIT, ratio=LR_RANGE, n_items=f"{len(d.results):,}", robust_min=stats.ROBUST_MIN,
                log_url=self.url(here, "data/study-log.txt"),
            )))  # fmt: skip
        return out
