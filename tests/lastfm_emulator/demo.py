"""A demo catalogue: the bundled collection's records and a few well-known ones, for trying the tool by hand."""

from __future__ import annotations

import json
import re
from pathlib import Path

PUBLIC = Path(__file__).resolve().parents[2] / "public"

# Tracklists and lengths as the records were released; listener figures are round numbers of the
# right size (the emulator ranks search results by them), not Last.fm's own.
WELL_KNOWN: list[dict] = [
    {"artist": "Rush", "name": "Moving Pictures", "listeners": 520000, "playcount": 9100000,
     "tags": ["progressive rock", "rock", "classic rock"], "tracks": [
         ("Tom Sawyer", 276), ("Red Barchetta", 370), ("YYZ", 266), ("Limelight", 259),
         ("The Camera Eye", 658), ("Witch Hunt", 286), ("Vital Signs", 287)]},
    {"artist": "Rush", "name": "Signals", "listeners": 330000, "playcount": 4200000,
     "tags": ["progressive rock", "rock"], "tracks": [
         ("Subdivisions", 333), ("The Analog Kid", 287), ("Chemistry", 296), ("Digital Man", 381),
         ("The Weapon", 384), ("New World Man", 223), ("Losing It", 292), ("Countdown", 349)]},
    {"artist": "Nirvana", "name": "Nevermind", "listeners": 3900000, "playcount": 160000000,
     "tags": ["grunge", "rock", "90s"], "tracks": [
         ("Smells Like Teen Spirit", 301), ("In Bloom", 254), ("Come as You Are", 219), ("Breed", 183),
         ("Lithium", 257), ("Polly", 177), ("Territorial Pissings", 142), ("Drain You", 223),
         ("Lounge Act", 156), ("Stay Away", 212), ("On a Plain", 196), ("Something in the Way", 232)]},
    {"artist": "Pink Floyd", "name": "The Dark Side of the Moon", "listeners": 3300000, "playcount": 150000000,
     "tags": ["progressive rock", "psychedelic rock", "classic rock"], "tracks": [
         ("Speak to Me", 68), ("Breathe (In the Air)", 169), ("On the Run", 225), ("Time", 413),
         ("The Great Gig in the Sky", 276), ("Money", 382), ("Us and Them", 462), ("Any Colour You Like", 206),
         ("Brain Damage", 228), ("Eclipse", 123)]},
    {"artist": "Fleetwood Mac", "name": "Rumours", "listeners": 2600000, "playcount": 95000000,
     "tags": ["classic rock", "70s", "soft rock"], "tracks": [
         ("Second Hand News", 163), ("Dreams", 257), ("Never Going Back Again", 134), ("Don't Stop", 193),
         ("Go Your Own Way", 218), ("Songbird", 200), ("The Chain", 270), ("You Make Loving Fun", 211),
         ("I Don't Want to Know", 195), ("Oh Daddy", 236), ("Gold Dust Woman", 291)]},
    # A record made for the tutorial: one minute of play-along (the 25 s track is too short to scrobble).
    {"artist": "The Test Pressings", "name": "One Minute Side", "listeners": 12, "playcount": 40,
     "tags": ["demo"], "tracks": [("Needle Drop", 35), ("Locked Groove", 25)]},
]


def seconds(text: object) -> int:
    """`4:32` or `1:02:03` as seconds; anything else 0 (a track Last.fm has no length for)."""
    if not isinstance(text, str) or not re.fullmatch(r"\d+(:\d{1,2})+", text.strip()):
        return 0
    total = 0
    for part in text.strip().split(":"):
        total = total * 60 + int(part)
    return total


def collection_albums(public: Path = PUBLIC) -> list[dict]:
    """The bundled collection as catalogue albums: release artist and title, its tracks with their lengths."""
    albums = []
    for entry in json.loads((public / "collection.json").read_text(encoding="utf-8")):
        path = public / str(entry.get("json_detailed_release", "")).lstrip("/")
        try:
            release = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            release = {}
        rows = [row for row in release.get("tracklist") or [] if isinstance(row, dict) and row.get("title")]
        # A suite (an index row with parts) is one track lasting the sum of its parts, as Last.fm lists it.
        tracks = [{"name": row["title"],
                   "duration": sum(seconds(part.get("duration")) for part in rows if part.get("parent") == row["title"])
                   if row.get("type") == "index" else seconds(row.get("duration"))}
                  for row in rows if row.get("type", "track") in ("track", "index") and not row.get("parent")]
        lastfm = (release.get("services") or {}).get("lastfm") or {}
        albums.append({
            "artist": entry["release_artist"], "name": entry["release_name"],
            "mbid": lastfm.get("mbid") or "", "listeners": int(entry.get("lastfm_listeners") or 100),
            "playcount": int(entry.get("lastfm_listeners") or 100) * 12, "tags": [], "tracks": tracks,
        })
    return albums


def demo_catalogue(public: Path = PUBLIC) -> dict:
    """The catalogue `--demo` loads."""
    known = [{**album, "tracks": [{"name": name, "duration": length} for name, length in album["tracks"]]}
             for album in WELL_KNOWN]
    return {"albums": collection_albums(public) + known}
