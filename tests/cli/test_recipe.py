"""`wavegen recipe`: finding a recipe, and listing them all."""

from __future__ import annotations

import pathlib

from tests.support import wavegen_cli

RECIPES = pathlib.Path(__file__).resolve().parents[2] / "recipes"


def _every_recipe() -> set[tuple[str, str]]:
    return {(module.parent.name, module.stem.replace("_", "-"))
            for module in RECIPES.glob("*/[a-z]*.py")}


def test_list_names_every_model_and_dataset_with_a_line_on_each(tmp_path):
    result = wavegen_cli("recipe", "--list", cwd=tmp_path, env={"COLUMNS": "200"})
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    listed, model = set(), None
    for line in lines:
        if not line.startswith(" "):
            model = line.strip()
            continue
        if line.startswith("   "):                # a description's wrapped continuation
            continue
        dataset, description = line.split(maxsplit=1)
        listed.add((model, dataset))
        assert len(description) > 20
    assert listed == _every_recipe()
    assert not list(tmp_path.iterdir())           # listing writes nothing


def test_list_of_one_model(tmp_path):
    result = wavegen_cli("recipe", "segan", "--list", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "segan"
    assert {line.split()[0] for line in result.stdout.splitlines()[1:] if line.startswith("  ") and
            not line.startswith("   ")} == {"demo", "voicebank"}


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
