"""Machinery shared by retrain.py and predict.py.

The two scripts stay the readable entry points; this package holds what both
need: safe file writes and downloads (`files`), finding and decoding photos
(`photos`), loading the Inception graph in a fast, batchable form (`graph`)
and the text bottleneck cache (`cache`).
"""


import sys


def warn(message):
  """One warning line on stderr."""
  print('WARNING: ' + message, file=sys.stderr, flush=True)


class UserError(Exception):
    """A problem the user can fix: printed as one line, without a traceback."""
