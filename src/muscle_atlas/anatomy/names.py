"""Label names cut into words and brought to one form: side words taken out, filler words dropped,
Latin declensions and English equivalents unified (``longus`` → ``long``, ``bicipitis`` →
``biceps``); the lexicon of word forms, kind words, qualifiers and the names of structures outside
the tree (``lexicon.yaml``); and :func:`parse_name`, which the matcher resolves."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

from muscle_atlas import yamlio
from muscle_atlas.anatomy.tree import StructureTree, load_tree

SIDE_WORDS = {
    "left": "left", "l": "left", "lt": "left", "links": "left", "sin": "left", "sinister": "left",
    "right": "right", "r": "right", "rt": "right", "rechts": "right", "dex": "right", "dx": "right",
    "dexter": "right",
}  # fmt: skip
FILLER_WORDS = {
    "muscle", "muscles", "musculus", "musculi", "m", "mm", "of", "the", "head", "heads", "caput",
    "capita", "part", "parts", "pars", "partes", "portion", "portio", "belly", "venter", "fibers",
    "fibres", "smooth", "vhf", "vhm", "label", "seg", "mask",
}  # fmt: skip
# Words that say the name is a subdivision of something: "X head of Y", "pars X musculi Y".
STRUCTURAL_WORDS = {
    "head", "heads", "caput", "capita", "part", "parts", "pars", "partes", "portion", "portio",
    "belly", "venter", "fibers", "fibres",
}  # fmt: skip
NOISE_WORDS = {"vhf", "vhm", "smooth", "label", "seg", "mask"}  # not shown in readable names
PREFIX_WORDS = {"muscle", "bone", "cartilage", "ligament", "tendon", "nerve", "artery", "vein", "fat"}
CATEGORY_NAMES = {
    "muscle": "muscle outside the atlas", "bone": "bone", "cartilage": "cartilage", "ligament": "ligament",
    "tendon": "tendon", "fascia": "fascia", "nerve": "nerve", "artery": "artery", "vein": "vein",
    "vessel": "vessel", "organ": "organ", "fat": "fat", "other": "other",
}  # fmt: skip

MAX_WORDS = 16  # words of a name that spelling correction and candidates look at


def _stem(word: str) -> str:
    if len(word) > 4 and word.endswith("s") and not word.endswith(("us", "is", "ss")):
        return word[:-1]
    return word


def _latin(word: str) -> str:
    """Latin genitives that follow a rule: flexoris → flexor, bicipitis → biceps, deltoidei →
    deltoideus, gastrocnemii → gastrocnemius, recti → rectus."""
    if word.endswith("cipitis"):
        return word[: -len("cipitis")] + "ceps"
    if len(word) >= 7 and word.endswith(("toris", "soris", "xoris", "joris", "noris", "ioris")):
        return word[:-2]
    if len(word) >= 5 and word.endswith(("ii", "ei")):
        return word[:-1] + "us"
    if len(word) >= 5 and word[-1] == "i" and word[-2] not in "aeiouy":
        return word[:-1] + "us"
    return word


def _normalise_with(word: str, forms: dict[str, str]) -> str:
    if word in forms:
        return forms[word]
    stem = _stem(_latin(word))
    return forms.get(stem, stem)


def _spaced(name: str) -> str:
    """CamelCase and words glued to numbers apart: ``BicepsFemorisLong``, ``Metatarsal1``."""
    text = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name)
    text = re.sub(r"(?<=[A-Z])(?=[A-Z][a-z])", " ", text)
    return re.sub(r"(?<=[A-Za-z]{2})(?=\d)", " ", text)


def split_words(name: str) -> list[str]:
    """``VHF_Left_Muscle_BicepsFemorisLong_smooth`` → [vhf, left, muscle, biceps, femoris, long, smooth]."""
    text = _spaced(name)
    words = re.split(r"[^A-Za-z0-9]+", text)
    # Label numbers and level names (5, L5, T12, S1) carry no anatomy for matching.
    return [w.lower() for w in words if w and not re.fullmatch(r"[a-zA-Z]?\d+", w)]


def readable_name(name: str) -> str:
    """The label as a person would write it: ``Proximal_phalanx_of_fifth_finger_of_hand_r`` →
    ``Proximal phalanx of fifth finger of hand``, ``VHM_Right_Muscle_FlexorDigitorumBrevis_smooth``
    → ``Flexor digitorum brevis``."""
    tokens = [t for t in re.split(r"[^A-Za-z0-9]+", _spaced(name)) if t]
    kept = [t for t in tokens if t.lower() not in SIDE_WORDS and t.lower() not in NOISE_WORDS and not t.isdigit()]
    if len(kept) > 1 and kept[0].lower() in PREFIX_WORDS and kept[1][:1].isupper():
        # A kind given as a prefix (VHM_Right_Muscle_Soleus, VHM_Left_Artery_Femoral): said last.
        kept = kept[1:] + ([] if kept[0].lower() == "muscle" else [kept[0]])
    words = [t if len(t) > 1 and t.isupper() else t.lower() for t in kept]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


# ---------------------------------------------------------------------------------------------
# The lexicon: word forms, kind words, qualifiers and the names of structures outside the tree


@dataclass(frozen=True)
class LexiconName:
    name: str
    kind: str  # a context category, or "muscle" for muscles outside the tree
    part: str | None  # limb or region slug of the tree


@dataclass(frozen=True)
class Lexicon:
    forms: dict[str, str]  # word → its one form
    kinds: dict[str, str]  # normalised kind word → category
    weak: frozenset[str]
    muscle_words: frozenset[str]
    qualifiers: frozenset[str]
    subdivisions: frozenset[str]
    locators: frozenset[str]
    names: tuple[LexiconName, ...]

    def normalise(self, word: str) -> str:
        return _normalise_with(word, self.forms)


def _learned_genitives(tree: StructureTree) -> dict[str, str]:
    """Genitive → nominative pairs that the tree's Latin names teach: "Caput longum musculi
    bicipitis brachii" under "Musculus biceps brachii" gives bicipitis → biceps."""
    pairs: dict[str, str] = {}
    for structure in tree:
        parent = structure.parent
        if structure.facts is None or parent is None or parent.facts is None:
            continue
        latin = structure.facts.latin.lower().split()
        nominative = parent.facts.latin.lower().split()
        if "musculi" not in latin or not nominative or nominative[0] != "musculus":
            continue
        genitive = latin[latin.index("musculi") + 1 :]
        if len(genitive) == len(nominative) - 1:
            for gen, nom in zip(genitive, nominative[1:], strict=True):
                if gen != nom:
                    pairs.setdefault(gen, nom)
    return pairs


@cache
def load_lexicon() -> Lexicon:
    text = (resources.files("muscle_atlas.anatomy") / "data" / "lexicon.yaml").read_text(encoding="utf-8")
    data = yamlio.safe_load(text)
    pairs = [*_learned_genitives(load_tree()).items()]
    pairs += [(str(v), str(canonical)) for canonical, variants in data["forms"].items() for v in variants]
    # The one form is itself normalised, as every word of the index is: teretis → teres → "tere".
    forms = {variant: _stem(_latin(canonical)) for variant, canonical in pairs}

    def norm(words: list[str]) -> frozenset[str]:
        return frozenset(_normalise_with(str(w), forms) for w in words)

    kinds = {word: category for category, words in data["kinds"].items() for word in norm(words)}
    names = tuple(
        LexiconName(str(name), group["kind"], group.get("part")) for group in data["names"] for name in group["names"]
    )
    return Lexicon(
        forms=forms,
        kinds=kinds,
        weak=norm(data["weak"]),
        muscle_words=norm(data["muscle_words"]) | frozenset(data["muscle_words"]),
        qualifiers=norm(data["qualifiers"]),
        subdivisions=norm(data["subdivisions"]),
        locators=norm(data["locators"]),
        names=names,
    )


# ---------------------------------------------------------------------------------------------
# Parsing


@dataclass(frozen=True)
class ParsedName:
    words: tuple[str, ...]  # normalised, without side and filler words (kind words kept)
    side: str | None
    category: str | None  # the kind its kind word gives (bone, nerve …), if it has one
    raw_words: tuple[str, ...]
    structural: bool = False  # "head", "part", "caput", "pars" …: a subdivision of something
    muscle_word: bool = False  # "muscle", "musculus", "flexor" …
    kind_words: frozenset[str] = frozenset()


def _category(raw: list[str], normalised: list[str], lexicon: Lexicon) -> tuple[str | None, frozenset[str]]:
    """The kind of a name from its kind words: the one at the start or before "of" wins
    ("Fascia of the masseter", "Arteria radialis"), else the last one ("Median nerve")."""
    positions = [i for i, (w, n) in enumerate(zip(raw, normalised, strict=True))
                 if n in lexicon.kinds and w not in SIDE_WORDS]  # fmt: skip
    if not positions:
        return None, frozenset()
    words = frozenset(normalised[i] for i in positions)
    first = next((i for i, w in enumerate(raw) if w not in SIDE_WORDS and w not in NOISE_WORDS), 0)
    if positions[0] == first:
        return lexicon.kinds[normalised[first]], words
    if "of" in raw:
        before = [i for i in positions if i < raw.index("of")]
        return lexicon.kinds[normalised[(before or positions)[0]]], words
    return lexicon.kinds[normalised[positions[-1]]], words


def parse_name(name: str) -> ParsedName:
    lexicon = load_lexicon()
    raw = split_words(name)
    normalised = [lexicon.normalise(w) for w in raw]
    sides = {SIDE_WORDS[w] for w in raw if w in SIDE_WORDS}
    side = sides.pop() if len(sides) == 1 else None
    kept = [n for w, n in zip(raw, normalised, strict=True) if w not in SIDE_WORDS and w not in FILLER_WORDS]
    if not kept:  # e.g. a region called "Head"
        kept = [n for w, n in zip(raw, normalised, strict=True) if w not in SIDE_WORDS]
    category, kind_words = _category(raw, normalised, lexicon)
    return ParsedName(
        words=tuple(kept),
        side=side,
        category=category,
        raw_words=tuple(raw),
        structural=any(w in STRUCTURAL_WORDS for w in raw),
        muscle_word=any(
            w in lexicon.muscle_words or n in lexicon.muscle_words for w, n in zip(raw, normalised, strict=True)
        ),
        kind_words=kind_words,
    )


def _bag(words: tuple[str, ...] | list[str]) -> frozenset[str]:
    return frozenset(words)
