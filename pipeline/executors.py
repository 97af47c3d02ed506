"""Where calls are processed. The batch hands tasks to an executor and stores what comes back in
its own process (the one writer), so every executor gets the store's guarantees for free.

An executor has one method, ``run(tasks) -> iterator of CallOutcome`` (in completion order).
Each worker builds one ``CallProcessor`` (the Whisper model, the spec) and keeps it for all its calls.
Two executors: worker processes on this machine (``LocalExecutor``, the default) and Ray actors on
this machine or a cluster (``pipeline.ray_executor``, the optional ``ray`` extra).
"""

from __future__ import annotations

import ctypes
import gc
import multiprocessing
import os
import signal
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import islice
from typing import Protocol

import orjson

from pipeline.call import CallProcessor
from pipeline.malloc import release_free_memory
from pipeline.store import CallInfo, CallRecord
from pipeline.transcript import Transcript, TranscriptError


IN_FLIGHT = 4  # submissions handed to each local worker ahead of its results
# Stored transcripts handed to a worker in one submission: a re-audit takes ~6 ms, and each
# submission costs the pool's threads and pipes a good part of that again.
TRANSCRIPTS_PER_SUBMISSION = 8
MAX_BARREN_POOLS = 5  # worker pools in a row that die before finishing a call: stop, exit code 2


class ExecutorError(Exception):
    """The executor cannot run: Ray missing, a cluster that cannot hold a worker, workers that cannot
    start (exit code 2; calls not yet stored are left for the next run)."""


@dataclass
class CallTask:
    info: CallInfo  # with the call's metadata
    transcript: dict | str | None = None  # a stored transcript (or its JSON text): re-audit it, no ASR
    stored: bool = False  # the transcript came from the store: no need to write it again


@dataclass
class CallOutcome:
    info: CallInfo
    record: CallRecord | None  # what the store writes; None when the call failed
    error: str | None
    seconds: float
    transcribed: bool


class Executor(Protocol):
    def run(self, tasks: Iterable[CallTask]) -> Iterator[CallOutcome]:
        """Process every task; yield each outcome as it completes, one per task."""


class CallTimeout(BaseException):
    """A call ran past ``batch.call_timeout_s``. A BaseException, as KeyboardInterrupt is, so that no
    ``except Exception`` on the way (a decoder's fallback, say) can swallow it."""


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise CallTimeout in this thread once ``seconds`` have passed (0: no limit).

    A real-time alarm (SIGALRM): its handler runs in the main thread between two Python
    instructions, so it stops pure-Python work (the checks, matching) at once and native work
    (decoding, ASR, diarization) when its current step returns to Python, a few seconds at most
    with batched ASR. The worker survives and takes the next call. Signals reach the main thread
    only: where a call runs elsewhere (a threaded host), it runs without this limit."""
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum, frame):
        raise CallTimeout(f"took longer than {seconds:g} s (batch.call_timeout_s), stopped")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def process(processor: CallProcessor, task: CallTask) -> CallOutcome:
    """Audit one call, within the batch's time limit per call; any failure becomes that call's
    outcome, never the batch's end."""
    started = time.perf_counter()
    try:
        with time_limit(processor.settings["batch"]["call_timeout_s"]):
            return _process(processor, task, started)
    except CallTimeout as exc:
        return CallOutcome(task.info, None, str(exc), time.perf_counter() - started, False)
    finally:
        if task.transcript is None:  # after ASR; a re-audit frees little
            release_free_memory()


def _process(processor: CallProcessor, task: CallTask, started: float) -> CallOutcome:
    try:
        if task.transcript is not None:
            data = task.transcript
            if isinstance(data, str):
                try:
                    data = orjson.loads(data)
                except orjson.JSONDecodeError as exc:
                    raise TranscriptError(f"{task.info.path}: stored transcript is not JSON: {exc}") from None
            transcript = Transcript.from_dict(data, origin=task.info.path)
        else:
            transcript = processor.transcribe(task.info.path)
        call = processor.audit_transcript(transcript, task.info.metadata)
        record = CallRecord.of(call, with_transcript=not task.stored)
        return CallOutcome(task.info, record, None, time.perf_counter() - started, task.transcript is None)
    except Exception as exc:  # a broken call must not end the night's batch; the reason is stored
        return CallOutcome(task.info, None, _reason(exc), time.perf_counter() - started, False)


def _reason(exc: Exception) -> str:
    known = type(exc).__module__.startswith(("pipeline", "audits"))
    if known:
        return str(exc)
    where = traceback.extract_tb(exc.__traceback__)[-1]
    return f"{type(exc).__name__}: {exc} (at {where.filename}:{where.lineno})"


def worker_settings(settings: dict, workers: int) -> dict:
    """Divide the cores between workers unless the settings fix the thread count."""
    if settings["asr"]["cpu_threads"]:
        return settings
    return with_cpu_threads(settings, max(1, (os.cpu_count() or 1) // max(1, workers)))


def with_cpu_threads(settings: dict, threads: int) -> dict:
    return {**settings, "asr": {**settings["asr"], "cpu_threads": threads}}


def make_executor(name: str, settings: dict, spec_source: str, workers: int | None = None,
                  ray_address: str | None = None) -> Executor:
    """``local`` (worker processes, 1 unless ``workers``) or ``ray`` (actors sized by ``workers`` or
    the cluster; a Ray instance of its own on this machine unless ``ray_address``)."""
    if name == "ray":
        from pipeline.ray_executor import RayExecutor

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
