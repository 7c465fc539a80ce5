"""The CBIR-GAN training loop: triplet + adversarial + perceptual + reconstruction losses."""

from __future__ import annotations

import datetime as dt
import logging
import time
import warnings
from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader
from tqdm import tqdm

from embedder.checkpoint import load_checkpoint, save_checkpoint
from embedder.config import ModelConfig, TrainConfig
from embedder.data.dataset import LabelledImages
from embedder.data.views import TwoViews
from embedder.device import autocast, resolve_device
from embedder.errors import DatasetError
from embedder.losses import AdversarialLoss, PerceptualLoss, ReconstructionLoss, TripletLoss
from embedder.models import Discriminator, Generator
from embedder.preprocessing import normalize

logger = logging.getLogger(__name__)
Validator = Callable[[Generator], dict[str, float]]


class Trainer:
    """Owns the two networks, their optimisers and the losses; `fit` runs epochs and writes checkpoints."""

    def __init__(
        self,
        model_config: ModelConfig,
        train_config: TrainConfig,
        triplet_loss: TripletLoss | None = None,
        adversarial_loss: AdversarialLoss | None = None,
        perceptual_loss: PerceptualLoss | None = None,
        reconstruction_loss: ReconstructionLoss | None = None,
    ) -> None:
        torch.manual_seed(train_config.seed)
        torch.set_num_threads(train_config.threads)
        self.model_config = model_config
        self.config = train_config
        self.device = resolve_device(train_config.device)
        self.generator = Generator(model_config).to(self.device)
        self.discriminator = Discriminator(model_config).to(self.device)
        self.triplet_loss = triplet_loss or TripletLoss(train_config.margin, train_config.triplets)
        self.adversarial_loss = adversarial_loss or AdversarialLoss()
        self.perceptual_loss = perceptual_loss or PerceptualLoss()
        self.reconstruction_loss = reconstruction_loss or ReconstructionLoss()
        self.g_optimizer = torch.optim.AdamW(
            self.generator.parameters(), lr=train_config.lr, weight_decay=train_config.weight_decay
        )
        self.d_optimizer = torch.optim.Adam(
            self.discriminator.parameters(), lr=train_config.disc_lr, betas=(0.5, 0.999)
        )
        self.scheduler: torch.optim.lr_scheduler.OneCycleLR | None = None
        self.epoch = 0  # epochs completed
        self.step = 0
        self.history: list[dict[str, float]] = []

    # ---- the parts of one step -------------------------------------------------------------------------

    @property
    def uses_decoder(self) -> bool:
        w = self.config.loss_weights
        return w.adversarial > 0 or w.perceptual > 0 or w.reconstruction > 0

    @property
    def uses_discriminator(self) -> bool:
        w = self.config.loss_weights
        return w.adversarial > 0 or w.perceptual > 0

    def train_step(
        self, view_a: torch.Tensor, view_b: torch.Tensor, labels: torch.Tensor, index: torch.Tensor
    ) -> dict[str, float]:
        """One optimisation step on a batch of B images given as two uint8 views each."""
        w, source = self.config.loss_weights, self.config.triplet_source
        cfg = self.model_config
        device = self.device
        x = normalize(torch.cat([view_a, view_b]).to(device, non_blocking=True), cfg)  # (2B, C, H, W)
        class_labels = torch.cat([labels, labels]).to(device)  # (2B,), -1 where unlabelled
        instance_labels = torch.cat([index, index]).to(device)  # (2B,): the two views of an image share a label
        real_small = F.interpolate(x, size=(cfg.recon_height, cfg.recon_width), mode="area")  # (2B, C, h, w)

        with autocast(device):
            if self.uses_decoder:
                z, reconstruction = self.generator(x)  # (2B, D), (2B, C, h, w)
            else:
                z, reconstruction = self.generator.encoder(x), None
        z = z.float()  # the losses run in fp32, whatever the autocast did
        reconstruction = reconstruction.float() if reconstruction is not None else None

        logs: dict[str, float] = {}
        if self.uses_discriminator and reconstruction is not None:
            with autocast(device):
                real_logits, _ = self.discriminator(real_small)
                fake_logits, _ = self.discriminator(reconstruction.detach())
            d_loss = self.adversarial_loss.discriminator(real_logits, fake_logits)
            self.d_optimizer.zero_grad(set_to_none=True)
            d_loss.backward()
            self.d_optimizer.step()
            logs["disc"] = d_loss.item()

        terms: dict[str, torch.Tensor] = {}
        labelled = class_labels >= 0
        if source != "unsupervised" and w.triplet > 0 and labelled.sum() > 1:
            terms["triplet"] = self.triplet_loss(z[labelled], class_labels[labelled])
        if source != "supervised" and w.instance > 0:
            terms["instance"] = self.triplet_loss(z, instance_labels)
        if reconstruction is not None:
            if w.reconstruction > 0:
                terms["reconstruction"] = self.reconstruction_loss(real_small, reconstruction)
            if self.uses_discriminator:
                with autocast(device):
                    fake_logits, fake_features = self.discriminator(reconstruction)
                    with torch.no_grad():
                        _, real_features = self.discriminator(real_small)
                terms["adversarial"] = self.adversarial_loss.generator(fake_logits)
                terms["perceptual"] = self.perceptual_loss(real_features, fake_features)
        weights = asdict(w)
        total = sum((weights[name] * value.float() for name, value in terms.items()), torch.zeros((), device=device))
        self.g_optimizer.zero_grad(set_to_none=True)
        total.backward()
        self.g_optimizer.step()
        if self.scheduler is not None:
            self.scheduler.step()
        self.step += 1
        logs.update({name: value.item() for name, value in terms.items()})
        logs["total"] = total.item()
        return logs

    # ---- the loop ----------------------------------------------------------------------------------------

    def labelled_mask(self, images: LabelledImages) -> torch.Tensor:
        """Which training images keep their class label (all but a random share in semi-supervised mode)."""
        if self.config.triplet_source == "unsupervised":
            return torch.zeros(len(images), dtype=torch.bool)
        if self.config.triplet_source == "supervised":
            return torch.ones(len(images), dtype=torch.bool)
        generator = torch.Generator().manual_seed(self.config.seed)
        kept = torch.rand(len(images), generator=generator) < self.config.labelled_fraction
        hidden = [i for i, name in enumerate(images.class_names) if name in self.config.unlabelled_classes]
        return kept & ~torch.isin(images.labels, torch.tensor(hidden, dtype=images.labels.dtype))

    def fit(
        self,
        images: LabelledImages,
        checkpoint_path: Path | str,
        validate: Validator | None = None,
        progress: bool = True,
    ) -> list[dict[str, float]]:
        """Train until `config.epochs` epochs are done (resuming counts), checkpointing after each epoch."""
        cfg = self.config
        batch_size = min(cfg.classes_per_batch * cfg.samples_per_class, len(images))
        if batch_size < 2:
            raise DatasetError(f"need at least 2 training images, got {len(images)}")
        dataset = TwoViews(images, self.model_config, self.labelled_mask(images))
        loader = DataLoader(
            dataset,
            batch_size=batch_size,
            shuffle=True,
            drop_last=True,
            generator=torch.Generator().manual_seed(cfg.seed + self.epoch),
            num_workers=cfg.workers,
            persistent_workers=cfg.workers > 0,
            # workers start from a clean process, not a fork of this one: a fork copies the state of whatever
            # threads the process runs (gRPC clients of the stores in a test session), and one crashed so in CI
            multiprocessing_context="forkserver" if cfg.workers > 0 else None,
            pin_memory=self.device.type == "cuda",
        )
        if self.scheduler is None:
            self.scheduler = self.make_scheduler(len(loader) * cfg.epochs)
            with warnings.catch_warnings():  # resumed with a new epoch count: move to this step of the schedule
                warnings.simplefilter("ignore", UserWarning)  # "scheduler.step() before optimizer.step()"
                for _ in range(self.step):
                    self.scheduler.step()
        while self.epoch < cfg.epochs:
            started = time.perf_counter()
            self.generator.train()
            self.discriminator.train()
            sums: dict[str, float] = defaultdict(float)
            bar = tqdm(loader, desc=f"epoch {self.epoch + 1}/{cfg.epochs}", disable=not progress, leave=False)
            for view_a, view_b, labels, index in bar:
                logs = self.train_step(view_a, view_b, labels, index)
                for name, value in logs.items():
                    sums[name] += value
                bar.set_postfix(total=f"{logs['total']:.3f}")
            self.epoch += 1
            record = {name: value / len(loader) for name, value in sums.items()}
            record.update(epoch=self.epoch, seconds=time.perf_counter() - started)
            if validate is not None:
                self.generator.eval()
                record.update(validate(self.generator))
            self.history.append(record)
            logger.info("epoch %d: %s", self.epoch, {k: round(v, 4) for k, v in record.items()})
            self.save(checkpoint_path, images.description)
        return self.history

    def make_scheduler(self, total_steps: int) -> torch.optim.lr_scheduler.OneCycleLR:
        return torch.optim.lr_scheduler.OneCycleLR(
            self.g_optimizer, max_lr=self.config.lr, total_steps=max(total_steps, 1), pct_start=0.15
        )

    # ---- checkpoints -------------------------------------------------------------------------------------

    def save(self, path: Path | str, data_description: dict[str, Any], metrics: dict[str, Any] | None = None) -> None:
        save_checkpoint(
            path,
            {
                "model_config": asdict(self.model_config),
                "train_config": self.config.to_dict(),
                "data": data_description,
                "epoch": self.epoch,
                "step": self.step,
                "metrics": metrics or (self.history[-1] if self.history else {}),
                "history": self.history,
                "generator": _on_cpu(self.generator.state_dict()),
                "discriminator": _on_cpu(self.discriminator.state_dict()),
                "g_optimizer": self.g_optimizer.state_dict(),
                "d_optimizer": self.d_optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict() if self.scheduler else None,
                "saved_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "torch_version": str(torch.__version__),
            },
        )

    @classmethod
    def resume(cls, path: Path | str, epochs: int | None = None) -> Trainer:
        """Rebuild a trainer from a checkpoint, optionally with a new total epoch count."""
        checkpoint = load_checkpoint(path)
        train_config = TrainConfig.from_dict(checkpoint["train_config"])
        same_schedule = epochs is None or epochs == train_config.epochs
        if epochs is not None:
            train_config.epochs = epochs
        trainer = cls(ModelConfig.from_dict(checkpoint["model_config"]), train_config)
        trainer.generator.load_state_dict(checkpoint["generator"])  # load_checkpoint maps tensors to the CPU
        trainer.discriminator.load_state_dict(checkpoint["discriminator"])
        trainer.g_optimizer.load_state_dict(checkpoint["g_optimizer"])
        trainer.d_optimizer.load_state_dict(checkpoint["d_optimizer"])
        trainer.epoch, trainer.step = checkpoint["epoch"], checkpoint["step"]
        trainer.history = list(checkpoint.get("history", []))
        if checkpoint.get("scheduler") and same_schedule:
            trainer.scheduler = trainer.make_scheduler(1)
            trainer.scheduler.load_state_dict(checkpoint["scheduler"])
        return trainer


def _on_cpu(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A state dict with every tensor on the CPU, so a checkpoint written on a GPU loads anywhere."""
    return {name: tensor.detach().cpu() for name, tensor in state.items()}
