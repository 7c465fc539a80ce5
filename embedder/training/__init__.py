from embedder.training.trainer import Trainer

__all__ = ["Trainer"]
