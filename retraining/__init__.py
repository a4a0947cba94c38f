"""Machinery shared by retrain.py and predict.py, one concern a module.

The two scripts stay the readable entry points, and read their flags; this
package holds what both need, taking plain values. README.md's Layout table
lists the modules. Those that do not run graphs (model, tuning, photos,
cache, files, progress, charts) do not import TensorFlow.
"""


import datetime
import sys


def log(message):
  """A progress line on stdout, time-stamped as upstream's."""
  print('%s: %s' % (datetime.datetime.now(), message), flush=True)


def warn(message):
  """One warning line on stderr."""
  print('WARNING: ' + message, file=sys.stderr, flush=True)


class UserError(Exception):
    """A problem the user can fix: printed as one line, without a traceback."""
