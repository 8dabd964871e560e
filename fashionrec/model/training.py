"""Training ADDE: the paper's three stages, then the outfit head.

    1 pretrain   encoder: 0.2·Σ_a CE + 0.2·Σ_a triplet(L2n r_a) + 1.0·triplet(L2n r, full label)
    2 memory     M ← per-value means of r_a over training items (block-diagonal)
    3 manipulate (reference, positive, negative, indicator) triplets: 0.2·CE + 1.0·label triplet
                 + 1.0·compositional triplet + 1.0·consistency + 0.4·‖(1−D)⊙M‖₁
    4 outfit     the compatibility network (its own backbone, fashionrec.model.outfit) on
                 outfit co-occurrence alone: InfoNCE of the held-out item against sampled
                 items of its category, score mean_i e_i^T A e_y; the encoder is untouched

Each stage keeps the epoch that scores best on the validation split (never test).
After every epoch the whole state goes to MODEL_DIR/training_state.pt, so a stopped
run continues where it stopped; batches come from (seed, stage, epoch) alone.
"""

from __future__ import annotations

import copy
import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from fashionrec.data import queries
from fashionrec.data.catalog import Catalog
from fashionrec.model import losses
from fashionrec.model.adde import ADDE, ADDEConfig
from fashionrec.artifact import load_spec
from fashionrec.model.checkpoint import (TRAINING_STATE_FILE, load_training_state, save_model,
                                         save_training_state, set_posterior_weights, weights_digest)
from fashionrec.model.device import autocast, prepare_model, to_layout
from fashionrec.model.evaluation import evaluate_manipulation, model_embeddings
from fashionrec.model.preprocessing import normalise, resize_uint8
from fashionrec.model.inference import encode_tensor
from fashionrec.model.memory import manipulation_indicator
from fashionrec.model.sampling import ManipulationSampler, labelled_batches, outfit_batches
from fashionrec.vocab import UNKNOWN

STAGES = ("pretrain", "memory", "manipulation", "outfit")


@dataclass(frozen=True)
class LossWeights:
    classification: float = 0.5
    attribute_triplet: float = 0.2
    label_triplet: float = 1.0
    compositional: float = 1.0
    consistency: float = 1.0
    memory: float = 0.4
    # Class-balanced CE per attribute (losses.balanced_class_weights): "n/a" no longer
    # takes most of the neckline, sleeve and length gradient.
    balanced_classes: bool = True


@dataclass(frozen=True)
class TrainConfig:
    model: ADDEConfig = field(default_factory=ADDEConfig)
    weights: LossWeights = field(default_factory=LossWeights)
    pretrain_epochs: int = 14
    manipulation_epochs: int = 5
    outfit_epochs: int = 16
    batch_size: int = 128
    triplets_per_batch: int = 48
    # Manipulation triplets per epoch, as a share of the training items.
    triplets_per_item: float = 1.0
    learning_rate: float = 2e-3
    manipulation_learning_rate: float = 5e-4
    outfit_learning_rate: float = 2e-3
    # StepLR(step, 0.5) as in the paper, in epochs of each stage.
    lr_step_epochs: int = 5
    prototype_samples: int = 100
    # Extra sampled items of the held-out item's category per outfit, beside the batch's own
    # items of that category (InfoNCE negatives).
    outfit_negatives: int = 4
    # Small batches: more updates per epoch. At 128 outfits (20 steps an epoch) the loss
    # stayed within 1% of chance for three epochs; the network fits a fixed batch in 25 steps.
    outfit_batch_size: int = 32
    # Every item of an outfit a target in turn (the rest of the outfit its context), not only
    # the held-out one: the step encodes the same images, ~4x the targets per encoded image.
    # Off: not measured yet (the run was stopped before its first epoch on a loaded machine);
    # the shipped network was trained with one held-out item per outfit.
    outfit_every_item: bool = False
    validation_queries: int = 400
    seed: int = 0
    threads: int = 2


@dataclass
class TrainResult:
    version: str
    seconds: float
    validation: dict[str, float]


class _Run:
    """The mutable state of one training run (model, data on device, progress)."""

    def __init__(self, catalog: Catalog, config: TrainConfig, device: torch.device, progress: bool,
                 log: Callable[[str], None]) -> None:
        self.catalog, self.config, self.device, self.progress, self.log = catalog, config, device, progress, log
        self.images = resize_uint8(catalog.images, config.model.image_size).to(device)
        self.labels_np = catalog.labels.astype(np.int64)
        self.labels = torch.as_tensor(self.labels_np, device=device)
        self.train_rows, self.val_rows = catalog.indices("train"), catalog.indices("val")
        self.class_weights = None if not config.weights.balanced_classes else losses.balanced_class_weights(
            torch.as_tensor(self.labels_np[self.train_rows]), [len(a.values) for a in catalog.vocabulary.attributes])
        torch.manual_seed(config.seed)
        self.model: ADDE = prepare_model(ADDE(catalog.vocabulary, config.model), device)
        self.category = self.model.category_position
        self.validation: dict[str, float] = {}
        self._val_queries: list[queries.ManipulationQuery] | None = None
        self._val_fitb: list[queries.FitbQuestion] | None = None
        self._log_probs: torch.Tensor | None = None
        self.started = time.monotonic()
        self.prior_seconds = 0.0

    def seconds(self) -> float:
        """Training time over every invocation of this run."""
        return self.prior_seconds + time.monotonic() - self.started

    # -- helpers ---------------------------------------------------------------------------
    def batch(self, rows: np.ndarray, augment: bool) -> torch.Tensor:
        x = self.images[torch.as_tensor(rows, device=self.device)]
        if augment:  # horizontal flips keep every attribute of a garment
            flip = torch.rand(len(rows), device=self.device) < 0.5
            x = torch.where(flip.view(-1, 1, 1, 1), x.flip(-1), x)
        return normalise(to_layout(x, self.device))

    def encode(self, rows: np.ndarray):
        return encode_tensor(self.model, self.images[torch.as_tensor(rows, device=self.device)], self.device)

    def rng(self, stage: int, epoch: int) -> np.random.Generator:
        torch.manual_seed(self.config.seed * 1_000_003 + stage * 1009 + epoch)
        return np.random.default_rng([self.config.seed, stage, epoch])

    def step(self, optimizer: torch.optim.Optimizer, loss: torch.Tensor) -> None:
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    def bar(self, iterable, desc: str, total: int | None = None):
        return tqdm(iterable, desc=desc, total=total, disable=not self.progress, leave=False, dynamic_ncols=True)

    def outfit_embeddings(self, rows: np.ndarray, augment: bool) -> torch.Tensor:
        """e (len(rows), D) through the compatibility network, with the frozen heads' posteriors."""
        log_probs = None
        if self.model.outfit.posterior_dim:
            if self._log_probs is None:  # the encoder is frozen in the outfit stage: once per run
                self._log_probs = torch.as_tensor(self.encode(np.arange(len(self.catalog))).log_probs,
                                                  device=self.device)
            log_probs = self._log_probs[torch.as_tensor(rows, device=self.device)]
        return self.model.outfit(self.batch(rows, augment=augment), log_probs).float()

    # -- validation (val split only) ---------------------------------------------------------
    def val_accuracy(self) -> float:
        enc = self.encode(self.val_rows)
        truth = self.labels_np[self.val_rows]
        known = truth != UNKNOWN
        return float((enc.labels == truth)[known].mean())

    def val_manipulation(self) -> float:
        if self._val_queries is None:
            self._val_queries = queries.manipulation_queries(self.catalog, "val", self.config.seed,
                                                             max_queries=self.config.validation_queries)
        emb = model_embeddings(self.model, self.images, self.device, rows=self.val_rows)
        return evaluate_manipulation(emb, self.catalog, "val", self._val_queries).get("hit@30", 0.0)

    def val_fitb(self) -> float:
        """FITB accuracy on the validation split's questions (4 candidates of one category)."""
        if self._val_fitb is None:
            self._val_fitb = queries.fitb_questions(self.catalog, "val", self.config.seed)
        if not self._val_fitb:
            return 0.0
        rows = np.unique(np.concatenate([np.r_[x.context, x.candidates] for x in self._val_fitb]))
        with torch.no_grad():
            self.model.eval()
            e = torch.cat([self.outfit_embeddings(rows[i:i + 512], augment=False)
                           for i in range(0, len(rows), 512)])
            a = self.model.outfit.bilinear.detach().float()
        position = {int(r): i for i, r in enumerate(rows)}
        correct = 0
        for x in self._val_fitb:
            query = e[[position[r] for r in x.context]].mean(0) @ a
            scores = e[[position[r] for r in x.candidates]] @ query
            correct += int(int(scores.argmax()) == x.answer)
        return correct / len(self._val_fitb)

    # -- stages ----------------------------------------------------------------------------
    def pretrain_step(self, rows: np.ndarray) -> torch.Tensor:
        w, labels = self.config.weights, self.labels[torch.as_tensor(rows, device=self.device)]
        with autocast(self.device):
            enc = self.model(self.batch(rows, augment=True))
        loss = w.classification * losses.classification_loss(enc.logits, labels, self.class_weights)
        if w.attribute_triplet and self.config.model.disentangled:
            loss = loss + w.attribute_triplet * losses.attribute_triplet_loss(enc.chunks, labels)
        if w.label_triplet:
            loss = loss + w.label_triplet * losses.label_triplet_loss(enc.whole, labels)
        return loss

    def manipulation_step(self, sampler: ManipulationSampler, rng: np.random.Generator) -> torch.Tensor:
        w, b = self.config.weights, self.config.triplets_per_batch
        t = sampler.sample(b, rng)
        rows = np.concatenate([t.reference, t.positive, t.negative])
        labels = self.labels[torch.as_tensor(rows, device=self.device)]
        with autocast(self.device):
            enc = self.model(self.batch(rows, augment=True))
        whole = enc.whole.float()
        r_q, r_p, r_n = whole[:b], whole[b:2 * b], whole[2 * b:]
        target = torch.as_tensor(t.target, device=self.device)
        indicator = manipulation_indicator(labels[:b], target, self.model.vocabulary)
        manipulated = self.model.memory.manipulate(r_q, indicator)
        memory = self.model.memory
        loss = w.classification * losses.classification_loss(enc.logits, labels, self.class_weights)
        if w.label_triplet:
            loss = loss + w.label_triplet * losses.label_triplet_loss(whole, labels)
        if w.compositional:
            loss = loss + w.compositional * losses.compositional_triplet_loss(manipulated, r_p, r_n)
        if w.consistency:
            loss = loss + w.consistency * (
                losses.consistency_loss(memory.compose(target), manipulated, target)
                + losses.consistency_loss(memory.compose(labels[:b]), r_q, labels[:b])
                + losses.consistency_loss(memory.compose(labels[2 * b:]), r_n, labels[2 * b:]))
        if w.memory:
            loss = loss + w.memory * losses.memory_loss(memory.off_block())
        return loss

    def outfit_step(self, batch) -> torch.Tensor:
        """InfoNCE of each held-out item against every same-category item of the batch.

        The candidates of an outfit are its held-out item and all items of that category
        that the batch encodes anyway (other outfits' items and the few sampled negatives),
        minus the outfit's own items: each image goes through the network once per step.
        Sampling K fresh negatives per outfit instead cost ~19 encoded images per outfit
        and 882 s per epoch on 2 loaded cores.
        """
        items = torch.as_tensor(batch.items, device=self.device)
        positive = torch.as_tensor(batch.positive, device=self.device)
        negatives = torch.as_tensor(batch.negatives, device=self.device).reshape(-1)
        mask = items >= 0
        rows = torch.unique(torch.cat([positive, negatives, items[mask]]))
        with autocast(self.device):
            e = self.outfit_embeddings(rows.cpu().numpy(), augment=True)
        position = torch.zeros(int(rows.max()) + 1, dtype=torch.long, device=self.device)
        position[rows] = torch.arange(len(rows), device=self.device)
        categories = self.labels[:, self.category]
        if self.config.outfit_every_item:
            return self._every_item_loss(e, rows, position, torch.cat([positive.unsqueeze(1), items], 1), categories)
        context = e[position[items.clamp(min=0)]] * mask.unsqueeze(-1)
        query = context.sum(1) / mask.sum(1, keepdim=True).clamp(min=1) @ self.model.outfit.bilinear  # (B, D)
        scores = query @ e.T  # (B, U)
        allowed = categories[rows].unsqueeze(0) == categories[positive].unsqueeze(1)
        own = (rows.view(1, 1, -1) == items.unsqueeze(-1)).any(1)  # (B, U): the outfit's own items
        allowed &= ~own
        target = position[positive]
        allowed[torch.arange(len(positive), device=self.device), target] = True
        return losses.outfit_infonce_loss(scores, target, allowed)

    def _every_item_loss(self, e: torch.Tensor, rows: torch.Tensor, position: torch.Tensor, outfits: torch.Tensor,
                         categories: torch.Tensor) -> torch.Tensor:
        """InfoNCE with each item of each outfit as the target and the outfit's other items as context.

        e (U, D): the step's encoded rows; outfits (B, m+1): every outfit's rows, −1 padding.
        The candidates of a target are the encoded items of its category, minus its outfit's
        other items.
        """
        real = outfits >= 0
        e_items = e[position[outfits.clamp(min=0)]] * real.unsqueeze(-1)  # (B, m+1, D)
        others = (real.sum(1, keepdim=True) - 1).clamp(min=1).unsqueeze(-1)  # (B, 1, 1)
        context = (e_items.sum(1, keepdim=True) - e_items) / others  # mean of the outfit's other items
        query = (context @ self.model.outfit.bilinear)[real]  # (P, D), one per real item
        targets = outfits[real]  # (P,)
        outfit_of = torch.arange(len(outfits), device=self.device).unsqueeze(1).expand_as(outfits)[real]
        scores = query @ e.T  # (P, U)
        allowed = categories[rows].unsqueeze(0) == categories[targets].unsqueeze(1)
        own = (rows.view(1, 1, -1) == outfits.unsqueeze(-1)).any(1)  # (B, U): each outfit's items
        allowed &= ~own[outfit_of]
        target = position[targets]
        allowed[torch.arange(len(targets), device=self.device), target] = True
        return losses.outfit_infonce_loss(scores, target, allowed)


def _stage_epochs(config: TrainConfig) -> dict[str, int]:
    return {"pretrain": config.pretrain_epochs, "memory": 1, "manipulation": config.manipulation_epochs,
            "outfit": config.outfit_epochs}


def train(catalog: Catalog, out_dir: Path, config: TrainConfig, device: torch.device, *,
          version: str | None = None, progress: bool = True,
          log: Callable[[str], None] = print, init_from: Path | None = None,
          outfit_from: Path | None = None) -> TrainResult:
    """Trains every stage (resuming from out_dir's training state) and writes the artifact.

    Args:
        init_from: an artifact directory whose weights (encoder, memory, compatibility
            network) start the run, which then trains the outfit stage only.
        outfit_from: an artifact directory whose compatibility network starts the outfit
            stage (a warm start after retraining the encoder: the network reads the encoder's
            posteriors, whose meaning a new encoder keeps).

    Raises:
        ValueError: a saved state of other settings, or a source artifact of another
            vocabulary or model configuration.
    """
    if device.type == "cpu":
        torch.set_num_threads(config.threads)
    out_dir.mkdir(parents=True, exist_ok=True)
    run = _Run(catalog, config, device, progress, log)
    state = load_training_state(out_dir)
    if state is not None and state["config"] != dataclasses.asdict(config):
        raise ValueError(f"{out_dir / TRAINING_STATE_FILE} belongs to a run with other settings; "
                         "remove it or use another --out")
    if state is not None:
        run.model.load_state_dict(state["model"])
        run.validation = state["validation"]
        run.prior_seconds = state["seconds"]
        log(f"resuming at stage {STAGES[state['stage']]}, epoch {state['epoch']}")
    else:
        state = {"config": dataclasses.asdict(config), "stage": 0, "epoch": 0, "optimizer": None,
                 "best": None, "best_score": -1.0, "validation": {}, "seconds": 0.0}
        if init_from is not None:
            _initialise_from(run, Path(init_from))
            state["stage"] = STAGES.index("outfit")
            log(f"weights from {init_from}; training the outfit stage only")
    epochs = _stage_epochs(config)
    # Read (and checked) before hours of encoder training, applied when the outfit stage starts.
    warm_outfit = None if outfit_from is None else _compatibility_network_of(run, Path(outfit_from))
    while state["stage"] < len(STAGES):
        stage = STAGES[state["stage"]]
        if stage == "outfit" and warm_outfit is not None and state["epoch"] == 0:
            run.model.outfit.load_state_dict(warm_outfit)
            log(f"compatibility network from {outfit_from}")
        _run_stage(run, stage, epochs[stage], state, out_dir)
        state.update(stage=state["stage"] + 1, epoch=0, optimizer=None, best=None, best_score=-1.0)
        state.update(model=run.model.state_dict(), seconds=run.seconds())
        save_training_state(out_dir, state)
    version = version or f"{out_dir.name}-{weights_digest(run.model)}"
    save_model(run.model, out_dir, version)
    if init_from is not None:  # the encoder is the source's: so are its tuned posterior weights
        source = load_spec(Path(init_from))
        set_posterior_weights(out_dir, source.posterior_weight, source.similarity_posterior_weight,
                              source.style_weight)
    (out_dir / TRAINING_STATE_FILE).unlink(missing_ok=True)
    return TrainResult(version=version, seconds=run.seconds(), validation=run.validation)


def _initialise_from(run: _Run, model_dir: Path) -> None:
    from fashionrec.model.checkpoint import load_model

    source, _ = load_model(model_dir)
    if source.vocabulary != run.model.vocabulary or source.config != run.model.config:
        raise ValueError(f"{model_dir} has another vocabulary or model configuration than this run")
    run.model.load_state_dict(source.state_dict())


def _compatibility_network_of(run: _Run, model_dir: Path) -> dict[str, torch.Tensor]:
    from fashionrec.model.checkpoint import load_model

    source, _ = load_model(model_dir)
    if source.vocabulary != run.model.vocabulary or source.config.outfit != run.model.config.outfit:
        raise ValueError(f"{model_dir} has another vocabulary or compatibility network configuration")
    return source.outfit.state_dict()


def _parameters(run: _Run, stage: str) -> list[torch.nn.Parameter] | list[dict[str, Any]]:
    if stage == "outfit":
        return list(run.model.outfit.parameters())
    # The encoder stages never touch the outfit head; the memory trains from stage 3 on.
    encoder = [p for n, p in run.model.named_parameters() if not n.startswith(("outfit.", "memory."))]
    return encoder + (list(run.model.memory.parameters()) if stage == "manipulation" else [])


def _run_stage(run: _Run, stage: str, n_epochs: int, state: dict[str, Any], out_dir: Path) -> None:
    config, stage_index = run.config, STAGES.index(stage)
    if stage == "memory":
        enc = run.encode(run.train_rows)
        run.model.memory.initialise(torch.as_tensor(enc.attributes), torch.as_tensor(run.labels_np[run.train_rows]),
                                    config.prototype_samples)
        return
    lr = {"pretrain": config.learning_rate, "manipulation": config.manipulation_learning_rate,
          "outfit": config.outfit_learning_rate}[stage]
    optimizer = torch.optim.Adam(_parameters(run, stage), lr=lr)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, config.lr_step_epochs, 0.5)
    if state["optimizer"] is not None:
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
    for epoch in range(state["epoch"], n_epochs):
        started = time.monotonic()
        rng = run.rng(stage_index, epoch)
        run.model.train()
        total, steps = 0.0, 0
        if stage == "pretrain":
            batches = labelled_batches(run.labels_np, run.train_rows, config.batch_size, rng)
            for rows in run.bar(batches, f"pretrain {epoch + 1}/{n_epochs}"):
                loss = run.pretrain_step(rows)
                run.step(optimizer, loss)
                total, steps = total + loss.item(), steps + 1
            score_name, score = "val_accuracy", run.val_accuracy()
        elif stage == "manipulation":
            sampler = ManipulationSampler(run.labels_np, run.train_rows)
            n_steps = max(1, int(len(run.train_rows) * config.triplets_per_item) // config.triplets_per_batch)
            for _ in run.bar(range(n_steps), f"manipulation {epoch + 1}/{n_epochs}"):
                loss = run.manipulation_step(sampler, rng)
                run.step(optimizer, loss)
                total, steps = total + loss.item(), steps + 1
            score_name, score = "val_manipulation_hit@30", run.val_manipulation()
        else:
            outfits = [o.items for o in run.catalog.outfits_of("train")]
            batches = outfit_batches(outfits, run.labels_np[:, run.category], run.train_rows,
                                     config.outfit_batch_size, config.outfit_negatives, rng)
            for b in run.bar(batches, f"outfit {epoch + 1}/{n_epochs}"):
                loss = run.outfit_step(b)
                run.step(optimizer, loss)
                total, steps = total + loss.item(), steps + 1
            score_name, score = "val_fitb", run.val_fitb()
        scheduler.step()
        if score > state["best_score"]:
            state["best_score"], state["best"] = score, copy.deepcopy(run.model.state_dict())
            run.validation[score_name] = score
        state.update(epoch=epoch + 1, model=run.model.state_dict(), optimizer=optimizer.state_dict(),
                     scheduler=scheduler.state_dict(), validation=run.validation,
                     seconds=run.seconds())
        save_training_state(out_dir, state)
        run.log(f"{stage} epoch {epoch + 1}/{n_epochs}: loss {total / max(steps, 1):.4f}  {score_name} {score:.4f}"
                f"  ({time.monotonic() - started:.0f}s)")
    if state["best"] is not None:
        run.model.load_state_dict(state["best"])
