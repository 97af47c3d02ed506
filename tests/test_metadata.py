"""Call metadata: the CSV for many calls and the sidecar beside one recording."""

import json

import pytest

from audits.calldata.metadata import MetadataError, find_metadata, load_metadata_csv, load_sidecar

HEADER = (
    "call_id,file,agent_id,agent_name,team,started_at,ring_seconds,ring_start,answered_at,"
    "hangup_by,customer_surname,direction\n"
)
ROWS = (
    "c001,call1.mp3,a7,王小明,投诉组,2024-05-01T09:30:00+08:00,12.5,,,Customer,李,inbound\n"
    "c002,archive/2024/call2.ogg,a8,张丽,咨询组,2024-05-01T10:00:00+08:00,,"
    "2024-05-01T10:00:00+08:00,2024-05-01T10:00:17+08:00,agent,王,outbound\n"
)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig"])
def test_csv_with_chinese_names_with_and_without_bom(tmp_path, encoding):
    path = tmp_path / "calls.csv"
    path.write_text(HEADER + ROWS, encoding=encoding)
    table = load_metadata_csv(path)
    first = table["call1.mp3"]
    assert table["c001"] is first
    assert (first.agent_name, first.team, first.customer_surname) == ("王小明", "投诉组", "李")
    assert (first.ring_seconds, first.hangup_by, first.direction) == (12.5, "customer", "inbound")
    assert first.started_at == "2024-05-01T09:30:00+08:00"
    second = table["c002"]
    assert second.ring_seconds == pytest.approx(17.0)  # answered_at - ring_start
    assert (second.agent_name, second.hangup_by, second.direction) == ("张丽", "agent", "outbound")


def test_file_paths_are_keys_by_name_only(tmp_path):
    path = tmp_path / "calls.csv"
    path.write_text("file,agent_id\narchive/2024/call2.ogg,a8\n..\\..\\secret\\call3.wav,a9\n", encoding="utf-8")
    table = load_metadata_csv(path)
    assert set(table) == {"call2.ogg", "call3.wav"}
    assert table["call3.wav"].file == "..\\..\\secret\\call3.wav"  # kept as text, never opened


def test_extra_columns_and_blank_lines_are_ignored(tmp_path):
    path = tmp_path / "calls.csv"
    path.write_text("call_id,queue,agent_id\n\nc9,billing,a1\n", encoding="utf-8")
    assert load_metadata_csv(path)["c9"].agent_id == "a1"


@pytest.mark.parametrize(
    ("row", "column"),
    [
        ("c003,call3.mp3,a1,李雷,,2024-05-01T11:00:00,abc,,,,,\n", "ring_seconds"),
        ("c003,call3.mp3,a1,李雷,,2024-05-01T11:00:00,-3,,,,,\n", "ring_seconds"),
        ("c003,call3.mp3,a1,李雷,,yesterday,,,,,,\n", "started_at"),
        ("c003,call3.mp3,a1,李雷,,,,,,nobody,,\n", "hangup_by"),
        ("c003,call3.mp3,a1,李雷,,,,,,,,sideways\n", "direction"),
        ("c003,call3.mp3,a1,李雷,,,,2024-05-01T11:00:00,,,,\n", "answered_at"),
        ("c003,call3.mp3,a1,李雷,,,,2024-05-01T11:00:09,2024-05-01T11:00:00,,,\n", "answered_at"),
        ("c003,call1.mp3,a1,李雷,,,,,,,,\n", "file"),  # call1.mp3 is line 2's already
    ],
)
def test_bad_value_names_file_line_and_column(tmp_path, row, column):
    path = tmp_path / "calls.csv"
    path.write_text(HEADER + ROWS + row, encoding="utf-8")
    with pytest.raises(MetadataError) as error:
        load_metadata_csv(path)
    message = str(error.value)
    assert str(path) in message and "line 4" in message and f"'{column}'" in message


def test_line_numbers_count_quoted_cells_that_span_lines(tmp_path):
    path = tmp_path / "calls.csv"
    path.write_text('call_id,team,ring_seconds\nc1,"two\nline team",3\nc2,x,slow\n', encoding="utf-8")
    with pytest.raises(MetadataError, match=r"line 4, column 'ring_seconds'"):
        load_metadata_csv(path)


def test_csv_that_is_not_utf8_names_the_line(tmp_path):
    path = tmp_path / "calls.csv"
    path.write_bytes(("call_id,agent_name\nc1,Anna\nc2,王小明\n").encode("gbk"))
    with pytest.raises(MetadataError, match=r"calls\.csv: line 3: not UTF-8"):
        load_metadata_csv(path)


def test_csv_needs_a_file_or_call_id_column(tmp_path):
    path = tmp_path / "calls.csv"
    path.write_text("agent_id,team\na1,x\n", encoding="utf-8")
    with pytest.raises(MetadataError, match="line 1"):
        load_metadata_csv(path)


def test_yaml_sidecar_keeps_values_as_written(tmp_path):
    audio = tmp_path / "call1.mp3"
    (tmp_path / "call1.mp3.meta.yaml").write_text(
        "call_id: 0012\nagent_name: 王小明\nstarted_at: 2024-05-01T09:30:00+08:00\n"
        "ring_seconds: 21\nhangup_by: ~\ncustomer_surname: 王\nexpected_rings: 5\n",
        encoding="utf-8",
    )
    meta = load_sidecar(audio)
    assert meta.call_id == "0012"  # not the YAML number 12 (or octal 10)
    assert meta.started_at == "2024-05-01T09:30:00+08:00"
    assert (meta.agent_name, meta.customer_surname) == ("王小明", "王")
    assert (meta.ring_seconds, meta.hangup_by) == (21.0, None)


def test_json_sidecar_beside_the_stem(tmp_path):
    audio = tmp_path / "call2.ogg"
    (tmp_path / "call2.meta.json").write_text(
        json.dumps({
            "agent_id": "a8",
            "ring_start": "2024-05-01T10:00:00Z",
            "answered_at": "2024-05-01T10:00:06Z",
            "hangup_by": "agent",
        }),
        encoding="utf-8",
    )
    meta = load_sidecar(audio)
    assert (meta.agent_id, meta.ring_seconds, meta.hangup_by) == ("a8", 6.0, "agent")


def test_sidecar_error_names_file_line_and_key(tmp_path):
    audio = tmp_path / "call1.wav"
    sidecar = tmp_path / "call1.wav.meta.yaml"
    sidecar.write_text("agent_id: a1\n\nring_seconds: lots\n", encoding="utf-8")
    with pytest.raises(MetadataError) as error:
        load_sidecar(audio)
    assert str(sidecar) in str(error.value) and "line 3, key 'ring_seconds'" in str(error.value)


def test_find_metadata_prefers_the_sidecar_then_name_then_call_id(tmp_path):
    csv_path = tmp_path / "calls.csv"
    csv_path.write_text(HEADER + ROWS + "c003,,a3,,,,,,,,,\n", encoding="utf-8")
    table = load_metadata_csv(csv_path)
    assert find_metadata(tmp_path / "call1.mp3", table).agent_id == "a7"  # by file name
    assert find_metadata(tmp_path / "c003.wav", table).agent_id == "a3"  # by call id = stem
    assert find_metadata(tmp_path / "other.wav", table) is None
    (tmp_path / "call1.mp3.meta.json").write_text('{"agent_id": "a99"}', encoding="utf-8")
    assert find_metadata(tmp_path / "call1.mp3", table).agent_id == "a99"
    assert load_sidecar(tmp_path / "other.wav") is None
