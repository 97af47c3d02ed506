"""Spec loading and validation: the bundled specs, name resolution, and error messages that
name the file, the line, the item and the field."""

from __future__ import annotations

import copy
import re
import sys
from pathlib import Path

import pytest
import yaml

from audits import CHECKLIST, SpecError, load_spec
from audits.checks import KINDS
from audits.cues import CLOSING_QUESTION, GREETING, HOLD_ANNOUNCEMENT, HOLD_THANKS, SILENT_CALL
from audits.spec import bundled_specs

REPO = Path(__file__).resolve().parent.parent
SPECS = {name: REPO / "configs" / "spec" / f"{name}.yaml" for name in ("zh-CN", "en")}


@pytest.mark.parametrize("name", SPECS)
def test_bundled_spec_loads_and_covers_the_checklist(name):
    spec = load_spec(SPECS[name])
    assert spec.name == name
    assert spec.language == {"zh-CN": "zh", "en": "en"}[name]
    ids = [item.id for item in spec.items]
    assert ids[:len(CHECKLIST)] == list(CHECKLIST)  # the checklist first, then the seed rows beyond it
    assert all(i.startswith("scenario.") for i in ids[len(CHECKLIST):])
    assert all(item.kind in KINDS and item.title and item.seeds for item in spec.items)
    assert re.fullmatch(r"[0-9a-f]{16}", spec.version)
    assert spec.item("forbidden.phrases").critical
    assert load_spec(SPECS[name]).version == spec.version  # a content hash: stable


def test_zh_spec_carries_the_seed_phrases():
    """A sample of the 服务禁语 of every seed table must be in the forbidden list in full form."""
    spec = load_spec(SPECS["zh-CN"])
    forbidden = spec.item("forbidden.phrases").options
    for phrase in ["说话呀", "你说什么", "什么意思", "我不知道", "不可能", "这个我们办不到", "你等着", "听懂了吧",
                   "没事了吧", "您挂电话吧", "我是新手", "刚才的电话不是我接的", "嘴巴干净一点", "这又不是我的错",
                   "打错电话了", "找错了", "我不是这个部门的", "你的名字叫什么", "你过两天再来电话吧", "我也没办法",
                   "您自己找一下吧", "您到底让我们怎么办", "大声一点", "您会不会讲普通话", "我听不懂",
                   "这是设计原因，我无能为力", "得给我们处理时间呀", "他忙着呢", "我问一下吧", "这是规定"]:
        assert phrase in forbidden.phrases, phrase
    assert "喂" in forbidden.utterances
    assert "喂" in spec.item("opening.greeting").options.forbidden


def test_en_spec_carries_the_002_phrases():
    spec = load_spec(SPECS["en"])
    forbidden = spec.item("forbidden.phrases").options.phrases
    for phrase in ["hey, talk", "what did you say", "that's impossible", "I'm a novice", "watch your mouth",
                   "it's none of my business", "do you understand", "it's okay, please hang up", "wrong number",
                   "I'll hang up if you don't talk", "speak up", "call back in two days"]:
        assert phrase in forbidden, phrase
    assert spec.item("forbidden.foreign_words").kind == "not_applicable"


def test_organisation_placeholder_is_filled_in():
    spec = load_spec(SPECS["zh-CN"])
    assert "天潮客服中心" in spec.item("opening.greeting").options.groups[1]
    assert not any("{org}" in p for group in spec.item("opening.greeting").options.groups for p in group)


def test_opening_score_ranks_the_agent_greeting_first():
    zh = load_spec(SPECS["zh-CN"])
    assert zh.phrases_for(GREETING).score("您好，天潮客服中心，很高兴为您服务。") == pytest.approx(1.0)
    assert zh.phrases_for(GREETING).score("你好天朝客服中心请问有什么可以帮助您") > 0.85  # ASR slips still score
    assert 0 < zh.phrases_for(GREETING).score("喂，你好") < 0.5
    assert zh.phrases_for(GREETING).score("我想查一下我的账单") == 0.0
    en = load_spec(SPECS["en"])
    assert en.phrases_for(GREETING).score("Hello, Apex service centre, how can I help you?") == pytest.approx(1.0)
    assert en.phrases_for(GREETING).score("Hi, I'm calling about my bill.") == 0.0


def test_hold_announcements():
    zh = load_spec(SPECS["zh-CN"])
    assert zh.phrases_for(HOLD_ANNOUNCEMENT).said("请您稍等片刻，好吗？")
    assert zh.phrases_for(HOLD_ANNOUNCEMENT).said("我帮您查一下，請稍候")
    assert not zh.phrases_for(HOLD_ANNOUNCEMENT).said("好的，没问题。")
    en = load_spec(SPECS["en"])
    assert en.phrases_for(HOLD_ANNOUNCEMENT).said("May I put you on hold for a moment?")
    assert en.phrases_for(HOLD_ANNOUNCEMENT).said("one moment please")
    assert not en.phrases_for(HOLD_ANNOUNCEMENT).said("Thank you for calling.")
    assert en.phrases_for(HOLD_THANKS).said("Thank you for your patience, the jacket is in stock.")
    assert zh.phrases_for(HOLD_THANKS).said("感谢您的耐心等待")


def test_an_item_declared_to_provide_a_cue_serves_it_instead_of_the_default(tmp_path):
    data = yaml.safe_load(SPECS["en"].read_text(encoding="utf-8"))
    _set("closing.farewell", "provides", [CLOSING_QUESTION])(data)
    _replace_kind("closing.anything_else", "not_applicable", reason="not asked here")(data)
    path = tmp_path / "custom.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    spec = load_spec(path)
    default = load_spec(SPECS["en"])
    assert spec.cue_items()[CLOSING_QUESTION] == "closing.farewell"
    assert default.cue_items() == {GREETING: "opening.greeting", CLOSING_QUESTION: "closing.anything_else",
                                   HOLD_ANNOUNCEMENT: "hold.etiquette", HOLD_THANKS: "hold.etiquette",
                                   SILENT_CALL: "silent_call.protocol"}
    farewell = spec.item("closing.farewell").options.groups
    assert spec.phrases_for(CLOSING_QUESTION).groups == farewell
    data["items"] = [i for i in data["items"] if i["id"] != "closing.farewell"] + [
        {**_item(data, "closing.farewell"), "provides": []}]
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    assert load_spec(path).phrases_for(CLOSING_QUESTION).score("anything else?") == 0.0  # no item provides it


def test_cues_written_as_their_defaults_keep_the_version(tmp_path):
    data = yaml.safe_load(SPECS["en"].read_text(encoding="utf-8"))
    _set("opening.greeting", "provides", [GREETING])(data)
    path = tmp_path / "explicit.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    assert load_spec(path).version == load_spec(SPECS["en"]).version


def test_bundled_name_resolves_through_the_package(tmp_path, monkeypatch):
    package = tmp_path / "callqa_configs"
    (package / "spec").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "spec" / "__init__.py").write_text("")
    (package / "spec" / "en.yaml").write_text(SPECS["en"].read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "callqa_configs", raising=False)
    monkeypatch.delitem(sys.modules, "callqa_configs.spec", raising=False)
    assert set(bundled_specs()) == {"en"}
    spec = load_spec("en")
    assert spec.name == "en" and "callqa_configs" in spec.file
    with pytest.raises(SpecError, match="cannot read the spec.*bundled specs: en"):
        load_spec("fr")


def test_version_follows_content_not_comments(tmp_path):
    text = SPECS["en"].read_text(encoding="utf-8")
    commented = tmp_path / "commented.yaml"
    commented.write_text("# another comment\n" + text, encoding="utf-8")
    changed = tmp_path / "changed.yaml"
    changed.write_text(text.replace("limit: 180", "limit: 200"), encoding="utf-8")
    base = load_spec(SPECS["en"]).version
    assert load_spec(commented).version == base
    assert load_spec(changed).version != base


# -- validation errors ------------------------------------------------------------------------

def _item(data: dict, item_id: str) -> dict:
    return next(i for i in data["items"] if i["id"] == item_id)


def _set(item_id: str, field: str, value):
    def mutate(data):
        _item(data, item_id)[field] = value
    return mutate


def _delete(item_id: str, field: str):
    def mutate(data):
        del _item(data, item_id)[field]
    return mutate


def _drop_item(item_id: str):
    def mutate(data):
        data["items"] = [i for i in data["items"] if i["id"] != item_id]
    return mutate


def _duplicate_item(item_id: str):
    def mutate(data):
        data["items"].append(copy.deepcopy(_item(data, item_id)))
    return mutate


def _rename(item_id: str, new_id: str):
    def mutate(data):
        _item(data, item_id)["id"] = new_id
    return mutate


def _top(field: str, value):
    def mutate(data):
        data[field] = value
    return mutate


def _matching(field: str, value):
    def mutate(data):
        data["matching"][field] = value
    return mutate


def _replace_kind(item_id: str, kind: str, **params):
    def mutate(data):
        item = _item(data, item_id)
        keep = {k: item[k] for k in ("id", "title", "points", "critical", "seeds")}
        item.clear()
        item.update(keep, kind=kind, **params)
    return mutate


def _both(*mutations):
    def mutate(data):
        for mutation in mutations:
            mutation(data)
    return mutate


# (mutation, the line to blame: a substring of it in the dumped file, or None for line 1 of the
# item/mapping, item, field, expected problem as a regular expression)
INVALID = [
    pytest.param(_set("opening.greeting", "window_seconds", "ten"), "window_seconds: ten",
                 "opening.greeting", "window_seconds", r"must be a positive number or null, got 'ten'", id="mistyped"),
    pytest.param(_set("opening.greeting", "window_seconds", -3), "window_seconds: -3",
                 "opening.greeting", "window_seconds", r"must be a positive number", id="negative-window"),
    pytest.param(_rename("opening.greeting", "opening.gretting"), "id: opening.gretting",
                 "opening.gretting", "id", r"unknown checklist id 'opening.gretting'; did you mean 'opening.greeting'",
                 id="unknown-id"),
    pytest.param(_set("courtesy.apology", "kind", "contexts"), "kind: contexts",
                 "courtesy.apology", "kind", r"unknown kind 'contexts'; did you mean 'context'", id="unknown-kind"),
    pytest.param(_delete("closing.farewell", "groups"), "- id: closing.farewell",
                 "closing.farewell", "groups", r"missing \(a non-empty list of phrase groups", id="missing-param"),
    pytest.param(_set("closing.farewell", "window_minutes", 2), "window_minutes: 2",
                 "closing.farewell", "window_minutes", r"unknown field for kind 'phrases'", id="extra-param"),
    pytest.param(_set("forbidden.phrases", "phrases", []), "phrases: []",
                 "forbidden.phrases", "phrases", r"must be a non-empty list of phrases, got \[\]", id="empty-phrases"),
    pytest.param(_set("closing.farewell", "groups", [["thank you for calling"], []]), "- []",
                 "closing.farewell", "groups", r"group 2: must be a non-empty list of phrases", id="empty-group"),
    pytest.param(_set("forbidden.phrases", "phrases", ["hey", ""]), "- ''",
                 "forbidden.phrases", "phrases", r"every phrase must be a non-empty string", id="blank-phrase"),
    pytest.param(_matching("threshold", 1.5), "threshold: 1.5",
                 None, "matching.threshold", r"must be a number above 0 and at most 1, got 1.5", id="bad-threshold"),
    pytest.param(_set("forbidden.phrases", "match_threshold", 0), "match_threshold: 0",
                 "forbidden.phrases", "match_threshold", r"above 0 and at most 1", id="zero-item-threshold"),
    pytest.param(_set("forbidden.phrases", "critical", "sometimes"), "critical: sometimes",
                 "forbidden.phrases", "critical", r"must be true or false, got 'sometimes'", id="mistyped-flag"),
    pytest.param(_set("silence.dead_air", "measure", "noise"), "measure: noise",
                 "silence.dead_air", "measure", r"must be one of answer_delay, silence, interruption, speech_rate",
                 id="unknown-measure"),
    pytest.param(_set("silence.dead_air", "excused_holds", ["coffee"]), "excused_holds:",
                 "silence.dead_air", "excused_holds", r"a list of announcement, silence", id="bad-choice-list"),
    pytest.param(_set("interaction.no_interrupt", "max_count", 1.5), "max_count: 1.5",
                 "interaction.no_interrupt", "max_count", r"whole number", id="fractional-count"),
    pytest.param(_duplicate_item("closing.farewell"), None,
                 "closing.farewell", "id", r"duplicate item id \(first on line \d+\)", id="duplicate-id"),
    pytest.param(_set("opening.greeting", "id", "Custom Item"), "id: Custom Item",
                 "Custom Item", "id", r"lower-case words joined by dots", id="bad-custom-id"),
    pytest.param(_set("explain.confirm", "trigger_phrases", ["so"]), "trigger_phrases:",
                 "explain.confirm", "trigger_phrases", r"either trigger_phrases or trigger_monologue_seconds",
                 id="cross-field"),
    pytest.param(_set("transfer.consent", "request_waives", [3]), "request_waives:",
                 "transfer.consent", "request_waives", r"there are only 2 response groups", id="waive-missing-group"),
    pytest.param(_set("courtesy.surname", "introductions", ["my name is"]), "- my name is",
                 "courtesy.surname", "introductions", r"must contain \{surname\} or \{name\}", id="no-placeholder"),
    pytest.param(_set("courtesy.surname", "address_forms", ["Mr. {nmae}"]), "- Mr. {nmae}",
                 "courtesy.surname", "address_forms", r"unknown placeholder \{nmae\}", id="unknown-placeholder"),
    pytest.param(_set("forbidden.foreign_words", "reason", ""), "reason: ''",
                 "forbidden.foreign_words", "reason", r"must be a non-empty string", id="empty-reason"),
    pytest.param(_replace_kind("opening.greeting", "not_applicable", reason="no greeting"), "kind: not_applicable",
                 "opening.greeting", "kind", r"must be 'phrases': the pipeline reads this item's phrases",
                 id="pipeline-item-kind"),
    pytest.param(_set("silence.dead_air", "provides", [GREETING]), "provides:",
                 "silence.dead_air", "provides", r"kind 'threshold' cannot provide cue 'greeting' \(kinds that can: "
                 r"phrases\)", id="cue-of-another-kind"),
    pytest.param(_both(_set("opening.greeting", "provides", [GREETING]), _set("closing.farewell", "provides", [GREETING])),
                 "provides:", "closing.farewell", "provides", r"'greeting' is provided by item 'opening.greeting' already",
                 id="cue-twice"),
    pytest.param(_set("opening.greeting", "provides", []), "items:",
                 None, "items", r"no item provides cue 'greeting'", id="required-cue-missing"),
    pytest.param(_top("language", "fr"), "language: fr", None, "language", r"must be one of zh, en, got 'fr'",
                 id="bad-language"),
    pytest.param(_top("owner", "QA"), "owner: QA", None, "owner", r"unknown field for the spec", id="unknown-top"),
]


@pytest.mark.parametrize("mutate, blamed, item, field, problem", INVALID)
def test_invalid_spec_is_reported_with_file_line_item_and_field(tmp_path, mutate, blamed, item, field, problem):
    data = yaml.safe_load(SPECS["en"].read_text(encoding="utf-8"))
    mutate(data)
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=1000)
    path = tmp_path / "broken.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    error = caught.value
    lines = text.splitlines()
    starts = [n for n, l in enumerate(lines, 1) if l.strip() == f"- id: {item}"] or [1]
    if blamed is None:  # the duplicate: the second item with that id
        line = starts[-1]
    else:  # the first line at or after the item's start that holds the blamed text
        line = next(n for n, l in enumerate(lines, 1) if n >= starts[0] and blamed in l)
    assert (error.file, error.line, error.item, error.field) == (str(path), line, item, field)
    subject = ", ".join(([f"item {item!r}"] if item else []) + [f"field {field!r}"])
    assert str(error).startswith(f"{path}:{line}: {subject}: ")
    assert re.search(problem, str(error)), str(error)


def test_mistyped_value_message_matches_the_documented_example(tmp_path):
    text = SPECS["en"].read_text(encoding="utf-8").replace("window_seconds: 10", "window_seconds: ten", 1)
    path = tmp_path / "en.yaml"
    path.write_text(text, encoding="utf-8")
    line = next(n for n, l in enumerate(text.splitlines(), 1) if "window_seconds: ten" in l)
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    assert str(caught.value) == (f"{path}:{line}: item 'opening.greeting', field 'window_seconds': "
                                 "must be a positive number or null, got 'ten'")


@pytest.mark.parametrize("text, line, problem", [
    ("name: x\nitems: [\n", 3, r"not valid YAML"),
    ("- just\n- a list\n", 1, r"the spec must be a mapping, got a list"),
    ("name: a\nname: b\n", 2, r"field 'name': given twice \(first on line 1\)"),
    ("", None, r"the spec is empty"),
])
def test_unreadable_spec_files(tmp_path, text, line, problem):
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    assert caught.value.line == line
    assert str(caught.value).startswith(f"{path}:{line}: " if line else f"{path}: ")
    assert re.search(problem, str(caught.value))


def test_duplicate_key_inside_an_item(tmp_path):
    text = SPECS["en"].read_text(encoding="utf-8").replace("    points: 10\n", "    points: 10\n    points: 20\n", 1)
    path = tmp_path / "dup.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SpecError, match=r"item 'opening.greeting', field 'points': given twice"):
        load_spec(path)


def test_missing_file():
    with pytest.raises(SpecError, match=r"no/such/spec.yaml: cannot read the spec"):
        load_spec("no/such/spec.yaml")


def test_a_spec_may_leave_checklist_items_out(tmp_path):
    data = yaml.safe_load(SPECS["en"].read_text(encoding="utf-8"))
    _drop_item("transfer.consent")(data)
    path = tmp_path / "fewer.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=1000), encoding="utf-8")
    spec = load_spec(path)
    assert spec.not_in_spec() == ("transfer.consent",)
    assert "transfer.consent" not in [item.id for item in spec.items]
