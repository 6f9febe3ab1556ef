"""One reused offscreen VTK plotter that draws a scene from many cameras.

Rendering here is CPU-only (Mesa EGL, or OSMesa): MSAA is off (translucent actors vanish with
it on) and depth peeling is off. Anti-aliasing is supersampling done here: the scene is drawn
at 1.25 times the size and averaged down (box filter). VTK's own SSAA pass gives the same
smooth edges but measured 2-3 times slower on llvmpipe than drawing the extra pixels directly.

Each structure has two levels of detail: the highlighted one is drawn from its full surface,
the translucent context from a lighter one, which is most of the triangles in a scene.

Over 500 lines for one cohesive class, :class:`Renderer`: the plotter, its actors and its
cameras are one state, kept from scene to scene.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from muscle_atlas.render.camera import Framing, view_direction

Color = tuple[float, float, float]
MUSCLE_CONTEXT: Color = (0.80, 0.62, 0.58)
BONE: Color = (0.93, 0.91, 0.84)
OTHER_CONTEXT: Color = (0.70, 0.78, 0.86)
HIGHLIGHT: Color = (0.86, 0.08, 0.12)
# Saturated, distinguishable colours for the children of a group, composite or region.
PALETTE: tuple[Color, ...] = (
    (0.86, 0.08, 0.12), (0.10, 0.45, 0.85), (0.95, 0.60, 0.05), (0.15, 0.65, 0.25),
    (0.55, 0.20, 0.75), (0.05, 0.70, 0.75), (0.90, 0.30, 0.65), (0.55, 0.45, 0.10),
    (0.35, 0.35, 0.95), (0.80, 0.80, 0.10), (0.95, 0.40, 0.30), (0.20, 0.50, 0.45),
)  # fmt: skip


SUPERSAMPLING = 1.25
SHOWN_DIFFERENCE = 24  # a highlighted structure shows where a channel differs from the base frame by more


@dataclass
class SceneItem:
    """One drawable structure: ``role`` is muscle, bone, context or hidden; ``light`` is a
    simpler surface for when it is context (None: draw ``mesh`` either way)."""

    key: str
    mesh: object  # pyvista.PolyData
    role: str
    light: object | None = None

    @property
    def closed(self) -> bool:
        """A closed surface (a hole of a few edges allowed): its back faces never show when
        it is opaque, so they need not be drawn. An open sheet shows its inner side."""
        if not hasattr(self, "_closed"):
            self._closed = self.mesh.n_open_edges <= 8  # type: ignore[attr-defined]
        return self._closed


class Renderer:
    def __init__(self, size: int = 800, background: str = "white", ssaa: bool = True, align: int = 4) -> None:
        """``align``: windows start and end on multiples of this many output pixels (a multiple
        of 4 with supersampling; see :meth:`turntable`)."""
        os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")
        import pyvista as pv

        self.size = size
        self.scale = SUPERSAMPLING if ssaa else 1.0
        window = round(size * self.scale)
        self.window = window
        self.align = align
        self._base_key: tuple | None = None
        self._base: dict[int, np.ndarray] = {}
        self.windows: list[tuple[int, int, int, int] | None] = []
        self.plotter = pv.Plotter(off_screen=True, window_size=(window, window), lighting="three lights")
        self.plotter.ren_win.SetMultiSamples(0)
        # Translucent surfaces are blended in the actors' order (the same in every view of a
        # scene), not by VTK's weighted order-independent pass: that pass cost a fifth of each
        # frame on llvmpipe, and at this opacity the two differ by at most 17 of 255 in a pixel.
        self.plotter.renderer.SetUseOIT(False)
        self.plotter.set_background(background)
        self.plotter.enable_parallel_projection()
        self.plotter.camera_set = True  # placed by _place_camera: pyvista must not reset it when it draws
        self.actors: dict[str, object] = {}  # full detail
        self.light_actors: dict[str, object] = {}  # context detail, where it differs
        self.items: dict[str, SceneItem] = {}
        self._shaded = _ContextShading(self.plotter.renderer)
        # Each actor's bounds, asked once when it is loaded (its surface never moves), and the
        # actors the current styles show: every window of every turntable projects them.
        self._boxes: dict[object, tuple[float, ...]] = {}
        self._shown: list[object] = []
        self._shown_boxes = np.zeros((0, 3, 2))  # their boxes (actor × xyz × min/max)
        self._styled_for: Framing | None = None  # the framing the styles are for (None: restyle all)
        self._styled: dict[str, Color] = {}  # what they highlight
        self._shown_of: dict[str, object] = {}  # structure → its actor drawn
        self._painted = False
        self._drawn: set[int] | None = None  # ids of the actors a window draws (None: all shown)

    def resize(self, size: int, align: int) -> None:
        """Draw ``size`` pixels square from now on, windows aligned to ``align`` (the plotter
        and its scene stay; the base frames go)."""
        if (size, align) == (self.size, self.align):
            return
        self.size, self.align = size, align
        self.window = round(size * self.scale)
        self.plotter.window_size = (self.window, self.window)
        self._base_key, self._base = None, {}

    def _add(self, mesh: object) -> object:
        # render=False: once the plotter has drawn, pyvista would draw the whole scene per actor
        # added. No name: pyvista looks a name up among all the actors (a scene's load grew with
        # the square of its structures); ours are kept in ``actors`` and ``light_actors``.
        actor = self.plotter.add_mesh(mesh, scalars=None, show_scalar_bar=False, smooth_shading=True, specular=0.15,
                                      render=False)  # fmt: skip
        actor.GetMapper().ScalarVisibilityOff()
        return actor

    def _box(self, actor: object) -> tuple[float, ...]:
        """The actor's bounds, asked of VTK once. (Asked right when the actor is added, they
        would run its pipeline before the context shading gives it its colour array.)"""
        box = self._boxes.get(actor)
        if box is None:
            box = self._boxes[actor] = actor.GetBounds()  # type: ignore[attr-defined]
        return box

    def load(self, items: list[SceneItem], framing: Framing | None = None) -> None:
        """Add the items; with ``framing`` (the scene's), only those that reach into its box: a
        whole-body scene holds every structure of the body, and a region's views show a part."""
        self._base_key = self._styled_for = None
        for item in items:
            if item.role == "hidden" or item.key in self.actors:
                continue
            if framing is not None and not _reaches(item, framing):
                continue
            self.actors[item.key] = self._add(item.mesh)
            if item.light is not None:
                self.light_actors[item.key] = self._add(item.light)
            self.items[item.key] = item

    def clear(self) -> None:
        """Remove every structure; the plotter stays for the next scene."""
        self.plotter.clear_actors()
        self.actors, self.light_actors, self.items = {}, {}, {}
        self._boxes, self._shown, self._styled_for = {}, [], None
        self._shaded.clear()
        self._base_key, self._base = None, {}

    def _style(self, highlight: dict[str, Color], framing: Framing) -> None:
        """Style the scene for ``highlight`` in ``framing``. Within one framing only the structures
        highlighted before or now change: a turntable restyles a few actors, not the scene's
        hundreds (work that grew with structures times turntables)."""
        if self._styled_for != framing:
            keys: object = list(self.actors)
            self._styled_for, self._styled, self._shown_of = framing, {}, {}
        else:
            keys = set(self._styled) | set(highlight)
        for key in keys:  # type: ignore[attr-defined]
            if key in self.actors:  # (not when loaded for a framing it does not reach)
                self._style_one(key, highlight.get(key), framing)
        self._styled = dict(highlight)
        self._shown = list(self._shown_of.values())
        self._shown_boxes = np.array([self._box(a) for a in self._shown]).reshape(-1, 3, 2)

    def _style_one(self, key: str, colour: Color | None, framing: Framing) -> None:
        cx, cy, cz = framing.center
        r = framing.half_height
        full, light = self.actors[key], self.light_actors.get(key)
        actor = full if colour is not None or light is None else light
        if light is not None:
            (light if actor is full else full).SetVisibility(False)
        prop = actor.GetProperty()  # type: ignore[attr-defined]
        item = self.items[key]
        # Translucent surfaces show only their front faces: half the fragments, and a
        # cleaner look than seeing each muscle's far side through its near side. Opaque
        # closed surfaces hide their back faces themselves: culled, they cost a quarter less.
        opaque = colour is not None or item.role == "bone"
        prop.SetBackfaceCulling(not opaque or item.closed)
        if colour is not None:
            prop.SetColor(*colour)
            prop.SetOpacity(1.0)
        elif item.role == "bone":
            prop.SetColor(*BONE)
            prop.SetOpacity(1.0)
        elif item.role == "muscle":
            prop.SetColor(*MUSCLE_CONTEXT)
            prop.SetOpacity(0.12)
        else:
            prop.SetColor(*OTHER_CONTEXT)
            prop.SetOpacity(0.25)
        self._shaded.set(actor, not opaque)
        xmin, xmax, ymin, ymax, zmin, zmax = self._box(actor)
        inside = zmax >= cz - r and zmin <= cz + r and xmax >= cx - r and xmin <= cx + r
        visible = bool(inside and (ymax >= cy - r and ymin <= cy + r))
        actor.SetVisibility(visible)  # type: ignore[attr-defined]
        if visible:
            self._shown_of[key] = actor
        else:
            self._shown_of.pop(key, None)

    def turntable(
        self, highlight: dict[str, Color], framing: Framing, count: int, colours: dict[str, np.ndarray] | None = None
    ) -> list[np.ndarray]:
        """``count`` RGB images, orientation 1 = anterior view. ``colours``: label key → sRGB
        uint8 colour per vertex, drawn instead of the structure's highlight colour.

        Every structure of a scene is drawn the same way in all its turntables but the
        highlighted ones, so each view of the scene with nothing highlighted (its base frame) is
        drawn once, when a turntable first needs it, and a turntable redraws only the window
        around its highlighted structures, pasted into the base frame. Outside that window the
        two drawings are the same pixels: the other actors, their styles, their drawing order and
        the camera's pixel grid do not change. Windows are aligned to ``align`` output pixels (a
        multiple of the supersampling's blocks, 5 drawn pixels → 4), so a box filter gives the
        pixels it gives in a whole frame; ``windows`` keeps each frame's windows in output pixels
        (x0, y0, x1, y1; rows from the top), or None for a frame drawn whole. A structure on both
        sides gets a window per side where two cost less than one around both."""
        boxes = self._bounds(highlight) if self._block() else None
        rects = [self._window(framing, i, count, boxes) for i in range(count)]
        self._base_frames(framing, count, [i for i, r in enumerate(rects) if r is not None])
        self._style(highlight, framing)
        painted = []
        for key, rgb in (colours or {}).items():
            actor = self.actors.get(key)
            if actor is None or not actor.GetVisibility():
                continue
            import pyvista as pv

            mesh: pv.PolyData = self.items[key].mesh.copy(deep=False)  # type: ignore[attr-defined]
            name = f"{key} (map)"
            self.plotter.add_mesh(mesh, scalars=np.asarray(rgb, dtype=np.uint8), rgb=True, show_scalar_bar=False,
                                  smooth_shading=True, specular=0.15, name=name, render=False)  # fmt: skip
            actor.SetVisibility(False)
            painted.append((name, actor))
        self._painted = bool(painted)
        try:
            frames = [
                self.view(framing, i, count) if rect is None else self._over(self._base[i], framing, i, count, rect)
                for i, rect in enumerate(rects)
            ]  # fmt: skip
        finally:
            self._painted = False
            for name, actor in painted:
                self.plotter.remove_actor(name, render=False)
                actor.SetVisibility(True)
        s = self.scale
        self.windows = [None if r is None else [tuple(round(v / s) for v in w) for w in r] for r in rects]
        return frames

    def shown(self, frames: list[np.ndarray], framing: Framing, step: int) -> list[int]:
        """Per still (frames ``0, step, 2·step …``): how much of the highlighted structures
        shows, the sum over pixels of how far the frame differs from its scene's base frame
        (where it differs by more than :data:`SHOWN_DIFFERENCE`). A structure seen in the open
        counts fully, seen through translucent muscles a little less, hidden behind bone not at
        all. Base frames are drawn once per scene; frames drawn whole have them drawn here."""
        count = len(frames)
        stills = list(range(0, count, step))
        self._base_frames(framing, count, stills)
        shown = []
        for index in stills:
            # A frame drawn over its base frame differs from it only inside its window; and every
            # other pixel each way gives the same choice for a quarter of the work.
            total = 0
            for x0, y0, x1, y1 in self.windows[index] or [(0, 0, self.size, self.size)]:
                x0, y0 = x0 + x0 % 2, y0 + y0 % 2  # the same pixels of the grid as a whole frame's
                d = np.subtract(frames[index][y0:y1:2, x0:x1:2], self._base[index][y0:y1:2, x0:x1:2], dtype=np.int16)
                np.abs(d, out=d)
                # The channels' maximum pairwise: numpy's max over a 3-long last axis is 3x slower.
                difference = np.maximum(np.maximum(d[..., 0], d[..., 1]), d[..., 2])
                total += int(np.sum(difference, where=difference > SHOWN_DIFFERENCE, dtype=np.int64))
            shown.append(total)
        return shown

    def base_frame(self, index: int) -> np.ndarray:
        """View ``index`` of the last turntable's scene with nothing highlighted (read only)."""
        return self._base[index]

    # -- base frames and windows -------------------------------------------------------------

    def _block(self) -> int | None:
        """Drawn pixels per aligned block; None: every frame is drawn whole."""
        block = self.align * self.scale
        return round(block) if abs(block - round(block)) < 1e-9 else None

    def _base_frames(self, framing: Framing, count: int, needed: list[int]) -> None:
        if self._base_key != (framing, count):
            self._base_key, self._base = (framing, count), {}
        missing = [i for i in needed if i not in self._base]
        if missing:
            self._style({}, framing)
            for i in missing:
                frame = self.view(framing, i, count)
                frame.flags.writeable = False  # shared by every turntable of the scene
                self._base[i] = frame

    def _bounds(self, highlight: dict[str, Color]) -> np.ndarray | None:
        """The boxes (structure × min/max × xyz) of what differs from the base frame: the
        highlighted structures, each at both levels of detail (the base frame draws its context
        surface)."""
        boxes = []
        for key in highlight:
            found = [self._box(a) for a in (self.actors.get(key), self.light_actors.get(key)) if a is not None]
            found = [b for b in found if b is not None and b[0] <= b[1]]
            if found:
                b = np.array(found)
                boxes.append((b[:, 0::2].min(axis=0), b[:, 1::2].max(axis=0)))
        return np.array(boxes) if boxes else None

    def _axes(self, framing: Framing, index: int, count: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The focal point of view ``index``, and the world vectors of one drawn pixel to the
        right and one up."""
        dx, dy, dz = view_direction(index, count)
        centre = np.array(framing.center, dtype=float)
        up = np.array([0.0, 0.0, 1.0])
        right = np.cross(-np.array([dx, dy, dz]), up)
        pixel = 2 * framing.half_height / self.window
        return centre, right / np.linalg.norm(right) * pixel, up * pixel

    def _project(self, corners: np.ndarray, framing: Framing, index: int, count: int) -> tuple[np.ndarray, np.ndarray]:
        """Drawn-pixel columns and rows (from the top) of world points in view ``index``."""
        centre, right, up = self._axes(framing, index, count)
        relative = corners - centre
        half = self.window / 2
        return relative @ right / (right @ right) + half, half - relative @ up / (up @ up)

    def _window(self, framing: Framing, index: int, count: int, boxes: np.ndarray | None) -> list[tuple] | None:
        """The aligned windows (drawn pixels) that hold the highlighted structures in view
        ``index``: one around each group of overlapping structures where that draws less than one
        around them all (a window costs about WINDOW_COST of a whole frame beside its area); None
        when the frame is better drawn whole."""
        block = self._block()
        if boxes is None or block is None:
            return None
        corners = np.stack(np.meshgrid([0, 1], [0, 1], [0, 1], indexing="ij"), -1).reshape(8, 3)
        xs, ys = self._project(boxes[:, corners, np.arange(3)], framing, index, count)  # structure × corner
        pad = 2  # drawn pixels: a rasterised edge may touch the pixel beside its box
        x0 = np.clip(np.floor((xs.min(axis=1) - pad) / block) * block, 0, self.window)
        y0 = np.clip(np.floor((ys.min(axis=1) - pad) / block) * block, 0, self.window)
        x1 = np.maximum(x0, np.clip(np.ceil((xs.max(axis=1) + pad) / block) * block, 0, self.window))
        y1 = np.maximum(y0, np.clip(np.ceil((ys.max(axis=1) + pad) / block) * block, 0, self.window))
        rects = _merged(np.stack([x0, y0, x1, y1], axis=1))
        one = np.array([rects[:, 0].min(), rects[:, 1].min(), rects[:, 2].max(), rects[:, 3].max()])
        areas = (rects[:, 2] - rects[:, 0]) * (rects[:, 3] - rects[:, 1]) / self.window**2
        whole = (one[2] - one[0]) * (one[3] - one[1]) / self.window**2
        if len(rects) > 1 and areas.sum() + WINDOW_COST * len(rects) < whole + WINDOW_COST:
            chosen, area = rects, float(areas.sum())
        else:
            chosen, area = one[None], float(whole)
        if area > 0.6:  # windows would save little
            return None
        return [tuple(int(v) for v in r) for r in chosen]

    def _over(self, base: np.ndarray, framing: Framing, index: int, count: int, rects: list[tuple]) -> np.ndarray:
        """The base frame with the windows ``rects`` (drawn pixels) drawn again."""
        frame = base.copy()
        for rect in rects:
            self._over_one(frame, framing, index, count, rect)
        return frame

    def _over_one(self, frame: np.ndarray, framing: Framing, index: int, count: int, rect: tuple) -> None:
        x0, y0, x1, y1 = rect
        if x1 <= x0 or y1 <= y0:  # nothing highlighted in this view
            return
        # Actors that project outside the window are hidden while it is drawn: on a CPU
        # rasteriser they would cost their vertices for no pixel.
        if self._painted:  # surface-map turntables: their coloured copies are drawn instead
            shown = [a for a in self.plotter.renderer.GetActors() if a.GetVisibility()]
            bounds = np.array([a.GetBounds() for a in shown]).reshape(-1, 3, 2)
        else:
            shown, bounds = self._shown, self._shown_boxes
        corners = np.stack(np.meshgrid([0, 1], [0, 1], [0, 1], indexing="ij"), -1).reshape(8, 3)
        boxes = bounds[:, np.arange(3), corners]  # actor × corner × xyz
        xs, ys = self._project(boxes, framing, index, count)
        outside = (xs.max(axis=1) < x0 - 1) | (xs.min(axis=1) > x1 + 1)
        outside |= (ys.max(axis=1) < y0 - 1) | (ys.min(axis=1) > y1 + 1)
        hidden = [a for a, out in zip(shown, outside, strict=True) if out]
        for actor in hidden:
            actor.SetVisibility(False)
        self._drawn = {id(a) for a, out in zip(shown, outside, strict=True) if not out}
        try:
            _, right, up = self._axes(framing, index, count)
            half = self.window / 2
            offset = right * ((x0 + x1) / 2 - half) - up * ((y0 + y1) / 2 - half)
            patch = self._draw(framing, index, count, offset, x1 - x0, y1 - y0)
        finally:
            self._drawn = None
            for actor in hidden:
                actor.SetVisibility(True)
        s = self.scale
        frame[round(y0 / s) : round(y1 / s), round(x0 / s) : round(x1 / s)] = patch

    def _draw(self, framing: Framing, index: int, count: int, offset: np.ndarray, width: int, height: int) -> np.ndarray:
        """Draw a ``width`` × ``height`` window of view ``index`` whose centre is ``offset``
        (world mm) from the view's centre: the same pixel grid as the whole frame's."""
        from vtkmodules.util.numpy_support import vtk_to_numpy
        from vtkmodules.vtkCommonCore import vtkUnsignedCharArray

        window = self.plotter.ren_win
        window.SetSize(width, height)
        self._place_camera(framing, index, count, offset, framing.half_height * height / self.window)
        window.Render()
        data = vtkUnsignedCharArray()
        window.GetPixelData(0, 0, width - 1, height - 1, 0, data, 0)
        image = vtk_to_numpy(data).reshape(height, width, 3)[::-1]
        window.SetSize(self.window, self.window)
        return self._reduce(np.ascontiguousarray(image))

    def _place_camera(self, framing: Framing, index: int, count: int, offset: np.ndarray, scale: float) -> None:
        # VTK's own camera: pyvista's properties reset the clipping range and go through its
        # attribute checks on every set (a twentieth of a whole-body turntable's time).
        camera = self.plotter.renderer.GetActiveCamera()
        dx, dy, dz = view_direction(index, count)
        cx, cy, cz = np.array(framing.center, dtype=float) + offset
        distance = framing.half_height * 10
        camera.SetFocalPoint(cx, cy, cz)
        camera.SetPosition(cx + dx * distance, cy + dy * distance, cz + dz * distance)
        camera.SetViewUp(0.0, 0.0, 1.0)
        camera.SetParallelScale(scale)
        camera.SetClippingRange(distance - framing.half_height * 3, distance + framing.half_height * 3)
        self._shaded.light((dx, dy, dz), self._drawn if self._drawn is not None else {id(a) for a in self._shown})

    def _reduce(self, image: np.ndarray) -> np.ndarray:
        if self.scale == 1.0:
            return image
        from PIL import Image

        # A box filter is the plain average of the supersamples, and 3x faster than Lanczos.
        height, width = image.shape[:2]
        size = (round(width / self.scale), round(height / self.scale))
        return np.asarray(Image.fromarray(image).resize(size, Image.BOX))

    def view(self, framing: Framing, index: int, count: int) -> np.ndarray:
        """Render orientation ``index`` (0-based) of ``count`` with the current styles."""
        self._place_camera(framing, index, count, np.zeros(3), framing.half_height)
        self.plotter.render()
        return self._reduce(self.plotter.screenshot(return_img=True))

    def project(self, points: np.ndarray) -> np.ndarray:
        """World points → pixel (column, row from the top) in the last rendered view."""
        renderer = self.plotter.renderer
        out = np.empty((len(points), 2))
        for i, p in enumerate(points):
            renderer.SetWorldPoint(*p, 1.0)
            renderer.WorldToDisplay()
            x, y, _ = renderer.GetDisplayPoint()
            out[i] = (x / self.scale, self.size - 1 - y / self.scale)
        return out

    def close(self) -> None:
        self.plotter.close()


def _reaches(item: SceneItem, framing: Framing) -> bool:
    """Whether the item's box meets the framing's cube. What lies outside it is outside every
    view: the views turn about the vertical axis through the cube's centre and show ± its half
    size across and up, so a point further than that along x, y or z is never in one."""
    centre, r = np.asarray(framing.center), framing.half_height
    for mesh in (item.mesh, item.light):
        if mesh is None:
            continue
        bounds = np.asarray(mesh.bounds).reshape(3, 2)  # type: ignore[attr-defined]
        if np.all(bounds[:, 1] >= centre - r) and np.all(bounds[:, 0] <= centre + r):
            return True
    return False


# What a window costs beside its area, in whole frames: measured on whole-body windows (CPU time
# ≈ 5 ms + 63 ms × the window's share of the frame, at 1000 drawn pixels).
WINDOW_COST = 0.08


def _merged(rects: np.ndarray) -> np.ndarray:
    """Rectangles (x0, y0, x1, y1) with those that overlap or touch replaced by the box around
    them, until none do."""
    from scipy.sparse.csgraph import connected_components

    while len(rects) > 1:
        touch = (rects[:, None, 0] <= rects[None, :, 2]) & (rects[None, :, 0] <= rects[:, None, 2])
        touch &= (rects[:, None, 1] <= rects[None, :, 3]) & (rects[None, :, 1] <= rects[:, None, 3])
        count, group = connected_components(touch, directed=False)
        if count == len(rects):
            break
        rects = np.array([[*rects[group == g, :2].min(axis=0), *rects[group == g, 2:].max(axis=0)] for g in range(count)])
    return rects


class _ContextShading:
    """Translucent context shaded on the CPU, once per view direction, and drawn unlit.

    On llvmpipe the fragment shader's lighting (three lights, per pixel) of the translucent
    layers was a fifth of every frame. These layers are drawn at 12-25 % opacity from light
    surfaces, so each is shaded here at its vertices by the formula of VTK's shader for
    directional lights (diffuse, and specular by the reflected light), with the renderer's
    lights, and its colours interpolated: frames differ from VTK's by more than 4 of 255 in about 0.1 %
    of pixels. The colours depend only on the view direction (parallel projection, lights that
    follow the camera), so a window drawn with a shifted camera gets the base frame's shading.
    Actors without point normals, or a scene lit otherwise, keep VTK's lighting."""

    ARRAY = "context shading"

    def __init__(self, renderer: object) -> None:
        self.renderer = renderer
        self.actors: dict[int, tuple[object, np.ndarray, np.ndarray, object]] = {}  # id → actor, normals, colours, array
        self.cache: dict[tuple, np.ndarray] = {}
        self.shown: set[int] = set()
        self.colour: dict[int, tuple] = {}  # id → the colour its style gave it
        self.filled: dict[int, tuple] = {}  # id → (direction, colour) its colours are shaded for

    def clear(self) -> None:
        self.actors, self.cache, self.shown, self.colour, self.filled = {}, {}, set(), {}, {}

    def set(self, actor: object, translucent: bool) -> None:
        """Shade ``actor`` here (translucent) or by VTK (opaque)."""
        mapper, prop = actor.GetMapper(), actor.GetProperty()  # type: ignore[attr-defined]
        entry = self.actors.get(id(actor)) if translucent else None
        if translucent and entry is None and self._lights() is not None:
            entry = self._prepare(actor)
        if entry is None:
            prop.LightingOn()
            mapper.ScalarVisibilityOff()
            self.shown.discard(id(actor))
            return
        prop.LightingOff()
        mapper.ScalarVisibilityOn()
        self.shown.add(id(actor))
        self.colour[id(actor)] = prop.GetColor()

    def _prepare(self, actor: object) -> tuple | None:
        from vtkmodules.util.numpy_support import numpy_to_vtk, vtk_to_numpy

        data = actor.GetMapper().GetInput()  # type: ignore[attr-defined]
        normals = data.GetPointData().GetNormals() if data is not None else None
        if normals is None:
            return None
        unit = vtk_to_numpy(normals).astype(np.float64)
        unit /= np.maximum(np.linalg.norm(unit, axis=1, keepdims=True), 1e-12)
        colours = np.zeros((len(unit), 3), dtype=np.uint8)
        array = numpy_to_vtk(colours, deep=False)
        array.SetName(self.ARRAY)
        data.GetPointData().AddArray(array)
        mapper = actor.GetMapper()  # type: ignore[attr-defined]
        mapper.SetScalarModeToUsePointFieldData()
        mapper.SelectColorArray(self.ARRAY)
        mapper.SetColorModeToDirectScalars()
        entry = (actor, unit, colours, array)
        self.actors[id(actor)] = entry
        return entry

    def _lights(self) -> list[tuple[object, float, np.ndarray]] | None:
        """The renderer's lights, if all are directional lights that follow the camera."""
        lights = list(self.renderer.GetLights())  # type: ignore[attr-defined]
        if not lights or any(not light.LightTypeIsCameraLight() or light.GetPositional() for light in lights):
            return None
        return [(light, light.GetIntensity(), np.array(light.GetDiffuseColor())) for light in lights if light.GetSwitch()]

    def light(self, direction: tuple[float, float, float], drawn: set[int] | None = None) -> None:
        """Colours of the shaded actors for the camera just placed, looking along -``direction``:
        of those among ``drawn`` (ids; None: all), unless shaded for it already. A window hides
        most of a scene's actors: their colours wait until they are drawn."""
        todo = [key for key in self.shown if (drawn is None or key in drawn)
                and self.filled.get(key) != (direction, self.colour[key])]  # fmt: skip
        if not todo:
            return
        lights = self._lights()
        if lights is None:
            return
        camera = self.renderer.GetActiveCamera()  # type: ignore[attr-defined]
        m = camera.GetCameraLightTransformMatrix()
        matrix = np.array([[m.GetElement(i, j) for j in range(4)] for i in range(4)])
        towards = []
        for light, intensity, colour in lights:
            position = matrix @ np.r_[light.GetPosition(), 1.0]
            focus = matrix @ np.r_[light.GetFocalPoint(), 1.0]
            vector = position[:3] / position[3] - focus[:3] / focus[3]
            towards.append((vector / np.linalg.norm(vector), intensity * colour))
        viewer = np.array(camera.GetPosition()) - np.array(camera.GetFocalPoint())
        viewer /= np.linalg.norm(viewer)
        for key in todo:
            actor, unit, colours, array = self.actors[key]
            cache_key = (key, direction, self.colour[key])
            shaded = self.cache.get(cache_key)
            if shaded is None:
                shaded = self._shade(unit, actor.GetProperty(), towards, viewer)  # type: ignore[attr-defined]
                self.cache[cache_key] = shaded
            colours[:] = shaded
            array.Modified()
            self.filled[key] = cache_key[1:]

    @staticmethod
    def _shade(unit: np.ndarray, prop: object, towards: list, viewer: np.ndarray) -> np.ndarray:
        diffuse = np.zeros((len(unit), 3))
        specular = np.zeros((len(unit), 3))
        power = prop.GetSpecularPower()  # type: ignore[attr-defined]
        for direction, colour in towards:
            facing = unit @ direction
            df = np.maximum(0.0, facing)
            diffuse += df[:, None] * colour
            reflected = 2.0 * facing[:, None] * unit - direction  # the light reflected about the normal
            sf = np.where(df > 0, np.maximum(0.0, reflected @ viewer) ** power, 0.0)
            specular += sf[:, None] * colour
        rgb = (
            prop.GetAmbient() * np.array(prop.GetAmbientColor())  # type: ignore[attr-defined]
            + prop.GetDiffuse() * np.array(prop.GetDiffuseColor()) * diffuse  # type: ignore[attr-defined]
            + prop.GetSpecular() * np.array(prop.GetSpecularColor()) * specular  # type: ignore[attr-defined]
        )
        return np.clip(np.round(rgb * 255), 0, 255).astype(np.uint8)
