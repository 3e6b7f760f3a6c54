"""The `kyb` command group.

Subcommands live in their own modules and are imported only when invoked, so that
`kyb --help` and light commands do not pay for importing TensorFlow. Unless `--verbose`,
TensorFlow's and absl's log chatter is silenced (kyb/quiet.py) before any subcommand is
imported.

Errors are handled here, once for every command. The project's own errors (a bad
folder, a malformed annotation, a missing image, an unknown class, an unusable model,
index, database or predictions file: `PROJECT_ERRORS`) and the clean stops commands raise
themselves (`click.ClickException`) end the command with one line, "Error: ..." naming the
file and the problem, and exit status 2, never a traceback; `--verbose` adds the
traceback behind it. Anything else is a bug and shows its traceback as Python does.
"""

import importlib
import sys
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


#: The exit status of a command stopped by a problem with its input.
INPUT_ERROR = 2

#: "module:class" of every error class the project raises for input it cannot use. An
#: error's module is imported by the time one is raised, so the check imports nothing.
PROJECT_ERRORS = (
    "data.voc:VocError", "data.voc_layouts:VocLayoutError", "data.dataset:DatasetError",
    "data.image_io:UnreadableImage", "detector.data:DetectorDataError", "detector.io:ModelFileError",
    "detector.predictions:PredictionsError", "features.logo_descriptor:DescriptorModelError",
    "features.torch_checkpoint:CheckpointError", "features.efficientnet_lite:WeightsUnavailableError",
    "matching.bundle:BundleError", "retrieval.images:NotAnImage", "retrieval.identify_api:ImageRejected",
    "retrieval.importers:ImportFailed", "retrieval.store:StoreError", "retrieval.metal_archives:FormatError",
    "scraper.parse:ParseError", "scraper.http:ScrapeError", "scraper.images:ImageRefused",
)
#: Operating-system errors about a path the user named (an output folder that is a
#: file, an unwritable --json path): the path and the reason make the whole message.
PATH_ERRORS = (FileNotFoundError, FileExistsError, PermissionError, IsADirectoryError, NotADirectoryError)


def is_project_error(exc: BaseException) -> bool:
    """Whether `exc` is one of `PROJECT_ERRORS` (of a module already imported) or a `PATH_ERRORS`."""
    if isinstance(exc, PATH_ERRORS):
        return True
    for entry in PROJECT_ERRORS:
        module_name, _, class_name = entry.partition(":")
        error_class = getattr(sys.modules.get(module_name), class_name, None)
        if isinstance(error_class, type) and isinstance(exc, error_class):
            return True
    return False


def one_line(exc: BaseException) -> str:
    """The error's message on one line; an OSError as "PATH: reason"."""
    if isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
        message = f"{exc.filename}: {exc.strerror}"
    else:
        message = str(exc) or type(exc).__name__
    return " ".join(message.split())


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
        """Run the subcommand; at the top level, turn errors into one line (module docstring)."""
        try:
            return super().invoke(ctx)
        except click.UsageError:
            raise  # click's own: the usage, a hint and exit status 2
        except click.ClickException as exc:
            if ctx.parent is not None:
                raise
            if ctx.meta.get(VERBOSE) and exc.__cause__ is not None:
                traceback.print_exception(exc.__cause__)
            exc.message = " ".join(exc.message.split())
            if exc.exit_code == 1:  # the default of a clean stop
                exc.exit_code = INPUT_ERROR
            raise
        except Exception as exc:
            if ctx.parent is not None or not is_project_error(exc):
                raise
            if ctx.meta.get(VERBOSE):
                traceback.print_exception(exc)
            error = click.ClickException(one_line(exc))
            error.exit_code = INPUT_ERROR
            raise error from exc


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
