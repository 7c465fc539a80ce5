import torch
import torch.nn.functional as F

from embedder.losses import AdversarialLoss, PerceptualLoss, ReconstructionLoss, TripletLoss


def test_triplet_loss_is_zero_when_classes_are_far_apart() -> None:
    embeddings = F.normalize(torch.tensor([[1.0, 0.0], [0.99, 0.01], [0.0, 1.0], [0.01, 0.99]]), dim=1)
    labels = torch.tensor([0, 0, 1, 1])
    assert TripletLoss(margin=0.2)(embeddings, labels).item() == 0.0


def test_triplet_loss_is_positive_when_classes_are_mixed() -> None:
    embeddings = F.normalize(torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.99, 0.01], [0.01, 0.99]]), dim=1)
    labels = torch.tensor([0, 0, 1, 1])
    assert TripletLoss(margin=0.2)(embeddings, labels).item() > 0.1


def test_perceptual_and_reconstruction_are_zero_for_identical_inputs() -> None:
    features = [torch.randn(2, 4, 8, 8), torch.randn(2, 8, 4, 4)]
    assert PerceptualLoss()(features, features).item() == 0.0
    image = torch.randn(2, 3, 8, 8)
    assert ReconstructionLoss()(image, image).item() == 0.0
    assert PerceptualLoss()(features, [f + 1 for f in features]).item() == 1.0


def test_hinge_adversarial_loss() -> None:
    adversarial = AdversarialLoss()
    confident = adversarial.discriminator(torch.full((4,), 2.0), torch.full((4,), -2.0))
    fooled = adversarial.discriminator(torch.full((4,), -1.0), torch.full((4,), 1.0))
    assert confident.item() == 0.0 and fooled.item() == 4.0
    assert adversarial.generator(torch.full((4,), 3.0)).item() == -3.0
