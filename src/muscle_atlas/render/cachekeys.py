"""The render cache's keys: a content hash per job (its meshes, settings, colours and framing), and
the manifest beside the renders that says which hash each job's files were made from."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path

import numpy as np

from muscle_atlas.render.plan import Job, Plan, outputs_of
from muscle_atlas.render.settings import RenderSettings

CACHE_FILE = ".render-cache.json"
POSTERS_FILE = ".posters.json"  # turntable → the still its page opens on
RENDER_VERSION = "17"


def _mesh_digest(mesh: object) -> str:
    digest = hashlib.sha256()
    digest.update(np.ascontiguousarray(mesh.points, dtype=np.float32).tobytes())  # type: ignore[attr-defined]
    digest.update(np.ascontiguousarray(mesh.faces).tobytes())  # type: ignore[attr-defined]
    return digest.hexdigest()


def digest_jobs(work: Plan, settings: RenderSettings) -> None:
    meshes = {
        k: _mesh_digest(item.mesh) + (_mesh_digest(item.light) if item.light is not None else "")
        for k, item in work.items.items()
    }
    # Which variants and models are made changes no job's files.
    options = {k: v for k, v in asdict(settings).items() if k not in ("sides", "models")}
    for job in work.jobs:
        if job.kind == "model":  # only the scene and its structures shape the model
            payload: dict = {
                "v": RENDER_VERSION, "kind": "model",
                "scene": sorted((k, work.items[k].role, meshes[k]) for k in work.scenes[job.scene]),
                "focus": sorted(job.highlight),
            }  # fmt: skip
            job.digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
            continue
        payload = {
            "v": RENDER_VERSION,
            "settings": options,
            "scene": sorted((k, work.items[k].role, meshes[k]) for k in work.scenes[job.scene]),
            "highlight": sorted((k, list(c)) for k, c in job.highlight.items()),
            "framing": asdict(job.framing) if job.framing else None,
        }
        if not job.gallery:
            payload["gallery"] = False
        if job.kind != "turntable":  # keeps the digests of plain turntables as they were
            payload["kind"] = job.kind
            payload["colours"] = sorted(
                (k, hashlib.sha256(np.ascontiguousarray(c, dtype=np.uint8).tobytes()).hexdigest())
                for k, c in job.colours.items()
            )
        job.digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def read_manifest(out: Path) -> dict[str, str]:
    """Job name → the hash its files in ``out`` were made from."""
    path = out / CACHE_FILE
    return json.loads(path.read_text()) if path.exists() else {}


def stale(work: Plan, settings: RenderSettings, out: Path, manifest: dict[str, str]) -> list[Job]:
    """The jobs whose outputs are missing or were made from other content."""
    return [
        j for j in work.jobs
        if manifest.get(j.name) != j.digest or not all(p.exists() for p in outputs_of(j, settings, out))
    ]  # fmt: skip


def read_posters(out: Path) -> dict[str, int | None]:
    """Turntable name → the still (1-based) its page opens on, as the workers chose it."""
    path = out / POSTERS_FILE
    return json.loads(path.read_text()) if path.exists() else {}


def write_posters(out: Path, posters: dict[str, int | None]) -> None:
    (out / POSTERS_FILE).write_text(json.dumps({k: v for k, v in sorted(posters.items()) if v is not None}, indent=1))


def write_manifest(out: Path, work: Plan, manifest: dict[str, str]) -> None:
    for job in work.jobs:
        manifest[job.name] = job.digest
    (out / CACHE_FILE).write_text(json.dumps(manifest, indent=1, sort_keys=True))
