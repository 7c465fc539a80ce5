"""Hyper-parameters of the CBIR-GAN model and of its training, saved inside every checkpoint."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

TripletSource = Literal["supervised", "unsupervised", "semi"]


@dataclass
class ModelConfig:
    """Shape of the generator (encoder + decoder) and of the discriminator."""

    channels: int = 3  # 1 for grey-scale data such as Fashion-MNIST
    image_height: int = 64
    image_width: int = 48
    embedding_dim: int = 128
    widths: tuple[int, ...] = (
        32,
        64,
        128,
        256,
    )  # encoder stage widths; each stage after the first halves H, W
    recon_height: int = 32  # the decoder reconstructs a down-scaled copy of the input at this size
    recon_width: int = 24
    decoder_widths: tuple[int, ...] = (128, 64, 32, 16)  # from 1/8 of the reconstruction size up to full size
    disc_widths: tuple[int, ...] = (32, 64, 128)
    # Normalisation applied to [0, 1] pixels before the encoder (per channel).
    mean: tuple[float, ...] = (0.5, 0.5, 0.5)
    std: tuple[float, ...] = (0.25, 0.25, 0.25)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> ModelConfig:
        tuples = {"widths", "decoder_widths", "disc_widths", "mean", "std"}
        fields: dict[str, Any] = {k: tuple(v) if k in tuples else v for k, v in values.items()}
        return cls(**fields)


@dataclass
class LossWeights:
    """Weight of each term of the generator's loss; 0 switches a term off (used by the ablation)."""

    triplet: float = 1.0  # class-level triplet loss (labelled samples)
    instance: float = 0.5  # instance-level triplet loss: two augmented views of one image are positives
    adversarial: float = 0.02
    perceptual: float = 0.1
    reconstruction: float = 1.0


@dataclass
class TrainConfig:
    """Everything that decides how a model is trained; stored in the checkpoint for reproducibility."""

    dataset: str = "folder"  # "fashion-mnist" or "folder"
    data_path: str = ""
    triplet_source: TripletSource = "semi"
    labelled_fraction: float = 1.0  # in "semi" mode, the share of training images whose class label is used
    labels_path: str = ""  # a labels file of the annotation page: its categories override the folder's
    unlabelled_classes: tuple[str, ...] = ()  # in "semi" mode, classes whose labels are never used (new categories)
    epochs: int = 30
    classes_per_batch: int = 10
    samples_per_class: int = 12  # batch = classes_per_batch * samples_per_class images, two views each
    lr: float = 2e-3
    disc_lr: float = 2e-4
    weight_decay: float = 5e-4
    margin: float = 0.2
    triplets: str = "all"  # pytorch-metric-learning TripletMarginMiner type: all, hard, semihard, easy
    loss_weights: LossWeights = field(default_factory=LossWeights)
    seed: int = 0
    threads: int = 2
    device: str = "auto"  # auto (CUDA when present), cpu or cuda; bf16 autocast on CUDA
    workers: int = 0  # DataLoader worker processes doing the augmentation (0: in the main process)
    limit: int = 0  # use only the first N training images (0: all); for quick runs and tests

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        values = dict(values)
        values["loss_weights"] = LossWeights(**values.get("loss_weights", {}))
        values["unlabelled_classes"] = tuple(values.get("unlabelled_classes", ()))
        return cls(**values)
