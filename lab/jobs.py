"""Live training runs in spawned worker processes, and a server-wide cap on them.

Streamlit calls ``keras.backend.clear_session()`` after every rerun (REFERENCE.md,
platform facts), so a model trained inside the app process breaks at random. A
`TrainingJob` therefore trains in a child process started with the ``spawn`` method;
the child imports TensorFlow, runs a `core.training.Trainer` and reports through a
queue. The app process never imports TensorFlow for this module.

Events a page drains with `TrainingJob.poll()` (plain dicts, small payloads):

* ``{"type": "started", "step": 0, "dataset": str}``: the model is built, training begins;
* ``{"type": "progress", "step", "images_per_s", "eta_s", "elapsed_s", "n_loss", ...}``
  about once a second (the Trainer's progress dict; paused time is not counted);
* ``{"type": "snapshot", "step": int, "images": uint8 (16, H, W, 3)}``;
* ``{"type": "paused", "step": int}`` / ``{"type": "resumed", "step": int}``;
* ``{"type": "checkpoint", "step": int, "bundle": str}``: a bundle was saved (every
  ``checkpoint_every_s``, and on pause before "paused", so a paused run can be sampled);
* ``{"type": "done", "reason", "message", "bundle", "steps", "seconds"}``: sent from
  the training callback as soon as the budget, a stop or a divergence ends the run,
  after the final bundle is saved (``fit()`` can return seconds later; the worker
  exits right after sending it, so its slot frees at once);
* ``{"type": "error", "message": str, "details": str}``: an exception in the worker,
  or the process died without "done".

States: "created" → "running" ⇄ "paused" → "stopping" → "done" | "diverged" | "failed".
"""

from __future__ import annotations

import math
import multiprocessing as mp
import os
import queue as queue_module
import sys
import threading
import time
import traceback
from pathlib import Path

import numpy as np

__all__ = ["TrainingJob", "JobManager", "default_max_running", "CHECKPOINT_EVERY_S"]

CHECKPOINT_EVERY_S = 60.0     # periodic bundle while training, so a crash loses little
PAUSE_POLL_S = 0.05           # how often a paused worker looks at its events
TERMINAL_STATES = ("done", "diverged", "failed")


def _one_line(text: str, limit: int = 300) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _to_uint8(images01) -> np.ndarray:
    return np.clip(np.rint(np.asarray(images01, dtype=np.float32) * 255.0), 0, 255).astype(np.uint8)


# --------------------------------------------------------------------------- worker


def _worker_main(config: dict, bundle_path: str, images, events, stop_event, pause_event,
                 parent_pid: int, checkpoint_every_s: float) -> None:
    """Entry point of the spawned child (module level, so spawn can pickle it)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep the app's console readable
    try:
        _train_in_worker(config, bundle_path, images, events, stop_event, pause_event,
                         parent_pid, checkpoint_every_s)
    except BaseException as err:  # noqa: BLE001  (report everything, then exit 1)
        message = _one_line(f"{type(err).__name__}: {err}")
        events.put({"type": "error", "message": message,
                    "details": traceback.format_exc()[-4000:]})
        _flush_and_exit(events, 1)
    _flush_and_exit(events, 0)


def _flush_and_exit(events, code: int) -> None:
    """Make sure every event reached the pipe, then end the process at once
    (without waiting for fit() to finish its validation and tear-down)."""
    try:
        events.close()
        events.join_thread()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _train_in_worker(config, bundle_path, images, events, stop_event, pause_event,
                     parent_pid, checkpoint_every_s):
    import keras

    from core.checkpoints import save_bundle
    from core.training import TrainConfig, Trainer

    cfg = TrainConfig(**config)
    started = time.perf_counter()
    history: dict[str, list] = {}

    def on_progress(report: dict) -> None:
        for key in ("step", "n_loss", "val_n_loss"):
            if report.get(key) is not None:
                history.setdefault(key, []).append(float(report[key]))
        events.put({"type": "progress", **report})

    def on_snapshot(step: int, images01) -> None:
        events.put({"type": "snapshot", "step": int(step), "images": _to_uint8(images01)})

    class JobControl(keras.callbacks.Callback):
        """Runs after the Trainer's own loop callback at each step: pause, periodic
        checkpoint, and "done" as soon as that loop asked fit() to stop."""

        def __init__(self):
            super().__init__()
            self.trainer = None
            self.finished = False
            self.last_save = time.perf_counter()
            self.paused_s = 0.0

        def save(self, reason: str) -> str:
            tr = self.trainer
            save_bundle(self.model, bundle_path, metadata={
                "steps": tr.step, "train_config": cfg.to_dict(), "reason": reason,
                "wall_time_s": round(time.perf_counter() - started, 1)},
                history=history, dataset=tr.dataset_description, include_optimizer=True)
            self.last_save = time.perf_counter()
            return bundle_path

        def finish(self, reason: str, message: str) -> None:
            if self.finished:
                return
            self.finished = True
            tr = self.trainer
            bundle = self.save(reason) if tr.step > 0 else None
            events.put({"type": "done", "reason": reason, "message": message, "bundle": bundle,
                        "steps": int(tr.step), "seconds": time.perf_counter() - started})
            _flush_and_exit(events, 0)

        def on_train_batch_end(self, batch, logs=None):
            if self.finished:
                return
            tr = self.trainer
            if os.getppid() != parent_pid:  # the app died: never train on as an orphan
                tr.request_stop()
                self.model.stop_training = True
            if self.model.stop_training:  # the Trainer's loop ended the run at this step
                loss = float((logs or {}).get("n_loss", (logs or {}).get("loss", 0.0)))
                if not math.isfinite(loss):
                    self.finish("diverged", f"the loss became {loss} at step {tr.step}; the "
                                f"weights of step {tr.good_step} were kept. Lower the learning rate.")
                elif tr.stop_requested():
                    self.finish("stopped", f"stopped by request at step {tr.step}")
                else:
                    self.finish("budget", f"budget reached at step {tr.step}")
                return
            if pause_event.is_set() and not stop_event.is_set():
                self.pause()
                if stop_event.is_set():
                    self.model.stop_training = True
                    self.finish("stopped", f"stopped by request at step {tr.step}")
                    return
            if time.perf_counter() - self.last_save >= checkpoint_every_s:
                events.put({"type": "checkpoint", "step": int(tr.step),
                            "bundle": self.save("checkpoint")})

        def pause(self):
            tr = self.trainer
            # Save first, so a paused run can be sampled from or downloaded.
            events.put({"type": "checkpoint", "step": int(tr.step), "bundle": self.save("paused")})
            events.put({"type": "paused", "step": int(tr.step)})
            t0 = time.perf_counter()
            while pause_event.is_set() and not stop_event.is_set():
                stop_event.wait(PAUSE_POLL_S)
                if os.getppid() != parent_pid:
                    stop_event.set()
            paused = time.perf_counter() - t0
            self.paused_s += paused
            # A pause must not eat the time budget nor lower the measured speed.
            if tr.config.max_minutes is not None:
                tr.config.max_minutes += paused / 60.0
            self.last_save += paused
            if not stop_event.is_set():
                events.put({"type": "resumed", "step": int(tr.step)})

    control = JobControl()
    trainer = Trainer(cfg, images=images, on_progress=on_progress, on_snapshot=on_snapshot,
                      stop_event=stop_event, extra_callbacks=[control])
    control.trainer = trainer
    plain_progress = trainer.progress
    trainer.progress = lambda logs, elapsed: plain_progress(logs, max(elapsed - control.paused_s, 1e-9))
    if stop_event.is_set():
        events.put({"type": "done", "reason": "stopped", "message": "stopped before the first step",
                    "bundle": None, "steps": 0, "seconds": time.perf_counter() - started})
        return
    events.put({"type": "started", "step": 0, "dataset": trainer.dataset_description})
    result = trainer.run()
    # Only reached when fit() ended on its own (an epoch budget): report from here.
    control.finish(result.reason, result.message or f"finished after {result.steps} steps")


# --------------------------------------------------------------------------- job


class TrainingJob:
    """One training run in a spawned worker process (multiprocessing 'spawn' context).

    config: TrainConfig fields as a dict. images: optional (N, H, W, 3) float32 in
    [0, 1] (else the data named by the config). The bundle is saved to
    ``out_dir / name`` (periodically, and at the end with the optimizer state).
    """

    def __init__(self, config: dict, out_dir: str | Path, images: np.ndarray | None = None,
                 name: str = "run", checkpoint_every_s: float = CHECKPOINT_EVERY_S):
        self.config = dict(config)
        self.out_dir = Path(out_dir)
        self.name = name
        self.bundle_path = str(self.out_dir / name)
        self.images = None if images is None else np.asarray(images, dtype=np.float32)
        self.checkpoint_every_s = float(checkpoint_every_s)
        self.state = "created"
        self.bundle: str | None = None
        self.message = ""
        self.step = 0
        self.last_progress: dict | None = None
        self.progress: list[dict] = []          # every progress event, for charts
        self.snapshots: list[tuple[int, np.ndarray]] = []
        self.result: dict | None = None         # the "done" event
        self.created_at = time.time()
        self.started_at: float | None = None
        self._ctx = mp.get_context("spawn")
        self._events = self._ctx.Queue()
        self._stop = self._ctx.Event()
        self._pause = self._ctx.Event()
        self._process = None
        self._lock = threading.Lock()          # poll() may run in several reruns at once

    # ---- control
    def start(self) -> None:
        if self._process is not None:
            return
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self._process = self._ctx.Process(
            target=_worker_main, name=f"diffusion-lab-train-{self.name}", daemon=True,
            args=(self.config, self.bundle_path, self.images, self._events, self._stop,
                  self._pause, os.getpid(), self.checkpoint_every_s))
        self._process.start()
        self.images = None  # the child has its copy
        self.started_at = time.time()
        self.state = "stopping" if self._stop.is_set() else "running"

    def pause(self) -> None:
        if self.state == "running":
            self._pause.set()
            self.state = "paused"

    def resume(self) -> None:
        if self.state == "paused":
            self._pause.clear()
            self.state = "running"

    def stop(self) -> None:
        self._stop.set()
        if self.state in ("running", "paused"):
            self.state = "stopping"

    def is_alive(self) -> bool:
        return self._process is not None and self._process.is_alive()

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    @property
    def finished(self) -> bool:
        return self.state in TERMINAL_STATES

    # ---- events
    def poll(self) -> list[dict]:
        """Drain new events without blocking, and update the job's state."""
        with self._lock:
            if self._process is None:
                return []
            alive = self._process.is_alive()
            out = self._drain()
            if not alive and not self.finished:
                out += self._drain()  # anything flushed just before the exit
                if not self.finished:
                    code = self._process.exitcode
                    out.append(self._apply({"type": "error", "message": (
                        f"the training process ended unexpectedly (exit code {code})")}))
            return out

    def _drain(self) -> list[dict]:
        out = []
        while True:
            try:
                event = self._events.get_nowait()
            except (queue_module.Empty, OSError, ValueError, EOFError):
                return out
            out.append(self._apply(event))

    def _apply(self, event: dict) -> dict:
        kind = event.get("type")
        if kind == "progress":
            self.step = int(event.get("step", self.step))
            self.last_progress = event
            self.progress.append(event)
        elif kind == "snapshot":
            self.snapshots.append((int(event["step"]), event["images"]))
        elif kind in ("paused", "resumed", "started"):
            self.step = int(event.get("step", self.step))
        elif kind == "checkpoint":
            self.bundle = event["bundle"]
        elif kind == "done":
            self.result = event
            self.step = int(event["steps"])
            self.bundle = event.get("bundle") or self.bundle
            self.message = event.get("message", "")
            self.state = "diverged" if event.get("reason") == "diverged" else "done"
        elif kind == "error":
            self.message = event.get("message", "")
            self.state = "failed"
            if self.bundle is None and (Path(self.bundle_path) / "metadata.json").exists():
                self.bundle = self.bundle_path  # the last periodic checkpoint
        return event

    # ---- shutdown
    def close(self, timeout: float = 5.0) -> None:
        """Stop, wait up to `timeout` s (draining events), then terminate or kill:
        never leaves an orphan process."""
        if self._process is None:
            if not self.finished:
                self.state, self.message = "failed", "cancelled before it started"
            return
        self.stop()
        deadline = time.monotonic() + timeout
        while self._process.is_alive() and time.monotonic() < deadline:
            self.poll()
            self._process.join(0.05)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(2.0)
        if self._process.is_alive():
            self._process.kill()
            self._process.join(2.0)
        self.poll()
        if not self.finished:
            self.state, self.message = "failed", self.message or "closed before it finished"
        self._events.cancel_join_thread()

    def __repr__(self) -> str:
        return f"TrainingJob({self.name!r}, state={self.state!r}, step={self.step})"


# --------------------------------------------------------------------------- manager


def default_max_running() -> int:
    env = os.environ.get("DIFFUSION_LAB_MAX_RUNS")
    if env:
        try:
            return max(1, int(env))
        except ValueError:
            pass
    return max(1, (os.cpu_count() or 2) // 2)


class JobManager:
    """Server-wide cap on concurrent runs (default from env DIFFUSION_LAB_MAX_RUNS,
    else one run per two cores: 1 on a 2-core machine). Thread-safe: Streamlit serves
    every session from threads of one process."""

    def __init__(self, max_running: int | None = None):
        self.max_running = max_running if max_running is not None else default_max_running()
        self.running: list[TrainingJob] = []
        self.queued: list[TrainingJob] = []
        self._heartbeats: dict[int, float] = {}
        self._lock = threading.RLock()

    def submit(self, job: TrainingJob) -> None:
        with self._lock:
            if job in self.running or job in self.queued:
                return
            self._heartbeats[id(job)] = time.monotonic()
            self.queued.append(job)
            self.tick()

    def position(self, job) -> int:
        """0 = running (or finished), k = k-th in the queue, -1 = unknown to the manager."""
        with self._lock:
            if job in self.queued:
                return self.queued.index(job) + 1
            return 0 if job in self.running or job.state != "created" else -1

    def tick(self) -> None:
        with self._lock:
            # A slot is free once the worker process has ended (it exits right after
            # "done"). Never poll here: the page's own poll() must see every event.
            for job in list(self.running):
                if not job.is_alive():
                    self.running.remove(job)
                    self._heartbeats.pop(id(job), None)
            while self.queued and len(self.running) < self.max_running:
                job = self.queued.pop(0)
                job.start()
                self.running.append(job)

    def cancel(self, job, timeout: float = 5.0) -> None:
        """Remove a queued job, or stop and close a running one (see TrainingJob.close)."""
        with self._lock:
            self._cancel(job, timeout)
            self.tick()

    def _cancel(self, job, timeout: float) -> None:
        if job in self.queued:
            self.queued.remove(job)
            job.close(timeout)
        elif job in self.running:
            job.close(timeout)
            self.running.remove(job)
        self._heartbeats.pop(id(job), None)

    def heartbeat(self, job) -> None:
        with self._lock:
            self._heartbeats[id(job)] = time.monotonic()

    def reap(self, max_idle_s: float, timeout: float = 5.0) -> None:
        """Close jobs nobody has looked at for `max_idle_s` (tab closed, session ended)."""
        now = time.monotonic()
        with self._lock:
            idle = [job for job in self.queued + self.running
                    if now - self._heartbeats.get(id(job), now) > max_idle_s]
            for job in idle:  # queued ones first, so none of them starts only to be closed
                self._cancel(job, timeout)
            self.tick()

    def jobs(self) -> list[TrainingJob]:
        with self._lock:
            return list(self.running) + list(self.queued)
