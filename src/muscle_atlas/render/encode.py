"""Turntable animations: MP4 (H.264) through imageio-ffmpeg's bundled ffmpeg, and a GIF through
Pillow with one adaptive palette.

The page shows the video at most 480 CSS pixels wide, so the video is encoded at
:data:`VIDEO_SIZE` (1.33 times that) whatever the stills' size. Measured on VHF turntables
(16 frames rendered at 800 px): at 800 px and CRF 23, 187 KB; at 640 px and CRF 26, 94 KB.
H.264 in MP4 is the one video every current browser plays (Chromium, Firefox, Safari on every
system, Debian's Chromium included); a VP9 WebM beside it took as much room again (111 MB of the
whole body's 1.2 GB) for no reader who could not play the MP4. The GIF is the Both view's
download (and the fallback for browsers without video): 240 px, 32 colours (at 400 px and 128
colours: 360 KB; 320 px and 32 colours: 200 KB).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

VIDEO_SIZE = 640
GIF_SIZE = 240
GIF_COLOURS = 32
GIF_MAX_BYTES = 300 * 1024


H264 = ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-crf", "26", "-movflags", "+faststart", "-preset", "veryfast",
        "-f", "mp4"]  # fmt: skip


def video_frames(frames: list[np.ndarray], size: int = VIDEO_SIZE) -> list[np.ndarray]:
    """The (square) frames at most ``size`` pixels wide. An area average:
    as sharp as Lanczos at this mild reduction (1.25× from 800 px), and 5× faster."""
    return Reducer(size)(frames)


class Reducer:
    """Frames box-reduced to ``width`` pixels, once per frame.

    A turntable's frame differs from its scene's base frame only inside a window (see
    ``Renderer.turntable``). When that window's edges fall on pixel edges of the reduced frame,
    only the window is reduced, and pasted into the reduced base frame, which is made once per
    scene and view: a box filter's output pixel depends only on the input pixels it covers, so
    these are the pixels a whole reduction gives, for the cost of the window."""

    def __init__(self, width: int) -> None:
        self.width = width
        self.scene: object = None
        self.bases: dict[int, np.ndarray] = {}

    def __call__(
        self, frames: list[np.ndarray], windows: list[tuple[int, int, int, int] | None] | None = None,
        base: Callable[[int], np.ndarray] | None = None, scene: object = None,
    ) -> list[np.ndarray]:  # fmt: skip
        """``windows[i]``: frame i's window (x0, y0, x1, y1; rows from the top) over
        ``base(i)``, the base frame of ``scene``; None: reduce the whole frame."""
        size = frames[0].shape[1]
        if self.width >= size:
            return frames
        if scene != self.scene:
            self.scene, self.bases = scene, {}
        out = []
        for index, frame in enumerate(frames):
            window = windows[index] if windows else None
            if window is None or base is None or any(v * self.width % size for v in window):
                out.append(self._reduce(frame, size))
                continue
            if index not in self.bases:
                self.bases[index] = self._reduce(base(index), size)
            reduced = self.bases[index].copy()
            x0, y0, x1, y1 = window
            if x1 > x0 and y1 > y0:
                k = self.width / size
                patch = self._reduce(frame[y0:y1, x0:x1], size)
                reduced[round(y0 * k) : round(y1 * k), round(x0 * k) : round(x1 * k)] = patch
            out.append(reduced)
        return out

    def _reduce(self, image: np.ndarray, size: int) -> np.ndarray:
        """``image``, part of a frame ``size`` pixels wide, at the reduced frame's scale."""
        height, width = image.shape[:2]
        shape = (round(width * self.width / size), round(height * self.width / size))
        return np.asarray(Image.fromarray(image).resize(shape, Image.BOX))

    @staticmethod
    def alignment(size: int, widths: list[int]) -> int:
        """The smallest step (pixels of a ``size`` frame) on which edges fall on pixel edges of
        every reduction to ``widths``."""
        step = 1
        for width in widths:
            if width < size:
                step = math.lcm(step, size // math.gcd(size, width))
        return step


# The frames are converted to BT.601 limited-range YUV (what browsers assume for untagged video of
# this size: Chromium decodes it to the stills' colours), and tagged so that no player has to
# guess. BT.709 primaries and transfer are sRGB's, which the frames are in.
COLOUR = ["-colorspace", "smpte170m", "-color_primaries", "bt709", "-color_trc", "bt709", "-color_range", "tv"]


def write_video(frames: list[np.ndarray], path: Path, fps: float, threads: int = 0) -> Path:
    """The frames as given (see :func:`video_frames`) as an MP4 (H.264) at ``path``. ``threads``:
    the encoder's, 0 = ffmpeg's choice (1 in a render worker, which shares the cores with others)."""
    height, width = frames[0].shape[:2]
    # 4:2:0 needs even sides: an odd --size loses its last column and row in the video.
    even = f"crop={width - width % 2}:{height - height % 2}:0:0," if width % 2 or height % 2 else ""
    outputs = ["-vf", f"{even}scale=out_color_matrix=bt601:out_range=tv,format=yuv420p", *H264, *COLOUR,
               "-threads", str(threads), "-an", "-fflags", "+bitexact", "-flags:v", "+bitexact", "-map_metadata", "-1",
               str(path)]  # fmt: skip
    _ffmpeg(frames, fps, outputs)
    return path


def _ffmpeg(frames: list[np.ndarray], fps: float, outputs: list[str]) -> None:
    """Pipe raw frames to the ffmpeg that imageio-ffmpeg ships. imageio's own writer does not
    let us pass the bit-exact flags that make two encodes of the same frames byte-identical."""
    import subprocess

    import imageio_ffmpeg

    height, width = frames[0].shape[:2]
    command = [
        imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24",
        "-s", f"{width}x{height}", "-r", str(fps), "-i", "-", *outputs,
    ]  # fmt: skip
    subprocess.run(command, input=b"".join(f.tobytes() for f in frames), check=True)


def write_gif(frames: list[np.ndarray], path: Path, fps: float, size: int = GIF_SIZE) -> Path:
    """A looping GIF no larger than 300 KB: 32 colours, then fewer colours and pixels until it fits."""
    for colors, scale in ((GIF_COLOURS, 1.0), (GIF_COLOURS, 0.8), (16, 0.7), (16, 0.5), (8, 0.35)):
        side = int(min(size, frames[0].shape[1]) * scale)
        # An area average: 3x faster than Lanczos at this reduction, and a slightly smaller file.
        images = [Image.fromarray(f) for f in frames]
        if images[0].size != (side, side):
            images = [im.resize((side, side), Image.BOX) for im in images]
        palette = images[0].quantize(colors=colors, method=Image.Quantize.MEDIANCUT)
        quantized = [im.quantize(palette=palette, dither=Image.Dither.NONE) for im in images]
        quantized[0].save(path, save_all=True, append_images=quantized[1:], duration=int(1000 / fps), loop=0, optimize=True)
        if path.stat().st_size <= GIF_MAX_BYTES:
            break
    return path
