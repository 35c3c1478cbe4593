"""The JSON store: byte-identical round trips, no write without change, atomic and format-keeping writes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from collection import store as store_module
from collection.store import MAX_FILE_BYTES, JsonFormat, Store, atomic_write, read_json, write_json
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


@pytest.mark.parametrize("content", [b"[" * 200_000, b'{"a":' * 200_000, b"[" * 200_000 + b"]" * 200_000])
def test_deep_nesting_is_one_clear_line(tmp_path: Path, content: bytes):
    path = tmp_path / "deep.json"
    path.write_bytes(content)
    with pytest.raises(CollectionError) as err:
        read_json(path)
    assert str(err.value) == f"{path}: invalid JSON: arrays or objects nested too deeply"


def test_a_number_too_long_to_read_is_one_clear_line(tmp_path: Path):
    path = tmp_path / "long.json"
    path.write_bytes(b'{"duration": ' + b"9" * 5000 + b"}")
    with pytest.raises(CollectionError) as err:
        read_json(path)
    assert str(err.value) == f"{path}: invalid JSON: a number too long to read"


def test_files_over_50_mb_are_refused_before_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    path = tmp_path / "huge.json"
    with path.open("wb") as handle:
        handle.truncate(MAX_FILE_BYTES + 1)  # sparse: nothing is written to disk

    def no_read(*args, **kwargs):
        raise AssertionError("read a file that is too large")

    monkeypatch.setattr(Path, "read_bytes", no_read)
    monkeypatch.setattr(Path, "open", no_read)
    with pytest.raises(CollectionError) as err:
        read_json(path)
    assert str(err.value) == f"{path}: {MAX_FILE_BYTES + 1} bytes; a collection file may hold at most 50 MB"


def test_the_size_limit_is_inclusive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(store_module, "MAX_FILE_BYTES", 10)
    path = tmp_path / "edge.json"
    path.write_bytes(b"[1, 2, 34]")
    assert read_json(path)[0] == [1, 2, 34]
    path.write_bytes(b"[1, 2, 345]")
    with pytest.raises(CollectionError, match="11 bytes"):
        read_json(path)


def test_a_file_that_grows_after_its_size_was_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    path = tmp_path / "growing.json"
    path.write_bytes(b"[" + b" " * 20 + b"]")
    small = os.stat_result((0o100644, 0, 0, 1, 0, 0, 5, 0, 0, 0))
    monkeypatch.setattr(store_module, "MAX_FILE_BYTES", 10)
    monkeypatch.setattr(Path, "stat", lambda self, **kwargs: small)
    with pytest.raises(CollectionError) as err:
        read_json(path)
    assert str(err.value) == f"{path}: over 50 MB; a collection file may hold at most 50 MB"


def test_an_oversized_index_is_refused(tmp_path: Path):
    with (tmp_path / "collection.json").open("wb") as handle:
        handle.truncate(MAX_FILE_BYTES + 1)
    with pytest.raises(CollectionError, match="at most 50 MB"):
        Store(tmp_path).index()
