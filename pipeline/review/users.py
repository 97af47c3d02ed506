"""Local users (admin, reviewer, agent), their passwords (argon2id, argon2-cffi) and their sessions.

A session is a random token the browser keeps in an HttpOnly cookie; the store keeps only its
SHA-256, so a copy of the store opens no session. Each session has its own CSRF token, which every
form and every state-changing request must send back."""

from __future__ import annotations

import hashlib
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache

from pipeline.store import Store, now

ROLES = ("admin", "reviewer", "agent")
REVIEWERS = ("admin", "reviewer")  # who may review findings and decide appeals
MIN_PASSWORD = 8
SESSION_HOURS = 12



@lru_cache(maxsize=1)
def _argon2():
    """argon2id with the library's defaults (RFC 9106 low-memory profile), and a hash verified when
    the name is unknown, so a wrong name costs the same time as a wrong password. Imported on first
    use: the ``web`` extra installs argon2-cffi, and reports read verdicts without it."""
    from argon2 import PasswordHasher

    hasher = PasswordHasher()
    return hasher, hasher.hash(secrets.token_hex(16))


def _hash(password: str) -> str:
    return _argon2()[0].hash(password)


class UserError(Exception):
    """A user command that cannot be done (exit code 2): the message says why."""


@dataclass(frozen=True)
class User:
    id: int
    name: str
    role: str
    agent_id: str | None  # an agent user sees the calls of this agent id, and only those

    @property
    def reviews(self) -> bool:
        return self.role in REVIEWERS


def _check_name(name: str) -> str:
    name = name.strip()
    if not 1 <= len(name) <= 64 or any(unicodedata.category(ch).startswith("C") for ch in name):
        raise UserError(f"user name {name!r}: 1 to 64 printable characters")
    return name


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise UserError(f"the password needs at least {MIN_PASSWORD} characters")


def add_user(store: Store, name: str, role: str, password: str, agent_id: str | None = None) -> User:
    name = _check_name(name)
    if role not in ROLES:
        raise UserError(f"role {role!r}: use one of {', '.join(ROLES)}")
    if role == "agent" and not agent_id:
        raise UserError("an agent user needs --agent-id: the agent id their calls carry (calls.agent_id)")
    _check_password(password)
    with store.transaction() as db:
        if db.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone():
            raise UserError(f"user {name!r} exists already (callqa user passwd to change the password)")
        cursor = db.execute(
            "INSERT INTO users (name, role, agent_id, password_hash, created_at) VALUES (?, ?, ?, ?, ?)",
            (name, role, agent_id if role == "agent" else None, _hash(password), now()))
    return User(cursor.lastrowid, name, role, agent_id if role == "agent" else None)


def remove_user(store: Store, name: str) -> None:
    """Remove the user and end their sessions (the verdicts they gave keep their name)."""
    with store.transaction() as db:
        if not db.execute("DELETE FROM users WHERE name = ?", (name,)).rowcount:
            raise UserError(f"no user {name!r}")


def set_password(store: Store, name: str, password: str) -> None:
    """A new password; the user's open sessions end."""
    _check_password(password)
    with store.transaction() as db:
        row = db.execute("SELECT id FROM users WHERE name = ?", (name,)).fetchone()
        if not row:
            raise UserError(f"no user {name!r}")
        db.execute("UPDATE users SET password_hash = ? WHERE id = ?", (_hash(password), row[0]))
        db.execute("DELETE FROM sessions WHERE user_id = ?", (row[0],))


def list_users(store: Store) -> list[User]:
    return [User(*row) for row in store.db.execute("SELECT id, name, role, agent_id FROM users ORDER BY name")]


def authenticate(store: Store, name: str, password: str) -> User | None:
    row = store.db.execute("SELECT id, name, role, agent_id, password_hash FROM users WHERE name = ?",
                           (name,)).fetchone()
    from argon2.exceptions import InvalidHashError, VerificationError

    hasher, unknown = _argon2()
    try:
        hasher.verify(row[4] if row else unknown, password)
    except (VerificationError, InvalidHashError):
        return None
    if row is None:
        return None
    if hasher.check_needs_rehash(row[4]):
        with store.transaction() as db:
            db.execute("UPDATE users SET password_hash = ? WHERE id = ?", (_hash(password), row[0]))
    return User(*row[:4])


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(store: Store, user: User) -> str:
    """A new session for ``user``: the token for the cookie."""
    token = secrets.token_urlsafe(32)
    expires = datetime.now(timezone.utc) + timedelta(hours=SESSION_HOURS)
    with store.transaction() as db:
        db.execute("DELETE FROM sessions WHERE expires_at < ?", (now(),))
        db.execute("INSERT INTO sessions VALUES (?, ?, ?, ?, ?)",
                   (_digest(token), user.id, secrets.token_urlsafe(32), now(),
                    expires.isoformat(timespec="seconds")))
    return token


def session_user(store: Store, token: str | None) -> tuple[User, str] | None:
    """The user of an unexpired session and its CSRF token; None for anything else."""
    if not token:
        return None
    row = store.db.execute(
        "SELECT u.id, u.name, u.role, u.agent_id, s.csrf FROM sessions s JOIN users u ON u.id = s.user_id"
        " WHERE s.token_sha256 = ? AND s.expires_at > ?", (_digest(token), now())).fetchone()
    return (User(*row[:4]), row[4]) if row else None


def close_session(store: Store, token: str | None) -> None:
    if token:
        with store.transaction() as db:
            db.execute("DELETE FROM sessions WHERE token_sha256 = ?", (_digest(token),))
