"""callqa's checklist engine: specs, text matching, one module per check kind, scoring.

Public API: :func:`load_spec` → :class:`Spec` (raises :class:`SpecError`), :func:`audit` →
:class:`AuditResult` of :class:`Finding` with :class:`Evidence`.
"""

from audits.engine import audit
from audits.findings import AuditResult, Evidence, Finding
from audits.spec import CHECKLIST, Spec, SpecError, load_spec

__all__ = ["CHECKLIST", "AuditResult", "Evidence", "Finding", "Spec", "SpecError", "audit", "load_spec"]
