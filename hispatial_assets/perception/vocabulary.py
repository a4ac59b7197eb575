"""Tag vocabularies for image tagging: a shipped everyday-objects list, or one read from a file.

The shipped list covers what indoor and street photos usually show (furniture, appliances, tableware,
electronics, vehicles, people and animals, street furniture); it includes every class the scene
engine draws. RAM's tag list (one tag a line) or LVIS's categories (its JSON annotations, or a list of
names) replace it through `load_vocabulary`.
"""

from __future__ import annotations

import json

EVERYDAY_OBJECTS: tuple[str, ...] = (
    # furniture
    "chair", "armchair", "office chair", "stool", "bench", "sofa", "table", "coffee table", "dining table",
    "desk", "nightstand", "bed", "crib", "cabinet", "cupboard", "wardrobe", "dresser", "drawer", "shelf",
    "bookshelf", "tv stand", "counter", "kitchen island", "ottoman", "rocking chair", "high chair",
    # fixtures and surfaces
    "door", "window", "curtain", "blinds", "mirror", "picture", "painting", "poster", "clock", "lamp",
    "floor lamp", "ceiling light", "chandelier", "fireplace", "radiator", "fan", "ceiling fan",
    "air conditioner", "staircase", "railing", "rug", "carpet", "pillow", "cushion", "blanket", "towel",
    # kitchen and appliances
    "refrigerator", "microwave", "oven", "stove", "toaster", "kettle", "coffee maker", "blender",
    "dishwasher", "washing machine", "dryer", "sink", "faucet", "trash can", "recycling bin",
    "cutting board", "pot", "pan", "plate", "bowl", "cup", "mug", "glass", "wine glass", "bottle",
    "jar", "teapot", "fork", "knife", "spoon", "chopsticks", "napkin", "tray", "basket",
    # bathroom
    "toilet", "bathtub", "shower", "toothbrush", "soap", "toilet paper", "hair dryer",
    # electronics and office
    "television", "monitor", "computer", "laptop", "keyboard", "mouse", "remote control", "cell phone",
    "tablet", "speaker", "headphones", "camera", "printer", "router", "game controller", "charger",
    "book", "notebook", "paper", "pen", "pencil", "scissors", "stapler", "folder", "envelope",
    "calendar", "whiteboard",
    # household items
    "vase", "plant", "potted plant", "flower", "candle", "box", "cardboard box", "bag", "backpack",
    "handbag", "suitcase", "umbrella", "hat", "shoe", "boot", "coat", "jacket", "shirt", "dress",
    "hanger", "laundry basket", "broom", "mop", "bucket", "vacuum cleaner", "ladder", "toolbox",
    "hammer", "screwdriver", "drill", "teddy bear", "toy", "ball", "doll", "guitar", "piano", "drum",
    # food
    "apple", "banana", "orange", "bread", "cake", "pizza", "sandwich", "donut", "carrot", "broccoli",
    # people and animals
    "person", "man", "woman", "child", "baby", "dog", "cat", "bird", "horse", "cow", "sheep",
    # street and outdoors
    "car", "truck", "bus", "van", "motorcycle", "bicycle", "scooter", "train", "boat", "airplane",
    "traffic light", "traffic cone", "stop sign", "street sign", "street light", "parking meter",
    "fire hydrant", "mailbox", "trash bin", "fence", "gate", "pole", "bollard", "tree", "bush",
    "planter", "building", "house", "wall", "sidewalk", "crosswalk", "road", "kite", "skateboard",
    "surfboard", "tent", "picnic table", "swing", "slide", "fountain", "statue",
)

# Prompt ensembling: a tag's text embedding is the normalized mean over these phrasings.
PROMPT_TEMPLATES: tuple[str, ...] = (
    "a photo of a {}.",
    "a photo of the {}.",
    "a close-up photo of a {}.",
    "a photo of a {} in a room.",
    "a photo of a {} outdoors.",
)


def normalize_tags(tags: list[str] | tuple[str, ...]) -> list[str]:
    """Lowercase, single-spaced, underscores as spaces, unique, in order; empty tags dropped."""
    clean = (" ".join(str(t).replace("_", " ").lower().split()) for t in tags)
    return list(dict.fromkeys(t for t in clean if t))


def load_vocabulary(source: str | list[str] | tuple[str, ...] | None = None) -> list[str]:
    """A tag vocabulary: the shipped `EVERYDAY_OBJECTS` (``None`` or ``"everyday_objects"``), a list of
    tags, or a file: text with one tag a line (RAM's ``ram_tag_list.txt``; ``#`` starts a comment), a
    JSON list of names, or LVIS-style JSON (``{"categories": [{"name": ...}]}``)."""
    if source is None or source == "everyday_objects":
        return list(EVERYDAY_OBJECTS)
    if not isinstance(source, str):
        return normalize_tags(source)
    from hispatial_assets.storage import io

    text = io.read_bytes(source).decode("utf-8")
    if source.endswith(".json"):
        doc = json.loads(text)
        names = [c["name"] for c in doc["categories"]] if isinstance(doc, dict) else list(doc)
    else:
        names = [line.split("#", 1)[0] for line in text.splitlines()]
    tags = normalize_tags(names)
    if not tags:
        raise ValueError(f"tag vocabulary {source} holds no tags")
    return tags
