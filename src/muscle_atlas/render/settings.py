"""How a subject is rendered: :class:`RenderSettings` (views, size, colours, side variants, image
format), checked by :meth:`RenderSettings.validate`, and colour conversions.

Which side variants are made is ``RenderSettings.sides``: ``all`` (left, right and both sides
where both exist), ``both`` (only the both-sides view where both exist) or ``each`` (left and
right); a structure present on one side only keeps its one variant. Stills are WebP
(``image_format``; lossy at the quality each gallery needs for SSIM ≥ 0.98 against the lossless
image, about a fifth of the PNG's bytes, see ``render.stills``) and thumbnails AVIF (full colour
resolution), or both PNG for exports that name PNG files (:attr:`RenderSettings.thumb_format`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from muscle_atlas.render.engine import Color

SIDE_MODES = ("all", "both", "each")
IMAGE_FORMATS = ("webp", "png")
DEFAULT_TRIANGLES = 6000  # triangle budget per structure (not a RenderSettings field: it shapes the surfaces)


@dataclass
class RenderSettings:
    views: int = 16
    size: int = 800
    thumb: int = 200
    background: str = "white"
    highlight: str = "#db141f"  # the structure's colour when it is shown alone
    ssaa: bool = True
    animation_views: int = 0  # views in the animation; 0 = the still views (a multiple of views)
    seconds_per_turn: float = 2.0
    sides: str = "all"  # which side variants: all, both or each (see the module's docstring)
    image_format: str = "webp"  # stills and thumbnails: webp, or png (the Jekyll export's names)
    models: bool = True  # one GLB per scene

    def validate(self) -> None:
        from muscle_atlas.errors import ConfigError

        problems = []
        if self.views < 1:
            problems.append("views must be at least 1")
        if self.size < 64 or self.thumb < 16:
            problems.append("image size must be at least 64 pixels")
        if background_hex(self.background) is None:
            problems.append(f"background colour {self.background!r} is not a colour name or #rrggbb")
        if not _is_hex_colour(self.highlight):
            problems.append(f"highlight colour must look like #rrggbb, not {self.highlight!r}")
        if self.animation_views and (self.animation_views < self.views or self.animation_views % self.views):
            problems.append(f"animation views ({self.animation_views}) must be a multiple of views ({self.views})")
        if self.sides not in SIDE_MODES:
            problems.append(f"sides must be one of {', '.join(SIDE_MODES)}, not {self.sides!r}")
        if self.image_format not in IMAGE_FORMATS:
            problems.append(f"image format must be one of {', '.join(IMAGE_FORMATS)}, not {self.image_format!r}")
        if problems:
            raise ConfigError("; ".join(problems))

    @property
    def thumb_format(self) -> str:
        return thumb_format(self.image_format)

    @property
    def frames(self) -> int:
        """Views rendered per turntable: the animation's, of which every k-th is a still."""
        return max(self.views, self.animation_views)


def thumb_format(image_format: str) -> str:
    """The thumbnails' format (file extension) beside stills in ``image_format``."""
    return "avif" if image_format == "webp" else image_format


def _is_hex_colour(text: str) -> bool:
    return len(text) == 7 and text.startswith("#") and all(c in "0123456789abcdefABCDEF" for c in text[1:])


def background_hex(text: str) -> str | None:
    """A CSS colour (a name, #rgb, #rrggbb, rgb(...)) as #rrggbb; None if it is not one. Pillow
    parses it, where pyvista's parser would load its plotting module (0.7 s) in every build."""
    from PIL import ImageColor

    try:
        rgb = ImageColor.getrgb(text)
    except ValueError:
        return None
    return "#" + "".join(f"{v:02x}" for v in rgb[:3])


def hex_colour(text: str) -> Color:
    return tuple(int(text[i : i + 2], 16) / 255 for i in (1, 3, 5))  # type: ignore[return-value]


def colour_hex(colour: Color) -> str:
    return "#" + "".join(f"{round(float(c) * 255):02x}" for c in colour)
