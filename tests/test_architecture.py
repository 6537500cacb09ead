"""The shape of the code, checked by reading it: no import cycles, one training step."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, package: str) -> set[str]:
    """Every ``package`` module that ``path`` imports, at its top or inside functions."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith(package))
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(package):
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
    return found


def _graph(package: str) -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in (ROOT / package).rglob("*.py")}
    return {name: {m for m in _imports(path, package) if m in modules and m != name
                   and not name.startswith(m + ".")}
            for name, path in modules.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_hpsearch_has_no_import_cycle():
    assert _cycles(_graph("hpsearch")) == []


def test_netcore_has_no_import_cycle_and_never_imports_hpsearch():
    assert _cycles(_graph("netcore")) == []
    for path in (ROOT / "netcore").rglob("*.py"):
        assert not _imports(path, "hpsearch"), path


def test_the_lr_finder_files_stay_small():
    for path in (ROOT / "hpsearch" / "lr_finder").glob("*.py"):
        assert len(path.read_text(encoding="utf-8").splitlines()) <= 350, path


def test_one_training_step():
    """Only netcore's TrainStep updates parameters; fit and the range test both call it."""
    stepping = [p for p in [*ROOT.joinpath("netcore").rglob("*.py"),
                            *ROOT.joinpath("hpsearch").rglob("*.py")]
                if "optimizer.step(" in p.read_text(encoding="utf-8")]
    assert [p.relative_to(ROOT).as_posix() for p in stepping] == ["netcore/step.py"]
    for user in ("netcore/train.py", "hpsearch/lr_finder/run.py"):
        assert "TrainStep" in (ROOT / user).read_text(encoding="utf-8"), user


def _sources():
    for package in ("hpsearch", "netcore"):
        for path in sorted((ROOT / package).rglob("*.py")):
            yield path.relative_to(ROOT).as_posix(), ast.parse(path.read_text(encoding="utf-8"))


def test_no_object_setattr_on_frozen_fields():
    """Configs are plain data: normalised before construction (a factory) or, when a
    direct constructor must normalise, not frozen; never written around ``frozen``."""
    found = [f"{name}:{node.lineno}" for name, tree in _sources() for node in ast.walk(tree)
             if isinstance(node, ast.Attribute) and node.attr == "__setattr__"
             and isinstance(node.value, ast.Name) and node.value.id == "object"]
    assert found == []


def _enclosing_functions(tree: ast.AST) -> dict[ast.AST, str]:
    owner = {}
    for function in ast.walk(tree):
        if isinstance(function, ast.FunctionDef):
            for node in ast.walk(function):
                owner.setdefault(node, function.name)  # walk order: outermost first
    return owner


def test_unknown_options_are_found_in_one_place():
    """Every "unknown options" error goes through netcore.validation.check_options: no
    other code takes a set difference of keys or collects ``unknown`` names itself."""
    places = []
    for name, tree in _sources():
        owner = _enclosing_functions(tree)
        for node in ast.walk(tree):
            set_difference = (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Sub)
                              and (isinstance(node.left, ast.Set | ast.SetComp)
                                   or (isinstance(node.left, ast.Call)
                                       and isinstance(node.left.func, ast.Name)
                                       and node.left.func.id in ("set", "frozenset"))))
            difference_call = (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                               and node.func.attr == "difference")
            if set_difference or difference_call:
                places.append(f"{name}:{owner.get(node)}")
    assert places == ["netcore/validation.py:check_options"]


# hpsearch's folders are its architecture: each concept has one obvious place.
LAYOUT = {
    "space": "the search space",
    "strategies": "the samplers",
    "execution": "how trials run",
    "storages": "where a study lives",
    "results": "what a study found",
    "models": "the models trials keep",
    "lr_finder": "the LR range test",
    "cli": "the command line",
    "objective": "training one trial",
}
TOP_LEVEL_MODULES = {"__init__", "__main__", "checks", "errors", "metrics", "options",
                     "pruners", "run_options", "spec", "study", "study_config", "trial", "tuning"}


def test_hpsearch_is_laid_out_by_concept():
    root = ROOT / "hpsearch"
    packages = {p.name for p in root.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert packages == set(LAYOUT)
    assert {p.stem for p in root.glob("*.py")} == TOP_LEVEL_MODULES
    for package in LAYOUT:  # every folder says what it holds
        init = ast.parse((root / package / "__init__.py").read_text(encoding="utf-8"))
        assert ast.get_docstring(init), package


def test_no_test_module_imports_from_a_conftest():
    # Which ``conftest`` module a test imports depends on the files collected before it
    # (tests/netcore's or tests/hpsearch's): a subset of test files would fail to collect.
    offenders = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            modules = [node.module] if isinstance(node, ast.ImportFrom) else \
                [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if "conftest" in modules:
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


# hpsearch's layers, bottom to top: a module imports only from its own layer or below.
# The longest matching prefix gives a module's layer.
LAYERS = {
    "hpsearch.errors": 0, "hpsearch.options": 0, "hpsearch.metrics": 0, "hpsearch.trial": 0,
    "hpsearch.run_options": 0,
    "hpsearch.space": 1,
    "hpsearch.storages": 2,
    "hpsearch.strategies": 3, "hpsearch.pruners": 3, "hpsearch.lr_finder": 3,
    "hpsearch.objective": 4, "hpsearch.checks": 4, "hpsearch.study_config": 4,
    "hpsearch.results": 5, "hpsearch.models": 5,
    "hpsearch.execution": 6,
    "hpsearch.study": 7, "hpsearch.tuning": 7, "hpsearch.spec": 7,
    "hpsearch.cli": 8, "hpsearch.__main__": 8, "hpsearch": 8,
}


def _layer(module: str) -> int:
    prefix = max((p for p in LAYERS if module == p or module.startswith(p + ".")), key=len)
    return LAYERS[prefix]


def _modules(package: str) -> dict[str, Path]:
    return {_module_name(p): p for p in sorted((ROOT / package).rglob("*.py"))}


def _imported_modules(name: str, path: Path, modules: dict) -> dict[str, ast.AST]:
    """The ``modules`` that module ``name`` imports (``from pkg import mod`` counts as ``mod``),
    with the import node of each."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = {}
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update({a.name: node for a in node.names if a.name in modules})
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, *([base] if base else [])])
            for alias in node.names:
                target = f"{base}.{alias.name}"
                target = target if target in modules else base
                if target in modules:
                    found[target] = node
    return found


def test_hpsearch_imports_only_from_its_own_layer_or_below():
    """The layers of hpsearch (``LAYERS``): core, space, storages, strategies, the objective,
    results and models, execution, the study facade, the command line."""
    modules = _modules("hpsearch")
    upward = [f"{name} (layer {_layer(name)}) imports {target} (layer {_layer(target)}) "
              f"at line {node.lineno}"
              for name, path in modules.items()
              for target, node in _imported_modules(name, path, modules).items()
              if _layer(target) > _layer(name)]
    assert upward == []


def private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _private_uses(name: str, path: Path, modules: dict) -> list[str]:
    """``from x import _y`` and ``x._y`` (``x`` an imported module of ``modules``) in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found, bound = [], {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in modules:
            found += [f"{name}:{node.lineno} imports {node.module}.{a.name}"
                      for a in node.names if private(a.name)]
            bound.update({a.asname or a.name: f"{node.module}.{a.name}" for a in node.names
                          if f"{node.module}.{a.name}" in modules})
        elif isinstance(node, ast.Import):
            bound.update({a.asname or a.name.split(".")[0]: a.name if a.asname
                          else a.name.split(".")[0] for a in node.names})
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and private(node.attr):
            dotted, value = [], node.value
            while isinstance(value, ast.Attribute):
                dotted.insert(0, value.attr)
                value = value.value
            if isinstance(value, ast.Name) and value.id in bound:
                module = ".".join([bound[value.id], *dotted])
                if module in modules and module != name:
                    found.append(f"{name}:{node.lineno} uses {module}.{node.attr}")
    return found


def test_no_module_reaches_into_another_modules_private_names():
    """Neither the packages nor the studies and benchmarks that use them."""
    modules = {**_modules("hpsearch"), **_modules("netcore"), **_modules("studies")}
    found = [use for name, path in modules.items() for use in _private_uses(name, path, modules)]
    assert found == []


def test_the_study_facade_stays_small():
    assert len((ROOT / "hpsearch" / "study.py").read_text(encoding="utf-8").splitlines()) <= 350


def test_no_source_file_is_over_500_lines():
    long = {p.relative_to(ROOT).as_posix(): n
            for package in ("hpsearch", "netcore") for p in sorted((ROOT / package).rglob("*.py"))
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > 500}
    assert long == {}


def test_must_be_one_of_is_written_only_by_check_choice():
    """One wording, with its did-you-mean: every "must be one of" error is check_choice's."""
    found = sorted({name for name, tree in _sources() for node in ast.walk(tree)
                    if isinstance(node, ast.Constant) and isinstance(node.value, str)
                    and "must be one of" in node.value})
    assert found == ["netcore/validation.py"]


def test_a_direction_is_compared_only_in_netcore_metrics():
    """Which way a metric goes is netcore.metrics' to say (direction_of, minimizes, sign)."""
    found = sorted({name for name, tree in _sources() for node in ast.walk(tree)
                    if isinstance(node, ast.Compare)
                    and any(isinstance(side, ast.Constant) and side.value in ("minimize", "maximize")
                            for side in [node.left, *node.comparators])})
    assert found == ["netcore/metrics.py"]


def test_exit_codes_are_mapped_in_one_place():
    """The command line's exit codes come from one table (cli/errors.py), never a bare number."""
    found = []
    for name, tree in _sources():
        if not name.startswith("hpsearch/cli/") or name == "hpsearch/cli/errors.py":
            continue
        for node in ast.walk(tree):
            named = isinstance(node, ast.Assign) and any("EXIT_" in ast.unparse(t)
                                                          for t in node.targets)
            bare = isinstance(node, ast.Return) and isinstance(node.value, ast.Constant) \
                and isinstance(node.value.value, int) and not isinstance(node.value.value, bool)
            if named or bare:
                found.append(f"{name}:{node.lineno}")
    assert found == []
