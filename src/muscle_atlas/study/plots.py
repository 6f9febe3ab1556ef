"""Group plots as inline SVG, readable without JavaScript: per group a box plot (median, quartiles,
whiskers to the furthest value within 1.5 IQR) and beside it a strip of every subject's value.

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


def strip_box_svg(ident: str, title: str, desc: str, groups: Sequence[tuple[str, Sequence[float]]], ylabel: str,
                  reference: str | None = None) -> Markup:  # fmt: skip
    """One band per group: a box plot on the left, the values as a strip on the right."""
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
        note = f"n = {len(values)}" + (" · ref." if is_reference else "")
        parts.append(f'<text x="{centre:.1f}" y="{TOP + plot_h + 32}" text-anchor="middle">{escape(note)}</text>')
        if values:
            x = np.asarray(values, dtype=float)
            q1, median, q3 = (float(v) for v in np.percentile(x, [25, 50, 75]))
            iqr = q3 - q1
            low = float(x[x >= q1 - 1.5 * iqr].min())
            high = float(x[x <= q3 + 1.5 * iqr].max())
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
            for value, dx in zip(values, _offsets(list(values), scale), strict=True):
                parts.append(f'<circle class="point" cx="{sx + dx:.1f}" cy="{py(value):.1f}" r="3.3" '
                             f'fill="{POINT_COLOUR}"/>')  # fmt: skip
        parts.append("</g>")
    parts.append("</svg>")
    return Markup("\n".join(parts))  # noqa: S704 - every text above is escaped


def describe_groups(groups: Sequence[tuple[str, Sequence[float]]], unit: str) -> str:
    """The plot in words: each group's median and range."""
    texts = []
    for name, values in groups:
        if not values:
            continue
        x = np.asarray(values, dtype=float)
        texts.append(f"{name}: median {fmt(float(np.median(x)))}{' ' + unit if unit else ''}, "
                     f"range {fmt(float(x.min()))} to {fmt(float(x.max()))}, n = {len(values)}")  # fmt: skip
    return "; ".join(texts) + "."
