"""Figures of the quantized phone models (--tflite_quantize), not a test:

  python benchmarks/quantization.py

Builds the full-size stand-in Inception graph and retrains it on the real
bottlenecks of ../shared/data (a warm cache) once per mode: none, float16,
dynamic and int8, each writing its .tflite after its check on the test set.
Prints, per mode, the check's figures from retrain.py's table, the
.tflite's size, predict.py's time per photo after loading (LiteRT, the 150
original photos in one call) and its top-1 agreement with the float model
on those photos, each beside its ratio to `none` measured in the same run.
Where a mode's check fell short, the quantized file kept beside the phone
model is the one measured. The page's own time per photo (benchmarks/web.py)
is not measured here.
"""

import os
import re
import sys

import common
from common import report
from phone_workers import score_gaps

STEPS = 4000  # retrain.py's default
MODES = ('none', 'float16', 'dynamic', 'int8')
TOTAL_ROW = re.compile(r'^total\s+([\d.]+)%\s+([\d.]+)%\s+(\S+)\s+(\d+)$', re.M)
CHANGED = re.compile(r'^Top label changed on (\d+) of (\d+) test photos', re.M)
RATE = re.compile(r'\(([\d.]+) photos/s\)')


def retrain(work, model_dir, mode):
  """retrain.py with --tflite_quantize=`mode`, writing <mode>_graph.*;
  returns the path of the quantized .tflite (the phone model, or the one
  kept beside it where its check fell short), whether it fell short, and
  retrain.py's stdout."""
  stem = os.path.join(work, '%s_graph' % mode)
  run = common.run_process(
      [sys.executable, common.RETRAIN, '--image_dir', common.REAL_PHOTOS,
       '--bottleneck_dir', 'bottlenecks', '--model_dir', model_dir,
       '--output_graph', stem + '.pb', '--output_labels', stem + '_labels.txt',
       '--summaries_dir', 'logs', '--how_many_training_steps', str(STEPS),
       '--nosave_charts', '--tflite_quantize', mode], cwd=work)
  assert 'Creating' not in common.stdout(run), 'the real bottlenecks were not used'
  aside = '%s_%s.tflite' % (stem, mode)
  if os.path.exists(aside):  # Measure the quantized model all the same.
    os.replace(aside, stem + '.tflite')
    return stem, True, common.stdout(run)
  return stem, False, common.stdout(run)


def predict(stem, table):
  """predict.py on the 150 originals, LiteRT: photos per second after
  loading; the scores go to `table`."""
  run = common.run_process(
      [sys.executable, common.PREDICT, '--output_graph', stem + '.pb',
       '--output_labels', stem + '_labels.txt', '--noshow_image',
       '--runtime=litert', common.ORIGINALS, '--output_csv', table])
  return float(RATE.search(common.stdout(run)).group(1))


def main():
  common.run_on_the_full_standin('quantization.py', __doc__, run_benchmark)


def run_benchmark(model_dir, work):
  figures = {}
  for mode in MODES:
    stem, fell_short, out = retrain(work, model_dir, mode)
    table = os.path.join(work, 'scores_%s.csv' % mode)
    figures[mode] = {
        'mb': os.path.getsize(stem + '.tflite') / 1e6,
        's_per_photo': 1 / predict(stem, table),
        'scores': common.csv_scores(table), 'fell_short': fell_short, 'out': out}
  base = figures['none']
  for mode in MODES:
    got = figures[mode]
    report('--tflite_quantize=%s: .tflite size' % mode, got['mb'], 'MB',
           '<= 0.3 x none' if mode == 'int8' else '', got['mb'] / base['mb'])
    report('  predict.py per photo after loading, 150 originals',
           got['s_per_photo'], 's', '', got['s_per_photo'] / base['s_per_photo'])
    report('  top-1 agreement with none, 150 originals',
           score_gaps(got['scores'], base['scores'])['top1'], '')
    total, changed = TOTAL_ROW.search(got['out']), CHANGED.search(got['out'])
    if total:
      report('  the check: test accuracy, float32 (N=%s)' % total.group(4),
             float(total.group(1)), '%')
      report('    %s, %s points%s' % (mode, total.group(3), ' (fell short: '
             'the float model was kept)' if got['fell_short'] else ''),
             float(total.group(2)), '%')
      report('    test photos whose top label changed', int(changed.group(1)), '')


if __name__ == '__main__':
  main()
