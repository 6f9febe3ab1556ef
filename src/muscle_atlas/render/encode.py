"""Turntable animations: MP4 (H.264) and WebM (VP9) through imageio-ffmpeg's bundled ffmpeg,
and a GIF fallback through Pillow with one adaptive palette."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

GIF_SIZE = 400
GIF_MAX_BYTES = 600 * 1024


H264 = ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-crf", "23", "-movflags", "+faststart", "-preset", "veryfast",
        "-f", "mp4"]  # fmt: skip
VP9 = ["-c:v", "libvpx-vp9", "-pix_fmt", "yuv420p", "-b:v", "0", "-crf", "36", "-deadline", "realtime",
       "-cpu-used", "8", "-row-mt", "1", "-f", "webm"]  # fmt: skip


def write_videos(frames: list[np.ndarray], path: Path, fps: float, kind: str) -> Path:
    """``kind`` mp4 (H.264) or webm (VP9), written to ``path``."""
    _ffmpeg(frames, path, fps, H264 if kind == "mp4" else VP9)
    return path


def _ffmpeg(frames: list[np.ndarray], path: Path, fps: float, codec: list[str]) -> None:
    """Pipe raw frames to the ffmpeg that imageio-ffmpeg ships. imageio's own writer does not
    let us pass the bit-exact flags that make two encodes of the same frames byte-identical."""
    import subprocess

    import imageio_ffmpeg

    height, width = frames[0].shape[:2]
    command = [
        imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24",
        "-s", f"{width}x{height}", "-r", str(fps), "-i", "-", *codec, "-an",
        "-fflags", "+bitexact", "-flags:v", "+bitexact", "-map_metadata", "-1", str(path),
    ]  # fmt: skip
    subprocess.run(command, input=b"".join(f.tobytes() for f in frames), check=True)


def write_gif(frames: list[np.ndarray], path: Path, fps: float, size: int = GIF_SIZE) -> Path:
    """A looping GIF no larger than 600 KB: smaller palettes, then fewer pixels, until it fits."""
    for colors, scale in ((128, 1.0), (64, 1.0), (64, 0.8), (32, 0.7), (32, 0.5)):
        side = int(size * scale)
        images = [Image.fromarray(f).resize((side, side), Image.LANCZOS) for f in frames]
        palette = images[0].quantize(colors=colors, method=Image.Quantize.MEDIANCUT)
        quantized = [im.quantize(palette=palette, dither=Image.Dither.NONE) for im in images]
        quantized[0].save(path, save_all=True, append_images=quantized[1:], duration=int(1000 / fps), loop=0, optimize=True)
        if path.stat().st_size <= GIF_MAX_BYTES:
            break
    return path
