"""Finding an album from a slug, a Discogs id or URL, or free text; never outside the data folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from collection.lookup import find_album, iter_albums, resolve_slug
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
    assert err.value.exit_code == 2


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
