"""`hispatial ...`: demo, make-drop, add-drop, sql, status, export, backfill, verify, train, evaluate (DESIGN §8).

Every mistake in a flag, a value, or the configuration ends in one line on stderr that names it and
what is valid, with exit code 2; an unexpected failure in one line with exit code 1
(``HISPATIAL_TRACEBACK=1`` shows the traceback).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import polars as pl

from hispatial_assets.storage.layout import DataRoot, InvalidDropId, check_drop_id


EXIT_WARNINGS = 3  # the run succeeded but a warning check failed (e.g. every file of the drop was rejected)
TRACEBACK_ENV = "HISPATIAL_TRACEBACK"


class CliError(Exception):
    """A bad argument found after parsing (a missing file, an unknown drop): one line, exit 2."""


def _root(args: argparse.Namespace) -> DataRoot:
    return DataRoot.resolve(args.root)


def _dagster(args: argparse.Namespace):
    """(data root, Dagster instance, Definitions) for commands that drive the graph."""
    from hispatial_assets.cli import orchestrate
    from hispatial_assets.catalog.duckdb import ensure_catalog

    root = _root(args)
    ensure_catalog(root)  # (re)builds the catalog file when missing, outdated or damaged
    return root, orchestrate.get_instance(), orchestrate.load_definitions(root)


def _flat(df: pl.DataFrame) -> pl.DataFrame:
    """List and struct columns as JSON text: CSV holds only flat values."""
    nested = [name for name, dtype in df.schema.items() if dtype.is_nested() or dtype == pl.Object]
    return df.with_columns(pl.Series(name, [None if v is None else json.dumps(v, default=str) for v in df[name].to_list()],
                                     dtype=pl.String) for name in nested)


def _print_frame(df: pl.DataFrame, fmt: str = "table") -> None:
    if fmt == "csv":
        sys.stdout.write(_flat(df).write_csv())
    elif fmt == "json":
        sys.stdout.write(json.dumps(df.to_dicts(), default=str, indent=1) + "\n")
    else:
        with pl.Config(tbl_rows=200, tbl_cols=30, fmt_str_lengths=80, tbl_width_chars=200, tbl_hide_dataframe_shape=False):
            print(df)


def cmd_make_drop(args: argparse.Namespace) -> int:
    from hispatial_assets.cli.progress import bar
    from hispatial_assets.scenes import write_drop

    root = _root(args)
    drop_id = check_drop_id(args.id)
    with bar(args.images, f"render {drop_id}", "image") as images:
        ids = write_drop(root.root, drop_id, n_images=args.images, seed=args.seed,
                         outdoor_share=args.outdoor_share, sensor_sidecars=args.sensor, progress=images.update)
    print(f"wrote {len(ids)} images to {root.drop_uri(drop_id)}")
    return 0


def cmd_add_drop(args: argparse.Namespace) -> int:
    from hispatial_assets.cli import orchestrate
    from hispatial_assets.storage import io
    from hispatial_assets.storage.drop_scan import READY_MARKER, copy_drop

    root = _root(args)
    src = args.path.rstrip("/")
    drop_id = check_drop_id(args.id or src.rsplit("/", 1)[-1])
    dest = root.drop_uri(drop_id)
    if io.fs_and_path(src)[1] != io.fs_and_path(dest)[1]:
        if io.exists(dest):
            print(f"error: {dest} already exists; pick another --id", file=sys.stderr)
            return 2
        try:
            report = copy_drop(src, dest)
        except NotADirectoryError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        for entry in report.skipped:
            print(f"not copied: {entry['path']}: {entry['reason']}", file=sys.stderr)
    else:
        io.write_bytes(io.join(dest, READY_MARKER), b"")  # already in place: mark it complete
    instance = orchestrate.get_instance()
    orchestrate.register_drops(instance, [drop_id])
    print(f"registered drop {drop_id!r} ({dest})")
    if not args.run:
        return 0
    run_id, success = None, False
    if orchestrate.sensor_daemon_alive(instance):
        # the daemon's drop_sensor requests a run for this drop anyway: follow that one, start no second
        from hispatial_assets.defs.sensors import sensor_interval_s

        appear_s = 2 * sensor_interval_s() + 60
        print(f"a dagster daemon is running on this instance: waiting for its drop_sensor's run (up to {appear_s:.0f}s "
              "to appear; Ctrl-C stops waiting, not the run)", flush=True)
        followed = orchestrate.wait_for_sensor_run(instance, drop_id, appear_s=appear_s)
        if followed is None:
            print(f"no run from the drop_sensor after {appear_s:.0f}s (stopped, or watching another root?): running it here")
        else:
            run_id, success = followed
    if run_id is None:
        result = orchestrate.materialize_drop(orchestrate.load_definitions(root), instance, drop_id)
        run_id, success = result.run_id, result.success
    warnings = orchestrate.check_warnings(instance, run_id)
    print(f"run {run_id}: {'FAILED' if not success else 'finished with warnings' if warnings else 'success'}")
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return 1 if not success else EXIT_WARNINGS if warnings else 0


def cmd_demo(args: argparse.Namespace) -> int:
    from hispatial_assets.cli import orchestrate
    from hispatial_assets.bundled import sql_text
    from hispatial_assets.catalog.duckdb import query
    from hispatial_assets.config import PipelineConfig
    from hispatial_assets.cli.progress import bar
    from hispatial_assets.scenes import write_drop

    root, instance = _root(args), orchestrate.get_instance()
    defs = orchestrate.load_definitions(root, PipelineConfig.from_env(profile="exact" if args.exact else None))
    drop_ids = [f"demo_{i:03d}" for i in range(args.drops)]
    t0 = time.time()
    print("[pipeline] " + ("exact path: every stage reads the scene engine's truth" if args.exact else
                           "estimated path: noisy point maps (per-image scale error), floor-plane gravity, "
                           "boxes fitted to truth masks, orientation from the boxes"), flush=True)
    for i, drop_id in enumerate(drop_ids):
        print(f"[scene engine] drop {drop_id}: rendering {args.images} images ...", flush=True)
        with bar(args.images, f"render {drop_id}", "image") as images:
            write_drop(root.root, drop_id, n_images=args.images, seed=args.seed + 1000 * i, progress=images.update)
    orchestrate.register_drops(instance, drop_ids)
    failed = []
    for drop_id in drop_ids:
        t = time.time()
        print(f"[dagster] materializing drop {drop_id} ...", flush=True)
        result = orchestrate.materialize_drop(defs, instance, drop_id)
        done = [e.asset_key.to_user_string() for e in result.get_asset_materialization_events()]
        status = "ok" if result.success else "FAILED"
        print(f"[dagster] drop {drop_id}: {status} in {time.time() - t:.1f}s — {', '.join(done)}", flush=True)
        for check in result.get_asset_check_evaluations():
            if not check.passed:
                print(f"[dagster]   check {check.asset_key.to_user_string()}:{check.check_name} FAILED", flush=True)
        if not result.success:
            failed.append(drop_id)
    print("[dagster] materializing qa_stats (all drops) ...", flush=True)
    if not orchestrate.materialize_unpartitioned(defs, instance):
        failed.append("qa_stats")
    summary = query(root, sql_text("demo_summary.sql"))
    print("\nSummary:")
    _print_frame(summary)
    _print_against_truth(root, drop_ids)
    env = "HISPATIAL_PROFILE=exact " if args.exact else ""
    print(f"\nDone in {time.time() - t0:.1f}s. Data root: {root.root}")
    dagster = f"{_executable('dagster')} dev" + ("" if Path("workspace.yaml").is_file() else " -m hispatial_assets.definitions")
    hispatial = _executable("hispatial")
    print("Next:")
    print(f"  {env}DAGSTER_HOME={orchestrate.dagster_home()} HISPATIAL_ROOT={root.root} {dagster}   # web UI on http://127.0.0.1:3000")
    print(f"  {hispatial} sql \"select drop_id, count(*) from images group by all\" --root {root.root}")
    print(f"  {hispatial} sql sql/qa_stats.sql --root {root.root}")
    print(f"  {hispatial} verify --root {root.root} [--against gt_objects]")
    print(f"  {env}{hispatial} status --root {root.root}")
    return 1 if failed else 0


def _executable(name: str) -> str:
    """How to call a console script of this environment from here: relative when under the current folder."""
    path = Path(sys.executable).parent / name
    if not path.exists():
        return name
    try:
        return str(path.absolute().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _print_against_truth(root, drop_ids: list[str]) -> None:
    """The demo's errors against the scene engine's truth: objects, and QA answers that stay true."""
    from hispatial_assets.config import PipelineConfig
    from hispatial_assets.defs.perception import drops_object_errors
    from hispatial_assets.geometry.metrics import object_error_summary
    from hispatial_assets.qa import QAConfig
    from hispatial_assets.qa.reader import true_shares
    from hispatial_assets.qa.verify import verify_drop

    s = object_error_summary(*drops_object_errors(root, drop_ids))
    print("\nAgainst the scene's truth:")
    print(f"  objects: {s['matched']} of {s['truth_objects']} matched; whole objects' median center error "
          f"{s.get('median_center_error', float('nan')):.3f} m ({100 * s.get('median_relative_center_error', float('nan')):.1f}% "
          f"of the distance), size error {100 * s.get('median_size_error', float('nan')):.1f}%, "
          f"yaw error {s.get('median_yaw_error_deg', float('nan')):.1f}°")
    config = QAConfig(**PipelineConfig.from_env().qa)
    verdicts = pl.concat([verify_drop(root, d, config, against="gt_objects") for d in drop_ids])
    print("  QA answers that stay true under the truth, per level:")
    _print_frame(true_shares(verdicts).select("level", "rows", "true", "true_share"))


def cmd_sql(args: argparse.Namespace) -> int:
    from hispatial_assets.catalog.duckdb import CatalogError, query

    text = _query_text(args.query)
    try:
        df = query(_root(args), text)
    except CatalogError:
        raise
    except Exception as e:  # duckdb errors: binder, catalog, IO — say what, change nothing
        raise CliError(f"{type(e).__name__}: {e}") from None
    _print_frame(df, args.format)
    return 0


def _query_text(arg: str) -> str:
    """SQL text, or the file it names (anything ending in .sql). ``sql/<name>.sql`` that is not a
    file here is the shipped query of that name, so the README's commands work from any folder."""
    from hispatial_assets.bundled import sql_text, shipped_queries

    if not arg.rstrip().endswith(".sql"):
        return arg
    path = Path(arg.strip())
    if path.is_file():
        return path.read_text()
    if len(path.parts) == 2 and path.parts[0] == "sql" and path.name in shipped_queries():
        return sql_text(path.name)
    what = "is a folder" if path.is_dir() else "no such file"
    raise CliError(f"{arg}: {what}; give a query, a .sql file, or a shipped query: "
                   f"{', '.join('sql/' + q for q in shipped_queries())}")


def cmd_status(args: argparse.Namespace) -> int:
    from hispatial_assets.cli import orchestrate

    root, instance, defs = _dagster(args)
    partitions = instance.get_dynamic_partitions("drops")
    current, _ = orchestrate.partitioned_assets(defs)
    stale = orchestrate.stale_partitions(defs, instance, root, deep=args.deep)
    print(f"data root: {root.root}\ndrops: {len(partitions)} partitions; assets: {', '.join(sorted(current))}")
    if stale.is_empty():
        print("everything is up to date")
    else:
        print(f"{len(stale)} stale (asset, partition) pairs:")
        _print_frame(stale, args.format)
    recipes = orchestrate.recipe_stale_partitions(defs, root)
    print("recipes (sft_dataset, checkpoints): " + ("up to date" if recipes.is_empty() else f"{len(recipes)} stale"))
    if not recipes.is_empty():
        _print_frame(recipes, args.format)
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from hispatial_assets.catalog.duckdb import query
    from hispatial_assets.config import PipelineConfig
    from hispatial_assets.model.recipes import BASELINES
    from hispatial_assets.model.runs import build_and_train
    from hispatial_assets.model.train import TrainConfig
    from hispatial_assets.cli.progress import bar, say

    root = _root(args)
    settings = {"device": "cpu", **PipelineConfig.from_env().training}  # cpu unless asked, as the asset's resource
    if args.device:
        settings["device"] = args.device
    max_steps = args.max_steps or settings.pop("max_steps", None)  # the flag over the config's
    settings.pop("max_steps", None)
    total = None if args.recipe in BASELINES else max_steps or TrainConfig.max_steps
    t0, c0 = time.time(), time.process_time()
    with bar(total, f"train {args.recipe}", "step") as steps:
        row = build_and_train(root, args.recipe, max_steps=max_steps, log=say, progress=steps.update, **settings)
    print(f"checkpoint {row['uri']} (step {row['step']}, train loss {row['train_loss']}) "
          f"in {time.time() - t0:.0f}s wall, {time.process_time() - c0:.0f}s CPU")
    _print_frame(query(root, f"SELECT recipe, step, train_loss, val_loss, finished_at FROM checkpoints "
                             f"WHERE recipe = '{args.recipe}' ORDER BY finished_at"))
    return 0


def cmd_refresh(args: argparse.Namespace) -> int:
    from hispatial_assets.cli import orchestrate

    root, instance, defs = _dagster(args)
    try:
        runs = orchestrate.refresh(defs, instance, root, dry_run=args.dry_run, deep=args.deep)
    except orchestrate.StillStale as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    if not runs:
        print("nothing is stale")
        return 0
    failed = [p for p, _, ok in runs if not ok]
    print(f"{len(runs)} partition runs{' planned' if args.dry_run else ''}; {len(failed)} failed")
    return 1 if failed else 0


def cmd_backfill(args: argparse.Namespace) -> int:
    from hispatial_assets.cli import orchestrate

    root, instance, defs = _dagster(args)
    partitions = instance.get_dynamic_partitions("drops") if args.partitions == "all" else args.partitions.split(",")
    try:
        results = orchestrate.backfill(defs, instance, args.asset, partitions, downstream=args.downstream)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    failed = [p for p, ok in results if not ok]
    print(f"{len(results)} partitions; {len(failed)} failed{': ' + ', '.join(failed) if failed else ''}")
    return 1 if failed else 0


def cmd_export(args: argparse.Namespace) -> int:
    from hispatial_assets.catalog.duckdb import query
    from hispatial_assets.qa.export import ExportError, export_hf_parquet, export_llava_json
    root = _root(args)
    known = query(root, "SELECT DISTINCT drop_id FROM qa ORDER BY 1")["drop_id"].to_list()
    unknown = [d for d in args.drops or [] if d not in known]
    if unknown:
        raise CliError(f"--drops: no QA for {', '.join(unknown)}; drops with QA: {', '.join(known) or 'none'}")
    where = f"WHERE drop_id IN ({', '.join(repr(d) for d in args.drops)})" if args.drops else ""
    qa = query(root, f"SELECT * FROM qa {where}")
    images = query(root, "SELECT * FROM images")
    point_maps = query(root, "SELECT * FROM point_maps")
    out_uri, image_root = _absolute(args.out), _absolute(args.image_root) if args.image_root else root.root
    export = export_hf_parquet if args.format == "hf" else export_llava_json
    try:
        out = export(qa, images, out_uri=out_uri, point_maps_frame=point_maps, levels=args.levels, tasks=args.tasks,
                     image_root=None if args.copy_images else image_root, copy=args.copy_images)
    except ExportError as e:
        raise CliError(str(e)) from None
    where_media = "copied beside it (paths relative to its folder)" if args.copy_images else f"with paths relative to {image_root}"
    print(f"wrote {out}: images and point maps {where_media}")
    return 0


def cmd_config(args: argparse.Namespace) -> int:
    """The configuration in effect (profile, file, variables resolved), or the reference of every key."""
    from hispatial_assets.config import CONFIG_ENV, PipelineConfig, active_profile, effective, read_config_file

    if args.reference:
        from hispatial_assets.cli.config_reference import reference_markdown

        sys.stdout.write(reference_markdown())
        return 0
    raw, source = read_config_file()
    resolved = {"profile": active_profile(raw, source), "file": os.environ.get(CONFIG_ENV),
                "variables": {k: v for k, v in sorted(os.environ.items()) if k.startswith("HISPATIAL_")},
                **effective(PipelineConfig.from_env())}
    print(json.dumps(resolved, indent=1, default=str))
    return 0


def _absolute(path: str) -> str:
    """Local paths absolute (and without a trailing slash), URLs as given."""
    return path if "://" in path else os.path.abspath(path)


def cmd_verify(args: argparse.Namespace) -> int:
    """Read every QA row back from its text and check it; exit 1 on any failure (or unread row)."""
    from hispatial_assets.catalog.duckdb import query
    from hispatial_assets.config import PipelineConfig
    from hispatial_assets.qa import QAConfig
    from hispatial_assets.qa.reader import coverage, true_shares
    from hispatial_assets.qa.verify import NoGroundTruth, verify_drop

    root = _root(args)
    drop_ids = [check_drop_id(args.drop)] if args.drop else query(root, "SELECT DISTINCT drop_id FROM qa ORDER BY 1")["drop_id"].to_list()
    config = QAConfig(**PipelineConfig.from_env().qa)
    frames, skipped = [], []
    for drop_id in drop_ids:
        try:
            frames.append(verify_drop(root, drop_id, config, against=args.against))
        except NoGroundTruth:
            skipped.append(drop_id)
    if skipped:
        print(f"no ground truth, skipped: {', '.join(skipped)}")
    verdicts = pl.concat(frames) if frames else pl.DataFrame()
    if verdicts.is_empty():
        if args.drop and not skipped:
            print(f"error: drop {args.drop!r} has no QA rows under {root.root}", file=sys.stderr)
            return 2
        print(f"no QA rows to verify under {root.root}")
        return 0
    unread = int((~verdicts["read"]).sum())
    if args.against == "objects":
        cov = coverage(verdicts).rename({"read": "checked"}).select("level", "task", "format", "rows", "checked", "failed",
                                                                    "coverage_pct")
        _print_frame(cov, args.format)
        failed = verdicts.filter(~pl.col("holds"))
        for r in failed.head(args.show).iter_rows(named=True):
            print(f"FAILED {r['qa_id']} ({r['task']}/{r['format']}): {r['reason']}")
        print(f"{len(verdicts)} rows in {len(frames)} drops: {len(verdicts) - unread} read "
              f"({100 * (len(verdicts) - unread) / len(verdicts):.1f}%), {len(failed)} failed")
        return 1 if len(failed) else 0
    _print_frame(true_shares(verdicts, ("level", "task", "format")), args.format)
    print("per level:")
    _print_frame(true_shares(verdicts), args.format)
    print(f"{len(verdicts)} rows in {len(frames)} drops: {float(verdicts['holds'].mean()):.1%} of the answers stay "
          f"true under the scene's truth; {unread} unread")
    return 1 if unread else 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Score recipe × benchmark partitions of eval_scores, print the report, or run an ablation."""
    from hispatial_assets.cli import experiments
    from hispatial_assets.evaluation import report
    from hispatial_assets.cli.progress import above_bars, bar
    from hispatial_assets.storage import io

    ablation_only = [flag for flag, value in (("--train-drops", args.train_drops), ("--images", args.images),
                                              ("--test-images", args.test_images), ("--max-steps", args.max_steps),
                                              ("--train-set", args.train_set)) if value is not None]
    modes = [flag for flag, on in (("--recipe/--benchmark", args.recipe or args.benchmark), ("--report", args.report),
                                   ("--ablation", args.ablation)) if on]
    if len(modes) > 1:
        raise CliError(f"give one of --recipe with --benchmark, --report or --ablation, not {' and '.join(modes)}")
    if ablation_only and not args.ablation:
        raise CliError(f"{', '.join(ablation_only)}: only with --ablation (hierarchy or input)")
    if args.ablation:
        return _evaluate_ablation(args)
    if args.report:
        return _evaluate_report(args)
    if not (args.recipe and args.benchmark):
        missing = "--benchmark" if args.recipe else "--recipe" if args.benchmark else "--recipe and --benchmark"
        raise CliError(f"evaluate needs {missing} (or --report, or --ablation hierarchy|input)")
    root, instance, defs = _dagster(args)
    failed = 0
    with bar(len(args.recipe) * len(args.benchmark), "evaluate", "partition") as partitions:
        for recipe in args.recipe:
            for benchmark in args.benchmark:
                error = experiments.score_partition(defs, instance, recipe, benchmark)
                partitions.update(1)
                with above_bars():
                    if error:
                        failed += 1
                        print(f"error: {recipe} on {benchmark}: {one_line(error)}", file=sys.stderr)
                        continue
                    scores = io.read_parquet(root.recipe_table_uri("eval_scores", recipe, benchmark=benchmark))
                    print(f"{recipe} on {benchmark}: {100 * report.headline(scores, benchmark):.2f}% "
                          f"({'/'.join(report.HEADLINE[benchmark])})")
                    _print_frame(scores.drop("recipe", "benchmark"), args.format)
    return 1 if failed else 0


def _evaluate_report(args: argparse.Namespace) -> int:
    from hispatial_assets.evaluation import report
    from hispatial_assets.evaluation.run import all_scores

    scores = all_scores(_root(args))
    if scores.is_empty():
        print("no scores yet: run `hispatial evaluate --recipe R --benchmark B`")
        return 0
    print("Headline number per benchmark (%):")
    _print_frame(report.comparison(scores), args.format)
    for name, table in (("hierarchy", report.hierarchy_table(scores)), ("input", report.input_table(scores))):
        if not table.is_empty() and not all(r.endswith("(baseline)") for r in table["recipe"].to_list()):
            print(f"\n{name} ablation on the self-built benchmark:")
            _print_frame(table, args.format)
    return 0


def _evaluate_ablation(args: argparse.Namespace) -> int:
    from hispatial_assets.cli import experiments
    from hispatial_assets.cli import orchestrate
    from hispatial_assets.config import PipelineConfig
    from hispatial_assets.cli.progress import bar, say

    settings = dict(PipelineConfig.from_env().training)  # as `hispatial train`, then --train-set
    settings.update(args.train_set or {})
    steps = settings.pop("max_steps", None) if args.max_steps is None else args.max_steps
    sizes = {"train_drops": args.train_drops, "images_per_drop": args.images, "test_images": args.test_images,
             "max_steps": steps}
    scale = experiments.AblationScale(**{k: v for k, v in sizes.items() if v is not None})
    root, instance = _root(args), orchestrate.get_instance()
    with bar(experiments.ablation_work(args.ablation, scale), f"ablation {args.ablation}", "task") as work:
        table = experiments.run_ablation(args.ablation, root, experiments.ablation_definitions(root), instance,
                                         scale=scale, train_settings=settings, log=say, progress=work.update)
    print(f"\n{args.ablation} ablation on the self-built benchmark (accuracy %, delta in brackets):")
    _print_frame(table, args.format)
    return 0


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors: what was wrong and what is valid, no usage block."""

    def error(self, message: str) -> None:
        self.exit(2, f"{self.prog}: error: {message}\n")


def _count(text: str) -> int:
    if not re.fullmatch(r"\d+", text.strip()) or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, not {text!r}")
    return int(text)


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a share between 0 and 1, not {text!r}")
    return value


def _levels(text: str) -> list[int]:
    """``1,2`` (or ``l1,L2``, the levels' asset names) -> [1, 2]."""
    levels = []
    for part in text.split(","):
        m = re.fullmatch(r"[lL]?([0-3])", part.strip())
        if not m:
            raise argparse.ArgumentTypeError(f"unknown level {part.strip()!r}; valid: 0, 1, 2, 3 (comma-separated, e.g. 1,2)")
        levels.append(int(m.group(1)))
    return levels


def _tasks(text: str) -> list[str]:
    from hispatial_assets.qa.config import TASKS

    tasks = [t.strip() for t in text.split(",")]
    for task in tasks:
        if task not in TASKS:
            raise argparse.ArgumentTypeError(f"unknown task {task!r}; valid: {', '.join(TASKS)}")
    return tasks


def _drop_ids(text: str) -> list[str]:
    try:
        return [check_drop_id(d.strip()) for d in text.split(",")]
    except InvalidDropId as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _device(text: str) -> str:
    if not re.fullmatch(r"cpu|auto|cuda(:\d+)?|mps", text):
        raise argparse.ArgumentTypeError(f"unknown device {text!r}; valid: cpu, cuda, cuda:N, mps, auto")
    return text


def _names_or_all(kind: str, valid: Callable[[], Sequence[str]]) -> Callable[[str], list[str]]:
    """``a,b`` or ``all`` -> names, each one of ``valid()`` (a function: the imports stay lazy)."""

    def parse(text: str) -> list[str]:
        known = list(valid())
        if text.strip() == "all":
            return known
        names = [n.strip() for n in text.split(",")]
        for name in names:
            if name not in known:
                raise argparse.ArgumentTypeError(f"unknown {kind} {name!r}; valid: {', '.join(known)}, or all")
        return names

    return parse


def _all_recipes():
    from hispatial_assets.model.recipes import ALL_RECIPES

    return ALL_RECIPES


def _all_benchmarks():
    from hispatial_assets.evaluation import BENCHMARKS

    return BENCHMARKS


def _train_setting(text: str) -> tuple[str, object]:
    """``KEY=VALUE`` of the `training` section: the value read as JSON (a bare word as a string)."""
    from hispatial_assets.config import TRAINING_KEYS, ConfigError, check_keys, check_value
    from hispatial_assets.perception.registry import Setting

    key, eq, raw = text.partition("=")
    if not eq:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, not {text!r}; keys: {', '.join(TRAINING_KEYS)}")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    try:
        check_keys({key: value}, TRAINING_KEYS, "training")
        check_value(Setting(key, None, TRAINING_KEYS[key]), value, f"training.{key}")
    except ConfigError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    if key == "device":
        _device(str(value))
    return key, value


class _Settings(argparse.Action):
    """Repeated ``--train-set KEY=VALUE`` into one dict."""

    def __call__(self, parser, namespace, value, option_string=None):
        setattr(namespace, self.dest, {**(getattr(namespace, self.dest) or {}), value[0]: value[1]})


FORMATS = ("table", "csv", "json")


def build_parser() -> argparse.ArgumentParser:
    from hispatial_assets.model.recipes import ALL_RECIPES

    p = _Parser(prog="hispatial", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, fn, help_: str) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help_, description=help_)
        sp.add_argument("--root", default=None, help="data root (default: $HISPATIAL_ROOT or ./data)")
        sp.set_defaults(fn=fn)
        return sp

    sp = add("demo", cmd_demo, "make scene-engine drops and materialize the graph end-to-end")
    sp.add_argument("--drops", type=_count, default=2)
    sp.add_argument("--images", type=_count, default=8, help="images per drop")
    sp.add_argument("--seed", type=int, default=0)
    sp.add_argument("--exact", action="store_true",
                    help="exact path: every stage reads the scene engine's truth (default: estimated)")

    sp = add("make-drop", cmd_make_drop, "scene engine -> a drop folder under ROOT/drops/ID")
    sp.add_argument("--id", required=True)
    sp.add_argument("--images", type=_count, default=8)
    sp.add_argument("--seed", type=int, default=0)
    sp.add_argument("--outdoor-share", type=_share, default=0.25)
    sp.add_argument("--sensor", action="store_true", help="also write depth + intrinsics sidecars")

    sp = add("add-drop", cmd_add_drop, "register a folder of images as a drop (copied under ROOT/drops)")
    sp.add_argument("path")
    sp.add_argument("--id", default=None, help="drop id (default: the folder name)")
    sp.add_argument("--run", action="store_true", help="materialize it now instead of waiting for the sensor; with a "
                    "dagster daemon running, wait for the drop_sensor's run instead of starting a second one "
                    f"(exit code {EXIT_WARNINGS}: done, with warnings, e.g. every file rejected)")

    sp = add("sql", cmd_sql, "read-only SQL over the catalog (a query or a .sql file)")
    sp.add_argument("query", help="SQL text, a .sql file, or a shipped query (sql/qa_stats.sql, ...)")
    sp.add_argument("--format", choices=FORMATS, default="table")

    sp = add("status", cmd_status, "partitions, and which are stale and why (outputs missing or damaged included)")
    sp.add_argument("--format", choices=FORMATS, default="table")
    sp.add_argument("--deep", action="store_true", help="rehash every output file (default: check existence and size)")

    sp = add("refresh", cmd_refresh, "rematerialize exactly the stale partitions (after a backend change)")
    sp.add_argument("--dry-run", action="store_true", help="print the first wave of the plan, run nothing")
    sp.add_argument("--deep", action="store_true", help="also repair outputs whose content changed at the same size (rehash)")

    sp = add("backfill", cmd_backfill, "materialize assets for chosen drop partitions")
    sp.add_argument("--asset", action="append", required=True, help="asset name (repeatable)")
    sp.add_argument("--partitions", required=True, help="comma-separated drop ids, or 'all'")
    sp.add_argument("--downstream", action="store_true", help="also everything downstream of the assets")

    sp = add("train", cmd_train, "build a recipe's training rows and train its checkpoint (records it in the catalog)")
    sp.add_argument("--recipe", required=True, choices=ALL_RECIPES, metavar="RECIPE",
                    help=f"{', '.join(ALL_RECIPES)}")
    sp.add_argument("--max-steps", type=_count, default=None, help="training steps (default: TrainConfig's)")
    sp.add_argument("--device", type=_device, default=None, help="cpu, cuda[:N], mps or auto (default: the config's, else cpu)")

    sp = add("export", cmd_export, "QA to Hugging Face datasets Parquet or LLaVA JSON, with portable paths")
    sp.add_argument("--out", required=True, help="output file (fsspec URL or path)")
    sp.add_argument("--format", choices=["hf", "llava"], default="hf")
    sp.add_argument("--levels", type=_levels, default=None, help="e.g. 0,1")
    sp.add_argument("--tasks", type=_tasks, default=None, help="e.g. distance,direction")
    sp.add_argument("--drops", type=_drop_ids, default=None, help="comma-separated drop ids")
    media = sp.add_mutually_exclusive_group()
    media.add_argument("--image-root", default=None,
                       help="write image and point-map paths relative to this folder (default: the data root)")
    media.add_argument("--copy-images", action="store_true",
                       help="copy images and point maps beside the output; paths relative to its folder")

    sp = add("verify", cmd_verify, "read every QA row back from its text and check it (exit 1 on any failure)")
    sp.add_argument("--drop", default=None, help="one drop id (default: every drop with QA)")
    sp.add_argument("--against", choices=["objects", "gt_objects"], default="objects",
                    help="objects: the geometry the rows came from, every field exactly; gt_objects: the scene "
                    "engine's truth, the share of answers that stay true (label noise)")
    sp.add_argument("--show", type=_count, default=20, help="failures to print")
    sp.add_argument("--format", choices=FORMATS, default="table")

    sp = add("evaluate", cmd_evaluate, "score recipes and baselines on benchmarks; report; run the ablations")
    sp.add_argument("--recipe", type=_names_or_all("recipe", _all_recipes), default=None,
                    help="a recipe or baseline, comma-separated, or 'all'")
    sp.add_argument("--benchmark", type=_names_or_all("benchmark", _all_benchmarks), default=None,
                    help="self, spatialrgpt, qspatial, cvbench3d, 3dsrbench, embspatial, robospatial; "
                    "comma-separated, or 'all'")
    sp.add_argument("--report", action="store_true", help="print the comparison across recipes (and ablation tables)")
    sp.add_argument("--ablation", choices=["hierarchy", "input"], help="drops -> pipeline -> training -> scores -> table")
    sp.add_argument("--train-drops", type=_count, default=None, help="ablation: scene-engine train drops (default 2)")
    sp.add_argument("--images", type=_count, default=None, help="ablation: images per train / val drop (default 8)")
    sp.add_argument("--test-images", type=_count, default=None, help="ablation: images of the held-out drop (default 8)")
    sp.add_argument("--max-steps", type=_count, default=None, help="ablation: training steps per recipe (default 1000)")
    sp.add_argument("--train-set", type=_train_setting, action=_Settings, default=None, metavar="KEY=VALUE",
                    help="ablation: a training setting over $HISPATIAL_CONFIG's \"training\" (e.g. device=cuda lr=2e-5)")
    sp.add_argument("--format", choices=FORMATS, default="table")
    sp = add("config", cmd_config, "the configuration in effect, as JSON (--reference: every variable and key)")
    sp.add_argument("--reference", action="store_true", help="print the configuration reference (Markdown)")
    p.subcommands = sub.choices  # name -> parser, for unrecognized-argument messages
    return p


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parsed arguments; an unknown flag is named with the flags its command takes."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        command = parser.subcommands[args.command]
        flags = sorted({o for a in command._actions for o in a.option_strings if o.startswith("--")} - {"--help"})
        command.error(f"unrecognized arguments: {' '.join(extra)}; {args.command} takes: {', '.join(flags)}")
    return args


def user_errors() -> tuple[type[BaseException], ...]:
    """Exceptions that mean bad input (a flag, a value, the configuration, a missing file): one line, exit 2."""
    from hispatial_assets.catalog.duckdb import CatalogError
    from hispatial_assets.config import ConfigError
    from hispatial_assets.model.recipes import UnknownRecipe
    from hispatial_assets.perception.registry import UnknownBackend

    return (CliError, ConfigError, UnknownBackend, UnknownRecipe, InvalidDropId, CatalogError, FileNotFoundError,
            NotADirectoryError)


def one_line(message: str) -> str:
    """A message on one line: DuckDB's parser errors quote the query over several (a caret line too)."""
    lines = [line.strip() for line in message.strip().splitlines()]
    return " — ".join(line for line in lines if line and set(line) != {"^"})


def main(argv: list[str] | None = None) -> int:
    try:
        args = parse_args(argv)
    except SystemExit as e:  # a bad flag (its line is printed) or --help: the code, also when called as a function
        return int(e.code or 0)
    try:
        return int(args.fn(args) or 0)
    except user_errors() as e:
        print(f"error: {one_line(str(e))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # noqa: BLE001 - a user sees one line, not a traceback
        if os.environ.get(TRACEBACK_ENV):
            raise
        print(f"error: {type(e).__name__}: {one_line(str(e))} (set {TRACEBACK_ENV}=1 for the traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
