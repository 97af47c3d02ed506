"""The per-call report a QA lead reads in a terminal: turns, measurements, findings with evidence."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console, Group
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from audits.calldata.clock import clock
from pipeline.call import CallAudit

STATUS_STYLE = {"pass": "green", "fail": "bold red", "na": "dim"}


def render_call(call: CallAudit, console: Console) -> None:
    transcript = call.transcript
    roles = transcript.roles
    console.rule(f"[bold]{escape(transcript.call_id)}[/]  {escape(transcript.source)}")
    console.print(Text(
        f"duration {clock(transcript.duration, 2)} · language {transcript.language} · "
        f"roles: agent = {roles.agent or '?'} ({roles.method}, confidence {roles.confidence:.2f}"
        f"{', NEEDS REVIEW' if roles.needs_review else ''})"
    ))
    console.print(Group(_turns_table(call), _measurements_table(call), _findings_table(call)))
    if call.result.not_in_spec:
        console.print(Text("not in spec (not audited): " + ", ".join(call.result.not_in_spec), style="dim"))
    score = call.result.score
    verdict = "n/a" if score is None else f"{score:.1f} / 100"
    if call.result.no_speech:
        verdict = "n/a: nobody spoke in this recording (a no-speech call, kept out of averages)"
    if call.result.critical_failed:
        verdict += f"  (critical failed: {', '.join(call.result.critical_failed)})"
    console.print(Text(f"score {verdict}", style="bold"))


def _turns_table(call: CallAudit) -> Table:
    table = Table(title="Transcript", title_justify="left", show_lines=False, expand=True)
    table.add_column("start", justify="right", no_wrap=True)
    table.add_column("end", justify="right", no_wrap=True)
    table.add_column("role", no_wrap=True)
    table.add_column("text", ratio=1)
    for turn in call.transcript.turns:
        style = "cyan" if turn.role == "agent" else None
        table.add_row(clock(turn.start, 2), clock(turn.end, 2), turn.role, Text(turn.text), style=style)
    return table


def _measurements_table(call: CallAudit) -> Table:
    m = call.measurements
    table = Table(title="Measurements", title_justify="left", expand=True)
    table.add_column("measure", no_wrap=True)
    table.add_column("value", ratio=1)
    ring = "unknown" if m.ring_seconds is None else f"{m.ring_seconds:.1f} s, {m.ring_count} rings"
    rows = [
        ("ring before answer", f"{ring} (source: {m.ring_source})"),
        ("answered at", clock(m.answer_at, 2)),
        ("answer delay", "agent never speaks" if m.answer_delay is None else f"{m.answer_delay:.2f} s"),
        ("talk time", ", ".join(f"{role} {seconds:.1f} s" for role, seconds in m.talk_time.items())),
        ("non-talk time", f"{m.non_talk_total:.1f} s; above threshold: "
         + (", ".join(f"{clock(s.start, 2)}–{clock(s.end, 2)} ({s.seconds:.1f} s)" for s in m.silences) or "none")),
        ("interruptions", ", ".join(f"{i.by} over {i.over} at {clock(i.start, 2)} ({i.seconds:.1f} s)"
                                    for i in m.interruptions) or "none"),
        ("holds", ", ".join(f"{clock(h.start, 2)}–{clock(h.end, 2)} ({h.seconds:.1f} s, by {h.detected_by})"
                            for h in m.holds) or "none"),
        ("speech rate", ", ".join(f"{role} {rate:.0f} {m.speech_rate_unit}" for role, rate in m.speech_rate.items())),
        ("customer silent", ("yes" if m.customer_silent else "no")
         + ("" if m.customer_sound is None else f" (own sound on the customer's leg: {m.customer_sound:.1f} s)")),
        ("ASR confidence", "–" if m.asr_confidence is None else f"{m.asr_confidence:.2f}"),
    ]
    for name, value in rows:
        table.add_row(name, value)
    return table


def _findings_table(call: CallAudit) -> Table:
    table = Table(title="Findings", title_justify="left", expand=True, show_lines=True)
    table.add_column("item", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("points", justify="right", no_wrap=True)
    table.add_column("reason / evidence", ratio=1)
    for finding in call.result.findings:
        lines = [finding.reason] if finding.reason else []
        lines += [f"[{clock(e.start, 2)}–{clock(e.end, 2)}] {e.role}: “{e.text}”" for e in finding.evidence]
        critical = " (critical)" if finding.critical else ""
        table.add_row(
            f"{finding.item}\n[dim]{escape(finding.title)}[/]",
            Text(finding.status.upper() + critical, style=STATUS_STYLE[finding.status]),
            f"{finding.points:g}",
            Text("\n".join(lines)),
        )
    return table


def render_spec(spec, console: Console) -> None:
    """A spec's items: what is checked, how much it weighs, where it comes from (with ``extends:``,
    which file and line gave each value)."""
    table = Table(title=Text(f"{spec.name} ({spec.language}) · version {spec.version}"), title_justify="left",
                  expand=True, show_lines=True)
    for column, options in (("id", {"no_wrap": True}), ("title", {"ratio": 2, "min_width": 12}),
                            ("kind", {"no_wrap": True}), ("points", {"justify": "right"}), ("critical", {}),
                            ("seeds", {"ratio": 1, "min_width": 10}), ("from", {"ratio": 1, "min_width": 14})):
        table.add_column(column, **options)
    for item in spec.items:
        table.add_row(item.id, Text(item.title), item.kind, f"{item.points:g}", "yes" if item.critical else "",
                      Text(", ".join(item.seeds)), Text(_item_origins(spec, item.id)))
    if len(spec.chain) > 1:
        console.print(Text("extends: " + " → ".join(_file_name(f) for f in spec.chain)))
    for field in ("name", "organisation", "version", "matching.threshold"):
        where = spec.origins.get(("", field))
        value = {"name": spec.name, "organisation": spec.organisation, "version": spec.revision,
                 "matching.threshold": f"{spec.matching.threshold:g}"}[field]
        console.print(Text(f"{field}: {value}" + (f"  ({_short(where)})" if where else "")))
    console.print(table)
    total = sum(item.points for item in spec.items)
    console.print(f"{len(spec.items)} items, {total:g} points in all")
    left_out = spec.not_in_spec()
    if left_out:
        console.print(Text("not in this spec (not audited): " + ", ".join(left_out)))


def _file_name(file: str) -> str:
    """A spec file's name without its folder (a bundled spec: its name)."""
    return Path(file.split(" (", 1)[0]).name


def _short(where: str) -> str:
    """``file:line`` with the file's name only."""
    file, _, line = where.rpartition(":")
    return f"{_file_name(file)}:{line}"


def _item_origins(spec, item_id: str) -> str:
    """Where an item was written, and each field a later file changed: 'zh-CN.yaml:26;
    points ← acme.yaml:12'."""
    fields = {field: where for (item, field), where in spec.origins.items() if item == item_id}
    if not fields:
        return ""
    home = fields.get("title") or next(iter(fields.values()))
    home_file = home.rpartition(":")[0]
    changed = [f"{field} ← {_short(where)}" for field, where in fields.items() if where.rpartition(":")[0] != home_file]
    return "; ".join([_short(home), *changed])


def render_case_results(results, console: Console) -> None:
    """``callqa spec test``: one row per case, then the count."""
    table = Table(title=Text("spec test"), title_justify="left", expand=True)
    for column, options in (("file", {"no_wrap": True}), ("case", {}), ("item", {}), ("spec", {}),
                            ("expected", {}), ("got", {}), ("", {"no_wrap": True}),
                            ("why", {"ratio": 2, "min_width": 20})):
        table.add_column(column, **options)
    for file, result in results:
        got = result.finding.status if result.finding else "-"
        why = result.problem or (result.finding.reason if result.finding else "")
        table.add_row(Text(Path(file).name), Text(str(result.name)), Text(result.item), Text(result.spec),
                      result.expected, Text(got, style=STATUS_STYLE.get(got, "")),
                      Text("ok", style="green") if result.ok else Text("FAIL", style="bold red"), Text(why))
    console.print(table)
    for file, result in results:  # one plain line per miss, for logs however narrow
        if not result.ok:
            console.print(Text(f"FAIL {file}: {result.name} ({result.item}): {result.problem}"), soft_wrap=True)
    failed = sum(not r.ok for _, r in results)
    console.print(f"{len(results) - failed} of {len(results)} cases as expected" + (f", {failed} not" if failed else ""))


def render_dry_run(changes, spec, console: Console, listed: int = 50) -> None:
    """``rescore --dry-run``: per item, how many stored calls' verdicts would move, and which."""
    table = Table(title=Text(f"rescore --dry-run with {spec.name} · version {spec.version}"), title_justify="left",
                  expand=True)
    for column, options in (("item", {"no_wrap": True}), ("title", {"ratio": 1}), ("calls", {"justify": "right"}),
                            ("changed", {"justify": "right"}), ("how", {"ratio": 1})):
        table.add_column(column, **options)
    for item in changes.items.values():
        how = ", ".join(f"{before} → {after}: {n}" for (before, after), n in sorted(item.moves.items()))
        table.add_row(item.item, Text(item.title), str(item.calls), str(len(item.changed)), Text(how))
    console.print(table)
    rows = [(uid, item.item, before, after) for item in changes.items.values() for uid, before, after in item.changed]
    for uid, item, before, after in rows[:listed]:
        console.print(Text(f"  {uid}  {item}: {before} → {after}"))
    if len(rows) > listed:
        console.print(f"  … and {len(rows) - listed} more")
    for path, reason in changes.failed:
        console.print(Text(f"  could not audit {path}: {reason}"))
    console.print(f"{changes.calls} stored calls audited, {changes.changed_calls} would change; nothing was stored")
