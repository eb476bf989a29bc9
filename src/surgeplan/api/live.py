"""The live loop: each arrival of measurements is ingested, folded into the forecaster (``update()``,
no refit), the touched resources are re-planned over a short horizon, and alerts go out by SSE.

One worker thread does the work in arrival order (consecutive arrivals waiting in the queue are
merged into one step); a second thread polls the watched folder. A full refit runs on a schedule
(``refit_every``, default daily). Files are taken from the folder once their size and mtime held
still for one poll, then moved to ``processed/`` (or ``failed/`` with a ``.error.txt`` beside).
"""

from __future__ import annotations

import logging
import queue
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import pandas as pd

from surgeplan.api.state import ServiceState, urgency
from surgeplan.errors import SurgeplanError

__all__ = ["LiveLoop"]

_log = logging.getLogger("surgeplan.api.live")
_SUFFIXES = (".csv", ".csv.gz", ".parquet", ".pq")
#: Quantiles of the live forecaster (the plan sizes on p90; alerts at p50 / p90 / p99).
QUANTILES = (0.5, 0.9, 0.99)


class LiveLoop:
    """Minute-by-minute forecasting and alerting for a running service (see the module docstring)."""

    def __init__(self, state: ServiceState) -> None:
        self.state = state
        self.config = state.config
        self.forecaster_ = None
        self.inventory_: pd.DataFrame | None = None
        self.status: dict[str, Any] = {
            "fitted": False,
            "fitted_at": None,
            "refits": 0,
            "updates": 0,
            "files": 0,
            "failed_files": 0,
            "last_arrival": None,
            "last_step_s": None,
            "watching": str(self.config.watch) if self.config.watch else None,
            "last_error": None,
        }
        self._jobs: queue.Queue = queue.Queue()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._seen: dict[str, tuple[int, int]] = {}
        self._queued: set[str] = set()
        self._last_fit = time.monotonic()

    # ------------------------------------------------------------------ life cycle
    def start(self) -> None:
        self._jobs.put(("fit",))
        self._spawn(self._work, "surgeplan-live")
        if self.config.watch is not None:
            for sub in ("processed", "failed"):
                (self.config.watch / sub).mkdir(parents=True, exist_ok=True)
            self._spawn(self._watch, "surgeplan-watch")

    def _spawn(self, target, name: str) -> None:
        t = threading.Thread(target=target, name=name, daemon=True)
        t.start()
        self._threads.append(t)

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._jobs.put(("stop",))
        for t in self._threads:
            t.join(timeout)

    def submit_window(self, first: str | None, last: str | None) -> None:
        """New measurements with ``first <= ts <= last`` are in the store: process them."""
        if first is not None and last is not None:
            self._jobs.put(("window", pd.Timestamp(first), pd.Timestamp(last), None))

    def inventory_changed(self) -> None:
        self._jobs.put(("inventory",))

    def idle(self) -> bool:
        """True when no arrival is waiting or being processed."""
        return self._jobs.unfinished_tasks == 0

    # ------------------------------------------------------------------ worker
    def _work(self) -> None:
        while not self._stop.is_set():
            try:
                job = self._jobs.get(timeout=1.0)
            except queue.Empty:
                self._maybe_refit()
                continue
            try:
                if job[0] == "stop":
                    return
                if job[0] == "window":
                    job = self._merge_waiting(job)
                self._run(job)
            except Exception as exc:  # noqa: BLE001 - the loop must survive one bad step
                _log.exception("live step failed")
                self.status["last_error"] = f"{type(exc).__name__}: {exc}"
                self.state.events.publish("error", {"detail": self.status["last_error"]})
            finally:
                self._jobs.task_done()
            self._maybe_refit()

    def _merge_waiting(self, job: tuple) -> tuple:
        """Fold window jobs already waiting into this one (one update for a burst of arrivals)."""
        _, first, last, files = job
        files = list(files or [])
        while True:
            try:
                nxt = self._jobs.queue[0]
            except IndexError:
                break
            if nxt[0] != "window":
                break
            self._jobs.get_nowait()
            self._jobs.task_done()
            first, last = min(first, nxt[1]), max(last, nxt[2])
            files += list(nxt[3] or [])
        return ("window", first, last, files)

    def _run(self, job: tuple) -> None:
        if job[0] == "fit":
            self._fit()
        elif job[0] == "inventory":
            self.inventory_ = None
        elif job[0] == "file":
            self._ingest_file(Path(job[1]))
        elif job[0] == "window":
            self._step(job[1], job[2], job[3])

    def _inventory(self) -> pd.DataFrame:
        if self.inventory_ is None:
            with self.state.db() as store:
                self.inventory_ = store.inventory()
        return self.inventory_

    def _fit(self) -> None:
        from surgeplan.forecast import ShockForecaster

        with self.state.read() as store:
            got = store.connection.execute("SELECT max(ts) FROM measurements").fetchall()[0][0]
            if got is None:
                return
            start = pd.Timestamp(got) - pd.Timedelta(days=self.config.fit_days)
            meas, ind = store.measurements(start=start), store.indicators()
        self.inventory_ = None
        inv = self._inventory()
        fc = ShockForecaster(quantiles=QUANTILES).fit(meas, inv, ind if len(ind) else None)
        self.forecaster_ = fc
        self._last_fit = time.monotonic()
        self.status.update(
            fitted=True,
            fitted_at=pd.Timestamp.now("UTC").isoformat(),
            resources=int(meas["resource_id"].nunique()),
        )

    def _maybe_refit(self) -> None:
        every = self.config.refit_every
        if self.forecaster_ is None or every is None or self._stop.is_set():
            return
        if time.monotonic() - self._last_fit >= every.total_seconds():
            self.forecaster_.refit()
            self._last_fit = time.monotonic()
            self.status["refits"] += 1

    def _step(self, first: pd.Timestamp, last: pd.Timestamp, files: list[str] | None) -> None:
        """Update, forecast ``live_horizon`` ahead, re-plan the touched resources, publish."""
        t0 = time.perf_counter()
        with self.state.read() as store:
            new = store.measurements(start=first, end=last + pd.Timedelta(microseconds=1))
        if new.empty:
            return
        if self.forecaster_ is None:
            self._fit()
        else:
            self.forecaster_.update(new)
        self.status["updates"] += 1
        self.status["last_arrival"] = pd.Timestamp(last).isoformat()
        touched = set(new["resource_id"].astype(str))
        latest = new.sort_values("ts").groupby("resource_id", observed=True).tail(1).head(50)
        self.state.events.publish(
            "measurements",
            {
                "rows": len(new),
                "resources": len(touched),
                "last_ts": pd.Timestamp(last).isoformat(),
                "files": files or [],
                "latest": [
                    {"resource_id": r, "ts": pd.Timestamp(t).isoformat(), "load": float(v)}
                    for r, t, v in latest[["resource_id", "ts", "load"]].itertuples(index=False)
                ],
            },
        )
        replanned, alerts = self._replan(touched)
        self.status["last_step_s"] = round(time.perf_counter() - t0, 3)
        breaking = (
            []
            if alerts.empty
            else [
                {"resource_id": r, "quantile": q, "status": s, "urgency": urgency(s)[1], "priority_class": p}
                for r, q, s, p in alerts[["resource_id", "quantile", "status", "priority_class"]]
                .astype(str)
                .itertuples(index=False)
                if urgency(s)[0] < 3
            ][:200]
        )
        self.state.events.publish(
            "alerts",
            {
                "version": self.state.alerts_version,
                "replanned": len(replanned),
                "breaking": breaking,
                "last_ts": pd.Timestamp(last).isoformat(),
                "files": files or [],
                "step_s": self.status["last_step_s"],
            },
        )

    def _replan(self, touched: set[str]) -> tuple[set[str], pd.DataFrame]:
        from surgeplan.forecast import busy_hour
        from surgeplan.plan import make_plan

        if self.forecaster_ is None:
            return set(), pd.DataFrame()
        inv = self._inventory()
        groups = set(inv.loc[inv["resource_id"].isin(touched), "group"].dropna().astype(str)) - {""}
        keep = inv["resource_id"].isin(touched) | inv["group"].astype(str).isin(groups)
        inv_sub = inv.loc[keep]
        f = self.forecaster_.predict(self.config.live_horizon)
        f = f.loc[f["resource_id"].astype(str).isin(set(inv_sub["resource_id"]))]
        if f.empty:
            return set(), pd.DataFrame()
        bh = busy_hour(f, "D")
        asof = pd.Timestamp(f["ts"].min()).tz_convert(None).normalize()
        plan = make_plan(inv_sub, bh, asof, quantile="p90", alert_quantiles=("p50", "p90", "p99"))
        replanned = set(inv_sub["resource_id"].astype(str))
        self.state.set_current(plan.alerts, resources=replanned)
        return replanned, plan.alerts

    # ------------------------------------------------------------------ watched folder
    def _watch(self) -> None:
        folder = self.config.watch
        while not self._stop.wait(self.config.poll_s):
            try:
                entries = sorted(
                    p
                    for p in folder.iterdir()
                    if p.is_file() and not p.name.startswith(".") and p.name.lower().endswith(_SUFFIXES)
                )
            except OSError:
                continue
            for path in entries:
                if path.name in self._queued:
                    continue
                try:
                    st = path.stat()
                except OSError:
                    continue
                sig = (st.st_size, st.st_mtime_ns)
                if self._seen.get(path.name) == sig:
                    self._queued.add(path.name)
                    self._jobs.put(("file", str(path)))
                else:
                    self._seen[path.name] = sig

    def _ingest_file(self, path: Path) -> None:
        try:
            self._take_file(path)
        finally:  # only once the file has left the folder may the watcher see that name again
            self._queued.discard(path.name)
            self._seen.pop(path.name, None)

    def _take_file(self, path: Path) -> None:
        folder = self.config.watch
        if not path.exists():
            return
        try:
            with self.state.db() as store:
                report = store.ingest_measurements(path)
        except (SurgeplanError, OSError) as exc:
            self.status["failed_files"] += 1
            target = folder / "failed" / path.name
            shutil.move(str(path), target)
            target.with_name(target.name + ".error.txt").write_text(f"{exc}\n", encoding="utf-8")
            self.state.events.publish("ingest_error", {"file": path.name, "detail": str(exc)})
            return
        self.status["files"] += 1
        shutil.move(str(path), folder / "processed" / path.name)
        if report.changed:
            self._step(pd.Timestamp(report.first), pd.Timestamp(report.last), [path.name])
