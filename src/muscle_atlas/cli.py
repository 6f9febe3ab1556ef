"""The ``muscle-atlas`` command line: parses arguments and delegates to ``commands``.

Errors a user can cause (:class:`~muscle_atlas.errors.AtlasError`) end in one line on stderr
naming the file and the problem, with exit status 2 and no traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from muscle_atlas import __version__
from muscle_atlas.errors import AtlasError

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130


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
    p.add_argument(
        "--units", choices=("auto", "mm", "cm", "m"), default=None, help="units of a mesh source (default: auto)"
    )


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


def _add_render_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--labels", metavar="TABLE", help="label table, or totalsegmentator:<task>")
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
    _add_orientation_options(p)


def _add_build(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("build", help="build the atlas website from a source")
    p.add_argument("source", nargs="?", help="NIfTI label volume or folder of meshes (or set it in --config)")
    p.add_argument("-o", "--output", help="output folder (replaced only by a complete build)")
    p.add_argument("--config", metavar="atlas.toml", help="atlas project file; flags override it")
    p.add_argument("--format", choices=("html", "jekyll"), default=None, help="html site (default) or Jekyll pages")
    p.add_argument("--title", help="site title")
    p.add_argument("--base-url", help="public URL of the site, for sitemap.xml and canonical links")
    _add_render_options(p)


def _add_serve(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="serve a built site on 127.0.0.1")
    p.add_argument("folder", help="the built site")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 picks a free one)")


def _add_demo(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="build the atlas of the embedded synthetic phantom (nothing to download)")
    p.add_argument("-o", "--output", default="demo-site", help="output folder (default: demo-site)")
    p.add_argument("--jobs", type=int, default=None, help="parallel render processes (default: all CPUs)")
    p.add_argument("--views", type=int, default=16, help="orientations per turntable (default 16)")
    p.add_argument("--size", type=int, default=800, help="image size in pixels (default 800)")
    p.add_argument("--no-ssaa", dest="ssaa", action="store_false", help="no supersampled anti-aliasing")


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

        return inspect.run(args.source, args.labels, args.json, args.orientation or "auto", args.units or "auto")
    if args.command == "kb":
        from muscle_atlas.commands import kb

        return kb.run(args.query, args.json)
    if args.command == "match":
        from muscle_atlas.commands import match

        return match.run(args.target, args.labels, args.map, args.json, args.orientation or "auto", args.units or "auto")
    if args.command == "render":
        from muscle_atlas.commands import render
        from muscle_atlas.render.pipeline import RenderSettings
        from muscle_atlas.subject import SubjectRequest

        settings = RenderSettings(
            views=args.views or 16,
            size=args.size or 800,
            ssaa=args.ssaa is not False,
            animation_views=args.animation_views or 0,
        )
        jobs = args.jobs or len(os.sched_getaffinity(0))
        request = SubjectRequest(
            args.source, args.labels, args.map, orientation=args.orientation or "auto", units=args.units or "auto"
        )
        return render.run(request, args.output, jobs, settings, args.triangles or 6000)
    if args.command == "build":
        from muscle_atlas.commands import build
        from muscle_atlas.config import request_from

        return build.run(request_from(args))
    if args.command == "serve":
        from muscle_atlas.commands import serve

        return serve.run(args.folder, args.port)
    if args.command == "demo":
        from muscle_atlas.commands import demo
        from muscle_atlas.render.pipeline import RenderSettings

        return demo.run(args.output, args.jobs, RenderSettings(views=args.views, size=args.size, ssaa=args.ssaa))
    if args.command == "quantify":
        from muscle_atlas.commands import quantify
        from muscle_atlas.quantities.specs import specs_from_args

        return quantify.run(args.source, args.labels, args.label_map, specs_from_args(args), args.output)
    if args.command == "new":
        from muscle_atlas.config import write_template

        path = write_template(args.folder)
        print(f"wrote {path}; edit it, then: muscle-atlas build --config {path}")
        return 0
    raise AssertionError(f"unhandled command {args.command}")  # argparse rejects unknown ones


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return _dispatch(args)
    except AtlasError as exc:
        print(f"muscle-atlas: error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("muscle-atlas: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
