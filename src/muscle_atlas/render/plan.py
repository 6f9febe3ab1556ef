"""What is rendered: ``plan`` turns matched structures into render jobs (one per structure and side
variant, grouped by scene: a region seen from one side variant with one framing) and one 3D model
per scene; ``add_map_jobs`` adds the surface-map turntables; ``outputs_of`` names a job's files."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from muscle_atlas.anatomy.match import MatchResult
from muscle_atlas.anatomy.tree import Structure, load_tree
from muscle_atlas.render.camera import Framing
from muscle_atlas.render.engine import HIGHLIGHT, PALETTE, Color, SceneItem
from muscle_atlas.render.settings import RenderSettings, colour_hex

MODEL_SUFFIX = "-scene"
POSTER_SUFFIX = "-poster"  # the one still of a turntable without a gallery of its own


@dataclass
class Job:
    name: str  # output stem, e.g. leg-soleus-left
    scene: str  # region path + side variant
    highlight: dict[str, Color]
    framing: Framing | None = None
    digest: str = ""
    structure: str = ""  # the structure's path, e.g. leg/soleus
    variant: str = ""  # left, right, both or none
    # A surface-map turntable ("map"): label key → sRGB uint8 colour per vertex of its mesh,
    # drawn instead of the highlight colour. Only the first still, the videos and the GLB.
    colours: dict[str, np.ndarray] = field(default_factory=dict)
    kind: str = "turntable"  # turntable, map, or model (the scene's GLB: highlight = its structures)
    gallery: bool = True  # the views as stills, thumbnails and a GIF; else only a poster still (see has_gallery)


@dataclass
class Plan:
    items: dict[str, SceneItem]
    scenes: dict[str, list[str]]  # scene → item keys drawn in it
    jobs: list[Job] = field(default_factory=list)


def _role(match: MatchResult) -> str:
    if match.status in ("matched", "unmatched", "ambiguous", "excluded"):
        return "muscle"
    if match.status == "context":
        # Muscles outside the tree are drawn like other muscles; skin, fat and organs would hide them.
        roles = {"bone": "bone", "muscle": "muscle", "fat": "hidden", "organ": "hidden", "skin": "hidden"}
        return roles.get(match.kind or "", "context")
    return "context"


def _variants(sides: set[str], mode: str = "all") -> list[str]:
    if {"left", "right"} <= sides:
        return {"all": ["left", "right", "both"], "both": ["both"], "each": ["left", "right"]}[mode]
    return [next(iter(sides))] if sides else ["none"]


def has_gallery(variant: str, variants: list[str]) -> bool:
    """Whether a side variant gets a gallery of its own. The left and right views of a structure
    that also has a Both view share that view's gallery: they get their turntable and a poster,
    which is what the side switch changes. On the whole body this keeps two thirds of the stills,
    thumbnails and GIFs out of the site (1.2 GB → under 500 MB, issue #20)."""
    return not (variant in ("left", "right") and "both" in variants)


def _side_ok(item_side: str, variant: str) -> bool:
    return variant in ("both", "none") or item_side == variant or item_side == "none"


def plan(
    meshes: dict[str, object], matches: list[MatchResult], light: dict[str, object] | None = None,
    highlight_colour: Color = HIGHLIGHT, sides: str = "all", models: bool = True,
) -> Plan:  # fmt: skip
    """``meshes``: label key → surface (pyvista); ``light``: simpler surfaces for context;
    ``matches``: what each label is; ``sides``: which side variants (all, both, each);
    ``models``: a GLB per scene (a job of kind "model", written by the main process)."""
    light = light or {}
    tree = load_tree()
    items: dict[str, SceneItem] = {}
    present: dict[int, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))  # code → side → keys
    side_of: dict[str, str] = {}
    for match in matches:
        if match.key not in meshes or match.status in ("ignored",):
            continue
        role = _role(match)
        # Opaque bones keep their detail; only translucent context is drawn from lighter surfaces.
        simpler = light.get(match.key) if role != "bone" else None
        items[match.key] = SceneItem(match.key, meshes[match.key], role, simpler)
        side = match.side or "none"
        side_of[match.key] = side
        if match.status == "matched" and match.code is not None:
            present[match.code][side].append(match.key)

    # A structure is drawn with everything below it that is present.
    def keys_under(structure: Structure, side: str) -> dict[int, list[str]]:
        found: dict[int, list[str]] = {}
        for node in structure.walk():
            code = node.same_as or node.code
            for s, keys in present.get(code, {}).items():
                if _side_ok(s, side):
                    found.setdefault(node.code, []).extend(keys)
        return found

    # A structure shown in two regions (same_as) is drawn in both, with each region's framing.
    shown_codes = set(present) | {s.code for s in tree if s.same_as in present}
    for code in list(shown_codes):
        shown_codes.update(a.code for a in tree.by_code[code].ancestors())
    shown = [tree.by_code[c] for c in shown_codes]
    scenes: dict[str, list[str]] = {}
    framings: dict[str, Framing] = {}
    result = Plan(items=items, scenes=scenes)
    for structure in sorted(shown, key=lambda s: s.code):
        region = structure.region
        all_sides = {side_of[k] for keys in keys_under(structure, "both").values() for k in keys}
        variants = _variants(all_sides, sides)
        for variant in variants:
            parts = keys_under(structure, variant)
            if not parts:
                continue
            highlight: dict[str, Color] = {}
            if structure.code in parts:  # the structure has its own label: one colour
                for key in parts[structure.code]:
                    highlight[key] = highlight_colour
            else:
                children = [c for c in structure.children if any(n.code in parts for n in c.walk())]
                for index, child in enumerate(children):
                    for keys in keys_under(child, variant).values():
                        for key in keys:
                            highlight[key] = PALETTE[index % len(PALETTE)]
            scene = f"{(region or structure).path}@{variant}"
            if scene not in scenes:
                members = [
                    k for k, item in items.items()
                    if _side_ok(side_of[k], variant) and item.role != "hidden"
                ]  # fmt: skip
                scenes[scene] = members
                frame_keys = [k for keys in keys_under(region or structure, variant).values() for k in keys]
                points = np.vstack([np.asarray(items[k].mesh.points) for k in frame_keys or members])
                framings[scene] = Framing.around(points)
            name = f"{structure.path.replace('/', '-')}-{variant}"
            result.jobs.append(Job(name, scene, highlight, framings[scene], structure=structure.path, variant=variant,
                                   gallery=has_gallery(variant, variants)))  # fmt: skip
    if models:
        focus: dict[str, dict[str, Color]] = defaultdict(dict)
        for job in result.jobs:
            focus[job.scene].update(job.highlight)
        for scene, keys in focus.items():
            region, variant = scene.rsplit("@", 1)
            result.jobs.append(Job(model_name(scene), scene, dict(sorted(keys.items())), framings[scene],
                                   structure=region, variant=variant, kind="model"))  # fmt: skip
    return result


def model_name(scene: str) -> str:
    """The scene's GLB stem: ``leg@both`` → ``leg-both-scene``."""
    return scene.replace("/", "-").replace("@", "-") + MODEL_SUFFIX


def models_of(work: Plan) -> dict[str, dict]:
    """Turntable name → its scene's model (GLB stem) and the colours of the structures it
    shows in that model (label key → #rrggbb)."""
    made = {j.scene for j in work.jobs if j.kind == "model"}
    return {
        job.name: {"model": model_name(job.scene), "highlight": {k: colour_hex(c) for k, c in sorted(job.highlight.items())}}
        for job in work.jobs
        if job.kind == "turntable" and job.scene in made
    }


MAP_SUFFIX = "-map"


def add_map_jobs(work: Plan, colours: dict[str, np.ndarray], structures: set[str]) -> list[Job]:
    """One surface-map turntable per structure in ``structures`` whose own labels all have
    vertex colours: the "both" variant, else its only side. Named ``<turntable>-map``."""
    by_structure: dict[str, dict[str, Job]] = defaultdict(dict)
    for job in work.jobs:
        if job.kind == "turntable":
            by_structure[job.structure][job.variant] = job
    added = []
    for path in sorted(structures):
        variants = by_structure.get(path, {})
        chosen = next((variants[v] for v in ("both", "left", "right", "none") if v in variants), None)
        if chosen is None or not chosen.highlight or not all(k in colours for k in chosen.highlight):
            continue
        job = Job(chosen.name + MAP_SUFFIX, chosen.scene, dict(chosen.highlight), chosen.framing,
                  structure=path, variant=chosen.variant, kind="map",
                  colours={k: colours[k] for k in chosen.highlight})  # fmt: skip
        work.jobs.append(job)
        added.append(job)
    return added


def outputs_of(job: Job, settings: RenderSettings, out: Path) -> list[Path]:
    ext = settings.image_format
    if job.kind == "model":
        return [out / f"{job.name}.glb"]
    if job.kind == "map":
        return [out / n for n in (f"{job.name}-1.{ext}", f"{job.name}.mp4", f"{job.name}.glb")]
    if not job.gallery:
        return [out / f"{job.name}{POSTER_SUFFIX}.{ext}", out / f"{job.name}.mp4"]
    names = [f"{job.name}-{i}.{ext}" for i in range(1, settings.views + 1)]
    names += [f"{job.name}-{i}-thumb.{settings.thumb_format}" for i in range(1, settings.views + 1)]
    names += [f"{job.name}.{kind}" for kind in ("mp4", "gif")]
    return [out / n for n in names]
