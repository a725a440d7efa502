"""What a shard folder compares on resume is derived from the spec's declarations: every field is compared
unless declared ``ignore`` (it never changes an output) or ``resolved`` (compared through what it resolves to)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import typer

from transzero.pipeline.spec import (
    RESUME_ROLES, AdaptSpec, DecideSpec, EngineSpec, InputSpec, JobSpec, ModelSpec, OutputSpec, resume_identity,
)

BASE = JobSpec("classify", InputSpec(Path("in.csv")), output=OutputSpec(predictions=Path("out"), shards=True))


def _specs() -> list[type]:
    import transzero.pipeline.spec as spec

    return [c for c in vars(spec).values() if isinstance(c, type) and dataclasses.is_dataclass(c)
            and c.__module__ == spec.__name__]


def test_every_field_has_a_known_role() -> None:
    for cls in _specs():
        for f in dataclasses.fields(cls):
            assert f.metadata.get("resume", "compare") in RESUME_ROLES, f"{cls.__name__}.{f.name}"


@pytest.mark.parametrize("change", [
    {"decide": DecideSpec(reject="auto")}, {"decide": DecideSpec(explain=2)}, {"decide": DecideSpec(multi_label=0.5)},
    {"adapt": AdaptSpec(transductive=True)}, {"adapt": AdaptSpec(transductive=True, steps=("balance",))},
    {"input": InputSpec(Path("in.csv"), text_column="body")}, {"model": ModelSpec(index="exact")},
])
def test_a_field_that_changes_the_output_changes_the_identity(change: dict) -> None:
    assert resume_identity(dataclasses.replace(BASE, **change)) != resume_identity(BASE)


@pytest.mark.parametrize("change", [
    {"output": OutputSpec(predictions=Path("out"), shards=True, json=Path("s.json"), overwrite=True)},
    {"engine": EngineSpec("ray", workers=4)}, {"strict": True}, {"model": ModelSpec(batch_size=8)},
    # resolved: the job compares what these resolve to (label space, encoder fingerprint, effective format/size)
    {"model": ModelSpec(encoder="minilm-l6")}, {"output": OutputSpec(predictions=Path("out"), shards=True, shard_size=10)},
])
def test_a_field_that_does_not_or_is_resolved_leaves_the_identity(change: dict) -> None:
    assert resume_identity(dataclasses.replace(BASE, **change)) == resume_identity(BASE)


def test_a_new_option_is_compared_unless_declared_otherwise() -> None:
    @dataclasses.dataclass(frozen=True)
    class Decide2(DecideSpec):
        new_option: int = 0

    a, b = dataclasses.replace(BASE, decide=Decide2()), dataclasses.replace(BASE, decide=Decide2(new_option=1))
    assert resume_identity(a) != resume_identity(b)


@pytest.mark.parametrize("make, message", [
    (lambda: ModelSpec(index="fast"), "--index must be one of"),
    (lambda: AdaptSpec(index="fast"), "--index must be one of"),
    (lambda: ModelSpec(preset="quick"), "unknown preset .quick.; choose one of fast, accurate"),
    (lambda: ModelSpec(preset="fast", encoder="minilm-l6"), "--preset/--language choose the text encoder"),
    (lambda: ModelSpec(batch_size=0), "--batch-size must be at least 1"),
    (lambda: AdaptSpec(calibration_shots=0), "--calibration-shots must be at least 1"),
    (lambda: OutputSpec(shard_size=0), "--shard-size must be at least 1, got 0"),
    (lambda: EngineSpec("spark"), "--engine must be local or ray, got 'spark'"),
    (lambda: EngineSpec("ray", workers=0), "--workers must be at least 1"),
])
def test_a_spec_checks_its_own_values_once_for_every_front_end(make, message: str) -> None:
    from transzero.errors import InputError

    with pytest.raises(InputError, match=message):
        make()


def test_options_declared_on_the_spec_reach_the_cli_and_the_spec(monkeypatch, capsys) -> None:
    """A classify/eval option is a spec field declared with `option(...)`: its flag appears in the commands it names
    and its value lands in that field of the JobSpec the command runs, with the section's checks."""
    import dataclasses

    import transzero.pipeline as pipeline
    from transzero.cli import main
    from transzero.pipeline.spec import DecideSpec, declared_options

    names = [f.name for _, f, _, _ in declared_options()]
    assert len(names) == len(set(names)) and {"reject", "target_frr", "none_label", "explain"} <= set(names)
    seen: list = []
    monkeypatch.setattr(pipeline, "run_job", lambda spec, reporter=None: seen.append(spec) or (_ for _ in ()).throw(SystemExit(0)))
    for command, flags in (("classify", ["--reject", "0.3", "--none-label", "other", "--explain", "2"]),
                           ("eval", ["--reject", "auto", "--target-frr", "0.1", "--none-label", "other"])):
        with pytest.raises(SystemExit):
            main([command, "x.csv", "--labels", "a,b", *flags])
        d = seen[-1].decide
        assert isinstance(d, DecideSpec) and d.none_label == "other"
        assert (d.reject, d.explain) == (("0.3", 2) if command == "classify" else ("auto", 0))
    assert seen[-1].decide.target_frr == 0.1
    # a new declared option needs no CLI edit: a toy field declared for a toy command becomes its flag
    from transzero.cli import _spec_options
    from transzero.pipeline.spec import option

    @dataclasses.dataclass(frozen=True)
    class Toy:
        loudness: int = option(3, "--loudness", "How loud.", commands=("toy",))

    toy_field = dataclasses.fields(Toy)[0]
    monkeypatch.setattr(_spec_options, "declared_options", lambda cmd: [("decide", toy_field, int, toy_field.metadata["option"])])
    got: dict = {}

    @_spec_options.spec_options("toy")
    def toy(name: str = typer.Argument(...), options: dict | None = None) -> None:
        got.update(name=name, **(options or {}))

    app = typer.Typer()
    app.command()(toy)
    from typer.testing import CliRunner

    r = CliRunner().invoke(app, ["n", "--loudness", "7"])
    assert r.exit_code == 0, r.output
    assert got == {"name": "n", "loudness": 7}
    assert "--loudness" in CliRunner().invoke(app, ["--help"]).output


@pytest.mark.parametrize("command", ["classify", "eval"])
def test_declared_options_are_in_the_help(command: str) -> None:
    from typer.testing import CliRunner

    from transzero.cli import app
    from transzero.pipeline.spec import declared_options

    out = CliRunner().invoke(app, [command, "--help"], terminal_width=200).output
    for _, _, _, opt in declared_options(command):
        assert opt.flag in out
