"""Listening tests: MUSHRA (ITU-R BS.1534-3), ACR/MOS (ITU-T P.800) and AB, served from a samples folder.

``design`` reads a test (a YAML/JSON file or a samples folder), ``prepare``
writes its results folder (stimuli, anchors), ``server`` serves it (Starlette +
uvicorn) and stores every answer in SQLite at once (``store``), ``report``
analyses the answers and ``gallery`` writes a static page of a samples folder.
"""

from __future__ import annotations

from pathlib import Path

from wavegen.core.files import refuse_existing, write_text_atomic
from wavegen.errors import WavegenError
from wavegen.listen.design import check_design, load_design
from wavegen.listen.prepare import PreparedTest, is_results_folder, prepare_test
from wavegen.listen.report import analyse, format_report, plot_report
from wavegen.listen.store import AnswerStore, export_csv, read_csv
from wavegen.words import counted


def open_test(source: str | Path, *, kind: str | None = None, results: str | Path | None = None,
              mid_anchor: bool = False):
    """The prepared test for ``source`` (a test file, a samples folder or a results folder), ready to serve."""
    source = Path(source)
    if is_results_folder(source):
        test = PreparedTest.open(source)
        if kind and kind != test.type:
            raise WavegenError(f"{source}: holds a {test.type.upper()} test, not {kind.upper()}")
        return test
    design = load_design(source, kind)
    if mid_anchor and not design.mid_anchor:
        design.mid_anchor = True
        check_design(design)                # one more stimulus per trial: still at most 12?
    return prepare_test(design, results or Path("listen-results") / f"{design.name}-{design.type}")


def answers_of(results: str | Path) -> tuple[list[dict], str]:
    """(answer rows, test name) from a results folder or an answers CSV."""
    results = Path(results)
    if is_results_folder(results):
        test = PreparedTest.open(results)
        if not test.database.exists():
            raise WavegenError(f"{results}: no answers yet")
        return [{**row, "type": test.type} for row in AnswerStore(test.database).rows()], test.name
    if results.is_file():
        return read_csv(results), results.stem
    raise WavegenError(f"{results}: expected a listening-test results folder or an answers CSV")


def report_outputs(out_dir: Path, kind: str | None) -> list[Path]:
    """The files a report writes into ``out_dir``: the table, the plot and (of a results folder) the CSV."""
    return [out_dir / "report.txt", out_dir / "report.png", *([out_dir / f"answers-{kind}.csv"] if kind else [])]


def default_report_folder(results: Path) -> Path:
    """Where a report goes without ``-o``: the results folder, or ``NAME-report/`` beside an answers CSV."""
    return results if results.is_dir() else results.with_name(f"{results.stem}-report")


def write_report(results: str | Path, out_dir: str | Path | None = None, *,
                 overwrite: bool = False) -> tuple[str, list[Path]]:
    """Analyse the answers; write report.txt, report.png (and, for a results folder, the answers CSV).

    Its own place (:func:`default_report_folder`) holds wavegen's derived files
    and is regenerated; in any other ``out_dir`` an existing file is replaced
    only with ``overwrite`` (checked before anything is written).
    """
    results = Path(results)
    rows, name = answers_of(results)
    if not rows:
        raise WavegenError(f"{results}: no answers to report on")
    report = analyse(rows)
    if not report.participants:
        raise WavegenError(f"{results}: no completed trials to report on yet "
                           f"({counted(report.incomplete, 'incomplete trial')} left out)")
    test = PreparedTest.open(results) if is_results_folder(results) else None
    own = default_report_folder(results)
    out_dir = Path(out_dir) if out_dir is not None else own
    outputs = report_outputs(out_dir, test.type if test else None)
    refuse_existing(outputs, overwrite or out_dir.resolve() == own.resolve(), instead="or another -o folder")
    text = format_report(report)
    write_text_atomic(outputs[0], text + "\n")
    plot_report(report, outputs[1], title=f"listening test: {name}")
    if test is not None:
        export_csv(AnswerStore(test.database), outputs[2], test=test.name, kind=test.type)
    return text, outputs
