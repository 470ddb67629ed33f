"""Pages that need no network must open without importing TensorFlow (3 s on a laptop)."""

import json
import subprocess
import sys

from conftest import ROOT

SCRIPT = r"""
import json, sys
from streamlit.testing.v1 import AppTest
for page in ("forward", "schedules", "train"):
    at = AppTest.from_file("streamlit_app.py", default_timeout=120)
    at.switch_page(f"app_pages/{page}.py")
    at.run()
    assert not at.exception, [e.message for e in at.exception]
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras", "jax", "torch"))
print(json.dumps(heavy))
"""


def test_forward_schedules_and_train_pages_leave_tensorflow_unimported():
    out = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_core_schedules_forward_and_data_import_without_streamlit():
    code = ("import sys, core.schedules, core.forward, core.data; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('streamlit', 'tensorflow', 'keras')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]"
