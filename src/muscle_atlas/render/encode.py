"""Turntable animations: MP4 (H.264) through PyAV (FFmpeg's libraries, libx264 in its wheel), and a
GIF through Pillow with one adaptive palette.

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


# veryfast with subpixel refinement 1 and no trellis: on a whole-body turntable (16 frames of 640 px)
# 0.12 s of CPU where veryfast alone took 0.145 s, for 132 KB instead of 131 (superfast: 0.11 s,
# 177 KB; subme 0: 0.11 s, 133 KB). Without the 4x4 intra partitions (8x8 only): on two whole-body
# turntables 75 ms instead of 100 ms, 4 % larger, SSIM of the decoded frames to the rendered ones
# 0.9698 instead of 0.9702 (mean; the worst frame 0.943 either way). No partitions at all: 77 ms, 10 % larger.
H264 = {"crf": "26", "preset": "veryfast", "x264-params": "subme=1:trellis=0:partitions=i8x8"}


def video_frames(frames: list[np.ndarray], size: int = VIDEO_SIZE) -> list[np.ndarray]:
    """The (square) frames at most ``size`` pixels wide. An area average:
    as sharp as Lanczos at this mild reduction (1.25× from 800 px), and 5× faster."""
    return Reducer(size)(frames)


class Reducer:
    """Frames box-reduced to ``width`` pixels, once per frame.

    A turntable's frame differs from its scene's base frame only inside its windows (see
    ``Renderer.turntable``). When their edges fall on pixel edges of the reduced frame, only the
    windows are reduced, and pasted into the reduced base frame, which is made once per
    scene and view: a box filter's output pixel depends only on the input pixels it covers, so
    these are the pixels a whole reduction gives, for the cost of the window."""

    def __init__(self, width: int) -> None:
        self.width = width
        self.scene: object = None
        self.bases: dict[int, np.ndarray] = {}

    def __call__(
        self, frames: list[np.ndarray], windows: list[list[tuple[int, int, int, int]] | None] | None = None,
        base: Callable[[int], np.ndarray] | None = None, scene: object = None,
    ) -> list[np.ndarray]:  # fmt: skip
        """``windows[i]``: frame i's windows (x0, y0, x1, y1; rows from the top) over
        ``base(i)``, the base frame of ``scene``; None: reduce the whole frame."""
        size = frames[0].shape[1]
        if self.width >= size:
            return frames
        if scene != self.scene:
            self.scene, self.bases = scene, {}
        out = []
        for index, frame in enumerate(frames):
            rects = windows[index] if windows else None
            if rects is None or base is None or any(v * self.width % size for r in rects for v in r):
                out.append(self._reduce(frame, size))
                continue
            if index not in self.bases:
                self.bases[index] = self._reduce(base(index), size)
            reduced = self.bases[index].copy()
            k = self.width / size
            for x0, y0, x1, y1 in rects:
                if x1 > x0 and y1 > y0:
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
# guess. BT.709 primaries and transfer are sRGB's, which the frames are in. Tags as FFmpeg numbers
# them (AVColorSpace, AVColorPrimaries, AVColorTransferCharacteristic, AVColorRange).
SMPTE170M, BT709, TV_RANGE = 6, 1, 1


def write_video(frames: list[np.ndarray], path: Path, fps: float, threads: int = 0) -> Path:
    """The frames as given (see :func:`video_frames`) as an MP4 (H.264) at ``path``. ``threads``:
    the encoder's, 0 = its own choice (1 in a render worker, which shares the cores with others).

    Encoded in this process through PyAV: an ffmpeg process per video (as imageio-ffmpeg runs it)
    cost about 40 ms of start-up and piping beside the encoding's 90 ms, over 500 times in a
    whole-body build. Bit-exact flags keep two encodes of the same frames byte-identical."""
    from fractions import Fraction

    import av

    height, width = frames[0].shape[:2]
    # 4:2:0 needs even sides: an odd --size loses its last column and row in the video.
    height, width = height - height % 2, width - width % 2
    rate = Fraction(fps).limit_denominator(1000)
    options = {"movflags": "+faststart", "fflags": "+bitexact"}
    with av.open(str(path), "w", format="mp4", options=options) as container:
        stream = container.add_stream("libx264", rate=rate, options=dict(H264))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.thread_count = threads
        context = stream.codec_context
        context.flags |= av.codec.context.Flags.bitexact
        context.colorspace, context.color_primaries, context.color_trc, context.color_range = (
            SMPTE170M, BT709, BT709, TV_RANGE,
        )  # fmt: skip
        for frame in frames:
            picture = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame[:height, :width]), format="rgb24")
            # swscale's own threads (its default) cost 3 ms a frame here where one thread takes 1 ms
            picture = picture.reformat(format="yuv420p", dst_colorspace="ITU601", dst_color_range="MPEG", threads=1)
            container.mux(stream.encode(picture))
        container.mux(stream.encode(None))
    return path


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
