"""Helpers for the fuzz tests: seed files, byte mutations, NIfTI header edits, a watchdog.

Seeds are small synthetic files made here and, when the real data is present, real files
read at test time from ``$MUSCLE_ATLAS_DATA`` (never copied into the repository).
"""

from __future__ import annotations

import base64
import codecs
import faulthandler
import gzip
import io
import json
import os
import re
import resource
import signal
import struct
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np
from hypothesis import currently_in_test_context, event
from hypothesis import strategies as st

from conftest import data_root
from muscle_atlas.errors import AtlasError

# --- the property ------------------------------------------------------------------------------


class Hang(Exception):
    """A reader ran past the watchdog's time limit."""


def _on_alarm(signum: int, frame: object) -> None:
    raise Hang("reader still running after the watchdog's limit")


def _address_space() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[0]) * resource.getpagesize()


@contextmanager
def watchdog(seconds: float = 20.0, memory: int = 2 << 30) -> Iterator[None]:
    """Fail an example that runs past ``seconds`` (SIGALRM in Python code; faulthandler kills the
    process with a traceback if the hang is in C code) or that maps more than ``memory`` bytes
    beyond what the process has already (RLIMIT_AS: the allocation raises MemoryError)."""
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    faulthandler.dump_traceback_later(seconds * 3, exit=True)
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = _address_space() + memory
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
        faulthandler.cancel_dump_traceback_later()
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def check_reader(read: Callable[[Path], Any], path: Path, valid: Callable[[Any], None]) -> Any:
    """The property every reader has: a valid result, or an :class:`AtlasError` naming the file in
    one short line. Any other exception, a hang or a huge allocation fails the example."""
    with watchdog(), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = read(path)
        except AtlasError as exc:
            message = str(exc)
            assert str(path) in message, f"the error does not name the file: {message!r}"
            assert "\n" not in message and "\r" not in message, f"the error is not one line: {message!r}"
            assert len(message) < 1000 + len(str(path)), f"the error is {len(message)} characters long"
            _event("error: " + re.sub(r"\d+", "N", message.replace(str(path), "").lstrip(": "))[:70])
            result = None
    # Warnings would be lines on the user's terminal: readers turn them into their own or into errors.
    assert not caught, f"the reader let warnings escape: {[str(w.message)[:100] for w in caught]}"
    if result is None:
        return None
    valid(result)
    _event("valid result")
    return result


def _event(text: str) -> None:
    """Tally an outcome for ``--hypothesis-show-statistics`` (outside Hypothesis: nothing)."""
    if currently_in_test_context():
        event(text)


def write_case(folder: Path, name: str, content: bytes) -> Path:
    path = folder / name
    path.write_bytes(content)
    return path


# --- seeds -------------------------------------------------------------------------------------------

ITKSNAP = """################################################
# ITK-SnAP Label Description File
# File format:
# IDX   -R-  -G-  -B-  -A--  VIS MSH  LABEL
    0     0    0    0        0  0  0    "Clear Label"
    5   255   38    0        1  1  1    "5 Soleus Left"
    6   143  188  143     0.5  0  1    "6 Soleus Right"
  415     1    2    3        1  1  1    "415 Gluteus Maximus"  # hip
"""
SLICER = "# Color table file /tmp/x.ctbl\n# 3 values\n0 Background 0 0 0 0\n1 soleus 255 0 0 255\n2 tibia 200 200 200 128\n"
FREESURFER = (
    "#$Id: FreeSurferColorLUT.txt\n#No. Label Name:                            R   G   B   A\n"
    "0   Unknown                                 0   0   0   0\n7   Left-Cerebellum-White-Matter            220 248 164 0\n"
)
CSV = 'value,name,r,g,b\n1,Soleus,255,0,0\n2,"Tibialis, anterior",200,200,200\n3,Gastrocnémius,1,2,3\n'
SEMICOLON = "Label;Name\n1;soleus links\n2;soleus rechts\n"
TSV = "index\tname\tabbreviation\n1\tsoleus_left\tSOL_L\n2\tsoleus_right\tSOL_R\n"
BIDS = json.dumps({"Labels": [{"Value": 1, "Name": "soleus_left", "Color": [255, 0, 0]}, {"Value": 2, "Name": "tibia"}]})
BIDS_MAP = json.dumps({"labels": {"1": "soleus left", "2": "soleus right"}})
MAPPING = '# calf\n17 = soleus right\n18 = soleus left\n"Tibia L": context:tibia\n5\tignore\n211201 = leg/soleus left\n'
TOML_EXTRA = """[atlas]\ntitle = "Calf"\n[source]\nlabels = "totalsegmentator:total_mr"\n[mapping]\n"17" = "soleus right"
[structures]\ninclude = ["leg", 211201]\n[render]\nviews = 4\nbackground = "#ffffff"\nhighlight = "#db141f"\n"""


def text_seeds() -> dict[str, bytes]:
    """Every kind of text the readers take, synthetic, plus the real tables when present."""
    from muscle_atlas.config import TEMPLATE

    seeds = {
        "itksnap": ITKSNAP, "slicer": SLICER, "freesurfer": FREESURFER, "csv": CSV, "semicolon": SEMICOLON,
        "tsv": TSV, "bids": BIDS, "bids-map": BIDS_MAP, "mapping": MAPPING, "toml": TEMPLATE, "toml-extra": TOML_EXTRA,
    }  # fmt: skip
    result = {k: v.encode("utf-8") for k, v in seeds.items()}
    result.update(real_seeds(("*.txt", "*.tsv"), max_size=20_000))
    return result


@cache
def real_seeds(patterns: tuple[str, ...], max_size: int) -> dict[str, bytes]:
    """Small real files matching ``patterns`` (read now, never committed); none without the data."""
    root = data_root()
    if not root.is_dir():
        return {}
    found = {}
    for pattern in patterns:
        for path in sorted(root.rglob(pattern)):
            if path.is_file() and path.stat().st_size <= max_size and "LICENSE" not in path.name:
                found[f"real:{path.relative_to(root)}"] = path.read_bytes()
    return found


@cache
def nifti_seeds() -> dict[str, bytes]:
    """Uncompressed NIfTI-1 and NIfTI-2 label volumes (gzipped at write time when wanted)."""
    rng = np.random.default_rng(0)
    labels = np.zeros((6, 5, 4), np.uint8)
    labels[1:4, 1:4, 1:3] = 3
    labels[4:6, 0:2, 0:4] = 7
    one_hot = np.zeros((4, 4, 3, 2), np.uint8)
    one_hot[:2, :, :, 0] = 1
    one_hot[2:, 1:, :, 1] = 1
    floats = labels.astype(np.float32)
    floats[0, 0, 0] = np.nan
    arrays = {
        "uint8": (labels, nib.Nifti1Image), "int16": (labels.astype(np.int16) * 100, nib.Nifti1Image),
        "int32-big": (labels.astype(np.int32) * 10_000_000, nib.Nifti1Image),
        "float32": (labels.astype(np.float32), nib.Nifti1Image), "float-nan": (floats, nib.Nifti1Image),
        "one-hot": (one_hot, nib.Nifti1Image), "nifti2": (labels.astype(np.int16), nib.Nifti2Image),
        "noise-uint16": (rng.integers(0, 60000, (8, 8, 8)).astype(np.uint16), nib.Nifti1Image),
        "2d": (labels[:, :, 0], nib.Nifti1Image),
    }  # fmt: skip
    affine = np.diag([1.5, 1.5, 3.0, 1.0])
    seeds = {}
    for name, (array, klass) in arrays.items():
        image = klass(array, affine)
        image.header.set_qform(affine, 1)
        seeds[name] = image.to_bytes()
    real = ("qmritools-calf-mri/labels.nii.gz", "qmritools-leg-qmri/labels.nii.gz",
            "totalsegmentator-example/example_seg_mr.nii.gz")  # fmt: skip
    for path in [data_root() / r for r in real if (data_root() / r).is_file()]:
        seeds[f"real:{path.parent.name}/{path.name}"] = gzip.decompress(path.read_bytes())
    return seeds


@cache
def mesh_seeds() -> dict[str, bytes]:
    import trimesh

    box = trimesh.creation.box(extents=(10, 20, 30))
    seeds: dict[str, bytes] = {}
    for name, kind, options in (
        ("stl", "stl", {}), ("stl-ascii", "stl_ascii", {}), ("obj", "obj", {}),
        ("ply", "ply", {}), ("ply-ascii", "ply", {"encoding": "ascii"}),
    ):  # fmt: skip
        exported = box.export(file_type=kind, **options)
        seeds[name] = exported.encode() if isinstance(exported, str) else exported
    seeds["obj-nan"] = b"v nan 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n"
    seeds["obj-mtllib"] = b"mtllib box.mtl\nusemtl red\nv 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n"
    seeds.update(real_seeds(("*SuperiorGemellus*.stl",), max_size=60_000))
    return seeds


_NUMBERS = ["0", "1", "-1", "0.5", "1e308", "-1e308", "1e999", "nan", "inf", "-inf", "1e-320", "x", ""]
_INDICES = [1, 2, 3, 0, -1, -4, 4, 999_999_999, 2**31, 2**63]


@st.composite
def mesh_files(draw: st.DrawFn) -> tuple[str, bytes]:
    """(file name, bytes) of a small ASCII OBJ, STL or PLY with extreme coordinates, indices and counts."""
    count = draw(st.integers(1, 6))
    number = st.sampled_from(_NUMBERS) | st.floats(allow_nan=True, allow_infinity=True).map(repr)
    vertices = [[draw(number) for _ in range(3)] for _ in range(count)]
    faces = draw(st.lists(st.lists(st.sampled_from(_INDICES), min_size=3, max_size=4), min_size=1, max_size=4))
    kind = draw(st.sampled_from(["obj", "stl", "ply"]))
    if kind == "obj":
        lines = [f"v {' '.join(v)}" for v in vertices] + [f"f {' '.join(map(str, f))}" for f in faces]
    elif kind == "stl":
        lines = ["solid x"]
        for start in range(0, count - 2, 3):
            lines += ["facet normal 0 0 1", "outer loop", *(f"vertex {' '.join(v)}" for v in vertices[start : start + 3]),
                      "endloop", "endfacet"]  # fmt: skip
        lines.append("endsolid x")
    else:
        claimed_v = draw(st.sampled_from([count, 0, 10**9, 2**31, -1]))
        claimed_f = draw(st.sampled_from([len(faces), 0, 10**9, -1]))
        lines = [
            "ply",
            "format ascii 1.0",
            f"element vertex {claimed_v}",
            "property float x",
            "property float y",
            "property float z",
            f"element face {claimed_f}",
            "property list uchar int vertex_indices",
            "end_header",
        ]
        lines += [" ".join(v) for v in vertices] + [f"{len(f)} {' '.join(str(i - 1) for i in f)}" for f in faces]
    return f"soleus.{kind}", ("\n".join(lines) + "\n").encode()


def glb(document: dict[str, Any], binary: bytes) -> bytes:
    """A binary glTF made here: 12-byte header, JSON chunk, BIN chunk."""
    text = json.dumps(document, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 4)
    binary += b"\0" * (-len(binary) % 4)
    body = struct.pack("<I4s", len(text), b"JSON") + text + struct.pack("<I4s", len(binary), b"BIN\0") + binary
    return struct.pack("<4sII", b"glTF", 2, 12 + len(body)) + body


def glb_blob(size: int = 200_000, names: int = 400) -> bytes:
    """A GLB-like blob: a real-looking JSON chunk (many named nodes) and random binary, cut to
    ``size`` bytes, like the first 200 KB of a downloaded model."""
    rng = np.random.default_rng(14)
    nodes = [{"name": f"Structure_{i}_r", "translation": [0.01 * i, -0.2, 0.03], "mesh": i} for i in range(names)]
    document = {"asset": {"version": "2.0", "generator": "muscle-atlas tests"}, "nodes": nodes, "scene": 0,
                "scenes": [{"nodes": list(range(names))}]}  # fmt: skip
    binary = rng.integers(0, 256, size, dtype=np.uint8).tobytes()
    return glb(document, binary)[:size]


@cache
def gltf_seeds() -> dict[str, bytes]:
    import trimesh

    box = trimesh.creation.box(extents=(10, 20, 30))
    scene = trimesh.Scene()
    scene.add_geometry(box, node_name="Soleus_l", geom_name="Soleus_l")
    scene.add_geometry(box.copy().apply_translation((50, 0, 0)), node_name="Tibia_l", geom_name="Tibia_l")
    seeds = {"glb": scene.export(file_type="glb"), "glb-blob": glb_blob(4000, 20)}
    gltf = scene.export(file_type="gltf", embed_buffers=True)
    seeds["gltf-embedded"] = gltf["model.gltf"] if isinstance(gltf, dict) else gltf
    return seeds


def _split_glb(data: bytes) -> tuple[dict[str, Any], bytes]:
    length = struct.unpack("<I", data[12:16])[0]
    document = json.loads(data[20 : 20 + length])
    binary = data[20 + length + 8 :]
    return document, binary


@cache
def draco_glb() -> bytes:
    """A GLB whose one primitive is Draco-compressed (KHR_draco_mesh_compression), made here."""
    import DracoPy
    import trimesh

    box = trimesh.creation.icosphere(subdivisions=1, radius=0.02)
    encoded = DracoPy.encode(np.asarray(box.vertices, np.float32), np.asarray(box.faces, np.uint32))
    document = {
        "asset": {"version": "2.0"}, "scene": 0, "scenes": [{"nodes": [0]}],
        "nodes": [{"name": "Soleus_l", "mesh": 0, "translation": [0.01, 0, 0]}],
        "meshes": [{"primitives": [{"attributes": {"POSITION": 0}, "indices": 1, "extensions": {
            "KHR_draco_mesh_compression": {"bufferView": 0, "attributes": {"POSITION": 0}}}}]}],
        "accessors": [{"componentType": 5126, "count": len(box.vertices), "type": "VEC3"},
                      {"componentType": 5125, "count": box.faces.size, "type": "SCALAR"}],
        "bufferViews": [{"buffer": 0, "byteOffset": 0, "byteLength": len(encoded)}],
        "buffers": [{"byteLength": len(encoded)}],
        "extensionsUsed": ["KHR_draco_mesh_compression"], "extensionsRequired": ["KHR_draco_mesh_compression"],
    }  # fmt: skip
    return glb(document, encoded)


_GLTF_VALUES = [
    -1, 0, 1, 2, 3, 4, 7, 12, 255, 5120, 5125, 5126, 2**31, 2**53, 1e308, -1e308, float("nan"), "VEC3",
    "SCALAR", "MAT4", "x", None, [], {}, [0], [0, 0, 0], [0, 0, 0, 0], [1e308, 0, 0], list(range(17)),
    "/dev/zero", "../../../../etc/passwd", "data:application/octet-stream;base64,AAAA", "data:,", "missing.bin",
]  # fmt: skip
_GLTF_PATHS = [
    ("accessors", "count"), ("accessors", "byteOffset"), ("accessors", "componentType"), ("accessors", "type"),
    ("accessors", "bufferView"), ("accessors", "sparse"), ("bufferViews", "byteStride"),
    ("bufferViews", "byteOffset"), ("bufferViews", "byteLength"), ("bufferViews", "buffer"),
    ("buffers", "byteLength"), ("buffers", "uri"), ("nodes", "children"), ("nodes", "matrix"),
    ("nodes", "rotation"), ("nodes", "scale"), ("nodes", "translation"), ("nodes", "mesh"), ("nodes", "name"),
    ("scenes", "nodes"), ("meshes", "primitives"), ("primitives", "indices"), ("primitives", "mode"),
    ("primitives", "attributes"), ("draco", "bufferView"), ("root", "scene"), ("root", "nodes"),
]  # fmt: skip


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _edit_gltf(document: dict[str, Any], path: tuple[str, str], index: int, value: Any) -> None:
    """Set one field of a glTF document (earlier edits may have broken its shape: skip then)."""
    table, key = path
    if table == "root":
        document[key] = value
        return
    primitives = [p for m in _dicts(document.get("meshes")) for p in _dicts(m.get("primitives"))]
    if table == "primitives":
        items = primitives
    elif table == "draco":
        found = [p.get("extensions") for p in primitives]
        items = [e["KHR_draco_mesh_compression"] for e in found
                 if isinstance(e, dict) and isinstance(e.get("KHR_draco_mesh_compression"), dict)]  # fmt: skip
    else:
        items = _dicts(document.get(table))
    if items:
        target = items[index % len(items)]
        if key == "children" and value == [0]:
            value = [index % len(items)]  # a node that is its own child
        target[key] = value


@st.composite
def gltf_files(draw: st.DrawFn) -> tuple[str, bytes]:
    """(file name, bytes) of a glTF made here with extreme JSON fields and a cut binary chunk."""
    seeds = {"glb": gltf_seeds()["glb"], "draco": draco_glb()}
    name = draw(st.sampled_from(sorted(seeds)))
    document, binary = _split_glb(seeds[name])
    edits = st.tuples(st.sampled_from(_GLTF_PATHS), st.integers(0, 7), st.sampled_from(_GLTF_VALUES))
    for path, index, value in draw(st.lists(edits, max_size=3)):
        _edit_gltf(document, path, index, value)
    for op in draw(st.lists(st.tuples(st.just("float32"), st.integers(0, 1 << 16), st.sampled_from(EXTREME_FLOATS)),
                            max_size=2)):  # fmt: skip
        binary = apply_op(binary, op, {})
    binary = binary[: draw(st.integers(0, len(binary)) | st.just(len(binary)))]
    if draw(st.booleans()):
        return "model.glb", glb(document, binary)
    uri = "data:application/octet-stream;base64," + base64.b64encode(binary).decode()
    document["buffers"] = [{**b, "uri": b.get("uri", uri)} for b in _dicts(document.get("buffers"))] or [{"uri": uri}]
    return "model.gltf", json.dumps(document).encode()


def gltf_scaled(factor: float) -> bytes:
    """The synthetic GLB with its nodes scaled by ``factor`` (their own transform stays finite)."""
    document, binary = _split_glb(gltf_seeds()["glb"])
    for node in _dicts(document.get("nodes")):
        node["scale"] = [factor, 1, 1]
        node["children"] = []
    document["nodes"] = [{"name": "root", "scale": [factor, 1, 1], "children": list(range(1, len(document["nodes"]) + 1))},
                         *document["nodes"]]  # fmt: skip
    document["scenes"] = [{"nodes": [0]}]
    for node in document["nodes"][1:]:
        node.pop("children")
    return glb(document, binary)


def all_seeds() -> dict[str, bytes]:
    """Every seed of every kind: another file's bytes under this extension."""
    seeds = dict(text_seeds())
    seeds.update({f"nifti:{k}": v for k, v in nifti_seeds().items() if len(v) < 100_000})
    seeds.update({f"mesh:{k}": v for k, v in mesh_seeds().items()})
    seeds.update({f"gltf:{k}": v for k, v in gltf_seeds().items()})
    seeds["gzip:text"] = gzip.compress(ITKSNAP.encode())
    seeds.update(real_glb_head())
    return seeds


@cache
def real_glb_head(size: int = 200_000) -> dict[str, bytes]:
    """The first 200 KB of the real GLB (read now, never committed): issue #14's input itself."""
    path = data_root() / "zanatomy-upper-limb" / "upper-limb.glb"
    if not path.is_file():
        return {}
    with path.open("rb") as handle:
        return {"real:upper-limb.glb[:200KB]": handle.read(size)}


# --- mutations ---------------------------------------------------------------------------------------

SPECIAL = [
    b"\x00", b'"', b"'", b"\r", b"\n", b"\r\n", b"\t", b",", b";", b"=", b":", b"#", b"{", b"[", b"]", b"}",
    b"\xff\xfe", b"\xfe\xff", b"\xef\xbb\xbf", b"\x1b[31m", b"\x0c", b"\x85", b"\xe2\x80\xa8",
    b"nan", b"inf", b"-inf", b"1e999", b"-1", b"0", b"99999999999999999999", b"\xdc", b"\\", b"\\u0000",
    b'"""', b"'''", b"[[a]]", b"[render]", b"facet", b"endsolid", b"element vertex 1000000000\n",
    b"mtllib /dev/zero\n", b"f 1 2 999999999\n", b"v 1e999 0 0\n",
]  # fmt: skip
LONG_FILLERS = [b"a", b" ", b"9", b"\t", b",", b'"', b"a ", b"\x00", b"=", b"["]
ENCODINGS = ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "latin-1", "utf-8-sig", "cp1252"]
EXTREME_INTS = [0, 1, 0x7FFFFFFF, 0xFFFFFFFF, 10**9, 0x80000000, 3, 12]
EXTREME_FLOATS = [float("nan"), float("inf"), float("-inf"), 3.4e38, -3.4e38, 1e30, 1e-45, -0.0]


def _pos(value: int, data: bytes) -> int:
    return value % (len(data) + 1)


def apply_op(data: bytes, op: tuple, seeds: dict[str, bytes]) -> bytes:
    kind = op[0]
    if kind == "truncate":
        return data[: _pos(op[1], data)]
    if kind == "flip" and data:
        i = op[1] % len(data)
        return data[:i] + bytes([data[i] ^ op[2]]) + data[i + 1 :]
    if kind == "insert":
        i = _pos(op[1], data)
        return data[:i] + op[2] + data[i:]
    if kind == "delete":
        i = _pos(op[1], data)
        return data[:i] + data[i + op[2] :]
    if kind == "repeat":
        i = _pos(op[1], data)
        chunk = data[i : i + op[2]]
        return data[:i] + chunk * op[3] + data[i:]
    if kind == "long":
        i = _pos(op[1], data)
        return data[:i] + op[2] * op[3] + data[i:]
    if kind == "splice":
        other = seeds[op[1]]
        return data[: _pos(op[2], data)] + other[_pos(op[3], other) :]
    if kind == "replace":
        return seeds[op[1]]
    if kind == "int32" and len(data) >= 4:
        i = op[1] % (len(data) - 3)
        return data[:i] + struct.pack("<I", op[2]) + data[i + 4 :]
    if kind == "float32" and len(data) >= 4:
        i = op[1] % (len(data) - 3)
        return data[:i] + struct.pack("<f", op[2]) + data[i + 4 :]
    if kind == "encode":
        text = data.decode("utf-8", errors="replace")
        encoded = codecs.encode(text, op[1], errors="replace")
        return encoded if op[2] else encoded.removeprefix(codecs.BOM_UTF16_LE).removeprefix(codecs.BOM_UTF16_BE)
    if kind == "newlines":
        return data.replace(b"\r\n", b"\n").replace(b"\n", op[1])
    if kind == "gzip":
        return gzip.compress(data, mtime=0)
    return data


def operations(seed_names: list[str]) -> st.SearchStrategy[tuple]:
    index = st.integers(0, 1 << 24)
    return st.one_of(
        st.tuples(st.just("truncate"), index),
        st.tuples(st.just("flip"), index, st.integers(1, 255)),
        st.tuples(st.just("insert"), index, st.sampled_from(SPECIAL) | st.binary(min_size=1, max_size=12)),
        st.tuples(st.just("delete"), index, st.integers(1, 64)),
        st.tuples(st.just("repeat"), index, st.integers(1, 64), st.integers(2, 200)),
        st.tuples(st.just("long"), index, st.sampled_from(LONG_FILLERS), st.integers(1000, 150_000)),
        st.tuples(st.just("splice"), st.sampled_from(seed_names), index, index),
        st.tuples(st.just("replace"), st.sampled_from(seed_names)),
        st.tuples(st.just("int32"), index, st.sampled_from(EXTREME_INTS)),
        st.tuples(st.just("float32"), index, st.sampled_from(EXTREME_FLOATS)),
        st.tuples(st.just("encode"), st.sampled_from(ENCODINGS), st.booleans()),
        st.tuples(st.just("newlines"), st.sampled_from([b"\r", b"\r\n", b"\n\n", b"\x85", b""])),
        st.tuples(st.just("gzip")),
    )


@st.composite
def mutated(draw: st.DrawFn, seeds: dict[str, bytes], others: dict[str, bytes] | None = None) -> bytes:
    """A seed after 0–4 mutations; ``others`` are spliced in or substituted (another file's
    bytes under this extension)."""
    others = others if others is not None else seeds
    pool = {**others, **seeds}
    name = draw(st.sampled_from(sorted(seeds)))
    data = seeds[name]
    for op in draw(st.lists(operations(sorted(pool)), max_size=4)):
        data = apply_op(data, op, pool)
    return data


# --- NIfTI header fields ----------------------------------------------------------------------------

_FLOATS = [0.0, -1.0, 1e-38, 1e38, 3.4e38, float("nan"), float("inf"), float("-inf"), 0.5, 1e-300]
_NIFTI1_INTS = [0, -1, 1, 2, 3, 4, 5, 7, 8, 255, 32767, -32768]
_NIFTI2_INTS = [*_NIFTI1_INTS, 10**9, 2**31, 2**62, -(2**63)]
_DATATYPES = [0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 768, 1024, 1280, 1536, 1792, 2048, 2304, 255, 999, -1]
_FIELDS = [
    "sizeof_hdr", "dim", "datatype", "bitpix", "pixdim", "vox_offset", "scl_slope", "scl_inter", "qform_code",
    "sform_code", "quatern_b", "quatern_c", "quatern_d", "qoffset_x", "qoffset_y", "qoffset_z", "srow_x",
    "srow_y", "srow_z", "magic", "dim_info", "intent_code", "slice_code", "xyzt_units",
]  # fmt: skip


def header_edit(nifti2: bool) -> st.SearchStrategy[tuple[str, int, Any]]:
    ints = _NIFTI2_INTS if nifti2 else _NIFTI1_INTS
    return st.tuples(
        st.sampled_from(_FIELDS), st.integers(0, 7),
        st.sampled_from(ints) | st.sampled_from(_DATATYPES) | st.sampled_from(_FLOATS)
        | st.sampled_from([b"n+1\0", b"ni1\0", b"n+2\0\r\n\x1a\n", b"xxxx", b""]),
    )  # fmt: skip


def edit_header(raw: bytes, edits: list[tuple[str, int, Any]], extension: bytes | None) -> bytes:
    """Set header fields of an uncompressed NIfTI to the given values (clipped to the field's
    type when they cannot be stored; values of the wrong kind are skipped)."""
    nifti2 = raw[:4] in (struct.pack("<i", 540), struct.pack(">i", 540))
    dtype = (nib.nifti2.header_dtype if nifti2 else nib.nifti1.header_dtype).newbyteorder("<")
    buffer = bytearray(raw)
    header = np.frombuffer(buffer, dtype=dtype, count=1)
    for field, index, value in edits:
        base, shape = dtype[field].base, dtype[field].shape
        column = header[field]
        where = (0, index % shape[0]) if shape else 0
        if base.kind == "S":
            if isinstance(value, bytes):
                column[where] = value
        elif base.kind in "iu" and isinstance(value, int):
            info = np.iinfo(base)
            column[where] = min(max(value, info.min), info.max)
        elif base.kind == "f" and isinstance(value, int | float):
            with np.errstate(over="ignore"):
                column[where] = np.asarray(float(value)).astype(base)
    result = bytes(buffer)
    if extension is not None:
        size = 544 if nifti2 else 352
        result = result[: size - 4] + b"\x01\0\0\0" + extension + result[size:]
    return result


def extensions() -> st.SearchStrategy[bytes | None]:
    sizes = st.sampled_from([0, 8, 16, 32, -16, 2**31 - 1, 12])
    codes = st.sampled_from([0, 2, 4, 6, 14, 32, 40, 12345])
    block = st.tuples(sizes, codes, st.binary(max_size=40)).map(lambda t: struct.pack("<ii", t[0], t[1]) + t[2])
    return st.none() | block


@st.composite
def nifti_files(draw: st.DrawFn) -> tuple[str, bytes]:
    """(file name, bytes) of a NIfTI label volume with extreme header fields and data."""
    seeds = nifti_seeds()
    name = draw(st.sampled_from(sorted(seeds)))
    raw = seeds[name]
    nifti2 = raw[:4] == struct.pack("<i", 540)
    raw = edit_header(raw, draw(st.lists(header_edit(nifti2), max_size=4)), draw(extensions()))
    for op in draw(st.lists(operations(sorted(seeds)), max_size=2)):
        raw = apply_op(raw, op, seeds)
    compressed = draw(st.booleans())
    if compressed:
        raw = gzip.compress(raw, compresslevel=1, mtime=0)
        for op in draw(st.lists(st.tuples(st.just("truncate"), st.integers(0, 1 << 20)), max_size=1)):
            raw = apply_op(raw, op, seeds)
    return ("labels.nii.gz" if compressed else "labels.nii"), raw


def gzip_bomb(claimed: bytes, size: int) -> bytes:
    """A NIfTI header followed by ``size`` zero bytes, gzipped (tiny on disk, large inside)."""
    stream = io.BytesIO()
    with gzip.GzipFile(fileobj=stream, mode="wb", compresslevel=9, mtime=0) as handle:
        handle.write(claimed)
        chunk = b"\0" * (1 << 20)
        for _ in range(size >> 20):
            handle.write(chunk)
    return stream.getvalue()


def examples_setting(default: int) -> int:
    """Examples per reader: ``MUSCLE_ATLAS_FUZZ_EXAMPLES`` (``make fuzz``), else the CI number."""
    return int(os.environ.get("MUSCLE_ATLAS_FUZZ_EXAMPLES", default))
