"""Quantitative MRI per structure: fat fraction (Dixon), diffusion (DTI) and any scalar map.

The build and the ``quantify`` command call::

    specs = specs_from_args(args)                       # or specs_from_toml(project["maps"], folder)
    result = quantify(source.volume, matches, specs)    # rows, profiles, histograms, warnings
    write_tables(result, out)                           # quantities.csv/.json, profiles.csv, histograms.json
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Names are loaded on first use (PEP 562): the command line imports the flags' parser
# (``specs``) on every start, and computing pulls in scipy, which a build without maps never needs.
_WHERE = {
    "COLUMNS": "compute", "PROFILE_COLUMNS": "compute", "QuantityResult": "compute", "PooledStructure": "compute",
    "quantify": "compute", "MapSpecs": "specs", "ScalarMapSpec": "specs", "add_map_arguments": "specs",
    "parse_dti_order": "specs", "parse_map_spec": "specs", "specs_from_args": "specs", "specs_from_toml": "specs",
    "write_tables": "tables",
}  # fmt: skip
__all__ = [
    "COLUMNS",
    "PROFILE_COLUMNS",
    "MapSpecs",
    "PooledStructure",
    "QuantityResult",
    "ScalarMapSpec",
    "add_map_arguments",
    "parse_dti_order",
    "parse_map_spec",
    "quantify",
    "specs_from_args",
    "specs_from_toml",
    "write_tables",
]

if TYPE_CHECKING:
    from muscle_atlas.quantities.compute import COLUMNS, PROFILE_COLUMNS, PooledStructure, QuantityResult, quantify
    from muscle_atlas.quantities.specs import (
        MapSpecs,
        ScalarMapSpec,
        add_map_arguments,
        parse_dti_order,
        parse_map_spec,
        specs_from_args,
        specs_from_toml,
    )
    from muscle_atlas.quantities.tables import write_tables


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
