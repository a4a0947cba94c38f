"""Machinery shared by retrain.py and predict.py, one concern per module.

The two scripts stay the readable entry points, and read their flags; this
package holds what both need, taking plain values. README.md's Layout table
lists the modules. Those that do not build or run TensorFlow graphs do not
import it (tests/test_layout.py checks which).
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


@contextlib.contextmanager
def errors_as_one_line(script):
  """Ends the process with one line on stderr, without a traceback, on a
  UserError or Ctrl-C in the block: for the scripts that fill the cache,
  which keeps what was finished."""
  try:
    yield
  except UserError as e:
    sys.exit('%s: error: %s' % (script, e))
  except KeyboardInterrupt:
    sys.exit('%s: interrupted; the cache keeps what was finished, run again '
             'to resume' % script)
