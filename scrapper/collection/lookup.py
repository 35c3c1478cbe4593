"""Resolving what the user typed (slug, Discogs id or URL, free text) to one album."""

from __future__ import annotations

import re

from collection.album import Album, album_from_data
from collection.names import fold
from collection.store import Store, entry_slug
from errors import AlbumNotFound, AmbiguousAlbum, CollectionError

_DISCOGS_URL = re.compile(r"discogs\.com/(?:[^/]+/)?release/(\d+)", re.I)
MAX_CANDIDATES = 10


def _label(entry: dict, slug: str) -> str:
    return f"{slug} ({entry.get('release_artist', '?')}: {entry.get('release_name', '?')})"


def _by_release_id(store: Store, release_id: str) -> str | None:
    suffix = f"-{release_id}"
    for entry in store.index():
        slug = entry_slug(entry)
        if slug and slug.endswith(suffix):
            return slug
    albums = store.root / "album"
    if albums.is_dir():
        for folder in albums.glob(f"*{suffix}"):
            if folder.name.endswith(suffix) and store.has_album(folder.name):
                return folder.name
    return None


def _by_text(store: Store, query: str) -> str:
    wanted = fold(query)
    tokens = wanted.split()
    if not tokens:
        raise AlbumNotFound(f"no album matches {query!r}")
    hits: list[tuple[dict, str]] = []
    exact: list[tuple[dict, str]] = []
    for entry in store.index():
        slug = entry_slug(entry)
        if not slug:
            continue
        artist = fold(str(entry.get("release_artist") or ""))
        title = fold(str(entry.get("release_name") or ""))
        words = f"{artist} {title}".split()
        if all(any(w.startswith(t) for w in words) for t in tokens):
            hits.append((entry, slug))
            if wanted in (title, f"{artist} {title}", f"{title} {artist}"):
                exact.append((entry, slug))
    if len(hits) == 1:
        return hits[0][1]
    if len(exact) == 1:
        return exact[0][1]
    if not hits:
        raise AlbumNotFound(f"no album in {store.index_path} matches {query!r}")
    labels = [_label(e, s) for e, s in hits[:MAX_CANDIDATES]]
    more = f" (and {len(hits) - MAX_CANDIDATES} more)" if len(hits) > MAX_CANDIDATES else ""
    raise AmbiguousAlbum(f"{query!r} matches {len(hits)} albums{more}; name one of them", labels)


def resolve_slug(store: Store, query: str) -> str:
    """Slug, Discogs release id, Discogs release URL, or `artist title` text."""
    query = query.strip()
    if not query:
        raise AlbumNotFound("no album given")
    url = _DISCOGS_URL.search(query)
    if url or query.isdigit():
        release_id = url.group(1) if url else query
        slug = _by_release_id(store, release_id)
        if slug:
            return slug
        if url:
            raise AlbumNotFound(f"no album with Discogs release id {release_id} in the collection")
    if "/" not in query and "\\" not in query and store.has_album(query):
        return query
    if any(entry_slug(e) == query for e in store.index()):
        return query
    return _by_text(store, query)


def resolve_many(store: Store, queries: list[str]) -> tuple[list[str], list[tuple[str, str]]]:
    """Slugs for the queries that resolve, and (query, why not) for the others."""
    slugs: list[str] = []
    problems: list[tuple[str, str]] = []
    for query in queries:
        try:
            slugs.append(resolve_slug(store, query))
        except (CollectionError, AmbiguousAlbum) as exc:
            problems.append((query, str(exc)))
    return slugs, problems


def load_album(store: Store, slug: str) -> Album:
    data, _fmt = store.read_album(slug)
    return album_from_data(data, slug, store.album_path(slug))


def find_album(store: Store, query: str) -> Album:
    return load_album(store, resolve_slug(store, query))


def iter_albums(store: Store) -> list[tuple[str, Album | CollectionError]]:
    """Every album of the index, or the error that stops it loading; one bad file stops nothing."""
    out: list[tuple[str, Album | CollectionError]] = []
    for entry in store.index():
        slug = entry_slug(entry)
        if not slug:
            continue
        try:
            out.append((slug, load_album(store, slug)))
        except CollectionError as exc:
            out.append((slug, exc))
    return out
