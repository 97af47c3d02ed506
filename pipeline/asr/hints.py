"""The spec's phrases as decoder hints for the few turns a verdict hangs on (``asr.spec_prompt``).

tiny.en cannot spell a name it never saw ("Apex service centre" comes back as "say pastor with
center") and, under noise and codecs, turns "May I put you on hold for a moment?" into "May I book
you or go to the moment?": the greeting reads as missing, the hold as unannounced dead air. Such a
turn is read again with the spec's phrases as faster-whisper hotwords, and the second reading is
kept only when it says them. Which turns: the call's first speech region (``opening``), and with
``key_turns`` also, on the channel that spoke first (the agent's; a mono call's only one), the
regions that end shortly before a hold-length pause in every channel (the announcement, and a
consent after it: a mono mix's "Sure."), the greeting's region left to the greeting hint, and,
where one of them announced the pause, the first region after it (the thanks for waiting).

Only these turns: a hint on every window made a dev call say "anything else" its agent never said.
Where they are is known from the speech regions alone, before any text.

Every call opens with a greeting; most pauses are not holds. Before a pause a hint can make the
decoder write its phrases over speech that said something else (a dev call's garbled "what is the
new address?" came back "if I put you on hold."). So a hold's hinted reading must also convince
the audio without the hint: scored by forced decoding with no prompt (``pipeline.asr.verify``), it
may be at most verification's margin less likely than the first reading (that one: 14.4 nats less
likely; the test call's "may I put you on hold for a moment.": 4.7 nats likelier than "I hope you
want to hold a moment."). The greeting is not checked so: the first region is where the agent
greets, and forced decoding without the hint finds a name tiny.en cannot spell unlikely however
it is said.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass

from audits.verification import phrase_words
from pipeline.audio.activity import Region

RegionAt = tuple[int, int]  # (channel, index of the region in that channel)


@dataclass(frozen=True)
class Hint:
    prompt: str  # the hotwords: "May I put you on hold. One moment. …"
    said: Callable[[str], bool]  # does a reading say what the hint is for?
    # The phrase a reading says: given where the turn is not expected to say the phrases (most
    # pauses are not holds; every call opens with a greeting), the hinted reading must convince the
    # audio alone too, within verification's margin for that phrase.
    phrase: Callable[[str], str | None] | None = None


@dataclass(frozen=True, kw_only=True)
class TurnHints:
    """What ``asr.spec_prompt`` hints. ``hold`` and ``thanks`` None: the opening only. The figures
    are the settings' (``turn_hints`` in ``pipeline.transcribe``)."""

    greeting: Hint
    hold: Hint | None = None
    thanks: Hint | None = None
    pause: float  # a pause in every channel this long may be a hold (timing.hold_min_seconds)
    within: float  # the turns hinted around it end (start) at most this long before (after) it
    margin: float  # nats a hinted reading may be less likely than the first (verify.margin) …
    margin_per_word: float  # … plus this per word of the phrase it says (verify.margin_per_word)

    def allowed(self, phrase: str) -> float:
        """How many nats less likely than the first reading the audio may find a hinted one saying ``phrase``."""
        return self.margin + self.margin_per_word * phrase_words(phrase)


def pauses(regions: list[list[Region]], seconds: float) -> list[Region]:
    """The gaps of at least ``seconds`` between speech in any channel, in order."""
    spans = sorted(region for channel in regions for region in channel)
    found, reached = [], None
    for start, end in spans:
        if reached is not None and start - reached >= seconds:
            found.append((reached, start))
        reached = end if reached is None else max(reached, end)
    return found


def before_pauses(regions: list[list[Region]], hints: TurnHints) -> list[tuple[Region, list[RegionAt]]]:
    """Each hold-length pause and, per channel, its regions ending at most ``within`` before it: the
    announcement may be followed by a consent on the same channel (a mono mix's "Sure.")."""
    ends = [[end for _, end in channel] for channel in regions]
    found = []
    for pause in pauses(regions, hints.pause):
        found.append((pause, [(c, i) for c in range(len(regions))
                              for i in range(bisect.bisect_left(ends[c], pause[0] - hints.within),
                                             bisect.bisect_right(ends[c], pause[0]))]))
    return found


def after_pause(regions: list[list[Region]], channel: int, pause: Region, within: float) -> RegionAt | None:
    """The channel's first region starting at most ``within`` after the pause ends."""
    starts = [start for start, _ in regions[channel]]
    i = bisect.bisect_left(starts, pause[1])
    return (channel, i) if i < len(starts) and starts[i] - pause[1] <= within else None
