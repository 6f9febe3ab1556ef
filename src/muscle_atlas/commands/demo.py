"""``muscle-atlas demo``: a real-anatomy atlas from the meshes shipped in the package.

One body, whole: the Z-Anatomy whole-body muscles and skeleton (CC BY-SA 4.0), all ten regions,
decimated to about half a megabyte (``demo/data``, made by ``scripts/make_demo_data.py``).
Nothing to download.
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
    "This demonstration atlas was built by muscle-atlas from real anatomy shipped with it: one body, the "
    "Z-Anatomy whole-body model of the muscles and the skeleton, every surface simplified to keep the "
    "package small. All ten regions come from this one model: the head, neck, back and abdomen, the "
    "shoulder, arm and forearm, the hip, thigh and leg. Each muscle of the model holds both sides in one "
    "piece of data; muscle-atlas split them into a left and a right muscle by where they lie. Every page "
    "shows a structure turning in 3D, pictures from several directions, its anatomy and the measurements "
    "taken from these surfaces."
)
ATTRIBUTION = (
    "Adapted (decimated) from Z-Anatomy (CC BY-SA 4.0), which derives from BodyParts3D, (c) The Database "
    "Center for Life Science (CC BY-SA 2.1 Japan), as exported by the human-anatomy viewer project. "
    "Renders and models made from it carry the same licence."
)


def demo_source() -> Path:
    """The folder of the shipped scenes (one glTF file per data set, each with its README)."""
    return Path(str(resources.files("muscle_atlas.demo") / "data"))


def request(output: str, jobs: int | None, settings: RenderSettings) -> BuildRequest:
    return BuildRequest(
        source=str(demo_source()),
        output=output,
        jobs=config.jobs(jobs),
        settings=settings,
        site=SiteOptions(title="muscle-atlas demo: a whole body", intro=INTRO),
        provenance=Provenance(
            name="Z-Anatomy whole body: muscles and skeleton",
            licence="CC BY-SA 4.0",
            licence_url="https://creativecommons.org/licenses/by-sa/4.0/",
            attribution=ATTRIBUTION,
        ),
    )


def run(output: str, jobs: int | None, settings: RenderSettings) -> int:
    settings.validate()
    code = build.run(request(output, jobs, settings))
    index = Path(output).resolve() / "index.html"
    print(f"The demo atlas is ready. Open it with:\n  muscle-atlas serve {output}\nor open {index} in a browser.")
    return code
