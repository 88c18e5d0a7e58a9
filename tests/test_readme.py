"""Every code block of README.md runs as written.

The Python blocks run in order, in one fresh interpreter and one namespace (the README reads
top to bottom), statement by statement. A statement's trailing comment is checked where it
states a result: ``# SomeError: message [...]`` means the statement raises that error with
that message (``[...]`` stands for the rest); a comment starting with a Python literal
(``# (5, 6)``, ``# 2: why``, ``# 0.5, and e == [4]``) is the value of the expression, and an
``and <expression>`` clause after it must hold. Other comments are prose. The shell blocks'
commands are what CI runs (.ci/run installs, tests and runs the demo); here they are checked
to name only programs the package installs. The Python blocks, joined in order into one
module, also pass ``mypy --strict`` (with the plugin) and ``pyright --strict`` (no plugin).
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from typecheck import mypy_errors, pyright_errors

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"

HARNESS = r'''
import ast, io, re, sys, tokenize

def comments(source):
    found = {}
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            found[tok.start[0]] = tok.string[1:].strip()
    return found

def expected_value(comment):
    for cut in (comment, comment.split(":")[0], comment.split(", and ")[0]):
        try:
            return True, ast.literal_eval(cut.strip())
        except (ValueError, SyntaxError, MemoryError, TypeError):
            continue
    return False, None

def run_block(number, source, ns):
    tree = ast.parse(source)
    notes = comments(source)
    last_on_line = {}
    for stmt in tree.body:
        last_on_line[stmt.end_lineno] = stmt
    for stmt in tree.body:
        comment = notes.get(stmt.end_lineno, "") if last_on_line[stmt.end_lineno] is stmt else ""
        where = f"README block {number}, line {stmt.lineno}: {ast.get_source_segment(source, stmt)}"
        error = re.match(r"(\w+(?:Error|Exception)): (.*)$", comment)
        if error:
            try:
                exec(compile(ast.Module([stmt], []), "<readme>", "exec"), ns)
            except Exception as exc:
                assert type(exc).__name__ == error.group(1), (where, exc)
                prefix = error.group(2).split("[...]")[0].strip()
                assert str(exc).startswith(prefix), (where, str(exc), prefix)
            else:
                raise AssertionError(f"{where}: expected {error.group(1)}")
            continue
        if isinstance(stmt, ast.Expr):
            value = eval(compile(ast.Expression(stmt.value), "<readme>", "eval"), ns)
            known, expected = expected_value(comment)
            if known:
                assert value == expected, (where, value, expected)
            if ", and " in comment:
                clause = comment.split(", and ", 1)[1].split("(")[0].strip()
                try:
                    check = compile(clause, "<readme comment>", "eval")
                except SyntaxError:
                    check = None  # prose
                if check is not None:
                    assert eval(check, ns), (where, clause)
        else:
            exec(compile(ast.Module([stmt], []), "<readme>", "exec"), ns)

blocks = re.findall(r"^```python\n(.*?)^```", open(sys.argv[1], encoding="utf-8").read(),
                    re.S | re.M)
ns = {"__name__": "__readme__"}
for number, block in enumerate(blocks, 1):
    run_block(number, block, ns)
print(f"{len(blocks)} blocks ran")
'''


def test_every_python_block_runs_as_written(tmp_path: Path) -> None:
    blocks = re.findall(r"^```python\n", README.read_text(encoding="utf-8"), re.M)
    assert len(blocks) >= 5
    result = subprocess.run([sys.executable, "-c", HARNESS, str(README)], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(blocks)} blocks ran" in result.stdout


def test_shell_blocks_name_installed_programs() -> None:
    text = README.read_text(encoding="utf-8")
    scripts = set(tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"])
    programs = set()
    for block in re.findall(r"^```sh\n(.*?)^```", text, re.S | re.M):
        programs |= set(re.findall(r"\.venv/bin/([\w-]+)", block))
    assert "koffi-typed" in programs  # the first command demonstrates the installed package
    assert programs <= {"pip", "python", "pytest"} | scripts, programs


@pytest.fixture(scope="module")
def examples(tmp_path_factory: pytest.TempPathFactory) -> Path:
    blocks = re.findall(r"^```python\n(.*?)^```", README.read_text(), re.S | re.M)
    assert len(blocks) >= 4
    path = tmp_path_factory.mktemp("readme") / "readme_examples.py"
    path.write_text("\n\n".join(blocks))
    return path


def test_readme_examples_pass_mypy_strict(examples: Path, tmp_path: Path) -> None:
    assert mypy_errors(tmp_path, [examples]) == []


def test_readme_examples_pass_pyright_strict(examples: Path, tmp_path: Path) -> None:
    assert pyright_errors(tmp_path, [examples]) == []
