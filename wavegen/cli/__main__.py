"""``python -m wavegen.cli``: the ``wavegen`` command."""

from wavegen.cli import main

main()
