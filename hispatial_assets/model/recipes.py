"""Recipes: what a checkpoint is trained on (DESIGN §2), and the baselines scored like recipes.

A recipe fixes the QA levels it trains on, the input modality the model sees, and the share of
general (non-spatial) VQA mixed in. The first three are the paper's hierarchy ablation, the last
four its input ablation; `full` is the paper's model. Baselines have no weights: `oracle` answers
from the scene's truth, `prior` from the training answers' mode / median, `geometry` from the data
engine's own estimated objects.
"""

from __future__ import annotations

from dataclasses import dataclass

MODALITIES = ("rgb", "rgb_reldepth", "rgb_xyz", "rgb_gt_xyz")
FORMATS = ("free", "choice", "boolean")


@dataclass(frozen=True)
class Recipe:
    name: str
    levels: tuple[int, ...]
    modality: str
    # General-VQA rows per spatial row. The paper mixes general : spatial at 1:7 (its model trained on
    # "88% spatial + 12% general data"), i.e. one general row per seven spatial ones.
    general_ratio: float = 1 / 7
    description: str = ""
    formats: tuple[str, ...] = FORMATS


RECIPES: dict[str, Recipe] = {r.name: r for r in (
    Recipe("full", (0, 1, 2, 3), "rgb_xyz", description="all four levels, RGB + estimated point map"),
    Recipe("no_l0_l1", (2, 3), "rgb_xyz", description="hierarchy ablation: without geometry and attributes"),
    Recipe("no_l1_l2", (0, 3), "rgb_xyz", description="hierarchy ablation: without attributes and relations"),
    Recipe("rgb_only", (0, 1, 2, 3), "rgb", description="input ablation: RGB only"),
    Recipe("rgb_reldepth", (0, 1, 2, 3), "rgb_reldepth", description="input ablation: RGB + relative depth"),
    Recipe("rgb_xyz", (0, 1, 2, 3), "rgb_xyz", description="input ablation: RGB + estimated metric point map"),
    Recipe("rgb_gt_xyz", (0, 1, 2, 3), "rgb_gt_xyz", description="input ablation: RGB + the scene engine's exact point map"),
)}
BASELINES: dict[str, str] = {
    "oracle": "answers from the scene's truth (the upper bound)",
    "prior": "each task's most common or median training answer (the floor)",
    "geometry": "answers from the data engine's own estimated objects (perfect learning of our data)",
}
ALL_RECIPES: tuple[str, ...] = (*RECIPES, *BASELINES)

HIERARCHY_ABLATION = ("full", "no_l0_l1", "no_l1_l2")
INPUT_ABLATION = ("rgb_only", "rgb_reldepth", "rgb_xyz", "rgb_gt_xyz")


class UnknownRecipe(ValueError):
    pass


def get_recipe(name: str) -> Recipe:
    try:
        return RECIPES[name]
    except KeyError:
        raise UnknownRecipe(f"unknown recipe {name!r}; recipes: {', '.join(RECIPES)}; "
                            f"baselines: {', '.join(BASELINES)}") from None
