"""One mesh file (STL, OBJ, PLY), read and checked: the surfaces of mesh folders and glTF scenes."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import trimesh

from muscle_atlas.errors import SourceError, one_line

MAX_COORDINATE = 1e9  # in any unit: a kilometre-sized structure is garbage, and its products overflow


@dataclass
class MeshFile:
    """One structure's surface; ``name`` is the file name without its extension."""

    name: str
    path: Path
    mesh: trimesh.Trimesh


def read_mesh(path: Path) -> trimesh.Trimesh:
    """Read one mesh file; empty or corrupt files raise :class:`SourceError`.

    Only the geometry is read, from the file's own bytes: no material, texture or other file
    that it names is opened (an OBJ or PLY can name any file, /dev/zero included)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SourceError(f"cannot read ({exc.strerror or exc})", path) from exc
    if not data:
        raise SourceError("empty mesh file", path)
    try:
        with warnings.catch_warnings():  # numpy's complaints about garbage: the checks below report it
            warnings.simplefilter("ignore")
            kind = path.suffix.lower().lstrip(".")
            loaded = trimesh.load(io.BytesIO(data), file_type=kind, force="mesh", process=False)
    except Exception as exc:  # trimesh raises many types for corrupt files
        raise SourceError(f"corrupt or unreadable mesh ({type(exc).__name__}: {one_line(exc)})", path) from exc
    if not isinstance(loaded, trimesh.Trimesh) or len(loaded.faces) == 0:
        raise SourceError("mesh has no triangles", path)
    vertices, faces = np.asarray(loaded.vertices), np.asarray(loaded.faces)
    if vertices.ndim != 2 or vertices.shape[1] != 3 or faces.ndim != 2 or faces.shape[1] != 3:
        raise SourceError("corrupt or unreadable mesh (vertices without three coordinates)", path)
    if faces.min() < 0 or faces.max() >= len(vertices):
        raise SourceError("mesh has triangles whose corners are not among its vertices", path)
    if not np.all(np.isfinite(vertices)):
        raise SourceError("mesh has NaN or infinite coordinates", path)
    if np.abs(vertices).max() > MAX_COORDINATE:
        raise SourceError(f"mesh has coordinates beyond ±{MAX_COORDINATE:g}: not an anatomical surface", path)
    try:
        loaded.process()  # merge duplicate vertices (what process=True does), on checked numbers only
    except Exception as exc:
        raise SourceError(f"corrupt or unreadable mesh ({type(exc).__name__}: {one_line(exc)})", path) from exc
    if len(loaded.faces) == 0:
        raise SourceError("mesh has no triangles", path)
    return loaded
