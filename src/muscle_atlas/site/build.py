"""Building an atlas: the whole pipeline, match → surfaces → measures → renders → pages.

Nothing is lost: renders go to a cache beside the output (so a rebuild only renders what
changed), the site is written into a temporary folder beside the target and swapped in only
when it is complete; a build that fails or is interrupted leaves the previous site as it was.
Sources are only ever read.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from muscle_atlas.choices import FORMATS
from muscle_atlas.errors import AtlasError
from muscle_atlas.render.settings import DEFAULT_TRIANGLES, RenderSettings
from muscle_atlas.site.atlas import SiteOptions, gather
from muscle_atlas.site.pages import SiteWriter
from muscle_atlas.site.provenance import Provenance, detect
from muscle_atlas.subject import SubjectRequest, render_subject
from muscle_atlas.web.publish import cache_dir, check_output, staged

if TYPE_CHECKING:
    from muscle_atlas.quantities import MapSpecs


@dataclass
class BuildRequest:
    source: str
    output: str
    labels: str | None = None
    map_file: str | None = None
    inline_map: dict[str, str] = field(default_factory=dict)
    include: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    orientation: str = "auto"
    units: str = "auto"
    jobs: int = 1
    settings: RenderSettings = field(default_factory=RenderSettings)
    triangles: int = DEFAULT_TRIANGLES
    format: str = FORMATS[0]
    site: SiteOptions = field(default_factory=SiteOptions)
    provenance: Provenance | None = None
    progress: bool = True
    maps: MapSpecs | None = None  # quantitative maps: a card, plots and a coloured turntable per muscle
    reference_redirects: bool = False  # html: redirect pages at the reference site's permalinks


def build(request: BuildRequest) -> Path:
    """Build the site; return its folder."""
    return build_with_result(request)[0]


def build_with_result(request: BuildRequest) -> tuple[Path, list]:
    output = Path(request.output).resolve()
    source = Path(request.source)
    check_output(output, AtlasError, source.resolve())
    if request.maps is not None and request.format == "jekyll":
        # The reference's page format has no place for them: they would be computed for nothing.
        raise AtlasError("quantitative maps are shown in the HTML site only: build it without --format jekyll")
    output.parent.mkdir(parents=True, exist_ok=True)
    settings = request.settings
    if request.format == "jekyll":
        # The reference's pages show one view per page (PNG stills by its names) and no 3D model.
        sides = "both" if settings.sides == "all" else settings.sides
        settings = replace(settings, image_format="png", models=False, sides=sides)
    subject = SubjectRequest(
        request.source, request.labels, request.map_file, request.inline_map, request.include,
        request.exclude, request.orientation, request.units, request.maps,
    )  # fmt: skip
    result = render_subject(subject, cache_dir(output), request.jobs, settings, request.triangles, request.progress)
    for line in result.orientation:
        print(line)
    for warning in result.warnings:
        print(f"muscle-atlas: warning: {warning}", file=sys.stderr)
    quantities = None
    if result.quantities is not None:
        from muscle_atlas.site import qmri

        order = request.maps.dti_order if request.maps is not None and request.maps.dti is not None else None
        quantities = qmri.load(result.quantities, order, result.surface_maps)
    atlas = gather(None, result.matches, result.turntables, result.measures, settings.views, quantities,
                   result.models, settings.image_format, result.posters)  # fmt: skip
    provenance = request.provenance or detect(source)
    options = request.site
    options.size, options.thumb = settings.size, settings.thumb
    options.reference_redirects = options.reference_redirects or request.reference_redirects
    with staged(output) as staging:
        if request.format == "jekyll":
            from muscle_atlas.site.jekyll import JekyllWriter

            JekyllWriter(atlas, provenance, options, cache_dir(output) / "renders").write(staging)
        else:
            SiteWriter(atlas, provenance, options, cache_dir(output) / "renders").write(staging)
    return output, atlas.unidentified
