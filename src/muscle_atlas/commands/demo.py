"""``muscle-atlas demo``: the embedded synthetic data set."""

from __future__ import annotations

from pathlib import Path

from muscle_atlas.commands import inspect
from muscle_atlas.demo.phantom import PHANTOM_NOTICE, write_phantom


def run(output: str) -> int:
    volume, table = write_phantom(Path(output) / "data")
    print(PHANTOM_NOTICE)
    return inspect.run(str(volume), str(table), as_json=False)
