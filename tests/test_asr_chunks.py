"""Batched ASR's chunking, without the model: regions cut into <= 30 s chunks, long regions cut at
their quietest moment, every word mapped back to its channel, region and original time."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from audits.calldata.transcript import Word
from pipeline.asr.engine import (
    CHUNK_SECONDS,
    PACK_GAP_SECONDS,
    _balanced,
    _chunks,
    _pack_chunks,
    _padded_bounds,
    _placed_of,
    _placed_words,
    _split_long,
    _uncovered,
)
from pipeline.audio.decode import SAMPLE_RATE

SR = SAMPLE_RATE


def test_padding_is_at_most_half_the_gap_to_a_neighbour():
    bounds = _padded_bounds([(1.0, 2.0), (2.4, 3.0), (10.0, 11.0)], length=12 * SR, padding=0.5)
    assert bounds == [(int(0.5 * SR), int(2.2 * SR)), (int(2.2 * SR), int(3.5 * SR)), (int(9.5 * SR), int(11.5 * SR))]
    assert _padded_bounds([(0.1, 11.9)], length=12 * SR, padding=0.5) == [(0, 12 * SR)]


def test_a_long_region_is_cut_at_its_quietest_moment():
    samples = np.full(70 * SR, 0.1, dtype=np.float32)
    samples[int(25.0 * SR):int(25.3 * SR)] = 0.0  # a pause 25 s in
    pieces = _split_long(samples, 0, len(samples))
    assert pieces[0][0] == 0 and pieces[-1][1] == len(samples)
    assert all(b == c for (_, b), (c, _) in zip(pieces, pieces[1:]))  # contiguous, nothing lost or doubled
    assert all(b - a <= CHUNK_SECONDS * SR for a, b in pieces)
    assert 25.0 * SR <= pieces[0][1] <= 25.3 * SR
    assert _split_long(samples, 0, 10 * SR) == [(0, 10 * SR)]


def test_chunks_hold_whole_pieces_up_to_thirty_seconds_with_the_gaps():
    pieces = [(0, i, i * 20 * SR, i * 20 * SR + 10 * SR) for i in range(5)]  # five 10 s pieces
    chunks = _chunks(pieces)
    assert [len(c) for c in chunks] == [2, 2, 1]  # 10 + 0.4 + 10 fits, a third would not
    gap = int(PACK_GAP_SECONDS * SR)
    for chunk in chunks:
        assert sum(last - first for _, _, first, last in chunk) + gap * (len(chunk) - 1) <= CHUNK_SECONDS * SR


def test_a_chunk_holds_one_channel():
    pieces = [(0, 0, 0, 2 * SR), (1, 0, 3 * SR, 5 * SR), (0, 1, 6 * SR, 8 * SR), (0, 2, 9 * SR, 10 * SR)]
    assert [[p[:2] for p in chunk] for chunk in _chunks(pieces)] == [[(0, 0)], [(1, 0)], [(0, 1), (0, 2)]]


def test_packed_times_map_back_to_channel_region_and_original_time():
    left = np.arange(40 * SR, dtype=np.float32)
    right = -np.arange(40 * SR, dtype=np.float32)
    pieces = [(0, 0, 2 * SR, 6 * SR), (0, 1, 30 * SR, 38 * SR), (1, 0, 3 * SR, 5 * SR)]
    chunks = _chunks(pieces)
    packed, clips, placed = _pack_chunks([left, right], chunks)
    gap = int(PACK_GAP_SECONDS * SR)
    assert len(packed) == 4 * SR + gap + 8 * SR + 2 * SR
    first_end = (4 * SR + gap + 8 * SR) / SR
    assert clips == [{"start": 0.0, "end": first_end}, {"start": first_end, "end": len(packed) / SR}]
    # the second region of the left channel sits after the first one and the gap
    at = 4 * SR + gap
    assert packed[at] == left[30 * SR]
    channel, region, offset, _ = _placed_of(at / SR + 1.0, 0.0, clips, placed)
    assert (channel, region) == (0, 1) and at / SR + 1.0 + offset == pytest.approx(31.0)
    # the right channel's chunk; its segment starts at the clip start floored to 10 ms
    channel, region, offset, _ = _placed_of(first_end + 1.5, first_end - 0.009, clips, placed)
    assert (channel, region) == (1, 0) and first_end + 1.5 + offset == pytest.approx(4.5)


def test_regions_left_uncovered_are_retried():
    words = [Word(2.2, 2.6, "hello"), Word(2.7, 3.9, "there")]
    assert not _uncovered((2.0, 4.0), words)
    assert _uncovered((2.0, 8.0), words)  # nothing heard in the last 4 s
    assert _uncovered((0.0, 4.0), words)  # nor in the first 2 s
    assert _uncovered((2.0, 3.0), [])
    assert not _uncovered((2.0, 2.3), [])  # a short blip without words is no loss


def test_a_word_is_only_mapped_within_its_own_chunk():
    left = np.zeros(100 * SR, dtype=np.float32)
    pieces = [(0, 0, 0, 25 * SR), (0, 1, 50 * SR, 75 * SR)]
    packed, clips, placed = _pack_chunks([left], _chunks(pieces))
    assert len(clips) == 2 and clips[1]["start"] == 25.0
    # a word of the first chunk timed just past its end still belongs to the first chunk's region
    assert _placed_of(25.05, 0.0, clips, placed)[:2] == (0, 0)
    assert _placed_of(25.05, 25.0, clips, placed)[:2] == (0, 1)


def test_a_word_stretched_past_its_piece_keeps_within_it():
    """Whisper stretches a piece's last word into the silence packed after it; mapped back, that end
    would lie in the next piece's time (on a mono mix: the next speaker's turn, which then took the
    word). A decoded word lies within the audio of the piece it was placed in."""
    mix = np.zeros(20 * SR, dtype=np.float32)
    pieces = [(0, 0, 2 * SR, 5 * SR), (0, 1, 5 * SR, 8 * SR)]  # two speakers' stretches, cut at 5.0 s
    packed, clips, placed = _pack_chunks([mix], _chunks(pieces))
    second_start = 3.0 + PACK_GAP_SECONDS
    stretched = SimpleNamespace(word=" with?", start=2.7, end=second_start + 0.1, probability=0.9)
    early = SimpleNamespace(word=" No,", start=2.9, end=second_start + 0.4, probability=0.9)
    segment = SimpleNamespace(start=0.0, words=[stretched, early])
    (_, c0, r0, last), (_, c1, r1, first) = _placed_words([segment], clips, placed, "en")
    assert (c0, r0) == (0, 0) and (last.start, last.end) == (4.7, 5.0)
    assert (c1, r1) == (0, 1) and (first.start, first.end) == (5.0, 5.4)


def test_batches_are_balanced():
    assert [_balanced(n, 8) for n in (1, 8, 9, 16, 17, 32)] == [1, 8, 5, 8, 6, 8]
