"""The import rules of the layout, checked on the source with ast: Beam only in the Beam layer and the one
storage module, schemas/ importing nothing of the project, connectors/ only schemas/ and itself, no stage
importing a later one, no circles, bench/ never importing tests/; and the commands that need no pipeline
(`sitrep tag`, `sitrep feeds status`) do not load Beam."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("schemas", "connectors", "pipelines")
BEAM_ALLOWED = ("pipelines/beam/", "connectors/files.py")
# The pure stages in the order data flows through them; a stage may import earlier ones, never a later one.
STAGES = ("pipelines.inputs", "pipelines.extract", "pipelines.dedup", "pipelines.tagging", "pipelines.events",
          "pipelines.messages")


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _sources(*tops: str) -> list[Path]:
    return sorted(p for top in tops for p in (ROOT / top).rglob("*.py"))


def _imports(path: Path, top_level_only: bool = False) -> list[tuple[str, int]]:
    """(module imported, line) of every import in a file (or only those run when it is imported)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    if top_level_only:  # imports under `if TYPE_CHECKING:` never run
        nodes = [n for n in nodes if not (isinstance(n, ast.If) and "TYPE_CHECKING" in ast.unparse(n.test))]
    found = []
    for node in nodes:
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, node.lineno))
    return found


def _stage_of(module: str) -> int | None:
    for index, stage in enumerate(STAGES):
        if module == stage or module.startswith(stage + "."):
            return index
    return None


def _where(path: Path, line: int) -> str:
    return f"{path.relative_to(ROOT)}:{line}"


def test_beam_is_imported_only_in_the_beam_layer_and_the_storage_module():
    wrong = [f"{_where(p, line)} imports {name}" for p in _sources(*PACKAGES)
             if not str(p.relative_to(ROOT)).startswith(BEAM_ALLOWED)
             for name, line in _imports(p) if name.split(".")[0] == "apache_beam"]
    assert wrong == []


def test_schemas_import_nothing_of_the_project():
    wrong = [f"{_where(p, line)} imports {name}" for p in _sources("schemas")
             for name, line in _imports(p) if name.split(".")[0] in ("connectors", "pipelines", "bench", "tests")]
    assert wrong == []


def test_connectors_import_only_schemas_and_themselves():
    wrong = [f"{_where(p, line)} imports {name}" for p in _sources("connectors")
             for name, line in _imports(p) if name.split(".")[0] in ("pipelines", "bench", "tests")]
    assert wrong == []


def test_no_stage_imports_a_later_one():
    wrong = []
    for path in _sources("pipelines"):
        own = _stage_of(_module_name(path))
        if own is None:
            continue
        for name, line in _imports(path):
            other = _stage_of(name)
            if other is not None and other > own:
                wrong.append(f"{_where(path, line)} ({STAGES[own]}) imports the later {name}")
        if "pipelines.beam" in {name.rsplit(".", 1)[0] for name, _ in _imports(path)} or any(
                name.startswith("pipelines.beam") for name, _ in _imports(path)):
            wrong.append(f"{path.relative_to(ROOT)} ({STAGES[own]}) imports the Beam layer")
    assert wrong == []


def test_no_import_circles():
    graph: dict[str, set[str]] = defaultdict(set)
    modules = {_module_name(p): p for p in _sources(*PACKAGES)}
    for module, path in modules.items():
        for name, _line in _imports(path, top_level_only=True):
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name and name != module and not module.startswith(name + "."):
                graph[module].add(name)
    circles, state = [], {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                circles.append(" -> ".join([*trail[trail.index(nxt):], nxt]))
            elif nxt not in state:
                visit(nxt, [*trail, nxt])
        state[node] = "done"

    for module in sorted(modules):
        if module not in state:
            visit(module, [module])
    assert circles == []


def test_bench_never_imports_tests():
    wrong = [f"{_where(p, line)} imports {name}" for p in _sources("bench")
             for name, line in _imports(p) if name.split(".")[0] == "tests"]
    assert wrong == []


@pytest.mark.parametrize("argv", [["tag"], ["feeds", "status", "--json"]])
def test_commands_that_run_no_pipeline_do_not_load_beam(argv, tmp_path):
    script = ("import json, sys\nfrom pipelines.cli import main\n"
              f"status = main({argv!r})\n"
              "print(json.dumps([status, 'apache_beam' in sys.modules]), file=sys.stderr)\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "XDG_STATE_HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", script], input='{"title": "Clashes in Hasaka", "text": "x"}\n',
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    status, loaded = json.loads(done.stderr.strip().splitlines()[-1])
    assert status == 0 and loaded is False
