"""The house rules, enforced: layers, independent domains, no cycles, core naming no domain, one name per model.

The import contract lives in pyproject.toml (import-linter: layers, independence,
forbidden and acyclic-siblings contracts) and ``make test`` runs it; these tests
run it too, and show that it catches what it promises to by breaking a copy of
the package on purpose. What import-linter cannot see (a module named in a
string, a layer nobody placed a module in) is checked here directly.
"""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import wavegen.models

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "wavegen"
DOMAIN = re.compile(r"\bwavegen\.(audio|vision|data|listen|models|commands|cli|doctor|recipes)\b")
MAX_LINES = 400


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    """``lint-imports`` over the ``wavegen`` package found in ``root``, with ``root``'s pyproject.toml."""
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), "--config", str(root / "pyproject.toml"), "--no-cache"], cwd=root,
                            env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin", "COLUMNS": "200"},
                            capture_output=True, text=True)
    result.stdout = " ".join(result.stdout.split())          # contract names are wrapped at the terminal width
    return result


def modules(package: Path = PACKAGE) -> list[str]:
    names = []
    for path in sorted(package.rglob("*.py")):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def core_strings_naming_domains(core: Path) -> list[str]:
    """Every string constant in ``core`` that names a module above it (a lazily imported table, say)."""
    found = []
    for path in sorted(core.rglob("*.py")):
        tree = ast.parse(path.read_text())
        docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                      if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                      and node.body and isinstance(node.body[0], ast.Expr)
                      and isinstance(node.body[0].value, ast.Constant)}
        for node in ast.walk(tree):
            if (isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
                    and DOMAIN.search(node.value)):
                found.append(f"{path.name}:{node.lineno}: {node.value!r}")
    return found


@pytest.fixture(scope="module")
def copy_of_package(tmp_path_factory):
    """A fresh copy of the package and its pyproject.toml for each test to break (sources only)."""
    def make() -> Path:
        root = tmp_path_factory.mktemp("house")
        shutil.copytree(PACKAGE, root / "wavegen", ignore=shutil.ignore_patterns("__pycache__", "*.so", "static"))
        shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
        return root
    return make


def append(path: Path, code: str) -> None:
    path.write_text(path.read_text() + "\n" + code + "\n")


def test_the_import_contract_holds():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


BREAKS = [  # (module, code appended to it, the contract that must break, what its report names)
    ("audio/io.py", "from wavegen.vision.images import to_tensor  # noqa",
     "Audio and vision never import each other", "wavegen.audio.io -> wavegen.vision.images"),
    ("core/registry.py", "import wavegen.audio.segan.model  # noqa",
     "Core names no domain module", "wavegen.core.registry -> wavegen.audio.segan.model"),
    # enhance imports enhance_stream; the reverse closes a cycle, even inside a function where it hides
    ("audio/enhance_stream.py", "def _dodge():\n    from wavegen.audio.enhance import enhance_file  # noqa",
     "No import cycles between the modules or packages of any package", ".enhance_stream -> .enhance"),
]


@pytest.mark.parametrize("module, code, contract, named", BREAKS, ids=["audio->vision", "core->audio", "cycle"])
def test_a_deliberate_violation_breaks_the_contract(copy_of_package, module, code, contract, named):
    root = copy_of_package()
    append(root / "wavegen" / module, code)
    result = lint_imports(root)
    assert result.returncode != 0
    assert f"{contract} BROKEN" in result.stdout and named in result.stdout


def test_core_naming_a_domain_module_in_a_string_is_caught(copy_of_package):
    assert core_strings_naming_domains(PACKAGE / "core") == []
    root = copy_of_package()
    append(root / "wavegen/core/registry.py", '_MODEL_MODULES = {"segan": "wavegen.audio.segan.model"}')
    assert core_strings_naming_domains(root / "wavegen" / "core") == [
        "registry.py:" + str(len((root / "wavegen/core/registry.py").read_text().splitlines()))
        + ": 'wavegen.audio.segan.model'"]


def test_every_module_sits_in_a_layer():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    layers = next(c for c in config["contracts"] if c["type"] == "layers")["layers"]
    placed = [name.strip() for layer in layers for name in re.split(r"[:|]", layer)]
    containers = {"wavegen", "wavegen.audio", "wavegen.vision"}        # packages that only group their modules
    unplaced = [m for m in modules() if m not in containers and m != "wavegen.cli.__main__"
                and not any(m == p or m.startswith(p + ".") for p in placed)]
    assert unplaced == [], f"add these to a layer in pyproject.toml: {unplaced}"
    for container in containers:                                       # and those stay empty
        assert not [line for line in (PACKAGE / container.replace("wavegen", "", 1).strip(".").replace(".", "/")
                                      / "__init__.py").read_text().splitlines()
                    if line.startswith(("import ", "from ")) and "__future__" not in line
                    and "wavegen.version" not in line], container


def test_the_package_never_imports_the_recipes():
    """The recipes sit above everything: the CLI finds them by name, nothing imports them."""
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not [n for n in names if n.startswith("wavegen.recipes")], path


def test_no_file_holds_two_ideas():
    """No file of the package or the recipes past ~400 lines (the house rule: a longer file is two ideas)."""
    long = {str(p.relative_to(ROOT)): n for p in [*PACKAGE.rglob("*.py"), *(ROOT / "recipes").rglob("*.py")]
            if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert long == {}


def test_each_model_has_one_name():
    """Folder (or module) name = registry name = recipe name; the two scoring classifiers share one recipe."""
    for name, cls in wavegen.models.MODELS.items():
        module = cls.__module__.split(".")
        home = module[-2] if module[-1] == "model" else module[-1]
        recipe = "classifier" if cls in wavegen.models.CLASSIFIERS else name
        assert (ROOT / "recipes" / recipe).is_dir(), f"{name}: no recipes/{recipe}/"
        if cls not in wavegen.models.CLASSIFIERS:
            assert home == name, f"{cls.__module__}.{cls.__name__} is registered as {name!r}"
