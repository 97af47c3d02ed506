"""The workstation's routes: pages (Jinja2, autoescaped), a JSON API, the audio, the review forms.

Security, on every request and not only in the menus:
- a session cookie (HttpOnly, SameSite=Strict) names a session in the store; pages without one
  redirect to the login, the API answers 401;
- every POST carries the session's CSRF token (a form field, or the ``X-CSRF-Token`` header for
  the API), compared in constant time; the login form has its own double-submit token;
- an agent's queries are narrowed to their own agent id (``CallQuery.for_user``) and each call,
  its audio and its API document is checked against the user (``visible_audit``): another
  agent's call answers 404 like a call that does not exist;
- every page is sent with a Content-Security-Policy that allows only this server's own scripts,
  styles and media (no inline script), ``X-Frame-Options: DENY`` and ``nosniff``.
"""

from __future__ import annotations

import contextlib
import json
import secrets
from datetime import date
from pathlib import Path
from urllib.parse import quote, urlencode

import anyio
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from audits.calldata.clock import clock
from pipeline.review import sample as sampling
from pipeline.review.users import User, authenticate, close_session, open_session, session_user
from pipeline.review.verdicts import (
    NotAllowed,
    NotVisible,
    ReviewError,
    appeal,
    audit_verdicts,
    calibration,
    decide,
    refresh_scores,
    review,
    verdict_history,
    visible_audit,
)
from pipeline.store import Store
from pipeline.web import charts
from pipeline.web.audio import LEGS, NoAudio, audio_file, leg_channel, recording_path
from pipeline.web.queries import CallQuery, call_facts, call_list
from pipeline.web.rollup import Rollup
from pipeline.web.search import index_transcripts

SESSION_COOKIE = "callqa_session"
LOGIN_COOKIE = "callqa_login"
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self'; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")


class Workstation:
    """What the routes share: the store (opened in the server's event loop thread), the
    dashboards' rollup, the templates, where recordings and decoded legs are."""

    def __init__(self, db: Path, audio_root: Path, cache: Path, specs: list):
        self.db_path, self.audio_root, self.cache, self.specs = db, audio_root, cache, specs
        self.store: Store | None = None
        self.rollup = Rollup()
        self.templates = Environment(loader=PackageLoader("pipeline.web", "templates"),
                                     autoescape=select_autoescape(default=True, default_for_string=True))
        self.templates.globals.update(clock=clock, score_bar=charts.score_bar, quote=quote)
        self.templates.filters["score"] = lambda s: "–" if s is None else f"{s:.0f}"
        self.templates.filters["fromjson_status"] = _state_text

    def page(self, request: Request, name: str, user: User | None, csrf: str = "", status: int = 200,
             **context) -> HTMLResponse:
        html = self.templates.get_template(name).render(request=request, user=user, csrf=csrf, **context)
        return HTMLResponse(html, status_code=status)


def _form_value(value) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except ValueError:
        return None


def query_from(params) -> CallQuery:
    """The filters of a call list or dashboard URL; malformed values are ignored."""
    page = params.get("page", "1")
    return CallQuery(
        first=_date(params.get("from")), last=_date(params.get("to")), team=_form_value(params.get("team")),
        agent=_form_value(params.get("agent")), min_score=_number(params.get("min_score")),
        max_score=_number(params.get("max_score")), failed_item=_form_value(params.get("failed_item")),
        needs_review=params.get("needs_review") == "1",
        reviewed=params.get("reviewed") if params.get("reviewed") in ("yes", "no") else None,
        queued=params.get("queued") == "1", appealed=params.get("appealed") == "1",
        text=_form_value(params.get("q")), sort="score" if params.get("sort") == "score" else "time",
        page=int(page) if page.isdigit() else 1)


def create_app(db: Path, audio_root: Path | None = None, cache: Path | None = None, specs: list | None = None,
               warm: bool = True) -> Starlette:
    ws = Workstation(Path(db), Path(audio_root or Path.cwd()),
                     Path(cache or Path(db).with_name(Path(db).name + ".audio-cache")), specs or [])

    @contextlib.asynccontextmanager
    async def lifespan(app):
        ws.store = Store(ws.db_path)
        refresh_scores(ws.store)
        if warm:  # the dashboards' figures and the search index, before the first user asks
            index_transcripts(ws.store)
            ws.rollup.refresh(ws.store.db)
        try:
            yield
        finally:
            ws.store.close()

    def menus(user: User) -> tuple[list[str], list[tuple[str, str | None]]]:
        """The filter menus: every team and agent for reviewers, only themselves for an agent."""
        return ws.rollup.menus(ws.store.db) if user.reviews else ([], [(user.agent_id, None)])

    def who(request: Request) -> tuple[User, str] | None:
        return session_user(ws.store, request.cookies.get(SESSION_COOKIE))

    def guarded(handler, api: bool = False, reviewers_only: bool = False):
        """Run ``handler(request, user, csrf)`` for a signed-in user (and a reviewer or admin when
        ``reviewers_only``); check the CSRF token of every POST first."""
        async def endpoint(request: Request) -> Response:
            found = who(request)
            if found is None:
                if api:
                    return JSONResponse({"error": "sign in first"}, status_code=401)
                return RedirectResponse("/login?" + urlencode({"next": request.url.path}), status_code=303)
            user, csrf = found
            if reviewers_only and not user.reviews:
                return _refuse(request, user, csrf, api, 403, "reviewers and admins only")
            if request.method == "POST":
                sent = request.headers.get("x-csrf-token")
                if sent is None:
                    form = await request.form()
                    sent = form.get("csrf")
                if not isinstance(sent, str) or not secrets.compare_digest(sent, csrf):
                    return _refuse(request, user, csrf, api, 403, "the form expired or did not come from this "
                                                                  "site (CSRF token missing or wrong): reload the page")
            try:
                return await handler(request, user, csrf)
            except NotVisible as exc:  # another agent's call looks exactly like a call that does not exist
                return _refuse(request, user, csrf, api, 404, str(exc))
            except NotAllowed as exc:
                return _refuse(request, user, csrf, api, 403, str(exc))
        return endpoint

    def _refuse(request, user, csrf, api: bool, status: int, message: str) -> Response:
        if api:
            return JSONResponse({"error": message}, status_code=status)
        return ws.page(request, "error.html", user, csrf, status=status, message=message)

    async def login_form(request: Request) -> Response:
        token = secrets.token_urlsafe(24)
        response = ws.page(request, "login.html", None, token, next=_safe_next(request.query_params.get("next")))
        response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="strict")
        return response

    async def login(request: Request) -> Response:
        form = await request.form()
        expected = request.cookies.get(LOGIN_COOKIE, "")
        sent = form.get("csrf") if isinstance(form.get("csrf"), str) else ""
        target = _safe_next(form.get("next"))
        if not expected or not secrets.compare_digest(sent, expected):
            return ws.page(request, "login.html", None, expected, status=403, next=target,
                           error="the sign-in form expired: try again")
        user = authenticate(ws.store, str(form.get("name", "")), str(form.get("password", "")))
        if user is None:
            return ws.page(request, "login.html", None, expected, status=401, next=target,
                           error="wrong name or password")
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(SESSION_COOKIE, open_session(ws.store, user), httponly=True, samesite="strict")
        response.delete_cookie(LOGIN_COOKIE)
        return response

    async def logout(request: Request, user: User, csrf: str) -> Response:
        close_session(ws.store, request.cookies.get(SESSION_COOKIE))
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE)
        return response

    async def home(request: Request) -> Response:
        return RedirectResponse("/dashboard", status_code=303)

    async def dashboard_page(request: Request, user: User, csrf: str) -> Response:
        query = query_from(request.query_params).for_user(user)
        board = ws.rollup.dashboard(ws.store.db, query)
        teams, agents = menus(user)
        queued = ws.store.db.execute("SELECT count(*) FROM review_queue").fetchone()[0] if user.reviews else 0
        return ws.page(request, "dashboard.html", user, csrf, query=query, board=board, teams=teams,
                       agents=agents, queued=queued, trend=charts.score_trend(board.trend),
                       rates=charts.pass_rates(board.items), sampling=sampling.CRITERIA)

    async def calls_page(request: Request, user: User, csrf: str) -> Response:
        query = query_from(request.query_params).for_user(user)
        if query.text:
            index_transcripts(ws.store)
        listing = call_list(ws.store.db, query)
        teams, agents = menus(user)
        params = {k: v for k, v in request.query_params.items() if k != "page"}
        return ws.page(request, "calls.html", user, csrf, query=query, listing=listing, teams=teams, agents=agents,
                       titles=ws.rollup.titles, params=params, urlencode=urlencode)

    def call_document(user: User, call_uid: str) -> dict:
        db = ws.store.db
        audit = visible_audit(db, user, call_uid)
        facts = call_facts(db, audit["key"])
        items = audit_verdicts(db, audit)
        legs = ["both"]
        if facts["transcript"] and facts["transcript"].get("channels", 2) == 2:
            legs += ["agent", "customer"]
        return {"audit": audit, "facts": facts, "items": items, "history": verdict_history(db, call_uid),
                "legs": legs, "queued": db.execute("SELECT reason FROM review_queue WHERE call_uid = ?",
                                                    (call_uid,)).fetchone()}

    async def call_page(request: Request, user: User, csrf: str) -> Response:
        call_uid = request.path_params["uid"]
        document = call_document(user, call_uid)
        return ws.page(request, "call.html", user, csrf, uid=call_uid, message=request.query_params.get("error"),
                       **document)

    async def act(request: Request, user: User, csrf: str) -> Response:
        """The review forms: confirm / overturn, appeal, accept / reject."""
        call_uid, action = request.path_params["uid"], request.path_params["action"]
        form = await request.form()
        item = str(form.get("item", ""))
        try:
            _act(user, call_uid, action, item, {k: str(v) for k, v in form.items()})
        except NotAllowed:
            raise
        except ReviewError as exc:
            return RedirectResponse(f"/call/{quote(call_uid)}?" + urlencode({"error": str(exc)}) + f"#f-{item}",
                                    status_code=303)
        return RedirectResponse(f"/call/{quote(call_uid)}#f-{item}", status_code=303)

    def _act(user: User, call_uid: str, action: str, item: str, fields: dict) -> dict:
        comment = fields.get("comment")
        if action == "review":
            after = review(ws.store, user, call_uid, item, fields.get("decision", ""), comment, fields.get("status"))
        elif action == "appeal":
            after = appeal(ws.store, user, call_uid, item, fields.get("reason") or comment)
        elif action == "decide":
            after = decide(ws.store, user, call_uid, item, fields.get("decision") == "accept", comment,
                           fields.get("status") or "pass")
        else:
            raise ReviewError(f"no action {action!r}")
        ws.rollup.touched(visible_audit(ws.store.db, user, call_uid)["call_time"])
        return after

    async def audio(request: Request, user: User, csrf: str) -> Response:
        call_uid, leg = request.path_params["uid"], request.path_params["leg"]
        if leg not in LEGS:
            return Response("no such leg", status_code=404)
        audit = visible_audit(ws.store.db, user, call_uid)
        facts = call_facts(ws.store.db, audit["key"])
        try:
            channel = leg_channel(facts["transcript"], leg)
            path, media = await anyio.to_thread.run_sync(
                audio_file, recording_path(facts["path"], ws.audio_root), audit["audio_sha256"], channel, ws.cache)
        except NoAudio as exc:
            return Response(str(exc), status_code=404, media_type="text/plain")
        return FileResponse(path, media_type=media, headers={"Cache-Control": "private, max-age=3600"})

    async def calibration_page(request: Request, user: User, csrf: str) -> Response:
        ws.rollup.refresh(ws.store.db)
        return ws.page(request, "calibration.html", user, csrf, rows=calibration(ws.store.db),
                       titles=ws.rollup.titles)

    async def sample_now(request: Request, user: User, csrf: str) -> Response:
        form = await request.form()
        counts = {c: int(form.get(c, "0")) if str(form.get(c, "0")).isdigit() else 0 for c in sampling.CRITERIA}
        query = query_from(form)
        picks = sampling.pick_calls(ws.store, {c: min(n, 20) for c, n in counts.items()}, ws.specs,
                                    query.first, query.last, query.team)
        sampling.queue(ws.store, picks, user.name)
        return RedirectResponse("/calls?queued=1&reviewed=no", status_code=303)

    # --- the JSON API: the same checks, the same queries -------------------------------------

    async def api_calls(request: Request, user: User, csrf: str) -> Response:
        listing = call_list(ws.store.db, query_from(request.query_params).for_user(user))
        return JSONResponse({"total": listing.total, "more": listing.more, "page": listing.page,
                             "pages": listing.pages, "calls": [_plain(r) for r in listing.rows]})

    async def api_call(request: Request, user: User, csrf: str) -> Response:
        document = call_document(user, request.path_params["uid"])
        facts = document["facts"]
        return JSONResponse({
            "call_uid": facts["call_uid"], "call_id": facts["call_id"], "agent_id": facts["agent_id"],
            "agent_name": facts["agent_name"], "team": facts["team"], "call_time": facts["call_time"],
            "spec_version": facts["spec_version"], "machine_score": facts["score"],
            "score": facts["reviewed_score"] if facts["reviewed_items"] else facts["score"],
            "reviewed_items": facts["reviewed_items"], "measurements": facts["measurements"],
            "turns": [{k: t.get(k) for k in ("role", "start", "end", "text")} for t in
                      (facts["transcript"] or {}).get("turns", [])],
            "findings": [{"item": i.item, "title": i.title, "machine_status": i.machine_status, "status": i.status,
                          "reason": i.reason, "evidence": i.evidence, "appeal": i.appeal,
                          "review": i.verdict["review"] if i.verdict is not None else None}
                         for i in document["items"]],
            "history": [dict(e) for e in document["history"]]})

    async def api_act(request: Request, user: User, csrf: str) -> Response:
        body = await request.json()
        if not isinstance(body, dict):
            return JSONResponse({"error": "send a JSON object"}, status_code=400)
        try:
            after = _act(user, request.path_params["uid"], request.path_params["action"],
                         request.path_params["item"], {k: str(v) for k, v in body.items() if v is not None})
        except NotAllowed:
            raise
        except ReviewError as exc:
            return JSONResponse({"error": str(exc)}, status_code=409)
        return JSONResponse(after)

    routes = [
        Route("/", home),
        Route("/login", login_form, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/logout", guarded(logout), methods=["POST"]),
        Route("/dashboard", guarded(dashboard_page)),
        Route("/calls", guarded(calls_page)),
        Route("/call/{uid:path}", guarded(call_page)),
        Route("/act/{action}/{uid:path}", guarded(act), methods=["POST"]),
        Route("/audio/{leg}/{uid:path}", guarded(audio)),
        Route("/calibration", guarded(calibration_page, reviewers_only=True)),
        Route("/sample", guarded(sample_now, reviewers_only=True), methods=["POST"]),
        Route("/api/calls", guarded(api_calls, api=True)),
        Route("/api/call/{uid:path}", guarded(api_call, api=True)),
        Route("/api/act/{action}/{item}/{uid:path}", guarded(api_act, api=True), methods=["POST"]),
        Mount("/static", StaticFiles(packages=[("pipeline.web", "static")]), name="static"),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.workstation = ws
    return SecurityHeaders(app)


def _state_text(text: str) -> str:
    """An event's before/after state in words: ``fail (human fail, appeal pending)``."""
    state = json.loads(text)
    notes = [f"human {state['human_status']}"] if state.get("human_status") else []
    if state.get("appeal"):
        notes.append(f"appeal {state['appeal']}")
    return state["status"] + (f" ({', '.join(notes)})" if notes else "")


def _plain(row: dict) -> dict:
    return {k: v for k, v in row.items() if k not in ("audio_sha256", "asr_key", "snippet")} | (
        {"snippet": "".join(text for _, text in row["snippet"])} if "snippet" in row else {})


def _safe_next(value) -> str:
    """Where to go after signing in: a path on this site only (never //host or a scheme)."""
    if isinstance(value, str) and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/dashboard"


class SecurityHeaders:
    """Adds the security headers to every response."""

    HEADERS = [(b"content-security-policy", CSP.encode()), (b"x-frame-options", b"DENY"),
               (b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"same-origin")]

    def __init__(self, app):
        self.app = app
        self.state = getattr(app, "state", None)

    async def __call__(self, scope, receive, send):
        async def with_headers(message):
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = list(message["headers"]) + self.HEADERS
            await send(message)
        await self.app(scope, receive, with_headers if scope["type"] == "http" else send)

