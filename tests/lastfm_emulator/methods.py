"""The emulated API methods, each answering in the element shapes of the real service."""

from __future__ import annotations

import math
import re
import secrets
import unicodedata
from collections import Counter
from typing import TYPE_CHECKING, Callable

from .core import (
    ARTIST_FILTER, FUTURE_TOLERANCE, MAX_AGE, MAX_BATCH, TOKEN_TTL, AlbumKey, ApiError, Scrobble, Token,
    md5, name_key, require,
)
from .xml import (
    ALBUM_INFO_SIZES, ARTIST_SIZES, document, el, images, music_url, recent_track, recent_tracks_document,
)

if TYPE_CHECKING:
    from .core import Emulator, History

NOW_PLAYING_TTL = 600
RECENT_MAX_LIMIT = 200
TOP_MAX_LIMIT = 1000
END_OF_TIME = 2**62  # the default `to`: later than any timestamp
MAX_PAGE = 1_000_000  # "page param out of bounds (1-1000000)", as Last.fm words it
_INDEXED = re.compile(r"^([A-Za-z]+)\[(\d+)\]$")


def _int_param(params: dict[str, str], name: str, default: int, low: int = 1, high: int | None = None) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(6, f"Invalid parameters - {name} must be an integer") from None
    if value < low:
        raise ApiError(6, f"Invalid parameters - {name} must be at least {low}")
    return min(value, high) if high else value


def _find_album(emu: Emulator, params: dict[str, str]) -> dict:
    mbid = params.get("mbid", "").strip()
    for album in emu.state.albums:
        if mbid and album.get("mbid") == mbid:
            return album
        if not mbid and name_key(album["artist"]) == name_key(params.get("artist", "")) and name_key(
            album["name"]
        ) == name_key(params.get("album", "")):
            return album
    raise ApiError(6, "Album not found")


def _user_of(emu: Emulator, params: dict[str, str], session_user: str | None, name: str = "user") -> str:
    wanted = params.get(name, "").strip() or session_user
    if not wanted:
        raise ApiError(6, f"Invalid parameters - Your request is missing the [{name}] parameter")
    for user in emu.state.users:
        if user.casefold() == wanted.casefold():
            return user
    raise ApiError(6, "User not found", http=404)


def _session(name: str, key: str) -> bytes:
    node = el(None, "session")
    el(node, "name", name)
    el(node, "key", key)
    el(node, "subscriber", 0)
    return document("ok", node)


# --- auth ---------------------------------------------------------------------------------

def auth_get_token(emu: Emulator, params: dict, user: str | None) -> bytes:
    token = secrets.token_hex(16)
    with emu.lock:
        emu.state.tokens[token] = Token(emu.clock())
    return document("ok", el(None, "token", token))


def auth_get_session(emu: Emulator, params: dict, user: str | None) -> bytes:
    (token,) = require(params, "token")
    with emu.lock:
        entry = emu.state.tokens.get(token)
        if entry is None or entry.used:
            raise ApiError(4, "Unauthorized Token - This token has not been issued")
        if emu.clock() - entry.issued > TOKEN_TTL:
            raise ApiError(15)
        if entry.user is None and emu.state.approve_as in emu.state.users:
            entry.user = emu.state.approve_as
        if entry.user is None:
            raise ApiError(14)
        entry.used = True
        name = entry.user
    return _session(name, emu.create_session(name))


def auth_get_mobile_session(emu: Emulator, params: dict, user: str | None) -> bytes:
    (username,) = require(params, "username")
    with emu.lock:
        name = next((u for u in emu.state.users if u.casefold() == username.casefold()), None)
        password = emu.state.users.get(name or "")
    if name is None or password is None:
        raise ApiError(4)
    if "password" in params:
        ok = params["password"] == password
    elif "authToken" in params:
        ok = params["authToken"] == md5(username + md5(password))
    else:
        raise ApiError(6, "Invalid parameters - Your request is missing the [password] parameter")
    if not ok:
        raise ApiError(4)
    return _session(name, emu.create_session(name))


# --- track writes -------------------------------------------------------------------------

def _items(params: dict[str, str]) -> list[dict[str, str]]:
    indexed: dict[int, dict[str, str]] = {}
    plain: dict[str, str] = {}
    for key, value in params.items():
        match = _INDEXED.match(key)
        if match:
            indexed.setdefault(int(match.group(2)), {})[match.group(1)] = value
        elif key in ("artist", "track", "timestamp", "album", "albumArtist", "trackNumber", "duration", "mbid"):
            plain[key] = value
    if indexed and plain:
        raise ApiError(6, "Invalid parameters - mix of indexed and plain scrobble parameters")
    if not indexed:
        return [plain] if plain else []
    if sorted(indexed) != list(range(len(indexed))):
        raise ApiError(6, "Invalid parameters - scrobble indexes must run from 0 without gaps")
    return [indexed[i] for i in range(len(indexed))]


def _correct(emu: Emulator, kind: str, value: str) -> tuple[str, bool]:
    """Last.fm's canonical name for `value`; its corrections do not depend on case or outer spaces."""
    known = emu.state.corrections.get(kind, {})
    fixed = known.get(value)
    if fixed is None:
        wanted = name_key(value)
        fixed = next((to for name, to in known.items() if name_key(name) == wanted), None)
    return (fixed, True) if fixed and fixed != value else (value, False)


def _echo(parent, emu: Emulator, item: dict[str, str]) -> tuple[str, str]:
    track, track_fixed = _correct(emu, "track", item.get("track", ""))
    artist, artist_fixed = _correct(emu, "artist", item.get("artist", ""))
    el(parent, "track", track, corrected=int(track_fixed))
    el(parent, "artist", artist, corrected=int(artist_fixed))
    el(parent, "album", item.get("album", ""), corrected=0)
    el(parent, "albumArtist", item.get("albumArtist", ""), corrected=0)
    return artist, track


def track_get_correction(emu: Emulator, params: dict, session_user: str | None) -> bytes:
    """The canonical artist and track for a pair, as scrobbles of it are stored (one `<correction>`, or none)."""
    artist, title = require(params, "artist", "track")
    with emu.lock:
        track, track_fixed = _correct(emu, "track", title)
        fixed_artist, artist_fixed = _correct(emu, "artist", artist)
    node = el(None, "corrections")
    if track_fixed or artist_fixed:
        item = el(node, "correction", index=0, artistcorrected=int(artist_fixed), trackcorrected=int(track_fixed))
        t = el(item, "track")
        el(t, "name", track)
        el(t, "mbid", "")
        el(t, "url", music_url(fixed_artist, "_", track))
        a = el(t, "artist")
        el(a, "name", fixed_artist)
        el(a, "mbid", "")
        el(a, "url", music_url(fixed_artist))
    return document("ok", node)


def track_scrobble(emu: Emulator, params: dict, user: str | None) -> bytes:
    assert user is not None
    items = _items(params)
    if not items:
        raise ApiError(6, "Invalid parameters - Your request is missing the [artist] parameter")
    if len(items) > MAX_BATCH:
        raise ApiError(6, f"Invalid parameters - at most {MAX_BATCH} scrobbles per request")
    for item in items:
        require(item, "artist", "track", "timestamp")
        if not item["timestamp"].strip().isdigit():
            raise ApiError(6, "Invalid parameters - timestamp must be unix seconds")
    root = el(None, "scrobbles")
    accepted = ignored = 0
    with emu.lock:
        now = emu.clock()
        stored = emu.history(user)
        used = stored.received_since(now - 86400)
        cap = emu.state.daily_cap
        if cap is not None and emu.state.cap_mode == "error29" and used >= cap:
            raise ApiError(29, "Rate Limit Exceeded - Too many scrobbles in a short period. Please try again later.")
        for item in items:
            ts = int(item["timestamp"])
            node = el(root, "scrobble")
            artist, track = _echo(node, emu, item)
            el(node, "timestamp", ts)
            code = 0
            if name_key(item["artist"]) in ARTIST_FILTER:
                code = 1
            elif not track.strip():
                code = 2
            elif ts < now - MAX_AGE:
                code = 3
            elif ts > now + FUTURE_TOLERANCE:
                code = 4
            elif cap is not None and used >= cap:
                code = 5
            messages = {1: "Artist name failed filter", 2: "Track name failed filter",
                        3: "Timestamp failed filter", 4: "Timestamp failed filter",
                        5: "Daily scrobble limit exceeded"}
            el(node, "ignoredMessage", messages.get(code, ""), code=code)
            if code:
                ignored += 1
                continue
            accepted += 1
            if not (emu.state.dedupe and stored.has(artist, track, ts)):
                stored.append(Scrobble(
                    user, artist, track, item.get("album", ""), item.get("albumArtist", ""), ts, now,
                    item.get("trackNumber", ""), item.get("duration", ""),
                ))
                used += 1
    root.set("accepted", str(accepted))
    root.set("ignored", str(ignored))
    return document("ok", root)


def track_update_now_playing(emu: Emulator, params: dict, user: str | None) -> bytes:
    assert user is not None
    artist_name, track_name = require(params, "artist", "track")
    node = el(None, "nowplaying")
    _echo(node, emu, params)
    code = 1 if name_key(artist_name) in ARTIST_FILTER else 0
    el(node, "ignoredMessage", "Artist name failed filter" if code else "", code=code)
    if not code:
        with emu.lock:
            emu.state.now_playing[user] = (dict(params), emu.clock())
    return document("ok", node)


# --- reads --------------------------------------------------------------------------------

def album_get_info(emu: Emulator, params: dict, session_user: str | None) -> bytes:
    if not params.get("mbid"):
        require(params, "artist", "album")
    with emu.lock:
        album = _find_album(emu, params)
        username = params.get("username", "").strip()
        plays = None
        if username:
            who = _user_of(emu, params, None, "username")
            plays = emu.history(who).album_plays[(name_key(album["artist"]), name_key(album["name"]))]
    node = el(None, "album")
    el(node, "name", album["name"])
    el(node, "artist", album["artist"])
    if not params.get("mbid"):
        el(node, "mbid", album.get("mbid", ""))
    el(node, "url", music_url(album["artist"], album["name"]))
    images(node, md5(album["artist"] + album["name"]), ALBUM_INFO_SIZES)
    el(node, "listeners", album.get("listeners", 0))
    el(node, "playcount", album.get("playcount", 0))
    if plays is not None:
        el(node, "userplaycount", plays)
    tracks = el(node, "tracks")
    for rank, track in enumerate(album.get("tracks", []), 1):
        item = el(tracks, "track", rank=rank)
        el(item, "name", track["name"])
        el(item, "url", music_url(album["artist"], album["name"], track["name"]))
        el(item, "duration", track.get("duration") or 0)
        el(item, "streamable", 0, fulltrack=0)
        artist = el(item, "artist")
        el(artist, "name", album["artist"])
        el(artist, "mbid", "")
        el(artist, "url", music_url(album["artist"]))
    tags = el(node, "tags")
    for tag in album.get("tags", []):
        t = el(tags, "tag")
        el(t, "name", tag)
        el(t, "url", "https://www.last.fm/tag/" + tag.replace(" ", "+"))
    if album.get("wiki"):
        wiki = el(node, "wiki")
        el(wiki, "published", "01 Jan 2020, 00:00")
        el(wiki, "summary", album["wiki"])
        el(wiki, "content", album["wiki"])
    return document("ok", node)


def track_get_info(emu: Emulator, params: dict, session_user: str | None) -> bytes:
    artist, title = require(params, "artist", "track")
    with emu.lock:
        found = None
        for album in emu.state.albums:
            if name_key(album["artist"]) != name_key(artist):
                continue
            for track in album.get("tracks", []):
                if name_key(track["name"]) == name_key(title):
                    found = (album, track)
        if found is None:
            raise ApiError(6, "Track not found")
        album, track = found
        username = params.get("username", "").strip() or session_user
        plays = None
        if username:
            who = _user_of(emu, {"username": username}, None, "username")
            plays = emu.history(who).track_plays[(name_key(artist), name_key(title))]
    node = el(None, "track")
    el(node, "name", track["name"])
    el(node, "mbid", "")
    el(node, "url", music_url(album["artist"], "_", track["name"]))
    el(node, "duration", int(track.get("duration") or 0) * 1000)  # milliseconds here, unlike album.getInfo
    el(node, "streamable", 0, fulltrack=0)
    el(node, "listeners", album.get("listeners", 0))
    el(node, "playcount", album.get("playcount", 0))
    a = el(node, "artist")
    el(a, "name", album["artist"])
    el(a, "mbid", "")
    el(a, "url", music_url(album["artist"]))
    al = el(node, "album")
    el(al, "artist", album["artist"])
    el(al, "title", album["name"])
    el(al, "url", music_url(album["artist"], album["name"]))
    images(al, md5(album["artist"] + album["name"]))
    if plays is not None:
        el(node, "userplaycount", plays)
        el(node, "userloved", 0)
    tags = el(node, "toptags")
    for tag in album.get("tags", []):
        t = el(tags, "tag")
        el(t, "name", tag)
        el(t, "url", "https://www.last.fm/tag/" + tag.replace(" ", "+"))
    return document("ok", node, compact=True)


def user_get_info(emu: Emulator, params: dict, session_user: str | None) -> bytes:
    with emu.lock:
        name = _user_of(emu, params, session_user)
        history = emu.history(name)
        registered = emu.state.registered.get(name, 0)
        playcount = len(history)
        artists, albums, tracks = len(history.artist_plays), len(history.album_plays), len(history.track_plays)
    node = el(None, "user")
    el(node, "name", name)
    el(node, "realname", "")
    images(node, md5(name))
    el(node, "url", f"https://www.last.fm/user/{name}")
    el(node, "country", "None")
    el(node, "age", 0)
    el(node, "gender", "n")
    el(node, "subscriber", 0)
    el(node, "playcount", playcount)
    el(node, "playlists", 0)
    el(node, "bootstrap", 0)
    el(node, "registered", registered, unixtime=registered)
    el(node, "type", "user")
    el(node, "artist_count", artists)
    el(node, "album_count", albums)
    el(node, "track_count", tracks)
    return document("ok", node)


def _album_mbids(emu: Emulator) -> dict[AlbumKey, str]:
    return {(name_key(a["artist"]), name_key(a["name"])): a.get("mbid", "") for a in emu.state.albums}


def _page(params: dict[str, str]) -> int:
    page = _int_param(params, "page", 1, low=-(2**63))
    if not 1 <= page <= MAX_PAGE:
        raise ApiError(6, f"page param out of bounds (1-{MAX_PAGE})")
    return page


def _visible_user(emu: Emulator, params: dict[str, str], session_user: str | None) -> str:
    """The user whose listening is asked for; a private one only to their own session."""
    name = _user_of(emu, params, session_user)
    if emu.is_private(name) and (session_user or "").casefold() != name.casefold():
        raise ApiError(17, "Login: User required to be logged in", http=403)
    return name


def user_get_recent_tracks(emu: Emulator, params: dict, session_user: str | None) -> bytes:
    require(params, "user")
    limit = _int_param(params, "limit", 50, high=RECENT_MAX_LIMIT)
    page = _page(params)
    low = _int_param(params, "from", 0, low=0)
    high = _int_param(params, "to", END_OF_TIME, low=0)
    with emu.lock:
        name = _visible_user(emu, params, session_user)
        history = emu.history(name)
        first, last = history.span(low, high)
        # Newest first: page 1 ends at the newest scrobble in the window.
        shown = history.entries(max(first, last - page * limit), max(first, last - (page - 1) * limit))
        playing = emu.state.now_playing.get(name)
        if playing and emu.clock() - playing[1] > NOW_PLAYING_TTL:
            playing = None
        mbids = _album_mbids(emu)
    total = last - first
    tracks = []
    if playing and page == 1:
        # Shown whatever the from/to window, as the real service does.
        p = playing[0]
        artist, album = p.get("artist", ""), p.get("album", "")
        mbid = mbids.get((name_key(p.get("albumArtist") or artist), name_key(album)), "")
        tracks.append(recent_track(artist, p.get("track", ""), album, mbid, None))
    for stamp, _, s, _, album_key, _ in reversed(shown):
        mbid = mbids.get(album_key, "") if album_key else ""
        tracks.append(recent_track(s.artist, s.track, s.album, mbid, stamp))
    return recent_tracks_document(
        {"user": name, "page": page, "perPage": limit, "totalPages": (total + limit - 1) // limit, "total": total},
        tracks,
    )


PERIODS = {"overall": None, "7day": 7, "1month": 30, "3month": 90, "6month": 180, "12month": 365}


def _chart(emu: Emulator, params: dict, session_user: str | None) -> tuple[str, int, int, str, History]:
    """What a chart request asks for: user, page, limit, period, and that user's history."""
    require(params, "user")
    period = params.get("period", "overall") or "overall"
    if period not in PERIODS:
        raise ApiError(6, "Invalid parameters - period must be one of " + ", ".join(PERIODS))
    limit = _int_param(params, "limit", 50, high=TOP_MAX_LIMIT)
    page = _page(params)
    name = _user_of(emu, params, session_user)
    return name, page, limit, period, emu.history(name)


def _period_start(emu: Emulator, period: str) -> int | None:
    """The oldest timestamp a period chart counts (None: all time), relative to the emulator's clock."""
    days = PERIODS[period]
    return math.ceil(emu.clock() - days * 86400) if days else None


def user_get_top_albums(emu: Emulator, params: dict, session_user: str | None) -> bytes:
    with emu.lock:
        name, page, limit, period, history = _chart(emu, params, session_user)
        since = _period_start(emu, period)
        if since is None:
            counts = history.album_plays
        else:
            counts = Counter(e[4] for e in history.entries(*history.span(since, END_OF_TIME)) if e[4])
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        names = history.album_names
        mbids = _album_mbids(emu)
    total = len(ranked)
    pages = (total + limit - 1) // limit
    node = el(None, "topalbums", user=name, page=page, perPage=limit, totalPages=pages, total=total)
    start = (page - 1) * limit
    for rank, (key, plays) in enumerate(ranked[start: start + limit], start + 1):
        artist, album = names[key]
        item = el(node, "album", rank=rank)
        el(item, "name", album)
        el(item, "playcount", plays)
        el(item, "mbid", mbids.get(key, ""))
        el(item, "url", music_url(artist, album))
        a = el(item, "artist")
        el(a, "name", artist)
        el(a, "mbid", "")
        el(a, "url", music_url(artist))
        images(item, md5(artist + album))
    return document("ok", node)


def user_get_top_artists(emu: Emulator, params: dict, session_user: str | None) -> bytes:
    with emu.lock:
        name, page, limit, period, history = _chart(emu, params, session_user)
        since = _period_start(emu, period)
        if since is None:
            counts = history.artist_plays
        else:
            counts = Counter(e[3] for e in history.entries(*history.span(since, END_OF_TIME)))
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        names = history.artist_names
    total = len(ranked)
    pages = (total + limit - 1) // limit
    node = el(None, "topartists", user=name, page=page, perPage=limit, totalPages=pages, total=total)
    start = (page - 1) * limit
    for rank, (key, plays) in enumerate(ranked[start: start + limit], start + 1):
        artist = names[key]
        item = el(node, "artist", rank=rank)
        el(item, "name", artist)
        el(item, "playcount", plays)
        el(item, "mbid", "")
        el(item, "url", music_url(artist))
        el(item, "streamable", 0)
        images(item, md5(artist), ARTIST_SIZES)
    return document("ok", node)


def _words(text: str) -> list[str]:
    """Search words: accents, case and punctuation ignored."""
    plain = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return re.findall(r"\w+", plain.casefold())


def _matches(query: list[str], text: list[str]) -> bool:
    return all(any(word.startswith(q) for word in text) for q in query)


def album_search(emu: Emulator, params: dict, session_user: str | None) -> bytes:
    (term,) = require(params, "album")
    limit = _int_param(params, "limit", 50, high=1000)
    page = _int_param(params, "page", 1)
    query = _words(term)
    with emu.lock:
        albums = list(emu.state.albums)
    ranked = []
    for album in albums:
        name, artist = _words(album["name"]), _words(album["artist"])
        # Every word of the query starts a word of the album's name or of its artist's.
        if query and _matches(query, name + artist):
            exact = name == query
            ranked.append(((not exact, -int(album.get("listeners") or 0), name, artist), album))
    ranked.sort(key=lambda pair: pair[0])
    hits = [album for _, album in ranked]
    node = el(None, "results", for_=term)
    el(node, "opensearch:Query", "", role="request", searchTerms=term, startPage=page)
    el(node, "opensearch:totalResults", len(hits))
    el(node, "opensearch:startIndex", (page - 1) * limit)
    el(node, "opensearch:itemsPerPage", limit)
    matches = el(node, "albummatches")
    for album in hits[(page - 1) * limit: page * limit]:
        item = el(matches, "album")
        el(item, "name", album["name"])
        el(item, "artist", album["artist"])
        el(item, "url", music_url(album["artist"], album["name"]))
        images(item, md5(album["artist"] + album["name"]))
        el(item, "streamable", 0)
        el(item, "mbid", album.get("mbid", ""))
    return document("ok", node, compact=True)


HANDLERS: dict[str, Callable[..., bytes]] = {
    "auth.gettoken": auth_get_token,
    "auth.getsession": auth_get_session,
    "auth.getmobilesession": auth_get_mobile_session,
    "track.scrobble": track_scrobble,
    "track.updatenowplaying": track_update_now_playing,
    "track.getinfo": track_get_info,
    "track.getcorrection": track_get_correction,
    "album.getinfo": album_get_info,
    "album.search": album_search,
    "user.getinfo": user_get_info,
    "user.getrecenttracks": user_get_recent_tracks,
    "user.gettopalbums": user_get_top_albums,
    "user.gettopartists": user_get_top_artists,
}
