"""`self`: the self-built benchmark, from held-out scene-engine drops (split `test`: ids starting with
``test_`` or ``heldout_``; `splits.split_of`), which never reach training.

Questions and reference answers come from the scene's TRUTH, never from the pipeline's estimates:
the scene engine's objects (`gt_objects`, every object with at least one visible pixel, as the
`synthetic` detector sees them), referring expressions made for those objects by the `template`
referrer, and the exact point map (the `synthetic` point-map backend). QA synthesis is the training
generator itself (`qa.generate_all`, all four levels, all formats) at a reduced density.

Categories: the paper's three (``object_distance``: L1 object location, the object's 3D position from
the camera; ``object_direction``: L2 direction and direction vector; ``spatial_problem_solving``: L3
multi-step), every task id, ``L0``..``L3``, each format, and ``quantitative`` (free numeric answers:
lengths and 3D vectors, right within 25%) vs ``qualitative`` (the rest, exact).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import polars as pl

from hispatial_assets.evaluation import kinds
from hispatial_assets.evaluation.programs import World, in_truth_ids, world_from
from hispatial_assets.evaluation.scoring import mean_by_category
from hispatial_assets.evaluation.task import BenchmarkDataNotFound, Item, Task, register_task
from hispatial_assets.storage.images import ImageRef
from hispatial_assets.qa import TASKS, QAConfig, generate_all
from hispatial_assets.qa.scene import ImageInputs, SceneObjects
from hispatial_assets.splits import split_of
from hispatial_assets.storage import io
from hispatial_assets.storage.layout import DataRoot
from hispatial_assets.storage.tables import read_table

PAPER_CATEGORIES = {"object_location": "object_distance", "direction": "object_direction",
                    "direction_vector": "object_direction", "multi_step": "spatial_problem_solving"}
PAPER_ORDER = ("object_distance", "object_direction", "spatial_problem_solving")
CATEGORY_ORDER = (*PAPER_ORDER, "quantitative", "qualitative", "L0", "L1", "L2", "L3", *TASKS, "free", "choice", "boolean")
# ~41 questions per image (each task's budget at density 0.1, split over the three formats)
BENCHMARK_QA = QAConfig(seed=20260, density=0.1)


@dataclass(frozen=True)
class SelfBenchmark:
    config: QAConfig = BENCHMARK_QA

    def drops(self, root: DataRoot) -> list[str]:
        """Held-out drops whose manifest has run (their images table exists)."""
        fs, base = io.fs_and_path(root.table_dir("images"))
        ids = sorted(p.rstrip("/").rsplit("drop_id=", 1)[-1] for p in (fs.glob(f"{base}/drop_id=*") if fs.exists(base) else []))
        return [d for d in ids if split_of(d) == "test"]

    def load(self, source: str) -> list[Item]:
        root = DataRoot.resolve(source)
        drop_ids = self.drops(root)
        if not drop_ids:
            raise BenchmarkDataNotFound(
                "self", root.root, "--root / $HISPATIAL_ROOT",
                expected="held-out scene-engine drops (ids starting with test_ or heldout_) run through the pipeline, "
                         "e.g. `hispatial make-drop --id test_000` and `hispatial backfill --asset drop_manifest "
                         "--partitions test_000 --downstream`")
        items = [it for d in drop_ids for it in self.drop_items(root, d)]
        if not items:
            raise BenchmarkDataNotFound("self", root.root, "--root / $HISPATIAL_ROOT",
                                        expected=f"scene-engine truth (gt_objects) in the held-out drops {drop_ids}")
        return items

    def drop_items(self, root: DataRoot, drop_id: str) -> list[Item]:
        images = read_table(root, "images", drop_id)
        truth = read_table(root, "gt_objects", drop_id).filter(pl.col("n_points") > 0)
        inputs, image_rows = [], {}
        for row in images.iter_rows(named=True):
            objs = truth.filter(pl.col("image_id") == row["image_id"])
            if objs.is_empty():
                continue
            inputs.append(truth_inputs(root, row, objs))
            image_rows[row["image_id"]] = row
        if not inputs:
            return []
        qa = generate_all(inputs, self.config)
        scenes = {inp.image_id: SceneObjects(inp) for inp in inputs}
        return [qa_item(r, image_rows[r["image_id"]], scenes[r["image_id"]]) for r in qa.iter_rows(named=True)]


def truth_inputs(root: DataRoot, image_row: dict, objects: pl.DataFrame) -> ImageInputs:
    """One image's QA inputs from the truth: gt objects, template referrals of them, exact point map."""
    from hispatial_assets.perception.point_maps import read_truth_depth
    from hispatial_assets.perception.referral.template import TemplateReferrer

    ref = ImageRef(image_row["drop_id"], image_row["image_id"], image_row["uri"], image_row["width"], image_row["height"])
    referrals = TemplateReferrer().refer(ref, objects.sort("object_id"))
    return ImageInputs(drop_id=ref.drop_id, image_id=ref.image_id, width=ref.width, height=ref.height,
                       objects=objects, referrals=referrals, point_map=read_truth_depth(ref))


def qa_item(row: dict, image: dict, scene: SceneObjects) -> Item:
    av = json.loads(row["answer_value"])
    kind, truth = kinds.reference(av, row["object_ids"])
    options: tuple[str, ...] = ()
    candidate_ids: list[int] = []
    if kind == "choice":
        options = tuple(av["options"])
    elif kind in ("index", "order"):
        names, candidate_ids = candidates(row["program"], scene)
        options = tuple(names)
    fmt, task = row["format"], row["task"]
    cats = [f"L{row['level']}", task, fmt, "quantitative" if fmt == "free" and kind in kinds.QUANTITATIVE_KINDS else "qualitative"]
    if task in PAPER_CATEGORIES:
        cats.insert(0, PAPER_CATEGORIES[task])
    return Item(id=row["qa_id"], question=row["question"], answer=truth, kind=kind,
                categories=tuple(cats), image=image["uri"], options=options,
                meta={"drop_id": row["drop_id"], "image_id": row["image_id"], "width": image["width"],
                      "height": image["height"], "program": row["program"],
                      "task": task, "format": fmt, "level": row["level"], "answer_text": row["answer"],
                      "candidate_ids": candidate_ids})


def candidates(program: str, scene: SceneObjects) -> tuple[list[str], list[int]]:
    """Names (and object ids, -1 for points) of what an index / order answer picks among."""
    names, ids = [], []
    index = {oid: i for i, oid in enumerate(scene.id_list)}
    for k, arg in enumerate(kinds.candidate_args(program), start=1):
        if arg.startswith("px("):
            names.append(f"point {k}")
            ids.append(-1)
        else:
            oid = int(arg[1:])
            names.append(scene.expr[index[oid]])
            ids.append(oid)
    return names, ids


def to_prompt(item: Item) -> str:
    return item.question


def parse(text: str, item: Item):
    return kinds.parse_kind(item.kind, text, item.options, item.answer)


def score(item: Item, value) -> dict[str, float]:
    return kinds.score_kind(item.kind, value, item.answer)


def aggregate(items, scores):
    return mean_by_category(items, scores, metrics=("accuracy", "abs_rel"), categories=CATEGORY_ORDER)


def make_task(config: QAConfig = BENCHMARK_QA) -> Task:
    return Task(name="self", load=SelfBenchmark(config).load, to_prompt=to_prompt, parse=parse, score=score,
                aggregate=aggregate, source="data_root",
                description="held-out scene-engine drops, questions and answers from the scene truth (all 14 tasks)")


@register_task("self")
def self_built() -> Task:
    return make_task()


# ------------------------------------------------------------------------------------------ worlds for baselines


def truth_world(root: DataRoot, drop_id: str, image_id: str) -> World | None:
    """The scene as it is: gt objects and the exact point map (what `oracle` answers from)."""
    from hispatial_assets.perception.point_maps import read_truth_depth

    image = _image_row(root, drop_id, image_id)
    objs = read_table(root, "gt_objects", drop_id).filter((pl.col("image_id") == image_id) & (pl.col("n_points") > 0))
    if image is None or objs.is_empty():
        return None
    ref = ImageRef(drop_id, image_id, image["uri"], image["width"], image["height"])
    return world_from(objs, read_truth_depth(ref).xyz, ref.width, ref.height)


def estimated_world(root: DataRoot, drop_id: str, image_id: str) -> World | None:
    """The scene as the data engine saw it: its `objects` (renamed to the truth ids they match) and its
    stored point map (what `geometry` answers from)."""
    from hispatial_assets.storage.tables import point_map_loader

    image = _image_row(root, drop_id, image_id)
    if image is None:
        return None
    est = read_table(root, "objects", drop_id).filter(pl.col("image_id") == image_id)
    truth = read_table(root, "gt_objects", drop_id).filter(pl.col("image_id") == image_id)
    pm = point_map_loader(root, drop_id)(image_id)
    shape = (image["height"], image["width"])
    est = in_truth_ids(est, truth, shape) if len(est) else est
    return world_from(est, pm.xyz if pm is not None else None, image["width"], image["height"])


def _image_row(root: DataRoot, drop_id: str, image_id: str) -> dict | None:
    rows = read_table(root, "images", drop_id).filter(pl.col("image_id") == image_id)
    return rows.row(0, named=True) if len(rows) else None

