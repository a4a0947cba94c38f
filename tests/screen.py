"""A virtual screen (Xvfb) for predict.py's window, and screenshots of it;
used by test_predict.py (the window), and as a command by benchmarks/benchmark.py:

  python tests/screen.py COMMAND...

prints the seconds from starting COMMAND (predict.py showing its window) on
a new virtual screen until its bar chart is drawn. Debian: apt-get install
xvfb imagemagick."""

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np
from PIL import Image


def available():
  return bool(shutil.which('Xvfb') and shutil.which('import'))


@contextlib.contextmanager
def virtual_screen():
  """Yields the DISPLAY of a new Xvfb server once it accepts clients.

  Xvfb picks a free display number itself and writes it to the pipe
  given by -displayfd when it is ready: no fixed number that another
  server may hold, no guess at how long it takes to start.
  """
  read_end, write_end = os.pipe()
  server = subprocess.Popen(
      ['Xvfb', '-displayfd', str(write_end), '-screen', '0', '1280x800x24'],
      pass_fds=(write_end,), stdout=subprocess.DEVNULL,
      stderr=subprocess.DEVNULL)
  os.close(write_end)
  try:
    with os.fdopen(read_end) as ready:
      number = ready.readline().strip()
    if not number:
      raise RuntimeError('Xvfb did not start (exit status %s)' % server.poll())
    yield ':' + number
  finally:
    server.terminate()  # SIGTERM: Xvfb removes its lock file.
    server.wait()


def screenshot(display, path):
  """The whole screen's pixels, float [height, width, 3]."""
  subprocess.run(['import', '-display', display, '-window', 'root', str(path)],
                 check=True, timeout=30)
  return np.asarray(Image.open(path).convert('RGB'), float)


def blue_pixels(pixels):
  """How many pixels have matplotlib's default blue (the bars)."""
  return int(((pixels[..., 2] > 150) & (pixels[..., 0] < 80) &
              (pixels[..., 1] < 150)).sum())


def seconds_until_drawn(command, timeout=120):
  """Seconds from starting `command` on a new virtual screen until its bar
  chart shows; None if it does not within `timeout` seconds."""
  with virtual_screen() as display, tempfile.TemporaryDirectory() as scratch:
    env = dict(os.environ, DISPLAY=display, MPLBACKEND='TkAgg')
    start = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
      while time.perf_counter() - start < timeout:
        if blue_pixels(screenshot(display, os.path.join(scratch, 'screen.png'))) > 500:
          return time.perf_counter() - start
      return None
    finally:
      process.kill()
      process.wait()


def main(command):
  if not available():
    sys.exit('screen.py: error: Xvfb and ImageMagick are not installed '
             '(Debian: apt-get install xvfb imagemagick)')
  seconds = seconds_until_drawn(command)
  if seconds is None:
    sys.exit('screen.py: error: the bar chart was not drawn')
  print('%.3f' % seconds)


if __name__ == '__main__':
  main(sys.argv[1:])
