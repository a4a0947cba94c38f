"""Figures of the page that runs the .tflite in a browser (web/), not a test:

  python benchmarks/web.py [--steps 1000]

Builds the full-size stand-in Inception graph (`tests/standin.py full`, run
as a command), retrains its final layer on the real bottlenecks of
../shared/data (copied; a warm cache) twice, float32 and --tflite_float16,
then for each model, in the same run: in headless Chromium (selenium,
chromium-driver, MediaPipe from `npm ci` in web/) served by web/serve.py on
loopback, the seconds from opening the page to the classifier being ready,
then to the first photo's result, and the photos per second after that on
the 150 original photos; and predict.py's LiteRT rate on the same photos
(its "Classified N photos ..." line). Each page runs in a fresh browser, as
a first visit. Takes about five minutes on 2 cores.
"""

import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

from common import ORIGINALS, REAL_BOTTLENECKS, REAL_PHOTOS, ROOT, cpu_name

SERVE = os.path.join(ROOT, 'web', 'serve.py')
GRAPH_FILE_NAME = 'classify_image_graph_def.pb'  # what retrain.py looks for
URL_PATTERN = re.compile(r'http://127\.0\.0\.1:\d+/\S*')
RATE_PATTERN = re.compile(r'Classified (\d+) photos in ([\d.]+) s after loading '
                          r'the graph \(([\d.]+) photos/s\)')
TIMEOUT = 600  # seconds for any one step in the browser
MODELS = (('float32', []), ('float16', ['--tflite_float16']))
BROWSER_FLAGS = ('--headless=new', '--no-sandbox', '--disable-dev-shm-usage',
                 '--enable-unsafe-swiftshader', '--use-angle=swiftshader',
                 '--window-size=1000,900')


def run_command(args, cwd=None):
  """stdout of a command that must succeed."""
  result = subprocess.run(args, cwd=cwd, capture_output=True, text=True,
                          env=dict(os.environ, MPLBACKEND='Agg'))
  if result.returncode != 0:
    sys.exit('%s failed:\n%s' % (' '.join(args[:2]), result.stderr[-3000:]))
  return result.stdout


def build_model_dir(scratch):
  model_dir = os.path.join(scratch, 'inception')
  os.makedirs(model_dir)
  print(run_command([sys.executable, os.path.join(ROOT, 'tests', 'standin.py'), 'full',
             os.path.join(model_dir, GRAPH_FILE_NAME)]).strip().splitlines()[0])
  return model_dir


def train_model(work, model_dir, stem, steps, extra):
  """Trains the final layer on the cached real bottlenecks; returns the
  graph's path (its .tflite beside it)."""
  run_command([sys.executable, os.path.join(ROOT, 'retrain.py'), '--image_dir', REAL_PHOTOS,
       '--bottleneck_dir', 'bottlenecks', '--model_dir', model_dir,
       '--output_graph', stem + '.pb', '--output_labels', 'flowers_labels.txt',
       '--summaries_dir', 'logs', '--how_many_training_steps', str(steps),
       '--nosave_charts'] + extra, cwd=work)
  return os.path.join(work, stem + '.pb')


def predict_rate(graph, photos):
  """predict.py's photos per second with LiteRT on `photos`."""
  stdout = run_command([sys.executable, os.path.join(ROOT, 'predict.py'), '--output_graph', graph,
                '--output_labels', os.path.join(os.path.dirname(graph), 'flowers_labels.txt'),
                '--runtime', 'litert', '--noshow_image'] + photos)
  return float(RATE_PATTERN.search(stdout).group(3))


def browser():
  from selenium import webdriver
  options = webdriver.ChromeOptions()
  options.binary_location = browser_binary()
  for flag in BROWSER_FLAGS:
    options.add_argument(flag)
  return webdriver.Chrome(options=options,
                          service=webdriver.ChromeService(shutil.which('chromedriver')))


def wait_for(condition):
  deadline = time.time() + TIMEOUT
  while time.time() < deadline:
    if condition():
      return time.perf_counter()
    time.sleep(0.01)
  sys.exit('timed out in the browser')


def served(model):
  process = subprocess.Popen(
      [sys.executable, SERVE, '--host', '127.0.0.1', '--port', '0', '--tflite', model],
      stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
      env=dict(os.environ, PYTHONUNBUFFERED='1'))
  for line in process.stdout:
    if URL_PATTERN.search(line):
      return process, URL_PATTERN.search(line).group(0)
  sys.exit('web/serve.py printed no address')


def page_figures(session, url, photos):
  """(seconds to the classifier ready, seconds from then to the first
  photo's result, photos per second on the rest, classify() alone)."""
  script = lambda code: session.execute_script(code)
  done = lambda count: lambda: script(
      'return document.querySelectorAll(".photo[data-state=done]").length') >= count
  start = time.perf_counter()
  session.get(url)
  ready = wait_for(lambda: script('return document.body.dataset.state') == 'ready')
  if script('return document.body.dataset.state') != 'ready':
    sys.exit('the page did not load the model')
  session.find_element('id', 'photos').send_keys(photos[0])
  first = wait_for(done(1))
  session.find_element('id', 'photos').send_keys('\n'.join(photos[1:]))
  rest = wait_for(done(len(photos))) - first
  inference = sum(float(s) for s in script(
      'return [...document.querySelectorAll(".batch:first-child .photo")]'
      '.map(card => card.dataset.seconds)'))
  return ready - start, first - ready, (len(photos) - 1) / rest, (len(photos) - 1) / inference


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
  parser.add_argument('--steps', type=int, default=1000,
                      help='training steps of the final layer (default: %(default)s)')
  args = parser.parse_args()
  photos = sorted(glob.glob(os.path.join(ORIGINALS, '*', '*.jpg')))
  print('CPU: %s, %d cores; Chromium %s; load average %.1f %.1f %.1f' % (
      cpu_name(), os.cpu_count(), run_command([browser_binary(), '--version']).split()[1],
      *os.getloadavg()))
  with tempfile.TemporaryDirectory() as scratch:
    model_dir = build_model_dir(scratch)
    work = os.path.join(scratch, 'work')
    shutil.copytree(REAL_BOTTLENECKS, os.path.join(work, 'bottlenecks'))
    graphs = {name: train_model(work, model_dir, name, args.steps, extra)
              for name, extra in MODELS}
    for name, graph in graphs.items():
      model = os.path.splitext(graph)[0] + '.tflite'
      ready, first, rate, inference = browser_figures(model, photos)
      litert = predict_rate(graph, photos)
      print('%s model (%.0f MB), %d photos:' % (name, os.path.getsize(model) / 1e6,
                                                len(photos)))
      print('  page open to classifier ready  %6.2f s' % ready)
      print('  then the first photo\'s result  %6.2f s' % first)
      print('  photos/s after that (page)     %6.2f  (classify() alone: %.2f)'
            % (rate, inference))
      print('  predict.py, LiteRT, photos/s   %6.2f  (browser / LiteRT: %.2f)'
            % (litert, rate / litert))
      print('  load average after it: %.1f %.1f %.1f' % os.getloadavg())


def browser_figures(model, photos):
  """page_figures() in a fresh browser (no cache: a first visit) and
  server."""
  server, url = served(model)
  session = browser()
  try:
    return page_figures(session, url, photos)
  finally:
    session.quit()
    server.terminate()
    server.wait()


def browser_binary():
  return next(shutil.which(name) for name in ('chromium', 'chromium-browser', 'google-chrome')
              if shutil.which(name))


if __name__ == '__main__':
  main()
