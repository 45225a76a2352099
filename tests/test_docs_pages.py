"""Pages written by hand that name what final/'s code defines: they must name all of it."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def module_dict_keys(path: Path, name: str) -> set[str]:
    """The string keys of a module-level `NAME = {...}`, read without importing the module."""
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and [t.id for t in node.targets] == [name]:
            return {key.value for key in node.value.keys}
    raise AssertionError(f"{path} has no {name}")


def test_the_errors_page_lists_every_problem_type_and_no_other():
    kinds = module_dict_keys(ROOT / "final" / "app" / "errors.py", "PROBLEM_TYPES")
    page = (ROOT / "docs" / "reference" / "errors.md").read_text(encoding="utf-8")
    table = page.split("## Problem types", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"^\| `([a-z-]+)` \| \d{3} \|", table, re.MULTILINE))
    assert listed == kinds
