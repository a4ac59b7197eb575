"""End-to-end fixtures: one real `dagster dev` (webserver + daemon) per test session, GraphQL helpers,
headless Chromium.

The session starts as a user does after `make demo`: `hispatial demo` fills a temporary HISPATIAL_ROOT
and DAGSTER_HOME (seeded with dagster_home/dagster.yaml), then `dagster dev` runs on them from the
repository root on a free 127.0.0.1 port; the drop sensor ticks every second
(HISPATIAL_SENSOR_INTERVAL_S=1). A copy of that home and root is kept for timing the same work from the
CLI. The log goes to a file that is copied to the test artifacts folder ($HISPATIAL_TEST_ARTIFACTS,
default <repo>/test-artifacts) and whose tail is printed when a test that used it fails.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import importlib.util
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

REPO = Path(__file__).resolve().parents[2]
LOCATION = "hispatial_assets"
REPOSITORY = "__repository__"
STARTUP_DEADLINE_S = float(os.environ.get("HISPATIAL_E2E_STARTUP_S", "150"))  # 2 busy cores: be patient
DEMO_DEADLINE_S = 600  # `hispatial demo`: 2 drops of 8 images, ~30 s on a quiet 2-core machine
CHROMIUM = os.environ.get("HISPATIAL_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
BROWSER_MISSING = [what for what, ok in ((f"chromium at {CHROMIUM}", os.path.exists(CHROMIUM)),
                                         ("the playwright package", importlib.util.find_spec("playwright") is not None))
                   if not ok]
needs_browser = pytest.mark.skipif(bool(BROWSER_MISSING), reason=f"browser test needs {' and '.join(BROWSER_MISSING)} "
                                   "(CI: apt-get install -y chromium; pip install playwright==1.57.0; no `playwright install`)")
UI_TIMEOUT_MS = 60_000  # a busy 2-core machine: the UI's first GraphQL queries can be slow


class E2EError(AssertionError):
    pass


def artifacts_dir() -> Path:
    path = Path(os.environ.get("HISPATIAL_TEST_ARTIFACTS") or REPO / "test-artifacts")
    path.mkdir(parents=True, exist_ok=True)
    return path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what: str, probe: Callable[[], Any], timeout_s: float, interval_s: float = 1.0,
             on_timeout: Callable[[], str] | None = None) -> Any:
    """Call ``probe`` until it returns something truthy (returned) or ``timeout_s`` passes (raises)."""
    deadline = time.monotonic() + timeout_s
    last_error: Exception | None = None
    while True:
        try:
            value = probe()
            if value:
                return value
        except E2EError:
            raise
        except Exception as e:  # noqa: BLE001 - the server may still be coming up
            last_error = e
        if time.monotonic() > deadline:
            extra = on_timeout() if on_timeout else ""
            raise E2EError(f"timed out after {timeout_s:.0f}s waiting for {what}"
                           f"{f' (last error: {last_error!r})' if last_error else ''}{extra}")
        time.sleep(interval_s)


class DagsterDev:
    """A running `dagster dev` and a small GraphQL client for it."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.home = workdir / "dagster_home"
        self.root = workdir / "root"
        self.log_path = workdir / "dagster_dev.log"
        self.cli_home, self.cli_root = workdir / "cli_dagster_home", workdir / "cli_root"  # the demo's, copied
        self.demo_s = 0.0
        self.port = 0
        self.proc: subprocess.Popen | None = None
        self.started_s = 0.0  # seconds until the GraphQL endpoint answered with the code location loaded

    # -- process -------------------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update({
            "DAGSTER_HOME": str(self.home),
            "HISPATIAL_ROOT": str(self.root),
            "HISPATIAL_SENSOR_INTERVAL_S": "1",
            "PYTHONUNBUFFERED": "1",
            "DAGSTER_DISABLE_TELEMETRY": "1",
        })
        return env

    def exe(self, name: str) -> str:
        exe = Path(sys.executable).parent / name
        return str(exe) if exe.exists() else (shutil.which(name) or name)

    def dagster_exe(self) -> str:
        return self.exe("dagster")

    def seed_home(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        self.root.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / "dagster_home" / "dagster.yaml", self.home / "dagster.yaml")

    def run_demo(self) -> None:
        """`hispatial demo` on this root and home (what `make demo` leaves), then a copy of both for CLI timings."""
        self.seed_home()
        t0 = time.monotonic()
        done = subprocess.run([self.exe("hispatial"), "demo", "--root", str(self.root)], cwd=REPO, env=self.env(),
                              capture_output=True, text=True, timeout=DEMO_DEADLINE_S)
        self.demo_s = time.monotonic() - t0
        with open(self.log_path, "a") as log:
            log.write(f"$ hispatial demo --root {self.root}\n{done.stdout}{done.stderr}\n")
        if done.returncode != 0:
            raise E2EError(f"hispatial demo failed ({done.returncode}):\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
        shutil.copytree(self.home, self.cli_home)
        shutil.copytree(self.root, self.cli_root)

    def start(self) -> None:
        self.seed_home()
        t0 = time.monotonic()
        for attempt in range(3):  # a free port can be taken between probing and binding: retry
            self.port = free_port()
            cmd = [self.dagster_exe(), "dev", "-w", str(REPO / "workspace.yaml"), "-h", "127.0.0.1", "-p", str(self.port)]
            with open(self.log_path, "ab") as log:
                log.write(f"\n$ {' '.join(cmd)}\n".encode())
                log.flush()
                self.proc = subprocess.Popen(cmd, cwd=REPO, env=self.env(), stdout=log, stderr=subprocess.STDOUT,
                                             stdin=subprocess.DEVNULL, start_new_session=True)
            try:
                wait_for(f"dagster dev GraphQL on {self.url}", self._ready, STARTUP_DEADLINE_S, interval_s=1.0)
                self.started_s = time.monotonic() - t0
                return
            except E2EError:
                in_use = "address already in use" in self.log_tail(4000).lower()
                self.stop()
                if not in_use or attempt == 2:
                    raise E2EError(f"dagster dev did not come up:\n{self.log_tail()}") from None

    def _ready(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise E2EError(f"dagster dev exited with {self.proc.returncode}")
        data = self.graphql("""{ workspaceOrError { __typename ... on Workspace { locationEntries { name
            loadStatus locationOrLoadError { __typename ... on PythonError { message } } } } } }""")
        entries = {e["name"]: e for e in data["workspaceOrError"]["locationEntries"]}
        entry = entries.get(LOCATION)
        if entry and entry["locationOrLoadError"] and entry["locationOrLoadError"]["__typename"] == "PythonError":
            raise E2EError(f"code location failed to load: {entry['locationOrLoadError']['message']}")
        return bool(entry and entry["loadStatus"] == "LOADED"
                    and entry["locationOrLoadError"]["__typename"] == "RepositoryLocation")

    def stop(self) -> None:
        """SIGTERM to `dagster dev` (it shuts webserver and daemon down), then the whole group, then SIGKILL."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        pgid = proc.pid  # start_new_session: the group id is the leader's pid

        def group_alive() -> bool:
            try:
                os.killpg(pgid, 0)
                return True
            except ProcessLookupError:
                return False

        def signal_group(sig: int) -> None:
            try:
                os.killpg(pgid, sig)
            except ProcessLookupError:
                pass

        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # dagster dev maps SIGTERM to KeyboardInterrupt: clean shutdown
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                pass
        signal_group(signal.SIGTERM)  # stragglers (code server, run workers)
        deadline = time.monotonic() + 5
        while group_alive() and time.monotonic() < deadline:
            time.sleep(0.2)
        if group_alive():
            signal_group(signal.SIGKILL)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass

    def log_tail(self, chars: int = 6000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except FileNotFoundError:
            return "(no dagster dev log)"

    # -- GraphQL ------------------------------------------------------------------------------------------
    def graphql(self, query: str, variables: dict[str, Any] | None = None, timeout_s: float = 30) -> dict[str, Any]:
        resp = requests.post(f"{self.url}/graphql", json={"query": query, "variables": variables or {}},
                             timeout=timeout_s)
        resp.raise_for_status()
        body = resp.json()
        if body.get("errors"):
            raise E2EError(f"GraphQL errors: {body['errors']}")
        return body["data"]

    def repository_selector(self) -> dict[str, str]:
        return {"repositoryLocationName": LOCATION, "repositoryName": REPOSITORY}

    def partition_keys(self, asset: str) -> list[str]:
        data = self.graphql("""query($key: AssetKeyInput!) { assetNodeOrError(assetKey: $key) {
            __typename ... on AssetNode { partitionKeys } } }""", {"key": {"path": [asset]}})
        node = data["assetNodeOrError"]
        if node["__typename"] != "AssetNode":
            raise E2EError(f"asset {asset} not found: {node}")
        return node["partitionKeys"]

    def add_partition(self, partitions_def: str, key: str) -> None:
        data = self.graphql("""mutation($repo: RepositorySelector!, $def: String!, $key: String!) {
            addDynamicPartition(repositorySelector: $repo, partitionsDefName: $def, partitionKey: $key) {
              __typename ... on PythonError { message } ... on UnauthorizedError { message } } }""",
                            {"repo": self.repository_selector(), "def": partitions_def, "key": key})
        result = data["addDynamicPartition"]
        if result["__typename"] != "AddDynamicPartitionSuccess":
            raise E2EError(f"addDynamicPartition({partitions_def}, {key}) failed: {result}")

    def runs_for_partition(self, partition: str) -> list[dict[str, Any]]:
        data = self.graphql("""query($tags: [ExecutionTag!]) { runsOrError(filter: {tags: $tags}) {
            __typename ... on Runs { results { runId status jobName creationTime startTime endTime
              tags { key value } assetSelection { path } } } ... on PythonError { message } } }""",
                            {"tags": [{"key": "dagster/partition", "value": partition}]})
        runs = data["runsOrError"]
        if runs["__typename"] != "Runs":
            raise E2EError(f"runsOrError: {runs}")
        return runs["results"]

    def run(self, run_id: str) -> dict[str, Any]:
        data = self.graphql("""query($id: ID!) { runOrError(runId: $id) { __typename ... on Run {
            runId status jobName tags { key value } assetSelection { path } } } }""", {"id": run_id})
        if data["runOrError"]["__typename"] != "Run":
            raise E2EError(f"run {run_id}: {data['runOrError']}")
        return data["runOrError"]

    def partition_status(self, asset: str) -> dict[str, list[str]]:
        data = self.graphql("""query($key: AssetKeyInput!) { assetNodeOrError(assetKey: $key) {
            ... on AssetNode { assetPartitionStatuses { __typename ... on DefaultPartitionStatuses {
              materializedPartitions failedPartitions unmaterializedPartitions materializingPartitions } } } } }""",
                            {"key": {"path": [asset]}})
        return data["assetNodeOrError"]["assetPartitionStatuses"]

    def materializations(self, asset: str, partition: str) -> list[dict[str, Any]]:
        data = self.graphql("""query($key: AssetKeyInput!, $p: [String!]) { assetNodeOrError(assetKey: $key) {
            ... on AssetNode { assetMaterializations(partitions: $p) { runId partition timestamp
              metadataEntries { label ... on IntMetadataEntry { intValue } ... on TextMetadataEntry { text } } } } } }""",
                            {"key": {"path": [asset]}, "p": [partition]})
        return data["assetNodeOrError"]["assetMaterializations"]

    def wait_run_finished(self, run_id: str, timeout_s: float) -> dict[str, Any]:
        terminal = {"SUCCESS", "FAILURE", "CANCELED"}
        run = wait_for(f"run {run_id} to finish", lambda: (r := self.run(run_id))["status"] in terminal and r,
                       timeout_s, on_timeout=lambda: f"; status {self.run(run_id)['status']}\n{self.log_tail()}")
        return run


TICKS = """query($sel: SensorSelector!, $after: Float) { sensorOrError(sensorSelector: $sel) {
  __typename ... on Sensor { sensorState { status ticks(limit: 100, afterTimestamp: $after) {
    tickId status timestamp runIds skipReason error { message }
    dynamicPartitionsRequestResults { partitionsDefName partitionKeys type } } } } } }"""
SENSOR = {"repositoryLocationName": LOCATION, "repositoryName": REPOSITORY, "sensorName": "drop_sensor"}
FINISHED_TICK = {"SUCCESS", "SKIPPED", "FAILURE"}


def sensor_ticks(dev, after: float | None = None) -> tuple[str, list[dict]]:
    data = dev.graphql(TICKS, {"sel": SENSOR, "after": after})
    sensor = data["sensorOrError"]
    if sensor["__typename"] != "Sensor":
        raise E2EError(f"drop_sensor not found: {sensor}")
    return sensor["sensorState"]["status"], sensor["sensorState"]["ticks"]


def wait_for_tick_after(dev, t: float, timeout_s: float) -> dict:
    """The first finished drop_sensor tick that started after ``t`` (epoch seconds)."""
    def probe():
        _, ticks = sensor_ticks(dev, after=t)
        done = sorted((k for k in ticks if k["status"] in FINISHED_TICK and k["timestamp"] > t),
                      key=lambda k: k["timestamp"])
        for k in done:
            if k["status"] == "FAILURE":
                raise E2EError(f"drop_sensor tick failed: {k['error']}")
        return done[0] if done else None

    return wait_for(f"a drop_sensor tick after {t:.0f}", probe, timeout_s,
                    on_timeout=lambda: "\n" + dev.log_tail())


def tags_of(run: dict[str, Any]) -> dict[str, str]:
    return {t["key"]: t["value"] for t in run["tags"]}


def metadata_of(materialization: dict[str, Any]) -> dict[str, Any]:
    return {e["label"]: e.get("intValue", e.get("text")) for e in materialization["metadataEntries"]}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, f"rep_{rep.when}", rep)


@pytest.fixture(scope="session")
def dagster_dev(tmp_path_factory) -> Iterator[DagsterDev]:
    dev = DagsterDev(tmp_path_factory.mktemp("dagster_dev"))
    try:
        dev.run_demo()
        dev.start()
        print(f"hispatial demo {dev.demo_s:.1f}s; dagster dev up on {dev.url} after {dev.started_s:.1f}s "
              f"(home {dev.home}, root {dev.root})")
        yield dev
    finally:
        dev.stop()
        try:
            shutil.copy(dev.log_path, artifacts_dir() / "dagster_dev.log")
        except OSError:
            pass


@pytest.fixture(scope="session")
def ui_artifacts() -> Path:
    """<artifacts>/ui/, emptied of the last session's screenshots once."""
    out = artifacts_dir() / "ui"
    out.mkdir(parents=True, exist_ok=True)
    for stale in [*out.glob("*.png"), *out.glob("*.html")]:
        stale.unlink()
    return out


@pytest.fixture
def page(ui_artifacts):
    """A Playwright page in headless Debian Chromium (no browser download); ``page.artifacts``: where shots go."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 900})
            # the "Join the Dagster community" dialog that dagster dev shows on localhost: dismissed already
            context.add_init_script("try { localStorage.setItem('communityNux', JSON.stringify('1')); } catch (e) {}")
            pg = context.new_page()
            pg.set_default_timeout(UI_TIMEOUT_MS)
            nux = pg.get_by_role("dialog").filter(has_text="Join the Dagster community")
            pg.add_locator_handler(nux, lambda: nux.get_by_role("button", name="Skip").click())
            pg.artifacts = ui_artifacts
            yield pg
        finally:
            browser.close()


def shot(page, name: str) -> None:
    page.screenshot(path=str(page.artifacts / name), full_page=False)


@pytest.fixture
def dev(dagster_dev, request) -> Iterator[DagsterDev]:
    """The session's dagster dev; prints its log tail when the test fails."""
    yield dagster_dev
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.failed:
        print(f"\n----- dagster dev log tail ({dagster_dev.log_path}) -----\n{dagster_dev.log_tail()}")
