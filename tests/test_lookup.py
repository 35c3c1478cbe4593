"""Finding an album from a slug, a Discogs id or URL, or free text; never outside the data folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from collection.lookup import find_album, iter_albums, resolve_many, resolve_slug
from collection.store import Store
from errors import AlbumNotFound, AmbiguousAlbum, CollectionError


@pytest.fixture(scope="module")
def store(sample_dir: Path) -> Store:
    return Store(sample_dir)


@pytest.mark.parametrize("query", [
    "2112-814617", "814617", "https://www.discogs.com/release/814617-Rush-2112",
    "https://www.discogs.com/fr/release/814617", "rush 2112", "RUSH   2112", "2112 rush",
])
def test_ways_to_name_an_album(store: Store, query: str):
    assert resolve_slug(store, query) == "2112-814617"


def test_accent_insensitive_text(store: Store):
    assert resolve_slug(store, "voivod synchro") == "synchro-anarchy-22112023"
    assert resolve_slug(store, "domi who asked") == "who-asked-38016294"
    assert resolve_slug(store, "Voïvod") == "synchro-anarchy-22112023"


def test_exact_title_wins_over_longer_titles(store: Store):
    assert resolve_slug(store, "a farewell to kings") == "a-farewell-to-kings-6951528"


def test_ambiguous_text_lists_candidates(store: Store):
    with pytest.raises(AmbiguousAlbum) as err:
        resolve_slug(store, "rush farewell")
    assert len(err.value.candidates) == 2
    assert all("a-farewell-to-kings" in c for c in err.value.candidates)
    assert err.value.exit_status == 2


@pytest.mark.parametrize("query", ["no such record", "99999999", "https://www.discogs.com/release/1-x", ""])
def test_no_match(store: Store, query: str):
    with pytest.raises(AlbumNotFound):
        resolve_slug(store, query)


@pytest.mark.parametrize("query", ["../../etc/passwd", "..", ".", "album/../../x", "/etc/passwd"])
def test_paths_never_leave_the_data_folder(store: Store, query: str):
    with pytest.raises(CollectionError):
        find_album(store, query)
    with pytest.raises(CollectionError):
        store.album_path(query)


def test_backslash_is_no_slug(store: Store):
    with pytest.raises(CollectionError):
        store.album_path("a\\b")


def test_symlinked_album_outside_is_refused(tmp_path: Path, data_copy: Path):
    outside = tmp_path / "outside" / "evil-1"
    outside.mkdir(parents=True)
    (outside / "evil-1.json").write_text(json.dumps({"title": "x", "artists": [{"name": "y"}],
                                                     "tracklist": [{"title": "t"}]}))
    (data_copy / "album" / "evil-1").symlink_to(outside)
    store = Store(data_copy)
    with pytest.raises(CollectionError, match="outside"):
        store.album_path("evil-1")
    with pytest.raises(CollectionError):
        find_album(store, "evil-1")


def test_one_bad_album_does_not_stop_the_others(data_copy: Path):
    path = data_copy / "album" / "2112-814617" / "2112-814617.json"
    path.write_text("{broken")
    results = dict(iter_albums(Store(data_copy)))
    assert isinstance(results["2112-814617"], CollectionError)
    good = [r for r in results.values() if not isinstance(r, CollectionError)]
    assert len(good) == len(results) - 1 == 31


def _add_entries(data: Path, *entries: dict) -> Store:
    """The copied collection with extra index entries, each with an album folder of its own."""
    index_path = data / "collection.json"
    index = json.loads(index_path.read_text())
    template = json.loads((data / "album" / "2112-814617" / "2112-814617.json").read_text())
    for entry in entries:
        slug = entry["slug"]
        folder = data / "album" / slug
        folder.mkdir(exist_ok=True)
        album = dict(template, release_name_discogs=entry["release_name"],
                     artists=[{"name": entry["release_artist"]}])
        (folder / f"{slug}.json").write_text(json.dumps(album))
        index.append({k: v for k, v in entry.items() if k != "slug"} | {"uri_release": f"/album/{slug}/"})
    index_path.write_text(json.dumps(index, indent=2))
    return Store(data)


def test_whole_artist_name_beats_words(data_copy: Path):
    store = _add_entries(data_copy, {"slug": "soul-mining-111", "release_artist": "The The",
                                     "release_name": "Soul Mining"})
    # "the the" is also two words of many other albums ("The Beatles", "The Quireboys", ...).
    assert resolve_slug(store, "the the") == "soul-mining-111"
    assert find_album(store, "THE  THE").title == "Soul Mining"
    store = _add_entries(data_copy, {"slug": "infected-222", "release_artist": "The The",
                                     "release_name": "Infected"})
    with pytest.raises(AmbiguousAlbum) as err:
        resolve_slug(store, "the the")
    assert sorted(c.split()[0] for c in err.value.candidates) == ["infected-222", "soul-mining-111"]
    assert resolve_slug(store, "the the infected") == "infected-222"


def test_whole_artist_beats_whole_title_beats_words(data_copy: Path):
    store = _add_entries(data_copy, {"slug": "broadcast-333", "release_artist": "Signals",
                                     "release_name": "Broadcast"})
    assert resolve_slug(store, "signals") == "broadcast-333"  # not Test Card's "Signals"
    assert resolve_slug(store, "test card signals") == "signals-33007098"
    assert resolve_slug(Store(data_copy), "channels") == "channels-27259821"


def test_only_the_best_rank_is_listed(data_copy: Path):
    store = _add_entries(
        data_copy,
        {"slug": "rush-a-444", "release_artist": "Rush", "release_name": "Rush"},
        {"slug": "rushmore-555", "release_artist": "Various", "release_name": "Rushmore"},
    )
    assert resolve_slug(store, "rush") == "rush-a-444"  # artist and title both "Rush"
    with pytest.raises(AmbiguousAlbum) as err:
        resolve_slug(store, "rush kings")
    assert len(err.value.candidates) == 2


@pytest.mark.parametrize("query", [
    "814617", "https://www.discogs.com/release/814617-Rush-2112", "rush 2112", "2112",
])
def test_a_release_in_the_index_twice_is_never_a_silent_pick(data_copy: Path, query: str):
    store = _add_entries(data_copy, {"slug": "2112-repress-814617", "release_artist": "Rush",
                                     "release_name": "2112 (Repress)"})
    with pytest.raises(AmbiguousAlbum) as err:
        resolve_slug(store, query)
    assert sorted(c.split()[0] for c in err.value.candidates) == ["2112-814617", "2112-repress-814617"]
    assert "more than once" in str(err.value)
    assert resolve_slug(store, "2112-repress-814617") == "2112-repress-814617"  # named exactly
    slugs, problems = resolve_many(store, [query, "2112-814617"])
    assert slugs == ["2112-814617"] and problems[0][0] == query


def test_a_release_id_field_counts_as_the_same_release(data_copy: Path):
    store = _add_entries(data_copy, {"slug": "2112-reissue", "release_artist": "Rush",
                                     "release_name": "2112 Reissue", "discogs_id": "814617"})
    with pytest.raises(AmbiguousAlbum) as err:
        resolve_slug(store, "814617")
    assert len(err.value.candidates) == 2
    store = _add_entries(data_copy, {"slug": "a-kind-of-magic-again", "release_artist": "Queen",
                                     "release_name": "A Kind Of Magic Again", "id": 453215})
    with pytest.raises(AmbiguousAlbum):
        resolve_slug(store, "queen a kind of magic")


def test_one_album_listed_twice_under_one_slug_is_one_album(data_copy: Path):
    index_path = data_copy / "collection.json"
    index = json.loads(index_path.read_text())
    index.append(next(e for e in index if e["uri_release"] == "/album/2112-814617/"))
    index_path.write_text(json.dumps(index))
    store = Store(data_copy)
    assert resolve_slug(store, "814617") == resolve_slug(store, "rush 2112") == "2112-814617"


@pytest.mark.parametrize("query", ["9" * 5000, "٣٣", "1" * 13])
def test_odd_digits_are_no_release_ids(store: Store, query: str):
    with pytest.raises(AlbumNotFound):
        resolve_slug(store, query)
