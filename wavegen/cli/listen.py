"""``wavegen listen``: listening tests in the browser, their reports, and static galleries."""

from __future__ import annotations

from pathlib import Path

import click
from click.core import ParameterSource

from wavegen.errors import WavegenError

SERVING = ("kind", "results", "host", "port", "mid_anchor", "participants")     # options only serving reads
WRITING = ("out", "overwrite")                                                    # only --report / --gallery


@click.command(epilog="""\b
Examples:
  wavegen listen samples/                          # MUSHRA test of the committed samples, on 127.0.0.1:8000
  wavegen listen samples/ --type ab                # AB preference between every two systems of an item
  wavegen listen samples/ --type abx               # can listeners tell those two systems apart?
  wavegen listen test.yaml --results listen-results/my-test
  wavegen listen samples/ --host 0.0.0.0 --participant ana --participant ben   # links with tokens
  wavegen listen --report listen-results/samples-mushra     # means, 95 % intervals, screening, plot, CSV
  wavegen listen --report answers.csv -o report/ --overwrite   # replace an earlier report in report/
  wavegen listen samples/ --gallery -o gallery/             # static page: a player and spectrogram per file
""")
@click.argument("source", required=False, type=click.Path(path_type=Path, exists=True))
@click.option("--type", "kind", type=click.Choice(["mushra", "acr", "ab", "abx"]),
              help="Test type [default: the test file's, or mushra for a samples folder].")
@click.option("--results", type=click.Path(path_type=Path, file_okay=False),
              help="Where the test's stimuli and answers live [default: listen-results/NAME-TYPE]. "
                   "Run the same command again to continue a test.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to serve on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="Port to serve on.")
@click.option("--mid-anchor", is_flag=True, help="MUSHRA: add the optional 7 kHz low-pass anchor.")
@click.option("--participant", "participants", multiple=True, metavar="ID",
              help="Print this participant's link (with its token; required beyond 127.0.0.1). Repeatable.")
@click.option("--report", "report_on", type=click.Path(path_type=Path, exists=True), metavar="RESULTS",
              help="Report on a results folder or an answers CSV instead of serving a test (no SOURCE). "
                   "Only completed trials count; the report says how many incomplete ones it left out.")
@click.option("--gallery", is_flag=True, help="Write a static HTML page of SOURCE (a samples folder) instead.")
@click.option("-o", "--out", type=click.Path(path_type=Path, file_okay=False),
              help="Folder for --report or --gallery output [default: the results folder, or NAME-report/ beside "
                   "an answers CSV, for --report; gallery/ for --gallery].")
@click.option("--overwrite", is_flag=True,
              help="Replace files that --report or --gallery would write and that already exist (without it "
                   "they are refused before anything is written; a report in its default place is wavegen's "
                   "own and is always regenerated). Files of an earlier gallery that the new one does not "
                   "write are kept, and not shown.")
@click.pass_context
def listen(ctx, source, kind, results, host, port, mid_anchor, participants, report_on, gallery, out, overwrite):
    """Run a listening test (MUSHRA, ACR/MOS, AB or ABX) in the browser, report on one, or write a gallery.

    SOURCE is a samples folder (files named ITEM_SYSTEM.wav; the system
    clean, original or reference is the item's reference), a test file
    (YAML or JSON) or a results folder to continue. Every answer is stored in
    RESULTS/answers.sqlite the moment it is given; a participant who comes back
    with the same id continues where they stopped.
    """
    from wavegen import listen as listening
    _refuse_ignored(ctx, source, report_on, gallery)
    if report_on is not None:
        text, written = listening.write_report(report_on, out, overwrite=overwrite)
        click.echo(text)
        click.echo(f"wrote {', '.join(str(p) for p in written)}")
        return
    if source is None:
        raise WavegenError("give a samples folder, a test file or a results folder (or --report RESULTS)")
    if gallery:
        from wavegen.listen.gallery import write_gallery
        click.echo(f"wrote {write_gallery(source, out or Path('gallery'), overwrite=overwrite)}")
        return
    from wavegen.listen.server import bind, check_reach, invitation, is_loopback, serve
    check_reach(host, participants)
    sock = bind(host, port)                 # a port in use is refused before a test is prepared or announced
    with sock:
        test = listening.open_test(source, kind=kind, results=results, mid_anchor=mid_anchor)
        lines = invitation(test, host, port, participants)
        if not is_loopback(host):
            click.echo(f"warning: serving on {host}, reachable from other machines; only links with a token work",
                       err=True)
        click.echo("\n".join(lines))
        serve(test, sock, require_token=not is_loopback(host))


def _refuse_ignored(ctx: click.Context, source, report_on, gallery) -> None:
    """One line for an option this run would silently ignore (a SOURCE with --report, --port with --gallery)."""
    if report_on is not None and (source is not None or gallery):
        what = f"SOURCE {source}" if source is not None else "--gallery"
        raise WavegenError(f"--report {report_on} reports on answers and takes no {what}; give one or the other")
    given = [p for p in ctx.command.params if p.name in (*SERVING, *WRITING)
             and ctx.get_parameter_source(p.name) not in (ParameterSource.DEFAULT, None)]
    mode = "--report" if report_on is not None else "--gallery" if gallery else None
    for param in given:
        flag = max(param.opts, key=len)
        if mode and param.name in SERVING:
            raise WavegenError(f"{flag} is for serving a test; {mode} does not read it (leave it out)")
        if not mode and param.name in WRITING:
            raise WavegenError(f"{flag} is for --report or --gallery; a test's answers go to its --results folder")
