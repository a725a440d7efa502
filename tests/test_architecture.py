"""The package's shape: no private imports across modules, no import cycles, one method registry, a light CLI."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import transzero

SRC = Path(transzero.__file__).parent


def _modules() -> dict[str, Path]:
    out = {}
    for f in SRC.rglob("*.py"):
        rel = f.relative_to(SRC.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = f
    return out


MODULES = _modules()


def _is_type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING")


def _imports(module: str, path: Path) -> list[tuple[str, list[str]]]:
    """(imported module, names) for every import executed at run time (``if TYPE_CHECKING`` blocks excluded)."""
    tree = ast.parse(path.read_text())
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found: list[tuple[str, list[str]]] = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for sub in child.orelse:
                    visit(sub)
                continue
            if isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package.split(".")
                    base = base[: len(base) - (child.level - 1)]
                    target = ".".join(base + ([child.module] if child.module else []))
                else:
                    target = child.module or ""
                found.append((target, [a.name for a in child.names]))
            elif isinstance(child, ast.Import):
                found.extend((a.name, []) for a in child.names)
            visit(child)

    visit(tree)
    return found


def test_no_private_names_imported_across_modules() -> None:
    offenders = []
    for mod, path in MODULES.items():
        for target, names in _imports(mod, path):
            if not target.startswith("transzero"):
                continue
            for n in names:
                if n.startswith("_") and not n.startswith("__"):
                    offenders.append(f"{mod}: from {target} import {n}")
    assert not offenders, offenders


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for mod, path in MODULES.items():
        for target, names in _imports(mod, path):
            if not target.startswith("transzero"):
                continue
            subs = [f"{target}.{n}" for n in names if f"{target}.{n}" in MODULES]
            if subs:  # from package import submodule
                graph[mod].update(subs)
            if target in MODULES and (len(subs) < len(names) or not names):
                graph[mod].add(target)
    return graph


def test_no_import_cycles() -> None:
    graph = _graph()
    # a package's __init__ re-exports its submodules; a submodule must never import its own package back
    for mod, deps in graph.items():
        if mod.endswith(".__main__"):
            continue  # `python -m pkg` runs pkg/__init__ first; __main__ calling into it is the idiom
        for d in deps:
            if mod.startswith(d + ".") and d != "transzero":
                pytest.fail(f"{mod} imports its package {d}; import the defining module instead")
    state: dict[str, int] = {}
    stack: list[str] = []

    def dfs(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for d in sorted(graph.get(m, ())):
            if d not in graph:
                continue
            if state.get(d) == 1:
                cycle = stack[stack.index(d):] + [d]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if d not in state:
                dfs(d)
        stack.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            dfs(m)


# The layers, top to bottom: a module may import (function bodies included, ``if TYPE_CHECKING`` blocks not) only
# from its own layer or a lower one. Every module is placed by the longest dotted prefix listed here; a new module
# that matches none fails `test_every_module_has_a_layer` until it is given one. docs/architecture.md, "Layers".
LAYER_NAMES = ("base", "data", "encoders", "methods/labels", "classifier", "pipeline", "engines", "front ends")
LAYERS: dict[str, int] = {
    # front ends: thin wiring around `run_job` / the classifier; the package itself re-exports the public names
    "transzero": 7, "transzero.__main__": 7, "transzero.cli": 7, "transzero.serve": 7,
    # engines: where a sharded job encodes (registered by name with transzero.pipeline.engine)
    "transzero.engines": 6,
    # the one job pipeline: specs, stages, jobs, the engine protocol and registry
    "transzero.pipeline": 5,
    # the estimator over raw items and what composes classifiers, adapts and judges their scores
    "transzero.classifier": 4, "transzero.head": 4, "transzero.predictions": 4, "transzero.saved_format": 4,
    "transzero.multimodal": 4, "transzero.multitask": 4, "transzero.saved": 4,
    "transzero.curves": 4, "transzero.gzsl": 4, "transzero.gzsl_metrics": 4, "transzero.evaluate": 4,
    "transzero.calibration": 4, "transzero.decisions": 4, "transzero.transductive": 4, "transzero.explanations": 4,
    "transzero.enrich": 4, "transzero.active": 4, "transzero.evalreport": 4,
    # methods over vectors (fine-tuning included) and the class side: label spaces, templates, names, WordNet
    "transzero.methods": 3, "transzero.finetune": 3, "transzero.neighbors": 3, "transzero.labels": 3,
    "transzero.templates": 3, "transzero.names": 3, "transzero.spoken": 3, "transzero.wordnet": 3,
    # items -> vectors, and the cache of those vectors
    "transzero.encoders": 2, "transzero.store": 2, "transzero.encoded": 2,
    # reading items and the bundled concept vocabulary; the items' language
    "transzero.data": 1, "transzero.concepts": 1, "transzero.language": 1,
    # foundations: errors, helpers, safe writing, folders and locks, saved-folder checks, defaults
    "transzero.errors": 0, "transzero._util": 0, "transzero._strings": 0, "transzero._paths": 0,
    "transzero._estimator": 0, "transzero.io": 0, "transzero.locks": 0, "transzero.threads": 0, "transzero.shards": 0,
    "transzero.persistence": 0, "transzero.schema": 0, "transzero.defaults": 0, "transzero.presets": 0,
    "transzero.resources": 0,
    # the format registry and its writers (and table readers): io, shards and data/ dispatch through it
    "transzero.formats": 0,
}


def _layer(module: str) -> int | None:
    """The layer of ``module``: its longest prefix in LAYERS (the bare package matches only itself)."""
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        prefix = ".".join(parts[:n])
        if prefix in LAYERS and (n > 1 or module == prefix):
            return LAYERS[prefix]
    return None


def test_every_module_has_a_layer() -> None:
    unplaced = sorted(m for m in MODULES if _layer(m) is None)
    assert not unplaced, f"give these modules a layer in LAYERS: {unplaced}"
    stale = sorted(p for p in LAYERS if not any(m == p or m.startswith(p + ".") for m in MODULES))
    assert not stale, f"LAYERS names modules that do not exist: {stale}"


def test_imports_point_down_the_layers() -> None:
    """cli, serve -> engines -> pipeline -> classifier -> methods, labels -> encoders -> data -> base."""
    violations = []
    for mod, deps in sorted(_graph().items()):
        here = _layer(mod)
        for d in sorted(deps):
            there = _layer(d)
            if here is not None and there is not None and there > here:
                violations.append(f"{mod} -> {d} (layer {LAYER_NAMES[here]} imports layer {LAYER_NAMES[there]})")
    assert not violations, "imports against the layer order:\n" + "\n".join(violations)


def test_the_pipeline_never_imports_an_engine() -> None:
    """Engines register with transzero.pipeline.engine; `--engine ray` still resolves after `import transzero`."""
    from transzero.pipeline.engine import engine_names

    assert all(not d.startswith("transzero.engines") for m, deps in _graph().items()
               if m.startswith("transzero.pipeline") for d in deps)
    import transzero.pipeline.batch  # noqa: F401  (registers `local`)

    assert engine_names()[:2] == ["local", "ray"]


def test_classifier_private_methods_stay_private() -> None:
    """No module outside the classifier calls its private methods (``_prepare``, ``_encode_report``, ``_logits``)."""
    import re

    call = re.compile(r"\b(?!self\b|cls\b)(\w+)\._(prepare|encode_report|logits|resolve_\w+|fit_method|context)\b")
    files = [(m, p) for m, p in MODULES.items() if m != "transzero.classifier"]
    files += [(f"benchmarks/{f.name}", f) for f in (Path(__file__).parents[1] / "benchmarks").glob("*.py")]
    bad = [f"{m}: {hit.group(0)}" for m, p in files for hit in call.finditer(p.read_text())]
    assert not bad, bad


def test_method_registry_and_tags_agree() -> None:
    from transzero.methods import METHODS, ZSL_METHODS, curve_methods, get_tags, list_methods, method_info, method_name

    assert sorted(METHODS) == list_methods()
    assert set(curve_methods()) <= set(list_methods())
    for name in list_methods():
        cls = METHODS[name]
        tags, family = get_tags(cls), method_info(name).family
        assert method_name(cls) == name
        if family == "few-shot":
            assert tags.zero_shot_prior and tags.learns_from_labels, name
        if family == "zsl":
            assert tags.semantics and tags.seen_classes, name
        if family == "speech":
            assert tags.raw_items, name
        if family == "zero-shot":
            assert not tags.zero_shot_prior and not tags.semantics, name
    assert set(ZSL_METHODS) == {"dap", "eszsl", "sae", "devise", "ale", "sje", "conse"}


def test_help_lists_every_method_and_encoder(capsys: pytest.CaptureFixture[str]) -> None:
    from transzero.cli import main
    from transzero.encoders import list_encoders
    from transzero.methods import list_methods

    for cmd in ("classify", "eval"):
        try:
            main([cmd, "--help"])
        except SystemExit as exc:
            assert exc.code in (0, None)
        text = " ".join(capsys.readouterr().out.split())
        squashed = text.replace("│", " ")
        squashed = " ".join(squashed.split())
        for m in list_methods():
            assert m in squashed, (cmd, m)
        for e in list_encoders():
            if not e.startswith("test-"):  # (encoders tests register after the CLI module was imported)
                assert e in squashed, (cmd, e)


def test_cli_import_is_light() -> None:
    """Importing the CLI (what --help needs) loads no scikit-learn, scipy, torch, transformers or onnxruntime."""
    code = ("import sys, json, transzero.cli, transzero.methods, transzero.pipeline; "
            "print(json.dumps(sorted(m for m in ('sklearn', 'scipy', 'torch', 'transformers', 'onnxruntime') "
            "if m in sys.modules)))")
    heavy = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
    assert heavy == []


def test_help_and_models_listing_load_no_numpy() -> None:
    """`transzero --help` and the encoder listing (what `transzero models` needs) stay free of numpy and the jobs."""
    code = ("import sys, json, transzero.cli, transzero.pipeline; from transzero.encoders import encoder_info, list_encoders; "
            "[encoder_info(n) for n in list_encoders()]; "
            "print(json.dumps(sorted(m for m in ('numpy', 'PIL', 'transzero.pipeline.jobs', 'transzero.encoders.base') "
            "if m in sys.modules)))")
    loaded = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
    assert loaded == []


def test_the_network_guard_refuses_outside_addresses() -> None:
    """The suite's guard (tests/conftest.py) refuses DNS and connections beyond loopback; loopback still works."""
    import socket

    from . import conftest

    with pytest.raises(OSError, match="must not reach the network"):
        socket.getaddrinfo("huggingface.co", 443)
    with pytest.raises(OSError, match="must not reach the network"):
        socket.create_connection(("93.184.216.34", 80), timeout=1)
    assert len(conftest.NETWORK_ATTEMPTS) == 2
    conftest.NETWORK_ATTEMPTS.clear()  # (this test made them on purpose)
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    client = socket.create_connection(server.getsockname(), timeout=2)
    client.close()
    server.close()
