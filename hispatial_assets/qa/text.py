"""Shared phrasing: frame names in words, number formatting, plurals."""

from __future__ import annotations

CAMERA_FRAME = (
    "in the camera frame (x right, y down, z forward)",
    "in camera coordinates (x to the right, y downward, z into the scene)",
    "using the camera coordinate system (x right, y down, z pointing forward)",
)
GRAVITY_FRAME = (
    "in the gravity-aligned frame centered at the camera (x right, y forward, z up)",
    "in gravity-aligned coordinates with the camera at the origin (x to the right, y forward, z up)",
    "using the camera-centered, gravity-aligned frame (x right, y forward, z up)",
)
CAMERA_VIEW = ("from the camera's viewpoint", "as seen from the camera", "from the camera's point of view")
UNIT_HINT = {"m": "in meters", "cm": "in centimeters", "in": "in inches", "ft": "in feet"}


def xyz_text(x: float, y: float, z: float) -> str:
    return f"({x:.2f}, {y:.2f}, {z:.2f})"


def xyz_json(x: float, y: float, z: float, frame: str) -> str:
    return f'{{"xyz": [{x:.3f}, {y:.3f}, {z:.3f}], "frame": "{frame}"}}'


def plural(label: str) -> str:
    irregular = {"person": "people", "man": "men", "woman": "women", "child": "children",
                 "mouse": "mice", "foot": "feet", "shelf": "shelves", "knife": "knives"}
    last = label.rsplit(" ", 1)
    head, word = (last[0] + " ", last[1]) if len(last) == 2 else ("", last[0])
    if word in irregular:
        return head + irregular[word]
    if word.endswith(("s", "x", "z", "ch", "sh")):
        return head + word + "es"
    if word.endswith("y") and len(word) > 1 and word[-2] not in "aeiou":
        return head + word[:-1] + "ies"
    return head + word + "s"


def join_and(items: list[str]) -> str:
    if len(items) <= 2:
        return " and ".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]
