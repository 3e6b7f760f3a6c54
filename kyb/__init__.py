"""The `kyb` command line: the front door to every other package, and nothing else."""
