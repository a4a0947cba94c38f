"""Speed and memory figures of retrain.py and predict.py, each beside its goal.

  python benchmarks/benchmark.py [--image_dir DIR] [--memory_files 100000]

Builds the full-size stand-in Inception graph (`tests/standin.py full`:
legacy ops, Inception v3's cost) and measures, in one run, each figure beside
its goal and the ratio to its baseline measured in the same run. Every timed
job runs in a fresh process, as a user runs it; peak RSS is that process's.
It needs ../shared/data (the 150 original photos and the real bottlenecks);
docs/speed.md gives its figures and how long it takes.

It measures through the scripts (their stdout lines, exit status, files, and
the wall time and peak RSS of whole processes) and the package's public
functions, and patches nothing:
- The compute limit is the photo rate that the faster float32 matmul,
  TensorFlow's or numpy's, would give: TensorFlow's alone can be the slower
  one (as on an AVX2 CPU with oneDNN off) and would understate the limit.
- The steady caching rate (after the first STEADY_AFTER photos) comes from
  the times bottlenecks.cached_bottlenecks wrote the photos' cache files (their
  mtimes), within one run.
- The runs with the weights fed pass feed_weights=True to
  bottlenecks.cached_bottlenecks (and on to graph_runner.photo_outputs).
- The training phase is the time from retrain.py printing 'Training on' to
  its printing 'Final test accuracy', by this script's clock as each line
  arrives.
- predict.py's rate after loading is the one its own 'Classified N photos in
  X s after loading the graph' line gives.
"""

import argparse
import functools
import glob
import os
import re
import sys
import tempfile
import time

import numpy as np

import common
from common import (
  ORIGINALS,
  PREDICT,
  REAL_BOTTLENECKS,
  REAL_PHOTOS,
  RETRAIN,
  arrival,
  csv_scores,
  report,
  run_process,
  stdout,
  wall_and_rss,
)
from speed_workers import BOOK_PREDICT, BOOK_TRAINING_STEPS, MATMUL_SIZE

STEADY_AFTER = 32  # photos: the first runs of a session set things up
TRAINING_STARTS = 'Training on '  # retrain.py's lines around the training
TRAINING_ENDS = 'Final test accuracy = '
CLASSIFIED = re.compile(r'Classified (\d+) photos in [\d.]+ s after loading '
                        r'the graph \(([\d.]+) photos/s\)')
# How each folder of photos is cached: the worker and its arguments after
# the model, photo and cache folders. 'fed' feeds the body its weights, as
# retrain.py does for a few dozen photos or fewer (see
# graph_runner.open_body).
CACHING_WAYS = {
    'ours': ('cache_with_retrain', 'as retrain.py'),
    'fed': ('cache_with_retrain', 'fed'),
    'book': ('cache_book',),
}
# retrain.py's runs on the real bottlenecks: training steps, output graph,
# more flags. predict.py is timed on the book's model, of 1000 steps.
RETRAIN_RUNS = {
    'plain': (4000, 'plain_graph.pb', ['--noexport_tflite']),
    '1000': (1000, 'flowers_graph.pb', []),
    'exported': (4000, 'exported_graph.pb', []),
}
LABELS = 'flowers_labels.txt'


run_worker = functools.partial(
    common.run_worker, os.path.join(common.BENCHMARKS, 'speed_workers.py'))


# ------------------------------------------------------------ measurements

def compute_limit(scratch):
  """Builds the stand-in; returns its model folder and the photo rate the
  faster float32 matmul, TensorFlow's or numpy's, would allow."""
  model_dir, multiply_adds = common.build_standin(scratch)
  print('Full stand-in: %.3f G multiply-adds per photo' % (multiply_adds / 1e9))
  rates = {'TensorFlow': run_worker('matmul_tensorflow')['gflops'],
           'numpy': run_worker('matmul_numpy')['gflops']}
  faster = max(rates, key=rates.get)
  limit = rates[faster] * 1e9 / (2 * multiply_adds)
  report('matmul rate (float32, %d^2), TensorFlow' % MATMUL_SIZE,
         rates['TensorFlow'], 'GFLOP/s')
  report('  the same with numpy', rates['numpy'], 'GFLOP/s', '',
         rates['numpy'] / rates['TensorFlow'])
  report('compute limit, from %s\'s matmul' % faster, limit, 'photo/s')
  return model_dir, limit


def caching_runs(model_dir, folder, scratch):
  """Each of CACHING_WAYS twice, in turn, into empty caches: {way:
  [(figures, cache folder), (figures, cache folder)]}."""
  def cache_into_empty(way):
    worker, *options = way
    cache_dir = tempfile.mkdtemp(dir=scratch)
    return run_worker(worker, model_dir, folder, cache_dir, *options), cache_dir
  return common.in_turn(CACHING_WAYS, cache_into_empty)


def caching(name, folder, model_dir, limit, scratch):
  """retrain.py's caching against the book's, cold and steady, and with the
  weights fed. Each figure is the better of two runs."""
  from retraining.graph.runner import FEED_WEIGHTS_UP_TO
  runs = caching_runs(model_dir, folder, scratch)
  faster = {way: min(pair, key=lambda run: run[0]['cold_s'])
            for way, pair in runs.items()}
  (ours, our_dir), (fed, _), (book, book_dir) = (
      faster['ours'], faster['fed'], faster['book'])
  steady, fed_steady = (max(common.steady_rate(cache_dir, STEADY_AFTER)
                            for _, cache_dir in runs[way])
                        for way in ('ours', 'fed'))
  n = ours['photos']
  report('parity: max |fast - original graph| / max |original|',
         run_worker('parity', our_dir, os.path.join(book_dir, 'cold'))['max_gap'],
         '', '<= 1e-3')
  report('caching %s, steady (after the first %d photos)'
         % (name, STEADY_AFTER), steady, 'photo/s', '>= 0.85 x limit',
         steady / limit)
  report('  the same with the weights fed, as for <= %d photos'
         % FEED_WEIGHTS_UP_TO, fed_steady, 'photo/s', '', fed_steady / limit)
  report('  book\'s one-photo runs, steady', n / book['steady_s'], 'photo/s')
  report('caching %s, whole cold run' % name, n / ours['cold_s'], 'photo/s',
         '>= 1.6 x book', book['cold_s'] / ours['cold_s'])
  report('  book\'s one-photo runs, whole cold run', n / book['cold_s'], 'photo/s')
  report('  the same with the weights fed', n / fed['cold_s'], 'photo/s', '',
         book['cold_s'] / fed['cold_s'])


def loading_the_cache(work):
  load = run_worker('load_cache', REAL_PHOTOS, os.path.join(work, 'bottlenecks'))
  report('load %d cached bottlenecks, text only (cold)' % load['photos'],
         load['cold_s'], 's', '<= 1.5 s')
  report('load %d cached bottlenecks, with index (warm)' % load['photos'],
         load['warm_s'], 's', '<= 0.2 s')


def timed_retrain(model_dir, work, steps, graph, more_flags):
  """retrain.py on the real photos and their cached bottlenecks."""
  run = run_process([sys.executable, RETRAIN, '--image_dir', REAL_PHOTOS,
                     '--bottleneck_dir', 'bottlenecks', '--model_dir', model_dir,
                     '--output_graph', graph, '--output_labels', LABELS,
                     '--summaries_dir', 'logs',
                     '--how_many_training_steps', str(steps)] + more_flags, cwd=work)
  assert 'Creating' not in stdout(run), 'the real bottlenecks were not used'
  return {'training_s': arrival(run, TRAINING_ENDS) - arrival(run, TRAINING_STARTS),
          'wall_s': run.wall_s, 'rss_mb': run.rss_mb,
          'accuracy': common.ACCURACY.search(stdout(run)).group(0)}


def retraining(model_dir, work):
  """The training phase against the book's loop, and whole runs with and
  without the .tflite. Returns the book's model: its graph and labels."""
  book_step = run_worker('train_book', os.path.join(work, 'bottlenecks'))['per_step_s']
  runs = {name: timed_retrain(model_dir, work, *run)
          for name, run in RETRAIN_RUNS.items()}
  for name in ('1000', 'plain'):
    run, steps = runs[name], RETRAIN_RUNS[name][0]
    report('training phase, %d steps (%s)' % (steps, run['accuracy']),
           run['training_s'], 's', '<= 5 s' if steps == 4000 else '',
           book_step * steps / run['training_s'])
    report('  book\'s loop, %d steps (timed on %d)' % (steps, BOOK_TRAINING_STEPS),
           book_step * steps, 's')
  plain, exported = runs['plain'], runs['exported']
  report('whole retrain, 3,670 cached, 4000 steps, no .tflite', plain['wall_s'],
         's', '<= 20 s')
  report('  its peak RSS', plain['rss_mb'], 'MB', '<= 1500 MB')
  report('  the same writing the .tflite too', exported['wall_s'], 's',
         '<= 1.3 x', exported['wall_s'] / plain['wall_s'])
  report('  its peak RSS', exported['rss_mb'], 'MB')
  return os.path.join(work, RETRAIN_RUNS['1000'][1]), os.path.join(work, LABELS)


def predict_command(graph, labels):
  return [sys.executable, PREDICT, '--output_graph', graph,
          '--output_labels', labels]


def predicting_one_photo(model_dir, graph, labels):
  """predict.py on one photo, whole process, each runtime against the book's
  predict.py; and until its window is drawn."""
  book_graph = os.path.join(os.path.dirname(graph), 'book_graph.pb')
  run_worker('book_graph', model_dir, graph, book_graph)
  photo = sorted(glob.glob(os.path.join(ORIGINALS, 'roses', '*.jpg')))[0]
  commands = {runtime: predict_command(graph, labels) + [
      '--noshow_image', '--runtime', runtime, photo] for runtime in ('litert', 'tensorflow')}
  commands['book'] = [sys.executable, '-c', BOOK_PREDICT, book_graph, labels, photo]
  one = {name: min(runs) for name, runs in common.in_turn(commands, wall_and_rss).items()}
  book_wall, book_rss = one['book']
  report('predict.py, one photo, whole process, LiteRT', one['litert'][0], 's',
         '<= 0.15 x book', one['litert'][0] / book_wall)
  report('  its peak RSS', one['litert'][1], 'MB', '<= 400 MB')
  report('  the same with TensorFlow', one['tensorflow'][0], 's', '<= 0.8 x book',
         one['tensorflow'][0] / book_wall)
  report('  its peak RSS', one['tensorflow'][1], 'MB')
  report('  book\'s predict.py on its legacy-op graph', book_wall, 's')
  report('  its peak RSS', book_rss, 'MB')
  window = common.seconds_until_window_drawn(predict_command(graph, labels) + [photo])
  if window:
    report('  the same with the window (Xvfb), until it is drawn', window, 's')


def predict_folder(graph, labels, runtime):
  """predict.py on the 150 originals in one call: the photo count and rate
  it prints, its wall time and peak RSS, and the scores of its CSV table."""
  table = os.path.join(os.path.dirname(graph), 'scores_%s.csv' % runtime)
  run = run_process(predict_command(graph, labels) + [
      '--noshow_image', '--runtime', runtime, ORIGINALS, '--output_csv', table])
  count, rate = CLASSIFIED.search(stdout(run)).groups()
  return {'photos': int(count), 'rate': float(rate), 'wall_s': run.wall_s,
          'rss_mb': run.rss_mb, 'scores': csv_scores(table)}


def predicting_many_photos(graph, labels, limit):
  """predict.py on 150 photos, LiteRT against TensorFlow; what LiteRT would
  need to meet its goal, and what it reaches with the pixels ready."""
  from retraining.lite import model_file
  litert, tensorflow = (predict_folder(graph, labels, runtime)
                        for runtime in ('litert', 'tensorflow'))
  report('predict.py, %d photos in one call, LiteRT, after loading'
         % litert['photos'], litert['rate'], 'photo/s', '>= TensorFlow',
         litert['rate'] / tensorflow['rate'])
  report('  whole process', litert['wall_s'], 's', '<= 0.5 x TensorFlow',
         litert['wall_s'] / tensorflow['wall_s'])
  # The rate after loading that would meet the 0.5 x goal, with LiteRT's
  # loading as measured, against the compute limit.
  n = litert['photos']
  litert_loading = litert['wall_s'] - n / litert['rate']
  needed = n / (0.5 * tensorflow['wall_s'] - litert_loading)
  report('    the rate after loading that 0.5 x needs', needed, 'photo/s',
         'x limit', needed / limit)
  kernels = run_worker('litert_kernels', model_file.beside(graph))
  report('    LiteRT alone, pixels ready, on one thread', kernels['one_thread'],
         'photo/s')
  report('    the same, one thread per core', kernels['all_cores'], 'photo/s',
         'x limit', kernels['all_cores'] / limit)
  report('  peak RSS', litert['rss_mb'], 'MB')
  report('  the same with TensorFlow, after loading', tensorflow['rate'],
         'photo/s', '>= 20')
  report('  whole process', tensorflow['wall_s'], 's')
  report('  peak RSS', tensorflow['rss_mb'], 'MB')
  report('  max |LiteRT score - frozen graph score|, %d photos' % n,
         np.abs(litert['scores'] - tensorflow['scores']).max(), '', '<= 1e-5')


def memory_per_cached_photo(count, scratch):
  memory = run_worker('memory', count, tempfile.mkdtemp(dir=scratch))
  report('memory per cached photo (%d synthetic)' % count,
         memory['per_photo_bytes'] / 1024, 'KB', '<= 10 KB')


# ------------------------------------------------------------ the run

def parse_flags():
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--image_dir', help='also cache this photo folder')
  parser.add_argument('--memory_files', type=int, default=100000,
                      help='synthetic cache files for the memory figure')
  return parser.parse_args()


def main():
  args = parse_flags()
  common.require('benchmark.py', ORIGINALS, REAL_PHOTOS, REAL_BOTTLENECKS)
  print(common.machine_line(), flush=True)
  start = time.time()
  with tempfile.TemporaryDirectory() as scratch:
    model_dir, limit = compute_limit(scratch)
    caching('150 originals', ORIGINALS, model_dir, limit, scratch)
    if args.image_dir:
      caching(args.image_dir, args.image_dir, model_dir, limit, scratch)
    work = common.copy_real_bottlenecks(scratch)
    loading_the_cache(work)
    graph, labels = retraining(model_dir, work)
    predicting_one_photo(model_dir, graph, labels)
    predicting_many_photos(graph, labels, limit)
    if args.memory_files:
      memory_per_cached_photo(args.memory_files, scratch)
  print('Benchmark took %.0f s' % (time.time() - start))


if __name__ == '__main__':
  main()
