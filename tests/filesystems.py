"""Real file-system conditions for the reliability tests: a read-only folder and a full disk.

Root ignores permission bits, so a read-only folder is a read-only bind mount for root and a
mode-0555 folder for anyone else; a full disk is a real tmpfs of a few hundred KiB (mounting needs
root; elsewhere those tests are skipped) that the test fills up.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def _mount(*args: str) -> bool:
    return subprocess.run(["mount", *args], capture_output=True).returncode == 0


@contextmanager
def read_only(folder: Path) -> Iterator[Path]:
    """``folder`` (created, with whatever it holds) made unwritable for this process, then restored."""
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        if not (_mount("--bind", str(folder), str(folder)) and _mount("-o", "remount,ro,bind", str(folder))):
            subprocess.run(["umount", str(folder)], capture_output=True)
            pytest.skip("cannot make a read-only bind mount here")
        try:
            yield folder
        finally:
            subprocess.run(["umount", str(folder)], check=True)
    else:
        folder.chmod(0o555)
        try:
            yield folder
        finally:
            folder.chmod(0o755)


@contextmanager
def tiny_filesystem(folder: Path, kib: int) -> Iterator[Path]:
    """A real tmpfs of ``kib`` KiB mounted on ``folder`` (root only), unmounted afterwards."""
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0 or not _mount("-t", "tmpfs", "-o", f"size={kib}k,mode=0755", "tmpfs", str(folder)):
        pytest.skip("a full disk is a small tmpfs: mounting one needs root")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "--lazy", str(folder)], check=True)


def fill(folder: Path, leave_bytes: int = 0) -> Path:
    """Fill the file system holding ``folder`` until at most ``leave_bytes`` are free; returns the
    filler file (delete it to free the space)."""
    filler = folder / "filler"
    stats = os.statvfs(folder)
    size = max(0, stats.f_bavail * stats.f_frsize - leave_bytes)
    with open(filler, "wb") as handle:
        try:
            handle.write(b"\0" * size)
            handle.flush()
        except OSError:
            pass
    return filler
