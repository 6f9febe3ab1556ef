"""Where the data came from and under which licence: shown on every page.

Found in the README/LICENSE files beside the source (the source folder, or the folder of a
volume, and its parent), or given in the atlas project file. Citations are the DOIs the README
names; a Creative Commons licence requires them to be shown, so they always are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from markupsafe import Markup

LICENCES = (
    # (pattern in the text, name, URL)
    (r"Creative Commons Attribution[- ]ShareAlike 4\.0|CC BY-SA 4\.0|CC-BY-SA-4\.0", "CC BY-SA 4.0",
     "https://creativecommons.org/licenses/by-sa/4.0/"),
    (r"Creative Commons Attribution 4\.0|CC BY 4\.0|CC-BY-4\.0", "CC BY 4.0", "https://creativecommons.org/licenses/by/4.0/"),
    (r"Apache License,?\s+Version 2\.0", "Apache License 2.0", "https://www.apache.org/licenses/LICENSE-2.0"),
    (r"Redistribution and use in source and binary forms", "BSD 3-Clause License", "https://opensource.org/license/bsd-3-clause"),
    (r"Permission is hereby granted, free of charge", "MIT License", "https://opensource.org/license/mit"),
    (r"CC0|public domain", "CC0 1.0 (public domain)", "https://creativecommons.org/publicdomain/zero/1.0/"),
)  # fmt: skip


@dataclass
class Provenance:
    name: str
    licence: str | None = None
    licence_url: str | None = None
    holder: str | None = None
    citations: list[tuple[str, str]] = field(default_factory=list)  # (text, url)
    notice: str | None = None
    attribution: str | None = None  # the data's own attribution text (e.g. what it was adapted from)

    def html(self) -> Markup:
        parts = [Markup("Data: {}").format(self.name)]
        if self.holder:
            parts.append(Markup(" ({})").format(self.holder))
        if self.licence:
            if self.licence_url:
                parts.append(Markup(', licensed under <a href="{}" rel="license">{}</a>').format(
                    self.licence_url, self.licence))  # fmt: skip
            else:
                parts.append(Markup(", licensed under {}").format(self.licence))
        parts.append(Markup("."))
        if self.attribution:
            parts.append(Markup(" {}").format(self.attribution))
        if self.citations:
            cites = Markup("; ").join(Markup('<a href="{}">{}</a>').format(url, text) for text, url in self.citations)
            parts.append(Markup(" Please cite: {}.").format(cites))
        return Markup("").join(parts)


def _candidates(source: Path) -> list[Path]:
    folders = [source] if source.is_dir() else [source.parent]
    folders.append(folders[0].parent)
    found: list[Path] = []
    for folder in folders:
        for pattern in ("README*", "LICENSE*", "LICENCE*", "COPYING*"):
            found += sorted(p for p in folder.glob(pattern) if p.is_file() and p.stat().st_size < 200_000)
        if found:
            break
    return found


def detect(source: Path) -> Provenance:
    """Best effort from the files beside the source; the project file can override it."""
    texts = []
    for path in _candidates(source):
        try:
            texts.append(path.read_text(encoding="utf-8", errors="replace"))
        except OSError:
            continue
    text = "\n".join(texts)
    heading = re.search(r"^#\s+(.+)$", text, flags=re.MULTILINE)
    provenance = Provenance(name=heading.group(1).strip()[:160] if heading else "")
    # A README's licence paragraph is the attribution its licence asks for (what the data was
    # adapted from, by whom): shown as it is written.
    paragraph = re.search(r"^(?:Licen[cs]e|Attribution)\s*:\s*(.+?)(?:\n\s*\n|\Z)", text,
                          flags=re.MULTILINE | re.IGNORECASE | re.DOTALL)  # fmt: skip
    if paragraph:
        provenance.attribution = " ".join(paragraph.group(1).split())[:1000]
    for pattern, licence, url in LICENCES:
        if re.search(pattern, text, flags=re.IGNORECASE):
            provenance.licence, provenance.licence_url = licence, url
            break
    holder = re.search(r"Copyright \(c\)\s*(\d{4}),?\s*([^\n]+)", text, flags=re.IGNORECASE)
    if holder:
        provenance.holder = f"© {holder.group(1)} {holder.group(2).strip().rstrip('.')}"
    for match in re.finditer(r"doi:\s*(https?://doi\.org/\S+|10\.\d{4,9}/\S+)", text, flags=re.IGNORECASE):
        doi = match.group(1).rstrip(".,)")
        url = doi if doi.startswith("http") else f"https://doi.org/{doi}"
        # The quoted line just before a DOI in a README is usually the title of the work.
        before = text[: match.start()].rstrip().splitlines()[-4:]
        quoted = [q for line in before for q in re.findall(r'"([^"]{12,})"', line)]
        title = quoted[-1] if quoted else before[-1].strip().strip('"') if before else url
        if (title[:160], url) not in provenance.citations and len(provenance.citations) < 4:
            provenance.citations.append((title[:160], url))
    if provenance.attribution and provenance.licence:  # "Licence: CC BY-SA 4.0. Adapted from …"
        provenance.attribution = re.sub(rf"^{re.escape(provenance.licence)}[.;,]?\s*", "", provenance.attribution)
    if not provenance.name:  # no heading: the title of the work it asks to be cited by, or the folder
        folder = (source if source.is_dir() else source.parent).name or str(source)
        provenance.name = provenance.citations[0][0].rstrip(".") if provenance.citations else folder
    return provenance
