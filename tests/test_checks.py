"""The check kinds as declarations (docs, parameters), and the context helpers they share."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from builders import bundled

from audits.call_view import TURN_PAUSE_SECONDS, CallView, Window, quote, span_times
from audits.calldata.measurements import Measurements
from audits.calldata.transcript import Transcript, Turn, Word
from audits.checks import KINDS, reference
from audits.params import declared

README = Path(__file__).resolve().parent.parent / "audits" / "README.md"


def test_readme_kind_reference_is_current():
    text = README.read_text(encoding="utf-8")
    section = text.split("<!-- kinds:begin -->\n", 1)[1].split("<!-- kinds:end -->", 1)[0]
    assert section == reference(), "stale: run python -m audits.checks"


@pytest.mark.parametrize("name, cls", KINDS.items())
def test_every_kind_describes_itself_and_its_parameters(name, cls):
    assert cls.kind == name
    assert cls.__doc__ and cls.__doc__.strip()
    assert dataclasses.is_dataclass(cls.Options)
    fields = declared(cls.Options)
    assert [f.name for f in fields] == [f.name for f in dataclasses.fields(cls.Options)]
    for field in fields:
        assert field.metadata["doc"] and field.metadata["type"].describe()


def _context(turns, spec_name="zh-CN", answer_at=0.0, duration=None):
    turns = [Turn(*t) if not isinstance(t, Turn) else t for t in turns]
    duration = duration if duration is not None else max(t.end for t in turns) + 1
    transcript = Transcript("t", duration, "zh", turns, answer_at=answer_at)
    measurements = Measurements(duration=duration, answer_at=answer_at, ring_seconds=None, ring_count=None,
                                ring_source="unknown", answer_delay=None)
    return CallView(transcript, measurements, None, bundled(spec_name).matchers)


TURNS = [("agent", 1.0, 3.0, "一"), ("customer", 3.5, 5.0, "客户"), ("agent", 5.5, 8.0, "二"),
         ("agent", 10.0, 12.0, "三"), ("agent", 50.0, 55.0, "四"), ("customer", 55.5, 58.0, "再见")]


@pytest.mark.parametrize("window, texts", [
    (Window("answer", None, None), ["一", "二", "三", "四"]),
    (Window("answer", 6.0, None), ["一", "二"]),
    (Window("answer", None, 3), ["一", "二", "三"]),
    (Window("answer", 6.0, 1), ["一"]),
    (Window("end", 10.0, None), ["四"]),
    (Window("end", None, 2), ["三", "四"]),
    (Window("end", 60.0, 2), ["三", "四"]),
])
def test_windows_take_every_limit_given(window, texts):
    ctx = _context(TURNS)
    assert [t.text for t in ctx.window("agent", window)] == texts


def test_window_counts_from_the_answer_not_the_recording_start():
    ctx = _context(TURNS, answer_at=4.0)
    assert [t.text for t in ctx.window("agent", Window("answer", 6.0, None))] == ["二", "三"]


def test_turns_around_a_moment():
    ctx = _context(TURNS)
    assert [t.text for t in ctx.turns_before("agent", 9.0, seconds=4.0)] == ["二"]
    assert [t.text for t in ctx.turns_before("agent", 50.0, count=2)] == ["二", "三"]
    assert [t.text for t in ctx.turns_after("agent", 12.0, seconds=40.0)] == ["四"]
    assert [t.text for t in ctx.turns_after("customer", 0.0, count=1)] == ["客户"]


def test_turn_counts_are_turns_at_talk_not_sentences():
    # VAD cuts a turn at a 0.5 s sentence pause; nobody else spoke, so it is still one turn at talk.
    # A pause of TURN_PAUSE_SECONDS, or the customer starting to speak, begins the next one.
    turns = [("agent", 1.0, 3.0, "一"), ("agent", 3.6, 5.0, "一续"), ("customer", 5.5, 6.0, "嗯"),
             ("agent", 6.5, 8.0, "二"), ("agent", 8.0 + TURN_PAUSE_SECONDS, 11.0, "三"),
             ("customer", 10.0, 10.4, "对"), ("agent", 11.3, 12.0, "四")]
    ctx = _context(turns)
    assert [t.text for t in ctx.window("agent", Window("answer", None, 1))] == ["一", "一续"]
    assert [t.text for t in ctx.window("agent", Window("answer", None, 2))] == ["一", "一续", "二"]
    assert [t.text for t in ctx.turns_before("agent", 20.0, count=1)] == ["四"]  # the customer began during 三
    assert [t.text for t in ctx.timeline("agent").starting(0.0, 20.0, last=4)] == ["一", "一续", "二", "三", "四"]
    assert [t.text for t in ctx.timeline("agent").overlapping(3.5, 9.0, first=1)] == ["一续"]


def test_conversation_end_ignores_trailing_silence():
    ctx = _context(TURNS, duration=90.0)
    assert ctx.end == 58.0 and ctx.duration == 90.0


def test_evidence_times_come_from_word_timestamps():
    words = [Word(10.0, 10.4, "你好"), Word(10.5, 11.5, "说话呀"), Word(11.6, 12.0, "好吗")]
    turn = Turn("agent", 10.0, 12.0, "你好，说话呀，好吗", words)
    assert span_times(turn, 3, 6) == (10.5, 11.5)
    assert span_times(Turn("agent", 10.0, 12.0, "没有词", []), 0, 2) == (10.0, 12.0)
    mismatched = Turn("agent", 10.0, 12.0, "文字不同", [Word(10.0, 11.0, "别的")])
    assert span_times(mismatched, 0, 2) == (10.0, 12.0)


def test_quotes_mark_the_match_and_trim_long_turns():
    text = "前" * 50 + "说话呀" + "后" * 50
    quoted = quote(text, 50, 53, ("【", "】"))
    assert "【说话呀】" in quoted and quoted.startswith("…") and quoted.endswith("…")
    assert quote("short") == "short"
    assert quote("x" * 500).endswith("…") and len(quote("x" * 500)) < 200


def test_hits_and_groups_use_the_spec_matchers():
    ctx = _context([("agent", 0.5, 4.0, "你好天朝客服中心，很高兴为你服务")])
    found, missing = ctx.find_groups(ctx.turns("agent"), [["您好"], ["天潮客服中心"], ["请问还有什么可以帮助您"]])
    assert [h.match.phrase for h in found] == ["您好", "天潮客服中心"]
    assert missing == [["请问还有什么可以帮助您"]]
    assert found[1].evidence().text == "你好【天朝客服中心】，很高兴为你服务"
    assert ctx.matcher(("您好",)) is ctx.matcher(["您好"])  # built once per spec


def _judged(item_id: str, turns):
    """The finding of one item of the bundled English spec on a call of these turns."""
    spec = bundled("en")
    check = spec.checks[[item.id for item in spec.items].index(item_id)]
    return check.run(_context(turns, "en"))


def _thanked(probability: float, answered: bool):
    """An English call whose customer's "Thank you." was read with its first word at ``probability``."""
    thanks = Turn("customer", 3.0, 4.0, "Thank you.",
                  words=[Word(3.0, 3.4, "Thank", probability), Word(3.4, 4.0, "you.", 0.98)])
    reply = "You're welcome. Anything else?" if answered else "Anything else I can help you with?"
    return _judged("courtesy.thanks_reply",
                   [("agent", 0.5, 2.5, "Hello, Apex service centre."), thanks, ("agent", 4.5, 6.0, reply)])


def test_a_trigger_the_asr_all_but_guessed_obliges_nobody():
    # Whisper reads a garbled caller ("It is nine eight seven six") or line noise as "Thank you.",
    # its first word at 0.01-0.03; a "Thank you." really said reads 0.7-1.
    unsure = _thanked(0.02, answered=False)
    assert unsure.status == "na"
    assert "'Thank you' at 3.0 s ('Thank' read at probability 0.02)" in unsure.reason
    assert _thanked(0.9, answered=False).status == "fail"
    assert _thanked(0.9, answered=True).status == "pass"
    # a trigger without word probabilities (a given transcript) counts as written
    given = [("agent", 0.5, 2.5, "Hello."), ("customer", 3.0, 4.0, "Thank you."), ("agent", 4.5, 6.0, "Bye.")]
    assert _judged("courtesy.thanks_reply", given).status == "fail"


def test_a_surely_read_phrase_inside_an_unsure_one_is_the_trigger():
    words = [Word(3.0 + i / 2, 3.5 + i / 2, text, p) for i, (text, p) in enumerate(
        [("I", 0.06), ("want", 0.33), ("to", 0.97), ("make", 0.87), ("a", 0.98), ("complaint.", 1.0)])]
    complaint = Turn("customer", 3.0, 6.0, "I want to make a complaint.", words=words)
    finding = _judged("courtesy.apology", [("agent", 0.5, 2.5, "Hello, Apex service centre."), complaint,
                                           ("agent", 6.5, 8.0, "I'm very sorry for the trouble.")])
    assert finding.status == "pass" and "[complaint]" in finding.evidence[0].text
