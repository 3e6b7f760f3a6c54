"""`python -m kyb` runs the same command line as the `kyb` console script."""

from kyb.cli import main

main()
