# -*- coding: utf-8 -*-
"""Classifies photos with the graph retrain.py wrote, as in the book:

  python predict.py workspace/flower_photos/roses/20409866779_ac473f55e0_m.jpg

prints the book's `=== 예측 결과 ===`, then the score of every label, highest
first, and shows the photo in a matplotlib window. Several photos and folders
may be given at once: the graph is loaded once for all of them.

The photos run through the TensorFlow Lite model retrain.py writes beside
the graph (<output_graph stem>.tflite) with LiteRT where it can, or through
the frozen graph with TensorFlow: the same scores either way.
retraining/runtimes.py chooses; TensorFlow is imported only on the second
path, so predict.py runs where only LiteRT is installed.
"""

import csv
import io
import os
import sys
import time

import numpy as np
from absl import app, flags

from retraining import UserError, defaults, error, errors_as_one_line, files, runtimes
from retraining.figures import charts
from retraining.listing import photo_paths_under, why_not_a_photo_file

RESULT_HEADER = '=== 예측 결과 ==='  # The book's, above each photo's scores.
CSV_FIRST_COLUMNS = ('path', 'top_label', 'top_score')
CSV_LAST_COLUMN = 'error'  # after one column per label

FLAGS = flags.FLAGS
flags.DEFINE_string('output_graph', defaults.OUTPUT_GRAPH,
                    'The graph retrain.py wrote.')
flags.DEFINE_string('output_labels', defaults.OUTPUT_LABELS,
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
flags.DEFINE_enum('runtime', 'auto', runtimes.RUNTIMES,
                  'What runs the model: litert, the .tflite retrain.py wrote '
                  'beside the graph, without TensorFlow; tensorflow, the '
                  'frozen graph; auto, litert where it can, else tensorflow.')
flags.DEFINE_string('output_csv', None,
                    'Also write the scores to this CSV file: one row per '
                    'photo, in the order given (path, top label and score, '
                    'one column per label, error).')


# ---------------------------------------------------------------- photos

def find_photos(inputs):
  """(path, None) for each photo named or inside the folders named, and
  (input, reason) for each input that holds none, in the order given."""
  found = []
  for path in inputs:
    if os.path.isdir(path):
      found.extend([(photo, None) for photo in photo_paths_under(path)] or
                   [(path, 'no photo in this folder')])
    else:
      found.append((path, why_not_a_photo_file(path)))
  return found


def classify_photos(model, photos, labels):
  """Prints each photo's scores, or why it could not be read, and for
  several photos the rate; returns their (path, scores, failure) in order."""
  outcomes = []
  with model(photos) as outputs:
    start = time.time()
    for path, scores, failure in outputs:
      if failure:
        error('%s: %s' % (path, failure))
      else:
        print_scores(path, scores, labels, with_path=len(photos) > 1)
      outcomes.append((path, scores, failure))
  if len(photos) > 1:
    elapsed = time.time() - start
    classified = sum(failure is None for _, _, failure in outcomes)
    print('Classified %d photos in %.1f s after loading the graph '
          '(%.1f photos/s)' % (classified, elapsed, classified / elapsed))
  return outcomes


def print_scores(path, scores, labels, with_path):
  """The book's header and every label with its score, highest first (the
  book kept the labels' order); below the photo's path when there are several."""
  if with_path:
    print(path)
  print(RESULT_HEADER)
  for node_id in np.argsort(-scores, kind='stable'):
    print('%s (%.2f%%)' % (labels[node_id], scores[node_id] * 100))


# ---------------------------------------------------------------- results

def in_given_order(found, outcomes):
  """(path, scores, failure) for every input in the order given: each
  photo's outcome where it was found, an input holding no photo with why."""
  outcomes = iter(outcomes)
  return [(path, None, reason) if reason else next(outcomes)
          for path, reason in found]


def save_table(path, rows, labels):
  """Writes the rows (path, scores, failure) as a CSV file, UTF-8, complete
  or not at all: the path, the top label and its score, one column per label,
  and the error; a failed row has only its path and error."""
  text = io.StringIO()
  writer = csv.writer(text)
  writer.writerow(CSV_FIRST_COLUMNS + tuple(labels) + (CSV_LAST_COLUMN,))
  writer.writerows(table_row(*row, labels) for row in rows)
  try:  # As bytes: the csv module's line ends, whatever the platform's.
    files.write_bytes(path, text.getvalue().encode('utf-8'))
  except OSError as e:
    raise UserError('cannot write %s (%s)' % (path, e.strerror or e))
  print('Saved the scores to %s' % path)


def table_row(path, scores, failure, labels):
  if failure:
    return [path] + [''] * (len(labels) + 2) + [failure]
  top = int(np.argmax(scores))  # The first of equal scores, as printed.
  return ([path, labels[top]] + [score_text(scores[top])] +
          [score_text(score) for score in scores] + [''])


def score_text(score):
  """A score (0 to 1) in the fewest digits that give back its float32."""
  return np.format_float_positional(np.float32(score), trim='-')


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
  labels = runtimes.read_labels(FLAGS.output_labels)
  tflite = runtimes.tflite_beside(FLAGS.output_graph, FLAGS.output_labels, labels)
  found = find_photos(inputs)
  for path, reason in found:
    if reason:
      error('%s: %s' % (path, reason))
  photos = [path for path, reason in found if not reason]
  outcomes = []
  if photos:
    model = runtimes.open_model(FLAGS.runtime, FLAGS.output_graph,
                                FLAGS.output_labels, len(labels), tflite)
    outcomes = classify_photos(model, photos, labels)
  rows = in_given_order(found, outcomes)
  if FLAGS.output_csv:
    save_table(FLAGS.output_csv, rows, labels)
  results = [(path, scores) for path, scores, failure in rows if not failure]
  if results:
    show_or_save_figure(results, labels, FLAGS.show_image, FLAGS.save_figure,
                        FLAGS.top_k)
  return 1 if len(results) < len(rows) else 0


def main(argv):
  if len(argv) < 2:
    sys.exit('usage: python predict.py IMAGE [IMAGE or FOLDER ...] '
             '[--output_graph PATH] [--output_labels PATH] [--noshow_image] '
             '[--runtime=auto|litert|tensorflow] [--output_csv PATH]')
  with errors_as_one_line(interrupted='interrupted'):
    sys.exit(predict(argv[1:]))


if __name__ == '__main__':
  app.run(main)
