"""Figures of the phone model (the .tflite cut at Mul, with metadata), not a
test:

  python benchmarks/phone.py

Builds the full-size stand-in Inception graph, retrains it on the real
bottlenecks of ../shared/data (a warm cache: no photo goes through the
body) without the .tflite, with it and with it in float16, and prints each
figure beside its goal and, where it has one, the ratio to its baseline
measured in the same run (no .tflite, float32, the TensorFlow runtime).
Every timed job runs in a fresh process, as a user runs it
(benchmarks/common.py's runner). The MediaPipe figures need `mediapipe`
(requirements-test.txt) and are left out without it.
"""

import contextlib
import functools
import glob
import os
import re
import sys

import numpy as np

import common
from common import (
  ORIGINALS,
  PREDICT,
  REAL_PHOTOS,
  RETRAIN,
  csv_scores,
  report,
  run_process,
  stdout,
)
from phone_workers import LITERT_BATCH, score_gaps

STEPS = 4000  # retrain.py's default


run_worker = functools.partial(
    common.run_worker, os.path.join(common.BENCHMARKS, 'phone_workers.py'))


def photos_per_second(run):
  return float(re.search(r'\(([\d.]+) photos/s\)', stdout(run)).group(1))


def retrain_all(work, model_dir):
  """The warm retrains, each way twice in turn, the faster run counting
  (wall seconds, peak RSS): without the export, with it, with it in
  float16. Each run writes its graph and .tflite anew."""
  args = ['--image_dir', REAL_PHOTOS, '--bottleneck_dir', 'bottlenecks',
          '--model_dir', model_dir, '--output_labels', 'flowers_labels.txt',
          '--summaries_dir', 'logs', '--how_many_training_steps', str(STEPS),
          '--nosave_charts']
  ways = {'plain': ('plain_graph', ['--noexport_tflite']),
          'exported': ('flowers_graph', []),
          'float16': ('half_graph', ['--tflite_float16'])}
  runs = {name: [] for name in ways}
  for _ in range(2):
    for name, (stem, extra) in ways.items():
      for suffix in ('.pb', '.tflite'):
        with contextlib.suppress(FileNotFoundError):
          os.remove(os.path.join(work, stem + suffix))
      run = run_process([sys.executable, RETRAIN, '--output_graph', stem + '.pb'] +
                        args + extra, cwd=work)
      assert 'Creating' not in stdout(run), 'the real bottlenecks were not used'
      runs[name].append((run.wall_s, run.rss_mb))
  return {name: dict(zip(('wall_s', 'rss_mb'), min(pairs)))
          for name, pairs in runs.items()}


def main():
  common.run_on_the_full_standin('phone.py', __doc__, run_benchmark)


def run_benchmark(model_dir, work):
  path = lambda name: os.path.join(work, name)
  runs = retrain_all(work, model_dir)
  plain, exported = runs['plain'], runs['exported']
  report('warm retrain, 3,670 cached, %d steps, no .tflite' % STEPS,
         plain['wall_s'], 's')
  report('  its peak RSS', plain['rss_mb'], 'MB')
  report('  the same writing the phone .tflite', exported['wall_s'], 's',
         '<= 1.3 x no .tflite', exported['wall_s'] / plain['wall_s'])
  report('  its peak RSS', exported['rss_mb'], 'MB', '', exported['rss_mb'] / plain['rss_mb'])
  report('  --tflite_float16', runs['float16']['wall_s'], 's', '',
         runs['float16']['wall_s'] / plain['wall_s'])
  export = run_worker('export', path('flowers_graph.pb'), path('flowers_labels.txt'))
  report('the export alone (conversion and metadata), float32',
         export['float32_s'], 's')
  report('  float16', export['float16_s'], 's', '',
         export['float16_s'] / export['float32_s'])
  report('.tflite size, float32', export['float32_mb'], 'MB')
  report('  float16', export['float16_mb'], 'MB', '<= 0.5 x float32',
         export['float16_mb'] / export['float32_mb'])

  labels = path('flowers_labels.txt')
  photo = sorted(glob.glob(os.path.join(ORIGINALS, 'roses', '*.jpg')))[0]

  def predict(graph, *extra):
    return [sys.executable, PREDICT, '--output_graph', path(graph),
            '--output_labels', labels, '--noshow_image', '--runtime=litert'] + list(extra)
  one = common.in_turn(
      {'litert': predict('flowers_graph.pb', photo),
       'tensorflow': predict('flowers_graph.pb', photo, '--runtime=tensorflow')},
      common.wall_and_rss)
  (litert_wall, litert_rss), (tf_wall, tf_rss) = min(one['litert']), min(one['tensorflow'])
  report('predict.py, one photo, whole process, LiteRT', litert_wall, 's',
         '<= TensorFlow', litert_wall / tf_wall)
  report('  its peak RSS', litert_rss, 'MB', '', litert_rss / tf_rss)
  report('  the same with TensorFlow (the frozen graph)', tf_wall, 's')
  report('  its peak RSS', tf_rss, 'MB')

  tables = {name: path('scores_%s.csv' % name) for name in
            ('litert', 'tensorflow', 'float16')}
  commands = {
      'litert': predict('flowers_graph.pb'),
      'tensorflow': predict('flowers_graph.pb', '--runtime=tensorflow'),
      'float16': predict('half_graph.pb')}
  for name, command in commands.items():
    command.extend([ORIGINALS, '--output_csv', tables[name]])
  rates = common.in_turn(
      {name: commands[name] for name in ('litert', 'tensorflow')},
      lambda command: photos_per_second(run_process(command)))
  many = {name: max(values) for name, values in rates.items()}
  many['float16'] = photos_per_second(run_process(commands['float16']))
  scores = {name: csv_scores(table) for name, table in tables.items()}
  report('predict.py, 150 originals in one call, LiteRT, after loading',
         many['litert'], 'photo/s', '>= TensorFlow', many['litert'] / many['tensorflow'])
  report('  TensorFlow (the frozen graph)', many['tensorflow'], 'photo/s')
  report('  LiteRT, --tflite_float16', many['float16'], 'photo/s', '',
         many['float16'] / many['litert'])
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
  report('    test accuracy (N=%d), float32' % layer['test_image_lists'],
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


if __name__ == '__main__':
  main()
