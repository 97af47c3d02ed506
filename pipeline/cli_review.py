"""The review workstation's commands: ``callqa serve``, ``callqa user add|remove|passwd|list`` and
``callqa sample`` (``pipeline.cli`` registers them)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from pipeline.cli_common import EXIT_USAGE, ConfigOption, fail_usage, stderr, stdout

user_app = typer.Typer(help="Users of the review workstation (callqa serve).", no_args_is_help=True)

DbOption = Annotated[Optional[Path], typer.Option(help="SQLite results store (default: batch.db in settings).",
                                                  dir_okay=False)]


def _settings(config: Path | None) -> dict:
    from pipeline.config import ConfigError, load_settings

    try:
        return load_settings(config)
    except ConfigError as exc:
        raise fail_usage(str(exc)) from None


def _store(db: Path | None, config: Path | None, must_exist: bool = True):
    from pipeline.store import Store, StoreError

    path = db or Path(_settings(config)["batch"]["db"])
    if must_exist and not path.is_file():
        raise fail_usage(f"{path}: no results store here (run callqa batch first, or pass --db)")
    try:
        return Store(path)
    except StoreError as exc:
        raise fail_usage(str(exc)) from None


def _specs(extra: list[str], config: Path | None) -> list:
    """The bundled specs, the settings' spec and any given: what narrow-margin sampling reads limits from."""
    from audits.spec import SpecError, bundled_specs, load_spec

    names = [*bundled_specs(), _settings(config)["spec"], *extra]
    try:
        return [load_spec(name) for name in dict.fromkeys(names)]
    except SpecError as exc:
        raise fail_usage(str(exc)) from None


def _password(stdin: bool) -> str:
    if stdin:
        return sys.stdin.readline().rstrip("\n")
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True)


def serve(
    db: DbOption = None,
    host: Annotated[str, typer.Option(help="Address to listen on. Keep 127.0.0.1 unless a TLS proxy sits in "
                                      "front: sessions travel in cookies.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8400,
    audio_root: Annotated[Optional[Path], typer.Option(help="Folder the store's relative recording paths start "
                                                       "from (where callqa batch ran). Default: here.",
                                                       file_okay=False)] = None,
    cache: Annotated[Optional[Path], typer.Option(help="Where decoded legs are cached (default: "
                                                  "<store>.audio-cache beside the store).", file_okay=False)] = None,
    spec: Annotated[Optional[list[str]], typer.Option("--spec", "-s", help="A spec whose limits narrow-margin "
                                                      "sampling reads (the bundled ones are always read).")] = None,
    config: ConfigOption = None,
) -> None:
    """Serve the QA review workstation: dashboards, calls, audio, reviews, appeals, calibration.

    Create the first user with callqa user add. Examples:

      callqa user add lead --role admin --db out/callqa.sqlite

      callqa serve --db out/callqa.sqlite     # then open http://127.0.0.1:8400
    """
    import uvicorn

    from pipeline.web.app import create_app

    store = _store(db, config)  # refuses a missing, foreign or newer store now, not at the first request
    path = store.path
    users = store.db.execute("SELECT count(*) FROM users").fetchone()[0]
    store.close()
    if not users:
        stderr.print(f"no users yet: create one first, e.g. callqa user add lead --role admin --db {path}",
                      markup=False, highlight=False)
        raise typer.Exit(EXIT_USAGE)
    app = create_app(path, audio_root, cache, _specs(spec or [], config))
    stderr.print(f"callqa workstation on http://{host}:{port}  (store {path}; Ctrl-C stops it)",
                 markup=False, highlight=False)
    uvicorn.run(app, host=host, port=port, log_level="warning", server_header=False)


@user_app.command("add")
def user_add(
    name: Annotated[str, typer.Argument(help="The sign-in name.")],
    role: Annotated[str, typer.Option(help="admin, reviewer or agent.")] = "reviewer",
    agent_id: Annotated[Optional[str], typer.Option(help="For an agent: the agent id their calls carry.")] = None,
    password_stdin: Annotated[bool, typer.Option(help="Read the password from the first line of stdin "
                                                 "(scripts) instead of asking.")] = False,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Add a user. Examples:

      callqa user add lead --role admin

      echo "$PW" | callqa user add A001 --role agent --agent-id A001 --password-stdin
    """
    from pipeline.review.users import UserError, add_user

    store = _store(db, config, must_exist=False)
    try:
        user = add_user(store, name, role, _password(password_stdin), agent_id)
    except UserError as exc:
        raise fail_usage(str(exc)) from None
    finally:
        store.close()
    stderr.print(f"user {user.name} added ({user.role}{', agent ' + user.agent_id if user.agent_id else ''})",
                 markup=False, highlight=False)


def _change_user(db: Path | None, config: Path | None, change, done: str) -> None:
    """Run ``change(store)`` on the store; a UserError exits 2 with its message."""
    from pipeline.review.users import UserError

    store = _store(db, config)
    try:
        change(store)
    except UserError as exc:
        raise fail_usage(str(exc)) from None
    finally:
        store.close()
    stderr.print(done, markup=False, highlight=False)


@user_app.command("remove")
def user_remove(name: Annotated[str, typer.Argument(help="The sign-in name.")], db: DbOption = None,
                config: ConfigOption = None) -> None:
    """Remove a user; their sessions end, their verdicts and history stay. Example: callqa user remove A001"""
    from pipeline.review.users import remove_user

    _change_user(db, config, lambda store: remove_user(store, name), f"user {name} removed")


@user_app.command("passwd")
def user_passwd(name: Annotated[str, typer.Argument(help="The sign-in name.")],
                password_stdin: Annotated[bool, typer.Option(help="Read it from stdin.")] = False,
                db: DbOption = None, config: ConfigOption = None) -> None:
    """Set a user's password; their open sessions end. Example: callqa user passwd lead"""
    from pipeline.review.users import set_password

    password = _password(password_stdin)
    _change_user(db, config, lambda store: set_password(store, name, password), f"password of {name} changed")


@user_app.command("list")
def user_list(db: DbOption = None, config: ConfigOption = None) -> None:
    """List the users. Example: callqa user list"""
    from pipeline.review.users import list_users

    store = _store(db, config)
    try:
        for user in list_users(store):
            stdout.print(f"{user.name}\t{user.role}\t{user.agent_id or ''}", markup=False, highlight=False)
    finally:
        store.close()


def sample(
    random: Annotated[int, typer.Option(help="Calls per agent picked at random.")] = 1,
    lowest: Annotated[int, typer.Option(help="Calls per agent with the lowest scores.")] = 1,
    low_confidence: Annotated[int, typer.Option(help="Calls per agent whose roles are least sure.")] = 1,
    narrow_margin: Annotated[int, typer.Option(help="Calls per agent with a measured item closest to its "
                                               "limit.")] = 1,
    margin: Annotated[float, typer.Option(help="Narrow: within this share of the limit.")] = 0.15,
    date_from: Annotated[Optional[str], typer.Option("--from", help="First day (YYYY-MM-DD, yesterday, ...).")] = None,
    date_to: Annotated[Optional[str], typer.Option("--to", help="Last day.")] = None,
    team: Annotated[Optional[str], typer.Option(help="Only this team.")] = None,
    seed: Annotated[Optional[int], typer.Option(help="Random seed (the same picks again).")] = None,
    spec: Annotated[Optional[list[str]], typer.Option("--spec", "-s", help="A spec to read limits from "
                                                      "(the bundled ones are always read).")] = None,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Pick calls for review, per agent, into the workstation's review queue; prints them.

    Calls already reviewed or queued are not picked again. Example:

      callqa sample --from '7 days ago' --to yesterday --random 2 --lowest 1
    """
    from pipeline.batch.nightly import BatchError, parse_period
    from pipeline.review.sample import pick_calls, queue

    try:
        first, last = parse_period(date_from, date_to, ("--from", "--to"))
    except BatchError as exc:
        raise fail_usage(str(exc)) from None
    specs = _specs(spec or [], config)
    store = _store(db, config)
    try:
        picks = pick_calls(store, {"random": random, "lowest": lowest, "low_confidence": low_confidence,
                                   "narrow_margin": narrow_margin}, specs, first, last, team, margin, seed)
        added = queue(store, picks, "callqa sample")
    finally:
        store.close()
    for pick in picks:
        stdout.print(f"{pick.agent_id or '(unknown)'}\t{pick.call_uid}\t{pick.reason}", markup=False, highlight=False)
    stderr.print(f"{added} calls added to the review queue", markup=False, highlight=False)
