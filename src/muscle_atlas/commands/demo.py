"""``muscle-atlas demo``: a real-anatomy atlas from the meshes shipped in the package.

The Visible Human Female lower limb (both sides, CC BY 4.0) and the Z-Anatomy right upper limb
(CC BY-SA 4.0), decimated to a few hundred kilobytes (``demo/data``, made by
``scripts/make_demo_data.py``). Nothing to download.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from muscle_atlas import config
from muscle_atlas.commands import build
from muscle_atlas.render.settings import RenderSettings
from muscle_atlas.site.atlas import SiteOptions
from muscle_atlas.site.build import BuildRequest
from muscle_atlas.site.provenance import Provenance

INTRO = (
    "This demonstration atlas was built by muscle-atlas from real anatomy shipped with it: the lower "
    "limbs of the Visible Human Female (both sides) and a Z-Anatomy right upper limb, each surface "
    "simplified to keep the package small. Every page shows a structure turning in 3D, pictures from "
    "several directions, its anatomy and the measurements taken from these surfaces. The two limbs come "
    "from different bodies: the upper limb was placed beside the lower limb for the whole-body pictures."
)
ATTRIBUTION = (
    "Lower limb: adapted (decimated) from the Visible Human Female lower-limb geometry of the Center for "
    "Orthopaedic Biomechanics, University of Denver (CC BY 4.0). Upper limb: adapted (decimated, moved) "
    "from Z-Anatomy (CC BY-SA 4.0), which derives from BodyParts3D, (c) The Database Center for Life "
    "Science (CC BY-SA 2.1 Japan), as exported by the University of Toronto Neuromuscular Fellowship "
    "project. Renders and models made from the upper limb carry the same licence."
)

VHF_PAPER = "Three-dimensional lower extremity musculoskeletal geometry of the Visible Human Female and Male"


def demo_source() -> Path:
    """The folder of the shipped scenes (one glTF file per data set, each with its README)."""
    return Path(str(resources.files("muscle_atlas.demo") / "data"))


def request(output: str, jobs: int | None, settings: RenderSettings) -> BuildRequest:
    return BuildRequest(
        source=str(demo_source()),
        output=output,
        jobs=config.jobs(jobs),
        settings=settings,
        site=SiteOptions(title="muscle-atlas demo: real lower and upper limbs", intro=INTRO),
        provenance=Provenance(
            name="Visible Human Female lower limbs and a Z-Anatomy right upper limb",
            licence="CC BY-SA 4.0",
            licence_url="https://creativecommons.org/licenses/by-sa/4.0/",
            attribution=ATTRIBUTION,
            citations=[(VHF_PAPER, "https://doi.org/10.1038/s41597-022-01905-2")],
        ),
    )


def run(output: str, jobs: int | None, settings: RenderSettings) -> int:
    settings.validate()
    code = build.run(request(output, jobs, settings))
    index = Path(output).resolve() / "index.html"
    print(f"The demo atlas is ready. Open it with:\n  muscle-atlas serve {output}\nor open {index} in a browser.")
    return code
