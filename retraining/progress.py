"""Progress bars: animated on a terminal, plain lines in logs."""

import os
import sys

from tqdm import tqdm

LOG_INTERVAL_S = 10


class _LineStream:
  """Turns tqdm's carriage-return redraws into whole lines for log files."""

  def __init__(self, stream):
    self.stream = stream

  def write(self, text):
    text = text.strip('\r\n')
    if text:
      self.stream.write(text + '\n')

  def flush(self):
    self.stream.flush()


def progress_bar(**kwargs):
  """A tqdm bar on stderr; in a pipe or log, a plain line every few seconds."""
  stream = sys.stderr
  if stream.isatty():
    # tqdm hides its bar on a terminal that reports no size (a bare pty).
    size = os.get_terminal_size(stream.fileno())
    if size.columns and size.lines:
      return tqdm(file=stream, dynamic_ncols=True, **kwargs)
    return tqdm(file=stream, ncols=80, nrows=24, **kwargs)
  return tqdm(file=_LineStream(stream), mininterval=LOG_INTERVAL_S,
              maxinterval=LOG_INTERVAL_S, ascii=True, ncols=100, **kwargs)
