"""Helpers shared by the benchmark scripts: the workload manifest, running a command while
sampling the peak memory of every process it starts, splitting calls between workers."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
WORKLOAD = HERE / "workload"
PYTHON = sys.executable
# The callqa command line of this checkout (not whatever `callqa` is installed).
CALLQA = [PYTHON, "-c", "import sys; from pipeline.cli import app; sys.argv[0] = 'callqa'; app()"]


def env() -> dict:
    """The environment for child processes: this checkout first on the path."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}


def manifest(workload: Path = WORKLOAD) -> dict:
    path = workload / "manifest.json"
    if not path.is_file():
        sys.exit(f"{path}: no workload yet. Make it with: python bench/make_workload.py")
    data = json.loads(path.read_text(encoding="utf-8"))
    for entry in data["calls"] + data["scaling"]:
        entry["path"] = str(workload / entry["file"])
    return data


def lscpu_model() -> str:
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    return "unknown CPU"


def machine() -> str:
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()}-core {os.uname().machine} CPU ({lscpu_model()}), {memory:.0f} GiB RAM, no GPU"


# --- peak memory of a process tree ----------------------------------------------------------------


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as handle:
            return [int(p) for p in handle.read().split()]
    except OSError:
        return []


def _status(pid: int) -> dict[str, str]:
    try:
        with open(f"/proc/{pid}/status") as handle:
            return dict(line.split(":", 1) for line in handle if ":" in line)
    except OSError:
        return {}


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


@dataclass
class Monitored:
    wall: float
    returncode: int
    stdout: str
    stderr: str
    peaks_mb: dict[int, float] = field(default_factory=dict)  # pid -> peak RSS (VmHWM), MB
    kinds: dict[int, str] = field(default_factory=dict)  # pid -> "main" | "worker" | "helper"

    def peak(self, kind: str) -> float | None:
        values = [mb for pid, mb in self.peaks_mb.items() if self.kinds.get(pid) == kind]
        return max(values) if values else None


def run_monitored(command: list[str], interval: float = 0.1, **kwargs) -> Monitored:
    """Run ``command``; sample the RSS high-water mark (VmHWM) of it and of every descendant."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=kwargs.pop("env", env()), **kwargs)
    peaks: dict[int, float] = {}
    kinds: dict[int, str] = {}
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            todo, seen = [process.pid], set()
            while todo:
                pid = todo.pop()
                if pid in seen:
                    continue
                seen.add(pid)
                status = _status(pid)
                if "VmHWM" in status:
                    peaks[pid] = max(peaks.get(pid, 0.0), int(status["VmHWM"].split()[0]) / 1024)
                    if pid not in kinds:
                        line = _cmdline(pid)
                        kinds[pid] = ("main" if pid == process.pid else
                                      "helper" if "resource_tracker" in line or "forkserver" in line else "worker")
                todo.extend(_children(pid))
            done.wait(interval)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, stderr = process.communicate()
    wall = time.perf_counter() - started
    done.set()
    sampler.join()
    return Monitored(wall, process.returncode, stdout, stderr, peaks, kinds)


def seconds(path: str | Path) -> float:
    """A recording's duration from its container (no decoding)."""
    import av

    with av.open(str(path)) as container:
        return container.duration / av.time_base if container.duration else 0.0


# --- scheduling and statistics ----------------------------------------------------------------------


def partition(items: list, weight, parts: int) -> list[list]:
    """Longest-processing-time split of ``items`` into ``parts`` lists of near-equal total weight."""
    bins: list[list] = [[] for _ in range(parts)]
    totals = [0.0] * parts
    for item in sorted(items, key=weight, reverse=True):
        index = totals.index(min(totals))
        bins[index].append(item)
        totals[index] += weight(item)
    return bins


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def linear_fit(xs: list[float], ys: list[float]) -> tuple[float, float, float]:
    """Least squares y = a + b x; returns (a, b, r squared)."""
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys))
    b = sxy / sxx
    a = my - b * mx
    ss_res = sum((y - a - b * x) ** 2 for x, y in zip(xs, ys))
    ss_tot = sum((y - my) ** 2 for y in ys)
    return a, b, 1.0 - ss_res / ss_tot if ss_tot else 1.0
