"""Resolving what the user typed (slug, Discogs id or URL, free text) to one album."""

from __future__ import annotations

import re

from collection.album import Album, album_from_data
from collection.names import fold
from collection.store import Store, entry_slug
from errors import AlbumNotFound, AmbiguousAlbum, CollectionError

# Discogs release ids are ASCII numbers; anything longer than this is no id.
_ID = r"[0-9]{1,12}"
_DISCOGS_URL = re.compile(rf"discogs\.com/(?:[^/]+/)?release/({_ID})(?![0-9])", re.I)
_SLUG_ID = re.compile(rf"-({_ID})$")
MAX_CANDIDATES = 10
# How exactly free text names an album, best first.
_ARTIST_AND_TITLE, _WHOLE_ARTIST, _WHOLE_TITLE, _WORDS = range(4)


def _label(entry: dict, slug: str) -> str:
    return f"{slug} ({entry.get('release_artist', '?')}: {entry.get('release_name', '?')})"


def _entries(store: Store) -> list[tuple[dict, str]]:
    """Index entries with their slugs; an entry repeated with the same slug is one album."""
    out: list[tuple[dict, str]] = []
    seen: set[str] = set()
    for entry in store.index():
        slug = entry_slug(entry)
        if slug and slug not in seen:
            seen.add(slug)
            out.append((entry, slug))
    return out


def _release_ids(entry: dict, slug: str) -> set[int]:
    """The Discogs release ids an entry claims: its slug's number and any id field."""
    values: list[object] = [entry.get("discogs_id"), entry.get("id")]
    match = _SLUG_ID.search(slug)
    if match:
        values.append(match.group(1))
    ids: set[int] = set()
    for value in values:
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            continue
        text = str(value).strip()
        if re.fullmatch(_ID, text):
            ids.add(int(text))
    return ids


def _one_album(store: Store, found: list[tuple[dict, str]], what: str) -> str:
    """The one slug found, unless the index holds its release more than once.

    A release added twice is two albums to the index: picking one silently
    could scrobble or update the other copy's listening history.
    """
    ids = {i for entry, slug in found for i in _release_ids(entry, slug)}
    slugs = {slug for _, slug in found}
    found = found + [(e, s) for e, s in _entries(store) if s not in slugs and _release_ids(e, s) & ids]
    if len(found) == 1:
        return found[0][1]
    labels = [_label(e, s) for e, s in found[:MAX_CANDIDATES]]
    more = f" (and {len(found) - MAX_CANDIDATES} more)" if len(found) > MAX_CANDIDATES else ""
    why = "the same Discogs release is in the index more than once" if _shares_a_release(found) else "name one of them"
    raise AmbiguousAlbum(f"{what} matches {len(found)} albums{more}; {why}", labels)


def _shares_a_release(found: list[tuple[dict, str]]) -> bool:
    seen: set[int] = set()
    for entry, slug in found:
        ids = _release_ids(entry, slug)
        if ids & seen:
            return True
        seen |= ids
    return False


def _by_release_id(store: Store, release_id: str) -> str | None:
    wanted = int(release_id)
    found = [(e, s) for e, s in _entries(store) if wanted in _release_ids(e, s)]
    if found:
        return _one_album(store, found, f"Discogs release id {release_id}")
    albums = store.root / "album"
    if albums.is_dir():
        for folder in albums.glob(f"*-{release_id}"):
            if folder.name.endswith(f"-{release_id}") and store.has_album(folder.name):
                return folder.name
    return None


def _rank(wanted: str, tokens: list[str], artist: str, title: str) -> int | None:
    if wanted in (f"{artist} {title}", f"{title} {artist}") or wanted == artist == title:
        return _ARTIST_AND_TITLE
    if wanted == artist:
        return _WHOLE_ARTIST
    if wanted == title:
        return _WHOLE_TITLE
    words = f"{artist} {title}".split()
    if all(any(w.startswith(t) for w in words) for t in tokens):
        return _WORDS
    return None


def _by_text(store: Store, query: str) -> str:
    """The albums the text names most exactly: whole artist and title, whole artist, whole title, then words."""
    wanted = fold(query)
    tokens = wanted.split()
    if not tokens:
        raise AlbumNotFound(f"no album matches {query!r}")
    ranked: dict[int, list[tuple[dict, str]]] = {}
    for entry, slug in _entries(store):
        artist = fold(str(entry.get("release_artist") or ""))
        title = fold(str(entry.get("release_name") or ""))
        rank = _rank(wanted, tokens, artist, title)
        if rank is not None:
            ranked.setdefault(rank, []).append((entry, slug))
    if not ranked:
        raise AlbumNotFound(f"no album in {store.index_path} matches {query!r}")
    return _one_album(store, ranked[min(ranked)], repr(query))


def resolve_slug(store: Store, query: str) -> str:
    """Slug, Discogs release id, Discogs release URL, or `artist title` text."""
    query = query.strip()
    if not query:
        raise AlbumNotFound("no album given")
    url = _DISCOGS_URL.search(query)
    if url or re.fullmatch(_ID, query):
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
