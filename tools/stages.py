"""The stage chain: stages/01_factory -> stages/02_... -> final, checked and diffed.

    python tools/stages.py diff      # write docs/generated/diffs/<newer>.diff and .stat.md
    python tools/stages.py --check   # skeleton, notebook and page for every stage, no formatting
                                     # churn, each neighbouring diff under MAX_CHANGED_LINES

Each stage is its predecessor plus one pattern, so the diff between neighbours is the lesson. The
check keeps that diff honest: a file that only changed its formatting would be noise in the lesson.
The docs build calls generate() (through tools/docs_hooks.py), so the diffs on the site are made
from the folders at build time and cannot be stale.
"""

import argparse
import ast
import difflib
import io
import sys
import tempfile
import tokenize
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DIFFS = Path("docs/generated/diffs")
SKELETON = ("README.md", "pyproject.toml", "config.py", "app/__init__.py", "tests/conftest.py")
# Local by-products of running a stage, never part of the lesson (they are git-ignored too).
IGNORED_DIRS = {"__pycache__", "instance", ".pytest_cache", ".ruff_cache", ".hypothesis"}
IGNORED_SUFFIXES = {".pyc", ".db"}
# One pattern per step: a longer diff is two lessons. Both sides of the diff count.
MAX_CHANGED_LINES = 1000
# Steps allowed over the limit for now: a higher cap and the reason, printed on every check.
OVER_THE_LIMIT: dict[str, tuple[int, str]] = {}


def chain(root: Path) -> list[Path]:
    """The stage folders in teaching order: stages/NN_* sorted by number, then final/."""
    folders = sorted(path for path in root.glob("stages/[0-9]*") if path.is_dir())
    if (root / "final").is_dir():
        folders.append(root / "final")
    return folders


def stage_files(folder: Path) -> list[str]:
    """The files of a stage as sorted, '/'-separated paths relative to the stage folder."""
    files = []
    for path in folder.rglob("*"):
        relative = path.relative_to(folder)
        ignored = IGNORED_DIRS.intersection(relative.parts[:-1]) or path.suffix in IGNORED_SUFFIXES
        if path.is_file() and not ignored:
            files.append(relative.as_posix())
    return sorted(files)


def read_text(path: Path) -> str | None:
    """The text exactly as stored (CRLF stays CRLF), "" for a missing file (as diff -N does),
    None for a binary file."""
    if not path.exists():
        return ""
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        return None


def split_lines(text: str) -> list[str]:
    """The lines with their line ends, split at newlines only, as diff does (str.splitlines
    would also split at form feeds and other rare separators)."""
    *lines, last = text.split("\n")
    return [line + "\n" for line in lines] + ([last] if last else [])


@dataclass
class FileChange:
    path: str
    status: str  # "added", "removed" or "changed"
    added: int
    removed: int
    diff: str


@dataclass
class PairDiff:
    older: Path
    newer: Path
    changes: list[FileChange]

    @property
    def name(self) -> str:
        return self.newer.name

    @property
    def text(self) -> str:
        return "".join(change.diff for change in self.changes)

    @property
    def changed_lines(self) -> int:
        return sum(change.added + change.removed for change in self.changes)

    @property
    def summary(self) -> str:
        added = sum(change.added for change in self.changes)
        removed = sum(change.removed for change in self.changes)
        return (
            f"{self.older.name} -> {self.newer.name}: "
            f"{len(self.changes)} files changed, +{added} -{removed}"
        )

    def stat_markdown(self) -> str:
        rows = [f"`{self.older.name}` → `{self.newer.name}`\n", "| file | status | + | − |"]
        rows.append("|---|---|--:|--:|")
        for change in self.changes:
            rows.append(
                f"| `{change.path}` | {change.status} | +{change.added} | -{change.removed} |"
            )
        added = sum(change.added for change in self.changes)
        removed = sum(change.removed for change in self.changes)
        rows.append(f"| **{len(self.changes)} files** | | **+{added}** | **-{removed}** |")
        return "\n".join(rows) + "\n"


def diff_file(older: Path, newer: Path, path: str) -> FileChange | None:
    """One file's unified diff with a/ and b/ paths, like `diff -ruN`; None if unchanged."""
    old_file, new_file = older / path, newer / path
    if old_file.exists() and new_file.exists() and old_file.read_bytes() == new_file.read_bytes():
        return None
    status = "added" if not old_file.exists() else "removed" if not new_file.exists() else "changed"
    header = f"diff -ruN a/{path} b/{path}\n"
    old_text, new_text = read_text(old_file), read_text(new_file)
    if old_text is None or new_text is None:
        binary = f"{header}Binary files a/{path} and b/{path} differ\n"
        return FileChange(path, status, 0, 0, binary)

    lines = list(
        difflib.unified_diff(
            split_lines(old_text),
            split_lines(new_text),
            fromfile=f"a/{path}",
            tofile=f"b/{path}",
        )
    )
    if not lines:  # an empty file added or removed: still worth a header
        lines = [f"--- a/{path}\n", f"+++ b/{path}\n"]
    body = lines[2:]
    added = sum(1 for line in body if line.startswith("+"))
    removed = sum(1 for line in body if line.startswith("-"))
    # Same marker as diff and git, so a missing final newline is visible rather than lost.
    text = "".join(
        line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines
    )
    return FileChange(path, status, added, removed, header + text)


def diff_pair(older: Path, newer: Path) -> PairDiff:
    paths = sorted(set(stage_files(older)) | set(stage_files(newer)))
    changes = [diff_file(older, newer, path) for path in paths]
    return PairDiff(older, newer, [change for change in changes if change is not None])


def comments(source: str) -> list[str]:
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    return [token.string for token in tokens if token.type == tokenize.COMMENT]


def is_churn(path: str, old_text: str, new_text: str) -> bool:
    """True if two different versions of a file mean the same: only formatting changed.

    Python: the same AST (code and docstrings) and the same comments, since comments are
    meaning too. Other text: the same characters once every whitespace is removed.
    """
    if old_text == new_text:
        return False
    if path.endswith(".py"):
        try:
            same_code = ast.dump(ast.parse(old_text)) == ast.dump(ast.parse(new_text))
            return same_code and comments(old_text) == comments(new_text)
        except (SyntaxError, tokenize.TokenError, ValueError):
            return False  # not valid Python: the stage's own tests and ruff report that
    return "".join(old_text.split()) == "".join(new_text.split())


def skeleton_problems(folder: Path) -> list[str]:
    return [
        f"{folder.name}: missing {name} (every stage has {', '.join(SKELETON)})"
        for name in SKELETON
        if not (folder / name).is_file()
    ]


# Stages whose page and notebook are still being written (printed on every check).
MATERIALS_PENDING: set[str] = set()


def materials_problems(root: Path, folder: Path) -> list[str]:
    """Every stage is taught by a page and walked through in a notebook."""
    wanted = (f"docs/stages/{folder.name}.md", f"notebooks/{folder.name}.ipynb")
    missing = [f"{folder.name}: missing {path}" for path in wanted if not (root / path).is_file()]
    if missing and folder.name in MATERIALS_PENDING:
        print(f"pending: {'; '.join(missing)}")
        return []
    return missing


def size_problems(pair: "PairDiff") -> list[str]:
    if pair.changed_lines <= MAX_CHANGED_LINES:
        return []
    message = (
        f"{pair.older.name} -> {pair.newer.name}: {pair.changed_lines} changed lines, over "
        f"{MAX_CHANGED_LINES}: one pattern per step"
    )
    cap, reason = OVER_THE_LIMIT.get(pair.newer.name, (MAX_CHANGED_LINES, ""))
    if pair.changed_lines <= cap:
        print(f"allowed for now, up to {cap}: {message} ({reason})")
        return []
    return [message]


def churn_problems(older: Path, newer: Path) -> list[str]:
    problems = []
    for path in sorted(set(stage_files(older)) & set(stage_files(newer))):
        old_text, new_text = read_text(older / path), read_text(newer / path)
        if old_text is not None and new_text is not None and is_churn(path, old_text, new_text):
            problems.append(
                f"{older.name} -> {newer.name}: {path} differs only in formatting; "
                f"keep it byte-identical to {older.name}/{path} so the diff shows only the lesson"
            )
    return problems


def write_files(directory: Path, files: dict[str, str], pattern: str = "*") -> None:
    """Make `directory` hold exactly `files` (among those matching `pattern`).

    Unchanged files are not rewritten, so `mkdocs serve` does not see a change and rebuild forever.
    """
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.rglob(pattern):
        if stale.is_file() and stale.relative_to(directory).as_posix() not in files:
            stale.unlink()
    for name, text in files.items():
        path = directory / name
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")


def generate(root: Path, out: Path | None = None) -> list[PairDiff]:
    """Write <newer>.diff and <newer>.stat.md for every neighbouring pair; return the pairs."""
    folders = chain(root)
    pairs = [diff_pair(older, newer) for older, newer in zip(folders, folders[1:], strict=False)]
    files = {}
    for pair in pairs:
        files[f"{pair.name}.diff"] = pair.text
        files[f"{pair.name}.stat.md"] = pair.stat_markdown()
    write_files(out or root / DIFFS, files)
    return pairs


def check(root: Path) -> int:
    folders = chain(root)
    if not folders:
        print(f"no stage folders found under {root}/stages")
        return 1
    problems = [problem for folder in folders for problem in skeleton_problems(folder)]
    problems += [problem for folder in folders for problem in materials_problems(root, folder)]
    for older, newer in zip(folders, folders[1:], strict=False):
        problems += churn_problems(older, newer)
    try:
        with tempfile.TemporaryDirectory() as scratch:  # prove the diffs build, touch nothing
            pairs = generate(root, Path(scratch))
    except (OSError, ValueError) as error:
        problems.append(f"the stage diffs cannot be produced: {error}")
        pairs = []

    if len(folders) == 1:
        print(f"{folders[0].name}: the first stage, nothing to compare yet")
    for pair in pairs:
        print(pair.summary)
        problems += size_problems(pair)
    for problem in problems:
        print(f"problem: {problem}")
    if problems:
        print(f"stage chain: {len(problems)} problem(s)")
        return 1
    print("stage chain ok")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", nargs="?", choices=["diff"], help="write the diffs")
    parser.add_argument("--check", action="store_true", help="check the chain, write nothing")
    parser.add_argument("--root", type=Path, default=ROOT, help="repository root (for tests)")
    args = parser.parse_args(argv)
    if args.check:
        return check(args.root)
    if args.command == "diff":
        for pair in generate(args.root):
            print(f"{pair.summary}  -> {DIFFS / pair.name}.diff")
        return 0
    parser.print_help()
    return 2


if __name__ == "__main__":
    sys.exit(main())
