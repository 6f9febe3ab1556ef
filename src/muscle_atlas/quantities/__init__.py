"""Quantitative MRI per structure: fat fraction (Dixon), diffusion (DTI) and any scalar map.

The build and the ``quantify`` command call::

    specs = specs_from_args(args)                       # or specs_from_toml(project["maps"], folder)
    result = quantify(source.volume, matches, specs)    # rows, profiles, histograms, warnings
    write_tables(result, out)                           # quantities.csv/.json, profiles.csv, histograms.json
"""

from __future__ import annotations

from muscle_atlas.quantities.compute import COLUMNS, PROFILE_COLUMNS, QuantityResult, Structure, quantify
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

__all__ = [
    "COLUMNS",
    "PROFILE_COLUMNS",
    "MapSpecs",
    "QuantityResult",
    "ScalarMapSpec",
    "Structure",
    "add_map_arguments",
    "parse_dti_order",
    "parse_map_spec",
    "quantify",
    "specs_from_args",
    "specs_from_toml",
    "write_tables",
]
