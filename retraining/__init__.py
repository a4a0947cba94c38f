"""The machinery of retrain.py, predict.py and cache_bottlenecks.py.

The scripts hold their flags and their steps; this package holds the rest,
taking plain values, grouped by role: graph/ builds and runs TensorFlow
graphs (the only part that imports TensorFlow), lite/ the TensorFlow Lite
model, beam/ the Apache Beam pipeline (the only part that imports Beam),
figures/ the charts and the text report, and the small modules here what
they share. docs/layout.md lists every module; tests/test_package.py checks
who imports what.
"""

import contextlib
import datetime
import os
import sys

# This project's version, written into the .tflite's metadata.
__version__ = '1.0.0'


def log(message):
  """A progress line on stdout, time-stamped as upstream's."""
  print('%s: %s' % (datetime.datetime.now(), message), flush=True)


def warn(message):
  """One warning line on stderr."""
  print('WARNING: ' + message, file=sys.stderr, flush=True)


@contextlib.contextmanager
def native_stderr_silenced():
  """Sends what C++ code writes to stderr (file descriptor 2) nowhere for
  the block: TensorFlow's start-up and LiteRT's delegate log lines, which
  no setting turns off. Errors still come as Python exceptions."""
  sys.stderr.flush()
  saved = os.dup(2)
  devnull = os.open(os.devnull, os.O_WRONLY)
  os.dup2(devnull, 2)
  try:
    yield
  finally:
    os.dup2(saved, 2)
    os.close(saved)
    os.close(devnull)


class UserError(Exception):
  """A problem the user can fix: printed as one line, without a traceback."""


INTERRUPTED_CACHING = ('interrupted; the cache keeps what was finished, run '
                       'again to resume')


def script_name():
  """The running script's file name (`retrain.py`), which starts its error
  lines."""
  return os.path.basename(sys.argv[0])


def error(message):
  """One error line on stderr, as the scripts print them."""
  print('%s: error: %s' % (script_name(), message), file=sys.stderr, flush=True)


def output_never_raises():
  """Lets stdout and stderr replace what their encoding cannot write (a
  Korean class name on a console or a redirect in cp1252 or cp949, a file
  name that is not UTF-8) instead of raising UnicodeEncodeError."""
  for stream, errors in ((sys.stdout, 'replace'),
                         (sys.stderr, 'backslashreplace')):
    if hasattr(stream, 'reconfigure'):  # Not where a test swapped it.
      stream.reconfigure(errors=errors)


@contextlib.contextmanager
def errors_as_one_line(interrupted=INTERRUPTED_CACHING):
  """Ends the process with exit status 1 and one line on stderr, without a
  traceback, on a UserError or Ctrl-C in the block; what the block prints
  never raises for its encoding (see output_never_raises)."""
  output_never_raises()
  try:
    yield
  except UserError as e:
    error(e)
    sys.exit(1)
  except KeyboardInterrupt:
    sys.exit('%s: %s' % (script_name(), interrupted))
