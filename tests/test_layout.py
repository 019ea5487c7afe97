"""Dependencies point one way: seller -> kaspi_sync -> messaging, with config (settings, Celery,
Redis, bulk inserts) under all; only config/urls.py, the root of the web app, sees every app.
A module-level or function-level import against that direction fails here."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = {"messaging": ("seller", "kaspi_sync"), "kaspi_sync": ("seller",), "config": ("seller", "kaspi_sync", "messaging")}


def imported(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_no_import_against_the_direction(package):
    wrong = [f"{path.relative_to(ROOT)} imports {name}"
             for path in sorted((ROOT / package).rglob("*.py"))
             if "migrations" not in path.parts and path != ROOT / "config" / "urls.py"
             for name in imported(path) if name.split(".")[0] in FORBIDDEN[package]]
    assert not wrong, "dependencies must point seller -> kaspi_sync -> messaging:\n" + "\n".join(wrong)
