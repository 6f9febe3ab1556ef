"""Numbers and units as the pages show them: significant digits, a true minus sign, a dash for
no value, file sizes, and the display names and units of the quantitative maps."""

from __future__ import annotations

import math
from pathlib import Path

MINUS = "−"
NO_VALUE = "—"
NAMES = {
    "fat_fraction": "Fat fraction", "MD": "Mean diffusivity", "FA": "Fractional anisotropy",
    "lambda1": "Largest eigenvalue", "lambda2": "Middle eigenvalue", "lambda3": "Smallest eigenvalue",
}  # fmt: skip
SHORT = {"fat_fraction": "Fat fraction", "MD": "MD", "FA": "FA", "lambda1": "λ1", "lambda2": "λ2", "lambda3": "λ3"}
DIFFUSIVITY_UNITS = ("mm^2/s", "mm2/s", "mm²/s")


def minus(text: str) -> str:
    """A number's text with a true minus sign."""
    return text.replace("-", MINUS)


def fmt(value: float | None, digits: int = 3) -> str:
    """Three significant digits (no exponent), a dash for no value, a true minus sign."""
    if value is None or not math.isfinite(value):
        return NO_VALUE
    if value == 0:
        return "0"
    decimals = min(max(0, digits - 1 - math.floor(math.log10(abs(value)))), 6)
    return minus(f"{value:.{decimals}f}")


def signed(value: float, digits: int = 3) -> str:
    """+1.23, −0.0132, 0: a sign and three significant digits."""
    if value == 0:
        return "0"
    return ("+" if value > 0 else MINUS) + fmt(abs(value), digits)


def fixed_signed(value: float, decimals: int = 2) -> str:
    """+1.23, −0.50: a sign and a fixed number of decimals (z-scores, effect sizes)."""
    return minus(f"{value:+.{decimals}f}")


def round_number(value: float) -> str:
    """A number that is already round, as it is: 15, 0.25, −3."""
    return minus(f"{value:.6g}")


def dash_or(value: float | None, form: str) -> str:
    """A measure, or a dash where an open surface encloses no volume."""
    return f"{NO_VALUE} (open surface)" if value is None else form.format(value)


def file_size(path: Path) -> str:
    """A file's size for a download link ("230 KB", "1.4 MB"); empty when it cannot be read."""
    try:
        size = path.stat().st_size
    except OSError:
        return ""
    return f"{size / 1024:.0f} KB" if size < 1024 * 1024 else f"{size / 1024 / 1024:.1f} MB"


def scale(name: str, unit: str) -> tuple[float, str]:
    """Display factor and unit: diffusivities in 10⁻³ mm²/s, other units as given."""
    if unit in DIFFUSIVITY_UNITS:
        return 1e3, "10⁻³ mm²/s"
    return 1.0, unit.replace("^2", "²").replace("^3", "³").replace("^-1", "⁻¹")


def label_of(name: str, unit: str, short: bool = False) -> str:
    """ "Fat fraction (%)", "Mean diffusivity, MD (10⁻³ mm²/s)"; short: "MD (10⁻³ mm²/s)", "FA"."""
    base = (SHORT if short else NAMES).get(name, name)
    if not short and name in SHORT and SHORT[name] != base:
        base = f"{base}, {SHORT[name]}"
    shown = scale(name, unit)[1]
    return f"{base} ({shown})" if shown else base
