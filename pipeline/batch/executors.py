"""Where calls are processed. The batch hands tasks to an executor and stores what comes back in
its own process (the one writer), so every executor gets the store's guarantees for free.

An executor has one method, ``run(tasks) -> iterator of CallOutcome`` (in completion order).
Each worker builds one ``CallProcessor`` (the Whisper model, the spec) and keeps it for all its calls.
Two executors: worker processes on this machine (``LocalExecutor``, the default) and Ray actors on
this machine or a cluster (``pipeline.batch.ray_actors``, the optional ``ray`` extra).
"""

from __future__ import annotations

import ctypes
import gc
import multiprocessing
import os
import signal
import sys
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from itertools import islice

from pipeline.batch.tasks import CallOutcome, CallTask, Executor, ExecutorError, process, with_cpu_threads
from pipeline.call import CallProcessor

IN_FLIGHT = 4  # submissions handed to each local worker ahead of its results
# Stored transcripts handed to a worker in one submission: a re-audit takes ~6 ms, and each
# submission costs the pool's threads and pipes a good part of that again.
TRANSCRIPTS_PER_SUBMISSION = 8
MAX_BARREN_POOLS = 5  # worker pools in a row that die before finishing a call: stop, exit code 2


def worker_settings(settings: dict, workers: int) -> dict:
    """Divide the cores between workers unless the settings fix the thread count."""
    if settings["asr"]["cpu_threads"]:
        return settings
    return with_cpu_threads(settings, max(1, (os.cpu_count() or 1) // max(1, workers)))


def make_executor(name: str, settings: dict, spec_source: str, workers: int | None = None,
                  ray_address: str | None = None) -> Executor:
    """``local`` (worker processes, 1 unless ``workers``) or ``ray`` (actors sized by ``workers`` or
    the cluster; a Ray instance of its own on this machine unless ``ray_address``)."""
    if name == "ray":
        from pipeline.batch.ray_actors import RayExecutor

        return RayExecutor(settings, spec_source, workers, ray_address)
    if ray_address:
        raise ExecutorError("--ray-address needs --executor ray")
    return LocalExecutor(settings, spec_source, workers or 1)


class LocalExecutor:
    """Worker processes on this machine; one worker runs in this process (no start-up cost)."""

    def __init__(self, settings: dict, spec_source: str, workers: int = 1):
        self.settings = worker_settings(settings, workers)
        self.spec_source = spec_source
        self.workers = workers

    def run(self, tasks: Iterable[CallTask]) -> Iterator[CallOutcome]:
        if self.workers <= 1:
            processor = _new_processor(self.settings, self.spec_source)
            for task in tasks:
                yield process(processor, task)
            return
        # spawn, not fork: the parent runs a progress thread, and forking a threaded process can deadlock.
        context = multiprocessing.get_context("spawn")
        fresh, suspects = _submissions(tasks), deque()
        barren = 0  # pools in a row that died before finishing any call
        while True:
            with ProcessPoolExecutor(self.workers, mp_context=context, initializer=_init_worker,
                                     initargs=(os.getpid(), self.settings, self.spec_source)) as pool:
                finished_any = False
                for outcome in _drain(pool, fresh, suspects, IN_FLIGHT * self.workers):
                    finished_any = True
                    yield outcome
            if not suspects:
                return
            barren = 0 if finished_any else barren + 1
            if barren >= MAX_BARREN_POOLS:
                raise ExecutorError(f"worker processes keep dying before finishing a call ({barren} times in a "
                                    f"row); {len(suspects)}+ calls left for the next run")


def _drain(pool: ProcessPoolExecutor, fresh: Iterator[list[CallTask]], suspects: deque,
           window: int) -> Iterator[CallOutcome]:
    """Run submissions (lists of tasks, see ``_submissions``) on ``pool`` until none are left or a
    worker process dies (a crash in native code, the out-of-memory killer). The tasks in flight
    when one dies go back into ``suspects``; those are then run one at a time, so a call that kills
    its worker again is known for sure and fails alone, and the others are done normally."""
    running: dict = {}  # future -> [(task, deaths)] of its submission
    while True:
        if suspects:  # one suspect at a time, alone on the pool
            if not running:
                task, deaths = suspects.popleft()
                running[pool.submit(_process_in_worker, [task])] = [(task, deaths)]
        else:
            # A few submissions per worker in flight, not all: tasks may carry whole transcripts.
            for tasks in islice(fresh, window - len(running)):
                running[pool.submit(_process_in_worker, tasks)] = [(task, 0) for task in tasks]
        if not running:
            return
        finished, _ = wait(running, return_when=FIRST_COMPLETED)
        done = [future for future in finished if not isinstance(future.exception(), BrokenProcessPool)]
        for future in done:
            del running[future]
            yield from future.result()
        if len(done) < len(finished):  # a worker died: every call still in flight is lost with the pool
            lost = [entry for entries in running.values() for entry in entries]
            if len(lost) == 1 and lost[0][1]:  # it died alone, the second time: this call kills workers
                task, _ = lost[0]
                yield CallOutcome(task.info, None, "the worker process auditing this call died twice (a crash "
                                  "in native code, or the out-of-memory killer)", 0.0, False)
            else:
                suspects.extend((task, deaths + 1) for task, deaths in lost)
            return


def _submissions(tasks: Iterable[CallTask]) -> Iterator[list[CallTask]]:
    """Tasks as they are handed to workers: a recording alone, stored transcripts in runs of up to
    TRANSCRIPTS_PER_SUBMISSION (the order kept)."""
    run: list[CallTask] = []
    for task in tasks:
        if task.transcript is None:
            if run:
                yield run
                run = []
            yield [task]
            continue
        run.append(task)
        if len(run) == TRANSCRIPTS_PER_SUBMISSION:
            yield run
            run = []
    if run:
        yield run


def _new_processor(settings: dict, spec_source: str) -> CallProcessor:
    from audits.spec import load_spec

    processor = CallProcessor(settings, load_spec(spec_source))
    # Garbage collection cost a 1000-call rescore 1.7 of 12 s: a call's transcript (~1400 objects)
    # crossed the default 700-allocation trigger ~2 times per call, and each full collection
    # walked everything loaded. What is loaded now lives as long as the worker (frozen: never
    # walked again), and a collection waits for 10,000 net allocations (0.2 s in all).
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)
    return processor


_worker_processor: CallProcessor | None = None


def _init_worker(parent: int, settings: dict, spec_source: str) -> None:
    global _worker_processor
    die_with_parent(parent)
    _worker_processor = _new_processor(settings, spec_source)


PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def die_with_parent(parent: int) -> None:
    """End this worker the moment the batch process that started it ends, however it ends (kill -9
    included): a worker blocked on its pipe would otherwise live on forever with its model. Linux
    delivers SIGKILL when the parent dies; a parent already gone before that was asked for is seen
    by ``getppid``. Elsewhere a worker notices only when it next reads its pipe."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent:
        os._exit(1)


def _process_in_worker(tasks: list[CallTask]) -> list[CallOutcome]:
    return [process(_worker_processor, task) for task in tasks]
