"""Settings, read in one place: ``atlas.toml`` holds what a lab sets once, command-line flags
override it, and this module turns both into the requests the commands run
(:func:`build_request`, :func:`study_request`, :func:`render_settings`).

Every option has a default, and every choice and default is defined once: here, or beside what
it configures (``RenderSettings``, ``RENDER_MODES``). Every error in the file is collected with
its key and reported at once, before any work starts.
"""

from __future__ import annotations

import argparse
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from muscle_atlas.choices import FORMATS, ORIENTATION, RENDER_MODES, UNITS
from muscle_atlas.errors import ConfigError, one_line
from muscle_atlas.render.settings import DEFAULT_TRIANGLES, SIDE_MODES, RenderSettings
from muscle_atlas.site.atlas import SiteOptions
from muscle_atlas.site.provenance import Provenance
from muscle_atlas.study import StudyRequest
from muscle_atlas.study.model import StudyError
from muscle_atlas.web.context import DEFAULT_BASE_URL, with_slash

if TYPE_CHECKING:
    from muscle_atlas.site.build import BuildRequest

ATLAS_TITLE, STUDY_TITLE = "Muscle atlas", "Muscle study"
REFERENCE_GROUP = "Control"
_RENDER = RenderSettings()  # the defaults

_SIDES_KEY = f'sides = "{_RENDER.sides}"'.ljust(34)
TEMPLATE = f"""\
# muscle-atlas project file. Every option has a default; delete what you do not need.
# Build with:  muscle-atlas build --config atlas.toml     (flags on the command line win)

[atlas]
title = "{ATLAS_TITLE}"
introduction = ""                 # shown on the home page
base_url = "{DEFAULT_BASE_URL}"   # public URL of the site (sitemap.xml, canonical links)

[source]
path = "segmentation.nii.gz"      # a NIfTI label volume, or a folder with one mesh per structure
labels = ""                       # label table (ITK-SNAP, Slicer, FreeSurfer, TSV/CSV, JSON) or totalsegmentator:<task>
map = ""                          # mapping file: "label or name = structure [side]" per line
orientation = "auto"              # auto (from the anatomy), header (keep the source's frame), or e.g. "LPS"
units = "auto"                    # units of a mesh source: auto, mm, cm or m

[mapping]                         # the same overrides, inline
# "17" = "soleus right"

[structures]
include = []                      # only these structures (codes, slugs or paths like "leg"); empty = all
exclude = []                      # drawn as context, without pages

[render]
views = {_RENDER.views}
size = {_RENDER.size}
thumbnail = {_RENDER.thumb}
background = "{_RENDER.background}"             # a colour name or #rrggbb
highlight = "{_RENDER.highlight}"             # the colour of the structure a page is about
ssaa = {str(_RENDER.ssaa).lower()}
animation_views = {_RENDER.animation_views}               # e.g. 64 for a smoother turn (a multiple of views)
{_SIDES_KEY}# side views where both sides exist: all (both, left, right), both, or each (left, right)
triangles = {DEFAULT_TRIANGLES}
jobs = 0                          # 0 = all CPUs

[maps]                            # quantitative MRI maps (label volumes only): statistics, plots and a
                                  # map-coloured turntable on every muscle page, and a methods page
# dixon = ["water.nii.gz", "fat.nii.gz"]   # Dixon water and fat images → fat fraction (%)
# dti = "tensor.nii.gz"           # diffusion tensor, 4D with 6 components → MD, FA, eigenvalues
# dti_order = "xx,yy,zz,xy,xz,yz" # order of the components (or "fsl", "nifti")
# erode = 1                       # in-plane erosion (voxels) of the second set of statistics
# [maps.T2]                       # any scalar map: a table named after it
# file = "t2.nii.gz"
# unit = "ms"

[output]
folder = "site"
format = "html"                   # html, or jekyll for an existing Jekyll site
reference_redirects = false       # html: also redirect muscle-atlas.org's addresses to our pages

[licence]                         # the dataset's licence and attribution, shown on every page
name = ""                         # e.g. "CC BY 4.0"
url = ""
holder = ""
dataset = ""                      # what the data is, e.g. "Calf MRI of 12 volunteers"
citation = ""
citation_url = ""
notice = ""
"""

_SCHEMA: dict[str, dict[str, type | tuple[type, ...]]] = {
    "atlas": {"title": str, "introduction": str, "base_url": str},
    "source": {"path": str, "labels": str, "map": str, "orientation": str, "units": str},
    "mapping": {},
    "maps": {},  # checked by quantities.specs_from_toml
    "structures": {"include": list, "exclude": list},
    "render": {
        "views": int,
        "size": int,
        "thumbnail": int,
        "background": str,
        "highlight": str,
        "ssaa": bool,
        "animation_views": int,
        "sides": str,
        "triangles": int,
        "jobs": int,
    },
    "output": {"folder": str, "format": str, "reference_redirects": bool},
    "study": {
        "folder": str,
        "manifest": str,
        "reference_group": str,
        "renders": str,
        "jobs": int,
        "scheduler": str,
        "strict": bool,
    },  # values checked by study_request
    "licence": {"name": str, "url": str, "holder": str, "dataset": str, "citation": str, "citation_url": str, "notice": str},
}


@dataclass
class Project:
    values: dict[str, dict[str, Any]] = field(default_factory=dict)
    folder: Path = Path()

    def get(self, section: str, key: str, default: Any = None) -> Any:
        value = self.values.get(section, {}).get(key)
        return default if value in (None, "") else value

    def path(self, section: str, key: str) -> str | None:
        value = self.get(section, key)
        if value is None or str(value).startswith("totalsegmentator:"):
            return value
        return str((self.folder / value).resolve()) if not os.path.isabs(value) else value


def load_project(path: str | Path) -> Project:
    from muscle_atlas.sources.textfile import read_text

    path = Path(path)
    if not path.is_file():
        raise ConfigError("no such project file", path)
    try:
        data = tomllib.loads(read_text(path, ConfigError, "project file (TOML)"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"invalid TOML ({exc})", path) from exc
    except RecursionError as exc:
        raise ConfigError("invalid TOML (nested too deeply)", path) from exc
    except ValueError as exc:  # an integer of thousands of digits
        raise ConfigError(f"invalid TOML ({one_line(str(exc), 100)})", path) from exc
    problems = []
    for section, values in data.items():
        if section not in _SCHEMA:
            problems.append(f"{section}: unknown section (known: {', '.join(_SCHEMA)})")
            continue
        if not isinstance(values, dict):
            problems.append(f"{section}: must be a table [{section}]")
            continue
        if section == "maps":
            continue
        for key, value in values.items():
            if section == "mapping":
                if not isinstance(value, str):
                    problems.append(f'mapping.{key}: must be a string like "soleus right"')
                continue
            expected = _SCHEMA[section].get(key)
            if expected is None:
                problems.append(f"{section}.{key}: unknown key")
            elif not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
                problems.append(f"{section}.{key}: must be {_type_name(expected)}, not {value!r}")
    project = Project(data, path.parent.resolve())
    render = data.get("render", {}) if isinstance(data.get("render"), dict) else {}
    for key in ("views", "size", "thumbnail", "triangles"):
        if isinstance(render.get(key), int) and render[key] < 1:
            problems.append(f"render.{key}: must be at least 1")
    for key in ("background", "highlight"):
        value = render.get(key)
        if isinstance(value, str) and not _is_colour(value, hex_only=key == "highlight"):
            problems.append(f"render.{key}: {value!r} is not a colour" + (" (#rrggbb)" if key == "highlight" else ""))
    if isinstance(render.get("sides"), str) and render["sides"] not in SIDE_MODES:
        problems.append(f"render.sides: must be {_choices(SIDE_MODES)}, not {render['sides']!r}")
    if isinstance(render.get("jobs"), int) and render["jobs"] < 0:
        problems.append("render.jobs: must be 0 (all CPUs) or more")
    fmt = project.get("output", "format")
    if fmt is not None and fmt not in FORMATS:
        problems.append(f"output.format: must be {' or '.join(repr(f) for f in FORMATS)}, not {fmt!r}")
    for key in ("path", "labels", "map"):
        value = project.get("source", key)
        if isinstance(value, str) and value and not value.startswith("totalsegmentator:"):
            try:
                found = Path(project.path("source", key) or "").exists()
            except (OSError, ValueError):  # a NUL character, a name too long for the system
                problems.append(f"source.{key}: not a valid file name: {value[:60]!r}")
                continue
            if not found:
                problems.append(f"source.{key}: no such file or folder: {value}")
    orientation = project.get("source", "orientation")
    if isinstance(orientation, str):
        from muscle_atlas.anatomy.orientation import validate_mode
        from muscle_atlas.errors import AtlasError

        try:
            validate_mode(orientation)
        except AtlasError as exc:
            problems.append(f"source.orientation: {exc.message}")
    if isinstance(data.get("maps"), dict):
        from muscle_atlas.quantities import specs_from_toml

        try:
            specs_from_toml(data["maps"], path.parent.resolve(), path)
        except ConfigError as exc:
            problems += exc.message.split("; ")
    units = project.get("source", "units")
    if isinstance(units, str) and units not in UNITS:
        problems.append(f"source.units: must be {_choices(UNITS)}, not {units!r}")
    for key in ("include", "exclude"):
        items = project.get("structures", key) or []
        if isinstance(items, list) and not all(isinstance(i, str | int) for i in items):
            problems.append(f"structures.{key}: must be a list of codes, slugs or paths")
    if problems:
        shown = [one_line(p, 150) for p in problems[:_MAX_PROBLEMS]]
        if len(problems) > _MAX_PROBLEMS:
            shown.append(f"and {len(problems) - _MAX_PROBLEMS} more")
        raise ConfigError("; ".join(shown), path)
    return project


_MAX_PROBLEMS = 8


def _choices(values: tuple[str, ...]) -> str:
    """ "all, both or each"."""
    return ", ".join(values[:-1]) + " or " + values[-1]


def _is_colour(text: str, hex_only: bool) -> bool:
    if len(text) == 7 and text.startswith("#"):
        return all(c in "0123456789abcdefABCDEF" for c in text[1:])
    if hex_only:
        return False
    from muscle_atlas.render.settings import background_hex

    return background_hex(text) is not None


def _type_name(expected: type | tuple[type, ...]) -> str:
    return {str: "a string", int: "an integer", bool: "true or false", list: "a list"}.get(expected, str(expected))  # type: ignore[arg-type]


def write_template(folder: str | Path) -> Path:
    folder = Path(folder)
    path = folder / "atlas.toml"
    if path.exists():
        raise ConfigError("already exists; not overwritten", path)
    try:
        if folder.exists() and not folder.is_dir():
            raise ConfigError("exists and is not a folder", folder)
        folder.mkdir(parents=True, exist_ok=True)
        with path.open("x", encoding="utf-8") as handle:
            handle.write(TEMPLATE)
    except FileExistsError as exc:
        raise ConfigError("already exists; not overwritten", path) from exc
    except OSError as exc:
        raise ConfigError(f"cannot write the project file ({exc.strerror or exc})", exc.filename or path) from exc
    except ValueError as exc:  # a NUL character in the name
        raise ConfigError(f"not a valid folder name ({exc})", repr(str(folder))) from exc
    return path


def _project(args: argparse.Namespace) -> Project:
    return load_project(args.config) if getattr(args, "config", None) else Project()


def _picker(args: argparse.Namespace, project: Project):
    def pick(flag: str, section: str, key: str, default: Any) -> Any:
        """The flag the user gave, else the project's value, else the default."""
        value = getattr(args, flag, None)
        return value if value is not None else project.get(section, key, default)

    return pick


def _output(args: argparse.Namespace, project: Project, default: str) -> str:
    folder = project.get("output", "folder")
    return args.output or (str(project.folder / folder) if getattr(args, "config", None) and folder else None) or default


def _base_url(pick) -> str | None:
    """The configured public URL (with its slash), or None: then no canonical links."""
    value = pick("base_url", "atlas", "base_url", None)
    return with_slash(value) if value else None


def jobs(value: int | None) -> int:
    """Worker processes: the number given, or all CPUs for 0 or none."""
    return value or len(os.sched_getaffinity(0))


def source_frame(args: argparse.Namespace, project: Project | None = None) -> tuple[str, str]:
    """The source's frame and units (--orientation, --units): flags, else the project, else auto."""
    pick = _picker(args, project or Project())
    return pick("orientation", "source", "orientation", ORIENTATION), pick("units", "source", "units", UNITS[0])


def render_settings(args: argparse.Namespace, project: Project | None = None, **fixed: Any) -> RenderSettings:
    """The render settings: flags, else the project's [render], else the defaults."""
    project = project or Project()
    pick = _picker(args, project)
    return RenderSettings(**{
        "views": pick("views", "render", "views", _RENDER.views),
        "size": pick("size", "render", "size", _RENDER.size),
        "thumb": project.get("render", "thumbnail", _RENDER.thumb),
        "background": project.get("render", "background", _RENDER.background),
        "highlight": project.get("render", "highlight", _RENDER.highlight),
        "ssaa": pick("ssaa", "render", "ssaa", _RENDER.ssaa),
        "animation_views": pick("animation_views", "render", "animation_views", _RENDER.animation_views),
        "sides": pick("sides", "render", "sides", _RENDER.sides),
        **fixed,
    })  # fmt: skip


def triangles(args: argparse.Namespace, project: Project | None = None) -> int:
    return _picker(args, project or Project())("triangles", "render", "triangles", DEFAULT_TRIANGLES)


def build_request(args: argparse.Namespace) -> BuildRequest:
    """The build request: project file values, overridden by the flags the user gave."""
    from muscle_atlas.site.build import BuildRequest  # the whole pipeline: only when it runs

    project = _project(args)
    pick = _picker(args, project)
    source = args.source or project.path("source", "path")
    if not source:
        raise ConfigError("no source: give SOURCE or set source.path in the project file")
    settings = render_settings(args, project)
    orientation, units = source_frame(args, project)
    try:
        settings.validate()
    except ConfigError as exc:
        raise ConfigError(f"render: {exc.message}", args.config) from exc
    site = SiteOptions(
        title=pick("title", "atlas", "title", ATLAS_TITLE),
        intro=project.get("atlas", "introduction", ""),
        base_url=_base_url(pick),
    )
    provenance = None
    if project.get("licence", "name") or project.get("licence", "dataset"):
        citation = project.get("licence", "citation")
        provenance = Provenance(
            name=project.get("licence", "dataset", Path(source).name),
            licence=project.get("licence", "name"),
            licence_url=project.get("licence", "url"),
            holder=project.get("licence", "holder"),
            citations=[(citation, project.get("licence", "citation_url", ""))] if citation else [],
            notice=project.get("licence", "notice"),
        )
    return BuildRequest(
        maps=_maps(args, project),
        source=source,
        output=_output(args, project, "site"),
        labels=args.labels or project.path("source", "labels"),
        map_file=args.map or project.path("source", "map"),
        inline_map=dict(project.values.get("mapping", {})),
        include=[str(i) for i in project.get("structures", "include", [])],
        exclude=[str(i) for i in project.get("structures", "exclude", [])],
        orientation=orientation,
        units=units,
        jobs=jobs(pick("jobs", "render", "jobs", 0)),
        settings=settings,
        triangles=triangles(args, project),
        format=pick("format", "output", "format", FORMATS[0]),
        reference_redirects=bool(pick("reference_redirects", "output", "reference_redirects", False)),
        site=site,
        provenance=provenance,
    )


def _check_study_table(project: Project, config: str) -> None:
    """The values of [study] (load_project checked its keys and types)."""
    table = project.values.get("study", {})
    problems = []
    if table.get("renders") not in (None, *RENDER_MODES):
        problems.append(f"study.renders: must be {_choices(RENDER_MODES)}, not {table['renders']!r}")
    if isinstance(table.get("jobs"), int) and table["jobs"] < 0:
        problems.append("study.jobs: must be 0 (all CPUs) or more")
    if table.get("folder") and table.get("manifest"):
        problems.append("study: give folder or manifest, not both")
    for key in ("folder", "manifest"):
        if isinstance(table.get(key), str) and table[key] and not os.path.exists(project.path("study", key) or ""):
            problems.append(f"study.{key}: no such {'folder' if key == 'folder' else 'file'}: {table[key]}")
    if problems:
        raise StudyError("; ".join(problems), config)


def study_request(args: argparse.Namespace) -> StudyRequest:
    """The study request: the project's [study], [atlas], [render] and [output] values, overridden by flags."""
    project = _project(args)
    if args.config:
        _check_study_table(project, args.config)
    pick = _picker(args, project)
    source = args.manifest or args.source or project.path("study", "manifest") or project.path("study", "folder")
    if args.manifest and args.source:
        raise StudyError("give a study folder or --manifest, not both")
    if not source:
        raise StudyError("no study: give STUDY_DIR (or --manifest CSV), or set study.folder in the project file")
    settings = render_settings(args, project, animation_views=_RENDER.animation_views, sides=_RENDER.sides)
    return StudyRequest(
        source=source, output=_output(args, project, "study-site"),
        reference_group=pick("reference_group", "study", "reference_group", REFERENCE_GROUP),
        renders=pick("renders", "study", "renders", RENDER_MODES[0]), jobs=jobs(pick("jobs", "study", "jobs", 0)),
        scheduler=pick("scheduler", "study", "scheduler", None) or None,
        strict=bool(pick("strict", "study", "strict", False)),
        title=pick("title", "atlas", "title", STUDY_TITLE), base_url=_base_url(pick), settings=settings,
        triangles=triangles(args, project), progress=not args.quiet,
    )  # fmt: skip


def _maps(args: argparse.Namespace, project: Project):
    """The quantitative maps: the project's [maps], overridden by --dixon, --dti, --qmap …; None if none."""
    from muscle_atlas.quantities import specs_from_args, specs_from_toml

    table = project.values.get("maps")
    base = specs_from_toml(table, project.folder, getattr(args, "config", None)) if isinstance(table, dict) else None
    specs = specs_from_args(args, base)
    return None if specs.empty else specs
