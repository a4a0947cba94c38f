# -*- coding: utf-8 -*-
"""Classifies photos with the graph retrain.py wrote, as in the book:

  python predict.py workspace/flower_photos/roses/20409866779_ac473f55e0_m.jpg

prints the book's `=== 예측 결과 ===`, then the score of every label, highest
first, and shows the photo in a matplotlib window. Several photos and folders
may be given at once: the graph is loaded once for all of them.
"""

import os
import sys
import time

import numpy as np
from absl import app, flags

from retraining import UserError, charts, rewrite, runner, tuning
from retraining.photos import is_photo_name

FINAL_TENSOR_NAME = 'final_result:0'
RESULT_HEADER = '=== 예측 결과 ==='  # The book's, above each photo's scores.

FLAGS = flags.FLAGS
flags.DEFINE_string('output_graph', './workspace/flowers_graph.pb',
                    'The graph retrain.py wrote.')
flags.DEFINE_string('output_labels', './workspace/flowers_labels.txt',
                    'The labels retrain.py wrote, one per line.')
flags.DEFINE_boolean('show_image', True,
                     'Show the photo and its top scores in a window (several '
                     'photos: a grid of the first 25 with their top label).')
flags.DEFINE_integer('top_k', None,
                     'How many scores the window\'s bar chart shows (default: '
                     'all labels when there are ten or fewer, else 5).')
flags.DEFINE_string('save_figure', None,
                    'Save the window\'s figure to this PNG file (works '
                    'without a display).')


def error(message):
  print('predict.py: error: %s' % message, file=sys.stderr, flush=True)


def read_labels(path):
  try:
    with open(path, encoding='utf-8') as f:
      return [line.rstrip('\r\n') for line in f if line.strip()]
  except FileNotFoundError:
    raise UserError('labels file %s not found: run retrain.py first, or pass '
                    '--output_labels' % path)
  except (OSError, UnicodeDecodeError) as e:
    raise UserError('cannot read labels file %s (%s)' % (path, e))


def read_graph(path):
  """The retrained graph, in the fast form retrain.py computes with.

  Graphs written by the original retrain.py (legacy ops, one photo a run)
  are rewritten on the way in, like the Inception graph in retrain.py.
  """
  if not os.path.exists(path):
    raise UserError('graph %s not found: run retrain.py first, or pass '
                    '--output_graph' % path)
  graph_def = rewrite.fast_graph_def(rewrite.read_graph_def(path))
  if rewrite.node_name(FINAL_TENSOR_NAME) not in {n.name for n in graph_def.node}:
    raise UserError('graph %s has no %s tensor: is it a graph written by '
                    'retrain.py?' % (path, FINAL_TENSOR_NAME))
  return graph_def


def check_label_count(scores, labels, graph_path, labels_path):
  if scores.shape[-1] != len(labels):
    raise UserError('graph %s has %s outputs but labels file %s has %d lines: '
                    'use the two files of the same retrain.py run'
                    % (graph_path, scores.shape[-1], labels_path, len(labels)))


def find_photos(inputs):
  """The photo files named or inside the folders named; and the bad inputs."""
  photos, missing = [], []
  for path in inputs:
    if os.path.isdir(path):
      found = sorted(
          os.path.join(folder, name)
          for folder, _, names in os.walk(path) for name in names
          if is_photo_name(name))
      if found:
        photos.extend(found)
      else:
        missing.append((path, 'no photo in this folder'))
    elif os.path.exists(path):
      photos.append(path)
    else:
      missing.append((path, 'no such file'))
  return photos, missing


def print_scores(path, scores, labels, with_path):
  """The book's header and every label with its score, highest first (the
  book kept the labels' order); below the photo's path when there are several."""
  if with_path:
    print(path)
  print(RESULT_HEADER)
  for node_id in np.argsort(-scores, kind='stable'):
    print('%s (%.2f%%)' % (labels[node_id], scores[node_id] * 100))


def classify(outputs, paths, labels, graph_path, labels_path):
  """Prints the scores of each photo; returns [(path, scores)] and failures."""
  results, failures = [], []
  for path, scores, failure in outputs:
    if failure:
      error('%s: %s' % (path, failure))
      failures.append((path, failure))
      continue
    check_label_count(scores, labels, graph_path, labels_path)
    print_scores(path, scores, labels, with_path=len(paths) > 1)
    results.append((path, scores))
  return results, failures


def show_or_save_figure(results, labels, show_image, save_figure, top_k):
  """The book's window (photo, now with a bar chart of its scores), a PNG of
  it with --save_figure, or one line saying why there is no window."""
  show = show_image and charts.can_show_windows()
  if show or save_figure:
    charts.save_prediction_figure(results, labels, path=save_figure,
                                  top_k=top_k, show=show)
  if save_figure:
    print('Saved the figure to %s' % save_figure)
  if show_image and not show:
    print('No display: the window cannot be shown%s.' % (
        '' if save_figure else
        ' (use --save_figure PATH to save it as PNG, or --noshow_image)'))


def predict(inputs):
  """Classifies the photos; returns the exit status: 1 if any failed."""
  graph_path, labels_path = FLAGS.output_graph, FLAGS.output_labels
  labels = read_labels(labels_path)
  photos, failures = find_photos(inputs)
  for path, reason in failures:
    error('%s: %s' % (path, reason))
  results = []
  if photos:
    tuning.keep_freed_memory()
    with runner.photo_outputs(read_graph(graph_path), photos,
                              FINAL_TENSOR_NAME) as outputs:
      start = time.time()
      results, bad = classify(outputs, photos, labels, graph_path, labels_path)
    failures += bad
    if len(photos) > 1:
      elapsed = time.time() - start
      print('Classified %d photos in %.1f s after loading the graph '
            '(%.1f photos/s)' % (len(results), elapsed, len(results) / elapsed))
  if results:
    show_or_save_figure(results, labels, FLAGS.show_image, FLAGS.save_figure,
                        FLAGS.top_k)
  return 1 if failures else 0


def main(argv):
  if len(argv) < 2:
    sys.exit('usage: python predict.py IMAGE [IMAGE or FOLDER ...] '
             '[--output_graph PATH] [--output_labels PATH] [--noshow_image]')
  try:
    sys.exit(predict(argv[1:]))
  except UserError as e:
    error(e)
    sys.exit(1)
  except KeyboardInterrupt:
    sys.exit('predict.py: interrupted')


if __name__ == '__main__':
  app.run(main)
