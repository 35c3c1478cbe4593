"""Write a realistic N-album collection (index and album files) built from the sample shapes.

    python benchmarks/generate_collection.py OUT_DIR [--albums 3000]
"""

from __future__ import annotations

import argparse
import copy
import json
import random
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SOURCES = [REPO / "tests" / "fixtures" / "sample-data", REPO / "public"]


def generate(out: Path, albums: int, seed: int = 7) -> Path:
    source = next(p for p in SOURCES if (p / "collection.json").is_file())
    index = json.loads((source / "collection.json").read_text())
    shapes = []
    for entry in index:
        slug = entry["uri_release"].strip("/").split("/")[1]
        shapes.append((entry, json.loads((source / "album" / slug / f"{slug}.json").read_text())))
    rng = random.Random(seed)
    out_index = []
    for n in range(albums):
        entry, album = copy.deepcopy(shapes[n % len(shapes)])
        release_id = str(50_000_000 + n)
        title = f"{album.get('release_name_discogs') or album['title']} {n}"
        slug = f"generated-{n}-{release_id}"
        album.update(title=title, release_name_discogs=title, id=release_id, discogs_id=release_id)
        artist = f"{album['artists'][0]['name']} {rng.randint(1, albums // 3 + 1)}"
        album["artists"][0]["name"] = artist
        entry.update(release_name=title, release_artist=artist,
                     uri_release=f"/album/{slug}/", json_detailed_release=f"/album/{slug}/{slug}.json",
                     date_added=f"20{10 + n % 16:02d}-{1 + n % 12:02d}-{1 + n % 28:02d}")
        folder = out / "album" / slug
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{slug}.json").write_text(json.dumps(album, indent=2, ensure_ascii=False))
        out_index.append(entry)
    (out / "collection.json").write_text(json.dumps(out_index, indent=2, ensure_ascii=False))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", type=Path)
    parser.add_argument("--albums", type=int, default=3000)
    args = parser.parse_args()
    generate(args.out, args.albums)
    print(f"wrote {args.albums} albums to {args.out}")


if __name__ == "__main__":
    main()
