"""File name suffixes the readers recognise, defined once (light: the command line's parser and
the map specifications check names before any reader is loaded)."""

from __future__ import annotations

NIFTI_SUFFIXES = (".nii", ".nii.gz")


def is_nifti_name(name: str) -> bool:
    return name.lower().endswith(NIFTI_SUFFIXES)
