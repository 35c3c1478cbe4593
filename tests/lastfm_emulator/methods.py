"""The emulated API methods, each answering in the element shapes of the real service."""

from __future__ import annotations

import re
import secrets
import time
from collections import Counter
from typing import TYPE_CHECKING, Callable

from .core import (
    ARTIST_FILTER, FUTURE_TOLERANCE, MAX_AGE, MAX_BATCH, TOKEN_TTL, ApiError, Scrobble, Token, md5,
    require,
)
from .xml import ALBUM_INFO_SIZES, document, el, images, music_url

if TYPE_CHECKING:
    from .core import Emulator

NOW_PLAYING_TTL = 600
RECENT_MAX_LIMIT = 200
TOP_MAX_LIMIT = 1000
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


def _key(text: str) -> str:
    return " ".join(text.casefold().split())


def _find_album(emu: Emulator, params: dict[str, str]) -> dict:
    mbid = params.get("mbid", "").strip()
    for album in emu.state.albums:
        if mbid and album.get("mbid") == mbid:
            return album
        if not mbid and _key(album["artist"]) == _key(params.get("artist", "")) and _key(
            album["name"]
        ) == _key(params.get("album", "")):
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
    fixed = emu.state.corrections.get(kind, {}).get(value)
    return (fixed, True) if fixed and fixed != value else (value, False)


def _echo(parent, emu: Emulator, item: dict[str, str]) -> tuple[str, str]:
    track, track_fixed = _correct(emu, "track", item.get("track", ""))
    artist, artist_fixed = _correct(emu, "artist", item.get("artist", ""))
    el(parent, "track", track, corrected=int(track_fixed))
    el(parent, "artist", artist, corrected=int(artist_fixed))
    el(parent, "album", item.get("album", ""), corrected=0)
    el(parent, "albumArtist", item.get("albumArtist", ""), corrected=0)
    return artist, track


def _accepted_in_window(emu: Emulator, user: str, now: float) -> int:
    return sum(1 for s in emu.state.scrobbles.get(user, []) if s.received_at > now - 86400)


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
        used = _accepted_in_window(emu, user, now)
        cap = emu.state.daily_cap
        if cap is not None and emu.state.cap_mode == "error29" and used >= cap:
            raise ApiError(29, "Rate Limit Exceeded - Too many scrobbles in a short period. Please try again later.")
        stored = emu.state.scrobbles.setdefault(user, [])
        for item in items:
            ts = int(item["timestamp"])
            node = el(root, "scrobble")
            artist, track = _echo(node, emu, item)
            el(node, "timestamp", ts)
            code = 0
            if _key(item["artist"]) in ARTIST_FILTER:
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
            duplicate = emu.state.dedupe and any(
                s.artist == artist and s.track == track and s.timestamp == ts for s in stored
            )
            if not duplicate:
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
    code = 1 if _key(artist_name) in ARTIST_FILTER else 0
    el(node, "ignoredMessage", "Artist name failed filter" if code else "", code=code)
    if not code:
        with emu.lock:
            emu.state.now_playing[user] = (dict(params), emu.clock())
    return document("ok", node)


# --- reads --------------------------------------------------------------------------------

def _user_album_plays(emu: Emulator, user: str, artist: str, album: str) -> int:
    return sum(
        1 for s in emu.state.scrobbles.get(user, [])
        if _key(s.album) == _key(album) and _key(s.album_artist or s.artist) == _key(artist)
    )


def album_get_info(emu: Emulator, params: dict, session_user: str | None) -> bytes:
    if not params.get("mbid"):
        require(params, "artist", "album")
    with emu.lock:
        album = _find_album(emu, params)
        username = params.get("username", "").strip()
        plays = None
        if username:
            plays = _user_album_plays(emu, _user_of(emu, params, None, "username"), album["artist"], album["name"])
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
            if _key(album["artist"]) != _key(artist):
                continue
            for track in album.get("tracks", []):
                if _key(track["name"]) == _key(title):
                    found = (album, track)
        if found is None:
            raise ApiError(6, "Track not found")
        album, track = found
        username = params.get("username", "").strip() or session_user
        plays = None
        if username:
            who = _user_of(emu, {"username": username}, None, "username")
            plays = sum(1 for s in emu.state.scrobbles.get(who, [])
                        if _key(s.artist) == _key(artist) and _key(s.track) == _key(title))
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
        plays = emu.state.scrobbles.get(name, [])
        registered = emu.state.registered.get(name, 0)
        artists = {_key(s.artist) for s in plays}
        albums = {(_key(s.album_artist or s.artist), _key(s.album)) for s in plays if s.album}
        tracks = {(_key(s.artist), _key(s.track)) for s in plays}
    node = el(None, "user")
    el(node, "name", name)
    el(node, "realname", "")
    images(node, md5(name))
    el(node, "url", f"https://www.last.fm/user/{name}")
    el(node, "country", "None")
    el(node, "age", 0)
    el(node, "gender", "n")
    el(node, "subscriber", 0)
    el(node, "playcount", len(plays))
    el(node, "playlists", 0)
    el(node, "bootstrap", 0)
    el(node, "registered", registered, unixtime=registered)
    el(node, "type", "user")
    el(node, "artist_count", len(artists))
    el(node, "album_count", len(albums))
    el(node, "track_count", len(tracks))
    return document("ok", node)


def _track_item(parent, artist: str, name: str, album: str):
    item = el(parent, "track")
    el(item, "artist", artist, mbid="")
    el(item, "name", name)
    el(item, "streamable", 0)
    el(item, "mbid", "")
    el(item, "album", album, mbid="")
    el(item, "url", music_url(artist, "_", name))
    images(item, md5(artist + album))
    return item


def user_get_recent_tracks(emu: Emulator, params: dict, session_user: str | None) -> bytes:
    require(params, "user")
    limit = _int_param(params, "limit", 50, high=RECENT_MAX_LIMIT)
    page = _int_param(params, "page", 1)
    low = _int_param(params, "from", 0, low=0)
    high = _int_param(params, "to", 2**62, low=0)
    with emu.lock:
        name = _user_of(emu, params, session_user)
        plays = sorted(
            (s for s in emu.state.scrobbles.get(name, []) if low <= s.timestamp <= high),
            key=lambda s: s.timestamp, reverse=True,
        )
        playing = emu.state.now_playing.get(name)
        if playing and emu.clock() - playing[1] > NOW_PLAYING_TTL:
            playing = None
    total = len(plays)
    pages = (total + limit - 1) // limit
    node = el(None, "recenttracks", user=name, page=page, perPage=limit, totalPages=pages, total=total)
    if playing and page == 1:
        p = playing[0]
        _track_item(node, p.get("artist", ""), p.get("track", ""), p.get("album", "")).set("nowplaying", "true")
    for s in plays[(page - 1) * limit: page * limit]:
        item = _track_item(node, s.artist, s.track, s.album)
        el(item, "date", time.strftime("%d %b %Y, %H:%M", time.gmtime(s.timestamp)), uts=s.timestamp)
    return document("ok", node)


PERIODS = {"overall": None, "7day": 7, "1month": 30, "3month": 90, "6month": 180, "12month": 365}


def user_get_top_albums(emu: Emulator, params: dict, session_user: str | None) -> bytes:
    require(params, "user")
    period = params.get("period", "overall") or "overall"
    if period not in PERIODS:
        raise ApiError(6, "Invalid parameters - period must be one of " + ", ".join(PERIODS))
    limit = _int_param(params, "limit", 50, high=TOP_MAX_LIMIT)
    page = _int_param(params, "page", 1)
    with emu.lock:
        name = _user_of(emu, params, session_user)
        days = PERIODS[period]
        since = emu.clock() - days * 86400 if days else 0
        counts: Counter = Counter()
        shown: dict[tuple[str, str], tuple[str, str]] = {}
        for s in emu.state.scrobbles.get(name, []):
            if not s.album or s.timestamp < since:
                continue
            artist = s.album_artist or s.artist
            key = (_key(artist), _key(s.album))
            counts[key] += 1
            shown.setdefault(key, (artist, s.album))
        mbids = {(_key(a["artist"]), _key(a["name"])): a.get("mbid", "") for a in emu.state.albums}
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    total = len(ranked)
    pages = (total + limit - 1) // limit
    node = el(None, "topalbums", user=name, page=page, perPage=limit, totalPages=pages, total=total)
    start = (page - 1) * limit
    for rank, (key, plays) in enumerate(ranked[start: start + limit], start + 1):
        artist, album = shown[key]
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


def album_search(emu: Emulator, params: dict, session_user: str | None) -> bytes:
    (term,) = require(params, "album")
    limit = _int_param(params, "limit", 50, high=1000)
    page = _int_param(params, "page", 1)
    with emu.lock:
        hits = [a for a in emu.state.albums if _key(term) in _key(a["name"])]
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
    "album.getinfo": album_get_info,
    "album.search": album_search,
    "user.getinfo": user_get_info,
    "user.getrecenttracks": user_get_recent_tracks,
    "user.gettopalbums": user_get_top_albums,
}
