"""The JSON store: byte-identical round trips, no write without change, atomic and format-keeping writes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from collection.store import JsonFormat, Store, atomic_write, read_json, write_json
from errors import CollectionError
from tests.conftest import sample_slugs


@pytest.mark.parametrize("slug", sample_slugs())
def test_album_round_trip_is_byte_identical(data_copy: Path, slug: str):
    store = Store(data_copy)
    path = store.album_path(slug)
    before = path.read_bytes()
    data, fmt = store.read_album(slug)
    assert fmt.dumps(data) == before
    assert store.write_album(slug, data, fmt) is False
    assert path.read_bytes() == before


def test_index_round_trip_writes_nothing(data_copy: Path):
    store = Store(data_copy)
    before = store.index_path.read_bytes()
    mtime = store.index_path.stat().st_mtime_ns
    store.index()
    assert store.save_index() is False
    assert store.index_path.read_bytes() == before
    assert store.index_path.stat().st_mtime_ns == mtime


def test_changed_value_keeps_every_other_byte(data_copy: Path):
    store = Store(data_copy)
    slug = "2112-814617"
    path = store.album_path(slug)
    before = path.read_text()
    data, fmt = store.read_album(slug)
    data["services"]["lastfm"]["listeners"] = 999
    assert store.write_album(slug, data, fmt) is True
    after = path.read_text()
    assert list(json.loads(after)) == list(json.loads(before))  # key order kept
    changed = [(a, b) for a, b in zip(before.splitlines(), after.splitlines()) if a != b]
    assert changed == [('      "listeners": 284493,', '      "listeners": 999,')]
    assert "℗" in after  # non-ASCII stays UTF-8


def test_format_detection_keeps_the_files_own_conventions(tmp_path: Path):
    path = tmp_path / "x.json"
    path.write_bytes(b'{\n    "name": "Mot\\u00f6rhead"\n}\n')
    data, fmt = read_json(path)
    assert fmt == JsonFormat(indent=4, ensure_ascii=True, trailing_newline=True)
    assert write_json(path, data, fmt) is False
    data["name"] = "Voïvod"
    assert write_json(path, data, fmt) is True
    assert path.read_bytes() == b'{\n    "name": "Vo\\u00efvod"\n}\n'


def test_atomic_write_keeps_mode_and_leaves_no_temporary(tmp_path: Path):
    path = tmp_path / "a.json"
    path.write_text("{}")
    path.chmod(0o640)
    atomic_write(path, b'{"a": 1}')
    assert path.read_bytes() == b'{"a": 1}'
    assert (path.stat().st_mode & 0o777) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]


def test_failed_write_leaves_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    path = tmp_path / "a.json"
    path.write_text('{"old": true}')

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        atomic_write(path, b'{"new": true}')
    assert path.read_text() == '{"old": true}'
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]


@pytest.mark.parametrize("content, message", [
    (b'{"title": "x",', "invalid JSON at line 1"),
    (b"\xff\xfe{}", "not UTF-8"),
])
def test_broken_files_give_one_clear_line(tmp_path: Path, content: bytes, message: str):
    path = tmp_path / "broken.json"
    path.write_bytes(content)
    with pytest.raises(CollectionError) as err:
        read_json(path)
    assert str(path) in str(err.value) and message in str(err.value)


def test_index_must_be_a_list(tmp_path: Path):
    (tmp_path / "collection.json").write_text('{"albums": []}')
    with pytest.raises(CollectionError, match="expected a list of albums"):
        Store(tmp_path).index()
