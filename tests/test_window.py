"""predict.py's window under Xvfb with a real backend (TkAgg), screenshotted."""

import os
import shutil
import subprocess
import sys
import time

import pytest

import screen
from conftest import ROOT


@pytest.fixture
def xvfb():
  if not screen.available():
    pytest.skip('Xvfb and ImageMagick (Debian: xvfb imagemagick) are not installed')
  with screen.virtual_screen() as display:
    yield display


@pytest.mark.slow
def test_window_shows_the_photo_and_the_bar_chart(trained, xvfb, tmp_path):
  work, _ = trained
  env = dict(os.environ, DISPLAY=xvfb, MPLBACKEND='TkAgg')
  process = subprocess.Popen(
      [sys.executable, os.path.join(ROOT, 'predict.py'),
       str(work / 'flower_photos' / 'sunflowers' / 'sunflowers_04.jpg'),
       '--output_graph', str(work / 'flowers_graph.pb'),
       '--output_labels', str(work / 'flowers_labels.txt')],
      env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
  screenshot = tmp_path / 'window.png'
  try:
    # Poll: the window's frame and toolbar show before the figure is drawn.
    deadline = time.time() + 180
    variance = yellow = blue = 0
    while time.time() < deadline and not (variance >= 500 and yellow > 5000
                                          and blue > 500):
      time.sleep(1)
      pixels = screen.screenshot(xvfb, screenshot)
      variance = pixels.var()
      # The photo is yellow-orange noise; the bars are matplotlib's blue.
      yellow = ((pixels[..., 0] > 200) & (pixels[..., 1] > 120) &
                (pixels[..., 2] < 90)).sum()
      blue = screen.blue_pixels(pixels)
    assert process.poll() is None, 'the window closed by itself'
  finally:
    process.kill()
    stdout, _ = process.communicate()
  assert 'cannot be shown' not in stdout
  assert variance >= 500, 'the screen stayed blank'
  assert yellow > 5000 and blue > 500, (yellow, blue)
  if os.environ.get('WINDOW_SCREENSHOT'):
    shutil.copy(screenshot, os.environ['WINDOW_SCREENSHOT'])
