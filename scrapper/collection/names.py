"""Artist-name cleaning and the text normalisation used to match titles across services."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection

_DISAMBIGUATION = re.compile(r"\s+\(\d+\)$")
_BRACKETED = re.compile(r"\s*[\(\[][^\)\]]*[\)\]]")
_DASH_SUFFIX = re.compile(r"\s+-\s+.*$")
_NON_WORD = re.compile(r"[^\w]+")
_FOOTNOTE = re.compile(r"\s+\*+$")
_ABBREVIATIONS = {"pt": "part", "pts": "parts", "vol": "volume", "no": "number"}
_BLANKS = re.compile(r"\s+")
# Discogs credits a compilation to the artist "Various"; Last.fm files them under this name.
VARIOUS_ARTISTS = "Various Artists"


def collapse_blanks(text: str) -> str:
    """Trim, and make every inner run of blanks one space (`Space  Age` is `Space Age`)."""
    return _BLANKS.sub(" ", text).strip()


def clean_artist_name(name: str) -> str:
    """Drop Discogs' `(2)` disambiguation and trailing `*` (name-variation marker)."""
    name = collapse_blanks(name).rstrip("*").strip()
    return _DISAMBIGUATION.sub("", name).rstrip("*").strip()


def star_key(name: str) -> str:
    """A name as spelt, its `*` kept, for telling whether another source spells it the same."""
    return _DISAMBIGUATION.sub("", collapse_blanks(name)).strip().casefold()


def credited_name(artist: dict, known: Collection[str] = frozenset()) -> str:
    """An artist credit's name: cleaned, except that a trailing `*` stays when it is part of the name.

    Discogs marks a name variation with `*`, but some artists' names end in
    one. The `*` stays when Discogs' own name for the artist is spelt with
    it; when the file has no such name, when a name another service gives
    (`known`, as `star_key`s) is.
    """
    name = str(artist.get("name") or "")
    kept = _DISAMBIGUATION.sub("", collapse_blanks(name)).strip()
    if kept.endswith("*") and kept.rstrip("*").strip():
        original = artist.get("discogs_original_name")
        spellings = {star_key(original)} if isinstance(original, str) and original.strip() else known
        if kept.casefold() in spellings:
            return kept
    return clean_artist_name(name)


def clean_track_title(title: str) -> str:
    """Collapse blanks and drop Discogs footnote markers (`Stuck On You *`)."""
    return _FOOTNOTE.sub("", collapse_blanks(title)).strip()


def join_artists(artists: list[dict], default_join: str = " & ", known: Collection[str] = frozenset()) -> str:
    """Join credited artists as their Discogs `join` fields say (`&`, `,`, `Feat.`); `known` as for
    `credited_name`."""
    out = ""
    names = [a for a in artists if isinstance(a, dict) and str(a.get("name") or "").strip()]
    for i, artist in enumerate(names):
        out += credited_name(artist, known)
        if i == len(names) - 1:
            break
        join = collapse_blanks(str(artist.get("join") or ""))
        if not join:
            out += default_join
        elif join == ",":
            out += ", "
        else:
            out += f" {join} "
    return out


def album_artist(artists: list[dict], known: Collection[str] = frozenset()) -> str:
    """The album's artist: its credits joined, or "Various Artists" for a compilation.

    A compilation may credit a curator beside "Various"; joining the two would
    name an artist that does not exist.
    """
    names = [clean_artist_name(str(a.get("name") or "")) for a in artists if isinstance(a, dict)]
    if any(name.casefold() == "various" for name in names):
        return VARIOUS_ARTISTS
    return join_artists(artists, known=known)


def fold(text: str) -> str:
    """Lower case, accents removed, `&` read as `and`, punctuation as spaces."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.lower().replace("&", " and ").replace("'", "").replace("\u2019", "")
    return " ".join(_NON_WORD.sub(" ", text).split())


def title_key(title: str) -> str:
    """Key for matching a track title between Discogs and a streaming service.

    Bracketed parts and ` - Remastered 2012` style suffixes are versions of
    the same recording, so they are dropped before folding.
    """
    stripped = _DASH_SUFFIX.sub("", _BRACKETED.sub("", title)).strip()
    words = fold(stripped or title).split()
    return " ".join(_ABBREVIATIONS.get(w, w) for w in words)


_EDITION_WORDS = (
    "remaster", "deluxe", "edition", "anniversary", "expanded", "reissue", "bonus", "mono", "stereo",
    "version", "super", "legacy", "collector", "special", "limited", "mix",
)
_BRACKET_PART = re.compile(r"\s*[\(\[]([^\)\]]*)[\)\]]")
_DASH_PART = re.compile(r"\s+[-–]\s+(.*)$")


def album_key(artist: str, title: str) -> str:
    """Key for matching an album across Discogs and Last.fm names.

    Case, accents, punctuation, `&`/`and` and a leading "The" do not count,
    nor do edition suffixes such as "(Remastered 2012)", "[Deluxe Edition]"
    or " - 40th Anniversary"; other brackets ("3-D (The Catalogue)") do.
    """

    def edition(text: str) -> bool:
        return any(word in text.lower() for word in _EDITION_WORDS)

    title = _BRACKET_PART.sub(lambda m: "" if edition(m.group(1)) else m.group(0), title)
    title = _DASH_PART.sub(lambda m: "" if edition(m.group(1)) else m.group(0), title)

    def plain(text: str) -> str:
        words = fold(text).split()
        return " ".join(words[1:] if len(words) > 1 and words[0] == "the" else words)

    return f"{plain(clean_artist_name(artist))}\t{plain(title.strip())}"
