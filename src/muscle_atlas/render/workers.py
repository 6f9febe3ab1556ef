"""The render worker processes: each keeps one plotter from scene to scene, draws a batch of one
scene's jobs and encodes its stills, thumbnails, videos, GIF and coloured models; the main process
writes the scenes' GLBs meanwhile. Every file is written under a temporary name, then replaced."""

from __future__ import annotations

import math
import multiprocessing
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from muscle_atlas.render.plan import POSTER_SUFFIX, Job, Plan
from muscle_atlas.render.settings import RenderSettings, background_hex
from muscle_atlas.render.stills import encode_stills, save_thumbnail


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


def _renderer(settings: RenderSettings, size: int | None = None, widths: tuple[int, ...] | None = None) -> object:
    """The worker's renderer at ``size`` pixels (default: the settings'), its windows aligned so
    that frames reduce window by window to each of ``widths`` (default: the video's and GIF's)."""
    from muscle_atlas.render.encode import GIF_SIZE, VIDEO_SIZE, Reducer
    from muscle_atlas.render.engine import Renderer

    global _RENDERER
    size = size or settings.size
    align = math.lcm(Reducer.alignment(size, list(widths or (VIDEO_SIZE, GIF_SIZE))), 4 if settings.ssaa else 1)
    if align * 8 > size:
        align = 4 if settings.ssaa else 1
    key = (background_hex(settings.background) or "white", settings.ssaa)
    if _RENDERER is not None and _RENDERER[0] == key:
        _RENDERER[1].clear()  # type: ignore[attr-defined]
        _RENDERER[1].resize(size, align)  # type: ignore[attr-defined]
        return _RENDERER[1]
    _release_renderer()
    _RENDERER = (key, Renderer(size, key[0], settings.ssaa, align))
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


def render_scene(args: tuple) -> dict[str, int | None]:
    items, jobs, settings, out, single_thread = args
    from PIL import Image

    from muscle_atlas.render.encode import GIF_SIZE, VIDEO_SIZE, Reducer, write_gif, write_video
    from muscle_atlas.render.model import forget_decimations, write_glb

    renderer = None
    step = settings.frames // settings.views
    fps = settings.frames / settings.seconds_per_turn
    ext = settings.image_format
    threads = 1 if single_thread else 0
    to_video, to_gif = Reducer(VIDEO_SIZE), Reducer(GIF_SIZE)
    done: dict[str, int | None] = {}  # name → the still its page opens on (1-based; None: a map's first)
    # A scene whose turntables all share another view's gallery (a side's) makes only videos and
    # posters: it is drawn at the video's size, two fifths fewer pixels than the stills' size.
    own_stills = any(job.gallery or job.kind == "map" for job in jobs)
    size = settings.size if own_stills else min(settings.size, VIDEO_SIZE)
    for job in jobs:
        if renderer is None:
            renderer = _renderer(settings, size, None if own_stills else (VIDEO_SIZE,))
            renderer.load(items, job.framing)  # type: ignore[attr-defined]
        frames = renderer.turntable(job.highlight, job.framing, settings.frames, job.colours)  # type: ignore[attr-defined]
        over = (renderer.windows, renderer.base_frame, job.scene)  # type: ignore[attr-defined]
        videos = to_video(frames, *over)
        if job.kind == "map":  # a poster, the video and the coloured model
            with _replacing(out / f"{job.name}-1.{ext}") as path:
                path.write_bytes(encode_stills([frames[0]], ext)[0])
            with _replacing(out / f"{job.name}.mp4") as mp4:
                write_video(videos, mp4, fps, threads)
            with _replacing(out / f"{job.name}.glb") as path:
                write_glb(path, items, job.highlight, job.colours)
            done[job.name] = None
            continue
        # The page opens on the view that shows the structure most: the turntable starts there.
        first = poster_view(renderer.shown(frames, job.framing, step)) * step  # type: ignore[attr-defined]
        videos = videos[first:] + videos[:first]
        if not job.gallery:  # a side that shares the Both view's gallery: its poster and video
            with _replacing(out / f"{job.name}{POSTER_SUFFIX}.{ext}") as path:
                path.write_bytes(encode_stills([frames[first]], ext)[0])
            with _replacing(out / f"{job.name}.mp4") as mp4:
                write_video(videos, mp4, fps, threads)
            done[job.name] = first // step + 1
            continue
        stills = encode_stills(frames[::step], ext, first // step)
        for index, (frame, data) in enumerate(zip(frames[::step], stills, strict=True), start=1):
            with _replacing(out / f"{job.name}-{index}.{ext}") as path:
                path.write_bytes(data)
            image = Image.fromarray(frame)
            factor = settings.size // settings.thumb
            if settings.thumb * factor == settings.size:
                thumb = image.reduce(factor)  # an exact box average, 15x faster than a resize
            else:
                thumb = image.resize((settings.thumb, settings.thumb), Image.LANCZOS)
            with _replacing(out / f"{job.name}-{index}-thumb.{settings.thumb_format}") as path:
                save_thumbnail(thumb, path, settings.thumb_format)
        with _replacing(out / f"{job.name}.mp4") as mp4:
            write_video(videos, mp4, fps, threads)
        gif = to_gif(frames, *over)
        with _replacing(out / f"{job.name}.gif") as path:
            write_gif(gif[first:] + gif[:first], path, fps)
        done[job.name] = first // step + 1
    forget_decimations()
    return done


def write_models(jobs: list[Job], work: Plan, out: Path, progress: Callable[[int], object] | None) -> list[str]:
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
