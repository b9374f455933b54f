"""`python -m aisre_cli`, and the `aisre` console script (`run`)."""

from __future__ import annotations

import sys


def run() -> None:
    """Console-script entry point.

    Ctrl-C while the CLI is still importing (the first few hundred milliseconds) ends
    the run as Ctrl-C does anywhere later: one line and exit 130, not a traceback from
    whichever import it happened to land in."""
    try:
        from aisre_cli.runtime import one_shot_process
        from aisre_cli.ui.cli.app import main
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)  # ExitCode.INTERRUPTED, without importing anything more
    one_shot_process()
    main()


if __name__ == "__main__":
    run()
