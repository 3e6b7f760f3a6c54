"""The `kyb` command group.

Subcommands live in their own modules and are imported only when invoked, so that
`kyb --help` and light commands do not pay for importing TensorFlow. Unless `--verbose`,
TensorFlow's and absl's log chatter is silenced (kyb/quiet.py) before any subcommand is
imported; with it, an error also shows the traceback of its cause.
"""

import importlib
import traceback

import click

from kyb import quiet

#: Key of the --verbose flag in the top-level context's `meta`.
VERBOSE = "kyb.verbose"

#: command name -> "module:attribute" of its click command.
COMMANDS = {
    "demo": "kyb.demo_cmd:demo",
    "synth": "kyb.synth_cmd:synth",
    "db": "kyb.db_cmd:db",
    "scrape": "kyb.scrape_cmd:scrape",
    "serve": "kyb.serve_cmd:serve",
    "detector": "kyb.detector_cmd:detector",
    "descriptor": "kyb.descriptor_cmd:descriptor",
    "index": "kyb.index_cmd:index",
    "match": "kyb.match_cmd:match",
    "eval": "kyb.eval_cmd:eval_group",
    "identify": "kyb.identify_cmd:identify",
}


class LazyGroup(click.Group):
    """A click group whose subcommands, given as "module:attribute" strings, are imported on first use."""

    def __init__(self, *args, lazy_commands: dict[str, str], **kwargs):
        super().__init__(*args, **kwargs)
        self.lazy_commands = lazy_commands

    def list_commands(self, ctx):
        return sorted(self.lazy_commands)

    def get_command(self, ctx, cmd_name):
        target = self.lazy_commands.get(cmd_name)
        if target is None:
            return None
        module_name, attribute = target.split(":")
        return getattr(importlib.import_module(module_name), attribute)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except click.ClickException as exc:
            if ctx.parent is None and ctx.meta.get(VERBOSE) and exc.__cause__ is not None:
                traceback.print_exception(exc.__cause__)
            raise


def set_verbosity(ctx, param, verbose: bool) -> None:
    """Runs while the group's options are parsed, before a subcommand's module is imported."""
    ctx.meta[VERBOSE] = verbose
    quiet.configure(verbose)


@click.group(cls=LazyGroup, lazy_commands=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, is_eager=True, expose_value=False, callback=set_verbosity,
              help="Show TensorFlow's and absl's log messages, and the traceback behind an error.")
@click.version_option(package_name="know-your-bands")
def cli():
    """Know Your Bands: name metal bands from real-life photos."""


def main():
    cli(prog_name="kyb")
