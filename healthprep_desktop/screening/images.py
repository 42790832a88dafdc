"""Raster attachments (TIFF faxes, PNG, JPEG, GIF, WebP) decoded one frame at a time, on a budget.

A small file can declare enormous frames: a 3 MB deflate TIFF holds ten 9000x9000 colour frames
(324 MB each once decoded). So nothing is decoded up front: `open_raster` reads the headers and
counts the frames, and `Raster.page(n, budget)` decodes one frame, shrinks it to a grey page no
longer than `MAX_RENDER_SIDE`, and lets the full-size frame go before the next one is touched.
Peak memory is one decoded frame (at most `max_frame_bytes`) plus one small grey page.

Three limits, each reported per document rather than raised:

- Pillow's decompression-bomb limit (`Image.MAX_IMAGE_PIXELS`) stays in force. Pillow checks it for
  the first frame only, as a warning; the warning is caught and turned into the document's
  message, and every later frame is checked against the same limit here.
- `max_frame_bytes`: a frame whose decoded size would exceed it is skipped ("page N too large").
- A per-document pixel budget (`PixelBudget`): once the frames decoded so far have used it up,
  the remaining pages are counted but not decoded.
"""

from __future__ import annotations

import io
import math
import re
import warnings
from dataclasses import dataclass

from PIL import Image

__all__ = [
    "MAX_FRAMES_COUNTED",
    "MAX_RENDER_SIDE",
    "BudgetSpent",
    "FrameSkipped",
    "ImageRefused",
    "PixelBudget",
    "Raster",
    "decoded_bytes",
    "open_raster",
]

MB = 1024 * 1024
MAX_RENDER_SIDE = 5000  # pixels; a poster-sized "page" must not become a 1 GB bitmap
MAX_FRAMES_COUNTED = 10_000  # a TIFF with more IFDs than this is reported as "over 10,000 pages"
_BAND_ROWS = 256  # rows converted to grey at a time while shrinking a decoded frame


class ImageRefused(Exception):
    """The image cannot be read at all; the message is one sentence for the sheet."""


class FrameSkipped(Exception):
    """This frame is over a size limit (or damaged); the other frames may still be read."""


class BudgetSpent(Exception):
    """The document's pixel budget is used up: decode nothing more."""


@dataclass(slots=True)
class PixelBudget:
    """Pixels a document may decode in all (frames, embedded images, rendered pages)."""

    limit: int
    used: int = 0

    def take(self, pixels: int) -> None:
        """Reserve `pixels`, or raise BudgetSpent (and reserve nothing)."""
        if self.used + pixels > self.limit:
            raise BudgetSpent
        self.used += pixels


def megapixels(pixels: int) -> str:
    return f"{pixels / 1_000_000:,.0f} megapixels"


def bomb_limit() -> int | None:
    """Pillow's decompression-bomb limit, as configured (None only if someone disabled it)."""
    limit = Image.MAX_IMAGE_PIXELS
    return int(limit) if limit else None


def decoded_bytes(mode: str, size: tuple[int, int]) -> int:
    """Memory Pillow needs for one frame: 1 byte a pixel for 1/L/P, 2 for I;16, else 4."""
    pixels = size[0] * size[1]
    if mode in ("1", "L", "P"):
        return pixels
    if mode.startswith("I;16"):
        return 2 * pixels
    return 4 * pixels  # RGB is stored as RGBX; LA, RGBA, CMYK, I, F are 4 bytes too


@dataclass(slots=True)
class Raster:
    """An opened raster attachment: its frame count; frames are decoded on demand."""

    data: bytes
    frames: int
    max_frame_bytes: int
    more_frames: bool = False  # True when counting stopped at MAX_FRAMES_COUNTED

    def page(self, number: int, budget: PixelBudget) -> Image.Image:
        """Frame `number` (0-based) as a grey image no longer than MAX_RENDER_SIDE.

        Raises FrameSkipped (skip this frame), BudgetSpent (stop), or whatever Pillow raises
        for a corrupt frame (the caller reports it as a damaged page).
        """
        # open_raster refused the file if frame 0 set off Pillow's bomb check; Pillow does not
        # check later frames, so every frame is checked here against the same limit.
        image = Image.open(io.BytesIO(self.data))
        with image:
            if number:
                image.seek(number)
            pixels = image.size[0] * image.size[1]
            limit = bomb_limit()
            if limit is not None and pixels > limit:
                raise FrameSkipped(
                    f"page {number + 1} is too large to read "
                    f"({megapixels(pixels)}, limit {megapixels(limit)})"
                )
            if decoded_bytes(image.mode, image.size) > self.max_frame_bytes:
                raise FrameSkipped(
                    f"page {number + 1} is too large to read "
                    f"({decoded_bytes(image.mode, image.size) / MB:,.0f} MB decoded, "
                    f"limit {self.max_frame_bytes / MB:,.0f} MB)"
                )
            budget.take(pixels)
            return _grey_page(image)


def _grey_page(image: Image.Image) -> Image.Image:
    """Decode `image` (one frame) and return it grey and shrunk by a whole factor to fit.

    Shrinking goes band by band, so besides the decoded frame only the small result and one
    band exist at a time (a full-size grey or reduced copy would add up to 81 MB per frame).
    """
    width, height = image.size
    factor = max(1, math.ceil(max(width, height) / MAX_RENDER_SIDE))
    if factor > 1:
        # JPEG can decode at 1/2, 1/4 or 1/8 scale directly: far less memory.
        image.draft("L", (width // factor, height // factor))
    image.load()
    width, height = image.size
    factor = max(1, math.ceil(max(width, height) / MAX_RENDER_SIDE))
    if factor == 1:
        return image.convert("L") if image.mode != "L" else image.copy()
    out = Image.new("L", (max(1, width // factor), max(1, height // factor)), 255)
    rows = max(factor, _BAND_ROWS - _BAND_ROWS % factor)
    for top in range(0, out.height * factor, rows):
        bottom = min(top + rows, out.height * factor)
        band = image.crop((0, top, out.width * factor, bottom))
        if band.mode != "L":
            band = band.convert("L")
        out.paste(band.reduce(factor), (0, top // factor))
    return out


def open_raster(data: bytes, max_frame_bytes: int) -> Raster:
    """Read the headers and count the frames; raises ImageRefused with a one-sentence reason."""
    with warnings.catch_warnings(record=True) as caught:
        # Not silenced: the warning becomes this document's message (see `bomb_warning`).
        warnings.simplefilter("always", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data))
        except Image.DecompressionBombError as exc:
            declared = re.search(r"\((\d+) pixels\)", str(exc))  # "Image size (N pixels) ..."
            raise ImageRefused(_too_large(int(declared[1]) if declared else None)) from None
        except Exception:
            raise ImageRefused("corrupt image") from None
    raster = Raster(data, 0, max_frame_bytes)
    with image:
        if any(issubclass(w.category, Image.DecompressionBombWarning) for w in caught):
            raise ImageRefused(_too_large(image.size[0] * image.size[1]))
        raster.frames, raster.more_frames = _count_frames(image)
    return raster


def _too_large(pixels: int | None) -> str:
    limit = bomb_limit()
    size = f"{megapixels(pixels)}, " if pixels else ""
    return f"image too large to read ({size}limit {megapixels(limit or 0)})"


def _count_frames(image: Image.Image) -> tuple[int, bool]:
    """Pages in a TIFF, counted by walking its directory chain (no pixel is decoded).

    Other formats count as one page: seeking a GIF or WebP frame decodes the frames before it,
    and an animation is not a multi-page document anyway.
    """
    if image.format != "TIFF" or not getattr(image, "is_animated", False):
        return 1, False
    count = 1
    while count < MAX_FRAMES_COUNTED:
        try:
            image.seek(count)
        except EOFError:
            return count, False
        except Exception:  # a damaged IFD chain: read what came before it
            return count, False
        count += 1
    return count, True
