"""`fashionrec train` and `fashionrec eval` end to end on a tiny catalog directory."""

import json

from fashionrec.artifact import load_artifact
from fashionrec_cli import main
from fashionrec.data.catalog import save_catalog


def test_train_then_eval_from_the_command_line(tmp_path, tiny_catalog, capsys):
    data, model = tmp_path / "catalog", tmp_path / "model"
    save_catalog(tiny_catalog, data)
    assert main(["train", "--data", str(data), "--out", str(model), "--epochs", "1", "--outfit-epochs", "1",
                 "--image-size", "16", "--width", "4", "--attribute-dim", "4", "--quiet",
                 "--version", "cli-test"]) == 0
    assert load_artifact(model).spec.version == "cli-test"
    report_path = tmp_path / "eval.json"
    assert main(["eval", "--model", str(model), "--data", str(data), "--json", str(report_path)]) == 0
    printed = capsys.readouterr().out
    assert "1-attr h@30" in printed and "FITB" in printed
    report = json.loads(report_path.read_text())
    assert report["model_version"] == "cli-test" and report["gallery"] == "all"

    # The unsupervised-style table beside the model: a random encoder row and the model's own.
    assert main(["eval", "--model", str(model), "--data", str(data), "--json", str(report_path), "--quiet",
                 "--disentanglement", "random=", "--disentanglement-items", "60", "--max-queries", "20"]) == 0
    table = json.loads(report_path.read_text())["disentanglement_table"]
    assert set(table["methods"]) == {"random", str(model)}


def test_outfit_flags_reach_the_training_config():
    import argparse
    from pathlib import Path

    from fashionrec_cli.train_command import build_config

    base = dict(image_size=None, width=None, attribute_dim=None, epochs=None, outfit_epochs=None, baseline=None,
                ablate=[], seed=0, init_from=Path("m"))
    config = build_config(argparse.Namespace(**base, outfit_negatives=5))
    assert config.outfit_negatives == 5
    default = build_config(argparse.Namespace(**base, outfit_negatives=None))
    assert default.outfit_negatives == 4
    assert not default.outfit_every_item and default.outfit_learning_rate == 2e-3
    every = build_config(argparse.Namespace(**base, outfit_negatives=None, outfit_every_item=True,
                                            outfit_learning_rate=1e-3))
    assert every.outfit_every_item and every.outfit_learning_rate == 1e-3
    assert default.model.image_size == 64 and default.model.backbone.stem_stride == 2
