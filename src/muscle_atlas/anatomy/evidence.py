"""The evidence of a source's frame: where its matched structures lie (:class:`Placed`), and the
vectors between pairs of them that point superior (region above region), anterior (anterior group
in front of posterior group), lateral (lateral of medial) and to the left (left of right)."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from functools import cache

import numpy as np

from muscle_atlas.anatomy.match import MatchResult
from muscle_atlas.anatomy.tree import Structure, load_tree

# Typical height of each region's muscles above the ground in anatomical position (mm, adult).
# Only differences of at least MIN_HEIGHT_GAP are used, so the figures need only be coarse.
REGION_HEIGHT_MM = {
    "head": 1620, "neck": 1500, "shoulder": 1380, "arm": 1180, "back": 1150,
    "abdomen": 1020, "forearm": 900, "hip": 900, "thigh": 620, "leg": 280,
}  # fmt: skip
MIN_HEIGHT_GAP_MM = 200
MIN_GAP_FRACTION = 0.4  # centroids of regions this much of their height difference apart, at least


@dataclass
class Placed:
    """A matched structure and where it lies in the source frame."""

    match: MatchResult
    centroid: np.ndarray
    length: float  # principal extent, source units


def _unit(v: np.ndarray) -> np.ndarray | None:
    n = float(np.linalg.norm(v))
    return v / n if n > 1e-12 else None


def _consensus(vectors: list[np.ndarray]) -> tuple[np.ndarray | None, float, int]:
    """Mean of unit vectors: direction, agreement (0..1) and count."""
    units = [u for u in (_unit(v) for v in vectors) if u is not None]
    if not units:
        return None, 0.0, 0
    mean = np.mean(units, axis=0)
    strength = float(np.linalg.norm(mean))
    return _unit(mean), strength, len(units)


def _structure(match: MatchResult) -> Structure | None:
    tree = load_tree()
    return tree.by_code.get(match.code) if match.code is not None else None


def _words(structure: Structure) -> set[str]:
    text = " ".join(n.name + " " + n.slug for n in [*structure.ancestors(), structure])
    return set(re.findall(r"[a-z]+", text.lower()))


def _own_words(structure: Structure) -> set[str]:
    return set(re.findall(r"[a-z]+", (structure.name + " " + structure.slug).lower()))


def _groups(placed: list[Placed], key) -> dict[tuple, list[Placed]]:
    found: dict[tuple, list[Placed]] = {}
    for p in placed:
        k = key(p)
        if k is not None:
            found.setdefault(k, []).append(p)
    return found


def _mean(items: list[Placed]) -> np.ndarray:
    return np.mean([p.centroid for p in items], axis=0)


@cache
def _two_region_codes() -> frozenset[int]:
    """Structures shown in two regions (psoas major and iliacus in thigh and abdomen, trapezius
    in shoulder and back …) and every structure that contains one: their bellies do not sit at
    their region's height, so they say nothing about which way is up."""
    tree = load_tree()
    codes: set[int] = set()
    for structure in tree:
        if structure.same_as:
            canonical = tree.by_code[structure.same_as]
            codes.update(n.code for n in [*canonical.ancestors(), canonical] if n.kind in ("muscle", "head"))
    return frozenset(codes)


def superior_evidence(placed: list[Placed], scale: float = 1.0) -> list[np.ndarray]:
    """Region above region, within a side: vectors pointing superior. A pair whose centroids
    lie much closer than their regions' heights differ (a small field of view, where the
    regions meet) is left out: its direction is mostly horizontal."""

    def region_side(p: Placed) -> tuple | None:
        s = _structure(p.match)
        region = s.region if s else None
        if region is None or region is s or region.slug not in REGION_HEIGHT_MM or s.code in _two_region_codes():
            return None
        return (region.slug, p.match.side or "none")

    regions = {k: _mean(v) for k, v in _groups(placed, region_side).items()}
    vectors = []
    for (ra, sa), (rb, sb) in itertools.combinations(regions, 2):
        if sa != sb and "none" not in (sa, sb):
            continue
        gap = REGION_HEIGHT_MM[ra] - REGION_HEIGHT_MM[rb]
        d = regions[(ra, sa)] - regions[(rb, sb)]
        if abs(gap) >= MIN_HEIGHT_GAP_MM and np.linalg.norm(d) * scale >= MIN_GAP_FRACTION * abs(gap):
            vectors.append(d if gap > 0 else -d)
    return vectors


def _pair_evidence(placed: list[Placed], first: set[str], second: set[str], own_only: bool) -> list[np.ndarray]:
    """Within each region and side: the centroid of structures named with a word of ``first``
    minus that of those named with ``second``."""

    def key(p: Placed) -> tuple | None:
        s = _structure(p.match)
        if s is None or s.region is None:
            return None
        words = _own_words(s) if own_only else _words(s)
        a, b = bool(words & first), bool(words & second)
        if a == b:
            return None
        return (s.region.slug, p.match.side or "none", "first" if a else "second")

    groups = _groups(placed, key)
    vectors = []
    for (region, side, which), items in groups.items():
        other = groups.get((region, side, "second"))
        if which == "first" and other:
            vectors.append(_mean(items) - _mean(other))
    return vectors


def anterior_evidence(placed: list[Placed]) -> list[np.ndarray]:
    return _pair_evidence(placed, {"anterior", "anterolateral"}, {"posterior"}, own_only=False)


def lateral_evidence(placed: list[Placed]) -> dict[str, list[np.ndarray]]:
    """Per side: lateral minus medial (vastus lateralis − medialis, lateral − medial heads)."""
    lateral, medial = {"lateral", "lateralis"}, {"medial", "medialis"}
    return {
        side: _pair_evidence([p for p in placed if p.match.side == side], lateral, medial, own_only=True)
        for side in ("left", "right")
    }


def left_evidence(placed: list[Placed]) -> list[np.ndarray]:
    """The same structure labelled left and right: vectors pointing to the subject's left."""
    by_path = _groups(placed, lambda p: (p.match.path,) if p.match.side in ("left", "right") else None)
    vectors = []
    for items in by_path.values():
        left = [p for p in items if p.match.side == "left"]
        right = [p for p in items if p.match.side == "right"]
        if left and right:
            vectors.append(_mean(left) - _mean(right))
    return vectors
