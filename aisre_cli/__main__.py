"""`python -m aisre_cli` is the same as the `aisre` console script."""

from aisre_cli.ui.cli.app import main

if __name__ == "__main__":
    main()
