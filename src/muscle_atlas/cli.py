"""The ``muscle-atlas`` command line: parses arguments and delegates to ``commands``.

Errors a user can cause (:class:`~muscle_atlas.errors.AtlasError`) end in one line on stderr
naming the file and the problem, with exit status 2 and no traceback. Anything else is a bug of
ours: one line says so and names a crash report (traceback, version, arguments, platform) to
attach to a bug report, with exit status 1 (``MUSCLE_ATLAS_DEBUG=1`` prints the traceback instead).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from muscle_atlas import __version__
from muscle_atlas.errors import AtlasError, one_line

EXIT_BUG = 1
EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, as a shell reports a program killed by it


def _add_inspect(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "inspect",
        help="list the structures of a label volume or mesh folder",
        description="One row per structure: label, name, voxel or vertex count, volume (mL), "
        "bounding box (mm, RAS) and warnings.",
    )
    p.add_argument("source", help="NIfTI label volume (.nii/.nii.gz) or folder of meshes (STL/OBJ/PLY)")
    p.add_argument("--labels", metavar="TABLE", help="label table file, or totalsegmentator:<task>")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    _add_orientation_options(p)


def _add_orientation_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--orientation",
        default=None,
        metavar="auto|header|RAS|LPS|…",
        help="the source's frame: auto (from the anatomy; default), header (keep it as it is), or "
        "where its x, y, z axes point, e.g. LPS",
    )
    from muscle_atlas.choices import UNITS

    p.add_argument("--units", choices=UNITS, default=None, help="units of a mesh source (default: auto)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="muscle-atlas",
        description="Turn 3D muscle segmentations into a muscle atlas website.",
    )
    parser.add_argument("--version", action="version", version=f"muscle-atlas {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    _add_inspect(sub)
    _add_kb(sub)
    _add_match(sub)
    _add_render(sub)
    _add_build(sub)
    _add_serve(sub)
    _add_demo(sub)
    _add_new(sub)
    _add_quantify(sub)
    from muscle_atlas.commands import study

    study.add_parser(sub)
    return parser


def _add_kb(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("kb", help="the anatomy knowledge base: the structure tree and facts")
    p.add_argument("query", nargs="?", help="a structure: code, path (leg/soleus), slug or name")
    p.add_argument("--json", action="store_true", help="print JSON (everything, for machines)")


def _add_match(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "match",
        help="match label names to structures and sides",
        description="Prints each label, its match (code, path, side) and, for the unmatched and "
        "ambiguous ones, the closest candidates.",
    )
    p.add_argument("target", help="a label table, a NIfTI label volume or a mesh folder")
    p.add_argument("--labels", metavar="TABLE", help="label table for a volume, or totalsegmentator:<task>")
    p.add_argument("--map", metavar="FILE", help="mapping file: 'label or name = code, slug or path [side]'")
    p.add_argument("--json", action="store_true", help="print JSON")
    _add_orientation_options(p)


def _add_render(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("render", help="surfaces, measurements, turntable images, animations and 3D models")
    p.add_argument("source", help="NIfTI label volume or folder of meshes")
    p.add_argument("-o", "--output", required=True, help="output folder")
    _add_render_options(p)


class _MapFileOrQuantityMap(argparse.Action):
    """``build --map``: FILE is the label mapping file; NAME=FILE[:UNIT] a quantitative map (as --qmap)."""

    def __call__(self, parser, namespace, values, option_string=None) -> None:  # type: ignore[no-untyped-def]
        if "=" in str(values):
            namespace.quantity_maps = [*(getattr(namespace, "quantity_maps", None) or []), values]
        else:
            setattr(namespace, self.dest, values)


def _add_render_options(p: argparse.ArgumentParser, quantity_maps: bool = False) -> None:
    from muscle_atlas.render.settings import SIDE_MODES

    p.add_argument("--labels", metavar="TABLE", help="label table, or totalsegmentator:<task>")
    if quantity_maps:
        p.add_argument("--map", metavar="FILE", action=_MapFileOrQuantityMap,
                       help="mapping file for labels the matcher cannot name; NAME=FILE[:UNIT] is a scalar map "
                       "(as --qmap)")  # fmt: skip
    else:
        p.add_argument("--map", metavar="FILE", help="mapping file for labels the matcher cannot name")
    p.add_argument("--jobs", type=int, default=None, help="parallel render processes (default: all CPUs)")
    p.add_argument("--views", type=int, default=None, help="orientations per turntable (default 16)")
    p.add_argument("--size", type=int, default=None, help="image size in pixels (default 800)")
    p.add_argument(
        "--animation-views",
        type=int,
        default=None,
        metavar="K",
        help="render K views (a multiple of --views) for a smoother animation",
    )
    p.add_argument(
        "--no-ssaa",
        dest="ssaa",
        action="store_false",
        default=None,
        help="no supersampled anti-aliasing (faster, jagged edges)",
    )
    p.add_argument("--triangles", type=int, default=None, help="triangle budget per structure (default 6000)")
    p.add_argument("--sides", choices=SIDE_MODES, default=None,
                   help="side views where both sides exist: all (both, left, right; default), both, or each "
                   "(left, right)")  # fmt: skip
    _add_orientation_options(p)


def _add_build(sub: argparse._SubParsersAction) -> None:
    from muscle_atlas.choices import FORMATS

    p = sub.add_parser("build", help="build the atlas website from a source")
    p.add_argument("source", nargs="?", help="NIfTI label volume or folder of meshes (or set it in --config)")
    p.add_argument("-o", "--output", help="output folder (replaced only by a complete build)")
    p.add_argument("--config", metavar="atlas.toml", help="atlas project file; flags override it")
    p.add_argument("--format", choices=FORMATS, default=None, help="html site (default) or Jekyll pages")
    p.add_argument("--title", help="site title")
    p.add_argument("--base-url", help="public URL of the site, for sitemap.xml and canonical links")
    p.add_argument("--reference-redirects", action="store_true", default=None,
                   help="html: also redirect pages at muscle-atlas.org's addresses (/muscle/leg/lateralgastrocnemius/), "
                   "listed in redirects.json")  # fmt: skip
    _add_render_options(p, quantity_maps=True)
    from muscle_atlas.quantities.specs import add_map_arguments

    add_map_arguments(p, map_flag="--qmap")


def _add_serve(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="serve a built site on 127.0.0.1")
    p.add_argument("folder", help="the built site")
    p.add_argument("--port", type=_port, default=8000, help="port (default 8000; 0 picks a free one)")


def _port(text: str) -> int:
    port = int(text)
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port (0 to 65535)")
    return port


def _add_demo(sub: argparse._SubParsersAction) -> None:
    from muscle_atlas.render.settings import SIDE_MODES

    p = sub.add_parser("demo", help="build the atlas of the real anatomy shipped with the package (nothing to download)")
    p.add_argument("-o", "--output", default="demo-site", help="output folder (default: demo-site)")
    p.add_argument("--jobs", type=int, default=None, help="parallel render processes (default: all CPUs)")
    # Lighter than a build's defaults, so that a new user sees the whole body's atlas (ten regions,
    # 191 pages) in about a minute and a half on two cores.
    p.add_argument("--views", type=int, default=16, help="orientations per turntable (default 16)")
    p.add_argument("--size", type=int, default=400, help="image size in pixels (default 400)")
    p.add_argument("--ssaa", action="store_true", help="supersampled anti-aliasing (smoother edges, slower)")
    p.add_argument("--no-ssaa", dest="ssaa", action="store_false", help="no supersampled anti-aliasing (default)")
    p.add_argument("--sides", choices=SIDE_MODES, default="both",
                   help="side views: both (default: both sides together), each, or all")  # fmt: skip


def _add_new(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("new", help="start an atlas project: writes DIR/atlas.toml with every option")
    p.add_argument("folder", help="project folder (created if needed)")


def _add_quantify(sub: argparse._SubParsersAction) -> None:
    from muscle_atlas.quantities.specs import add_map_arguments

    p = sub.add_parser(
        "quantify",
        help="per-structure statistics of quantitative maps (fat fraction, DTI, T2 …), no site",
        description="Writes quantities.csv/.json (n, mean, median, SD, percentiles per structure, side, map, "
        "raw and eroded), profiles.csv (per slice) and histograms.json.",
    )
    p.add_argument("source", help="NIfTI label volume")
    p.add_argument("--labels", metavar="TABLE", help="label table, or totalsegmentator:<task>")
    p.add_argument("--label-map", metavar="FILE", help="mapping file for labels the matcher cannot name")
    p.add_argument("-o", "--output", required=True, help="output folder")
    add_map_arguments(p)


def _dispatch(args: argparse.Namespace) -> int:
    # Commands import lazily so that `--help` and light commands never load VTK.
    if args.command == "inspect":
        from muscle_atlas.commands import inspect
        from muscle_atlas.config import source_frame

        return inspect.run(args.source, args.labels, args.json, *source_frame(args))
    if args.command == "kb":
        from muscle_atlas.commands import kb

        return kb.run(args.query, args.json)
    if args.command == "match":
        from muscle_atlas.commands import match
        from muscle_atlas.config import source_frame

        return match.run(args.target, args.labels, args.map, args.json, *source_frame(args))
    if args.command == "render":
        from muscle_atlas.commands import render
        from muscle_atlas.config import jobs, render_settings, source_frame, triangles
        from muscle_atlas.subject import SubjectRequest

        settings = render_settings(args, image_format="png")  # renders for people to use: lossless stills
        orientation, units = source_frame(args)
        request = SubjectRequest(args.source, args.labels, args.map, orientation=orientation, units=units)
        return render.run(request, args.output, jobs(args.jobs), settings, triangles(args))
    if args.command == "build":
        from muscle_atlas.commands import build
        from muscle_atlas.config import build_request

        return build.run(build_request(args))
    if args.command == "serve":
        from muscle_atlas.commands import serve

        return serve.run(args.folder, args.port)
    if args.command == "demo":
        from muscle_atlas.commands import demo
        from muscle_atlas.render.settings import RenderSettings

        settings = RenderSettings(views=args.views, size=args.size, thumb=args.size // 4, ssaa=args.ssaa, sides=args.sides)
        return demo.run(args.output, args.jobs, settings)
    if args.command == "quantify":
        from muscle_atlas.commands import quantify
        from muscle_atlas.quantities.specs import specs_from_args

        return quantify.run(args.source, args.labels, args.label_map, specs_from_args(args), args.output)
    if args.command == "study":
        from muscle_atlas.commands import study

        return study.run(args)
    if args.command == "new":
        from muscle_atlas.config import write_template

        path = write_template(args.folder)
        print(f"wrote {path}; edit it, then: muscle-atlas build --config {path}")
        return 0
    raise AssertionError(f"unhandled command {args.command}")  # argparse rejects unknown ones


def main(argv: Sequence[str] | None = None) -> int:
    import warnings

    warnings.formatwarning = _warning_line  # a library's warning: one line, not its source code
    try:
        args = build_parser().parse_args(argv)
        return _dispatch(args)
    except AtlasError as exc:
        print(f"muscle-atlas: error: {one_line(exc, 3000)}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("muscle-atlas: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        if not _stdout_is_broken():
            return _report_bug(argv)
        # Whoever read our output has gone (`muscle-atlas kb | head`): nothing to say, nowhere to say it.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except Exception:
        if os.environ.get("MUSCLE_ATLAS_DEBUG"):  # developers: the traceback, as Python prints it
            raise
        return _report_bug(argv)


def _warning_line(message: Warning | str, *details: object) -> str:
    return f"muscle-atlas: warning: {one_line(message, 300)}\n"


def _stdout_is_broken() -> bool:
    import select

    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(event & select.POLLERR for _, event in poller.poll(0))
    except (OSError, ValueError, AttributeError):
        return False


def _report_bug(argv: Sequence[str] | None) -> int:
    """One line for the user; the details, for a bug report, in a file."""
    import traceback

    error = sys.exc_info()[1]
    summary = one_line(f"{type(error).__name__}: {error}", 300)
    try:
        report = _write_crash_report(argv)
    except Exception:  # no report file: the traceback goes to the terminal instead
        traceback.print_exc()
        print(f"muscle-atlas: internal error ({summary}); this is a bug in muscle-atlas, please report it "
              "with the traceback above", file=sys.stderr)  # fmt: skip
        return EXIT_BUG
    print(f"muscle-atlas: internal error ({summary}); this is a bug in muscle-atlas, please report it "
          f"and attach {report}", file=sys.stderr)  # fmt: skip
    return EXIT_BUG


def _write_crash_report(argv: Sequence[str] | None) -> str:
    import platform
    import tempfile
    import time
    import traceback
    from importlib import metadata

    versions = []
    for package in ("numpy", "scipy", "nibabel", "trimesh", "vtk", "pyvista", "pygltflib"):
        try:
            versions.append(f"{package} {metadata.version(package)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{package} (not installed)")
    arguments = ["muscle-atlas", *argv] if argv is not None else sys.argv
    text = "\n".join([
        f"muscle-atlas {__version__} crash report, {time.strftime('%Y-%m-%d %H:%M:%S %z')}",
        f"command: {arguments!r}",
        f"python: {sys.version.splitlines()[0]} ({sys.executable})",
        f"platform: {platform.platform()}",
        f"packages: {', '.join(versions)}",
        "",
        traceback.format_exc(),
    ])  # fmt: skip
    name = f"muscle-atlas-crash-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.txt"
    path = os.path.join(tempfile.gettempdir(), name)
    with open(path, "x", encoding="utf-8") as handle:  # never through a link someone left there
        handle.write(text)
    return path


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
