import dataclasses

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from fashionrec.artifact import load_artifact
from fashionrec.model import training
from fashionrec.model.checkpoint import TRAINING_STATE_FILE, load_model, save_training_state
from fashionrec.model.training import train


class _Stop(Exception):
    """Stands for the run being killed mid-stage."""


def test_training_writes_an_artifact_the_services_can_read(tiny_model_dir, tiny_catalog):
    artifact = load_artifact(tiny_model_dir)
    spec = artifact.spec
    assert spec.version.startswith("tiny-")
    assert spec.vocabulary == tiny_catalog.vocabulary
    assert artifact.prototypes.shape == (3 * 8, 8)
    assert artifact.outfit_bilinear.shape == (4, 4)
    assert not (tiny_model_dir / TRAINING_STATE_FILE).exists()
    model, _ = load_model(tiny_model_dir)
    np.testing.assert_array_equal(model.memory.weight.detach().numpy(), artifact.prototypes)
    assert "memory.weight" in load_file(str(tiny_model_dir / "weights.safetensors"))


def test_memory_stays_block_diagonal_after_training(tiny_model_dir):
    model, _ = load_model(tiny_model_dir)
    off = model.memory.off_block().abs().sum().item()
    assert off < 0.05 * model.memory.weight.abs().sum().item()


def test_a_stopped_run_resumes_to_the_same_model(tmp_path, tiny_catalog, tiny_config, monkeypatch):
    config = tiny_config
    device = torch.device("cpu")
    whole = train(tiny_catalog, tmp_path / "whole", config, device, progress=False, log=lambda _: None)

    calls = {"n": 0}
    original = training._Run.val_manipulation

    def stop_in_stage_three(self):
        calls["n"] += 1
        if calls["n"] == 2:
            raise _Stop
        return original(self)

    monkeypatch.setattr(training._Run, "val_manipulation", stop_in_stage_three)
    with pytest.raises(_Stop):
        train(tiny_catalog, tmp_path / "resumed", config, device, progress=False, log=lambda _: None)
    assert (tmp_path / "resumed" / TRAINING_STATE_FILE).exists()
    monkeypatch.setattr(training._Run, "val_manipulation", original)
    logged = []
    resumed = train(tiny_catalog, tmp_path / "resumed", config, device, progress=False, log=logged.append)
    assert logged[0] == "resuming at stage manipulation, epoch 1"
    a = load_file(str(tmp_path / "whole" / "weights.safetensors"))
    b = load_file(str(tmp_path / "resumed" / "weights.safetensors"))
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key])
    assert whole.version.split("-")[-1] == resumed.version.split("-")[-1]


def test_a_saved_state_from_other_settings_is_refused(tmp_path, tiny_catalog, tiny_config):
    other = dataclasses.replace(tiny_config, seed=5)
    save_training_state(tmp_path, {"config": dataclasses.asdict(other)})
    with pytest.raises(ValueError, match="other settings"):
        train(tiny_catalog, tmp_path, tiny_config, torch.device("cpu"), progress=False, log=lambda _: None)


def test_the_outfit_stage_from_an_artifact_trains_only_the_compatibility_network(tmp_path, tiny_model_dir,
                                                                                   tiny_catalog, tiny_config):
    import shutil

    from fashionrec.model.checkpoint import set_posterior_weights

    source_dir = tmp_path / "tuned"
    shutil.copytree(tiny_model_dir, source_dir)
    set_posterior_weights(source_dir, 0.25, 0.5)  # a tuned source: the weights must carry over
    config = dataclasses.replace(tiny_config, outfit_epochs=1, outfit_negatives=3)
    logged = []
    train(tiny_catalog, tmp_path / "outfit", config, torch.device("cpu"), progress=False, log=logged.append,
          init_from=source_dir)
    assert logged[0].endswith("training the outfit stage only")
    assert not any(line.startswith(("pretrain", "manipulation")) for line in logged)
    before = load_file(str(tiny_model_dir / "weights.safetensors"))
    after = load_file(str(tmp_path / "outfit" / "weights.safetensors"))
    assert before.keys() == after.keys()
    encoder = [k for k in before if not k.startswith("outfit.")]
    for key in encoder:
        torch.testing.assert_close(after[key], before[key])
    assert not torch.equal(before["outfit.bilinear"], after["outfit.bilinear"])
    artifact = load_artifact(tmp_path / "outfit")
    np.testing.assert_array_equal(artifact.outfit_bilinear, after["outfit.bilinear"].numpy())
    assert (artifact.spec.posterior_weight, artifact.spec.similarity_posterior_weight) == (0.25, 0.5)


def test_init_from_refuses_another_model_configuration(tmp_path, tiny_model_dir, tiny_catalog, tiny_config):
    model = dataclasses.replace(tiny_config.model, attribute_dim=4)
    with pytest.raises(ValueError, match="another vocabulary or model configuration"):
        train(tiny_catalog, tmp_path / "other", dataclasses.replace(tiny_config, model=model),
              torch.device("cpu"), progress=False, log=lambda _: None, init_from=tiny_model_dir)


def test_outfit_from_starts_the_compatibility_network_from_another_artifact(tmp_path, tiny_model_dir,
                                                                             tiny_catalog, tiny_config):
    """A fresh encoder run with outfit_from and no outfit epochs carries the source's network as it is."""
    config = dataclasses.replace(tiny_config, seed=7, outfit_epochs=0)
    logged = []
    train(tiny_catalog, tmp_path / "warm", config, torch.device("cpu"), progress=False, log=logged.append,
          outfit_from=tiny_model_dir)
    assert f"compatibility network from {tiny_model_dir}" in logged
    source = load_file(str(tiny_model_dir / "weights.safetensors"))
    warm = load_file(str(tmp_path / "warm" / "weights.safetensors"))
    for key in (k for k in source if k.startswith("outfit.")):
        torch.testing.assert_close(warm[key], source[key])
    assert not torch.equal(warm["classifiers.0.weight"], source["classifiers.0.weight"])  # seed 7's own encoder


def test_outfit_from_refuses_another_compatibility_network(tmp_path, tiny_model_dir, tiny_catalog, tiny_config):
    model = tiny_config.model
    other = dataclasses.replace(model, outfit=dataclasses.replace(model.outfit, outfit_dim=model.outfit.outfit_dim + 2))
    with pytest.raises(ValueError, match="compatibility network configuration"):
        train(tiny_catalog, tmp_path / "other", dataclasses.replace(tiny_config, model=other, outfit_epochs=0),
              torch.device("cpu"), progress=False, log=lambda _: None, outfit_from=tiny_model_dir)


def test_every_item_outfit_loss_makes_each_item_a_target_against_its_categorys_encoded_items(tiny_catalog,
                                                                                               tiny_config):
    """The every-item loss equals the mean over the outfits' items of a one-target InfoNCE built by hand."""
    import torch.nn.functional as F

    from fashionrec.model.sampling import OutfitBatch
    from fashionrec.model.training import _Run

    run = _Run(tiny_catalog, dataclasses.replace(tiny_config, outfit_every_item=True), torch.device("cpu"),
               progress=False, log=lambda _: None)
    outfits = [o.items for o in tiny_catalog.outfits_of("train")[:3]]  # (top, bottom, shoe) each
    batch = OutfitBatch(items=np.array([o[1:] for o in outfits]), positive=np.array([o[0] for o in outfits]),
                        negatives=np.array([[o[0] for o in outfits[1:]] + [outfits[0][0]]
                                            for _ in outfits]))
    run.model.eval()  # no augmentation between the two computations
    unflipped = run.batch
    run.batch = lambda rows, augment: unflipped(rows, augment=False)
    loss = run.outfit_step(batch)
    rows = np.unique(np.concatenate([np.ravel(batch.items), batch.positive, np.ravel(batch.negatives)]))
    with torch.no_grad():
        e = run.outfit_embeddings(rows, augment=False)
    a = run.model.outfit.bilinear.detach()
    category = tiny_catalog.labels[:, 0]
    expected = []
    for outfit in outfits:
        for target in outfit:
            context = [r for r in outfit if r != target]
            query = e[np.searchsorted(rows, context)].mean(0) @ a
            candidates = [r for r in rows if category[r] == category[target] and (r == target or r not in outfit)]
            scores = e[np.searchsorted(rows, candidates)] @ query
            expected.append(F.cross_entropy(scores.unsqueeze(0), torch.tensor([candidates.index(target)])))
    torch.testing.assert_close(loss.detach(), torch.stack(expected).mean(), rtol=1e-4, atol=1e-5)
