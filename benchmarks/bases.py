"""Figures of the base models retrain.py offers (--architecture), for issue
33, not a test:

  python benchmarks/bases.py [--steps 300]

In one run, on the same photos (the 150 originals of ../shared/data, 5
classes), for each base: inception_v3 as the full-size stand-in
(`tests/standin.py full`: Inception v3's cost, random weights), and
the others (retraining/bases.py: the MobileNets, EfficientNetV2-B0) as
their real Keras architectures with random weights (`tests/keras_weights.py`, placed in the
model folder under the name Keras gives the file, and --model_url pointing
at a closed loopback port, so nothing is downloaded). It prints each figure
beside its ratio to inception_v3 and, on mobilenet_v3_large's row, issue
33's goal:
- caching, cold: retrain.py into an empty --bottleneck_dir, the photos over
  the seconds from the process's start to its 'Training on' line, with the
  start-up before its 'Found N photos' line (imports, listing the photos)
  apart; and over the seconds from that line on (reading the graph and
  caching: where benchmark.py's cold figure starts). Each the better of two
  runs taken in turn. Caching, steady: from the cache files' write times
  after the first 32 photos (common.steady_rate), the better of the two;
- predict.py on one photo, whole process, LiteRT: the fastest of three
  runs taken in turn;
- predict.py on the 150 photos in one call, LiteRT: the rate of its own
  'Classified N photos ... after loading the graph' line, the better of
  two calls taken in turn;
- the page (web/) in headless Chromium, as benchmarks/web.py runs it:
  seconds per photo after the first;
- the .tflite's size.
Each base's final layer is trained for --steps steps on those photos; with
random weights its test accuracy means nothing, and is printed only to show
the model ran. Takes about six minutes on 2 cores.
"""

import argparse
import glob
import os
import sys
import tempfile
import time

import web
from retraining import bases

import common
from common import ORIGINALS, report

STEADY_AFTER = 32  # photos, as benchmark.py
NAMES = tuple(bases.BASES)  # inception_v3 first
BASELINE, CHALLENGER = 'inception_v3', 'mobilenet_v3_large'  # issue 33's pair
TRAINING_STARTS = 'Training on '  # retrain.py's line once every photo is cached
PHOTOS_FOUND = 'Found '  # its line before it reads the graph
# Issue 33's goals for mobilenet_v3_large, as ratios to inception_v3.
GOALS = {
    'caching': ('>= 8 x', lambda ratio: ratio >= 8),
    'one photo': ('<= 0.6 x', lambda ratio: ratio <= 0.6),
    'many photos': ('>= 5 x', lambda ratio: ratio >= 5),
    'page': ('<= 0.2 x', lambda ratio: ratio <= 0.2),
    'size': ('<= 0.25 x', lambda ratio: ratio <= 0.25),
}


def retrain_cold(name, model_dir, model_url, work, steps):
  """retrain.py on the 150 originals into an empty cache: its caching
  figures; it writes flowers_graph.pb, its labels and .tflite in `work`."""
  cache_dir = tempfile.mkdtemp(dir=work, prefix='bottlenecks_')
  run = common.run_process(
      [sys.executable, common.RETRAIN, '--architecture', name,
       '--model_dir', model_dir, '--model_url', model_url,
       '--image_dir', ORIGINALS, '--bottleneck_dir', cache_dir,
       '--output_graph', 'flowers_graph.pb', '--output_labels', 'flowers_labels.txt',
       '--summaries_dir', 'logs', '--how_many_training_steps', str(steps),
       '--nosave_charts'], cwd=work)
  photos = len(glob.glob(os.path.join(cache_dir, '*', '*.txt')))
  cached_s = common.arrival(run, TRAINING_STARTS)
  found_s = common.arrival(run, PHOTOS_FOUND)
  return {'cold': photos / cached_s, 'start_up': found_s,
          'from_graph': photos / (cached_s - found_s),
          'steady': common.steady_rate(cache_dir, STEADY_AFTER),
          'accuracy': common.ACCURACY.search(common.stdout(run)).group(0)}


def train_every_base(scratch, steps):
  """Each base's model folder made, then retrain.py run twice per base, in
  turn; returns {name: work folder} and {name: caching figures}."""
  works, retrains = {}, {}
  for name in NAMES:
    model_dir, model_url = common.build_base(name, scratch)
    works[name] = os.path.join(scratch, name + '_work')
    os.makedirs(works[name])
    retrains[name] = (name, model_dir, model_url, works[name], steps)
  runs = common.in_turn(retrains, lambda args: retrain_cold(*args))
  caching = {name: {'cold': max(run['cold'] for run in pair),
                    'start_up': min(run['start_up'] for run in pair),
                    'from_graph': max(run['from_graph'] for run in pair),
                    'steady': max(run['steady'] for run in pair),
                    'accuracy': pair[-1]['accuracy']}
             for name, pair in runs.items()}
  return works, caching


def predict_one_photo(works, photo):
  """Seconds of predict.py on one photo, whole process, LiteRT: the
  fastest of three runs taken in turn."""
  commands = {name: [sys.executable, common.PREDICT,
                     '--output_graph', os.path.join(work, 'flowers_graph.pb'),
                     '--output_labels', os.path.join(work, 'flowers_labels.txt'),
                     '--runtime=litert', '--noshow_image', photo]
              for name, work in works.items()}
  runs = common.in_turn(commands, common.wall_and_rss, rounds=3)
  return {name: min(wall for wall, _ in pairs) for name, pairs in runs.items()}


def predict_many_photos(works, photos):
  """predict.py's photos/s after loading on `photos` in one call, LiteRT:
  the better of two calls taken in turn."""
  graphs = {name: os.path.join(work, 'flowers_graph.pb') for name, work in works.items()}
  runs = common.in_turn(graphs, lambda graph: web.predict_rate(graph, photos))
  return {name: max(rates) for name, rates in runs.items()}


def page_seconds_per_photo(works, photos):
  """The page's seconds per photo after the first, each base's model in a
  fresh browser (web.py's browser_figures)."""
  return {name: 1 / web.browser_figures(os.path.join(work, 'flowers_graph.tflite'),
                                        photos)[2]
          for name, work in works.items()}


def report_figure(key, title, figures, unit):
  """One figure of every base beside its ratio to inception_v3; issue 33's
  goal on mobilenet_v3_large's row. Returns whether the goal is met."""
  print(title, flush=True)
  goal, met = GOALS.get(key, ('', None))
  for name in NAMES:
    report('  ' + name, figures[name], unit,
           goal + ' ' + BASELINE if name == CHALLENGER and goal else '',
           None if name == BASELINE else figures[name] / figures[BASELINE])
  if met:
    ratio = figures[CHALLENGER] / figures[BASELINE]
    return '%s: %.2fx, goal %s: %s' % (title.strip(), ratio, goal,
                                       'met' if met(ratio) else 'MISSED')
  return None


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
  parser.add_argument('--steps', type=int, default=300,
                      help='training steps of each final layer (default: %(default)s)')
  args = parser.parse_args()
  common.require('bases.py', ORIGINALS)
  photos = sorted(glob.glob(os.path.join(ORIGINALS, '*', '*.jpg')))
  print(common.machine_line(), flush=True)
  print('Chromium %s; %d photos (%s)' % (
      web.run_command([web.browser_binary(), '--version']).split()[1],
      len(photos), ORIGINALS), flush=True)
  start = time.time()
  with tempfile.TemporaryDirectory() as scratch:
    works, caching = train_every_base(scratch, args.steps)
    for name in NAMES:
      print('%s: %s after %d steps (random weights: it means nothing)'
            % (name, caching[name]['accuracy'], args.steps))
    one_photo = predict_one_photo(works, photos[0])
    many_photos = predict_many_photos(works, photos)
    page = page_seconds_per_photo(works, photos)
    sizes = {name: os.path.getsize(os.path.join(work, 'flowers_graph.tflite')) / 1e6
             for name, work in works.items()}
  pick = lambda key: {name: caching[name][key] for name in NAMES}
  verdicts = [
      report_figure('caching', 'caching %d photos, cold: process start to '
                    '\'Training on\'' % len(photos), pick('cold'), 'photo/s'),
      report_figure('start-up', '  of which start-up: seconds to \'Found N '
                    'photos\' (imports, listing)', pick('start_up'), 's'),
      report_figure('caching', 'caching, cold from reading the graph on (\'Found '
                    'N photos\' to \'Training on\')', pick('from_graph'), 'photo/s'),
      report_figure('caching', 'caching, steady (after the first %d photos)'
                    % STEADY_AFTER, pick('steady'), 'photo/s'),
      report_figure('one photo', 'predict.py, one photo, whole process, LiteRT',
                    one_photo, 's'),
      report_figure('many photos', 'predict.py, %d photos in one call, LiteRT, '
                    'after loading' % len(photos), many_photos, 'photo/s'),
      report_figure('page', 'the page in headless Chromium, per photo after the '
                    'first', page, 's'),
      report_figure('size', 'the .tflite (float32)', sizes, 'MB'),
  ]
  print('Issue 33\'s goals, %s against %s:' % (CHALLENGER, BASELINE))
  for verdict in filter(None, verdicts):
    print('  ' + verdict)
  print('Benchmark took %.0f s; load average %s (other work on the machine '
        'makes the timings noisy)' % (time.time() - start, common.load_average()))


if __name__ == '__main__':
  main()
