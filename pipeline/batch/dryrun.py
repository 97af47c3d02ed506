"""``callqa rescore --dry-run``: what a changed spec would change, per item, before it is stored.

Every stored call's newest transcript is audited with the new spec (no ASR, the same workers as a
rescore) and each item's verdict is compared with the call's newest stored audit. Nothing is
written: the store is only read, so a batch may run meanwhile.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Callable

from audits.spec import Spec
from pipeline.batch.nightly import plan_rescore
from pipeline.batch.tasks import CallOutcome
from pipeline.store import Store

NOT_IN_SPEC = "not in spec"  # an item one of the two specs does not audit


@dataclass
class ItemChanges:
    item: str
    title: str
    calls: int = 0  # calls where the item was judged by either spec
    moves: Counter = field(default_factory=Counter)  # (before, after) -> calls
    changed: list[tuple[str, str, str]] = field(default_factory=list)  # (call_uid, before, after)


@dataclass
class DryRun:
    calls: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    items: dict[str, ItemChanges] = field(default_factory=dict)

    @property
    def changed_calls(self) -> int:
        return len({uid for changes in self.items.values() for uid, _, _ in changes.changed})


def verdict_changes(store: Store, spec: Spec, run: Callable, on_outcome: Callable[[CallOutcome], None] = print
                    ) -> DryRun:
    """Audit every stored call with ``spec`` through ``run`` (an executor's ``run``) and compare."""
    result = DryRun()
    for item in spec.items:
        result.items[item.id] = ItemChanges(item.id, item.title)
    for outcome in run(plan_rescore(store, spec, force=True).tasks):
        on_outcome(outcome)
        if outcome.record is None:
            result.failed.append((outcome.info.path, outcome.error or ""))
            continue
        result.calls += 1
        _, before = store.newest_verdicts(outcome.info.call_uid)
        after = {row[0]: row[2] for row in outcome.record.findings}
        for item in [*after, *(i for i in before if i not in after)]:
            old, new = before.get(item, NOT_IN_SPEC), after.get(item, NOT_IN_SPEC)
            changes = result.items.setdefault(item, ItemChanges(item, item))
            changes.calls += 1
            if old != new:
                changes.moves[(old, new)] += 1
                changes.changed.append((outcome.info.call_uid, old, new))
    return result
