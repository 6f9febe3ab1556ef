"""Group plots as inline SVG, readable without JavaScript: per group a box plot (median, quartiles,
whiskers to the furthest value within 1.5 IQR) and beside it a strip of every subject's value or,
for a group of more than :data:`POINTS_MAX` subjects, the density of its values within the whiskers
(a violin: a Gaussian kernel density estimate, Scott's bandwidth) and the values beyond them as
points. A plot's
size is then bounded by the number of groups, not of subjects.

Each plot has a ``<title>`` and ``<desc>`` (named by ``aria-labelledby``) summarising it in words;
its numbers go in a table beside it (the ``plot`` macro of ``_macros.html``). Groups are told apart
by position and name on the axis, never by colour alone.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from markupsafe import Markup, escape

from muscle_atlas.web.format import fmt
from muscle_atlas.web.svg import frame, nice_limits, nice_ticks, svg_open, y_label, y_ticks

HEIGHT = 270
LEFT, RIGHT, TOP, BOTTOM = 60, 12, 18, 58
BAND = 84  # pixels per group
BOX_COLOUR, POINT_COLOUR, REFERENCE_COLOUR = "#4d5965", "#0072b2", "#d55e00"
POINTS_MAX = 200  # a larger group is drawn as a density, its values beyond the whiskers as points
OUTLIERS_MAX = 60  # of those, at most this many (the furthest from the median) per group
DENSITY_STEPS = 64  # points along the density's outline
VIOLIN_HALF = 15.0  # pixels: the half-width of a violin at its widest


def whiskers(x: np.ndarray) -> tuple[float, float, float, float, float]:
    """(low whisker, first quartile, median, third quartile, high whisker): the whiskers reach the
    furthest values within 1.5 IQR of the quartiles."""
    q1, median, q3 = (float(v) for v in np.percentile(x, [25, 50, 75]))
    iqr = q3 - q1
    return float(x[x >= q1 - 1.5 * iqr].min()), q1, median, q3, float(x[x <= q3 + 1.5 * iqr].max())


def beyond_whiskers(values: Sequence[float]) -> list[int]:
    """Indices of the values beyond the whiskers, the furthest from the median first, at most
    :data:`OUTLIERS_MAX`."""
    x = np.asarray(values, dtype=float)
    if x.size == 0:
        return []
    low, _, median, _, high = whiskers(x)
    outside = np.nonzero((x < low) | (x > high))[0]
    order = np.argsort(-np.abs(x[outside] - median), kind="stable")
    return [int(i) for i in outside[order][:OUTLIERS_MAX]]


def density(values: Sequence[float], y0: float, y1: float) -> tuple[np.ndarray, np.ndarray]:
    """(ys, densities scaled to a maximum of 1) over the values' range: a Gaussian kernel density
    estimate with Scott's bandwidth (σ n^(−1/5)), computed on the values binned finely (512 bins:
    linear in the number of values)."""
    x = np.asarray(values, dtype=float)
    lo, hi = float(x.min()), float(x.max())
    ys = np.linspace(max(y0, lo), min(y1, hi), DENSITY_STEPS)
    sd = float(x.std(ddof=1)) if x.size > 1 else 0.0
    if hi <= lo or sd == 0:
        return ys, np.ones_like(ys)
    bandwidth = sd * x.size ** (-1 / 5)
    counts, edges = np.histogram(x, bins=512, range=(lo, hi))
    centres = (edges[:-1] + edges[1:]) / 2
    dens = (counts[None, :] * np.exp(-0.5 * ((ys[:, None] - centres[None, :]) / bandwidth) ** 2)).sum(axis=1)
    return ys, dens / (dens.max() or 1.0)


def _offsets(values: Sequence[float], scale: float, spread: float = 9.0) -> list[float]:
    """Horizontal offsets of a strip: values closer than a point's width step aside, in turn."""
    order = np.argsort(values, kind="stable")
    offsets = [0.0] * len(values)
    placed: list[tuple[float, float]] = []
    for index in order:
        y = values[index] * scale
        near = [dx for py, dx in placed if abs(py - y) < 6.5]
        candidates = [0.0, *[s * k * 4.5 for k in range(1, 4) for s in (-1, 1)]]
        dx = next((c for c in candidates if all(abs(c - d) >= 4.5 for d in near)), 0.0)
        offsets[index] = max(-spread, min(spread, dx))
        placed.append((y, dx))
    return offsets


def group_plot_svg(ident: str, title: str, desc: str, groups: Sequence[tuple[str, Sequence[float]]], ylabel: str,
                   reference: str | None = None) -> Markup:  # fmt: skip
    """One band per group: a box plot on the left, on the right the values as a strip, or the
    density and the values beyond the whiskers for a group of more than :data:`POINTS_MAX`."""
    all_values = [v for _, vs in groups for v in vs]
    y0, y1 = nice_limits(min(all_values, default=0.0), max(all_values, default=1.0))
    width = LEFT + RIGHT + BAND * max(len(groups), 2)
    plot_w, plot_h = width - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def py(y: float) -> float:
        return TOP + plot_h - (y - y0) / ((y1 - y0) or 1.0) * plot_h

    parts = [*svg_open(ident, title, desc, width, HEIGHT, "plot study-plot"), *frame(LEFT, TOP, plot_w, plot_h)]
    parts += y_ticks(nice_ticks(y0, y1), py, LEFT, plot_w, css="")
    parts.append(y_label(ylabel, TOP + plot_h / 2))
    parts.append("</g>")
    scale = plot_h / ((y1 - y0) or 1.0)
    for index, (name, values) in enumerate(groups):
        centre = LEFT + BAND * (index + 0.5)
        is_reference = name == reference
        parts.append('<g class="group" aria-hidden="true">')
        label = name if len(name) <= 13 else name[:12] + "…"
        parts.append(f'<text class="group-label" x="{centre:.1f}" y="{TOP + plot_h + 17}" text-anchor="middle">'
                     f"{escape(label)}</text>")  # fmt: skip
        note = f"n = {len(values):,}" + (" · ref." if is_reference else "")
        parts.append(f'<text x="{centre:.1f}" y="{TOP + plot_h + 32}" text-anchor="middle">{escape(note)}</text>')
        if values:
            x = np.asarray(values, dtype=float)
            low, q1, median, q3, high = whiskers(x)
            bx = centre - 26
            colour = REFERENCE_COLOUR if is_reference else BOX_COLOUR
            parts.append(f'<line class="whisker" x1="{bx:.1f}" y1="{py(low):.1f}" x2="{bx:.1f}" y2="{py(q1):.1f}" '
                         f'stroke="{colour}"/>')  # fmt: skip
            parts.append(f'<line class="whisker" x1="{bx:.1f}" y1="{py(q3):.1f}" x2="{bx:.1f}" y2="{py(high):.1f}" '
                         f'stroke="{colour}"/>')  # fmt: skip
            for w in (low, high):
                parts.append(f'<line class="whisker" x1="{bx - 5:.1f}" y1="{py(w):.1f}" x2="{bx + 5:.1f}" y2="{py(w):.1f}" '
                             f'stroke="{colour}"/>')  # fmt: skip
            top, bottom = py(q3), py(q1)
            dash = ' stroke-dasharray="4 2"' if is_reference else ""
            parts.append(f'<rect class="box" x="{bx - 11:.1f}" y="{top:.1f}" width="22" height="{max(bottom - top, 1):.1f}" '
                         f'stroke="{colour}" fill="#fff"{dash}/>')  # fmt: skip
            parts.append(f'<line class="median" x1="{bx - 11:.1f}" y1="{py(median):.1f}" x2="{bx + 11:.1f}" '
                         f'y2="{py(median):.1f}" stroke="{colour}"/>')  # fmt: skip
            sx = centre + 18
            if len(values) <= POINTS_MAX:
                for value, dx in zip(values, _offsets(list(values), scale), strict=True):
                    parts.append(f'<circle class="point" cx="{sx + dx:.1f}" cy="{py(value):.1f}" r="3.3" '
                                 f'fill="{POINT_COLOUR}"/>')  # fmt: skip
            else:
                ys, dens = density([v for v in values if low <= v <= high], low, high)
                right = [f"{sx + VIOLIN_HALF * w:.1f},{py(y):.1f}" for y, w in zip(ys, dens, strict=True)]
                left = [f"{sx - VIOLIN_HALF * w:.1f},{py(y):.1f}" for y, w in zip(ys[::-1], dens[::-1], strict=True)]
                parts.append(f'<polygon class="density" points="{" ".join(right + left)}" fill="{POINT_COLOUR}" '
                             f'stroke="{POINT_COLOUR}"/>')  # fmt: skip
                for i in beyond_whiskers(values):
                    parts.append(f'<circle class="point" cx="{sx:.1f}" cy="{py(values[i]):.1f}" r="2.6" '
                                 f'fill="{POINT_COLOUR}"/>')  # fmt: skip
        parts.append("</g>")
    parts.append("</svg>")
    return Markup("\n".join(parts))  # noqa: S704 - every text above is escaped


def describe_groups(groups: Sequence[tuple[str, Sequence[float]]], unit: str) -> str:
    """The plot in words: each group's median and range, and how it is drawn."""
    texts = []
    for name, values in groups:
        if not values:
            continue
        x = np.asarray(values, dtype=float)
        drawn = (
            ""
            if len(values) <= POINTS_MAX
            else f" (drawn as a density, {len(beyond_whiskers(values))} values beyond the whiskers as points)"
        )
        texts.append(f"{name}: median {fmt(float(np.median(x)))}{' ' + unit if unit else ''}, "
                     f"range {fmt(float(x.min()))} to {fmt(float(x.max()))}, n = {len(values):,}{drawn}")  # fmt: skip
    return "; ".join(texts) + "."


BAR_ROW, BAR_LABEL, BAR_WIDTH = 24, 118, 330


def bars_svg(ident: str, title: str, counts: Sequence[tuple[str, int]], noun: str = "subjects") -> Markup:
    """Horizontal bars, one per category, each labelled with its name and count."""
    height = 8 + BAR_ROW * len(counts)
    top = max((n for _, n in counts), default=1) or 1
    span = BAR_WIDTH - BAR_LABEL - 58
    desc = "; ".join(f"{name}: {n:,} {noun}" for name, n in counts) + "."
    parts = [*svg_open(ident, title, desc, BAR_WIDTH, height, "plot study-bars"), '<g aria-hidden="true">']
    for index, (name, n) in enumerate(counts):
        y = 4 + BAR_ROW * index
        label = name if len(name) <= 16 else name[:15] + "…"
        width = max(1.0, span * n / top)
        parts.append(f'<text x="{BAR_LABEL - 6}" y="{y + 15}" text-anchor="end">{escape(label)}</text>')
        parts.append(f'<rect class="bar" x="{BAR_LABEL}" y="{y + 3}" width="{width:.1f}" height="{BAR_ROW - 8}" '
                     f'fill="{POINT_COLOUR}"/>')  # fmt: skip
        parts.append(f'<text class="bar-count" x="{BAR_LABEL + width + 5:.1f}" y="{y + 15}">{n:,}</text>')
    parts.append("</g></svg>")
    return Markup("\n".join(parts))  # noqa: S704 - every text above is escaped
