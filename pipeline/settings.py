"""Every setting, declared once: its type (with its range or choices), its default and one line of
documentation, on the mechanism of the spec's check parameters (:mod:`audits.params`).

A section is a frozen dataclass whose fields are made with :func:`audits.params.param`; a field
whose type is :class:`Section` holds a nested section, one whose type is :class:`Entries` a mapping
of names the user chooses (a new ring-back cadence) to small sections. :class:`Settings` is the
root. From these declarations come the defaults, the validation of a settings file
(``pipeline.config``), the dictionary the pipeline reads (:func:`as_dict`) and the settings
reference in the README (:func:`reference`; ``python -m pipeline.settings`` rewrites it).
``configs/default.yaml`` is the commented template for users; a test holds its values to these.

Cross-field rules live in a section's ``__post_init__`` and raise :class:`audits.params.OptionError`
naming the field to blame, as a check kind's options do.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from audits.params import (
    Flag,
    OneOf,
    OptionError,
    ParamType,
    Patterns,
    Strings,
    SubsetOf,
    Text,
    declared,
    param,
)
from audits.pii import CATEGORIES
from pipeline.setting_types import PATH_GROUPS, Bounded, Entries, Int, PathPattern, PathText, Real, Reals, Section

__all__ = ["Settings", "as_dict", "reference", "rows"]


# --- the declarations ----------------------------------------------------------------------------

COMPUTE_TYPES = ("default", "auto", "int8", "int8_float32", "int8_float16", "int8_bfloat16", "int16",
                 "float16", "bfloat16", "float32")  # CTranslate2's


@dataclass(frozen=True, kw_only=True)
class Asr:
    """Speech recognition: faster-whisper on the speech regions of each channel."""

    model: str = param(Text(), "a local CTranslate2 model folder, an installed offline model package, or a "
                               "faster-whisper size / Hugging Face repo id (downloads when online)", "tiny.en")
    device: str = param(OneOf("cpu", "cuda", "auto"), "where the model runs", "cpu")
    compute_type: str = param(OneOf(*COMPUTE_TYPES), "CTranslate2 compute type: int8 on CPU; float16 or "
                                                     "int8_float16 on GPU", "int8")
    cpu_threads: int = param(Int(0), "CTranslate2 and torch threads; 0: every core, divided between batch "
                                     "workers", 0)
    beam_size: int = param(Int(1), "beam search width", 5)
    batch_size: int = param(Int(0), "speech chunks (≤ 30 s) decoded together; 0 or 1: each channel decoded "
                                    "window by window (configs/default.yaml: speed and memory)", 3)
    region_padding: float = param(Real(0.0), "seconds of audio added around each speech region before it is "
                                             "transcribed (at most half the gap to the next)", 0.5)
    spec_prompt: str = param(OneOf("off", "opening", "key_turns", "hotwords", "initial_prompt"),
                             "the spec's phrases as decoder hints. opening: the call's first speech region is read "
                             "again with the greeting as faster-whisper hotwords when its reading lacks the greeting "
                             "(kept when the second says it); key_turns: that, and the regions around each pause of "
                             "timing.hold_min_seconds with the hold's phrases (kept when the audio alone agrees); "
                             "hotwords / initial_prompt: the greeting and closing question on every window (README, "
                             "Verdicts that survive ASR errors)", "key_turns")
    guard: bool = param(Flag(), "decode again, one window at a time at temperature 0 (then with repeated runs "
                                "blocked), a batched chunk that loops or reads unlikely (pipeline/asr/guard.py)",
                        True)
    guard_compression_ratio: float = param(Real(above=1.0), "a chunk whose text compresses (zlib) more than "
                                                            "this is a repetition loop", 2.4)
    guard_log_prob: float = param(Real(high=0.0), "a chunk whose mean token log-probability is below this "
                                                  "reads unlikely", -1.0)
    guard_repeats: int = param(Int(2), "a chunk in which one run of 3 words comes this many times is a loop", 4)


@dataclass(frozen=True, kw_only=True)
class Verify:
    """Phrase verification: a required phrase the text of its window lacks (or a forbidden one found
    only fuzzily) is checked against the audio of those turns (pipeline/asr/verify.py)."""

    enabled: bool = param(Flag(), "check phrases the text lacks against the audio", True)
    margin: float = param(Real(0.0, 100.0), "a phrase counts as said when the reading with it is at most this "
                                            "many nats (plus margin_per_word per word) less likely than the words "
                                            "decoded (calibrated: README, Verdicts that survive ASR errors)", 2.0)
    margin_per_word: float = param(Real(0.0, 20.0), "nats added to the margin per word of the phrase", 1.5)
    forbidden_margin: float = param(Real(0.0, 100.0), "a forbidden phrase found in the text only fuzzily counts "
                                                      "as said when the reading with it is at most this many nats "
                                                      "less likely than the words decoded (0: the audio must "
                                                      "prefer it)", 0.0)


@dataclass(frozen=True, kw_only=True)
class Vad:
    """Silero VAD per channel: the timing truth."""

    threshold: float = param(Real(0.0, 1.0), "speech probability above which a 32 ms window is speech "
                                             "(0.35 suits 8 kHz telephone speech)", 0.35)
    min_speech_duration_ms: int = param(Int(0), "shorter speech is not transcribed (counted for timing when it "
                                                "rose earlier: a brief reply), ms", 250)
    min_silence_duration_ms: int = param(Int(0), "gaps shorter than this stay inside one turn, ms", 500)
    speech_pad_ms: int = param(Int(0), "padding VAD adds around each speech region, ms", 100)
    loud_db: float = param(Real(0.0, 60.0), "a reply Silero never holds above threshold counts for timing when it "
                                            "stands this far over the channel's noise floor (and reaches the lower "
                                            "threshold), a leg's own sound this loud just before a speech region "
                                            "starts it (syllables Silero was deaf to), a run of it half "
                                            "min_speech_duration_ms long may be an unheard reply, and loud words "
                                            "no region holds, as loud as the speech heard on the leg, are scored "
                                            "again by Silero from a fresh state (a leg its carried state went "
                                            "deaf to), dB; 0: off", 10.0)
    voiced_aperiodicity: float = param(Real(0.0, 1.0), "a run of voiced sound (YIN aperiodicity under this for "
                                                       "80 ms, or 40 ms standing loud_db / 2 over the floor) where a "
                                                       "reply to the other party would lie may be an "
                                                       "unheard reply (a consent too faint for loud_db, under line "
                                                       "noise that is never periodic; not where the call's quiet "
                                                       "is voiced itself: babble); 0: off", 0.35)


@dataclass(frozen=True, kw_only=True)
class Leakage:
    """Stereo calls: each leg leaks into the other (line echo, headset bleed). A speech region that is
    the other leg's echo is dropped before ASR, one that starts or ends with echo is trimmed to the
    leg's own voice; the leak's delay and gain are measured on each call."""

    enabled: bool = param(Flag(), "look for the other leg's echo in each leg", True)
    max_delay_ms: float = param(Real(0.0, 1000.0), "the echo comes at most this late, ms (echo path and recorder "
                                                   "skew; never more than 5 ms early)", 200.0)
    max_gain_db: float = param(Real(-40.0, 0.0), "an echo is quieter than its source by at least this much, dB",
                               -6.0)
    margin_db: float = param(Real(0.0, 30.0), "a frame this much louder than the predicted echo and the noise "
                                              "floor is the leg's own voice (where no leak was found, and on a "
                                              "mono mix: its own sound, for silent calls and unheard replies), dB",
                             6.0)
    min_own_speech_ms: float = param(Real(0.0, 2000.0), "a region with less own voice than this is echo, ms", 150.0)
    trim_pad_ms: float = param(Real(0.0, 1000.0), "kept around the own voice of a trimmed region, ms", 150.0)


@dataclass(frozen=True, kw_only=True)
class Weights:
    """How much each sign of the agent's part counts when the agent is found from the call."""

    greeting: float = param(Real(0.0, 10.0), "the spec's opening greeting in a party's first turns", 2.0)
    closing: float = param(Real(0.0, 10.0), "the spec's closing question in its last turns (mono calls)", 1.0)
    first_speech: float = param(Real(0.0, 10.0), "spoke first after the answer", 1.0)
    talk_share: float = param(Real(0.0, 10.0), "share of the talk (mono calls)", 0.5)

    def __post_init__(self):
        if not any(getattr(self, f.name) for f in declared(Weights)):
            raise OptionError("", "roles.weights: at least one sign must weigh more than 0")


@dataclass(frozen=True, kw_only=True)
class Roles:
    """Which party is the agent."""

    agent_channel: str = param(OneOf("left", "right", "auto"), "the agent's stereo channel; auto: the channel "
                                                               "that greets first with the spec's opening phrases",
                               "auto")
    review_below: float = param(Real(0.0, 1.0), "a role assignment less confident than this is flagged for "
                                                "review", 0.7)
    weights: Weights = param(Section(Weights), "how much each sign counts (the highest weighted sum is the agent, "
                                               "the margin over the runner-up the confidence)", Weights())
    greeting_turns: int = param(Int(1, 20), "a party's first turns searched for the greeting", 2)
    closing_turns: int = param(Int(1, 20), "its last turns searched for the closing question", 3)


@dataclass(frozen=True, kw_only=True)
class Diarization:
    """Who speaks when in mono recordings (the diarize extra: pyannote.audio, torch)."""

    pipeline: str = param(PathText(), "a pyannote pipeline folder, a folder of the weights callqa assembles its "
                                  "pipeline from, or a pipeline name on the Hugging Face Hub", "./models/diarization")
    token_env: str = param(Text(), "environment variable holding the Hugging Face token for gated pipelines",
                           "HF_TOKEN")
    device: str = param(OneOf("cpu", "cuda"), "where the pipeline runs", "cpu")
    min_speakers: int = param(Int(1, 20), "fewest speakers in a call (2 keeps two similar voices apart)", 2)
    max_speakers: int = param(Int(1, 20), "most speakers in a call", 2)
    telemetry: bool = param(Flag(), "let pyannote.audio 4 report usage (not audio) to pyannote.ai", False)
    segmentation_step: float = param(Real(0.05, 1.0), "step between the segmentation model's 5 s windows (and "
                                                      "the overlap model's 10 s ones), as a share of the window",
                                     0.2)
    segmentation_threshold: float = param(Real(0.1, 0.9), "speaker activity above this is speech", 0.5)
    overlap_threshold: float = param(Real(0.0, 1.0), "two voices at once where the overlap model (segmentation-3.0, "
                                                     "beside the local weights' pipeline) gives them at least this "
                                                     "probability; a turn that ends or starts there is carried "
                                                     "through; 0: not looked for", 0.5)
    clustering_threshold: float = param(Real(0.0, 2.0), "speakers whose voices are closer than this are one "
                                                        "speaker (euclidean distance of unit embeddings)", 0.7)
    min_cluster_size: int = param(Int(1, 20), "clusters of fewer chunks than this are folded into the nearest "
                                              "large one", 12)

    def __post_init__(self):
        if self.min_speakers > self.max_speakers:
            raise OptionError("min_speakers", f"diarization.min_speakers ({self.min_speakers}) is more than "
                                              f"diarization.max_speakers ({self.max_speakers})")


@dataclass(frozen=True, kw_only=True)
class Cadence:
    """One ring-back cadence: tone frequencies, seconds of tone and of pause per ring."""

    frequencies: tuple = param(Reals(Real(above=0.0, as_written=True)), "tone frequencies, Hz")
    on_seconds: float = param(Real(above=0.0, as_written=True), "seconds of tone per ring")
    off_seconds: float = param(Real(above=0.0, as_written=True), "seconds of pause per ring")


@dataclass(frozen=True, kw_only=True)
class Ringback:
    """Ring-back tone before the answer (used when call metadata gives no ring time)."""

    enabled: bool = param(Flag(), "look for ring-back", True)
    search_seconds: float = param(Real(above=0.0), "how far into the recording to look, seconds", 90.0)
    min_tone_ratio: float = param(Real(0.0, 1.0), "share of the telephone band's power the tones must hold in a "
                                                  "tone frame", 0.5)
    timing_tolerance: float = param(Real(0.0), "seconds a burst or a pause may differ from the cadence's", 0.3)
    cadences: tuple = param(Entries(Cadence), "the cadences tried (the one heard with the most rings wins); "
                                              "a file's cadences are added to these",
                            (("cn", Cadence(frequencies=(450,), on_seconds=1.0, off_seconds=4.0)),
                             ("us", Cadence(frequencies=(440, 480), on_seconds=2.0, off_seconds=4.0))))


@dataclass(frozen=True, kw_only=True)
class Timing:
    """What the timing measurements list (the spec judges it)."""

    silence_threshold: float = param(Real(0.0), "mutual silences longer than this are listed in the measurements "
                                                "(a floor: what is dead air is the spec's silence.dead_air; a value "
                                                "above its limit is lowered to it)", 10.0)
    interruption_min_overlap: float = param(Real(0.0), "overlaps at least this long are listed (a floor: what is "
                                                       "an interruption is the spec's interaction.no_interrupt)", 2.0)
    hold_min_seconds: float = param(Real(0.0), "an announced pause this long is a hold", 5.0)
    hold_unannounced_seconds: float = param(Real(0.0), "a silence this long is a hold even without an "
                                                       "announcement", 20.0)
    hold_announcement_within: float = param(Real(0.0), "the announcing agent turn, or the consent after it, ends "
                                                       "at most this long before the silence", 3.0)
    hold_consent_max_seconds: float = param(Real(0.0), "what is said between the announcement and the silence "
                                                       "(the customer's 'Yes, okay', the agent's 'Thanks'), at "
                                                       "most this long, is consent: the hold is still announced",
                                            3.0)
    customer_silent_max_speech: float = param(Real(0.0), "customer speech, and (stereo) sound of the customer's "
                                                         "own leg, both below this many seconds: a silent call",
                                              0.5)


@dataclass(frozen=True, kw_only=True)
class Batch:
    """The nightly batch."""

    extensions: tuple = param(Strings(), "which files under the archive are recordings (case-insensitive)",
                              ("wav", "mp3", "flac", "ogg", "opus", "m4a", "aac", "amr", "wma"))
    exclude: tuple = param(Strings(), "glob patterns (relative to the archive) to leave out", ())
    agent_from_path: str = param(PathPattern(), "a regex on the path under the archive whose groups agent, "
                                                "agent_name, team fill in what metadata does not give", "")
    call_timeout_s: float = param(Real(0.0, 7 * 86400.0), "the longest one call may take, seconds (0: no limit); "
                                                          "a call past it is stored as failed", 3600.0)
    db: str = param(PathText(), "the results store (SQLite)", "out/callqa.sqlite")
    out: str = param(PathText(), "where the batch writes the night's reports", "out/reports")


@dataclass(frozen=True, kw_only=True)
class Redaction:
    """Personal data (README, Personal data): redacted in the worker from everything that leaves it
    (transcript JSON, store, evidence, reports, terminal); checks still read the clear text."""

    enabled: bool = param(Flag(), "redact personal data (false: everything is stored and shown in the clear)", True)
    categories: tuple = param(SubsetOf(*CATEGORIES), "what is redacted; name: the customer's surname from call "
                                                     "metadata", tuple(c for c in CATEGORIES if c != "name"))
    keep_last: int = param(Int(0, 6), "digits kept at the end of a number of the keep_last_in categories "
                                      "([CARD-1111]); 0: none", 4)
    keep_last_in: tuple = param(SubsetOf(*CATEGORIES[:5]), "the categories whose last digits are kept", ("card",))
    account_patterns: tuple = param(Patterns(), "account and order numbers of your systems, matched on a "
                                                "number's digits and on written text (ORD-\\d{8})", ())
    account_min_digits: int = param(Int(4, 30), "a number this long after a word about accounts or orders is an "
                                                "account number", 6)
    min_digits: int = param(Int(7, 40), "any other number at least this long is redacted (category number)", 9)
    keep_clear_transcript: bool = param(Flag(), "store and write the transcript in the clear (findings, reports "
                                                "and terminal stay redacted); only where a deployment must", False)
    audio: str = param(OneOf("silence", "tone"), "what callqa redact-audio puts over a redacted span", "silence")
    tone_hz: float = param(Real(50.0, 4000.0), "the tone's frequency, Hz", 1000.0)


@dataclass(frozen=True, kw_only=True)
class Settings:
    """All settings; a user's file gives only what it changes."""

    spec: str = param(Text(), "the service spec the calls are audited against (a path, or a bundled spec name)",
                      "en")
    asr: Asr = param(Section(Asr), Asr.__doc__, Asr())
    vad: Vad = param(Section(Vad), Vad.__doc__, Vad())
    leakage: Leakage = param(Section(Leakage), Leakage.__doc__, Leakage())
    roles: Roles = param(Section(Roles), Roles.__doc__, Roles())
    diarization: Diarization = param(Section(Diarization), Diarization.__doc__, Diarization())
    ringback: Ringback = param(Section(Ringback), Ringback.__doc__, Ringback())
    timing: Timing = param(Section(Timing), Timing.__doc__, Timing())
    batch: Batch = param(Section(Batch), Batch.__doc__, Batch())
    redaction: Redaction = param(Section(Redaction), Redaction.__doc__, Redaction())
    verify: Verify = param(Section(Verify), Verify.__doc__, Verify())


# --- what the declarations give ------------------------------------------------------------------

def as_dict(options: Any) -> dict:
    """A section as the plain YAML-shaped data the pipeline reads (``settings["asr"]["model"]``):
    sections and entries become dicts, tuples lists."""
    out = {}
    for field in declared(type(options)):
        out[field.name] = _plain(field.metadata["type"], getattr(options, field.name))
    return out


def _plain(kind: ParamType, value: Any) -> Any:
    if isinstance(kind, Section):
        return as_dict(value)
    if isinstance(kind, Entries):
        return {name: as_dict(entry) for name, entry in value}
    if isinstance(value, tuple):
        return list(value)
    return value


def rows(options_class: type = Settings, prefix: str = "") -> list[tuple[str, dataclasses.Field]]:
    """Every setting (not the sections holding them) as (dotted name, field), in declaration order."""
    out = []
    for field in declared(options_class):
        kind = field.metadata["type"]
        if isinstance(kind, Section):
            out += rows(kind.options, f"{prefix}{field.name}.")
        else:
            out.append((prefix + field.name, field))
    return out


def reference() -> str:
    """Markdown: one row per setting (name, type, default, range or choices, meaning)."""
    lines = ["| setting | type | default | range | meaning |", "|---|---|---|---|---|"]
    for name, field in rows():
        kind = field.metadata["type"]
        kind_name, allowed = _columns(kind)
        lines.append(f"| `{name}` | {kind_name} | {_default(kind, field.default)} | {allowed} | "
                     f"{field.metadata['doc']} |")
    return "\n".join(lines) + "\n"


def _columns(kind: ParamType) -> tuple[str, str]:
    if isinstance(kind, Bounded):
        return kind.noun.split()[-1], kind.bounds()
    if isinstance(kind, OneOf):
        return "choice", ", ".join(f"`{choice}`" for choice in kind.choices)
    if isinstance(kind, Entries):
        return "mapping", ", ".join(f"{f.name}: {f.metadata['type'].describe()}" for f in declared(kind.options))
    if isinstance(kind, Flag):
        return "boolean", ""
    if isinstance(kind, SubsetOf):
        return "list", ", ".join(f"`{choice}`" for choice in kind.choices)
    if isinstance(kind, Patterns):
        return "list of regexes", ""
    if isinstance(kind, Strings):
        return "list of strings", ""
    if isinstance(kind, PathPattern):
        return "regex", '`""` (none) or naming a group ' + ", ".join(f"`{group}`" for group in PATH_GROUPS)
    return "string", ""


def _default(kind: ParamType, value: Any) -> str:
    return "`" + _yaml(_plain(kind, value)).replace("|", "\\|") + "`"


def _yaml(value: Any) -> str:
    """A value as YAML flow text."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return value if value else '""'
    if isinstance(value, list):
        return "[" + ", ".join(map(_yaml, value)) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key}: {_yaml(item)}" for key, item in value.items()) + "}"
    return str(value)


# --- python -m pipeline.settings -----------------------------------------------------------------

BEGIN, END = "<!-- settings:begin -->\n", "<!-- settings:end -->"


def _main(argv: list[str]) -> int:
    """Print the settings reference (Markdown); with ``--write-readme``, put it in README.md between
    the settings markers instead."""
    if argv == ["--write-readme"]:
        from pathlib import Path

        readme = Path(__file__).resolve().parent.parent / "README.md"
        head, rest = readme.read_text(encoding="utf-8").split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        readme.write_text(head + BEGIN + reference() + END + tail, encoding="utf-8")
        print(f"updated {readme}")
    elif not argv or argv == ["--markdown"]:
        print(reference(), end="")
    else:
        print("usage: python -m pipeline.settings [--markdown | --write-readme]")
        return 2
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(_main(sys.argv[1:]))
