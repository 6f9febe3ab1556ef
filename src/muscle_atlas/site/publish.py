"""Putting a finished site in place: an output folder is replaced only by a complete build."""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def swap_in(staging: Path, output: Path) -> None:
    """Replace ``output`` by the complete ``staging`` folder with two renames."""
    retired = output.parent / f".{output.name}.previous-{os.getpid()}"
    if output.exists():
        output.rename(retired)
    staging.rename(output)
    shutil.rmtree(retired, ignore_errors=True)
