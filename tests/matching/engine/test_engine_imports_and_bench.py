"""The engine stays pure (no Django), and the benchmark runs end to end on a tiny cohort."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from matching.engine import bench

REPO = Path(__file__).resolve().parents[3]


def test_importing_every_engine_module_never_imports_django():
    modules = sorted(p.stem for p in (REPO / "matching" / "engine").glob("*.py"))
    assert {"features", "scoring", "assign", "bench"} <= set(modules)
    names = ["matching.engine" if m == "__init__" else f"matching.engine.{m}" for m in modules]
    code = (
        "import importlib, sys\n"
        f"for name in {names!r}:\n"
        "    importlib.import_module(name)\n"
        "banned = ('django', 'rest_framework', 'celery', 'accounts', 'mentorship')\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & set(banned)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_benchmark_reports_zero_gap_against_scipy_on_a_small_cohort(capsys):
    row = bench.run(150, 40, seed=1)
    assert row["gap"] == pytest.approx(0.0, abs=1e-6)
    assert row["total"] > 0 and row["matched"] > 0
    bench.main(["--sizes", "60x20"])
    out = capsys.readouterr().out
    assert "students x mentors" in out and "60 x 20" in out
