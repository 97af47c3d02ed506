"""Calls processed by a pool of Ray actors, on this machine or across a Ray cluster.

Each actor holds one ``CallProcessor`` (so one Whisper model, loaded on its first call) and is given
one call at a time; outcomes come back to the batch's own process in completion order, where the
batch stores them: the store keeps its single writer and its guarantees whatever the cluster does.

Tasks carry file paths (made absolute), not audio: every node must see the archive at the same
path (shared storage), and must have callqa, its ``ray`` extra and the Whisper model installed
(``asr.model`` is resolved on the node that runs the actor). The spec is read here and sent to the
actors.

A worker lost in the middle of a call (killed, out of memory, its node gone) fails that call only,
with the reason; a fresh actor takes its place and the batch goes on. The next run retries the
failed call, as it retries any failed call.
"""

from __future__ import annotations

import logging
import math
import os
import socket
import time
from collections import deque
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

from pipeline.batch.tasks import CallOutcome, CallTask, ExecutorError, process, with_cpu_threads
from pipeline.call import CallProcessor

INSTALL_HINT = "--executor ray needs Ray, an optional extra: pip install 'callqa[ray]'"
# Without --workers or asr.cpu_threads, a CPU actor runs faster-whisper's default thread count.
DEFAULT_ACTOR_THREADS = 4
# Tasks and outcomes are kilobytes; Ray's default store would reserve 30 % of this machine's memory.
OWN_INSTANCE_OBJECT_STORE_BYTES = 256 * 2**20
ACTOR_NAME = "callqa-worker-{}"  # as `ray list actors` shows them; numbered in order of creation
SECONDS_TO_REACH_CLUSTER = 10.0  # ray.init retries an unreachable address for minutes; fail fast
AUTH_MODE = "RAY_AUTH_MODE"


def _require_ray(own_instance: bool) -> None:
    """Import Ray, or say how to install it. A Ray instance of our own on this machine listens on
    loopback only (Ray's single-machine mode): nothing off this machine needs to reach it. Ray reads
    that setting, and the opt-out of its usage statistics, when it is first imported."""
    if own_instance:
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    try:
        import ray  # noqa: F401 (imported here only to know it is installed)
    except ImportError:
        raise ExecutorError(INSTALL_HINT) from None


class CallWorker:
    """The state of one Ray actor: a ``CallProcessor`` kept for every call sent to it."""

    def __init__(self, settings: dict, spec):
        self.processor = CallProcessor(settings, spec)

    def ready(self) -> None:
        """Answers once the actor is placed and built; only then is it given calls."""

    def process(self, task: CallTask) -> CallOutcome:
        return process(self.processor, task)


@dataclass(frozen=True)
class ActorShape:
    count: int
    cpus: int  # claimed from Ray, and the CTranslate2 threads of the actor
    gpus: float


def actor_shape(nodes: list[dict[str, float]], asr: dict, workers: int | None) -> ActorShape:
    """How many actors and what each claims, from the resources of the cluster's live nodes.

    CPU: ``asr.cpu_threads`` per actor when set; else the cluster's CPUs divided by ``--workers``,
    as the local executor divides this machine's cores; else 4 (capped by the largest node), with as
    many actors as the nodes hold. GPU (``asr.device`` cuda, or auto on a cluster with GPUs): one
    actor per GPU, or ``--workers`` actors sharing the GPUs."""
    cpus = [int(node.get("CPU", 0)) for node in nodes]
    gpus = sum(node.get("GPU", 0) for node in nodes)
    if asr["device"] == "cuda" or (asr["device"] == "auto" and gpus):
        if not gpus:
            raise ExecutorError("asr.device is cuda, but no node of the Ray cluster has a GPU")
        count = workers or int(gpus)
        return ActorShape(count, 1, min(1.0, math.floor(gpus / count * 1e4) / 1e4))  # Ray: 4 decimals at most
    largest = max(cpus, default=0)
    if asr["cpu_threads"]:
        threads = asr["cpu_threads"]
    elif workers:
        threads = max(1, min(sum(cpus) // workers, largest))
    else:
        threads = min(DEFAULT_ACTOR_THREADS, largest)
    if not 1 <= threads <= largest:
        raise ExecutorError(f"a Ray worker needs {max(threads, 1)} CPUs (asr.cpu_threads), "
                            f"the largest node of the cluster has {largest}")
    return ActorShape(workers or sum(node // threads for node in cpus), threads, 0)


class RayExecutor:
    """Ray actors, each with its own model: on a cluster at ``address`` (or $RAY_ADDRESS), else on a
    Ray instance started on this machine for the batch and stopped after it. A Ray session already
    open in this process (a notebook, a test) is used as it is and left open."""

    def __init__(self, settings: dict, spec_source: str, workers: int | None = None, address: str | None = None):
        from audits.spec import load_spec

        self.address = address or os.environ.get("RAY_ADDRESS")  # Ray's own convention
        _require_ray(own_instance=not self.address)
        self.settings = settings
        self.spec = load_spec(spec_source)  # the spec file may exist only on this machine
        self.workers = workers

    def run(self, tasks: Iterable[CallTask]) -> Iterator[CallOutcome]:
        pending = deque(map(_portable, tasks))
        if not pending:
            return
        with _ray_session(self.address) as ray:
            live = [node["Resources"] for node in ray.nodes() if node["Alive"]]
            shape = actor_shape(live, self.settings["asr"], self.workers)
            pool = _ActorPool(shape, with_cpu_threads(self.settings, shape.cpus), self.spec, len(pending))
            try:
                yield from pool.run(pending)
            finally:
                pool.close()


def _portable(task: CallTask) -> CallTask:
    """An actor on another node has another working directory: recordings go with absolute paths."""
    if task.transcript is not None:  # nothing to read
        return task
    return CallTask(replace(task.info, path=os.path.abspath(task.info.path)))


@contextmanager
def _ray_session(address: str | None):
    import ray

    if ray.is_initialized():
        yield ray
        return
    try:
        if address:
            _check_reachable(address)
            ray.init(address=address, logging_level=logging.WARNING)
        else:
            ray.init(address="local", include_dashboard=False, logging_level=logging.WARNING,
                     object_store_memory=OWN_INSTANCE_OBJECT_STORE_BYTES)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        where = f"the Ray cluster at {address}" if address else "a Ray instance on this machine"
        # Ray turns token authentication on by itself only for a cluster it finds on this machine.
        hint = "" if not address or AUTH_MODE in os.environ else (
            f"; if the cluster uses token authentication, set {AUTH_MODE}=token and its token")
        raise ExecutorError(f"cannot use {where}: {exc}{hint}") from None
    try:
        yield ray
    finally:
        ray.shutdown()  # stops an instance of our own; leaves a cluster running


def _check_reachable(address: str) -> None:
    """A ``host:port`` address must answer now; other forms (``auto``, ``ray://``) are Ray's to resolve."""
    host, _, port = address.rpartition(":")
    if "://" in address or not port.isdigit():
        return
    try:
        socket.create_connection((host, int(port)), timeout=SECONDS_TO_REACH_CLUSTER).close()
    except OSError as exc:
        raise ConnectionError(f"nothing answers at {address} ({exc.strerror or exc}); is `ray start --head` "
                              "running there, and is this its address?") from None


class _ActorPool:
    """Actors that each take one call at a time. A ready actor gets the next task; an actor lost
    during a call fails that call and is replaced; an actor that cannot start is not replaced (it
    would fail the same way), and when none is left the batch stops with the reason."""

    def __init__(self, shape: ActorShape, settings: dict, spec, tasks: int):
        import ray

        self.remote_class = ray.remote(CallWorker)
        self.shape, self.settings, self.spec = shape, settings, spec
        self.starting: dict = {}  # ready() reply -> actor
        self.busy: dict = {}  # process() reply -> (actor, task, when sent)
        self.actors: list = []
        self.start_failure = ""
        for _ in range(min(shape.count, tasks)):
            self._start_actor()

    def _start_actor(self) -> None:
        name = ACTOR_NAME.format(len(self.actors))
        actor = self.remote_class.options(num_cpus=self.shape.cpus, num_gpus=self.shape.gpus, name=name).remote(
            self.settings, self.spec)
        self.actors.append(actor)
        self.starting[actor.ready.remote()] = actor

    def _give_next(self, actor, pending: deque) -> None:
        if pending:
            task = pending.popleft()
            self.busy[actor.process.remote(task)] = (actor, task, time.perf_counter())

    def run(self, pending: deque) -> Iterator[CallOutcome]:
        import ray

        while self.busy or (pending and self.starting):
            [reply], _ = ray.wait([*self.busy, *self.starting], num_returns=1)
            if reply in self.starting:
                actor = self.starting.pop(reply)
                try:
                    ray.get(reply)
                except ray.exceptions.RayError as exc:
                    self.start_failure = _summary(exc)
                    continue
                self._give_next(actor, pending)
                continue
            actor, task, sent = self.busy.pop(reply)
            try:
                outcome = ray.get(reply)
            except ray.exceptions.RayError as exc:
                reason = f"the Ray worker processing this call was lost: {_summary(exc)}"
                outcome = CallOutcome(task.info, None, reason, time.perf_counter() - sent, False)
                ray.kill(actor)
                if pending:
                    self._start_actor()
            else:
                self._give_next(actor, pending)
            yield outcome
        if pending:
            raise ExecutorError(f"no Ray worker could start; {len(pending)} calls left for the next run: "
                                f"{self.start_failure}")

    def close(self) -> None:
        import ray

        for actor in self.actors:
            ray.kill(actor)


def _summary(exc: Exception) -> str:
    """Ray's errors run to many lines (actor ids, tracebacks); the last one says why: "killed by
    `ray.kill`", "its worker process has died ... OOM killer ...", "No module named 'pipeline'"."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return f"{type(exc).__name__}: {lines[-1] if lines else 'no reason given'}"
