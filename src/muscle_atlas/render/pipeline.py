"""From a source to every picture and number a page needs.

``plan`` turns matched structures into render jobs (one per structure and side variant, grouped
by scene: a region seen from one side variant with one framing) and one 3D model per scene;
``run`` renders the jobs in ``jobs`` worker processes, each with one reused plotter, skipping
every job whose content hash is already in the cache manifest.

Which side variants are made is ``RenderSettings.sides``: ``all`` (left, right and both sides
where both exist), ``both`` (only the both-sides view where both exist) or ``each`` (left and
right); a structure present on one side only keeps its one variant. Stills and thumbnails are
WebP (``image_format``; stills lossy at quality 93, SSIM ≥ 0.98 against the lossless image, about
27 KB for an 800 px still where PNG takes 140 KB, and encoded faster; thumbnails lossless) or PNG
for exports that name PNG files.
"""

from __future__ import annotations

import hashlib
import json
import math
import multiprocessing
import os
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from muscle_atlas.anatomy.match import MatchResult
from muscle_atlas.anatomy.tree import Structure, load_tree
from muscle_atlas.render.camera import Framing
from muscle_atlas.render.engine import HIGHLIGHT, PALETTE, Color, SceneItem

CACHE_FILE = ".render-cache.json"
POSTERS_FILE = ".posters.json"  # turntable → the still its page opens on
RENDER_VERSION = "14"
SIDES = ("all", "both", "each")
IMAGE_FORMATS = ("webp", "png")
# Stills: lossy, method 2, quality 93. On 299 VHF stills of 800 px the worst SSIM against the PNG
# was 0.979 at quality 90 (22 KB a still), 0.981 at 92 (25 KB), 0.983 at 95 (31 KB); PNG: 139 KB in
# 41 ms, WebP 12-17 ms; method 4 is 3 % smaller and 2-4x slower. Thumbnails: lossy WebP halves the
# colour resolution, which a 200 px view of a red muscle on white shows (worst SSIM 0.965 at quality
# 90, 0.975 at 100). In 256 colours (median cut), 3 of the 960 VHF right-leg thumbnails fell below
# SSIM 0.98 (group views: many hues, each blended with the context). So they are lossless RGB, at
# the fastest effort: 0.5 ms and 11.7 KB a thumbnail, where the palette took 5.3 ms and 6.8 KB
# (method 1: 3.5 ms, 10.9 KB).
WEBP = {"quality": 93, "method": 2}
WEBP_THUMB = {"lossless": True, "quality": 0, "method": 0}
MODEL_SUFFIX = "-scene"


@dataclass
class RenderSettings:
    views: int = 16
    size: int = 800
    thumb: int = 200
    background: str = "white"
    highlight: str = "#db141f"  # the structure's colour when it is shown alone
    ssaa: bool = True
    animation_views: int = 0  # views in the animation; 0 = the still views (a multiple of views)
    seconds_per_turn: float = 2.0
    sides: str = "all"  # which side variants: all, both or each (see the module's docstring)
    image_format: str = "webp"  # stills and thumbnails: webp, or png (the Jekyll export's names)
    models: bool = True  # one GLB per scene

    def validate(self) -> None:
        from muscle_atlas.errors import ConfigError

        problems = []
        if self.views < 1:
            problems.append("views must be at least 1")
        if self.size < 64 or self.thumb < 16:
            problems.append("image size must be at least 64 pixels")
        if background_hex(self.background) is None:
            problems.append(f"background colour {self.background!r} is not a colour name or #rrggbb")
        if not _is_hex_colour(self.highlight):
            problems.append(f"highlight colour must look like #rrggbb, not {self.highlight!r}")
        if self.animation_views and (self.animation_views < self.views or self.animation_views % self.views):
            problems.append(f"animation views ({self.animation_views}) must be a multiple of views ({self.views})")
        if self.sides not in SIDES:
            problems.append(f"sides must be one of {', '.join(SIDES)}, not {self.sides!r}")
        if self.image_format not in IMAGE_FORMATS:
            problems.append(f"image format must be one of {', '.join(IMAGE_FORMATS)}, not {self.image_format!r}")
        if problems:
            raise ConfigError("; ".join(problems))

    @property
    def frames(self) -> int:
        """Views rendered per turntable: the animation's, of which every k-th is a still."""
        return max(self.views, self.animation_views)


def _is_hex_colour(text: str) -> bool:
    return len(text) == 7 and text.startswith("#") and all(c in "0123456789abcdefABCDEF" for c in text[1:])


def background_hex(text: str) -> str | None:
    """A CSS colour (a name, #rgb, #rrggbb, rgb(...)) as #rrggbb; None if it is not one. Pillow
    parses it, where pyvista's parser would load its plotting module (0.7 s) in every build."""
    from PIL import ImageColor

    try:
        rgb = ImageColor.getrgb(text)
    except ValueError:
        return None
    return "#" + "".join(f"{v:02x}" for v in rgb[:3])


def hex_colour(text: str) -> Color:
    return tuple(int(text[i : i + 2], 16) / 255 for i in (1, 3, 5))  # type: ignore[return-value]


def colour_hex(colour: Color) -> str:
    return "#" + "".join(f"{round(float(c) * 255):02x}" for c in colour)


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
        for variant in _variants(all_sides, sides):
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
            result.jobs.append(Job(name, scene, highlight, framings[scene], structure=structure.path, variant=variant))
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


# ---------------------------------------------------------------------------------------------


def _mesh_digest(mesh: object) -> str:
    digest = hashlib.sha256()
    digest.update(np.ascontiguousarray(mesh.points, dtype=np.float32).tobytes())  # type: ignore[attr-defined]
    digest.update(np.ascontiguousarray(mesh.faces).tobytes())  # type: ignore[attr-defined]
    return digest.hexdigest()


def _digest_jobs(work: Plan, settings: RenderSettings) -> None:
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
        if job.kind != "turntable":  # keeps the digests of plain turntables as they were
            payload["kind"] = job.kind
            payload["colours"] = sorted(
                (k, hashlib.sha256(np.ascontiguousarray(c, dtype=np.uint8).tobytes()).hexdigest())
                for k, c in job.colours.items()
            )
        job.digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def outputs_of(job: Job, settings: RenderSettings, out: Path) -> list[Path]:
    ext = settings.image_format
    if job.kind == "model":
        return [out / f"{job.name}.glb"]
    if job.kind == "map":
        return [out / n for n in (f"{job.name}-1.{ext}", f"{job.name}.mp4", f"{job.name}.webm", f"{job.name}.glb")]
    names = [f"{job.name}-{i}.{ext}" for i in range(1, settings.views + 1)]
    names += [f"{job.name}-{i}-thumb.{ext}" for i in range(1, settings.views + 1)]
    names += [f"{job.name}.{kind}" for kind in ("mp4", "webm", "gif")]
    return [out / n for n in names]


def _save_image(image: object, path: Path, image_format: str, thumb: bool = False) -> None:
    if image_format == "webp":
        image.save(path, format="WEBP", **(WEBP_THUMB if thumb else WEBP))  # type: ignore[attr-defined]
    else:
        image.save(path, format="PNG", compress_level=6 if thumb else 2)  # type: ignore[attr-defined]


@contextmanager
def _replacing(path: Path) -> Iterator[Path]:
    """Write to a temporary name, then replace ``path`` with it: a new file, never an edit of
    the old one, which a built site may share as a hard link."""
    temporary = path.with_name(f".tmp-{path.name}")
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


# The worker's renderer, kept from scene to scene: a new plotter costs about 0.6 s.
_RENDERER: tuple[tuple, object] | None = None


def _renderer(settings: RenderSettings) -> object:
    from muscle_atlas.render.encode import GIF_SIZE, VIDEO_SIZE, Reducer
    from muscle_atlas.render.engine import Renderer

    global _RENDERER
    # Windows on which the videos' and the GIF's frames can be reduced window by window too.
    align = math.lcm(Reducer.alignment(settings.size, [VIDEO_SIZE, GIF_SIZE]), 4 if settings.ssaa else 1)
    if align * 8 > settings.size:
        align = 4 if settings.ssaa else 1
    key = (settings.size, background_hex(settings.background) or "white", settings.ssaa, align)
    if _RENDERER is not None and _RENDERER[0] == key:
        _RENDERER[1].clear()  # type: ignore[attr-defined]
        return _RENDERER[1]
    _release_renderer()
    _RENDERER = (key, Renderer(*key))
    return _RENDERER[1]


def _release_renderer() -> None:
    global _RENDERER
    if _RENDERER is not None:
        _RENDERER[1].close()  # type: ignore[attr-defined]
        _RENDERER = None


def _start_worker(settings: RenderSettings, parent: int) -> None:
    """A render worker's set-up, done while the main process reads the subject: one rasteriser
    thread (the processes share the cores), and the plotter."""
    _die_with(parent)
    os.environ["LP_NUM_THREADS"] = "1"
    _renderer(settings)


def _die_with(parent: int) -> None:
    """End this worker when the process that started it ends. A pool's workers wait for work
    on a queue they also hold open, so a main process killed (or crashed) would leave them
    waiting for ever, holding the terminal's or CI's output pipe open. Linux only (prctl)."""
    import ctypes
    import signal

    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # it ended before the request took effect
        os._exit(1)


@contextmanager
def workers(jobs: int, settings: RenderSettings) -> Iterator[ProcessPoolExecutor | None]:
    """``jobs`` render worker processes, started at once (None for one job: render here).
    Fresh processes, not forks of this one: they hold only the scenes they draw."""
    if jobs <= 1:
        try:
            yield None
        finally:
            _release_renderer()
        return
    pool = ProcessPoolExecutor(
        max_workers=jobs, mp_context=multiprocessing.get_context("spawn"), initializer=_start_worker,
        initargs=(settings, os.getpid()),
    )  # fmt: skip
    with pool:
        for _ in range(jobs):  # each submission to a pool without an idle worker starts one
            pool.submit(int)
        yield pool


def poster_view(shown: list[int]) -> int:
    """The still (0-based) in which a structure shows the most of itself; the first on a tie."""
    return max(range(len(shown)), key=lambda i: (shown[i], -i)) if shown else 0


def _render_scene(args: tuple) -> dict[str, int | None]:
    items, jobs, settings, out, single_thread = args
    from PIL import Image

    from muscle_atlas.render.encode import GIF_SIZE, VIDEO_SIZE, Reducer, write_gif, write_videos
    from muscle_atlas.render.model import forget_decimations, write_glb

    renderer = None
    step = settings.frames // settings.views
    fps = settings.frames / settings.seconds_per_turn
    ext = settings.image_format
    threads = 1 if single_thread else 0
    to_video, to_gif = Reducer(VIDEO_SIZE), Reducer(GIF_SIZE)
    done: dict[str, int | None] = {}  # name → the still its page opens on (1-based; None: a map's first)
    for job in jobs:
        if renderer is None:
            renderer = _renderer(settings)
            renderer.load(items)  # type: ignore[attr-defined]
        frames = renderer.turntable(job.highlight, job.framing, settings.frames, job.colours)  # type: ignore[attr-defined]
        over = (renderer.windows, renderer.base_frame, job.scene)  # type: ignore[attr-defined]
        videos = to_video(frames, *over)
        if job.kind == "map":  # a poster, the videos and the coloured model
            with _replacing(out / f"{job.name}-1.{ext}") as path:
                _save_image(Image.fromarray(frames[0]), path, ext)
            with _replacing(out / f"{job.name}.mp4") as mp4, _replacing(out / f"{job.name}.webm") as webm:
                write_videos(videos, [mp4, webm], fps, threads)
            with _replacing(out / f"{job.name}.glb") as path:
                write_glb(path, items, job.highlight, job.colours)
            done[job.name] = None
            continue
        # The page opens on the view that shows the structure most: the turntable starts there.
        first = poster_view(renderer.shown(frames, job.framing, step)) * step  # type: ignore[attr-defined]
        videos = videos[first:] + videos[:first]
        for index, frame in enumerate(frames[::step], start=1):
            image = Image.fromarray(frame)
            with _replacing(out / f"{job.name}-{index}.{ext}") as path:
                _save_image(image, path, ext)
            factor = settings.size // settings.thumb
            if settings.thumb * factor == settings.size:
                thumb = image.reduce(factor)  # an exact box average, 15x faster than a resize
            else:
                thumb = image.resize((settings.thumb, settings.thumb), Image.LANCZOS)
            with _replacing(out / f"{job.name}-{index}-thumb.{ext}") as path:
                _save_image(thumb, path, ext, thumb=True)
        with _replacing(out / f"{job.name}.mp4") as mp4, _replacing(out / f"{job.name}.webm") as webm:
            write_videos(videos, [mp4, webm], fps, threads)
        gif = to_gif(frames, *over)
        with _replacing(out / f"{job.name}.gif") as path:
            write_gif(gif[first:] + gif[:first], path, fps)
        done[job.name] = first // step + 1
    forget_decimations()
    return done


def _write_models(jobs: list[Job], work: Plan, out: Path, progress: Callable[[int], object] | None) -> list[str]:
    """The scenes' GLBs (Draco encoding, no drawing): written by the main process while the
    workers draw, which fills the cores that the last scenes' workers leave idle."""
    from muscle_atlas.render.model import forget_decimations, write_scene_glb

    for job in jobs:
        with _replacing(out / f"{job.name}.glb") as path:
            write_scene_glb(path, [work.items[k] for k in work.scenes[job.scene]], set(job.highlight))
        if progress:
            progress(1)
    forget_decimations()
    return [job.name for job in jobs]


# Estimated costs, in turntables encoded (about 0.45 s on one core at 800 px): a turntable's frames
# drawn whole cost about twice its encoding, a window a share of that by its area; a scene's batch
# loads the scene and draws its base frames.
BASE_COST = 2.0


def _cost(job: Job, items: dict[str, SceneItem]) -> float:
    boxes = [np.asarray(items[k].mesh.bounds).reshape(3, 2) for k in job.highlight if k in items]  # type: ignore[attr-defined]
    if not boxes or job.framing is None:
        return 3.0
    lo, hi = np.min([b[:, 0] for b in boxes], axis=0), np.max([b[:, 1] for b in boxes], axis=0)
    side = 2 * job.framing.half_height
    area = float(np.hypot(hi[0] - lo[0], hi[1] - lo[1]) * (hi[2] - lo[2])) / side**2  # its widest view's box
    return 3.0 if area > 0.6 else 1.0 + 2.0 * min(1.0, 0.1 + 1.5 * area)


def _split(scene_jobs: list[Job], count: int, cost: dict[str, float]) -> list[list[Job]]:
    """A scene's jobs in ``count`` consecutive parts of about equal estimated cost."""
    total = sum(cost[j.name] for j in scene_jobs)
    parts: list[list[Job]] = [[] for _ in range(count)]
    done = 0.0
    for job in scene_jobs:
        index = min(count - 1, int(count * (done + cost[job.name] / 2) / total)) if total > 0 else 0
        parts[index].append(job)
        done += cost[job.name]
    return [part for part in parts if part]


def _makespan(estimates: list[float], workers: int) -> float:
    """When the last of ``workers`` ends, each taking the largest batch left when it is free."""
    loads = [0.0] * workers
    for estimate in sorted(estimates, reverse=True):
        loads[loads.index(min(loads))] += estimate
    return max(loads)


def _batches(by_scene: dict[str, list[Job]], workers: int, cost: dict[str, float]) -> list[tuple[float, list[Job]]]:
    """Each scene's jobs as one batch or as several, whichever ends soonest by the estimates:
    a batch draws its scene's base frames again (BASE_COST), but a scene left whole can keep one
    worker busy long after the others are done. Greedy: split further the scene whose next split
    shortens the estimated end most, while one does."""
    counts = {scene: 1 for scene in by_scene}
    known: dict[tuple[str, int], list[tuple[float, list[Job]]]] = {}

    def pieces(scene: str, count: int) -> list[tuple[float, list[Job]]]:
        if (scene, count) not in known:
            parts = _split(by_scene[scene], count, cost)
            known[scene, count] = [(BASE_COST + sum(cost[j.name] for j in part), part) for part in parts]
        return known[scene, count]

    def end(trial: dict[str, int]) -> float:
        return _makespan([e for scene, n in trial.items() for e, _ in pieces(scene, n)], workers)

    best = end(counts)
    while workers > 1:
        options = [(end({**counts, scene: n + 1}), scene) for scene, n in counts.items()
                   if n < min(workers, len(by_scene[scene]))]  # fmt: skip
        if not options or min(options)[0] >= best - 1e-9:
            break
        best, scene = min(options)
        counts[scene] += 1
    return [piece for scene, n in counts.items() for piece in pieces(scene, n)]


def run(
    work: Plan, settings: RenderSettings, out: Path, jobs: int = 1, progress: Callable[[int], object] | None = None,
    meanwhile: Callable[[], object] | None = None, pool: ProcessPoolExecutor | None = None,
) -> list[str]:  # fmt: skip
    """Render every job whose outputs are missing or stale; return the names rendered.
    ``meanwhile``: work for this process while the workers render (before, with ``jobs`` 1);
    ``pool``: the workers, started by :func:`workers` (else started here)."""
    out.mkdir(parents=True, exist_ok=True)
    _digest_jobs(work, settings)
    cache_path = out / CACHE_FILE
    cache = json.loads(cache_path.read_text()) if cache_path.exists() else {}
    todo = [
        j for j in work.jobs
        if cache.get(j.name) != j.digest or not all(p.exists() for p in outputs_of(j, settings, out))
    ]  # fmt: skip
    models = [j for j in todo if j.kind == "model"]
    by_scene: dict[str, list[Job]] = defaultdict(list)
    for job in todo:
        if job.kind != "model":
            by_scene[job.scene].append(job)
    cost = {j.name: _cost(j, work.items) for j in todo}
    batches = [
        (estimate, ([work.items[k] for k in work.scenes[part[0].scene]], part, settings, out, jobs > 1))
        for estimate, part in _batches(by_scene, jobs, cost)
    ]
    # Largest first, each to the next free worker: longest-processing-time scheduling.
    batches.sort(key=lambda b: -b[0])
    rendered: list[str] = []
    posters_path = out / POSTERS_FILE
    posters = json.loads(posters_path.read_text()) if posters_path.exists() else {}
    with workers(jobs, settings) if pool is None else nullcontext(pool) as running:
        if running is None:
            if meanwhile is not None:
                meanwhile()
            for _, batch in batches:
                done = _render_scene(batch)
                rendered += done
                posters.update(done)
                if progress:
                    progress(len(batch[1]))
            rendered += _write_models(models, work, out, progress)
        else:
            futures = [running.submit(_render_scene, batch) for _, batch in batches]
            if meanwhile is not None:
                meanwhile()
            rendered += _write_models(models, work, out, progress)
            for future in as_completed(futures):
                done = future.result()
                rendered += done
                posters.update(done)
                if progress:
                    progress(len(done))
    for job in work.jobs:
        cache[job.name] = job.digest
    cache_path.write_text(json.dumps(cache, indent=1, sort_keys=True))
    posters_path.write_text(json.dumps({k: v for k, v in sorted(posters.items()) if v is not None}, indent=1))
    return rendered


def posters_of(work: Plan, out: Path) -> dict[str, int]:
    """Turntable name → the still (1-based) its page opens on, as :func:`run` chose it."""
    path = out / POSTERS_FILE
    chosen = json.loads(path.read_text()) if path.exists() else {}
    return {j.name: int(chosen.get(j.name, 1)) for j in work.jobs if j.kind == "turntable"}
