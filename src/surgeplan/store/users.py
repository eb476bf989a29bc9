"""Service accounts: a name, a role and the SHA-256 of a bearer token (the token itself is never stored).

Roles are ordered: ``read`` reads; ``plan`` also ingests, plans and runs what-ifs; ``admin`` also
manages users. A token is ``secrets.token_urlsafe(32)`` (256 bits), shown once when the user is
added; the store keeps only its SHA-256, compared in constant time (``hmac.compare_digest``).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

import pandas as pd

from surgeplan.errors import SurgeplanError
from surgeplan.store.core import Store
from surgeplan.store.schema import transaction

__all__ = ["ROLES", "User", "add_user", "list_users", "revoke_user", "verify_token"]

#: Roles from least to most privileged; each includes the ones before it.
ROLES: tuple[str, ...] = ("read", "plan", "admin")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")


@dataclass(frozen=True)
class User:
    """An authenticated account: ``name`` and ``role`` (one of :data:`ROLES`)."""

    name: str
    role: str

    def can(self, role: str) -> bool:
        """True when this account's role includes ``role``."""
        return ROLES.index(self.role) >= ROLES.index(role)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def add_user(store: Store, name: str, role: str) -> str:
    """Add (or re-key) an account; return its new bearer token (shown once, stored hashed).

    Adding an existing name replaces its role and token (the old token stops working).
    """
    if not _NAME_RE.match(name or ""):
        raise SurgeplanError(f"name: {name!r} is not a valid user name (letters, digits, _ . @ -; up to 64)")
    if role not in ROLES:
        raise SurgeplanError(f"role: {role!r} is not one of {', '.join(ROLES)}")
    con = store._writable()
    token = secrets.token_urlsafe(32)
    with transaction(con, f"add user {name!r}"):
        con.execute("DELETE FROM users WHERE name = ?", [name])
        con.execute("INSERT INTO users VALUES (?, ?, ?, now(), NULL)", [name, role, _digest(token)])
    return token


def revoke_user(store: Store, name: str) -> None:
    """Revoke an account's token (the row is kept, with ``revoked_at``)."""
    con = store._writable()
    (n,) = con.execute("SELECT count(*) FROM users WHERE name = ? AND revoked_at IS NULL", [name]).fetchall()[
        0
    ]
    if not n:
        raise SurgeplanError(f"name: no active user {name!r}")
    with transaction(con, f"revoke user {name!r}"):
        con.execute("UPDATE users SET revoked_at = now() WHERE name = ?", [name])


def list_users(store: Store) -> pd.DataFrame:
    """Accounts ``name, role, created_at, revoked_at`` (never the token digest), by name."""
    return store._df("SELECT name, role, created_at, revoked_at FROM users ORDER BY name")


def verify_token(store: Store, token: str) -> User | None:
    """The active account holding ``token``, or None."""
    if not token:
        return None
    digest = _digest(token)
    rows = store.connection.execute(
        "SELECT name, role, token_sha256 FROM users WHERE token_sha256 = ? AND revoked_at IS NULL", [digest]
    ).fetchall()
    for name, role, stored in rows:
        if hmac.compare_digest(stored, digest):
            return User(name, role)
    return None
