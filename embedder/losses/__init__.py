from embedder.losses.adversarial import AdversarialLoss
from embedder.losses.perceptual import PerceptualLoss
from embedder.losses.reconstruction import ReconstructionLoss
from embedder.losses.triplet import TripletLoss

__all__ = ["AdversarialLoss", "PerceptualLoss", "ReconstructionLoss", "TripletLoss"]
