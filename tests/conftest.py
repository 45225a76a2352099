"""Tests of the repository's own tools (tools/*.py), run by a bare `pytest` at the root."""

import sys
from pathlib import Path

import pytest

TOOLS = Path(__file__).resolve().parents[1] / "tools"
sys.path.insert(0, str(TOOLS))  # the tools are scripts, not a package: import them by name

SKELETON = {
    "README.md": "# Stage\n\nWhat this stage adds.\n",
    "pyproject.toml": '[tool.pytest.ini_options]\npythonpath = ["."]\n',
    "config.py": '"""Configuration."""\n\nSECRET_KEY = "dev"  # never in production\n',
    "app/__init__.py": '"""The app."""\n\n\ndef create_app():\n    return "app"\n',
    "tests/conftest.py": "import pytest\n",
}


@pytest.fixture
def make_stage(tmp_path):
    """Write a fake stage folder under tmp_path: the skeleton, plus or minus some files."""

    def make(name: str, files: dict[str, str | None] | None = None) -> Path:
        folder = tmp_path / name if name == "final" else tmp_path / "stages" / name
        for path, text in {**SKELETON, **(files or {})}.items():
            if text is not None:  # None leaves a skeleton file out
                (folder / path).parent.mkdir(parents=True, exist_ok=True)
                (folder / path).write_text(text)
        for material in (f"docs/stages/{name}.md", f"notebooks/{name}.ipynb"):
            (tmp_path / material).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / material).write_text("{}")  # the page and notebook every stage has
        return folder

    return make
