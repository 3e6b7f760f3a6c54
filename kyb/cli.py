"""The `kyb` command group.

Subcommands live in their own modules and are imported only when invoked, so that
`kyb --help` and light commands do not pay for importing TensorFlow.
"""

import importlib

import click

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


@click.group(cls=LazyGroup, lazy_commands=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="know-your-bands")
def cli():
    """Know Your Bands: name metal bands from real-life photos."""


def main():
    cli(prog_name="kyb")
