"""SVG plots written by hand (no plotting library, no JavaScript): axes with round ticks and
units, a ``<title>`` and ``<desc>`` named by ``aria-labelledby``; histograms, lines and colour
bars, and the parts (frame, ticks, labels) other plots are drawn with. Every text is escaped."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from muscle_atlas.web.format import minus


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values between ``low`` and ``high`` (about ``count`` of them)."""
    if not (math.isfinite(low) and math.isfinite(high)) or high <= low:
        return [low]
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.ceil(low / step - 1e-9) * step
    ticks = []
    value = first
    while value <= high + step * 1e-9:
        ticks.append(round(value, 12))
        value += step
    return ticks


def nice_limits(low: float, high: float, count: int = 5) -> tuple[float, float]:
    """``low`` and ``high`` widened to round tick values."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return 0.0, 1.0
    if high <= low:
        pad = abs(low) * 0.1 or 1.0
        low, high = low - pad, high + pad
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    return math.floor(low / step + 1e-9) * step, math.ceil(high / step - 1e-9) * step


def tick_text(value: float, ticks: Sequence[float]) -> str:
    """A tick's label with as many decimals as the step between ticks needs, and a true minus."""
    step = abs(ticks[1] - ticks[0]) if len(ticks) > 1 else abs(value) or 1.0
    decimals = 0
    while decimals < 6 and abs(round(step * 10**decimals) - step * 10**decimals) > 1e-6:
        decimals += 1
    return minus(f"{value:.{decimals}f}")


@dataclass
class Series:
    label: str
    colour: str
    dash: str
    xs: list[float]
    ys: list[float]


WIDTH, HEIGHT = 420, 250
LEFT, RIGHT, TOP, BOTTOM = 58, 14, 30, 46


def svg_open(ident: str, title: str, desc: str, width: int = WIDTH, height: int = HEIGHT, css: str = "plot") -> list[str]:
    return [
        f'<svg class="{css}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-labelledby="{ident}-title {ident}-desc">',
        f'<title id="{ident}-title">{escape(title)}</title>',
        f'<desc id="{ident}-desc">{escape(desc)}</desc>',
    ]


def plot_axes(x0: float, x1: float, y0: float, y1: float, xlabel: str, ylabel: str) -> tuple[list[str], Callable, Callable]:
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def px(x: float) -> float:
        return LEFT + (x - x0) / ((x1 - x0) or 1.0) * plot_w

    def py(y: float) -> float:
        return TOP + plot_h - (y - y0) / ((y1 - y0) or 1.0) * plot_h

    parts = frame(LEFT, TOP, plot_w, plot_h)
    xticks = nice_ticks(x0, x1)
    for t in xticks:
        x = f"{px(t):.1f}"
        parts += _tick((x, TOP, x, TOP + plot_h), (x, TOP + plot_h, x, TOP + plot_h + 4),
                       (x, TOP + plot_h + 16, "middle"), tick_text(t, xticks))  # fmt: skip
    parts += y_ticks(nice_ticks(y0, y1), py, LEFT, plot_w)
    parts.append(f'<text class="axis-label" x="{LEFT + plot_w / 2:.1f}" y="{HEIGHT - 8}" text-anchor="middle">'
                 f"{escape(xlabel)}</text>")  # fmt: skip
    parts.append(y_label(ylabel, TOP + plot_h / 2))
    parts.append("</g>")
    return parts, px, py


def frame(left: float, top: float, width: float, height: float) -> list[str]:
    """The axes' group opened with the plot area's frame."""
    return ['<g class="axes" aria-hidden="true">',
            f'<rect class="frame" x="{left}" y="{top}" width="{width}" height="{height}"/>']  # fmt: skip


def y_ticks(ticks: Sequence[float], py: Callable[[float], float], left: float, plot_w: float,
            css: str = "tick-label") -> list[str]:  # fmt: skip
    """Horizontal grid lines, ticks and their labels left of the plot area."""
    parts = []
    for t in ticks:
        y = f"{py(t):.1f}"
        parts += _tick((left, y, left + plot_w, y), (left - 4, y, left, y), (left - 7, f"{py(t) + 4:.1f}", "end"),
                       tick_text(t, ticks), css)  # fmt: skip
    return parts


def _tick(grid: tuple, tick: tuple, label: tuple, text: str, css: str = "tick-label") -> list[str]:
    """One tick: its grid line across the plot, its mark on the axis (x1, y1, x2, y2 each) and its
    label (x, y, anchor)."""
    label_class = f' class="{css}"' if css else ""
    return [f'<line class="grid" x1="{grid[0]}" y1="{grid[1]}" x2="{grid[2]}" y2="{grid[3]}"/>',
            f'<line class="tick" x1="{tick[0]}" y1="{tick[1]}" x2="{tick[2]}" y2="{tick[3]}"/>',
            f'<text{label_class} x="{label[0]}" y="{label[1]}" text-anchor="{label[2]}">{escape(text)}</text>']  # fmt: skip


def y_label(text: str, cy: float) -> str:
    """The y axis's label, turned upright along the axis."""
    return (f'<text class="axis-label" transform="translate(14 {cy:.1f}) rotate(-90)" text-anchor="middle">'
            f"{escape(text)}</text>")  # fmt: skip


def legend(series: Sequence[Series]) -> list[str]:
    if len(series) < 2:
        return []
    parts = ['<g class="legend" aria-hidden="true">']
    x = LEFT
    for s in series:
        dash = f' stroke-dasharray="{s.dash}"' if s.dash else ""
        parts.append(f'<line x1="{x}" y1="14" x2="{x + 22}" y2="14" stroke="{s.colour}" stroke-width="2.5"{dash}/>')
        parts.append(f'<text x="{x + 27}" y="18">{escape(s.label)}</text>')
        x += 34 + 8 * len(s.label)
    parts.append("</g>")
    return parts


def histogram_svg(ident: str, title: str, desc: str, edges: Sequence[float], series: Sequence[Series],
                  xlabel: str, ylabel: str) -> Markup:  # fmt: skip
    """Step outlines of per-bin shares (``series.ys``, one per bin), overlaid."""
    x0, x1 = edges[0], edges[-1]
    top = max((max(s.ys) for s in series if s.ys), default=1.0)
    y0, y1 = nice_limits(0.0, top or 1.0)
    parts = svg_open(ident, title, desc)
    axes, px, py = plot_axes(x0, x1, y0, y1, xlabel, ylabel)
    parts += axes
    for s in series:
        points = [f"{px(edges[0]):.1f},{py(0):.1f}"]
        for i, y in enumerate(s.ys):
            points += [f"{px(edges[i]):.1f},{py(y):.1f}", f"{px(edges[i + 1]):.1f},{py(y):.1f}"]
        points.append(f"{px(edges[len(s.ys)]):.1f},{py(0):.1f}")
        dash = f' stroke-dasharray="{s.dash}"' if s.dash else ""
        parts.append(f'<polyline class="series" points="{" ".join(points)}" stroke="{s.colour}" '
                     f'fill="{s.colour}" fill-opacity="0.14" stroke-width="2"{dash}/>')  # fmt: skip
    parts += legend(series)
    parts.append("</svg>")
    return Markup("\n".join(parts))  # noqa: S704 - every text above is escaped


def line_svg(ident: str, title: str, desc: str, series: Sequence[Series], xlabel: str, ylabel: str,
             zero: bool = False) -> Markup:  # fmt: skip
    """Lines with markers; a NaN breaks the line."""
    xs = [x for s in series for x, y in zip(s.xs, s.ys, strict=True) if math.isfinite(y)]
    ys = [y for s in series for y in s.ys if math.isfinite(y)]
    x0, x1 = nice_limits(min(xs, default=0.0), max(xs, default=1.0))
    y0, y1 = nice_limits(0.0 if zero else min(ys, default=0.0), max(ys, default=1.0))
    parts = svg_open(ident, title, desc)
    axes, px, py = plot_axes(x0, x1, y0, y1, xlabel, ylabel)
    parts += axes
    for s in series:
        dash = f' stroke-dasharray="{s.dash}"' if s.dash else ""
        run: list[str] = []
        runs: list[list[str]] = []
        for x, y in zip(s.xs, s.ys, strict=True):
            if math.isfinite(y):
                run.append(f"{px(x):.1f},{py(y):.1f}")
            elif run:
                runs.append(run)
                run = []
        if run:
            runs.append(run)
        for r in runs:
            parts.append(f'<polyline class="series" points="{" ".join(r)}" stroke="{s.colour}" fill="none" '
                         f'stroke-width="2"{dash}/>')  # fmt: skip
        for x, y in zip(s.xs, s.ys, strict=True):
            if math.isfinite(y):
                parts.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="2.6" fill="{s.colour}"/>')
    parts += legend(series)
    parts.append("</svg>")
    return Markup("\n".join(parts))  # noqa: S704 - every text above is escaped


def colour_bar_svg(ident: str, title: str, desc: str, stops: Sequence[tuple[float, str]], low: float, high: float,
                   label: str, factor: float = 1.0) -> Markup:  # fmt: skip
    """A horizontal colour bar from ``low`` to ``high`` (raw units; ticks in display units)."""
    width, height, x0, x1 = 360, 64, 14, 346
    parts = svg_open(ident, title, desc, width, height, "colour-scale")
    parts.append(f'<defs><linearGradient id="{ident}-gradient" x1="0" x2="1" y1="0" y2="0">')
    parts += [f'<stop offset="{o:.3f}" stop-color="{c}"/>' for o, c in stops]
    parts.append("</linearGradient></defs>")
    parts.append(f'<g aria-hidden="true"><rect x="{x0}" y="20" width="{x1 - x0}" height="16" '
                 f'fill="url(#{ident}-gradient)" stroke="#4d5965" stroke-width="0.5"/>')  # fmt: skip
    lo, hi = low * factor, high * factor
    ticks = [t for t in nice_ticks(lo, hi, 5) if lo - 1e-9 <= t <= hi + 1e-9]
    for i, t in enumerate(ticks):
        x = x0 + (t - lo) / ((hi - lo) or 1.0) * (x1 - x0)
        text = tick_text(t, ticks)
        if i == 0 and abs(t - lo) < 1e-9:
            text = "≤ " + text
        elif i == len(ticks) - 1 and abs(t - hi) < 1e-9:
            text = "≥ " + text
        anchor = "start" if x < x0 + 12 else "end" if x > x1 - 12 else "middle"
        parts.append(f'<line class="tick" x1="{x:.1f}" y1="36" x2="{x:.1f}" y2="41"/>')
        parts.append(f'<text class="tick-label" x="{x:.1f}" y="54" text-anchor="{anchor}">{escape(text)}</text>')
    parts.append(f'<text class="axis-label" x="{x0}" y="13">{escape(label)}</text></g>')
    parts.append("</svg>")
    return Markup("\n".join(parts))  # noqa: S704 - every text above is escaped
