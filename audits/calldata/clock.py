"""Times in a call as people read them: ``clock(12.34)`` is ``00:12.3``, past the hour
``1:02:03.4``. One formatter for every report of a call (terminal, spreadsheets)."""

from __future__ import annotations


def clock(seconds: float | None, decimals: int = 1) -> str:
    """``MM:SS.s`` (``decimals`` digits of the second), ``H:MM:SS.s`` from the hour on; ``–``
    for an unknown time. Rounded first, so 59.99 s is ``01:00.0``, never ``00:60.0``."""
    if seconds is None:
        return "–"
    scale = 10 ** decimals
    minutes, rest = divmod(round(seconds * scale), 60 * scale)
    hours, minutes = divmod(minutes, 60)
    width = 3 + decimals if decimals else 2
    shown = f"{minutes:02d}:{rest / scale:0{width}.{decimals}f}"
    return f"{hours}:{shown}" if hours else shown
