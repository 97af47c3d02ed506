"""The local executor's hand-out of work: submissions, and a worker that dies on one."""

from __future__ import annotations

import os

from conftest import SAMPLES

from audits.calldata.transcript import Transcript
from pipeline.batch.executors import TRANSCRIPTS_PER_SUBMISSION, LocalExecutor, _submissions
from pipeline.batch.tasks import CallTask
from pipeline.config import load_settings
from pipeline.store import CallInfo


def _info(name: str) -> CallInfo:
    return CallInfo(key=f"{name}:v:asr:{name}.wav", call_uid=f"{name}.wav", path=f"/archive/{name}.wav", call_id=name, audio_sha256=name,
                    spec_name="en", spec_version="v", asr_key="asr")


def test_recordings_go_alone_and_stored_transcripts_in_runs_in_order():
    recordings = [CallTask(_info(f"r{i}")) for i in range(3)]
    stored = [CallTask(_info(f"t{i}"), "{}", stored=True) for i in range(2 * TRANSCRIPTS_PER_SUBMISSION + 5)]
    tasks = [*recordings[:2], *stored[:3], recordings[2], *stored[3:]]
    submissions = list(_submissions(tasks))
    assert [task for submission in submissions for task in submission] == tasks
    assert [len(s) for s in submissions] == [1, 1, 3, 1, TRANSCRIPTS_PER_SUBMISSION, TRANSCRIPTS_PER_SUBMISSION, 2]
    assert all(len(s) == 1 for s in submissions if s[0].transcript is None)


class _KillsTheWorker(str):
    """A stored transcript whose unpickling ends the worker process at once, as a crash in native
    code or the out-of-memory killer would."""

    def __reduce__(self):
        return os._exit, (70,)


def test_a_worker_dying_on_a_submission_of_transcripts_loses_no_call():
    """The deadly call shares its submission with others and more are in flight: every other call
    comes back audited once, and the deadly one fails alone, named."""
    names = sorted(path.stem for path in (SAMPLES / "transcripts").glob("en_*.json"))[:12]
    texts = {name: Transcript.load(SAMPLES / "transcripts" / f"{name}.json").to_json(compact=True) for name in names}
    tasks = [CallTask(_info(name), texts[name], stored=True) for name in names]
    tasks.insert(5, CallTask(_info("deadly"), _KillsTheWorker("{}"), stored=True))
    outcomes = list(LocalExecutor(load_settings(None), "en", workers=2).run(tasks))
    assert sorted(outcome.info.call_id for outcome in outcomes) == sorted([*names, "deadly"])
    by_call = {outcome.info.call_id: outcome for outcome in outcomes}
    assert "died twice" in by_call["deadly"].error and by_call["deadly"].record is None
    assert all(by_call[name].record is not None and by_call[name].error is None for name in names)
