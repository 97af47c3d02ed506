"""The numeric conditions every worker computes under, the same for every executor.

A stored verdict must not depend on how the night was scheduled: which executor ran the call,
how many workers shared the cores, what else the machine was doing. The libraries under the ASR
and diarization choose their thread counts, and with them sometimes the order in which they add
floats, from the process environment when they load: OpenMP (CTranslate2, torch) from ``OMP_*``,
OpenBLAS (numpy's mel features) from ``OPENBLAS_NUM_THREADS`` or ``OMP_NUM_THREADS``, Intel MKL
(CTranslate2's matrix products on Intel CPUs) from ``MKL_*``. A Ray worker starts with
``OMP_NUM_THREADS=1``, a local worker inherits the shell's environment, so the same call could be
computed two ways. ``pin`` gives each process that runs the models one environment, before the
engines load, and pins numpy's BLAS at run time too (numpy is loaded long before).

What is left free is the thread count of the engines themselves (``asr.cpu_threads``, divided
between workers): CTranslate2's and torch's results do not depend on it, which the tests check
on every run (one worker with every core against two workers with one core each, under load, and
on Ray) rather than trusting it.
"""

from __future__ import annotations

import os

# Every value forced, not defaulted: a shell that exports one of these must not change a verdict.
ENVIRONMENT = {
    # OpenMP's default team size: CTranslate2 and torch are given their threads explicitly.
    "OMP_NUM_THREADS": "1",
    # No thread team shrunk or grown by the runtime under load.
    "OMP_DYNAMIC": "FALSE",
    "MKL_DYNAMIC": "FALSE",
    # MKL's conditional numerical reproducibility, strict: the same bits whatever the thread count
    # and the alignment of the buffers (the allocator's history differs from process to process).
    "MKL_CBWR": "AUTO,STRICT",
    # numpy's products (80 mel filters x a window's spectrum) are small: one thread, one order.
    "OPENBLAS_NUM_THREADS": "1",
}


def engine_threads(cpu_threads: int) -> int:
    """The threads CTranslate2 and torch get: ``asr.cpu_threads``, or every core (0)."""
    return cpu_threads or os.cpu_count() or 1


def pin() -> None:
    """Put this process under ``ENVIRONMENT``: call before CTranslate2 or torch is imported."""
    os.environ.update(ENVIRONMENT)
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")  # stays in force: not used as a context manager
