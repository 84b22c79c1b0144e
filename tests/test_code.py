"""The code's own rules that no type checker or import linter states: reasons for ignores, imports kept lazy only where it pays."""

from __future__ import annotations

import ast
import re
from pathlib import Path

SRS = Path(__file__).resolve().parent.parent / "srs"
# Imported inside functions on purpose: heavy or optional, and most commands never need them
# (rich: only when something is drawn, so `--json` commands start without it).
LAZY = {"numpy", "fsrs", "fsrs_rs_python", "genanki", "matplotlib", "yaml", "markdown_it", "anki", "zstandard",
        "tzlocal", "platformdirs", "rich", "secrets", "string", "csv", "difflib", "hashlib", "tempfile", "json"}
# ... and one of srs's own: the process pauses the cyclic collector before it loads the command line (srs/__main__.py)
LAZY_HERE = {("srs/__main__.py", "srs.cli")}


def test_every_type_ignore_says_why() -> None:
    """A `type: ignore` names its error code and is followed by a comment saying why."""
    bare = []
    for path in SRS.rglob("*.py"):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if "type: ignore" in line and not re.search(r"type: ignore\[[\w-]+(, [\w-]+)*\]  # \S", line):
                bare.append(f"{path.relative_to(SRS.parent)}:{number}")
    assert bare == []


def test_function_level_imports_are_only_heavy_or_optional_libraries() -> None:
    """Inside functions srs imports only heavy or optional libraries; its own modules and the rest sit at the top."""
    found = []
    for path in SRS.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for function in ast.walk(tree):
            if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)) or function.name.startswith("_m0"):
                continue  # a shipped migration step is frozen: it keeps its own standard-library imports
            for node in ast.walk(function):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    where = str(path.relative_to(SRS.parent))
                    if name not in LAZY and name.split(".")[0] not in LAZY and (where, name) not in LAZY_HERE:
                        found.append(f"{where}:{node.lineno} {name}")
    assert found == []


def test_every_view_a_command_names_exists() -> None:
    """The terminal views commands name (drawn only when not --json) are functions of srs.terminal."""
    import srs.terminal

    names = set()
    for path in (SRS / "commands").glob("*.py"):
        for call in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id in ("show", "draw"):
                view = call.args[2] if call.func.id == "show" else call.args[0]
                if isinstance(view, ast.Constant) and view.value:
                    names.add(view.value)
    assert len(names) >= 8
    assert [name for name in sorted(names) if not callable(getattr(srs.terminal, name, None))] == []


ROOT = SRS.parent
CHECKERS = {"pytest", "pytest-xdist", "hypothesis", "mypy", "types-pyyaml", "import-linter", "pandas"}


def _requirements() -> list[str]:
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = project["optional-dependencies"]
    return [*project["dependencies"], *(req for reqs in extras.values() for req in reqs)]


def _split(requirement: str) -> tuple[str, str, str]:
    match = re.fullmatch(r"([A-Za-z0-9_.-]+)\s*(==|>=)\s*([0-9][0-9A-Za-z.]*)(,<\S+)?", requirement)
    assert match, f"{requirement}: neither pinned (==) nor a range with a floor (>=)"
    return match.group(1).lower(), match.group(2), match.group(3)


def test_checkers_are_pinned_and_libraries_have_the_floors_the_suite_ran_on() -> None:
    """Tools that judge the code are pinned exactly; each library's floor is the version `.ci/lowest.txt` installs,
    and click's is 8.2 or later (8.1's `click.edit` runs $EDITOR through a shell)."""
    lowest = {}
    for line in (ROOT / ".ci" / "lowest.txt").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, version = line.split("==")
            lowest[name.lower()] = version
    floors = {}
    for requirement in _requirements():
        name, operator, version = _split(requirement)
        if name in CHECKERS:
            assert operator == "==", f"{requirement}: a checker is pinned"
        else:
            assert operator == ">=", f"{requirement}: a library keeps a range"
            assert floors.setdefault(name, version) == version, f"{name}: one floor everywhere"
    assert floors == lowest
    assert tuple(int(part) for part in floors["click"].split(".")[:2]) >= (8, 2)


def test_ci_installs_into_a_new_virtual_environment_and_runs_the_readme_test_command() -> None:
    """`.ci/run` makes a new venv in a temporary folder, installs as the README says and runs its test command there."""
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert re.search(r'venv=\$\(mktemp -d .*\)\n.*\npython3 -m venv "\$venv"\n', script)
    assert "--system-site-packages" not in script
    install = re.search(r"python3 -m pip install (-e '\.\[test\]') && python3 -m pytest (-q -n 2)", readme)
    assert install, "the README's install and test command"
    assert f'"$py" -m pip install --quiet --disable-pip-version-check "${{constraints[@]}}" {install.group(1)}' in script
    assert f'"$py" -m pytest {install.group(2)}' in script
    assert '"$py" -m mypy' in script and '"$venv/bin/lint-imports"' in script
