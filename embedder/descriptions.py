"""Varied product descriptions of a photo, made from its category and its colour (words only, no images).

The demo titles (`indexer.sample_catalog`) name a category by its folder name ("dress", "t-shirt", ...). A
description, as a shop writes it, also uses the words shoppers use that no title holds ("frock", "sneakers",
"jeans", "tee", "top for summer"). The text encoder learns from such descriptions; the search bench asks with
the same synonyms (seen in training descriptions, in no title) and with UNSEEN_SYNONYMS (in neither), to tell
how far beyond its training words the encoder reaches.
"""

from __future__ import annotations

import random

from embedder.colour import PALETTE

# Per category: the title word (the folder name) first, then the description synonyms shoppers use.
DESCRIPTION_WORDS: dict[str, tuple[str, ...]] = {
    "dress": ("dress", "frock", "sundress", "summer dress", "evening dress", "midi dress"),
    "hat": ("hat", "cap", "beanie", "baseball cap", "bucket hat", "woolly hat"),
    "longsleeve": ("longsleeve", "long sleeve top", "sweater", "jumper", "sweatshirt", "hoodie"),
    "outwear": ("outwear", "jacket", "coat", "parka", "windbreaker", "raincoat"),
    "pants": ("pants", "jeans", "trousers", "chinos", "joggers", "leggings"),
    "shirt": ("shirt", "button-down shirt", "blouse", "collared shirt", "flannel shirt", "work shirt"),
    "shoes": ("shoes", "sneakers", "trainers", "boots", "running shoes", "footwear"),
    "shorts": ("shorts", "bermudas", "swim shorts", "denim shorts", "cargo shorts", "board shorts"),
    "skirt": ("skirt", "miniskirt", "pleated skirt", "maxi skirt", "pencil skirt", "midi skirt"),
    "t-shirt": ("t-shirt", "tee", "top for summer", "short sleeve top", "crew neck tee", "tank top"),
}
# Words a shopper may use that are in no title and in no training description: how far does the encoder reach?
UNSEEN_SYNONYMS: dict[str, tuple[str, ...]] = {
    "dress": ("gown", "frocks"),
    "hat": ("fedora", "caps"),
    "longsleeve": ("pullover", "sweaters"),
    "outwear": ("anorak", "jackets"),
    "pants": ("slacks", "jean"),
    "shirt": ("oxford", "blouses"),
    "shoes": ("loafers", "sneaker"),
    "shorts": ("cutoffs", "bermuda"),
    "skirt": ("kilt", "skirts"),
    "t-shirt": ("singlet", "tees"),
}
TEMPLATES = (
    "{word}",
    "{colour} {word}",
    "a {colour} {word}",
    "{word} in {colour}",
    "{style} {colour} {word}",
    "{colour} {word} for {occasion}",
    "{style} {word} in {colour}",
    "{word} for {occasion}",
)
STYLES = ("casual", "classic", "smart", "comfortable", "lightweight", "soft", "modern", "everyday")
OCCASIONS = ("everyday", "the weekend", "work", "travel", "going out", "the city")


def describe(category: str, colour: str, rng: random.Random) -> str:
    """One description of a photo of this category and colour, with a random word, template and style."""
    template = rng.choice(TEMPLATES)
    return template.format(
        word=rng.choice(DESCRIPTION_WORDS[category]),
        colour=colour,
        style=rng.choice(STYLES),
        occasion=rng.choice(OCCASIONS),
    )


def wrong_description(category: str, colour: str, rng: random.Random) -> str:
    """A description of another category (half the time in the photo's own colour, so the colour is no clue)."""
    other = rng.choice([name for name in DESCRIPTION_WORDS if name != category])
    return describe(other, colour if rng.random() < 0.5 else rng.choice(PALETTE), rng)
