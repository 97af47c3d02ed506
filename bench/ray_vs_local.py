"""Throughput of the local executor and the Ray executor on this machine, for the same calls.

The same recordings go through local worker processes (1 and 2) and Ray actors (1 and 2) on a Ray
instance started here; each run prints its wall time, calls per minute, the time to its first
outcome (workers starting, model loading) and its overhead: wall time minus the time its workers
spent inside ``process`` (divided by the number of workers). Then the two costs Ray adds, measured:

- starting and stopping a Ray instance, which ``--executor ray`` without ``--ray-address`` pays once
  per batch (a cluster that is already running does not);
- the round trip of one call through an actor, from audit-only tasks (stored transcripts, no ASR:
  milliseconds of work each, so the dispatch is what shows).

Usage: python bench/ray_vs_local.py [RECORDING ...] [--audit-only N]
(default: the stereo English sample calls). Needs the ray extra: pip install -e '.[models,ray]'.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from pathlib import Path

from audits.spec import load_spec
from pipeline.batch.executors import LocalExecutor
from pipeline.batch.tasks import CallOutcome, CallTask, Executor
from pipeline.call import CallProcessor
from pipeline.config import load_settings
from pipeline.store import CallInfo

SAMPLES = Path(__file__).resolve().parent.parent / "sample_audio"
SPEC = "en"


def sample_calls() -> list[Path]:
    return sorted(p for p in SAMPLES.glob("en_*") if "_mono" not in p.stem)


def tasks_for(files: list[Path], spec) -> list[CallTask]:
    return [CallTask(CallInfo(str(f), f.name, str(f), f.stem, None, spec.name, spec.version, "bench")) for f in files]


def timed(executor: Executor, tasks: list[CallTask]) -> dict:
    started = time.perf_counter()
    outcomes: list[CallOutcome] = []
    first = None
    for outcome in executor.run(tasks):
        first = first or time.perf_counter() - started
        outcomes.append(outcome)
    failed = [o.error for o in outcomes if o.error]
    if failed:
        raise SystemExit(f"calls failed, figures would mislead: {failed[:3]}")
    return {"wall": time.perf_counter() - started, "first": first, "busy": sum(o.seconds for o in outcomes),
            "outcomes": outcomes}


def row(label: str, workers: int, tasks: list[CallTask], run: dict) -> None:
    calls = len(tasks)
    overhead = run["wall"] - run["busy"] / workers
    print(f"{label:<14}{workers:>8}{run['wall']:>9.1f}{calls / run['wall'] * 60:>11.1f}{run['first']:>10.1f}"
          f"{run['busy']:>9.1f}{overhead:>11.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("recordings", nargs="*", type=Path, help="stereo recordings (default: sample calls)")
    parser.add_argument("--audit-only", type=int, default=300, help="audit-only tasks for the dispatch cost")
    args = parser.parse_args()
    # A Ray instance on loopback only, without usage statistics: what --executor ray starts itself.
    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import ray

    from pipeline.batch.ray_actors import OWN_INSTANCE_OBJECT_STORE_BYTES, RayExecutor

    settings, spec = load_settings(), load_spec(SPEC)
    files = args.recordings or sample_calls()
    tasks = tasks_for(files, spec)
    CallProcessor(settings, spec).asr  # reads the model once, so no run pays for a cold disk cache
    print(f"{len(tasks)} calls, {os.cpu_count()} CPUs, model {settings['asr']['model']}\n")

    started = time.perf_counter()
    ray.init(address="local", include_dashboard=False, logging_level="WARNING",
             object_store_memory=OWN_INSTANCE_OBJECT_STORE_BYTES)
    ray_start = time.perf_counter() - started
    executors: dict[str, Callable[[int], Executor]] = {
        "local": lambda workers: LocalExecutor(settings, SPEC, workers),
        "ray": lambda workers: RayExecutor(settings, SPEC, workers),  # on the instance started above
    }
    print(f"{'executor':<14}{'workers':>8}{'wall s':>9}{'calls/min':>11}{'first s':>10}{'busy s':>9}"
          f"{'overhead s':>11}")
    transcripts = None
    for name, make in executors.items():
        for workers in (1, 2):
            run = timed(make(workers), tasks)
            row(name, workers, tasks, run)
            transcripts = transcripts or [json.loads(o.record.transcript_json) for o in run["outcomes"]]

    audit_only = [CallTask(tasks[i % len(tasks)].info, transcripts[i % len(tasks)]) for i in range(args.audit_only)]
    print(f"\naudit-only ({len(audit_only)} stored transcripts, no ASR): the cost of moving a call")
    per_call = {}
    for name, make in executors.items():
        run = timed(make(1), audit_only)
        # From the first outcome on: worker start-up is in the table above, not a per-call cost.
        per_call[name] = (run["wall"] - run["first"]) / (len(audit_only) - 1)
        print(f"  {name:<6} 1 worker: {per_call[name] * 1000:.1f} ms per call "
              f"(of which {run['busy'] / len(audit_only) * 1000:.1f} ms auditing)")
    print(f"  Ray's dispatch overhead: {(per_call['ray'] - per_call['local']) * 1000:.1f} ms per call")

    started = time.perf_counter()
    ray.shutdown()
    print(f"\nRay instance on this machine: {ray_start:.1f} s to start, {time.perf_counter() - started:.1f} s to stop "
          "(paid per batch by --executor ray without --ray-address)")


if __name__ == "__main__":
    main()
