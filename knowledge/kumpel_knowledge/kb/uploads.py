"""Uploaded import files, read within one size limit for all of them together (API and console)."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import UploadFile


async def read_within(files: Sequence[UploadFile], limit: int) -> list[tuple[str, bytes]] | None:
    """(name, content) of every upload, or None as soon as they exceed ``limit`` bytes together.

    Each read stops one byte past what is left, so an oversized upload is never read whole.
    """
    uploads: list[tuple[str, bytes]] = []
    total = 0
    for upload in files:
        content = await upload.read(limit + 1 - total)
        total += len(content)
        if total > limit:
            return None
        uploads.append((upload.filename or "upload", content))
    return uploads
