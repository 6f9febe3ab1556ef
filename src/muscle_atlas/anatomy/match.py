"""Label names → (structure, side), robust to the naming habits of real labs.

A name is cut into words (CamelCase, ``_``, ``-``, digits and label numbers), side words are
taken out wherever they stand, filler words ("muscle", "head", "smooth", "VHF") are dropped, and
the remaining bag of words is compared with the bags of every structure's name, Latin name,
synonyms and abbreviations. Misspelled words are corrected to the nearest word of the
vocabulary when the correction is small and unique; the correction is reported. Ambiguous and
weak matches are never chosen silently: they come back with candidates, and the user decides
with a mapping file (``--map``).
"""

from __future__ import annotations

import itertools
import re
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path

import yaml
from rapidfuzz import fuzz
from rapidfuzz.distance import OSA

from muscle_atlas.anatomy.tree import ContextStructure, Structure, StructureTree, load_context, load_tree
from muscle_atlas.errors import AnatomyError

SIDE_WORDS = {
    "left": "left", "l": "left", "lt": "left", "links": "left", "sin": "left", "sinister": "left",
    "right": "right", "r": "right", "rt": "right", "rechts": "right", "dex": "right", "dx": "right",
    "dexter": "right",
}  # fmt: skip
FILLER_WORDS = {
    "muscle", "muscles", "musculus", "musculi", "m", "mm", "of", "the", "head", "caput", "part",
    "pars", "smooth", "vhf", "vhm", "label", "seg", "mask", "belly", "bone", "bones",
}  # fmt: skip
CATEGORY_WORDS = {"bone": "bone", "bones": "bone", "cartilage": "cartilage", "ligament": "ligament"}

# Statuses: matched, context, ambiguous, unmatched, ignored (by a map), excluded (by a project).


def _stem(word: str) -> str:
    if len(word) > 4 and word.endswith("s") and not word.endswith(("us", "is", "ss")):
        return word[:-1]
    return word


def split_words(name: str) -> list[str]:
    """``VHF_Left_Muscle_BicepsFemorisLong_smooth`` → [vhf, left, muscle, biceps, femoris, long, smooth]."""
    text = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name)
    text = re.sub(r"(?<=[A-Z])(?=[A-Z][a-z])", " ", text)
    words = re.split(r"[^A-Za-z0-9]+", text)
    # Label numbers and level names (5, L5, T12, S1) carry no anatomy for matching.
    return [w.lower() for w in words if w and not re.fullmatch(r"[a-zA-Z]?\d+", w)]


@dataclass(frozen=True)
class ParsedName:
    words: tuple[str, ...]  # stemmed, without side and filler words
    side: str | None
    category: str | None
    raw_words: tuple[str, ...]


def parse_name(name: str) -> ParsedName:
    raw = split_words(name)
    sides = {SIDE_WORDS[w] for w in raw if w in SIDE_WORDS}
    side = sides.pop() if len(sides) == 1 else None
    category = next((CATEGORY_WORDS[w] for w in raw if w in CATEGORY_WORDS), None)
    kept = [w for w in raw if w not in SIDE_WORDS and w not in FILLER_WORDS]
    if not kept:  # e.g. a region called "Head"
        kept = [w for w in raw if w not in SIDE_WORDS]
    return ParsedName(tuple(_stem(w) for w in kept), side, category, tuple(raw))


def _bag(words: tuple[str, ...] | list[str]) -> frozenset[str]:
    return frozenset(words)


# ---------------------------------------------------------------------------------------------
# Results


@dataclass
class Candidate:
    target: str  # tree path, or "context:<slug>"
    name: str
    score: float


@dataclass
class MatchResult:
    key: str  # label value (volumes) or file name (meshes)
    name: str  # the name that was matched
    status: str  # matched | context | ambiguous | unmatched | ignored
    side: str | None = None
    code: int | None = None  # tree code (side digit 0)
    path: str | None = None  # tree path, e.g. leg/soleus
    structure: str | None = None  # display name of the structure or context
    kind: str | None = None  # limb/region/group/muscle/head, or the context category
    method: str | None = None  # exact | abbreviation | alias | corrected | map
    note: str | None = None
    candidates: list[Candidate] = field(default_factory=list)

    @property
    def side_code(self) -> int | None:
        """The 6-digit code with its side digit: 211201 = left soleus."""
        if self.code is None:
            return None
        return self.code + {"left": 1, "right": 2}.get(self.side or "", 0)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["side_code"] = self.side_code
        return data


# ---------------------------------------------------------------------------------------------
# The index


@dataclass
class _Entry:
    structure: Structure | None
    context: ContextStructure | None
    note: str | None = None

    @property
    def target(self) -> str:
        if self.structure is not None:
            return self.structure.path
        return f"context:{self.context.slug}" if self.context else ""

    @property
    def display(self) -> str:
        return self.structure.name if self.structure else self.context.name  # type: ignore[union-attr]


def _canonical(structure: Structure, tree: StructureTree) -> Structure:
    return tree.by_code[structure.same_as] if structure.same_as else structure


class Matcher:
    """Index of every name a structure goes by; ``match(name)`` returns a :class:`MatchResult`."""

    def __init__(self, tree: StructureTree, context: tuple[ContextStructure, ...], aliases: list[dict]) -> None:
        self.tree = tree
        self.bags: dict[frozenset[str], list[_Entry]] = defaultdict(list)
        self.abbreviations: dict[str, list[_Entry]] = defaultdict(list)
        self.phrases: dict[str, _Entry] = {}  # normalised alias text, for fuzzy candidates
        for structure in tree:
            if structure.same_as:
                continue  # the canonical place carries the names
            entry = _Entry(structure, None)
            for alias in self._structure_aliases(structure):
                self._add(alias, entry)
            for abbreviation in structure.facts.abbreviations if structure.facts else ():
                if entry not in self.abbreviations[abbreviation.lower()]:
                    self.abbreviations[abbreviation.lower()].append(entry)
        for ctx in context:
            for alias in (ctx.name, *ctx.names):
                self._add(alias, _Entry(None, ctx))
        for item in aliases:
            self._add(item["name"], _Entry(tree.by_code[item["code"]], None, item.get("note")))
        self.vocabulary = sorted({w for bag in self.bags for w in bag})
        self.categories = {ctx.category: ctx for ctx in context if ctx.slug == ctx.category}

    @staticmethod
    def _structure_aliases(structure: Structure) -> list[str]:
        aliases = [structure.name, structure.slug]
        if structure.facts:
            aliases += [structure.facts.latin, *structure.facts.synonyms]
        region = structure.region
        if structure.kind == "group" and region is not None:
            aliases += [f"{region.name} {structure.name}", f"{structure.name} {region.name}"]
        return aliases

    def _add(self, alias: str, entry: _Entry) -> None:
        parsed = parse_name(alias)
        if not parsed.words:
            return
        bag = _bag(parsed.words)
        if all(e.target != entry.target for e in self.bags[bag]):
            self.bags[bag].append(entry)
        self.phrases.setdefault(" ".join(parsed.words), entry)

    # -----------------------------------------------------------------------------------------

    def _lookup(self, words: tuple[str, ...]) -> list[_Entry]:
        entries = self.bags.get(_bag(words), [])
        tree_hits = [e for e in entries if e.structure is not None]
        context_hits = [e for e in entries if e.context is not None]
        # A bone called "hip" beats the region "Hip": labels name tissues, not regions.
        if context_hits and all(e.structure.kind in ("limb", "region") for e in tree_hits):  # type: ignore[union-attr]
            return context_hits[:1]
        return tree_hits or context_hits[:1]

    def _spellings(self, word: str) -> list[str]:
        """The word itself if known, else the closest vocabulary words (≤ 1 edit per 4 letters,
        same first letter)."""
        if word in self.vocabulary or len(word) < 5:
            return [word]
        limit = max(1, len(word) // 4)
        distances = {
            v: OSA.distance(word, v) for v in self.vocabulary if v[0] == word[0] and abs(len(v) - len(word)) <= limit
        }
        close = {v: d for v, d in distances.items() if d <= limit}
        if not close:
            return [word]
        best = min(close.values())
        return sorted(v for v, d in close.items() if d == best)

    def _corrected_lookup(self, words: tuple[str, ...]) -> tuple[list[_Entry], list[str]]:
        """Try every spelling correction; accept it when exactly one structure results."""
        options = [self._spellings(w) for w in words]
        if all(o == [w] for o, w in zip(options, words, strict=True)):
            return [], []
        found: dict[str, tuple[list[_Entry], tuple[str, ...]]] = {}
        for combo in itertools.islice(itertools.product(*options), 64):
            hits = self._lookup(combo)
            if hits:
                found.setdefault("|".join(e.target for e in hits), (hits, combo))
        if len(found) != 1:
            return [], []
        hits, combo = next(iter(found.values()))
        notes = [f"{w} → {c}" for w, c in zip(words, combo, strict=True) if w != c]
        return hits, notes

    def _candidates(self, words: tuple[str, ...], limit: int = 3) -> list[Candidate]:
        """Closest structures: every word of a phrase scored by its best-matching query word."""
        scored: list[tuple[float, _Entry]] = []
        for phrase, entry in self.phrases.items():
            phrase_words = phrase.split()
            score = sum(max(fuzz.ratio(p, q) for q in words) for p in phrase_words) / len(phrase_words)
            scored.append((score, entry))
        scored.sort(key=lambda item: -item[0])
        result: list[Candidate] = []
        for score, entry in scored:
            if all(c.target != entry.target for c in result):
                result.append(Candidate(entry.target, entry.display, round(score, 1)))
            if len(result) == limit:
                break
        return result

    def match(self, name: str, key: str | None = None) -> MatchResult:
        parsed = parse_name(name)
        result = MatchResult(key=key if key is not None else name, name=name, status="unmatched", side=parsed.side)
        if not parsed.words:
            return result
        method = "exact"
        hits = self._lookup(parsed.words)
        corrected_notes: list[str] = []
        if not hits and len(parsed.words) == 1 and parsed.words[0] in self.abbreviations:
            hits = self.abbreviations[parsed.words[0]]
            method = "abbreviation"
        if not hits:
            compact = "".join(parsed.words)
            if compact in self.abbreviations:  # "BFLH" split oddly, or "GMax"
                hits = self.abbreviations[compact]
                method = "abbreviation"
        if not hits:
            hits, corrected_notes = self._corrected_lookup(parsed.words)
            method = "corrected"
        if not hits and parsed.category in ("cartilage", "ligament", "bone"):
            category = self.categories.get(parsed.category)
            if category is not None and parsed.category != "bone":
                hits = [_Entry(None, category)]
                method = "category"
        if len(hits) > 1:
            result.status = "ambiguous"
            result.candidates = [Candidate(e.target, e.display, 100.0) for e in hits]
            result.note = f"{' '.join(parsed.words)!r} could be any of these"
            return result
        if not hits:
            result.candidates = self._candidates(parsed.words)
            return result
        self._fill(result, hits[0], method)
        if corrected_notes:
            result.note = "spelling corrected: " + ", ".join(corrected_notes)
        return result

    def _fill(self, result: MatchResult, entry: _Entry, method: str) -> None:
        result.method = method
        result.note = entry.note
        if entry.structure is not None:
            structure = _canonical(entry.structure, self.tree)
            result.status = "matched"
            result.code = structure.code
            result.path = structure.path
            result.structure = structure.name
            result.kind = structure.kind
        elif entry.context is not None:
            result.status = "context"
            result.path = f"context:{entry.context.slug}"
            result.structure = entry.context.name
            result.kind = entry.context.category

    # -----------------------------------------------------------------------------------------

    def resolve_target(self, target: str, where: str) -> MatchResult:
        """A mapping-file target: a code (side digit included), ``path`` or slug with an
        optional side, ``context[:slug]`` or ``ignore``."""
        text = target.strip()
        words = text.replace(":", " ").split()
        side = None
        if words and words[-1].lower() in SIDE_WORDS and len(words) > 1:
            side = SIDE_WORDS[words.pop().lower()]
        result = MatchResult(key="", name="", status="matched", side=side, method="map")
        if not words:
            raise AnatomyError(f"{where}: empty target")
        head = words[0].lower()
        if head == "ignore":
            result.status = "ignored"
            return result
        if head == "context":
            slug = words[1] if len(words) > 1 else "other"
            ctx = next((c for c in load_context() if c.slug == slug), None)
            result.status = "context"
            result.path = f"context:{slug}"
            result.structure = ctx.name if ctx else slug.replace("-", " ").capitalize()
            result.kind = ctx.category if ctx else "other"
            return result
        if re.fullmatch(r"\d{6}", head):
            code = int(head)
            side = {1: "left", 2: "right"}.get(code % 10, side)
            base = code - code % 10
            if base not in self.tree.by_code:
                raise AnatomyError(f"{where}: code {head} is not in the structure tree")
            structure = _canonical(self.tree.by_code[base], self.tree)
        else:
            try:
                structure = _canonical(self.tree.get(" ".join(words)), self.tree)
            except AnatomyError as exc:
                raise AnatomyError(f"{where}: {exc.message}") from exc
        result.side = side
        result.code, result.path, result.structure, result.kind = (
            structure.code, structure.path, structure.name, structure.kind,
        )  # fmt: skip
        return result


@cache
def default_matcher() -> Matcher:
    text = (resources.files("muscle_atlas.anatomy") / "data" / "aliases.yaml").read_text(encoding="utf-8")
    return Matcher(load_tree(), load_context(), yaml.safe_load(text))


# ---------------------------------------------------------------------------------------------
# Mapping files


def read_mapping(path: str | Path, matcher: Matcher | None = None) -> dict[str, MatchResult]:
    """``--map FILE``: one ``label or name = target`` per line (``=``, ``:``, tab or ``,``).

    Targets: ``211201`` (code with side digit), ``soleus left``, ``leg/soleus right``,
    ``context``, ``context:tibia`` or ``ignore``. Lines starting with ``#`` are comments."""
    from muscle_atlas.sources.textfile import read_text

    matcher = matcher or default_matcher()
    path = Path(path)
    if not path.is_file():
        raise AnatomyError("no such mapping file", path)
    mapping: dict[str, MatchResult] = {}
    for number, line in enumerate(read_text(path, AnatomyError, "mapping file").splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if len(stripped) > 500:  # no mapping line is this long; the split below is quadratic in it
            raise AnatomyError(f"line {number}: {len(stripped)} characters, expected 'label or name = target'", path)
        parts = re.split(r"\s*(?:=|\t|,|:(?=\s))\s*", stripped, maxsplit=1)
        if len(parts) != 2 or not parts[0] or not parts[1]:
            raise AnatomyError(f"line {number}: expected 'label or name = target'", path)
        key = parts[0].strip().strip("\"'")
        if key.lower() in mapping:
            raise AnatomyError(f"line {number}: {key!r} is mapped twice", path)
        mapping[key.lower()] = matcher.resolve_target(parts[1].strip().strip("\"'"), f"{path}: line {number}")
    return mapping


def match_labels(
    names: dict[str, str], mapping: dict[str, MatchResult] | None = None, matcher: Matcher | None = None
) -> list[MatchResult]:
    """Match every ``key → name`` (label value or file name → name); the mapping wins."""
    matcher = matcher or default_matcher()
    mapping = mapping or {}
    results = []
    for key, name in names.items():
        override = mapping.get(key.lower()) or mapping.get(name.lower())
        if override is not None:
            result = MatchResult(**{**override.__dict__, "key": key, "name": name, "candidates": []})
        else:
            result = matcher.match(name, key=key)
        results.append(result)
    return results
