"""The one clock formatter every report of a call uses."""

from audits.calldata.clock import clock


def test_clock_reads_minutes_seconds_and_hours():
    assert clock(12.34) == "00:12.3"
    assert clock(62.0) == "01:02.0"
    assert clock(3723.46) == "1:02:03.5"
    assert clock(12.346, decimals=2) == "00:12.35"
    assert clock(59.99) == "01:00.0"  # rounded before it is split: never 00:60.0
    assert clock(None) == "–"
