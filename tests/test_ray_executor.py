"""The Ray executor: the batch on a local Ray instance started here (and stopped after) stores exactly
what the local executor stores; a worker lost mid-call fails that call only; without Ray installed
``--executor ray`` says how to get it. Actor sizing is checked without a cluster."""

from __future__ import annotations

import importlib.util
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SHORT_CALLS, batch_cli, short_calls_archive, stored_tables

from pipeline.batch.nightly import asr_key, discover, plan, run_batch
from pipeline.batch.ray_actors import ACTOR_NAME, ActorShape, RayExecutor, actor_shape
from pipeline.batch.tasks import ExecutorError
from pipeline.config import load_settings
from pipeline.store import Store

CALLS = SHORT_CALLS
needs_ray = pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="the ray extra is not installed")


@pytest.fixture(scope="module")
def ray_address():
    """A new Ray instance for this module with this machine's CPUs, stopped (all its processes with it)
    after the module. It listens on loopback only (Ray's single-machine mode) and asks for Ray's
    token (~/.ray/auth_token, made by the first instance): a driver that connects to it must use the
    same two settings, and the CLI's subprocesses get them from this environment."""
    with pytest.MonkeyPatch.context() as environment:
        environment.setenv("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
        environment.setenv("RAY_AUTH_MODE", "token")
        environment.setenv("RAY_USAGE_STATS_ENABLED", "0")
        import ray

        ray.init(address="local", include_dashboard=False, object_store_memory=256 * 2**20, logging_level="WARNING")
        try:
            yield ray.get_runtime_context().gcs_address
        finally:
            ray.shutdown()


@pytest.fixture
def archive(tmp_path) -> Path:
    return short_calls_archive(tmp_path / "archive")


@needs_ray
@pytest.mark.slow
def test_a_batch_on_a_ray_cluster_stores_what_the_local_executor_stores(ray_address, reference_batch, tmp_path):
    archive, reference = reference_batch
    run = batch_cli(archive, tmp_path / "ray.sqlite", "--workers", "2", "--executor", "ray", "--ray-address", ray_address)
    assert run.returncode == 1, run.stderr
    stored = stored_tables(tmp_path / "ray.sqlite")
    assert len(stored["calls"]) == len(CALLS) + 1 and len(stored["transcripts"]) == len(CALLS)
    assert stored == reference


def _raylets() -> set[int]:
    return {int(process.parent.name) for process in Path("/proc").glob("[0-9]*/comm")
            if _read(process) == "raylet"}


def _read(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:  # a process that ended while we looked
        return ""


@needs_ray
@pytest.mark.slow
def test_without_an_address_the_batch_starts_its_own_ray_instance_and_stops_it(archive, tmp_path):
    for name in CALLS[1:]:
        (archive / name).unlink()
    before = _raylets()
    run = batch_cli(archive, tmp_path / "qa.sqlite", "--executor", "ray")
    assert run.returncode == 1, run.stderr
    with sqlite3.connect(tmp_path / "qa.sqlite") as connection:
        stored = dict(connection.execute("SELECT call_id, status FROM calls").fetchall())
    assert stored == {Path(CALLS[0]).stem: "done", "truncated": "failed"}
    assert not _raylets() - before  # ours is gone (other instances on the machine may come and go)


@needs_ray
@pytest.mark.slow
def test_a_worker_lost_mid_call_fails_that_call_only_and_the_next_run_completes_it(ray_address, archive, tmp_path):
    import ray

    (archive / "truncated.wav").unlink()
    settings = load_settings()
    executor = RayExecutor(settings, "en", workers=1)
    store, key = Store(tmp_path / "qa.sqlite"), asr_key(settings)

    def planned():
        return plan(archive, discover(archive, settings["batch"]), store, executor.spec, key, settings, {},
                    None, None, False)

    def kill_the_worker_once(outcome):
        # By the first outcome the only worker has the second call in hand: kill it, as the OOM killer would.
        if not killed:
            killed.append(outcome)
            ray.kill(ray.get_actor(ACTOR_NAME.format(0)))

    killed = []
    first = run_batch(store, archive, planned(), executor.spec, key, executor.run, kill_the_worker_once)
    assert (first.done, first.failed) == (2, 1)  # the third call went to the worker that replaced it
    [(path, reason)] = first.failures
    assert reason.startswith("the Ray worker processing this call was lost: ActorDiedError")
    assert reason.endswith("killed by `ray.kill`.")

    work = planned()
    assert [task.info.path for task in work.tasks] == [path] and work.skipped == 2
    second = run_batch(store, archive, work, executor.spec, key, executor.run)
    assert (second.done, second.failed) == (1, 0)
    done = store.db.execute("SELECT COUNT(*), COUNT(DISTINCT audio_sha256) FROM calls WHERE status = 'done'")
    assert tuple(done.fetchone()) == (len(CALLS), len(CALLS))
    store.close()


def test_without_ray_installed_the_ray_executor_says_how_to_install_it(archive, tmp_path):
    # None in sys.modules makes `import ray` fail as it does where Ray is not installed.
    without_ray = "import sys; sys.modules['ray'] = None; from pipeline.cli import app; sys.argv[0] = 'callqa'; app()"
    db = tmp_path / "qa.sqlite"
    run = subprocess.run([sys.executable, "-c", without_ray, "batch", str(archive), "--db", str(db),
                          "--executor", "ray"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 2
    assert run.stderr.strip().splitlines() == ["error: --executor ray needs Ray, an optional extra: "
                                               "pip install 'callqa[ray]'"]
    with sqlite3.connect(db) as connection:
        assert connection.execute("SELECT COUNT(*) FROM runs").fetchone() == (0,)


def test_a_ray_address_without_the_ray_executor_is_a_usage_error(archive, tmp_path):
    run = batch_cli(archive, tmp_path / "qa.sqlite", "--ray-address", "head:6379")
    assert run.returncode == 2 and "--ray-address needs --executor ray" in run.stderr


CPU = {"device": "cpu", "cpu_threads": 0}


@pytest.mark.parametrize("nodes, asr, workers, shape", [
    ([{"CPU": 2}], CPU, None, ActorShape(1, 2, 0)),  # this machine: one actor with both cores, as local
    ([{"CPU": 2}], CPU, 2, ActorShape(2, 1, 0)),  # --workers 2 divides the cores, as local
    ([{"CPU": 16}, {"CPU": 16}], CPU, None, ActorShape(8, 4, 0)),
    ([{"CPU": 16}, {"CPU": 6}], CPU, None, ActorShape(5, 4, 0)),  # 4 + 1 actors fit
    ([{"CPU": 16}, {"CPU": 16}], {"device": "cpu", "cpu_threads": 8}, None, ActorShape(4, 8, 0)),
    ([{"CPU": 8, "GPU": 2}, {"CPU": 8}], {"device": "cuda", "cpu_threads": 0}, None, ActorShape(2, 1, 1.0)),
    ([{"CPU": 8, "GPU": 1}], {"device": "cuda", "cpu_threads": 0}, 3, ActorShape(3, 1, 0.3333)),
    ([{"CPU": 8, "GPU": 1}], {"device": "auto", "cpu_threads": 0}, None, ActorShape(1, 1, 1.0)),
    ([{"CPU": 8}], {"device": "auto", "cpu_threads": 0}, None, ActorShape(2, 4, 0)),
])
def test_actor_shape_from_cluster_resources(nodes, asr, workers, shape):
    assert actor_shape(nodes, asr, workers) == shape


@pytest.mark.parametrize("nodes, asr, problem", [
    ([{"CPU": 4}], {"device": "cpu", "cpu_threads": 8}, "needs 8 CPUs"),
    ([{"CPU": 8}], {"device": "cuda", "cpu_threads": 0}, "no node of the Ray cluster has a GPU"),
])
def test_actor_shape_a_cluster_cannot_hold_is_an_error(nodes, asr, problem):
    with pytest.raises(ExecutorError, match=problem):
        actor_shape(nodes, asr, None)
