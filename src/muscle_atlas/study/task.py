"""One segmentation of a study, from its files to a small result: the task the cluster runs.

:func:`process` opens, matches and orients the segmentation through :mod:`muscle_atlas.subject`,
splits both-leg labels into sides, measures every structure and side from its voxels, quantifies
the maps found beside it, draws the mid-thigh QC thumbnail and, when asked, renders the subject
(turntables, models: the single-subject pipeline). It writes its files into the item's cache
folder, named by the content hash of its inputs and options, and returns a small dict.

The task is idempotent: everything is written into a temporary folder that is renamed into place
only when complete, so a retried task (its worker killed) or a task run twice finds either
nothing or a complete result, never half of one.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

from muscle_atlas import __version__
from muscle_atlas.errors import AtlasError
from muscle_atlas.study.model import Item

STUDY_VERSION = "1"  # bump when what a task computes changes: every cached subject is redone
RESULT = "result.json"
THUMB = "thumb.png"
SPLIT_VOLUME = "split.nii.gz"
SPLIT_TABLE = "split.tsv"
QUANTITIES = "quantities"
# glibc's allocator in a worker (see :func:`tune_allocator`): freed memory kept up to this much,
# and only arrays larger than this mapped anew from the system.
KEEP_FREED_BYTES = 256 << 20
MAP_ABOVE_BYTES = 32 << 20
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt's parameters (malloc.h)
# A worker's heap grown once to this much before its first task (see :func:`warm_worker`).
WARM_HEAP_BYTES = 128 << 20
_tuned: list[bool] = []
_warmed: list[bool] = []


@dataclass(frozen=True)
class TaskOptions:
    """What a task depends on besides its files (part of the cache key)."""

    orientation: str = "auto"
    erode: int = 1
    thumb_size: int = 240
    render: dict | None = None  # RenderSettings as a dict plus "triangles"; None: no renders
    extra: dict = field(default_factory=dict)

    def for_item(self, render: bool) -> TaskOptions:
        return TaskOptions(self.orientation, self.erode, self.thumb_size, self.render if render else None, self.extra)


def _file_digest(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def cache_key(item: Item, options: TaskOptions) -> str:
    """Content hash of the item's files, its options and our version (not of file names or places)."""
    from muscle_atlas.render.pipeline import RENDER_VERSION

    files = [item.segmentation, *([item.labels] if item.labels else []), *item.maps.files()]
    contents = []
    for path in files:
        try:
            contents.append(_file_digest(path))
        except OSError as exc:  # the task reports it, naming the file
            contents.append(f"unreadable:{path}:{exc.strerror}")
    maps = asdict(item.maps)
    for key in ("dixon", "dti"):
        maps[key] = bool(maps[key])
    maps["scalars"] = [[s["name"], s["unit"]] for s in maps["scalars"]]
    blob = json.dumps([contents, maps, asdict(options), __version__, STUDY_VERSION,
                       RENDER_VERSION if options.render else None], sort_keys=True)  # fmt: skip
    return hashlib.sha256(blob.encode()).hexdigest()


def item_folder(cache: Path, item: Item) -> Path:
    return cache / "subjects" / item.id


def result_folder(cache: Path, item: Item, key: str) -> Path:
    return item_folder(cache, item) / key[:20]


def atlas_cache(cache: Path, item: Item) -> Path:
    return cache / "atlas" / item.id


def cached_result(cache: Path, item: Item, key: str) -> dict | None:
    path = result_folder(cache, item, key) / RESULT
    try:
        result = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return result if result.get("key") == key and result.get("ok") else None


def process(item: Item, options: TaskOptions, cache: str, key: str | None = None) -> dict:
    """The task: measure one segmentation. User errors (bad files) come back as a failed result;
    anything else raises, so that the cluster retries it. ``key``: the cache key, when the caller
    has hashed the files already."""
    key = key or cache_key(item, options)
    folder = result_folder(Path(cache), item, key)
    done = cached_result(Path(cache), item, key)
    if done is not None:  # an earlier attempt finished (a retry after the worker died late)
        return done
    # A worker's first task imports the libraries and reads the anatomy (its tree and the name
    # index, 0.17 s, cached for the process) before its clock starts: "seconds" is the work.
    import muscle_atlas.study.voxels
    import muscle_atlas.subject  # noqa: F401
    from muscle_atlas.anatomy.match import default_matcher

    default_matcher()
    started, cpu = time.perf_counter(), time.thread_time()
    temporary = folder.parent / f".tmp-{uuid.uuid4().hex}"
    temporary.mkdir(parents=True, exist_ok=True)
    try:
        result = _measure(item, options, Path(cache), temporary)
    except AtlasError as exc:
        shutil.rmtree(temporary, ignore_errors=True)
        return failure(item, key, str(exc))
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    # "seconds": the wall time; "cpu_seconds": the CPU time of the task's thread (beside a busy
    # machine's other processes, the wall time also counts the time the task waited for a core).
    result.update({"key": key, "ok": True, "seconds": round(time.perf_counter() - started, 3),
                   "cpu_seconds": round(time.thread_time() - cpu, 3), "worker_pid": os.getpid()})  # fmt: skip
    (temporary / RESULT).write_text(json.dumps(result, ensure_ascii=False) + "\n", encoding="utf-8")
    try:
        os.rename(temporary, folder)
    except OSError:  # another attempt put its complete result there first: keep that one
        shutil.rmtree(temporary, ignore_errors=True)
    return result


def tune_allocator() -> bool:
    """Once per process: let glibc keep the memory a task frees for the next one. Dask starts its
    workers with ``MALLOC_TRIM_THRESHOLD_=65536``, which also fixes glibc's mmap threshold at
    128 kB: every array of a task was then mapped from the system and given back, a page fault
    per 4 kB touched (7.4 M faults for 124 tasks instead of 0.3 M; the tasks took 1.5× as long).
    True when glibc took the settings; elsewhere (not glibc) nothing changes."""
    if _tuned:
        return _tuned[0]
    import ctypes

    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        _tuned.append(False)
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    done = bool(mallopt(_M_TRIM_THRESHOLD, KEEP_FREED_BYTES)) and bool(mallopt(_M_MMAP_THRESHOLD, MAP_ABOVE_BYTES))
    _tuned.append(done)
    return done


def process_to_cache(item: Item, options: TaskOptions, cache: str, key: str) -> dict:
    """The task as the cluster runs it: the result stays in the cache folder (storage the client
    sees too) and only a small note of it travels back: a failed result is returned whole."""
    warm_worker()
    result = process(item, options, cache, key)
    if not result.get("ok"):
        return result
    return {"id": item.id, "key": result["key"], "ok": True, "seconds": result.get("seconds")}


def process_batch(items: list[Item], options: list[TaskOptions], cache: str, keys: list[str]) -> list[dict]:
    """Several segmentations in one cluster task (fewer tasks for the scheduler and the client to
    follow): each result goes to the cache as soon as it is done, so a batch run again (its worker
    killed) redoes only those not there yet. When one of them raises, the others still run and
    the batch then raises, for the cluster to retry it."""
    notes: list[dict] = []
    error: BaseException | None = None
    for item, option, key in zip(items, options, keys, strict=True):
        try:
            notes.append(process_to_cache(item, option, cache, key))
        except Exception as exc:
            error = error or exc
    if error is not None:
        raise error
    return notes


def warm_worker() -> None:
    """Once per process, before its first task's clock starts: glibc tuned (:func:`tune_allocator`),
    the libraries imported, the anatomy read, the heap grown once and freed (kept by the tuned
    allocator: the first task does not fault in fresh pages) and a tiny two-leg segmentation
    measured in a temporary folder (the PNG writer's plugins, gzip and the first calls of every
    step). In a worker's thread, the largest synthetic file as a first task: 0.69 s and 14,700
    page faults; after the warm-up 0.48–0.54 s and 2,300 faults (later runs 0.36–0.43 s, 1,000).
    It costs 0.2–0.5 s once (imports and anatomy included, which the first task read before), in
    the thread that runs the tasks: glibc's arena of that thread is the one grown."""
    if _warmed:
        return
    _warmed.append(True)
    import muscle_atlas.study.voxels
    import muscle_atlas.subject  # noqa: F401
    from muscle_atlas.anatomy.match import default_matcher

    default_matcher()
    if tune_allocator():
        import numpy as np

        blocks = [np.ones(16 << 20, np.uint8) for _ in range(WARM_HEAP_BYTES >> 24)]  # below the mmap threshold
        del blocks
    try:
        _rehearse()
    except Exception as exc:  # only a warm-up: a real problem shows in the real task, with its file named
        logging.getLogger(__name__).debug("warm-up failed: %s", exc)


def _rehearse() -> None:
    """One task's steps on a tiny synthetic segmentation (a muscle on each leg), in a temporary folder."""
    import tempfile

    import nibabel as nib
    import numpy as np

    data = np.zeros((40, 20, 6), np.uint8)
    data[2:12, 4:14, 1:5] = 1
    data[28:38, 4:14, 1:5] = 1
    affine = np.diag([2.0, 2.0, 10.0, 1.0])
    affine[:3, 3] = [-40, -20, 0]
    with tempfile.TemporaryDirectory(prefix="muscle-atlas-warm-") as name:
        folder = Path(name)
        nib.save(nib.Nifti1Image(data, affine), folder / "sub-warm_dseg.nii.gz")
        (folder / "dseg.tsv").write_text("index\tname\n1\tSoleus\n", encoding="utf-8")
        item = Item("sub-warm", "warm", "", "", str(folder / "sub-warm_dseg.nii.gz"), str(folder / "dseg.tsv"))
        _measure(item, TaskOptions(), folder, folder)


def failure(item: Item, key: str, error: str) -> dict:
    return {"id": item.id, "key": key, "ok": False, "error": " ".join(error.split())[:2000], "item": item.to_dict()}


def _measure(item: Item, options: TaskOptions, cache: Path, out: Path) -> dict:
    import numpy as np

    from muscle_atlas.errors import SourceError
    from muscle_atlas.study.voxels import measure_sides, split_sides, thumbnail
    from muscle_atlas.subject import SubjectRequest, open_subject

    subject = open_subject(SubjectRequest(item.segmentation, item.labels, orientation=options.orientation))
    volume = subject.source.volume
    if volume is None or subject.header_affine is None:
        raise SourceError("a study needs NIfTI label volumes (this is a mesh source)", item.segmentation)
    affine = subject.header_affine
    log = [f"segmentation: {Path(item.segmentation).name}" + (f"; labels: {Path(item.labels).name}" if item.labels else "")]
    log += subject.orientation.report()
    log += [f"warning: {w}" for w in volume.warnings]
    split = split_sides(volume.data, affine, subject.matches, subject.sides)
    log += split.log
    matched = [m for m in subject.matches if m.status == "matched"]
    for m in subject.matches:
        if m.status in ("unmatched", "ambiguous"):
            log.append(f"label {m.key} ({m.name}): {m.status}, not measured")
        elif m.status == "context":
            log.append(f"label {m.key} ({m.name}): {m.structure or m.kind}, context, not measured")
        elif m.method == "corrected" and m.note:
            log.append(f"label {m.origin or m.key} ({m.name}): {m.note}")
    if not matched:
        raise SourceError("no label names a muscle (check the label table with `muscle-atlas match`)", item.segmentation)
    structures, grid = measure_sides(split, affine, volume.label_boxes() if split.data is volume.data else None)
    for s in structures:
        if s.voxels and s.specks:
            log.append(f"{s.name} {s.side}: {s.specks} speck(s) below 1 % of its voxels ({s.speck_voxels} voxels)")
        if s.voxels and s.pieces > 1:
            log.append(f"{s.name} {s.side}: split into {s.pieces} pieces")
    # Thumbnail: one colour per label of the source (the same muscle the same colour on both legs).
    matched = [m for m in split.matches if m.status == "matched" and m.key.lstrip("-").isdigit()]
    values = sorted({int(m.origin or m.key) for m in matched})
    colour_of = {int(m.key): values.index(int(m.origin or m.key)) for m in matched}
    picture, thumb = thumbnail(split.data, affine, colour_of, options.thumb_size)
    picture.save(out / THUMB, optimize=True)  # type: ignore[attr-defined]
    colours = {m.path: values.index(int(m.origin or m.key)) for m in matched}
    result = {
        "id": item.id, "item": item.to_dict(), "log": log, "grid": grid, "thumb": THUMB, "thumb_info": thumb,
        "structures": [s.to_dict() for s in structures], "colours": colours,
        "quantities": [], "maps": [], "rendered": False, "version": __version__,
    }  # fmt: skip
    if not item.maps.empty:
        result["quantities"], result["maps"], warnings = _quantify(item, options, split, affine, volume.path, out)
        log += [f"warning: {w}" for w in warnings]
    if options.render is not None:
        import nibabel as nib

        # The sided volume and its table, at a fixed place (the render cache keys on their paths).
        source = atlas_cache(cache, item) / "source"
        source.mkdir(parents=True, exist_ok=True)
        token = uuid.uuid4().hex
        nib.save(nib.Nifti1Image(split.data.astype(np.int16 if split.data.max() < 32767 else np.int32), affine),
                 source / f".{token}-{SPLIT_VOLUME}")  # fmt: skip
        rows = ["index\tname"] + [f"{m.key}\t{_sided_name(m)}" for m in split.matches]
        (source / f".{token}-{SPLIT_TABLE}").write_text("\n".join(rows) + "\n", encoding="utf-8")
        for name in (SPLIT_VOLUME, SPLIT_TABLE):
            os.replace(source / f".{token}-{name}", source / name)
        try:
            render(item, options, cache)
            result["rendered"] = True
        except Exception as exc:  # the measures stand without pictures; the log says why there are none
            log.append(f"renders failed: {type(exc).__name__}: {' '.join(str(exc).split())[:300]}")
    return result


def _sided_name(match) -> str:
    """The name with its side, for the render's label table (the split stays as the study made it)."""
    if match.side is None or match.side in match.name.lower():
        return match.name
    return f"{match.name} {match.side}"


def _quantify(item: Item, options: TaskOptions, split, affine, path: Path, out: Path) -> tuple[list, list, list[str]]:
    from muscle_atlas.quantities import MapSpecs, ScalarMapSpec, quantify, write_tables
    from muscle_atlas.sources.volume import LabelVolume

    maps = item.maps
    specs = MapSpecs(
        dixon=(Path(maps.dixon[0]), Path(maps.dixon[1])) if maps.dixon else None,
        dti=Path(maps.dti) if maps.dti else None,
        scalars=[ScalarMapSpec(s.name, Path(s.path), s.unit) for s in maps.scalars], erode=options.erode,
    )  # fmt: skip
    result = quantify(LabelVolume(path, split.data, affine), split.matches, specs)
    write_tables(result, out / QUANTITIES)
    keep = (
        "structure",
        "side",
        "map",
        "unit",
        "erosion_voxels",
        "n_voxels",
        "coverage",
        "mean",
        "median",
        "sd",
        "p25",
        "p75",
    )
    rows = [{k: _plain(row.get(k)) for k in keep} for row in result.rows]
    infos = [{"name": m.name, "unit": m.unit, "kind": m.kind, "files": [Path(f).name for f in m.files]} for m in result.maps]
    return rows, infos, list(result.warnings)


def _plain(value: object) -> object:
    import math

    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item"):
        return value.item()  # type: ignore[union-attr]
    return value


def render_request(item: Item, options: TaskOptions, cache: Path):
    from muscle_atlas.subject import SubjectRequest

    source = atlas_cache(cache, item) / "source"
    return SubjectRequest(str(source / SPLIT_VOLUME), str(source / SPLIT_TABLE), orientation=options.orientation)


def render_settings(options: TaskOptions):
    from muscle_atlas.render.pipeline import RenderSettings

    settings = dict(options.render or {})
    triangles = int(settings.pop("triangles", 6000))
    return RenderSettings(**settings), triangles


def render(item: Item, options: TaskOptions, cache: Path):
    """The single-subject pipeline's renders of the sided volume (cached by their own content
    hash): called by the task, and again by the site writer, which then finds them done."""
    from muscle_atlas.subject import render_subject

    settings, triangles = render_settings(options)
    out = atlas_cache(cache, item) / "render"
    return render_subject(render_request(item, options, cache), out, 1, settings, triangles, progress=False)
