"""Variants of the sample calls (other voices, impairments) as the generator's options describe them;
no synthesiser is run here."""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

import pytest

SAMPLES = Path(__file__).resolve().parent.parent / "sample_audio"
if "make_samples" not in sys.modules:
    _spec = importlib.util.spec_from_file_location("make_samples", SAMPLES / "make_samples.py")
    sys.modules["make_samples"] = importlib.util.module_from_spec(_spec)  # dataclasses need it registered
    _spec.loader.exec_module(sys.modules["make_samples"])
make_samples = sys.modules["make_samples"]


def test_a_rendering_changes_the_voice_but_not_a_speed_the_script_sets():
    fast = make_samples.load_scripts(["en_17_fast_speech"])[0]
    voices = make_samples.voices_for(fast, {"agent": {"engine": "espeak-ng", "name": "en-us+m3", "speed": 140}})
    assert (voices["agent"].engine, voices["agent"].name, voices["agent"].speed) == ("espeak-ng", "en-us+m3", 270)
    plain = make_samples.load_scripts(["en_01_compliant"])[0]
    voices = make_samples.voices_for(plain, {"customer": {"name": "kal", "speed": 190}})
    assert (voices["customer"].name, voices["customer"].speed) == ("kal", 190)
    assert voices["agent"] == make_samples.VOICES["en"]["agent"]


def test_voice_option_parses():
    assert make_samples.parse_voice("agent=flite:awb:150") == ("agent", {"engine": "flite", "name": "awb", "speed": 150})
    assert make_samples.parse_voice("customer=espeak-ng:en-us+f2:170:60")[1]["pitch"] == 60
    with pytest.raises(argparse.ArgumentTypeError):
        make_samples.parse_voice("caller=flite:awb")


def test_impairments_from_a_preset_are_drawn_from_the_seed():
    first = make_samples.impairment_params("all", 5)
    assert first == make_samples.impairment_params({"preset": "all"}, 5)
    assert first != make_samples.impairment_params("all", 6)
    concrete = {"imbalance": {"customer_db": -6.0}, "codec": {"agent": ["mulaw"]}}
    assert make_samples.impairment_params(concrete) is concrete
    # validated on a tenth of a second: a leak later than that (the ranges go to 150 ms) is no error
    late = {"leak": {"customer_to_agent": {"gain_db": -15.0, "delay_ms": 120.0}}}
    assert make_samples.impairment_params(late) is late


def test_a_script_with_a_bad_impairment_is_refused(tmp_path):
    text = (SAMPLES / "scripts" / "en_01_compliant.yaml").read_text(encoding="utf-8")
    path = tmp_path / "en_01_compliant.yaml"
    path.write_text(text + "impair: {reverb: {}}\n", encoding="utf-8")
    with pytest.raises(make_samples.ScriptError, match="impair"):
        make_samples.load_script(path)
    path.write_text(text + "impair: all\n", encoding="utf-8")
    assert make_samples.load_script(path)["impair"] == "all"
