"""The hostile corpus of ``tests/hostile/``: small files every reader and command must survive.

Every file is made here (nothing comes from real data sets). Regenerate after a change with
``python tests/fuzz_corpus.py``; ``test_fuzz.py`` checks that the committed corpus is what this
script writes.
"""

from __future__ import annotations

import gzip
import json
import struct
import sys
from pathlib import Path

import nibabel as nib
import numpy as np

HOSTILE = Path(__file__).resolve().parent / "hostile"
MAX_FILE = 50_000

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fuzz_support import ITKSNAP, edit_header, glb, glb_blob, gzip_bomb  # noqa: E402


def _nifti(data: np.ndarray, edits: list[tuple[str, int, object]] = (), nifti2: bool = False) -> bytes:  # type: ignore[assignment]
    klass = nib.Nifti2Image if nifti2 else nib.Nifti1Image
    image = klass(data, np.diag([2.0, 2.0, 3.0, 1.0]), dtype=data.dtype)
    image.header.set_qform(image.affine, 1)
    return edit_header(image.to_bytes(), list(edits), None)


def _labels() -> np.ndarray:
    data = np.zeros((8, 6, 4), np.uint8)
    data[1:4, 1:5, 1:3] = 17
    data[5:8, 1:5, 1:3] = 18
    return data


def _binary_stl(triangles: int, claimed: int) -> bytes:
    rows = b"".join(struct.pack("<12fH", 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, float(i), 0) for i in range(triangles))
    return b"binary stl made by muscle-atlas tests".ljust(80, b" ") + struct.pack("<I", claimed) + rows


def corpus() -> dict[str, bytes]:
    """Relative path → content."""
    tsv = "label\tname\r\n17\tSoleus rechts\r\n18\tSoleus links\r\n"
    files: dict[str, bytes] = {
        # label tables
        "tables/blob.bin": glb_blob(48_000),  # issue #14: a binary glTF given as a table
        "tables/excel-utf16.txt": tsv.encode("utf-16"),  # Excel's "Unicode text": readable
        "tables/utf16-no-bom.tsv": tsv.encode("utf-16-le"),  # readable
        "tables/latin1.csv": "label;name\n17;Soleus rechts (gemessen)\n18;Gastrocnémius\n".encode("latin-1"),
        "tables/old-mac.csv": b"label,name\r17,soleus right\r18,soleus left\r",  # readable
        "tables/nul.csv": b"label,name\n17,sol\0eus\n",
        "tables/cr-in-field.csv": b"label,name\n17,sol\reus\n18,x\n",
        "tables/infinity.json": b'{"Labels": [{"Value": Infinity, "Name": "soleus"}]}',
        "tables/deep.json": b"[" * 20_000 + b"]" * 20_000,
        "tables/colour-1e999.txt": ITKSNAP.replace("255   38", "1e999  38").encode(),
        "tables/long-name.csv": b"label,name\n17," + b"soleus " * 6000 + b"\n",
        "tables/unclosed-quote.csv": b'label,name\n17,"soleus\n18,tibia\n',
        "tables/huge-field.csv": b'label,name\n17,"' + b"x" * 40_000,
        "tables/empty.txt": b"",
        "tables/escape-codes.txt": b'17 255 0 0 1 1 1 "\x1b[2J\x1b[31msoleus"\n',
        # label volumes
        "volumes/huge-dims.nii": _nifti(
            _labels(), [("dim", 1, 32767), ("dim", 2, 32767), ("dim", 3, 32767), ("datatype", 0, 64)]
        ),
        "volumes/billion-voxels.nii.gz": gzip.compress(
            _nifti(_labels(), [("dim", 1, 10**9), ("dim", 2, 10**9)], nifti2=True), mtime=0
        ),
        "volumes/gzip-bomb.nii.gz": gzip_bomb(
            _nifti(_labels(), [("dim", 1, 4096), ("dim", 2, 4096), ("dim", 3, 4096)]), 4 << 20
        ),
        "volumes/zero-dim.nii": _nifti(_labels(), [("dim", 2, 0)]),
        "volumes/negative-dim.nii": _nifti(_labels(), [("dim", 3, -4)]),
        "volumes/singular-affine.nii": _nifti(
            _labels(),
            [("qform_code", 0, 0), ("sform_code", 0, 1), ("srow_x", 0, 0.0), ("srow_x", 1, 0.0), ("srow_x", 2, 0.0)],
        ),
        "volumes/nan-affine.nii": _nifti(_labels(), [("sform_code", 0, 1), ("srow_y", 1, float("nan"))]),
        "volumes/zero-voxel-size.nii": _nifti(
            _labels(), [("qform_code", 0, 0), ("sform_code", 0, 0), ("pixdim", 1, 0.0), ("pixdim", 2, 0.0)]
        ),
        "volumes/nan-data.nii": _nifti(np.where(_labels() > 0, np.float32("nan"), np.float32(0))),
        "volumes/inf-scale.nii": _nifti(_labels(), [("scl_slope", 0, float("inf"))]),
        "volumes/bogus-datatype.nii": _nifti(_labels(), [("datatype", 0, 999)]),
        "volumes/vox-offset-1e9.nii": _nifti(_labels(), [("vox_offset", 0, 1e9)]),
        "volumes/vox-offset-nan.nii": _nifti(_labels(), [("vox_offset", 0, float("nan"))]),
        "volumes/labels-2e12.nii": _nifti(_labels().astype(np.int64) * 100_000_000_000),
        "volumes/label-2147483647.nii": _nifti(np.where(_labels() == 17, np.int32(2**31 - 1), _labels().astype(np.int32))),
        "volumes/pair-header.nii": _nifti(_labels(), [("magic", 0, b"ni1\0")]),
        "volumes/truncated.nii.gz": gzip.compress(_nifti(_labels()), mtime=0)[:60],
        "volumes/not-gzip.nii.gz": _nifti(_labels()),
        "volumes/gzip.nii": gzip.compress(_nifti(_labels()), mtime=0),
        "volumes/text.nii.gz": gzip.compress(b"this is not a NIfTI header\n" * 20, mtime=0),
        "volumes/empty.nii": b"",
        "volumes/extension-garbage.nii": _nifti(_labels(), [("vox_offset", 0, 368.0)])[:348]
        + b"\x01\0\0\0"
        + struct.pack("<ii", -16, 4)
        + b"\0" * 8
        + _nifti(_labels())[352:],
        # mesh folders (one structure each)
        "meshes/nan-vertices/soleus.obj": b"v nan 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n",
        "meshes/mtllib-dev-zero/soleus.obj": b"mtllib /dev/zero\nusemtl x\nv 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n",
        "meshes/stl-claims-billion/soleus.stl": _binary_stl(4, 10**9),
        "meshes/stl-truncated/soleus.stl": _binary_stl(40, 40)[:1000],
        "meshes/ply-claims-billion/soleus.ply": b"ply\nformat ascii 1.0\nelement vertex 1000000000\nproperty float x\n"
        b"property float y\nproperty float z\nelement face 1\nproperty list uchar int vertex_indices\nend_header\n"
        b"0 0 0\n1 0 0\n0 1 0\n3 0 1 2\n",
        "meshes/glb-as-stl/soleus.stl": glb_blob(20_000),
        "meshes/face-index-past-end/soleus.obj": b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 999999999\n",
        "meshes/empty/soleus.ply": b"",
        # glTF scenes
        "gltf/cut.glb": glb_blob(30_000, 40),
        "gltf/cyclic.gltf": json.dumps(
            {
                "asset": {"version": "2.0"},
                "scene": 0,
                "scenes": [{"nodes": [0]}],
                "nodes": [{"name": "a", "children": [1]}, {"name": "b", "children": [0]}],
            }
        ).encode(),
        "gltf/outside-buffer.gltf": _gltf_triangle("../../../../../../etc/passwd"),
        "gltf/nan-translation.glb": glb(
            json.loads(_gltf_triangle(None).decode().replace('"translation": [0, 0, 0]', '"translation": [NaN, 0, 0]')),
            struct.pack("<9f3H", 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 1, 2),
        ),
        "gltf/huge-vertex.glb": glb(
            json.loads(_gltf_triangle(None)), struct.pack("<9f3H", 3.4e38, 0, 0, 1, 0, 0, 0, 1, 0, 0, 1, 2)
        ),
        "meshes/huge-coordinates/soleus.stl": b"solid x\nfacet normal 0 0 1\nouter loop\nvertex 0 0 0\nvertex 0 0 0\n"
        b"vertex 0 0 1e308\nendloop\nendfacet\nendsolid x\n",
        # mapping files
        "maps/long-line.map": b"17" + b" " * 40_000 + b"soleus\n",
        "maps/utf16.map": "17 = soleus right\n18 = soleus left\n".encode("utf-16"),  # readable
        "maps/latin1.map": "17 = soleus r\xe9chts\n".encode("latin-1"),
        "maps/blob.map": glb_blob(10_000),
        # atlas.toml projects
        "projects/deep.toml": b"a = " + b"[" * 3000 + b"]" * 3000 + b"\n",
        "projects/nul-path.toml": b'[source]\npath = "seg\\u0000.nii.gz"\n',
        "projects/long-name.toml": b'[source]\nlabels = "' + b"x" * 5000 + b'"\n',
        "projects/blob.toml": glb_blob(10_000),
        "projects/many-problems.toml": b"".join(b"[s%d]\nk = 1\n" % i for i in range(200)),
    }
    return files


def _gltf_triangle(uri: str | None) -> bytes:
    """A glTF with one triangle whose buffer lives at ``uri`` (None: a GLB's own chunk)."""
    document = {
        "asset": {"version": "2.0"}, "scene": 0, "scenes": [{"nodes": [0]}],
        "nodes": [{"name": "Soleus_l", "mesh": 0, "translation": [0, 0, 0]}],
        "meshes": [{"primitives": [{"attributes": {"POSITION": 0}, "indices": 1}]}],
        "accessors": [{"bufferView": 0, "componentType": 5126, "count": 3, "type": "VEC3"},
                      {"bufferView": 1, "componentType": 5123, "count": 3, "type": "SCALAR"}],
        "bufferViews": [{"buffer": 0, "byteOffset": 0, "byteLength": 36}, {"buffer": 0, "byteOffset": 36, "byteLength": 6}],
        "buffers": [{"byteLength": 42, **({"uri": uri} if uri else {})}],
    }  # fmt: skip
    return json.dumps(document).encode()


def write(folder: Path = HOSTILE) -> None:
    for name, content in corpus().items():
        if len(content) >= MAX_FILE:
            raise ValueError(f"{name}: {len(content)} bytes, the corpus keeps files under {MAX_FILE}")
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)


if __name__ == "__main__":
    write()
    print(f"wrote {len(corpus())} files to {HOSTILE}")
