"""MkDocs hooks (mkdocs.yml `hooks:`): regenerate docs/generated/ before every build.

Pages never paste code or diffs by hand; they include these generated files with `--8<--`, so a
page cannot show a stale diff, and a renamed test or function breaks the --strict build instead of
silently showing old code.

    docs/generated/diffs/<stage>.diff, .stat.md  the diff against the previous stage (stages.py)
    docs/generated/stages/<stage>.md             what a stage page's "Diff" tab includes
    docs/generated/code/<stage>/<file>/<name>.py one function or class, to include by name
    docs/generated/readme/<readme>/<section>-<n>.md  the n-th code block of a README section
"""

import ast
import re
import textwrap
from pathlib import Path

from mkdocs.utils import get_relative_url

import stages  # tools/stages.py: mkdocs puts this file's folder on sys.path while loading it

GENERATED = Path("docs/generated")
# @mermaid-js/tiny from npm, MIT; its header says how to upgrade it.
MERMAID_JS = "assets/javascripts/mermaid-11.17.2.tiny.js"


def on_pre_build(config) -> None:
    # Runs before MkDocs collects the files, so the pages and snippets see fresh output.
    generate_all(Path(config.config_file_path).parent)


def on_post_page(output: str, page, config) -> str:
    # Material uses window.mermaid if it exists and fetches it from a CDN otherwise, which no
    # machine of this course can reach. Only pages with a diagram pay for the 2.5 MB script.
    if 'class="mermaid"' not in output:
        return output
    script = f'<script src="{get_relative_url(MERMAID_JS, page.url)}"></script>\n'
    head, body_end, tail = output.rpartition("</body>")
    return head + script + body_end + tail


def generate_all(root: Path) -> None:
    pairs = {pair.name: pair for pair in stages.generate(root)}
    folders = stages.chain(root)
    pages = {path.stem for path in (root / "docs" / "stages").glob("*.md") if path.stem != "index"}
    includes = {}
    for name in sorted(pages | {folder.name for folder in folders}):
        if name in pairs:
            includes[f"{name}.md"] = diff_include(pairs[name])
        elif folders and name == folders[0].name:
            includes[f"{name}.md"] = tree_include(folders[0])
        else:
            includes[f"{name}.md"] = missing_include(name)
    stages.write_files(root / GENERATED / "stages", includes)
    stages.write_files(root / GENERATED / "code", definitions(folders))
    stages.write_files(root / GENERATED / "readme", readme_blocks(root, folders))


def fence(text: str, language: str) -> str:
    """A code fence longer than any backtick run inside: a diff of a README has ``` lines."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    marks = "`" * max(3, longest + 1)
    return f"{marks}{language}\n{text}{marks}\n"


def diff_include(pair: stages.PairDiff) -> str:
    if not pair.changes:  # a stage folder just copied from its predecessor
        return (
            '!!! note "No changes yet"\n\n'
            f"    `{pair.name}` is still identical to `{pair.older.name}`.\n"
        )
    # The link is relative to docs/stages/<name>.md, the page whose "Diff" tab includes this.
    return (
        f"Generated at build time from the two folders: "
        f"[download `{pair.name}.diff`](../generated/diffs/{pair.name}.diff).\n\n"
        f"{pair.stat_markdown()}\n{fence(pair.text, 'diff')}"
    )


def tree_include(folder: Path) -> str:
    return fence(file_tree(folder), "text")


def missing_include(name: str) -> str:
    folder = "final/" if name == "final" else f"stages/{name}/"
    return (
        '!!! note "Not written yet"\n\n'
        f"    `{folder}` does not exist yet. When it does, this tab shows its diff against the\n"
        "    previous stage, generated from the folders at build time.\n"
    )


def file_tree(folder: Path) -> str:
    """The stage's files as a tree, like the `tree` command, ignoring local by-products."""
    tree: dict = {}
    for path in stages.stage_files(folder):
        node = tree
        for part in path.split("/"):
            node = node.setdefault(part, {})

    def lines(node: dict, prefix: str) -> list[str]:
        out = []
        for index, (name, children) in enumerate(sorted(node.items())):
            last = index == len(node) - 1
            out.append(f"{prefix}{'└── ' if last else '├── '}{name}{'/' if children else ''}")
            out += lines(children, prefix + ("    " if last else "│   "))
        return out

    return "\n".join([f"{folder.name}/", *lines(tree, "")]) + "\n"


def definitions(folders: list[Path]) -> dict[str, str]:
    """Every function and class of every stage, one file each: <stage>/<file>/<qualname>.py.

    Nested ones too (`register_routes.list_books`), dedented, decorators included.
    """
    files = {}
    for folder in folders:
        for path in stages.stage_files(folder):
            if not path.endswith(".py"):
                continue
            source = (folder / path).read_text(encoding="utf-8")
            try:
                tree = ast.parse(source)
            except SyntaxError:
                continue  # a stage's own checks report it
            source_lines = source.splitlines(keepends=True)
            for qualname, node in walk(tree, ""):
                first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                code = textwrap.dedent("".join(source_lines[first - 1 : node.end_lineno]))
                files[f"{folder.name}/{path.removesuffix('.py')}/{qualname}.py"] = code
    return files


def walk(node: ast.AST, prefix: str):
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            qualname = f"{prefix}{child.name}"
            yield qualname, child
            yield from walk(child, f"{qualname}.")


def readme_blocks(root: Path, folders: list[Path]) -> dict[str, str]:
    """The fenced code blocks of the READMEs, by section: `root/two-commands-1.md`.

    The commands a page shows are the README's own, so the two cannot disagree.
    """
    readmes = {"root": root / "README.md"} | {
        folder.name: folder / "README.md" for folder in folders
    }
    files = {}
    for name, path in readmes.items():
        if not path.is_file():
            continue
        section, count, block = "top", 0, None
        for line in path.read_text(encoding="utf-8").splitlines(keepends=True):
            if block is not None:
                block.append(line)
                if line.strip() == "```":
                    files[f"{name}/{section}-{count}.md"] = "".join(block)
                    block = None
            elif line.startswith("```"):
                block, count = [line], count + 1
            elif line.startswith("#"):
                section = re.sub(r"[^a-z0-9]+", "-", line.lstrip("#").strip().lower()).strip("-")
                count = 0
    return files
