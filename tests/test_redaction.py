"""Personal data: detection as ASR writes numbers (both languages), redaction of the transcript and
the findings (checks still judge the clear text), what the store keeps, the settings, the optional
read-back item, the redaction set's figures, and audio redaction on a real recording."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest
from conftest import CALLQA, REPO, SAMPLES

from audits.calldata.metadata import CallMetadata
from audits.calldata.transcript import Transcript, Turn, Word
from audits.pii import CATEGORIES, DetectOptions, RedactOptions, Redactor, detect
from audits.spec import SpecError, load_spec
from pipeline.call import CallProcessor
from pipeline.config import ConfigError, load_settings

sys.path.insert(0, str(REPO / "bench"))
import redaction as bench  # noqa: E402

ALL = DetectOptions(categories=CATEGORIES)


def call(*turns, language="en") -> Transcript:
    """Turns (role, text) two seconds apart, each word its own timed Word (Chinese: each character)."""
    out = []
    for n, (role, text) in enumerate(turns):
        start, words = 2.0 * n, []
        pieces = list(text) if language == "zh" else text.split(" ")
        for k, piece in enumerate(pieces):
            shown = piece if language == "zh" or not k else " " + piece
            words.append(Word(start + 0.1 * k, start + 0.1 * k + 0.08, shown))
        out.append(Turn(role, start, start + 1.9, text, words))
    return Transcript("t", 2.0 * len(turns), language, out)


def found(*turns, language="en", surname=None, options=ALL) -> list[str]:
    return [e.category for e in detect(call(*turns, language=language), options, surname)]


@pytest.mark.parametrize("text, category", [
    ("my card is 4532 0151 1283 0366", "card"),
    ("my card is 4532-0151-1283-0366.", "card"),
    ("four five three two, zero one five one, one two eight three, oh three six six", "card"),
    ("It is 4. 5. 3. 2. 0. 1. 5. 1. 1. 2. 8. 3. 0. 3. 6. 6.", "card"),  # Whisper's spoken-digit style
    ("my phone number is five five five, two one two, double seven oh one", "phone"),
    ("call me on (415) 555-0123", "phone"),
    ("it's +44 20 7946 0958", "phone"),
    ("plus eight six one three eight one two three four five six seven eight", "phone"),
    ("my phone is 6552 9988", "phone"),  # a local number, said after a word about phones
    ("The ID number is 11010519491231002X", "id_number"),
    ("one one zero one zero five one nine four nine one two three one zero zero two x", "id_number"),
    ("my email is john dot smith at gmail dot com", "email"),
    ("send it to amy_w@example.org please", "email"),
    ("my account number is 2023 1115 007", "account"),
    ("a reference 987654321012 you said", "account"),
])
def test_english_forms(text, category):
    assert found(("customer", text)) == [category]


@pytest.mark.parametrize("text, category", [
    ("我的手机号是幺三八幺二三四五六七八", "phone"),
    ("手机号码是一三八 1234 五六七八", "phone"),  # mixed forms
    ("电话是零幺零，六五五二，九九八八", "phone"),
    ("身份证号是幺幺〇幺〇五幺九四九幺二三幺〇〇二叉", "id_number"),
    ("卡号是四五三二〇幺五幺幺二八三〇三六六", "card"),
    ("我的订单号是两〇两三幺幺幺五〇〇七", "account"),
    ("我的邮箱是zhangsan艾特qq点com", "email"),
])
def test_chinese_forms(text, category):
    assert found(("customer", text), language="zh") == [category]


@pytest.mark.parametrize("text, language", [
    ("It costs $1,299.99 and arrives on March 15, 2024 at 10:30.", "en"),
    ("Your order of 12 boxes was placed on 2024-03-15, total 3,500 yuan.", "en"),
    ("call me at 10:30 tomorrow, the phone costs 499 dollars", "en"),
    ("my card ends in 0366", "en"),
    ("4532 0151 1283 0367 is not a card", "en"),  # fails the Luhn check: 16 digits are still a number
    ("订单是2024年3月15日下的，一共一千二百九十九元，下午三点半送到。", "zh"),
    ("我订了二十三箱，每箱八十六元。", "zh"),
])
def test_prices_dates_times_quantities_stay(text, language):
    got = found(("customer", text), language=language)
    assert got in ([], ["number"]) and ("0367" in text) == (got == ["number"]), got


def test_a_number_split_across_turns_with_the_other_party_between():
    turns = [("customer", "my phone number is one three eight"), ("agent", "uh-huh"),
             ("customer", "one two three four, five six seven eight.")]
    entities = detect(call(*turns), ALL)
    assert [e.category for e in entities] == ["phone"] and [p.turn for p in entities[0].pieces] == [0, 2]
    redacted, redactions = Redactor(RedactOptions(ALL)).transcript(call(*turns))
    assert [t.text for t in redacted.turns] == ["my phone number is [PHONE]", "uh-huh", "[PHONE+]."]
    assert redactions[0].start == pytest.approx(0.4) and redactions[0].end == pytest.approx(4.78)


def test_checksums_decide():
    """A wrong check character or birth date is no 身份证 number, and no card fails Luhn: still
    long numbers, redacted as such (an ASR slip must not let a number through)."""
    assert found(("customer", "ID 11010519491231002X")) == ["id_number"]
    assert found(("customer", "ID 110105194912310021")) == ["number"]  # wrong check character
    assert found(("customer", "ID 11010519491331002X")) == ["number"]  # month 13
    assert found(("customer", "card 4532 0151 1283 0366")) == ["card"]
    assert found(("customer", "card 4532 0151 1283 0367")) == ["number"]


def test_words_keep_their_times_and_the_text_matches_them():
    clear = call(("customer", "yes my card is 4532 0151 1283 0366 thanks"))
    redacted, [card] = Redactor(RedactOptions(ALL)).transcript(clear)
    turn = redacted.turns[0]
    assert turn.text == "yes my card is [CARD-0366] thanks"
    assert [w.text for w in turn.words] == ["yes", " my", " card", " is", " [CARD-0366]", " thanks"]
    merged = turn.words[4]
    assert (merged.start, merged.end) == (clear.turns[0].words[4].start, clear.turns[0].words[7].end)
    assert (card.category, card.role, card.start, card.end) == ("card", "customer", merged.start, merged.end)
    assert clear.turns[0].text.endswith("0366 thanks")  # the clear transcript is left as it was


def test_a_redacted_transcript_redacts_to_itself_with_the_same_redactions():
    """A rescore reads the stored (redacted) transcript: its placeholders are the entities again."""
    clear = call(("customer", "card 4532 0151 1283 0366, phone one three eight"), ("agent", "okay"),
                 ("customer", "one two three four five six seven eight"), language="en")
    redactor = Redactor(RedactOptions(ALL))
    once, first = redactor.transcript(clear)
    twice, second = Redactor(RedactOptions(ALL)).transcript(once)
    assert [t.text for t in twice.turns] == [t.text for t in once.turns]
    assert [(r.category, r.start, r.end) for r in second] == [(r.category, r.start, r.end) for r in first]


def test_the_surname_from_metadata_only_when_names_are_on():
    turns = [("agent", "Thank you, Mr. Brown, and the brown box ships today.")]
    assert found(*turns, surname="Brown") == ["name"]
    assert found(*turns, surname="Brown", options=DetectOptions()) == []  # name is off by default
    assert found(("agent", "好的，王先生，您姓王对吧"), language="zh", surname="王") == ["name", "name"]


def test_checks_judge_the_clear_text_and_only_the_output_is_redacted(tmp_path):
    """The optional read-back item (switched on) fails on the agent's full read-back; its evidence,
    the transcript and the reasons leave the worker redacted."""
    spec_file = tmp_path / "en_on.yaml"
    spec_file.write_text((REPO / "configs/spec/en.yaml").read_text(encoding="utf-8")
                         .replace("    enabled: false", "    enabled: true"), encoding="utf-8")
    processor = CallProcessor(load_settings(), load_spec(spec_file))
    clear = call(("agent", "Hello, Apex service centre, glad to serve you."),
                 ("customer", "my card is 4532 0151 1283 0366"),
                 ("agent", "so that is four five three two zero one five one one two eight three zero three six six"),
                 ("customer", "yes, my name is Tom Brown"), ("agent", "Thank you Mr. Brown"))
    audited = processor.audit_transcript(clear, CallMetadata(customer_surname="Brown"))
    finding = audited.result.finding("privacy.no_readback")
    assert finding.status == "fail" and finding.evidence[0].text == "so that is [[CARD-0366]]"
    assert audited.result.finding("courtesy.surname").status == "pass"
    document = json.dumps(audited.to_dict(), ensure_ascii=False)
    assert "0151" not in document and "one five one" not in document
    assert [r["category"] for r in audited.to_dict()["redactions"]] == ["card", "card"]
    assert "courtesy.surname" in document and "Brown" in document  # names are off by default


def test_bundled_specs_carry_the_read_back_item_switched_off():
    for name in ("en", "zh-CN"):
        spec = load_spec(name)
        assert "privacy.no_readback" not in [item.id for item in spec.items]
    broken = (REPO / "configs/spec/en.yaml").read_text(encoding="utf-8").replace(
        "    kind: phrases\n", "    kind: phrases\n    enabled: false\n", 1)
    with pytest.raises(SpecError, match="only an optional item can be disabled"):
        path = Path(pytest.importorskip("tempfile").mkdtemp()) / "x.yaml"
        path.write_text(broken, encoding="utf-8")
        load_spec(path)


@pytest.mark.parametrize("text, problem", [
    ("redaction:\n  categories: [phone, passport]\n", "redaction.categories"),
    ("redaction:\n  account_patterns: ['ORD-(\\d{8}']\n", "not a valid regular expression"),
    ("redaction:\n  keep_last: 9\n", "between 0 and 6"),
])
def test_bad_redaction_settings_are_refused(tmp_path, text, problem):
    path = tmp_path / "site.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=problem):
        load_settings(path)


def test_the_store_keeps_what_was_redacted_never_the_value(tmp_path):
    """A batch of transcript files (no ASR): redacted transcript, evidence and reports; the
    redactions table; with keep_clear_transcript only the stored transcript is clear."""
    archive = tmp_path / "calls"
    archive.mkdir()
    for name in ("zh_05_id_number", "zh_01_compliant"):
        (archive / f"{name}.json").write_bytes((SAMPLES / "transcripts" / f"{name}.json").read_bytes())
    for keep_clear in (False, True):
        db, out = tmp_path / f"{keep_clear}.sqlite", tmp_path / f"out{keep_clear}"
        config = tmp_path / "site.yaml"
        config.write_text(f"redaction:\n  keep_clear_transcript: {str(keep_clear).lower()}\n", encoding="utf-8")
        run = subprocess.run([*CALLQA, "batch", str(archive), "--ext", "json", "--spec", "zh-CN", "--db", str(db),
                              "--out", str(out), "--config", str(config), "--metadata", str(SAMPLES / "calls.csv")],
                             capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stderr
        with sqlite3.connect(db) as connection:
            rows = connection.execute("SELECT c.call_id, r.category, r.role FROM redactions r "
                                      "JOIN calls c ON c.key = r.call_key ORDER BY r.start_s").fetchall()
            stored = connection.execute("SELECT json FROM transcripts WHERE json LIKE '%zh_05%'").fetchone()[0]
        assert rows == [("zh_05_id_number", "phone", "customer"), ("zh_05_id_number", "id_number", "customer")]
        assert ("幺三八" in stored) == keep_clear and ("[PHONE]" in stored) != keep_clear
        everything = "".join(p.read_text(encoding="utf-8-sig") for p in out.glob("*.csv")) + run.stdout + run.stderr
        assert "幺三八" not in everything and "幺幺〇幺〇五" not in everything


def test_the_redaction_set_meets_its_goals():
    """≥ 300 utterances; recall ≥ 99 % on cards, IDs and phones; ≤ 2 % of prices, dates, times redacted."""
    result = bench.evaluate()
    assert result["utterances"] >= 300
    for category in ("card", "id_number", "phone"):
        stats = result["categories"][category]
        assert stats["found"] >= 0.99 * stats["truth"], (category, result["misses"])
    for kind in ("price", "date", "time"):
        stats = result["near_misses"][kind]
        assert stats["redacted"] <= 0.02 * stats["utterances"], (kind, result["misses"])
    assert {item["language"] for item in json.loads(bench.SET.read_text(encoding="utf-8"))["items"]} == {"en", "zh"}


def _pcm(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path), "rb") as wav:
        samples = np.frombuffer(wav.readframes(wav.getnframes()), "<i2")
        return samples.reshape(-1, wav.getnchannels()), wav.getframerate()


@pytest.mark.parametrize("tone", [False, True])
def test_redact_audio_silences_each_span_on_both_legs_and_leaves_the_rest(tmp_path, tone):
    """The real sample recording (G.711 wav) and its transcript: the card and phone spans are
    silent (or a tone) on both channels, every other sample is the decoded input's."""
    from pipeline.audio.redact import read_pcm

    source = SAMPLES / "en_19_card_payment.wav"
    out = tmp_path / "redacted.wav"
    run = subprocess.run([*CALLQA, "redact-audio", str(source), str(out), "--transcript",
                          str(SAMPLES / "transcripts" / "en_19_card_payment.json"), *(["--tone"] if tone else [])],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "2 redacted (card, phone)" in run.stderr
    before, rate = read_pcm(source)
    after, rate_out = _pcm(out)
    assert rate_out == rate and after.shape == before.shape == (len(before), 2)
    truth = json.loads((SAMPLES / "truth" / "en_19_card_payment.json").read_text(encoding="utf-8"))
    processor = CallProcessor(load_settings())
    spans = [(r.start - 0.2, r.end + 0.2) for r in processor.redactions(
        Transcript.load(SAMPLES / "transcripts" / "en_19_card_payment.json"))]
    inside = np.zeros(len(before), bool)
    for start, end in spans:
        inside[max(0, round(start * rate)):round(end * rate)] = True
    assert inside.sum() > 4 * rate  # the card alone takes seconds to read out
    assert np.array_equal(after[~inside], before[~inside])
    assert np.abs(before[inside, 1]).mean() > 100  # the customer spoke there
    if tone:
        assert np.array_equal(after[inside, 0], after[inside, 1]) and np.abs(after[inside]).max() > 3000
    else:
        assert not after[inside].any()
    card_turn = truth["turns"][3]
    assert any(start <= card_turn["start"] + 1.5 and end >= card_turn["end"] - 3.0 for start, end in spans)
