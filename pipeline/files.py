"""Files callqa writes: names made from untrusted text, and writes that never leave half a file.

A call id comes from metadata or a transcript (untrusted): it becomes a file name only through
``safe_file_name``, which keeps it one plain name inside the chosen folder (no separators, no
``..``, no hidden or empty name, a length a file system takes). Ids that had to change get a short
hash of the original, so two distinct ids never share a file.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

MAX_NAME_BYTES = 200  # under the 255-byte limit of common file systems, with room for a suffix
_UNSAFE = re.compile(r"[^\w.\-]+")  # \w: letters and digits of any script (Chinese ids stay readable)


def safe_file_name(text: str, suffix: str = "") -> str:
    """``text`` as a file name that is only ever a name: letters, digits, ``_ - .``, not starting
    with a dot, at most MAX_NAME_BYTES bytes; changed ids carry 8 hex digits of their SHA-256."""
    name = _UNSAFE.sub("_", text).lstrip(".")
    if name == text and 0 < len(name.encode()) <= MAX_NAME_BYTES:
        return name + suffix
    tag = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    base = name.encode()[:MAX_NAME_BYTES - len(tag) - 1].decode("utf-8", "ignore")
    return (f"{base}-{tag}" if base else tag) + suffix


@contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """Write beside ``path`` and rename over it: a reader never sees half a file, and a failed write
    (a full disk, a crash) leaves the previous file whole. A symlink at ``path`` is replaced, never
    written through."""
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def check_writable_folder(folder: Path) -> None:
    """Create ``folder`` if needed and prove a file can be written there (permissions, a read-only
    mount, a full disk), so a long run does not find out at its end. Raises OSError."""
    folder.mkdir(parents=True, exist_ok=True)
    probe = folder / f".callqa-write-test-{os.getpid()}"
    try:
        with open(probe, "wb") as handle:
            handle.write(b"callqa")
            handle.flush()
            os.fsync(handle.fileno())
    finally:
        probe.unlink(missing_ok=True)
