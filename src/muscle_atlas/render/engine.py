"""One reused offscreen VTK plotter that draws a scene from many cameras.

Rendering here is CPU-only (Mesa EGL, or OSMesa): MSAA is off (translucent actors vanish with
it on) and depth peeling is off. Anti-aliasing is supersampling done here: the scene is drawn
at 1.25 times the size and averaged down (box filter). VTK's own SSAA pass gives the same
smooth edges but measured 2-3 times slower on llvmpipe than drawing the extra pixels directly.

Each structure has two levels of detail: the highlighted one is drawn from its full surface,
the translucent context from a lighter one, which is most of the triangles in a scene.
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


@dataclass
class SceneItem:
    """One drawable structure: ``role`` is muscle, bone, context or hidden; ``light`` is a
    simpler surface for when it is context (None: draw ``mesh`` either way)."""

    key: str
    mesh: object  # pyvista.PolyData
    role: str
    light: object | None = None


class Renderer:
    def __init__(self, size: int = 800, background: str = "white", ssaa: bool = True) -> None:
        os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")
        import pyvista as pv

        self.size = size
        self.scale = SUPERSAMPLING if ssaa else 1.0
        window = round(size * self.scale)
        self.plotter = pv.Plotter(off_screen=True, window_size=(window, window), lighting="three lights")
        self.plotter.ren_win.SetMultiSamples(0)
        self.plotter.set_background(background)
        self.plotter.enable_parallel_projection()
        self.actors: dict[str, object] = {}  # full detail
        self.light_actors: dict[str, object] = {}  # context detail, where it differs
        self.items: dict[str, SceneItem] = {}

    def _add(self, mesh: object, name: str) -> object:
        actor = self.plotter.add_mesh(
            mesh, scalars=None, show_scalar_bar=False, smooth_shading=True, specular=0.15, name=name
        )
        actor.GetMapper().ScalarVisibilityOff()
        return actor

    def load(self, items: list[SceneItem]) -> None:
        for item in items:
            if item.role == "hidden" or item.key in self.actors:
                continue
            self.actors[item.key] = self._add(item.mesh, item.key)
            if item.light is not None:
                self.light_actors[item.key] = self._add(item.light, f"{item.key} (context)")
            self.items[item.key] = item

    def _style(self, highlight: dict[str, Color], framing: Framing) -> None:
        cx, cy, cz = framing.center
        r = framing.half_height
        for key, full in self.actors.items():
            light = self.light_actors.get(key)
            actor = full if key in highlight or light is None else light
            if light is not None:
                (light if actor is full else full).SetVisibility(False)
            prop = actor.GetProperty()
            item = self.items[key]
            # Translucent surfaces show only their front faces: half the fragments, and a
            # cleaner look than seeing each muscle's far side through its near side.
            prop.SetBackfaceCulling(key not in highlight and item.role != "bone")
            if key in highlight:
                prop.SetColor(*highlight[key])
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
            xmin, xmax, ymin, ymax, zmin, zmax = actor.GetBounds()
            inside = zmax >= cz - r and zmin <= cz + r and xmax >= cx - r and xmin <= cx + r
            actor.SetVisibility(bool(inside and (ymax >= cy - r and ymin <= cy + r)))

    def turntable(
        self, highlight: dict[str, Color], framing: Framing, count: int, colours: dict[str, np.ndarray] | None = None
    ) -> list[np.ndarray]:
        """``count`` RGB images, orientation 1 = anterior view. ``colours``: label key → sRGB
        uint8 colour per vertex, drawn instead of the structure's highlight colour."""
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
                                  smooth_shading=True, specular=0.15, name=name)  # fmt: skip
            actor.SetVisibility(False)
            painted.append((name, actor))
        try:
            return [self.view(framing, index, count) for index in range(count)]
        finally:
            for name, actor in painted:
                self.plotter.remove_actor(name, render=False)
                actor.SetVisibility(True)

    def view(self, framing: Framing, index: int, count: int) -> np.ndarray:
        """Render orientation ``index`` (0-based) of ``count`` with the current styles."""
        camera = self.plotter.camera
        dx, dy, dz = view_direction(index, count)
        cx, cy, cz = framing.center
        distance = framing.half_height * 10
        camera.focal_point = framing.center
        camera.position = (cx + dx * distance, cy + dy * distance, cz + dz * distance)
        camera.up = (0.0, 0.0, 1.0)
        camera.parallel_scale = framing.half_height
        camera.clipping_range = (distance - framing.half_height * 3, distance + framing.half_height * 3)
        self.plotter.render()
        image = self.plotter.screenshot(return_img=True)
        if self.scale == 1.0:
            return image
        from PIL import Image

        # A box filter is the plain average of the supersamples, and 3x faster than Lanczos.
        reduced = Image.fromarray(image).resize((self.size, self.size), Image.BOX)
        return np.asarray(reduced)

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
