"""A quiet command line: TensorFlow's and absl's start-up chatter kept off the terminal.

Loading TensorFlow prints notices a user can do nothing about (oneDNN, CPU features), and
its graph optimizer logs "cost estimator" warnings while a model runs. `silence()` turns
them off for the rest of the process and the worker processes it starts; `kyb --verbose`
skips it. It must run before the first `import tensorflow`:

- TensorFlow's C++ logging reads TF_CPP_MIN_LOG_LEVEL once, when the library loads;
  level 2 hides info and warnings and keeps errors.
- A few notices are written through absl before any logging is set up and ignore that
  variable, so the import itself runs with stderr (file descriptor 2) captured; what is
  not such a notice is written back afterwards, so a real error still shows.
- TensorFlow's, Keras' and absl's Python loggers keep errors only, and warnings raised
  inside those libraries are ignored. Warnings of our own code still show.
- It sets KYB_QUIET=1, and a worker process started with multiprocessing's spawn
  silences itself when it sees it: spawn runs the `kyb` script again, which imports this
  module. (`python -m kyb` is not run again in workers, so its workers are not covered.)
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.util
import logging
import multiprocessing
import os
import re
import sys
import tempfile
import warnings

#: Set while a command is quiet, for its worker processes.
QUIET_ENV = "KYB_QUIET"
#: TensorFlow's C++ log level: 1 hides info, 2 also warnings, 3 would hide errors too.
TF_LOG_LEVEL_ENV = "TF_CPP_MIN_LOG_LEVEL"
TF_LOG_LEVEL = "2"
#: A line of start-up chatter: a glog-style info or warning line ("I0000 00:00:17.5 12 port.cc:153] ..."),
#: absl's note on logging before its initialisation, the second line of the CPU-feature notice.
NOISE = re.compile(r"[IW]\d{4} \d\d:\d\d:[\d.]+ +\d+ [\w.]+:\d+\]"
                   r"|WARNING: All log messages before absl::InitializeLog\(\)"
                   r"|To enable the following instructions: ")
#: Modules whose own Python warnings are chatter to a user of the command line.
NOISY_MODULES = r"(tensorflow|keras|tf_keras|absl)(\.|$)"


def configure(verbose: bool) -> None:
    """Silence TensorFlow and absl unless `verbose` (then worker processes are not silenced either)."""
    if verbose:
        os.environ.pop(QUIET_ENV, None)
    else:
        silence()


def silence() -> None:
    """Silence TensorFlow and absl for this process and the processes it starts."""
    os.environ[QUIET_ENV] = "1"
    os.environ.setdefault(TF_LOG_LEVEL_ENV, TF_LOG_LEVEL)
    warnings.filterwarnings("ignore", module=NOISY_MODULES)
    for name in ("tensorflow", "keras"):
        logging.getLogger(name).setLevel(logging.ERROR)
    with contextlib.suppress(ImportError):  # absl comes with TensorFlow
        from absl import logging as absl_logging

        absl_logging.set_verbosity(absl_logging.ERROR)
    if "tensorflow" not in sys.modules and not any(isinstance(f, _QuietImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _QuietImport())


@contextlib.contextmanager
def filtered_stderr():
    """Capture file descriptor 2 (C++ writes too), then write back the lines that are not noise."""
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no stderr to capture
        yield
        return
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            lines = captured.read().decode(errors="replace").splitlines(keepends=True)
            kept = "".join(line for line in lines if not NOISE.match(line))
            if kept:
                sys.stderr.write(kept)
                sys.stderr.flush()


class _QuietImport(importlib.abc.MetaPathFinder):
    """Finds `tensorflow` through the other finders, once, and loads it inside `filtered_stderr`."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "tensorflow":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)
        if spec is not None and spec.loader is not None:
            spec.loader = _QuietLoader(spec.loader)
        return spec


class _QuietLoader(importlib.abc.Loader):
    """Wraps a loader so that executing the module runs inside `filtered_stderr`."""

    def __init__(self, loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        module.__loader__ = module.__spec__.loader = self.loader
        with filtered_stderr():
            self.loader.exec_module(module)


def _in_worker_process() -> bool:
    """Whether this is a process that multiprocessing started. While spawn prepares one (and
    runs the `kyb` script that imports this module) only the process name says so."""
    return (multiprocessing.parent_process() is not None
            or multiprocessing.current_process().name != "MainProcess")


if os.environ.get(QUIET_ENV) == "1" and _in_worker_process():
    silence()
