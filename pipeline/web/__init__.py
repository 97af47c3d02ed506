"""The QA review workstation: ``callqa serve`` (Starlette + Jinja2 on uvicorn) over the results store.

It reads the store and writes only its own tables (sessions, verdicts and their events, the review
queue, the search index); it never runs ASR. Modules: ``app`` (routes, sessions, CSRF, security
headers), ``queries`` (dashboards and the call list), ``search`` (FTS5), ``audio`` (recordings and
each leg, with HTTP range requests), ``charts`` (inline SVG)."""
