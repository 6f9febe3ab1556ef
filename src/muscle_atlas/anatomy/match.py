"""Label names → (structure, side), robust to the naming habits of real labs and anatomical models.

This module is over 500 lines for one cohesive class, :class:`Matcher` (its index and the
resolution steps below share their state). Names are cut into words by
:mod:`~muscle_atlas.anatomy.names`; mapping files are read by :mod:`~muscle_atlas.anatomy.mapping`.

A name is cut into words (CamelCase, ``_``, ``-``, digits and label numbers), side words are
taken out wherever they stand, filler words ("muscle", "of", "smooth", "VHF") are dropped, and
each word is brought to one form (Latin declensions and English equivalents: ``longus`` →
``long``, ``bicipitis`` → ``biceps``, ``profundus`` → ``deep``). The remaining bag of words is
then resolved, in this order:

1. the exact bag of a structure's name, Latin name, synonym or abbreviation, or of a name of
   ``context.yaml`` and ``lexicon.yaml`` (bones, nerves, vessels, muscles outside the tree …);
2. a kind word ("bone", "nerve", "artery", "fascia" …) makes the name context of that kind,
   before any spelling correction: a pisiform bone is never piriformis;
3. a known name inside a longer one: the words left over must only qualify it. A head or part the
   tree does not list merges into its muscle ("Superficial head of pronator teres");
4. misspelled words corrected to the nearest vocabulary word (joined words too), reported;
5. a name with a muscle word ("muscle", "flexor" …) that is no tree structure is a muscle
   outside the tree; a part of a nerve or vessel ("branch", "arch" …) is other context.

Ambiguous and weak matches are never chosen silently: they come back with candidates, and the
user decides with a mapping file (``--map``). :func:`match_labels` sees a data set's names at
once and resolves what stays ambiguous inside the body part its confident matches lie in.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from functools import cache
from importlib import resources

from rapidfuzz import fuzz
from rapidfuzz.distance import OSA

from muscle_atlas import yamlio
from muscle_atlas.anatomy.names import (
    CATEGORY_NAMES,
    MAX_WORDS,
    SIDE_WORDS,
    STRUCTURAL_WORDS,
    Lexicon,
    ParsedName,
    _bag,
    load_lexicon,
    parse_name,
    readable_name,
)
from muscle_atlas.anatomy.tree import ContextStructure, Structure, StructureTree, load_context, load_tree
from muscle_atlas.errors import AnatomyError

# Statuses: matched, context, ambiguous, unmatched, ignored (by a map), excluded (by a project).
# Methods: exact, abbreviation, corrected, merged (a head or part merged into its muscle), kind
# (recognised by a kind word), lexicon (a known name inside a longer one), map.


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
    path: str | None = None  # tree path, e.g. leg/soleus, or context:<slug>
    structure: str | None = None  # display name of the structure or context
    kind: str | None = None  # limb/region/group/muscle/head, or the context category (bone, nerve, muscle …)
    method: str | None = None  # exact | abbreviation | corrected | merged | kind | lexicon | map
    note: str | None = None
    candidates: list[Candidate] = field(default_factory=list)
    origin: str | None = None  # the label or node this side was split from (both sides in one)

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
    synonym: bool = False  # a tree structure's synonym: weaker than another structure's own name
    lexicon: bool = False  # a lexicon name: the label's own words are shown, with the kind
    merged: bool = False  # a synonym that names a subdivision ("iliocostalis lumborum")

    @property
    def target(self) -> str:
        if self.structure is not None:
            return self.structure.path
        return f"context:{self.context.slug}" if self.context else ""

    @property
    def display(self) -> str:
        return self.structure.name if self.structure else self.context.name  # type: ignore[union-attr]

    @property
    def is_muscle(self) -> bool:
        if self.structure is not None:
            return self.structure.kind not in ("limb", "region")
        return self.context is not None and self.context.category == "muscle"


@dataclass
class _Outcome:
    entries: list[_Entry]
    method: str
    note: str | None = None
    category: str | None = None  # a generic context of this kind (no entry)
    readable: bool = False  # show the label's own words
    rest: frozenset[str] = frozenset()  # words merged into the structure


def _canonical(structure: Structure, tree: StructureTree) -> Structure:
    return tree.by_code[structure.same_as] if structure.same_as else structure


class Matcher:
    """Index of every name a structure goes by; ``match(name)`` returns a :class:`MatchResult`."""

    def __init__(
        self, tree: StructureTree, context: tuple[ContextStructure, ...], aliases: list[dict],
        lexicon: Lexicon | None = None,
    ) -> None:  # fmt: skip
        self.tree = tree
        self.lexicon = lexicon or load_lexicon()
        self.bags: dict[frozenset[str], list[_Entry]] = defaultdict(list)
        self.abbreviations: dict[str, list[_Entry]] = defaultdict(list)
        self.phrases: dict[str, _Entry] = {}  # normalised alias text, for fuzzy candidates
        for structure in tree:
            if structure.same_as:
                continue  # the canonical place carries the names
            own = _bag(parse_name(structure.name).words)
            for alias, synonym in self._structure_aliases(structure):
                # A synonym that is the name plus a subdivision ("iliocostalis lumborum") is a part.
                words = _bag(parse_name(alias).words)
                merged = synonym and own < words and words - own <= self.lexicon.subdivisions
                note = f"{readable_name(alias).lower()} merged into {structure.name}" if merged else None
                self._add(alias, _Entry(structure, None, note, synonym=synonym, merged=merged))
            for abbreviation in structure.facts.abbreviations if structure.facts else ():
                entry = _Entry(structure, None)
                if all(e.target != entry.target for e in self.abbreviations[abbreviation.lower()]):
                    self.abbreviations[abbreviation.lower()].append(entry)
        for ctx in context:
            for alias in (ctx.name, *ctx.names):
                self._add(alias, _Entry(None, ctx))
        for item in aliases:
            self._add(item["name"], _Entry(tree.by_code[item["code"]], None, item.get("note")))
        self.categories = {ctx.category: ctx for ctx in context if ctx.slug == ctx.category}
        for word in self.lexicon.names:
            generic = self.categories.get(word.kind) or ContextStructure(word.kind, word.kind.capitalize(), word.kind, ())
            ctx = ContextStructure(generic.slug, word.name[:1].upper() + word.name[1:], word.kind, ())
            self._add(word.name, _Entry(None, ctx, lexicon=True), phrase=False)
        self.vocabulary = sorted({w for bag in self.bags for w in bag} | set(self.lexicon.kinds))
        self._vocabulary_set = set(self.vocabulary)
        muscle_words = {
            w
            for bag, entries in self.bags.items()
            if any(e.is_muscle and not (e.context and e.context.slug == e.context.category) for e in entries)
            for w in bag
        }
        places = {w for s in tree if s.kind in ("limb", "region") for w in parse_name(s.name).words}
        self.locators = self.lexicon.locators | places - self.lexicon.qualifiers - self.lexicon.subdivisions
        # Words that name a muscle: left over beside another name, they mean another structure.
        self.core_words = frozenset(muscle_words - self.lexicon.qualifiers - self.lexicon.subdivisions - self.locators)
        self.tree_kind_words = frozenset(
            w for bag, entries in self.bags.items() if any(e.structure for e in entries) for w in bag
        ) & frozenset(self.lexicon.kinds)

    @staticmethod
    def _structure_aliases(structure: Structure) -> list[tuple[str, bool]]:
        """(name, is a synonym): the name, slug and Latin name, the synonyms, and the forms
        generated from them (hyphenated words joined: humero-ulnar → humeroulnar)."""
        aliases = [(structure.name, False), (structure.slug, False)]
        if structure.facts:
            aliases += [(structure.facts.latin, False), *((s, True) for s in structure.facts.synonyms)]
        region = structure.region
        if structure.kind == "group" and region is not None:
            aliases += [(f"{region.name} {structure.name}", False), (f"{structure.name} {region.name}", False)]
        hyphenated = [(a, s) for a, s in aliases if " " in a and re.search(r"[a-z]-[a-z]", a)]  # not slugs
        joined = [(re.sub(r"(?<=[a-z])-(?=[a-z])", "", a), s) for a, s in hyphenated]
        return aliases + joined

    def _add(self, alias: str, entry: _Entry, phrase: bool = True) -> None:
        parsed = parse_name(alias)
        if not parsed.words:
            return
        bag = _bag(parsed.words)
        existing = next((e for e in self.bags[bag] if e.target == entry.target), None)
        if existing is None:
            self.bags[bag].append(entry)
        elif existing.synonym and not entry.synonym:  # the structure's own name is the stronger claim
            self.bags[bag][self.bags[bag].index(existing)] = entry
        if phrase:
            self.phrases.setdefault(" ".join(parsed.words), entry)

    # -----------------------------------------------------------------------------------------
    # Lookups

    @staticmethod
    def _prefer(entries: list[_Entry]) -> list[_Entry]:
        tree_hits = [e for e in entries if e.structure is not None]
        context_hits = [e for e in entries if e.context is not None]
        # A bone called "hip" beats the region "Hip": labels name tissues, not regions.
        if context_hits and all(e.structure.kind in ("limb", "region") for e in tree_hits):  # type: ignore[union-attr]
            return context_hits[:1]
        # A tree synonym that is another structure's own name ("inferior oblique") is ambiguous.
        lexicon_hits = [e for e in context_hits if e.lexicon]
        if tree_hits and lexicon_hits and all(e.synonym for e in tree_hits):
            return tree_hits + lexicon_hits[:1]
        return tree_hits or context_hits[:1]

    def _lookup(self, words: tuple[str, ...] | frozenset[str]) -> list[_Entry]:
        return self._prefer(self.bags.get(_bag(tuple(words)), []))

    def _contained(self, words: tuple[str, ...], structural: bool) -> _Outcome | None:
        """A known name inside a longer one, the other words only qualifying it."""
        query = _bag(words)
        subsets = [(bag, self._prefer(entries)) for bag, entries in self.bags.items() if bag < query]
        # Words from several names of one structure: "Scapular spinal part of deltoid".
        union: dict[str, set[str]] = defaultdict(set)
        found: dict[str, _Entry] = {}
        for bag, entries in subsets:
            for entry in entries:
                if entry.structure is not None and entry.is_muscle:
                    union[entry.target] |= bag
                    found[entry.target] = entry
        covering = [found[t] for t, words_of in union.items() if words_of == query]
        if covering:
            return _Outcome(covering, "exact")
        acceptable: list[tuple[int, _Entry, frozenset[str]]] = []
        for bag, entries in subsets:
            rest = query - bag
            if rest & self.core_words:
                continue
            for entry in entries:
                if entry.structure is not None and not entry.is_muscle:
                    continue
                loose = rest <= self.lexicon.subdivisions | self.locators
                if entry.is_muscle and not structural and not loose:
                    continue
                acceptable.append((len(bag), entry, rest))
        if not acceptable:
            return None
        best = max(n for n, _, _ in acceptable)
        top: dict[str, tuple[_Entry, frozenset[str]]] = {}
        for n, entry, rest in acceptable:
            if n == best:
                top.setdefault(entry.target, (entry, rest))
        entries = [e for e, _ in top.values()]
        rest = next(iter(top.values()))[1]
        categories = {e.context.category for e in entries if e.context is not None}
        if all(e.context is not None and not e.is_muscle for e in entries) and len(categories) == 1:
            # Several names of one kind ("phalanx", "phalanges of hand"): a structure of that kind.
            if len(entries) == 1:
                return _Outcome(entries, "lexicon", readable=True)
            return _Outcome([], "lexicon", category=categories.pop(), readable=True)
        if len(entries) == 1 and entries[0].structure is not None:
            if rest <= self.locators:  # "Extensor indicis of hand": nothing merged
                return _Outcome(entries, "exact")
            return _Outcome(entries, "merged", rest=rest)
        return _Outcome(entries, "lexicon", readable=True)

    def _tree_related(self, words: tuple[str, ...]) -> bool:
        """A tree structure's name plus words that belong to no muscle: a variant we cannot place."""
        query = _bag(words)
        return any(
            bag < query and not (query - bag) & self.core_words and any(e.structure and e.is_muscle for e in entries)
            for bag, entries in self.bags.items()
        )

    def _spellings(self, word: str) -> list[str]:
        """The word itself if known, else the closest vocabulary words (≤ 1 edit per 4 letters,
        same first letter)."""
        if word in self._vocabulary_set or len(word) < 5:
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

    def _near_muscles(self, words: tuple[str, ...]) -> list[_Entry]:
        """Tree muscles one small misspelling away, known words included ("trapezium")."""
        options = []
        for word in words:
            limit = max(1, len(word) // 4)
            near = [v for v in self.vocabulary if v[0] == word[0] and abs(len(v) - len(word)) <= limit
                    and v != word and OSA.distance(word, v) <= limit] if len(word) >= 5 else []  # fmt: skip
            options.append([word, *near])
        found: dict[str, _Entry] = {}
        for combo in itertools.islice(itertools.product(*options), 64):
            for entry in self._lookup(combo):
                if entry.structure is not None and entry.is_muscle:
                    found.setdefault(entry.target, entry)
        return list(found.values())

    def _variants(self, words: tuple[str, ...]) -> list[tuple[str, ...]]:
        """The words, and with two neighbours joined when that makes a known word
        ("Semi Membranosus")."""
        variants = [words]
        for i in range(min(len(words), MAX_WORDS) - 1):
            joined = words[i] + words[i + 1]
            if joined in self._vocabulary_set:
                variants.append((*words[:i], joined, *words[i + 2 :]))
        return variants

    def _corrected(self, words: tuple[str, ...], structural: bool, contained: bool = True) -> list[_Outcome]:
        """Every spelling correction and joining; the distinct outcomes (one: accepted)."""
        combos: list[tuple[str, ...]] = []
        if len(words) > MAX_WORDS:  # no anatomical name is this long: nothing to correct
            return []
        for variant in self._variants(words):
            options = [self._spellings(w) for w in variant]
            combos += [c for c in itertools.islice(itertools.product(*options), 64) if c != words]
        if not combos:
            return []
        found: dict[str, _Outcome] = {}
        for combo in combos:
            hits = self._lookup(combo)
            if hits:
                found.setdefault("|".join(e.target for e in hits), _Outcome(hits, "corrected", self._fixes(words, combo)))
        if not found and contained:
            for combo in combos:
                outcome = self._contained(combo, structural)
                if outcome is not None:
                    key = "|".join(e.target for e in outcome.entries) or f"context:{outcome.category}"
                    outcome.note = self._fixes(words, combo)
                    found.setdefault(key, outcome)
        return list(found.values())

    @staticmethod
    def _fixes(words: tuple[str, ...], combo: tuple[str, ...]) -> str:
        if len(combo) < len(words):
            return "spelling corrected: " + " ".join(words) + " → " + " ".join(combo)
        return "spelling corrected: " + ", ".join(f"{w} → {c}" for w, c in zip(words, combo, strict=True) if w != c)

    # -----------------------------------------------------------------------------------------

    def _resolve(self, parsed: ParsedName) -> _Outcome | None:
        words = parsed.words
        hits = self._lookup(words)
        if hits:
            if parsed.muscle_word and len(hits) == 1 and hits[0].context and not hits[0].is_muscle and hits[0].lexicon:
                # "Trapezium muscle": a bone's name, called a muscle.
                muscles = self._near_muscles(words)
                if muscles:
                    return _Outcome(hits + muscles, "exact")
            return _Outcome(hits, "merged" if len(hits) == 1 and hits[0].merged else "exact")
        if parsed.category is not None:
            return self._by_kind(parsed)
        if len(words) == 1 and words[0] in self.abbreviations:
            return _Outcome(self.abbreviations[words[0]], "abbreviation")
        compact = "".join(words)
        if compact in self.abbreviations:  # "BFLH" split oddly, or "GMax"
            return _Outcome(self.abbreviations[compact], "abbreviation")
        for variant in self._variants(words)[1:]:  # "sterno_thyroid", before "thyroid" is seen in it
            if hits := self._lookup(variant):
                return _Outcome(hits, "corrected", self._fixes(words, variant))
        outcome = self._contained(words, parsed.structural)
        if outcome is not None:
            return outcome
        outcomes = self._corrected(words, parsed.structural)
        if len(outcomes) == 1:
            return outcomes[0]
        entries = list({e.target: e for o in outcomes for e in o.entries}.values())
        if len(entries) > 1:  # tied spellings: reported, or resolved by the data set's body part
            return _Outcome(entries, "corrected", f"{' '.join(words)!r} could be spelt as any of these")
        if parsed.muscle_word and not self._tree_related(words):
            return _Outcome([], "kind", "not in the atlas's structure tree: drawn as context", category="muscle")
        if set(words) & self.lexicon.weak:
            return _Outcome([], "kind", category="other")
        return None

    def _by_kind(self, parsed: ParsedName) -> _Outcome:
        """A name with a kind word: context of that kind, whatever else it says."""
        category = parsed.category
        # A misspelt tree structure whose own name has the kind word (tensor fascia lata).
        for outcome in self._corrected(parsed.words, parsed.structural, False):
            entry = outcome.entries[0] if len(outcome.entries) == 1 else None
            if entry is None:
                continue
            if entry.structure is not None and parsed.kind_words & self.tree_kind_words:
                return outcome
            if entry.context is not None and entry.context.category == category:
                outcome.readable = entry.lexicon
                return outcome
        reduced = tuple(w for w in parsed.words if w not in parsed.kind_words and w not in self.lexicon.weak)
        # "Femur bone" is the femur; "Spine of scapula" is more than the scapula: shown as it is.
        specific = bool(parsed.kind_words - {self.lexicon.normalise(category or "")})
        if reduced:
            same_kind = [e for e in self.bags.get(_bag(reduced), []) if e.context and e.context.category == category]
            if same_kind:
                return _Outcome(same_kind[:1], "kind", readable=same_kind[0].lexicon or specific)
            for outcome in self._corrected(reduced, parsed.structural, False):
                same_kind = [e for e in outcome.entries if e.context and e.context.category == category]
                if same_kind:
                    return _Outcome(same_kind[:1], "kind", outcome.note, readable=same_kind[0].lexicon or specific)
        return _Outcome([], "kind", category=category, readable=True)

    def match(self, name: str, key: str | None = None) -> MatchResult:
        parsed = parse_name(name)
        result = MatchResult(key=key if key is not None else name, name=name, status="unmatched", side=parsed.side)
        if not parsed.words:
            return result
        outcome = self._resolve(parsed)
        if outcome is None:
            result.candidates = self._candidates(parsed.words)
            return result
        if len(outcome.entries) > 1:
            result.status = "ambiguous"
            result.candidates = [Candidate(e.target, self._candidate_name(e), 100.0) for e in outcome.entries]
            result.note = outcome.note or f"{' '.join(parsed.words)!r} could be any of these"
            result.method = outcome.method
            return result
        if not outcome.entries:  # a generic structure of a kind
            ctx = self.categories.get(outcome.category or "other")
            result.status = "context"
            result.path = f"context:{ctx.slug if ctx else outcome.category}"
            result.structure = readable_name(name) or (ctx.name if ctx else outcome.category)
            result.kind = outcome.category
            result.method = outcome.method
            result.note = outcome.note
            return result
        self._fill(result, outcome.entries[0], outcome.method)
        if result.status == "context" and (outcome.readable or outcome.entries[0].lexicon):
            result.structure = readable_name(name) or result.structure
        if outcome.method == "merged" and outcome.rest:
            result.note = f"{self._merged_words(name, outcome.rest)} merged into {result.structure}"
        if outcome.note:
            result.note = f"{result.note}; {outcome.note}" if result.note else outcome.note
        if result.status == "context" and result.kind == "muscle" and not result.note:
            result.note = "not in the atlas's structure tree: drawn as context"
        return result

    def _merged_words(self, name: str, rest: frozenset[str]) -> str:
        """The words of a label that named the head or part: "superficial head"."""
        tokens = readable_name(name).split()
        kept = [t.lower() for t in tokens if t.lower() in STRUCTURAL_WORDS or self.lexicon.normalise(t.lower()) in rest]
        if not any(t in STRUCTURAL_WORDS for t in kept):
            kept.append("part")  # "Upper trapezius": the upper part
        return " ".join(kept)

    @staticmethod
    def _candidate_name(entry: _Entry) -> str:
        if entry.context is not None and entry.lexicon:
            return f"{entry.display} ({CATEGORY_NAMES.get(entry.context.category, entry.context.category)})"
        return entry.display

    def _candidates(self, words: tuple[str, ...], limit: int = 3) -> list[Candidate]:
        """Closest structures: every word of a phrase scored by its best-matching query word."""
        words = tuple(dict.fromkeys(words))[:MAX_WORDS]  # a hostile name of 60 000 words stays quick
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
    # The body-part prior

    def part_of(self, target: str) -> tuple[str, str | None] | None:
        """(limb slug, region slug) of a tree path; None for context."""
        structure = self.tree.by_path.get(target)
        if structure is None:
            return None
        structure = _canonical(structure, self.tree)
        region = structure.region
        return structure.limb.slug, region.slug if region is not None else None

    def apply_prior(self, results: list[MatchResult], share: float = 0.8, least: int = 3) -> None:
        """Resolve ambiguous names inside the limb (then region) that the data set's matched
        structures lie in, when at least ``share`` of them do. Ambiguity that remains stays."""
        parts = [p for r in results if r.status == "matched" and r.path and (p := self.part_of(r.path))]
        if len(parts) < least:
            return
        dominant: list[tuple[int, str]] = []
        for level in (0, 1):
            counts = Counter(p[level] for p in parts if p[level] is not None)
            if counts:
                slug, count = counts.most_common(1)[0]
                if count >= share * len(parts):
                    dominant.append((level, slug))  # type: ignore[arg-type]
        for result in results:
            if result.status != "ambiguous" or not result.candidates:
                continue
            for level, slug in dominant:
                inside = [c for c in result.candidates
                          if (p := self.part_of(c.target)) is None or p[level] == slug]  # fmt: skip
                if len(inside) == 1 and self.part_of(inside[0].target) is not None:
                    self._resolve_to(result, inside[0].target, slug, level)
                    break

    def _resolve_to(self, result: MatchResult, target: str, slug: str, level: int) -> None:
        structure = _canonical(self.tree.by_path[target], self.tree)
        place = next(s for s in self.tree if s.slug == slug and s.kind == ("limb", "region")[level])
        result.status = "matched"
        result.code, result.path, result.structure, result.kind = (
            structure.code, structure.path, structure.name, structure.kind,
        )  # fmt: skip
        result.method = result.method or "exact"
        result.note = f"resolved within {place.name.lower()} (the body part of the other labels)"
        result.candidates = []

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
    return Matcher(load_tree(), load_context(), yamlio.safe_load(text))


def match_labels(
    names: dict[str, str], mapping: dict[str, MatchResult] | None = None, matcher: Matcher | None = None
) -> list[MatchResult]:
    """Match every ``key → name`` (label value or file name → name); the mapping wins. Names
    that stay ambiguous are resolved inside the body part the data set's matches lie in."""
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
    matcher.apply_prior(results)
    return results
