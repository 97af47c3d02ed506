"""The human side of the audit (人工复核): local users and their sessions (``users``), reviewers'
verdicts and agents' appeals beside the machine's findings, the scores under them and the
calibration they give (``verdicts``), and the calls picked for review (``sample``).

Everything here lives in its own tables of the results store (schema 6), keyed by the call's
identity (``calls.call_uid``), the checklist item and the spec version: the batch and ``rescore``
never write them, so no rerun or rescore loses a verdict. Every change is an event row (who,
when, the verdict before and after)."""
