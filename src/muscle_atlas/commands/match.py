"""``muscle-atlas match``: which structure and side each label of a source or table is."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from muscle_atlas.anatomy.mapping import read_mapping
from muscle_atlas.anatomy.match import CATEGORY_NAMES, MatchResult, match_labels
from muscle_atlas.sources import read_label_table
from muscle_atlas.sources.labels import TOTALSEGMENTATOR_PREFIX
from muscle_atlas.subject import SubjectRequest, open_subject


def is_table(target: str) -> bool:
    path = Path(target)
    return target.startswith(TOTALSEGMENTATOR_PREFIX) or (
        path.is_file() and not path.name.lower().endswith((".nii", ".nii.gz", ".glb", ".gltf"))
    )


def table_names(target: str) -> dict[str, str]:
    """Label key → name of a label table."""
    table = read_label_table(target)
    return {str(v): e.name for v, e in sorted(table.entries.items())}


def _context_name(result: MatchResult) -> str:
    """A context structure with its kind: "Pisiform bone (bone)", "Abductor hallucis (muscle
    outside the atlas)"."""
    if result.status != "context":
        return result.structure or ""
    kind = CATEGORY_NAMES.get(result.kind or "other", result.kind or "other")
    return f"{result.structure} ({kind})" if kind.lower() != (result.structure or "").lower() else kind


def print_matches(results: list[MatchResult]) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console(width=None if Console().is_terminal else 160)
    table = Table(title_justify="left")
    for column in ("label", "name", "status", "structure", "code", "side", "how"):
        table.add_column(column, no_wrap=column in ("name", "code"))
    styles = {
        "matched": "green",
        "context": "cyan",
        "ambiguous": "yellow",
        "unmatched": "red",
        "ignored": "dim",
    }
    for r in results:
        how = r.method or ""
        if r.note:
            how += f" ({r.note})"
        table.add_row(
            escape(r.origin or r.key),  # a side split from a label shows the label it came from
            escape(r.name),
            f"[{styles[r.status]}]{r.status}[/]",
            escape(f"{r.structure} /muscle/{r.path}/" if r.status == "matched" else _context_name(r)),
            str(r.side_code or ""),
            r.side or "",
            escape(how),
        )
    console.print(table)
    counts = {s: sum(1 for r in results if r.status == s) for s in styles}
    kinds = Counter(CATEGORY_NAMES.get(r.kind or "other", r.kind or "other") for r in results if r.status == "context")
    breakdown = {"context": " (" + ", ".join(f"{n} {k}" for k, n in kinds.most_common()) + ")" if kinds else ""}
    console.print(", ".join(f"{n} {s}{breakdown.get(s, '')}" for s, n in counts.items() if n))
    for r in results:
        if r.status in ("ambiguous", "unmatched"):
            options = "; ".join(f"{c.name} ({c.target}, {c.score:.0f})" for c in r.candidates) or "none"
            console.print(f"[yellow]{escape(r.key)} {escape(r.name)!r}[/]: {r.status}, closest: {escape(options)}")
    if counts["ambiguous"] or counts["unmatched"]:
        console.print("Resolve them with a mapping file: --map FILE with lines like '17 = soleus left'.")


def run(target: str, labels: str | None, map_file: str | None, as_json: bool,
        orientation: str = "auto", units: str = "auto") -> int:  # fmt: skip
    findings: list[str] = []
    if is_table(target):
        results = match_labels(table_names(target), read_mapping(map_file) if map_file else None)
    else:  # a source: matched, then oriented from where its structures lie
        subject = open_subject(SubjectRequest(target, labels, map_file, orientation=orientation, units=units))
        results, findings = subject.matches, subject.report()
    if as_json:
        print(json.dumps([r.to_dict() for r in results], indent=2, ensure_ascii=False))
    else:
        print_matches(results)
        for line in findings:
            print(line)
    return 0
