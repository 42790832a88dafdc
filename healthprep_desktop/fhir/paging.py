"""Bundle paging: resolving `next` links, absolute or relative, and guarding against loops."""

from __future__ import annotations

from typing import Any
from urllib.parse import urljoin, urlsplit

from healthprep_desktop.fhir.errors import FhirError


class PagingError(FhirError):
    """Paging could not reach the end of a search; the results so far are incomplete."""


class PagingLoop(PagingError):
    """A next link pointed back to a page already read."""


class TooManyPages(PagingError):
    """The search went past the configured maximum number of pages."""


def next_link(bundle: dict[str, Any]) -> str | None:
    for link in bundle.get("link") or []:
        if isinstance(link, dict) and link.get("relation") == "next" and link.get("url"):
            return str(link["url"])
    return None


def resolve_link(base_url: str, current_url: str, link: str) -> str:
    """Make a next link absolute.

    Servers send absolute URLs, server-root paths ("/fhir/Observation?..."), paths relative to the
    FHIR base ("Observation?page=2") or bare queries ("?page=2"). RFC 3986 resolution against the
    current page handles the first, second and last; a plain relative path is resolved against
    the base, because many servers write it relative to the base whatever the current page is
    (e.g. after `Patient/1/$everything` the next link is "Patient/1/$everything?page=2", not
    "Patient/1/Patient/1/$everything?page=2").
    """
    link = link.strip()
    if urlsplit(link).scheme in ("http", "https"):
        return link
    if link.startswith(("/", "?")):
        return urljoin(current_url, link)
    return base_url.rstrip("/") + "/" + link


def page_key(url: str) -> str:
    """A loop-guard key that ignores the order of query parameters."""
    parts = urlsplit(url)
    query = "&".join(sorted(parts.query.split("&"))) if parts.query else ""
    return f"{parts.netloc.lower()}{parts.path.rstrip('/')}?{query}"


class PageGuard:
    def __init__(self, max_pages: int) -> None:
        self.max_pages = max_pages
        self.pages = 0
        self._seen: set[str] = set()

    def visit(self, url: str) -> None:
        key = page_key(url)
        if key in self._seen:
            raise PagingLoop(f"the server's next link repeats page {self.pages + 1}'s address")
        self._seen.add(key)
        self.pages += 1
        if self.pages > self.max_pages:
            raise TooManyPages(f"the search has more than {self.max_pages} pages")
