import pkgutil
import subprocess
import sys
from pathlib import Path

import matching.engine

ROOT = Path(__file__).resolve().parents[2]


def test_the_engine_never_imports_django_or_the_apps():
    modules = [f"matching.engine.{m.name}" for m in pkgutil.iter_modules(matching.engine.__path__)]
    assert "matching.engine.scoring" in modules
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('django', 'rest_framework', 'accounts', 'mentorship', 'celery'))\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""
