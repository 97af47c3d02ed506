"""Kind ``readback``: the agent never reads back a full card or ID number (PCI DSS: show at most
the last digits)."""

from __future__ import annotations

from dataclasses import dataclass

from audits.call_view import CallView, quote, span_times
from audits.calldata.transcript import ROLES
from audits.checks.base import Check, CommonOptions
from audits.findings import Evidence, Finding
from audits.params import OneOf, SubsetOf, param
from audits.pii import DetectOptions, detect

READ_BACK = ("card", "id_number", "phone", "account")


@dataclass(frozen=True, kw_only=True)
class ReadbackOptions(CommonOptions):
    role: str = param(OneOf(*ROLES), "whose speech is searched", "agent")
    categories: tuple[str, ...] = param(SubsetOf(*READ_BACK), "the numbers that must not be said in full: card "
                                                              "(Luhn), id_number (身份证, checksum), phone, account",
                                        ("card", "id_number"))


class ReadbackCheck(Check):
    """The role says no complete number of the listed categories: a card number that passes the
    Luhn check, a 身份证 number with a valid checksum, spoken or written, in one turn or across the
    role's turns (the last four digits alone are fine). Judged on the clear transcript inside the
    worker; a stored transcript re-audited later still holds the redaction's placeholder where a
    full number was said, which counts the same. Every occurrence is evidence."""

    kind = "readback"
    Options = ReadbackOptions

    def evaluate(self, ctx: CallView) -> Finding:
        opts = self.options
        turns = ctx.turns(opts.role)
        if not turns:
            return self.na(f"no {opts.role} speech in the recording")
        transcript = ctx.transcript
        found = [e for e in detect(transcript, DetectOptions(categories=opts.categories))
                 if transcript.turns[e.pieces[0].turn].role == opts.role]
        if not found:
            return self.passed(f"no full {' / '.join(opts.categories)} number in {len(turns)} {opts.role} turn(s)")
        evidence = []
        for entity in found:
            for piece in entity.pieces:
                turn = transcript.turns[piece.turn]
                start, end = span_times(turn, piece.start, piece.end)
                evidence.append(Evidence(start, end, turn.role, quote(turn.text, piece.start, piece.end, ctx.marks)))
        said = ", ".join(sorted({e.category for e in found}))
        return self.failed(f"the {opts.role} read out {len(found)} full number(s): {said}", evidence)
