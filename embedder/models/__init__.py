from embedder.models.discriminator import Discriminator
from embedder.models.generator import Decoder, Encoder, Generator

__all__ = ["Decoder", "Discriminator", "Encoder", "Generator"]
