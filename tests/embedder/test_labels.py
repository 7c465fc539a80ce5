"""Accepted labels reach training: a labels file renames the photos it names, by the SHA-256 of their bytes."""

import hashlib
import json
from pathlib import Path

from embedder.data.image_folder import load_image_folder
from embedder.data.labels import read_labels, relabel
from tests.synthetic import COLOURS, coloured_image, jpeg_bytes, tiny_model_config


def test_a_labels_file_moves_photos_to_a_new_category(tmp_path: Path) -> None:
    for label, name in enumerate(["red", "green"]):
        (tmp_path / "photos" / name).mkdir(parents=True)
        for i in range(3):
            (tmp_path / "photos" / name / f"{i}.jpg").write_bytes(jpeg_bytes(coloured_image(COLOURS[label], seed=i)))
    renamed = [tmp_path / "photos" / "green" / f"{i}.jpg" for i in (0, 1)]
    lines = [{"photo_sha256": hashlib.sha256(p.read_bytes()).hexdigest(), "category": "lime"} for p in renamed]
    lines.append({"item_id": hashlib.sha256(renamed[0].read_bytes()).hexdigest(), "category": "olive"})  # last wins
    labels_file = tmp_path / "labels.jsonl"
    labels_file.write_text("".join(json.dumps(line) + "\n" for line in lines))

    images = load_image_folder(tmp_path / "photos", tiny_model_config(), progress=False)
    relabelled, changed = relabel(images, read_labels(labels_file))

    assert changed == 2 and relabelled.class_names == ["green", "red", "olive", "lime"]
    by_source = dict(zip(relabelled.sources, relabelled.labels.tolist(), strict=True))
    assert by_source[str(renamed[0])] == 2 and by_source[str(renamed[1])] == 3
    assert sum(1 for label in relabelled.labels.tolist() if label == 0) == 1  # one green photo left
