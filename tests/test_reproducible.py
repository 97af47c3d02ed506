"""The same calls store the same bytes however the night was scheduled: one worker with every core
or two with one core each, under CPU load or not, in any order (and on Ray: test_ray_executor).
A worker computes under one pinned numeric environment whatever environment it was started in."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from contextlib import contextmanager

import pytest
from conftest import batch_cli, stored_tables

from audits.spec import load_spec
from pipeline.asr.numerics import ENVIRONMENT
from pipeline.batch.executors import LocalExecutor
from pipeline.batch.nightly import asr_key, discover, plan, run_batch
from pipeline.batch.tasks import with_cpu_threads
from pipeline.config import load_settings
from pipeline.store import Store


@contextmanager
def cpu_load(processes: int = 2):
    """Busy processes on every core, as a machine shared with other jobs has."""
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(processes)]
    try:
        yield
    finally:
        for process in busy:
            process.kill()
            process.wait()


@pytest.mark.slow
def test_one_worker_with_every_core_under_cpu_load_stores_what_two_workers_store(reference_batch, tmp_path):
    archive, reference = reference_batch
    with cpu_load():
        run = batch_cli(archive, tmp_path / "one.sqlite", "--workers", "1")
    assert run.returncode == 1, run.stderr
    assert stored_tables(tmp_path / "one.sqlite") == reference


@pytest.mark.slow
def test_calls_handed_out_in_the_opposite_order_store_the_same(reference_batch, tmp_path):
    archive, reference = reference_batch
    settings = with_cpu_threads(load_settings(), 1)
    spec, key = load_spec(settings["spec"]), asr_key(settings)
    store = Store(tmp_path / "reversed.sqlite")
    work = plan(archive, discover(archive, settings["batch"]), store, spec, key, settings, {}, None, None, False)
    work.tasks.reverse()  # the batch hands the longest first; here the shortest comes first
    run_batch(store, archive, work, spec, key, LocalExecutor(settings, settings["spec"]).run)
    store.close()
    assert stored_tables(tmp_path / "reversed.sqlite") == reference


def test_a_worker_pins_the_numeric_environment_it_was_started_with():
    hostile = {**os.environ, "OMP_NUM_THREADS": "7", "OPENBLAS_NUM_THREADS": "2", "MKL_CBWR": "AVX2"}
    probe = ("import json, os, numpy; from threadpoolctl import threadpool_info\n"
             "from audits.spec import load_spec; from pipeline.config import load_settings\n"
             "from pipeline.transcribe import Transcriber\n"
             "settings = load_settings(); Transcriber(settings, load_spec(settings['spec']))\n"
             "blas = [pool['num_threads'] for pool in threadpool_info() if pool['user_api'] == 'blas']\n"
             "print(json.dumps({'blas': blas, 'env': {name: os.environ[name] for name in %r}}))" % sorted(ENVIRONMENT))
    run = subprocess.run([sys.executable, "-c", probe], env=hostile, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    seen = json.loads(run.stdout)
    assert seen["env"] == ENVIRONMENT
    assert seen["blas"] and set(seen["blas"]) == {1}  # numpy was loaded with 2 threads, then pinned
