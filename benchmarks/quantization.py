"""Figures of the quantized phone models (--tflite_quantize) per base model,
for issue 34, not a test:

  python benchmarks/quantization.py [--architectures inception_v3,mobilenet_v3_large]

For each base (retrain.py's --architecture), retrains the final layer on
the 3,670 flowers of ../shared/data once per mode: none, float16, dynamic
and int8, 4,000 steps, each run writing its .tflite after its check on the
test set. inception_v3 is the full-size stand-in (`tests/standin.py full`)
on the real bottlenecks (a warm cache); a Keras base is its real
architecture with random weights (`tests/keras_weights.py`, made as for
benchmarks/bases.py by common.build_base), its bottlenecks cached by its
first run and read from the cache by the others. Prints, per base and mode, the check's
figures from retrain.py's table, the .tflite's size, predict.py's time per
photo after loading (LiteRT, the 150 original photos in one call), the
page's time per photo after the first in headless Chromium (web/, as
benchmarks/web.py runs it, on the same photos) and the top-1 agreement
with the float model on those photos, each beside its ratio to `none` of
the same base, measured in the same run. Where a mode's check fell short,
the quantized file kept beside the phone model is the one measured. Takes
about fifteen minutes on 2 cores, most of it the stand-in's pages.
"""

import argparse
import glob
import os
import re
import sys
import tempfile
import time

import web

import common
from common import report
from phone_workers import score_gaps

STEPS = 4000  # retrain.py's default
MODES = ('none', 'float16', 'dynamic', 'int8')
ARCHITECTURES = ('inception_v3', 'mobilenet_v3_large')
TOTAL_ROW = re.compile(r'^total\s+([\d.]+)%\s+([\d.]+)%\s+(\S+)\s+(\d+)$', re.M)
CHANGED = re.compile(r'^Top label changed on (\d+) of (\d+) test photos', re.M)
RATE = re.compile(r'\(([\d.]+) photos/s\)')


def retrain(work, base, mode):
  """retrain.py with --tflite_quantize=`mode`, writing <base>_<mode>_graph.*;
  returns the path of the quantized .tflite (the phone model, or the one
  kept beside it where its check fell short), whether it fell short, and
  retrain.py's stdout."""
  stem = os.path.join(work, '%s_%s_graph' % (base['name'], mode))
  run = common.run_process(
      [sys.executable, common.RETRAIN, '--architecture', base['name'],
       '--image_dir', common.REAL_PHOTOS, '--bottleneck_dir', base['cache'],
       '--model_dir', base['model_dir'], '--model_url', base['model_url'],
       '--output_graph', stem + '.pb', '--output_labels', stem + '_labels.txt',
       '--summaries_dir', 'logs', '--how_many_training_steps', str(STEPS),
       '--nosave_charts', '--tflite_quantize', mode], cwd=work)
  if base['name'] == 'inception_v3':
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


def prepare_base(name, scratch, work):
  """The base's model folder and --model_url (common.build_base), and its
  cache: the real bottlenecks for inception_v3, else an empty folder."""
  model_dir, model_url = common.build_base(name, scratch)
  cache = 'bottlenecks' if name == 'inception_v3' else 'bottlenecks_' + name
  os.makedirs(os.path.join(work, cache), exist_ok=True)
  return {'name': name, 'model_dir': model_dir, 'model_url': model_url,
          'cache': cache}


def measure_base(base, work, photos):
  """{mode: figures} of one base, its modes one after the other."""
  figures = {}
  for mode in MODES:
    stem, fell_short, out = retrain(work, base, mode)
    table = stem + '_scores.csv'
    figures[mode] = {
        'mb': os.path.getsize(stem + '.tflite') / 1e6,
        's_per_photo': 1 / predict(stem, table),
        'page_s_per_photo': 1 / web.browser_figures(stem + '.tflite', photos)[2],
        'scores': common.csv_scores(table), 'fell_short': fell_short, 'out': out}
  return figures


def report_base(name, figures):
  """The figures of each mode of one base, beside their ratios to none."""
  print('%s:' % name)
  base = figures['none']
  for mode in MODES:
    got = figures[mode]
    report('  --tflite_quantize=%s: .tflite size' % mode, got['mb'], 'MB',
           '<= 0.3 x none' if mode == 'int8' else '', got['mb'] / base['mb'])
    report('    predict.py per photo after loading, 150 originals',
           got['s_per_photo'], 's', '', got['s_per_photo'] / base['s_per_photo'])
    report('    the page per photo (Chromium), 150 originals',
           got['page_s_per_photo'], 's', '',
           got['page_s_per_photo'] / base['page_s_per_photo'])
    report('    top-1 agreement with none, 150 originals',
           score_gaps(got['scores'], base['scores'])['top1'], '')
    total, changed = TOTAL_ROW.search(got['out']), CHANGED.search(got['out'])
    if total:
      report('    the check: test accuracy, float32 (N=%s)' % total.group(4),
             float(total.group(1)), '%')
      report('      %s, %s points%s' % (mode, total.group(3), ' (fell short: '
             'the float model was kept)' if got['fell_short'] else ''),
             float(total.group(2)), '%')
      report('      test photos whose top label changed', int(changed.group(1)), '')


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
  parser.add_argument('--architectures', default=','.join(ARCHITECTURES),
                      help='the bases, comma-separated (default: %(default)s)')
  names = parser.parse_args().architectures.split(',')
  common.require('quantization.py', common.ORIGINALS, common.REAL_PHOTOS,
                 common.REAL_BOTTLENECKS)
  photos = sorted(glob.glob(os.path.join(common.ORIGINALS, '*', '*.jpg')))
  print(common.machine_line(), flush=True)
  print('Chromium %s' % web.run_command([web.browser_binary(), '--version']).split()[1])
  start = time.time()
  with tempfile.TemporaryDirectory() as scratch:
    work = common.copy_real_bottlenecks(scratch)
    for name in names:
      report_base(name, measure_base(prepare_base(name, scratch, work), work, photos))
  print('Benchmark took %.0f s; load average %s (other work on the machine '
        'makes the timings noisy)' % (time.time() - start, common.load_average()))


if __name__ == '__main__':
  main()
