"""Helpers for tests that build sites: small, fast render settings and small inputs."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import nibabel as nib
import numpy as np

from muscle_atlas.render.settings import RenderSettings
from muscle_atlas.site.atlas import SiteOptions
from muscle_atlas.site.build import BuildRequest, build
from phantom import make_phantom, phantom_names

FAST = {"views": 4, "size": 96, "thumb": 32, "ssaa": False}


def small_phantom(folder: Path, keep: tuple[str, ...] = ("Soleus", "Tibialis anterior", "Tibia"),
                  names: dict[str, str] | None = None) -> tuple[Path, Path]:  # fmt: skip
    """A few structures of both phantom legs as a NIfTI with an ITK-SNAP table."""
    folder.mkdir(parents=True, exist_ok=True)
    labels, affine = make_phantom()
    all_names = phantom_names()
    values = [i for i, n in enumerate(all_names, start=1) if n.rsplit(" ", 1)[0] in keep]
    labels = np.where(np.isin(labels, values), labels, 0).astype(np.uint8)
    volume = folder / "legs.nii.gz"
    nib.save(nib.Nifti1Image(labels, affine), volume)
    renamed = names or {}
    if names:  # TSV can carry any text, quotes included
        table = folder / "legs.tsv"
        rows = ["label\tname"] + [f"{v}\t{renamed.get(all_names[v - 1], all_names[v - 1])}" for v in values]
    else:
        table = folder / "legs.txt"
        rows = [f'{v} 200 50 50 1 1 1 "{all_names[v - 1]}"' for v in values]
    table.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return volume, table


def build_site(source: Path, output: Path, labels: str | None = None, map_file: str | None = None,
               fmt: str = "html", jobs: int = 1, **settings: object) -> Path:  # fmt: skip
    request = BuildRequest(
        source=str(source), output=str(output), labels=labels, map_file=map_file, jobs=jobs,
        settings=RenderSettings(**{**FAST, **settings}), triangles=1500, format=fmt,
        site=SiteOptions(title="Test atlas"), progress=False,
    )  # fmt: skip
    return build(request)


@contextmanager
def serving(site: Path) -> Iterator[str]:
    """The site served on 127.0.0.1 by our own server, for the time of the block: its URL."""
    from muscle_atlas.commands.serve import make_server

    httpd = make_server(site, 0)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()
