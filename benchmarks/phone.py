"""Figures of the phone model (the .tflite cut at Mul, with metadata), not a
test:

  python benchmarks/phone.py [--base DIR]

Builds the full-size stand-in Inception graph, retrains it on the real
bottlenecks of ../shared/data (a warm cache: no photo goes through the
body) with this code and with the code before the phone model (--base: a
checkout of it; by default a git worktree of BASE_COMMIT made for the run
and removed after), and prints each figure beside its goal and, where it
has one, the ratio to the figure of the code before, measured in the same
run. Every timed job runs in a fresh process, as a user runs it (the
runner of benchmarks/benchmark.py). The MediaPipe figures need `mediapipe`
(requirements-test.txt) and are left out without it. It takes about seven
minutes on 2 cores.
"""

import argparse
import contextlib
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, 'tests'))
sys.path.insert(0, ROOT)

from benchmark import (  # The runner shared with benchmark.py.
  ORIGINALS,
  REAL_BOTTLENECKS,
  REAL_PHOTOS,
  build_models,
  csv_scores,
)
from benchmark import run_process as measured_run
from benchmark import stdout as stdout_of

BASE_COMMIT = 'e66c5d2'  # The code before the phone model.
STEPS = 4000  # retrain.py's default
LITERT_BATCH = 4  # photos per run in the batch figure
FINAL_LAYER_INPUT = 'input/BottleneckInputPlaceholder:0'


def run_process(args, cwd=None):
  """(stdout, wall seconds, peak RSS in MB) of a command run to its end."""
  run = measured_run(args, cwd)
  return stdout_of(run), run.wall_s, run.rss_mb


# ------------------------------------------------------------ worker jobs
# Each runs in its own process (`phone.py --worker NAME ...`) and prints one
# JSON line of figures.

def worker_export(graph_path, labels_path):
  """Seconds of the export alone (conversion and metadata), float32 and
  float16, from the frozen graph as retrain.py holds it; and the sizes."""
  from retraining.graph import export, rewrite, tflite_file
  graph_def = rewrite.read_graph_def(graph_path)
  with open(labels_path, 'rb') as f:
    labels = f.read()
  figures = {}
  for name, float16 in (('float32', False), ('float16', True)):
    start = time.perf_counter()
    model = export.tflite_model(graph_def, 'final_result', float16)
    metadata = export.classifier_metadata(
        'flowers_graph', len(labels.split()), 'flowers_labels.txt', float16)
    with tempfile.TemporaryFile() as f:
      tflite_file.write_with_metadata(f, model, metadata,
                                          {'flowers_labels.txt': labels})
      figures[name + '_s'] = time.perf_counter() - start
      figures[name + '_mb'] = f.tell() / 1e6
  return figures


def worker_export_before(code, graph_path):
  """Seconds of the export alone with the code before (`code`): the
  conversion at Cast, no metadata."""
  sys.path.insert(0, code)
  from retraining.graph import export, rewrite
  graph_def = rewrite.read_graph_def(graph_path)
  start = time.perf_counter()
  with tempfile.TemporaryFile() as f:
    f.write(export.tflite_model(graph_def, 'final_result'))
  return {'float32_s': time.perf_counter() - start}


def worker_litert_batches(model_path):
  """LiteRT's rate on the .tflite, photos scaled already: one photo per run,
  and LITERT_BATCH per run (the input resized to a batch)."""
  from retraining.lite import runner as litert_runner
  photos = np.random.default_rng(0).uniform(-1, 1, (LITERT_BATCH, 299, 299, 3))
  interpreter = litert_runner.load_model(model_path)
  details = interpreter.get_input_details()[0]
  figures = {}
  for name, batch in (('one', 1), ('batch', LITERT_BATCH)):
    interpreter.resize_tensor_input(details['index'], [batch, 299, 299, 3])
    interpreter.allocate_tensors()
    interpreter.set_tensor(details['index'], photos[:batch].astype(np.float32))
    interpreter.invoke()
    runs = 20 // batch
    start = time.perf_counter()
    for _ in range(runs):
      interpreter.invoke()
    figures[name] = runs * batch / (time.perf_counter() - start)
  return figures


def worker_mediapipe(model_path, table):
  """MediaPipe's ImageClassifier on the photo files of `table` (predict.py's
  --output_csv), decoding and resizing by itself: its scores [photos,
  labels], or {'missing': why} without mediapipe."""
  try:
    import mediapipe as mp
    from mediapipe.tasks.python import BaseOptions, vision
  except ImportError as e:
    return {'missing': str(e)}
  import csv
  with open(table, newline='', encoding='utf-8') as f:
    paths = [row[0] for row in list(csv.reader(f))[1:]]
  options = vision.ImageClassifierOptions(
      base_options=BaseOptions(model_asset_path=model_path), max_results=-1)
  scores = []
  with vision.ImageClassifier.create_from_options(options) as classifier:
    for path in paths:
      (head,) = classifier.classify(mp.Image.create_from_file(path)).classifications
      row = [0.0] * len(head.categories)
      for category in head.categories:
        row[category.index] = category.score
      scores.append(row)
  return {'scores': scores}


def worker_final_layer_float16(graph_path, image_dir, bottleneck_dir):
  """The new layer alone on the real bottlenecks of every photo: its
  scores with float32 weights and with the weights rounded to float16 (as
  --tflite_float16 stores them), and the test set's accuracy with each."""
  from retraining import bottlenecks as listing
  from retraining import cache
  from retraining.graph import rewrite
  from retraining.graph.tensorflow_v1 import tf, tf1
  from retraining.photos import create_image_lists
  photos = listing.list_photos(create_image_lists(image_dir, 10, 10), image_dir)
  values, found, _, _ = cache.load_bottlenecks(bottleneck_dir,
                                               [p.cache_path for p in photos])
  assert found.all()
  graph_def = rewrite.read_graph_def(graph_path)
  layer = rewrite.subgraph(
      graph_def, ['final_result'], {rewrite.node_name(FINAL_LAYER_INPUT)},
      lambda node: rewrite.float_placeholder(node.name, tf.TensorShape(
          [None, 2048]).as_proto()) if node.name == rewrite.node_name(
              FINAL_LAYER_INPUT) else node)
  scores = {}
  for name in ('float32', 'float16'):
    if name == 'float16':
      for node in layer.node:
        if node.op == 'Const' and node.attr['dtype'].type == tf.float32.as_datatype_enum:
          rounded = rewrite.const_value(node).astype(np.float16).astype(np.float32)
          node.attr['value'].tensor.CopyFrom(tf.make_tensor_proto(rounded))
    with tf.Graph().as_default() as graph:
      tf1.import_graph_def(layer, name='')
      with tf1.Session(graph=graph) as sess:
        scores[name] = sess.run('final_result:0', {FINAL_LAYER_INPUT: values})
  truth = np.array([p.label_index for p in photos])
  test = np.array([p.category == 'testing' for p in photos])
  figures = {'photos': len(photos), 'test_photos': int(test.sum())}
  figures.update(score_gaps(scores['float16'], scores['float32']))
  for name, values in scores.items():
    figures[name + '_accuracy'] = float(
        (values[test].argmax(1) == truth[test]).mean())
  return figures


WORKERS = {'export': worker_export, 'export_before': worker_export_before,
           'litert_batches': worker_litert_batches,
           'mediapipe': worker_mediapipe,
           'final_layer_float16': worker_final_layer_float16}


# ------------------------------------------------------------ the runner

def score_gaps(got, expected):
  """Top-1 agreement (a share) and the largest and mean |score gap|."""
  got, expected = np.asarray(got), np.asarray(expected)
  gaps = np.abs(got - expected)
  return {'top1': float((got.argmax(1) == expected.argmax(1)).mean()),
          'max_gap': float(gaps.max()), 'mean_gap': float(gaps.mean())}


def run_worker(name, *args):
  stdout, _, _ = run_process([sys.executable, __file__, '--worker', name] +
                             [str(a) for a in args])
  return json.loads(stdout.strip().splitlines()[-1])


@contextlib.contextmanager
def base_checkout(path, scratch):
  """The code before the phone model: `path`, or a worktree of BASE_COMMIT."""
  if path:
    yield path
    return
  path = os.path.join(scratch, 'base')
  subprocess.run(['git', '-C', ROOT, 'worktree', 'add', '--detach', path,
                  BASE_COMMIT], check=True, capture_output=True)
  try:
    yield path
  finally:
    subprocess.run(['git', '-C', ROOT, 'worktree', 'remove', '--force', path],
                   check=False, capture_output=True)


def photos_per_second(stdout):
  return float(re.search(r'\(([\d.]+) photos/s\)', stdout).group(1))


def report(name, value, unit, goal='', ratio=None):
  ratio_text = '' if ratio is None else '%.2fx' % ratio
  print('%-62s %10.4g %-8s %7s  %s' % (name, value, unit, ratio_text, goal),
        flush=True)


def retrain_all(code, work, model_dir):
  """The warm retrains, each way twice in turn, the faster run counting
  (wall seconds, peak RSS): without the export, with it, with it in
  float16, with this code; with the export, with the code before (`code`).
  Each run writes its graph and .tflite anew."""
  args = ['--image_dir', REAL_PHOTOS, '--bottleneck_dir', 'bottlenecks',
          '--model_dir', model_dir, '--output_labels', 'flowers_labels.txt',
          '--summaries_dir', 'logs', '--how_many_training_steps', str(STEPS),
          '--nosave_charts']
  ways = {'plain': (ROOT, 'plain_graph', ['--noexport_tflite']),
          'exported': (ROOT, 'flowers_graph', []),
          'float16': (ROOT, 'half_graph', ['--tflite_float16']),
          'base': (code, 'base_graph', [])}
  runs = {name: [] for name in ways}
  for _ in range(2):
    for name, (root, stem, extra) in ways.items():
      for suffix in ('.pb', '.tflite'):
        with contextlib.suppress(FileNotFoundError):
          os.remove(os.path.join(work, stem + suffix))
      stdout, wall, rss = run_process(
          [sys.executable, os.path.join(root, 'retrain.py'), '--output_graph',
           stem + '.pb'] + args + extra, cwd=work)
      assert 'Creating' not in stdout, 'the real bottlenecks were not used'
      runs[name].append((wall, rss))
  return {name: dict(zip(('wall_s', 'rss_mb'), min(pairs)))
          for name, pairs in runs.items()}


def fastest_in_turn(commands, measure):
  """{name: the best of measure(command)} of each command, run twice in
  turn (best: the least, or for a rate the most), so that the machine's
  other load weighs on each alike."""
  results = {name: [] for name in commands}
  for _ in range(2):
    for name, command in commands.items():
      results[name].append(measure(command))
  return results


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--base', help='a checkout of the code before the phone '
                      'model (default: a worktree of %s)' % BASE_COMMIT)
  parser.add_argument('--worker', help=argparse.SUPPRESS)
  args, rest = parser.parse_known_args()
  if args.worker:
    print(json.dumps(WORKERS[args.worker](*rest)))
    return
  for folder in (ORIGINALS, REAL_PHOTOS, REAL_BOTTLENECKS):
    if not os.path.isdir(folder):
      sys.exit('phone.py needs %s' % folder)
  start = time.time()
  with tempfile.TemporaryDirectory() as scratch, \
      base_checkout(args.base, scratch) as code:
    run_benchmark(scratch, code)
  print('Benchmark took %.0f s; load average %s (other work on the machine '
        'makes the timings noisy)' % (time.time() - start, load_average()))


def run_benchmark(scratch, code):
  print('CPU: %s, %d cores; load average %s' % (cpu_name(), os.cpu_count(),
                                                load_average()))
  model_dir, multiply_adds = build_models(scratch)
  print('Full stand-in: %.3f G multiply-adds a photo' % (multiply_adds / 1e9))
  work = os.path.join(scratch, 'work')
  shutil.copytree(REAL_BOTTLENECKS, os.path.join(work, 'bottlenecks'))
  path = lambda name: os.path.join(work, name)
  runs = retrain_all(code, work, model_dir)
  plain, exported, base = runs['plain'], runs['exported'], runs['base']
  report('warm retrain, 3,670 cached, %d steps, no .tflite' % STEPS,
         plain['wall_s'], 's')
  report('  its peak RSS', plain['rss_mb'], 'MB')
  report('  the same writing the phone .tflite', exported['wall_s'], 's',
         '<= 1.3 x no .tflite', exported['wall_s'] / plain['wall_s'])
  report('  its peak RSS', exported['rss_mb'], 'MB', '<= before',
         exported['rss_mb'] / base['rss_mb'])
  report('  before: writing its .tflite (Cast input)', base['wall_s'], 's', '',
         base['wall_s'] / plain['wall_s'])
  report('  its peak RSS', base['rss_mb'], 'MB')
  report('  --tflite_float16', runs['float16']['wall_s'], 's', '',
         runs['float16']['wall_s'] / plain['wall_s'])
  export = run_worker('export', path('flowers_graph.pb'), path('flowers_labels.txt'))
  before = run_worker('export_before', code, path('flowers_graph.pb'))
  report('the export alone (conversion and metadata), float32',
         export['float32_s'], 's', '', export['float32_s'] / before['float32_s'])
  report('  float16', export['float16_s'], 's')
  report('  before (the conversion at Cast)', before['float32_s'], 's')
  report('.tflite size, float32', export['float32_mb'], 'MB')
  report('  float16', export['float16_mb'], 'MB', '<= 0.5 x float32',
         export['float16_mb'] / export['float32_mb'])

  labels = path('flowers_labels.txt')
  photo = sorted(glob.glob(os.path.join(ORIGINALS, 'roses', '*.jpg')))[0]

  def predict(root, graph, *extra):
    return [sys.executable, os.path.join(root, 'predict.py'), '--output_graph',
            path(graph), '--output_labels', labels, '--noshow_image',
            '--runtime=litert'] + list(extra)
  one = fastest_in_turn(
      {'new': predict(ROOT, 'flowers_graph.pb', photo),
       'base': predict(code, 'base_graph.pb', photo)},
      lambda command: run_process(command)[1:])
  (new_wall, new_rss), (base_wall, base_rss) = min(one['new']), min(one['base'])
  report('predict.py, one photo, whole process, LiteRT', new_wall, 's',
         '<= before', new_wall / base_wall)
  report('  its peak RSS', new_rss, 'MB', '', new_rss / base_rss)
  report('  before (the decoded photo in, resized inside the model)',
         base_wall, 's')
  report('  its peak RSS', base_rss, 'MB')

  tables = {name: path('scores_%s.csv' % name) for name in
            ('litert', 'base', 'tensorflow', 'float16')}
  commands = {
      'litert': predict(ROOT, 'flowers_graph.pb'),
      'base': predict(code, 'base_graph.pb'),
      'tensorflow': predict(ROOT, 'flowers_graph.pb', '--runtime=tensorflow'),
      'float16': predict(ROOT, 'half_graph.pb')}
  for name, command in commands.items():
    command.extend([ORIGINALS, '--output_csv', tables[name]])
  rates = fastest_in_turn(
      {name: commands[name] for name in ('litert', 'base')},
      lambda command: photos_per_second(run_process(command)[0]))
  many = {name: max(values) for name, values in rates.items()}
  for name in ('tensorflow', 'float16'):
    many[name] = photos_per_second(run_process(commands[name])[0])
  scores = {name: csv_scores(table) for name, table in tables.items()}
  report('predict.py, 150 originals in one call, LiteRT, after loading',
         many['litert'], 'photo/s', '>= before', many['litert'] / many['base'])
  report('  before', many['base'], 'photo/s')
  report('  TensorFlow (the frozen graph)', many['tensorflow'], 'photo/s')
  batches = run_worker('litert_batches', path('flowers_graph.tflite'))
  report('  LiteRT alone, photos scaled already, one per run', batches['one'],
         'photo/s')
  report('  the same, %d per run' % LITERT_BATCH, batches['batch'], 'photo/s',
         '', batches['batch'] / batches['one'])
  report('max |LiteRT score - frozen graph score|, 150 originals',
         np.abs(scores['litert'] - scores['tensorflow']).max(), '', '<= 1e-5')

  half = score_gaps(scores['float16'], scores['litert'])
  report('--tflite_float16 against float32, 150 originals: top-1 agreement',
         half['top1'], '')
  report('  max |score gap|', half['max_gap'], '')
  report('  mean |score gap|', half['mean_gap'], '')
  layer = run_worker('final_layer_float16', path('flowers_graph.pb'),
                     REAL_PHOTOS, path('bottlenecks'))
  report('  the new layer alone, %d real bottlenecks: top-1 agreement'
         % layer['photos'], layer['top1'], '')
  report('    max |score gap|', layer['max_gap'], '')
  report('    mean |score gap|', layer['mean_gap'], '')
  report('    test accuracy (N=%d), float32' % layer['test_photos'],
         layer['float32_accuracy'], '')
  report('    float16', layer['float16_accuracy'], '')

  mediapipe = run_worker('mediapipe', path('flowers_graph.tflite'),
                         tables['litert'])
  if 'missing' in mediapipe:
    print('MediaPipe figures left out: %s (pip install -r '
          'requirements-test.txt)' % mediapipe['missing'])
    return
  gaps = score_gaps(mediapipe['scores'], scores['litert'])
  report('MediaPipe ImageClassifier on the photo files against predict.py, '
         '150 originals: top-1 agreement', gaps['top1'], '')
  report('  max |score gap|', gaps['max_gap'], '')
  report('  mean |score gap|', gaps['mean_gap'], '')


def load_average():
  return '%.1f %.1f %.1f' % os.getloadavg()


def cpu_name():
  with open('/proc/cpuinfo') as f:
    return next((line.split(':', 1)[1].strip() for line in f
                 if line.startswith('model name')), 'unknown')


if __name__ == '__main__':
  main()
