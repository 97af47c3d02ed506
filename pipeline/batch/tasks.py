"""A call as a worker gets it (``CallTask``) and gives it back (``CallOutcome``), and how one is
processed: within the batch's time limit per call, any failure becoming that call's outcome. Shared
by every executor (``pipeline.batch.executors`` for local workers, ``pipeline.batch.ray_actors``)."""

from __future__ import annotations

import dataclasses
import signal
import threading
import time
import traceback
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol

import orjson

from audits.calldata.transcript import Transcript, TranscriptError
from pipeline.asr.malloc import release_free_memory
from pipeline.call import CallProcessor
from pipeline.store import CallInfo, CallRecord


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
            call = processor.audit_transcript(Transcript.from_dict(data, origin=task.info.path), task.info.metadata)
        else:
            call = processor.audit_recording(task.info.path, task.info.metadata)
        record = CallRecord.of(call, with_transcript=not task.stored)
        info = dataclasses.replace(task.info, metadata=processor.outgoing_metadata(task.info.metadata))
        return CallOutcome(info, record, None, time.perf_counter() - started, task.transcript is None)
    except Exception as exc:  # a broken call must not end the night's batch; the reason is stored
        return CallOutcome(task.info, None, _reason(exc), time.perf_counter() - started, False)


def _reason(exc: Exception) -> str:
    known = type(exc).__module__.startswith(("pipeline", "audits"))
    if known:
        return str(exc)
    where = traceback.extract_tb(exc.__traceback__)[-1]
    return f"{type(exc).__name__}: {exc} (at {where.filename}:{where.lineno})"


def with_cpu_threads(settings: dict, threads: int) -> dict:
    return {**settings, "asr": {**settings["asr"], "cpu_threads": threads}}
