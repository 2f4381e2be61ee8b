"""The code's shape: the domain never imports the web layer, and modules and functions stay small."""

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import qa

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("qa", "api", "embeddings", "benchmarks", "tests")
MAX_MODULE_LINES = 300
MAX_FUNCTION_LINES = 60
# A function may be longer where a comment just above its `def` starts so and says why.
LONG_FUNCTION_MARK = "# Over 60 lines:"


def _sources() -> list[Path]:
    return sorted(path for package in PACKAGES for path in (ROOT / package).rglob("*.py"))


def test_importing_every_domain_module_loads_no_web_code() -> None:
    # `qa.training.export` needs the optional exporter packages; it is still part of the domain.
    skipped = ("qa.training.export", "qa.cli.__main__")  # `__main__` runs the command
    modules = [m.name for m in pkgutil.walk_packages(qa.__path__, "qa.") if m.name not in skipped]
    code = f"import importlib, sys\nfor name in {modules!r}: importlib.import_module(name)\n" + (
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'api', 'fastapi', 'starlette', 'uvicorn'}))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert len(modules) > 30 and result.stdout.strip() == "[]"


@pytest.mark.parametrize("path", _sources(), ids=lambda path: str(path.relative_to(ROOT)))
def test_modules_and_functions_stay_small(path: Path) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= MAX_MODULE_LINES, f"{len(lines)} lines: split the module by job"
    for node in ast.walk(ast.parse("\n".join(lines))):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            explained = LONG_FUNCTION_MARK in _comment_above(lines, first)
            assert length <= MAX_FUNCTION_LINES or explained, f"{node.name} has {length} lines and no comment why"


def _comment_above(lines: list[str], line_number: int) -> str:
    """The block of comment lines just above 1-based `line_number`."""
    block: list[str] = []
    index = line_number - 2
    while index >= 0 and lines[index].strip().startswith("#"):
        block.insert(0, lines[index].strip())
        index -= 1
    return "\n".join(block)
