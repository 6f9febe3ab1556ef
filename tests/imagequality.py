"""The tests' own image-quality measure, independent of the package's (scipy, float64)."""

from __future__ import annotations

import numpy as np


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean structural similarity of two RGB uint8 images (Wang et al. 2004): Gaussian window
    σ = 1.5, K1 = 0.01, K2 = 0.03, L = 255, per channel, averaged over pixels and channels —
    the usual definition (scikit-image's ``gaussian_weights=True``, without its edge crop)."""
    from scipy import ndimage

    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    values = []
    for channel in range(3):
        x, y = a[..., channel].astype(float), b[..., channel].astype(float)

        def blur(z: np.ndarray) -> np.ndarray:
            return ndimage.gaussian_filter(z, 1.5, truncate=3.5)

        mx, my = blur(x), blur(y)
        sxx, syy, sxy = blur(x * x) - mx * mx, blur(y * y) - my * my, blur(x * y) - mx * my
        index = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx * mx + my * my + c1) * (sxx + syy + c2))
        values.append(float(index.mean()))
    return float(np.mean(values))
