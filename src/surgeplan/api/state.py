"""The service's state: the store's single writer connection, sessions, current alerts and plans.

Every store access goes through :meth:`ServiceState.db` (a lock around the one DuckDB connection:
DuckDB connections are not shared between threads, and the server is the file's only writer).
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from surgeplan.api.events import EventBus
from surgeplan.errors import SurgeplanError
from surgeplan.store import Store
from surgeplan.store.users import User, verify_token

__all__ = ["PLANS_TABLE", "ServiceConfig", "ServiceState", "urgency"]

#: Derived table holding the service's plans: one row per plan part, the rows as JSON.
PLANS_TABLE = "service_plans"
PLAN_PARTS = ("actions", "alerts", "late", "temporary")
_URGENCY = (("too late", 0, "critical"), ("order now", 1, "high"), ("order by", 2, "watch"), ("ok", 3, "ok"))


def urgency(status: str) -> tuple[int, str]:
    """Rank (0 = most urgent) and label of an alert status (``too late by N d`` ... ``ok``)."""
    for prefix, rank, label in _URGENCY:
        if str(status).startswith(prefix):
            return rank, label
    return 3, "ok"


@dataclass
class ServiceConfig:
    """Settings of one running service.

    Attributes
    ----------
    db : Path
        The store file (the server holds its single writer connection).
    max_upload_mb : float
        Largest accepted request body, MiB (413 beyond it).
    watch : Path or None
        Folder watched for new measurement files.
    poll_s : float
        Watch-folder polling interval, seconds.
    refit_every : Timedelta or None
        Full refit of the live forecaster on this schedule (None: never).
    live_horizon : str
        How far ahead each arrival is forecast and re-planned (``'1h'``).
    fit_days : int
        Days of history the live forecaster is fitted on at start.
    session_hours : float
        Lifetime of a dashboard session cookie, hours.
    secure_cookies : bool
        Mark the session cookie ``Secure`` (behind HTTPS).
    live : bool
        Run the live loop (forecaster updates on arrivals, watched folder).
    threads : int
        Worker threads for request handlers.
    """

    db: Path
    max_upload_mb: float = 100.0
    watch: Path | None = None
    poll_s: float = 0.25
    refit_every: pd.Timedelta | None = field(default_factory=lambda: pd.Timedelta(days=1))
    live_horizon: str = "1h"
    fit_days: int = 28
    session_hours: float = 12.0
    secure_cookies: bool = False
    live: bool = True
    threads: int = 8


@dataclass
class ServiceState:
    """Everything the request handlers share."""

    config: ServiceConfig
    store: Store
    events: EventBus = field(default_factory=EventBus)
    lock: threading.RLock = field(default_factory=threading.RLock)
    sessions: dict[str, tuple[User, float]] = field(default_factory=dict)
    alerts: pd.DataFrame = field(default_factory=pd.DataFrame)
    plan_alerts: pd.DataFrame = field(default_factory=pd.DataFrame)
    live_alerts: pd.DataFrame = field(default_factory=pd.DataFrame)
    actions: pd.DataFrame = field(default_factory=pd.DataFrame)
    alerts_version: int = 0
    live: Any = None
    schema_version: int = 0
    _views: list = field(default_factory=list)
    _cursors: list = field(default_factory=list)
    _tokens: dict[str, User] = field(default_factory=dict)
    _alert_cache: tuple[int, Any] = (-1, None)

    @contextlib.contextmanager
    def db(self) -> Iterator[Store]:
        """The store, for the duration of the block, to this thread alone (writes and mixed work)."""
        with self.lock:
            yield self.store

    def _new_view(self) -> Store:
        with self.lock:
            view = copy.copy(self.store)
            view._con = self.store.connection.cursor()
            view.read_only = True
            self._cursors.append(view._con)
        return view

    @contextlib.contextmanager
    def read(self) -> Iterator[Store]:
        """A read view of the store for the block: a cursor of the writer connection (DuckDB's way to
        read from several threads at once; each sees the last committed state). Views are pooled, so
        there are never more cursors than concurrent readers."""
        try:
            view = self._views.pop()
        except IndexError:
            view = self._new_view()
        try:
            yield view
        finally:
            self._views.append(view)

    def close(self) -> None:
        with self.lock:
            for cur in self._cursors:
                with contextlib.suppress(Exception):
                    cur.close()
            self.store.close()

    # ------------------------------------------------------------------ auth
    def user_for_token(self, token: str) -> User | None:
        """The account of ``token``; cached (the server is the only writer of the users table, and
        every change through the API clears the cache)."""
        key = hashlib.sha256(token.encode("utf-8")).hexdigest()
        if key in self._tokens:
            return self._tokens[key]
        with self.db() as store:
            user = verify_token(store, token)
        if user is not None:
            self._tokens[key] = user
        return user

    def users_changed(self) -> None:
        """Forget cached tokens and end the sessions of accounts no longer active."""
        with self.db() as store:
            active = set(
                store.connection.execute("SELECT name, role FROM users WHERE revoked_at IS NULL").fetchall()
            )
        self._tokens = {}
        self.sessions = {k: v for k, v in self.sessions.items() if (v[0].name, v[0].role) in active}

    def new_session(self, user: User) -> str:
        sid = secrets.token_urlsafe(32)
        now = time.time()
        self.sessions = {k: v for k, v in self.sessions.items() if v[1] > now}
        self.sessions[sid] = (user, now + self.config.session_hours * 3600.0)
        return sid

    def user_for_session(self, sid: str | None) -> User | None:
        """The account of a dashboard session (revoking an account ends its sessions)."""
        got = self.sessions.get(sid or "")
        if got is None or got[1] < time.time():
            return None
        return got[0]

    # ------------------------------------------------------------------ plans
    def save_plan(self, outcome: Any, command: str = "serve plan") -> str:
        """Store a plan (its parts as JSON rows) and its forecast; make its alerts current."""
        from surgeplan.api.frames import records

        plan = outcome.plan
        parts = {name: getattr(plan, name) for name in PLAN_PARTS}
        frame = pd.DataFrame(
            {"part": list(parts), "rows": [json.dumps(records(df), allow_nan=False) for df in parts.values()]}
        )
        params = {"summary": plan.summary, "origin": outcome.origin.isoformat(), "kind": "plan"}
        with self.db() as store:
            run_id = store.start_run(command, params)
            store.write_table(PLANS_TABLE, frame, run_id)
            if outcome.forecast is not None and len(outcome.forecast):
                fid = store.start_run(
                    "serve forecast", {"origin": outcome.origin.isoformat(), "plan_id": run_id}
                )
                store.write_forecasts(outcome.forecast, fid)
        self.set_current(plan.alerts, plan.actions)
        return run_id

    def set_current(
        self, alerts: pd.DataFrame, actions: pd.DataFrame | None = None, resources: set[str] | None = None
    ) -> None:
        """New plan alerts and actions (``resources=None``), or the live check of ``resources``.

        The current alerts are, per resource and quantile, the more urgent of the latest plan's
        (whole horizon) and the latest live check's (next ``live_horizon``): a live arrival can
        raise an alert, never hide a break the plan sees further ahead.
        """
        with self.lock:
            if resources is None:
                self.plan_alerts = alerts.assign(source="plan")
                self.actions = actions.copy() if actions is not None else pd.DataFrame()
            else:
                live = alerts.assign(source="live")
                if not self.live_alerts.empty:
                    keep = ~self.live_alerts["resource_id"].astype(str).isin(resources)
                    live = pd.concat([self.live_alerts.loc[keep], live], ignore_index=True)
                self.live_alerts = live
            both = (
                pd.concat([f for f in (self.live_alerts, self.plan_alerts) if not f.empty], ignore_index=True)
                if not (self.live_alerts.empty and self.plan_alerts.empty)
                else pd.DataFrame()
            )
            if not both.empty:
                both["_rank"] = [urgency(s)[0] for s in both["status"].astype(str)]
                both = both.sort_values("_rank", kind="stable").drop_duplicates(["resource_id", "quantile"])
                both = both.drop(columns="_rank").reset_index(drop=True)
            self.alerts = both
            self.alerts_version += 1

    def plan_ids(self) -> pd.DataFrame:
        """Plans in the store, newest first: ``plan_id, created_at, command, parameters``."""
        with self.read() as store:
            (n,) = store.connection.execute(
                "SELECT count(*) FROM duckdb_tables() WHERE table_name = ? AND schema_name = 'main'",
                [PLANS_TABLE],
            ).fetchall()[0]
            if not n:
                return pd.DataFrame(columns=["plan_id", "created_at", "command", "parameters"])
            return store._df(
                "SELECT r.run_id AS plan_id, r.created_at, r.command, CAST(r.parameters AS VARCHAR) AS "
                f"parameters FROM runs r WHERE r.run_id IN (SELECT DISTINCT run_id FROM {PLANS_TABLE}) ORDER "
                "BY r.created_at DESC, r.run_id DESC"
            )

    def load_plan(self, plan_id: str) -> dict[str, Any] | None:
        """A stored plan as ``{"id", "created_at", "summary", "origin", parts...}``, or None."""
        ids = self.plan_ids()
        row = ids.loc[ids["plan_id"] == plan_id]
        if row.empty:
            return None
        with self.read() as store:
            parts = store.connection.execute(
                f"SELECT part, rows FROM {PLANS_TABLE} WHERE run_id = ?", [plan_id]
            ).fetchall()
        params = json.loads(row["parameters"].iloc[0])
        out = {
            "id": plan_id,
            "created_at": row["created_at"].iloc[0].isoformat(),
            "summary": params.get("summary", {}),
            "origin": params.get("origin"),
        }
        out.update({part: json.loads(rows) for part, rows in parts})
        for part in PLAN_PARTS:
            out.setdefault(part, [])
        return out

    def restore_current(self) -> None:
        """At start: the latest stored plan's alerts and actions become current."""
        ids = self.plan_ids()
        if ids.empty:
            return
        plan = self.load_plan(str(ids["plan_id"].iloc[0]))
        if plan is not None:
            self.set_current(pd.DataFrame(plan["alerts"]), pd.DataFrame(plan["actions"]))


def open_state(config: ServiceConfig) -> ServiceState:
    """Open the store as its single writer and build the state."""
    if not Path(config.db).parent.exists():
        raise SurgeplanError(f"{config.db}: folder does not exist")
    store = Store(config.db)
    state = ServiceState(config=config, store=store, schema_version=store.version)
    state.restore_current()
    return state
