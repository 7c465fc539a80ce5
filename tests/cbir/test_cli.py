"""The `cbir` command line, run in-process with Typer's runner."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cbir.cli import app
from tests.synthetic import COLOURS, coloured_image

runner = CliRunner()


@pytest.mark.parametrize("command", ["train", "evaluate", "embed", "demo", "migrate-ids"])
def test_every_subcommand_explains_itself(command: str) -> None:
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def test_embed_prints_one_json_line_per_image(tmp_path: Path, tiny_checkpoint: Path) -> None:
    paths = []
    for i, colour in enumerate(COLOURS):
        path = tmp_path / f"{i}.jpg"
        coloured_image(colour, seed=i).save(path)
        paths.append(str(path))
    result = runner.invoke(app, ["embed", str(tiny_checkpoint), *paths])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert [row["path"] for row in rows] == paths
    assert all(len(row["vector"]) == 16 for row in rows)


def test_embed_refuses_a_file_that_is_not_an_image(tmp_path: Path, tiny_checkpoint: Path) -> None:
    bad = tmp_path / "bad.jpg"
    bad.write_text("hello")
    result = runner.invoke(app, ["embed", str(tiny_checkpoint), str(bad)])
    assert result.exit_code == 2
    assert "cannot decode image" in result.output


def two_colour_folder(root: Path) -> None:
    """Ten red and ten blue photos in a <category>/<image> tree."""
    for name, colour in [("red", COLOURS[0]), ("blue", COLOURS[2])]:
        (root / name).mkdir(parents=True)
        for i in range(10):
            coloured_image(colour, seed=i).save(root / name / f"{i}.jpg")


def test_train_a_catalog_model_on_a_small_folder_then_resume(tmp_path: Path) -> None:
    two_colour_folder(tmp_path / "train")
    out = tmp_path / "model.pt"
    args = ["train", "catalog", "--data", str(tmp_path / "train"), "--out", str(out), "--threads", "1"]
    result = runner.invoke(app, [*args, "--epochs", "1"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output[result.output.index("{") :])["epoch"] == 1
    result = runner.invoke(app, [*args, "--epochs", "2", "--resume"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output[result.output.index("{") :])["epoch"] == 2


def test_weights_given_on_the_command_line_change_only_those_of_the_preset(tmp_path: Path) -> None:
    from embedder import Embedder, presets

    two_colour_folder(tmp_path / "train")
    out = tmp_path / "model.pt"
    result = runner.invoke(app, ["train", "catalog", "--data", str(tmp_path / "train"), "--out", str(out),
                                 "--epochs", "1", "--threads", "1", "--weights", '{"adversarial": 0}'])  # fmt: skip
    assert result.exit_code == 0, result.output
    weights = Embedder.load(out).info["train_config"]["loss_weights"]
    assert weights["adversarial"] == 0
    assert weights["instance"] == presets.train_config("catalog").loss_weights.instance == 1.0
