"""`wavegen recipe`: finding a recipe, and listing them all."""

from __future__ import annotations

import pathlib

from tests.support import wavegen_cli

RECIPES = pathlib.Path(__file__).resolve().parents[2] / "recipes"


def _every_recipe() -> set[tuple[str, str]]:
    return {(module.parent.name, module.stem.replace("_", "-"))
            for module in RECIPES.glob("*/[a-z]*.py")}


def _rows(output: str) -> list[list[str]]:
    """The table's rows as [model, dataset, description] (wrapped continuations start with spaces)."""
    return [line.split(maxsplit=2) for line in output.splitlines()[1:] if not line.startswith(" ")]


def test_list_names_every_model_and_dataset_with_a_line_on_each(tmp_path):
    result = wavegen_cli("recipe", "--list", cwd=tmp_path, env={"COLUMNS": "200"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0].split() == ["MODEL", "--data", "WHAT", "IT", "TRAINS"]
    rows = _rows(result.stdout)
    assert {(model, dataset) for model, dataset, _ in rows} == _every_recipe()
    assert len(rows) == len(result.stdout.splitlines()) - 1            # one line each on a wide terminal
    assert all(20 < len(description) < 110 for _, _, description in rows)
    assert not list(tmp_path.iterdir())           # listing writes nothing


def test_list_of_one_model(tmp_path):
    result = wavegen_cli("recipe", "segan", "--list", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert [row[:2] for row in _rows(result.stdout)] == [["segan", "demo"], ["segan", "voicebank"]]


def test_a_missing_model_or_data_points_to_the_list(tmp_path):
    for args in (["recipe"], ["recipe", "segan"], ["recipe", "nosuch", "--list"]):
        result = wavegen_cli(*args, cwd=tmp_path)
        assert result.returncode == 1
        assert result.stderr.count("\n") == 1 and "wavegen recipe --list" in result.stderr, result.stderr


def test_warnings_read_like_errors_unless_verbose():
    import logging

    from wavegen.cli import _Lines
    record = logging.LogRecord("wavegen.core.trainer", logging.WARNING, __file__, 1,
                               "%s is unreadable; resuming from %s", ("step-10", "step-5"), None)
    assert _Lines().format(record) == "warning: step-10 is unreadable; resuming from step-5"
