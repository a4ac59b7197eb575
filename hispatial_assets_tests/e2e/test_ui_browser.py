"""Materialize one partition of drop_manifest by clicking through the Dagster UI in headless Chromium.

What the browser does (Playwright, system Chromium at $HISPATIAL_CHROMIUM, default /usr/bin/chromium):

1. opens the asset graph of drop_manifest (``/assets/drop_manifest?view=lineage``: drop_manifest → point_maps)
   and waits for both nodes;                                             → 01_asset_graph.png
2. clicks the header button "Materialize…"; the dialog "Launch runs to materialize drop_manifest" opens;
3. in "Custom" partition selection opens the partition list, clears the preselection with its
   "Select all (N)" box (Custom preselects every partition; over four show as "N partitions selected"),
   types the drop id in "Filter partitions", ticks that partition, closes the list; the dialog says
   "1 partition" and the only chip is the drop id
                                                                         → 02_partition_selected.png
4. clicks "Launch 1 run"; the toast "Launched run <id>" appears; clicks its "View" link (should the toast
   have faded already, opens /runs/<that id> directly);
5. on the run page waits until the run's status tag reads "Success"    → 03_run_success.png
6. goes back to the asset graph                                        → 04_asset_graph_after.png

The drop is registered beforehand through the GraphQL mutation the UI itself uses (addDynamicPartition);
its folder has no _READY, so the drop sensor never launches a run for it. The outcome is confirmed through
GraphQL: the run succeeded, carries that partition, selected only drop_manifest, and materialized it.
Screenshots go to $HISPATIAL_TEST_ARTIFACTS (default <repo>/test-artifacts)/ui/.
"""

from __future__ import annotations

import os
import re
import time
import uuid

import pytest

from hispatial_assets_tests.e2e.conftest import UI_TIMEOUT_MS, metadata_of, needs_browser, shot, tags_of, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600), needs_browser]  # backstop: the session's demo + dev start

RUN_DEADLINE_S = 150


def write_unready_drop(dev, drop_id: str) -> None:
    """A 2-image scene-engine drop under ROOT/drops/<id>/ without _READY (moved in whole: the sensor never sees it ready)."""
    from hispatial_assets.scenes import write_drop

    staging = dev.root.parent / "staging"
    write_drop(str(staging), drop_id, n_images=2, seed=11, width=160, height=120)
    (staging / "drops" / drop_id / "_READY").unlink()
    (dev.root / "drops").mkdir(parents=True, exist_ok=True)
    os.rename(staging / "drops" / drop_id, dev.root / "drops" / drop_id)


def open_asset_graph(page, dev) -> None:
    page.goto(f"{dev.url}/assets/drop_manifest?view=lineage&lineageScope=downstream&lineageDepth=1",
              wait_until="domcontentloaded")
    for asset in ("drop_manifest", "point_maps"):  # the graph's nodes (the last match: not the breadcrumb)
        page.get_by_text(asset, exact=True).last.wait_for()
    from playwright.sync_api import expect

    expect(page.get_by_text(re.compile(r"^Loading"))).to_have_count(0, timeout=UI_TIMEOUT_MS)  # node summaries


def wait_for_run_status(page, timeout_s: float, reload_every_s: float = 20) -> str:
    """Poll the run page's status tag (Success / Failure / Canceled); reload now and then in case a live
    update is missed."""
    deadline = time.monotonic() + timeout_s
    next_reload = time.monotonic() + reload_every_s
    while time.monotonic() < deadline:
        for status in ("Success", "Failure", "Canceled"):
            if page.get_by_text(status, exact=True).first.is_visible():
                return status
        page.wait_for_timeout(1000)
        if time.monotonic() > next_reload:
            page.reload(wait_until="domcontentloaded")
            next_reload = time.monotonic() + reload_every_s
    raise AssertionError(f"run page showed no final status within {timeout_s:.0f}s")


def full_run_id(dev, drop_id: str, short_id: str) -> str:
    ids = [r["runId"] for r in dev.runs_for_partition(drop_id) if r["runId"].startswith(short_id)]
    assert len(ids) == 1, f"no run {short_id}… for partition {drop_id}: {ids}"
    return ids[0]


def test_materialize_one_partition_from_the_asset_page(dev, page):
    t0 = time.monotonic()
    drop_id = f"e2e-ui-{uuid.uuid4().hex[:8]}"
    write_unready_drop(dev, drop_id)
    dev.add_partition("drops", drop_id)
    assert drop_id in dev.partition_status("drop_manifest")["unmaterializedPartitions"]
    assert not [r for r in dev.runs_for_partition(drop_id) if r["status"] == "SUCCESS"]

    try:
        # 1. the asset graph
        open_asset_graph(page, dev)
        shot(page, "01_asset_graph.png")

        # 2. Materialize… → partition dialog
        page.get_by_role("button", name=re.compile(r"Materialize(…|\.\.\.)$")).first.click()
        dialog = page.get_by_role("dialog").filter(has_text="Launch runs to materialize drop_manifest")
        dialog.wait_for()

        # 3. pick exactly our partition (the dialog may preselect some: clear the chips first)
        custom = dialog.get_by_role("button", name="Custom", exact=True)
        if custom.count():
            custom.click()
        selector = dialog.locator("[aria-haspopup='dialog']:has([class*='TagSelector'])").first
        toggle = selector.get_by_role("img", name=re.compile(r"^expand_(more|less)$"))
        chips = selector.locator("[class*='BaseTag']")
        filter_box = page.get_by_placeholder("Filter partitions")
        if not filter_box.is_visible():
            toggle.click()
        # over four selected the selector shows "N partitions selected", not chips: clear it with the list's
        # "Select all (N)" box (all selected → none; some → all → none)
        select_all = page.get_by_role("menu").locator("label").filter(has_text=re.compile(r"^Select all \(\d+\)$"))
        none_selected = dialog.get_by_text(re.compile(r"^0 partitions$"))
        for _ in range(2):
            if none_selected.is_visible():
                break
            select_all.click()
        none_selected.wait_for()
        filter_box.fill(drop_id)
        page.get_by_role("menu").locator("label").filter(has_text=drop_id).first.click()
        toggle.click()  # close the list again
        filter_box.wait_for(state="hidden")
        dialog.get_by_text("1 partition", exact=True).wait_for()
        chosen = [c.get_attribute("title") for c in chips.locator("[title]").all()]
        assert chosen == [drop_id], chosen
        shot(page, "02_partition_selected.png")

        # 4. launch, then follow the toast to the run page
        dialog.get_by_role("button", name="Launch 1 run").click()
        toast = page.get_by_text(re.compile(r"^Launched run [0-9a-f]{8}")).first
        toast.wait_for()
        short_id = re.search(r"[0-9a-f]{8}", toast.inner_text()).group(0)
        view = page.locator(f"a[href^='/runs/{short_id}']").filter(has_text="View").first
        via = "toast View link"
        if view.is_visible():  # the toast fades after a few seconds; its link is the way the UI offers
            view.click()
        else:
            via = "run URL (toast gone)"
            page.goto(f"{dev.url}/runs/{full_run_id(dev, drop_id, short_id)}", wait_until="domcontentloaded")
        page.wait_for_url(re.compile(rf"/runs/{short_id}[0-9a-f-]{{28}}"))
        run_id = re.search(r"/runs/([0-9a-f-]{36})", page.url).group(1)
        page.get_by_text(f"partition: {drop_id}").first.wait_for()

        # 5. the run page shows Success
        status = wait_for_run_status(page, RUN_DEADLINE_S)
        shot(page, "03_run_success.png")
        assert status == "Success", f"run {run_id} shows {status} in the UI"

        # 6. the graph afterwards
        open_asset_graph(page, dev)
        shot(page, "04_asset_graph_after.png")
    except Exception:
        shot(page, "failure_materialize.png")
        (page.artifacts / "failure_materialize.html").write_text(page.content())
        raise

    # Confirm through GraphQL: that run, that partition, only drop_manifest, materialized. (Automation over
    # downstream assets may start runs of its own for the partition afterwards: only this run's events count.)
    run = dev.wait_run_finished(run_id, timeout_s=30)
    assert run["status"] == "SUCCESS"
    tags = tags_of(run)
    assert tags["dagster/partition"] == drop_id
    assert "dagster/sensor_name" not in tags, "the run must come from the UI, not from a sensor"
    assert [a["path"] for a in run["assetSelection"]] == [["drop_manifest"]]
    runs = dev.runs_for_partition(drop_id)
    assert run_id in [r["runId"] for r in runs]
    assert not [r for r in runs if tags_of(r).get("dagster/sensor_name") == "drop_sensor"], "no _READY: no sensor run"
    wait_for("drop_manifest partition to show as materialized",
             lambda: drop_id in dev.partition_status("drop_manifest")["materializedPartitions"], timeout_s=30)
    mats = [m for m in dev.materializations("drop_manifest", drop_id) if m["runId"] == run_id]
    assert len(mats) == 1 and metadata_of(mats[0])["images"] == 2, mats
    assert not [m for m in dev.materializations("point_maps", drop_id) if m["runId"] == run_id]  # only the selection ran
    print(f"UI run {run_id} for {drop_id} (run page reached via {via}): test body {time.monotonic() - t0:.1f}s")
