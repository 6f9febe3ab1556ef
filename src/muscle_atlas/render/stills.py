"""Still images and their files: WebP stills at SSIM ≥ 0.98 to the lossless render, AVIF
thumbnails, or PNG for exports that name PNG files.

WebP's lossy mode keeps the colour at half resolution (4:2:0). A view with large saturated areas
beside pale bone (the abdomen's groups in red and blue over the ribs and the pelvis) loses more
to that than the quality says: of the whole body's 3,088 gallery stills at quality 93, 39 were
under SSIM 0.98 (the worst 0.974; the colour subsampling alone takes that one to 0.985), and
libwebp's sharper colour conversion (cwebp ``-sharp_yuv``) only gave it 0.976. So each gallery's
quality is measured as it is encoded, from the lowest of :data:`QUALITIES` up:

- the still the page opens on is encoded and compared with the render, then the one opposite,
  then the two a quarter turn away; the gallery takes that quality as soon as the worst measured
  keeps TARGET plus a margin for the views not measured (:data:`MARGINS`), and the next quality
  when one falls under TARGET or the four stay within the margin;
- if even the highest misses, every still is measured there, and one under TARGET is lossless.

A still shown alone (a side's poster, a map's) is measured itself. The margins are what the
worst view of a gallery was under the measured ones on those 3,088 stills (qualities 92-95, the
page's own opening views): 0.0062 under the opening view, 0.0034 under it and the opposite one,
0.0021 under the four. Measuring costs about 20 ms a still (OpenCV decodes in 5 ms, the SSIM
takes 15), encoding 18: on the whole body about 1,000 of the 3,472 stills are measured, some 20 s
of CPU in a 600 s build (docs/performance.md).

SSIM here is the usual definition (Wang et al. 2004: Gaussian window σ 1.5, K1 0.01, K2 0.03,
per colour channel, averaged), which the tests compute independently with scipy.
"""

from __future__ import annotations

import functools
import io
from pathlib import Path
from types import ModuleType

import numpy as np
from PIL import Image

TARGET = 0.98
MARGINS = (0.007, 0.0045, 0.003)  # one view measured, two, four (see the docstring)
QUALITIES = (92, 93, 95, 97, 100)  # lossy WebP, method 2 (method 4: 3 % smaller, 2-4x slower)
# Thumbnails: lossy WebP halves the colour resolution, which a 200 px view of a red muscle on white
# shows (worst SSIM 0.965 at quality 90, 0.975 at 100), and a 256-colour palette put group views
# (many hues) under 0.98. AVIF keeps the full colour resolution (4:4:4): on 200 whole-body
# thumbnails at quality 90 and the fastest speed, 8.4 KB, worst SSIM 0.985, 5-9 ms (speed 8:
# 7.5 KB, 3x slower; quality 85 went to 0.978).
AVIF = {"quality": 90, "subsampling": "4:4:4", "speed": 10, "max_threads": 1}
_C1, _C2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
_STRIP = 40  # rows of the SSIM map at a time: a strip's arrays stay in the cache (2.5x faster)


@functools.cache
def _cv2() -> ModuleType:
    """OpenCV, imported when first needed, on one thread: the render workers share the cores."""
    import cv2

    cv2.setNumThreads(1)
    return cv2


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean SSIM of two RGB uint8 images of one size (the module's definition).

    OpenCV's Gaussian blur, not scipy's: 2 ms against 13 ms a blur of an 800 px colour image, so
    that the SSIM of a still takes 15 ms (67 ms with scipy's), less than encoding it (18 ms)."""
    cv2 = _cv2()

    def blur(z: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(z, (11, 11), 1.5, borderType=cv2.BORDER_REFLECT)  # scipy's "reflect"

    height, total = a.shape[0], 0.0
    for top in range(0, height, _STRIP):
        bottom = min(height, top + _STRIP)
        first, last = max(0, top - 5), min(height, bottom + 5)  # the window's reach: 5 rows each way
        x, y = a[first:last].astype(np.float32), b[first:last].astype(np.float32)
        # The variances from two blurs, not three: σx² + σy² = (Var s + Var d) / 2 and σxy =
        # (Var s - Var d) / 4 for s = x + y, d = x - y. s is taken from white (510) so that the
        # squares of a light picture stay small: float32 keeps their differences exact enough.
        s, d = 510.0 - x - y, x - y
        mx, my, ss, dd = (blur(z)[top - first : bottom - first] for z in (x, y, s * s, d * d))
        var_s, var_d = ss - (510.0 - mx - my) ** 2, dd - (mx - my) ** 2
        mxy = mx * my
        index = ((2 * mxy + _C1) * (0.5 * (var_s - var_d) + _C2)) / (
            (mx * mx + my * my + _C1) * (0.5 * (var_s + var_d) + _C2)
        )
        total += float(index.sum(dtype=np.float64))
    return total / a.size


def webp(frame: np.ndarray, quality: int | None) -> bytes:
    """``frame`` as lossy WebP at ``quality`` (method 2), or lossless for None."""
    buffer = io.BytesIO()
    options = {"quality": quality, "method": 2} if quality is not None else {"lossless": True, "quality": 0, "method": 0}
    Image.fromarray(frame).save(buffer, format="WEBP", **options)
    return buffer.getvalue()


def _fidelity(frame: np.ndarray, data: bytes) -> float:
    """SSIM of the WebP ``data`` to ``frame``. Decoded by OpenCV (its libwebp): the same pixels
    as Pillow's decoder, in half the time (5 ms against 10 for 800 px), but in BGR order."""
    cv2 = _cv2()
    return ssim(frame, cv2.cvtColor(cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB))


def _views_measured(count: int, opens: int) -> list[list[int]]:
    """The stills measured in turn: the one the page opens on, the one opposite, then the two a
    quarter turn from them (a gallery is a turntable: neighbouring views look alike)."""
    turns = ((0,), (count // 2,), (count // 4, 3 * count // 4))
    return [sorted({(opens + k) % count for k in ks}) for ks in turns]


def _gallery_webp(frames: list[np.ndarray], opens: int) -> list[bytes]:
    """Every frame as WebP, at the first of :data:`QUALITIES` at which the measured frames keep
    SSIM ≥ TARGET plus the margin for the frames not measured (see the module's docstring)."""
    encoded: dict[int, bytes] = {}
    fidelity: dict[int, float] = {}

    def measure(views: list[int], quality: int) -> float:
        for i in views:
            if i not in encoded:
                encoded[i] = webp(frames[i], quality)
                fidelity[i] = _fidelity(frames[i], encoded[i])
        return min(fidelity.values())

    everything = list(range(len(frames)))
    for quality in QUALITIES:
        encoded, fidelity = {}, {}
        for views, margin in zip(_views_measured(len(frames), opens), MARGINS, strict=True):
            worst = measure(views, quality)
            if worst < TARGET:
                break
            if worst >= TARGET + (margin if len(fidelity) < len(frames) else 0.0):
                return [encoded[i] if i in encoded else webp(frames[i], quality) for i in everything]
    measure(everything, QUALITIES[-1])  # no lossy quality keeps every still: those under, lossless
    return [encoded[i] if fidelity[i] >= TARGET else webp(frames[i], None) for i in everything]


def encode_stills(frames: list[np.ndarray], image_format: str, opens: int = 0) -> list[bytes]:
    """The files of a gallery's stills (or of one still alone) in ``image_format``: WebP at the
    quality they need (``opens``: the still the page opens on, measured first), or PNG."""
    if image_format == "webp":
        return _gallery_webp(frames, opens)
    stills = []
    for frame in frames:
        buffer = io.BytesIO()
        Image.fromarray(frame).save(buffer, format="PNG", compress_level=2)
        stills.append(buffer.getvalue())
    return stills


def save_thumbnail(image: Image.Image, path: Path, image_format: str) -> None:
    """A thumbnail: AVIF beside WebP stills, or PNG."""
    if image_format == "avif":
        image.save(path, format="AVIF", **AVIF)
    else:
        image.save(path, format="PNG", compress_level=6)
