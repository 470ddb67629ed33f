"""lab.jobs: training in a spawned worker process, pause/resume/stop, crashes, the cap.

Each job spawns a Python that imports TensorFlow (a few seconds), so the tests use
few, tiny runs (tiny preset, 32 px, 200 procedural flowers, batch 8) and no timing
assertions: waits have generous deadlines only so that a hang fails instead of
blocking the suite.
"""

import multiprocessing as mp
import time

import numpy as np
import pytest

from lab.jobs import JobManager, TrainingJob

DEADLINE_S = 120  # only to fail a hang; never a speed assertion


def config(**overrides):
    base = dict(image_size=32, preset="tiny", num_images=200, batch_size=8, seed=0,
                max_steps=1000)
    return {**base, **overrides}


def wait_for(job, predicate, events=None, deadline=DEADLINE_S):
    """Poll until predicate(event) holds for a new event (or the job ends); returns it."""
    events = [] if events is None else events
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        for event in job.poll():
            events.append(event)
            if predicate(event):
                return event
        if job.finished and not job.is_alive():
            return None
        time.sleep(0.05)
    job.close()
    pytest.fail(f"timed out waiting; events so far: {[e['type'] for e in events]}")


def wait_finished(job, events=None):
    events = [] if events is None else events
    wait_for(job, lambda e: e["type"] in ("done", "error"), events)
    return events


@pytest.fixture
def out_dir(tmp_path):
    yield tmp_path / "runs"
    leftover = mp.active_children()  # every test closes its jobs: no process may outlive it
    for p in leftover:
        p.kill()
    assert leftover == []


def test_a_job_runs_to_done_with_progress_snapshots_and_a_loadable_bundle(out_dir):
    from core.checkpoints import load_bundle

    job = TrainingJob(config(max_steps=30, snapshot_every=30), out_dir, name="flowers")
    assert job.state == "created" and not job.is_alive()
    job.start()
    assert job.state == "running"
    import core.diffusion  # noqa: F401  (TensorFlow loads here while the child starts)
    events = wait_finished(job)
    job.close()
    kinds = [e["type"] for e in events]
    assert kinds[0] == "started" and kinds[-1] == "done", kinds
    assert "error" not in kinds
    done = events[-1]
    assert job.state == "done" and done["reason"] == "budget" and done["steps"] == 30
    assert job.bundle == done["bundle"] == str(out_dir / "flowers")
    progress = [e for e in events if e["type"] == "progress"]
    assert progress[-1]["step"] == 30 and np.isfinite(progress[-1]["n_loss"])
    assert "n_loss_bin_0" in progress[-1] and progress[-1]["images_per_s"] > 0
    # About once a second (and at the budget), not after every step.
    assert len(progress) < 30
    gaps = np.diff([e["elapsed_s"] for e in progress[:-1]])
    assert np.all(gaps >= 0.99), gaps
    snaps = [e for e in events if e["type"] == "snapshot"]
    assert [s["step"] for s in snaps] == [30]
    assert snaps[0]["images"].dtype == np.uint8 and snaps[0]["images"].shape == (16, 32, 32, 3)
    assert job.snapshots[0][0] == 30
    model, meta = load_bundle(job.bundle, expect_image_size=32)
    assert meta["steps"] == 30 and meta["train_config"]["max_steps"] == 30
    assert model.optimizer is not None and int(model.optimizer.iterations.numpy()) == 30
    assert not job.is_alive()


def test_pause_blocks_resume_continues_and_stop_ends_within_a_step(out_dir):
    job = TrainingJob(config(), out_dir, name="paused")
    job.start()
    events = []
    wait_for(job, lambda e: e["type"] == "progress" and e["step"] >= 3, events)

    job.pause()
    assert job.state == "paused"
    paused = wait_for(job, lambda e: e["type"] == "paused", events)
    assert paused is not None
    checkpoint = events[-2]  # a pause saves the model first, so it can be sampled from
    assert checkpoint["type"] == "checkpoint" and checkpoint["step"] == paused["step"]
    assert job.bundle == checkpoint["bundle"] == str(out_dir / "paused")
    from core.checkpoints import read_metadata
    assert read_metadata(job.bundle)["steps"] == paused["step"]
    time.sleep(1.5)  # three progress periods: a running job would have reported
    during = job.poll()
    assert [e for e in during if e["type"] == "progress"] == []
    assert job.state == "paused" and job.is_alive()

    job.resume()
    assert job.state == "running"
    wait_for(job, lambda e: e["type"] == "progress" and e["step"] > paused["step"], events)

    job.pause()
    at = wait_for(job, lambda e: e["type"] == "paused", events)
    job.stop()  # stop works while paused
    assert job.state == "stopping"
    wait_finished(job, events)
    done = events[-1]
    assert done["type"] == "done" and done["reason"] == "stopped", done
    assert done["steps"] <= at["step"] + 2
    assert job.state == "done" and job.bundle is not None

    job.close()
    assert not job.is_alive()
    assert job._process not in mp.active_children()


def test_close_of_a_running_job_leaves_no_process(out_dir):
    job = TrainingJob(config(), out_dir, name="closed")
    job.start()
    pid = job.pid
    job.close(timeout=0.5)  # still importing TensorFlow: must terminate it
    assert not job.is_alive()
    assert pid not in [p.pid for p in mp.active_children()]
    assert job.state == "failed" and job.message and job.bundle is None


def test_the_cap_queues_a_second_job_divergence_and_crash_are_reported(out_dir):
    manager = JobManager(max_running=1)
    diverging = TrainingJob(config(max_steps=300, learning_rate=1e9), out_dir, name="diverging")
    crashing = TrainingJob(config(preset="no-such-preset"), out_dir, name="crashing")
    manager.submit(diverging)
    manager.submit(crashing)
    assert manager.position(diverging) == 0 and manager.position(crashing) == 1
    assert diverging.is_alive() and crashing.state == "created" and not crashing.is_alive()

    end = time.monotonic() + DEADLINE_S
    while crashing.state == "created" and time.monotonic() < end:
        diverging.poll()
        manager.heartbeat(crashing)
        manager.tick()
        if crashing.state == "created":
            assert manager.position(crashing) == 1
        else:  # started only once the first worker had ended
            assert not diverging.is_alive()
        time.sleep(0.05)
    assert manager.position(crashing) == 0 and crashing.state == "running"
    diverging.poll()
    assert diverging.state == "diverged", (diverging.state, diverging.message)
    assert "Lower the learning rate" in diverging.message

    from core.checkpoints import load_bundle
    model, meta = load_bundle(diverging.bundle)
    assert meta["reason"] == "diverged"
    assert all(np.all(np.isfinite(w)) for w in model.get_weights())

    crash_events = wait_finished(crashing)
    assert crashing.state == "failed"
    assert crash_events[-1]["type"] == "error"
    assert "no-such-preset" in crashing.message and "\n" not in crashing.message
    assert crashing.bundle is None
    crashing.close()
    assert not crashing.is_alive()


def test_reap_closes_jobs_without_a_heartbeat(out_dir):
    manager = JobManager(max_running=1)
    first = TrainingJob(config(), out_dir, name="first")
    second = TrainingJob(config(), out_dir, name="second")
    manager.submit(first)
    manager.submit(second)
    assert manager.position(second) == 1
    manager.heartbeat(second)
    time.sleep(0.2)
    manager.reap(max_idle_s=60)  # both were seen recently
    assert manager.jobs() == [first, second]
    manager.reap(max_idle_s=0.1, timeout=0.5)
    assert manager.jobs() == []
    assert not first.is_alive() and not second.is_alive()
    assert first.finished and second.finished


def test_the_module_imports_neither_tensorflow_nor_streamlit():
    import subprocess
    import sys

    from conftest import ROOT

    code = ("import sys, lab.jobs; print(sorted(m for m in sys.modules "
            "if m.split('.')[0] in ('tensorflow', 'keras', 'streamlit')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]"
