"""callqa's checklist engine: specs, text matching, one module per check kind, scoring."""
