"""Result images: safe downloads (no API key, http(s) only, size cap, timeout, decode check), thumbnails.

* A separate ``httpx.AsyncClient`` with no credentials: the API key can never reach an image host. Redirects
  are followed by hand and only within the same host; a redirect elsewhere is refused with a reason.
* Bodies are streamed with a size cap, and accepted as images only if Pillow decodes them (with its
  decompression-bomb limit on — the warning is promoted to an error). Decoding runs in a thread.
* Originals and thumbnails go through :class:`~mjdash.core.imagecache.ImageCache`. Thumbnails are made with
  JPEG draft mode (decoding at reduced scale) and cached per size; once cached they keep showing after the URL
  has expired, with a note that the original is gone.

Every failure is an :class:`ImageResult` with a short reason; nothing here raises for what a host can do.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import warnings
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from PIL import Image, UnidentifiedImageError

from mjdash import __version__
from mjdash.core.media.cache import ImageCache
from mjdash.core.parse import is_web_url

DEFAULT_MAX_BYTES = 40 * 1024 * 1024
DEFAULT_TIMEOUT = 20.0
DEFAULT_CONCURRENCY = 4
THUMB_SIZE = 256
MEMORY_THUMBS = 64  # thumbnails kept in memory while the disk cache cannot be written (~12 MB)
MAX_REDIRECTS = 3
VIDEO_SUFFIXES = (".mp4", ".webm", ".mov")


class ImageRefused(Exception):
    """A URL or body that will not be shown; the message is the short reason. ``expired``: the host no longer has
    it (kie.ai deletes result files after about two weeks)."""

    def __init__(self, reason: str, *, expired: bool = False) -> None:
        super().__init__(reason)
        self.expired = expired


@dataclass(frozen=True)
class ImageResult:
    url: str
    thumb: Image.Image | None = None
    reason: str | None = None  # why there is no image, or a note (e.g. "original expired")
    expired: bool = False
    video: bool = False

    @property
    def ok(self) -> bool:
        return self.thumb is not None


def is_video_url(url: str) -> bool:
    return urlsplit(url).path.lower().endswith(VIDEO_SUFFIXES)


def check_url(url: str) -> None:
    if not is_web_url(url):
        scheme = url.split(":", 1)[0][:12] if ":" in url else "no scheme"
        raise ImageRefused(f"refused: only http(s) URLs are fetched ({scheme})")


def decode(data: bytes) -> Image.Image:
    """Open and fully decode ``data``; ImageRefused if it is not an image Pillow accepts."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageRefused("refused: image too large to decode safely (decompression bomb?)") from None
    except UnidentifiedImageError:
        raise ImageRefused("not an image") from None
    except (OSError, SyntaxError, ValueError):
        raise ImageRefused("damaged or truncated image") from None
    return image


def make_thumbnail(source: Path | bytes, size: int = THUMB_SIZE) -> Image.Image:
    """A thumbnail no larger than size×size, decoding JPEG at reduced scale (draft mode)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(source) if isinstance(source, bytes) else source)
            image.draft("RGB", (size, size))
            image.thumbnail((size, size), Image.Resampling.LANCZOS)
            return image.convert("RGB")
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageRefused("refused: image too large to decode safely") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise ImageRefused("damaged image") from None


def _encode_jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=88)
    return out.getvalue()


class ImageFetcher:
    """Fetches result images into the cache and produces thumbnails. Use as an async context manager."""

    def __init__(
        self,
        cache: ImageCache,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        timeout: float = DEFAULT_TIMEOUT,
        concurrency: int = DEFAULT_CONCURRENCY,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.cache = cache
        self.cache_problem: str | None = None  # why the disk cache is not used, once it failed
        self._memory: OrderedDict[tuple[str, int], Image.Image] = OrderedDict()  # only while the disk cache fails
        self.max_bytes = max_bytes
        self.timeout = timeout
        self._gate = asyncio.Semaphore(concurrency)
        # No auth, no cookies shared with the API client, redirects handled by hand.
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            follow_redirects=False,
            headers={"User-Agent": f"mjdash/{__version__}"},
            transport=transport,
        )

    async def __aenter__(self) -> ImageFetcher:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def fetch_bytes(self, url: str) -> bytes:
        """The body at ``url`` (same-host redirects followed), within the size cap and the time limit."""
        check_url(url)
        async with self._gate:
            try:
                return await asyncio.wait_for(self._fetch(url), self.timeout)
            except TimeoutError:
                raise ImageRefused(f"timed out after {self.timeout:g} s") from None

    async def _fetch(self, url: str) -> bytes:
        host = urlsplit(url).netloc.lower()
        current = url
        for _ in range(MAX_REDIRECTS + 1):
            try:
                async with self._http.stream("GET", current) as response:
                    if response.is_redirect:
                        target = str(response.url.join(response.headers.get("location", "")))
                        check_url(target)
                        if urlsplit(target).netloc.lower() != host:
                            raise ImageRefused(f"refused: redirected to another host ({urlsplit(target).netloc})")
                        current = target
                        continue
                    if response.status_code in (403, 404, 410):
                        raise ImageRefused(f"expired or gone (HTTP {response.status_code})", expired=True)
                    if response.status_code != 200:
                        raise ImageRefused(f"HTTP {response.status_code} from the image host")
                    declared = response.headers.get("content-length")
                    if declared and declared.isdigit() and int(declared) > self.max_bytes:
                        raise ImageRefused(f"too large ({int(declared) // 1_048_576} MB > cap)")
                    chunks, total = [], 0
                    async for chunk in response.aiter_bytes():
                        total += len(chunk)
                        if total > self.max_bytes:
                            raise ImageRefused(f"too large (over {self.max_bytes // 1_048_576} MB cap)")
                        chunks.append(chunk)
                    return b"".join(chunks)
            except httpx.TimeoutException:
                raise ImageRefused(f"timed out after {self.timeout:g} s") from None
            except httpx.HTTPError as exc:
                raise ImageRefused(f"could not fetch ({type(exc).__name__})") from None
        raise ImageRefused("too many redirects")

    async def original(self, url: str) -> bytes:
        """The original's bytes: from the disk cache, else fetched, decode-checked and cached (if it can be)."""
        check_url(url)
        path = self.cache.original_path(url)
        if self.cache.get(path) is not None:
            with contextlib.suppress(OSError):
                return await asyncio.to_thread(path.read_bytes)
        try:
            data = await self.fetch_bytes(url)
        except ImageRefused as exc:
            if exc.expired:
                await self._keep(self.cache.gone_path(url), b"")
            raise
        await asyncio.to_thread(decode, data)
        await self._keep(path, data)
        return data

    async def _keep(self, path: Path, data: bytes) -> None:
        """Write to the disk cache; a cache that cannot be written (a file in its place, no permission, a full disk)
        is noted once in ``cache_problem`` and from then on thumbnails are kept in memory instead."""
        if self.cache_problem is not None:
            return
        try:
            await asyncio.to_thread(self.cache.put, path, data)
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            self.cache_problem = (
                f"the image cache {self.cache.root} cannot be written ({reason}) — thumbnails are kept in memory "
                "only; set MJDASH_CACHE_DIR to a writable folder"
            )

    async def thumbnail(self, url: str, size: int = THUMB_SIZE) -> ImageResult:
        """A thumbnail for the dashboard; never raises."""
        if is_video_url(url):
            return ImageResult(url, reason="video — open the link to play it", video=True)
        try:
            check_url(url)
        except ImageRefused as exc:
            return ImageResult(url, reason=str(exc))
        remembered = self._memory.get((url, size))
        if remembered is not None:
            self._memory.move_to_end((url, size))
            return ImageResult(url, thumb=remembered)
        thumb_path = self.cache.thumb_path(url, size)
        if self.cache.get(thumb_path) is not None:
            try:
                thumb = await asyncio.to_thread(make_thumbnail, thumb_path, size)
                if self.cache.is_gone(url) and self.cache.get(self.cache.original_path(url)) is None:
                    return ImageResult(url, thumb=thumb, reason="original expired on the host", expired=True)
                return ImageResult(url, thumb=thumb)
            except ImageRefused:
                pass  # a damaged cache file: make it again
        try:
            data = await self.original(url)
            thumb = await asyncio.to_thread(make_thumbnail, data, size)
        except ImageRefused as exc:
            return ImageResult(url, reason=str(exc), expired=exc.expired)
        await self._keep(thumb_path, _encode_jpeg(thumb))
        if self.cache_problem is not None:
            self._memory[(url, size)] = thumb
            while len(self._memory) > MEMORY_THUMBS:
                self._memory.popitem(last=False)
        return ImageResult(url, thumb=thumb)
