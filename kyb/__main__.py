"""`python -m kyb` runs the same command line as the `kyb` console script."""

from kyb.cli import main

if __name__ == "__main__":  # worker processes re-import this module and must not run the CLI
    main()
