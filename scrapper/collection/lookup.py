"""Resolving what the user typed (slug, Discogs id or URL, free text) to one album."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from difflib import SequenceMatcher

from collection.album import Album, album_from_data
from collection.names import fold
from collection.store import Store, entry_slug
from errors import AlbumNotFound, AmbiguousAlbum, CollectionError

# Discogs release ids are ASCII numbers; anything longer than this is no id.
_ID = r"[0-9]{1,12}"
_DISCOGS_URL = re.compile(rf"discogs\.com/(?:[^/]+/)?release/({_ID})(?![0-9])", re.I)
_SLUG_ID = re.compile(rf"-({_ID})$")
MAX_CANDIDATES = 10
MAX_NEAREST = 3
NEAREST_SCORE = 0.6  # how alike (0 to 1) a record must be to be suggested for a name that matched nothing
MAX_JOINED_WORDS = 8  # unquoted words taken together as one name, at most
# How exactly free text names an album, best first.
_ARTIST_AND_TITLE, _WHOLE_ARTIST, _WHOLE_TITLE, _WORDS = range(4)


def _label(entry: dict, slug: str) -> str:
    return f"{slug} ({entry.get('release_artist', '?')}: {entry.get('release_name', '?')})"


def index_entries(store: Store) -> list[tuple[dict, str]]:
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
    found = found + [(e, s) for e, s in index_entries(store) if s not in slugs and _release_ids(e, s) & ids]
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
    found = [(e, s) for e, s in index_entries(store) if wanted in _release_ids(e, s)]
    if found:
        return _one_album(store, found, f"Discogs release id {release_id}")
    albums = store.root / "album"
    if albums.is_dir():
        for folder in albums.glob(f"*-{release_id}"):
            if folder.name.endswith(f"-{release_id}") and store.has_album(folder.name):
                return folder.name
    return None


def rank_words(wanted: str, tokens: list[str], artist: str, title: str) -> int | None:
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


def _by_text(store: Store, query: str, suggest: bool = True) -> str:
    """The albums the text names most exactly: whole artist and title, whole artist, whole title, then words."""
    wanted = fold(query)
    tokens = wanted.split()
    if not tokens:
        raise AlbumNotFound(f"no album matches {query!r}")
    ranked: dict[int, list[tuple[dict, str]]] = {}
    for entry, slug in index_entries(store):
        artist = fold(str(entry.get("release_artist") or ""))
        title = fold(str(entry.get("release_name") or ""))
        rank = rank_words(wanted, tokens, artist, title)
        if rank is not None:
            ranked.setdefault(rank, []).append((entry, slug))
    if not ranked:
        nearest = nearest_albums(store, query) if suggest else []
        raise AlbumNotFound(f"no album in {store.index_path} matches {query!r}"
                            + ("; the nearest:" if nearest else ""), nearest)
    return _one_album(store, ranked[min(ranked)], repr(query))


def _likeness(wanted: str, tokens: list[str], text: str) -> float:
    """How alike a typed name and a record's `artist title` are: the whole, or word by word (typos)."""
    whole = SequenceMatcher(None, wanted, text).ratio()
    words = text.split()
    if not words:
        return whole
    each = [max(SequenceMatcher(None, t, w).ratio() for w in words) for t in tokens]
    return max(whole, sum(each) / len(each))


def nearest_albums(store: Store, query: str, limit: int = MAX_NEAREST) -> list[str]:
    """Labels of the records whose artist and title are nearest what was typed, best first."""
    wanted = fold(query)
    tokens = wanted.split()
    if not tokens:
        return []
    scored: list[tuple[float, int, str]] = []
    for entry, slug in index_entries(store):
        text = fold(f"{entry.get('release_artist') or ''} {entry.get('release_name') or ''}")
        score = _likeness(wanted, tokens, text)
        if score >= NEAREST_SCORE:
            scored.append((-score, len(scored), _label(entry, slug)))
    return [label for _, _, label in sorted(scored)[:limit]]


def _exact(store: Store, query: str) -> str | None:
    """The album a slug, a Discogs release id or a release URL names, if it is one; None for other text."""
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
    return None


def resolve_slug(store: Store, query: str, suggest: bool = True) -> str:
    """Slug, Discogs release id, Discogs release URL, or `artist title` text; when nothing matches, the
    error names the nearest records (unless `suggest` is off)."""
    query = query.strip()
    if not query:
        raise AlbumNotFound("no album given")
    return _exact(store, query) or _by_text(store, query, suggest)


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


@dataclass
class LookupProblem:
    """A name that found no album, or several: why, and the records to choose from."""

    query: str
    message: str
    candidates: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.query}: {self.message}"


def resolve_words(store: Store, words: list[str]) -> tuple[list[str], list[LookupProblem]]:
    """Slugs for names typed as command-line arguments, quoted or not: `rush 2112` is one album when
    `rush` alone is not. Each run of words is taken as one name when it names one album (the longest
    run first), else the first word is reported with the records it could mean."""
    slugs: list[str] = []
    problems: list[LookupProblem] = []
    i = 0
    while i < len(words):
        try:
            exact = _exact(store, words[i].strip()) if words[i].strip() else None
        except CollectionError:
            exact = None
        if exact:  # a slug or an id: taken as it is, without trying it with the words after it
            slugs.append(exact)
            i += 1
            continue
        for j in range(min(len(words), i + MAX_JOINED_WORDS), i, -1):
            try:
                found = resolve_slug(store, " ".join(words[i:j]), suggest=j == i + 1)
            except (CollectionError, AmbiguousAlbum) as exc:
                if j == i + 1:
                    problems.append(LookupProblem(words[i], str(exc), getattr(exc, "candidates", [])))
                continue
            slugs.append(found)
            i = j
            break
        else:
            i += 1
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
