# -*- coding: utf-8 -*-
"""Classifies photos with the graph retrain.py wrote, as in the book:

  python predict.py workspace/flower_photos/roses/20409866779_ac473f55e0_m.jpg

prints the book's `=== 예측 결과 ===`, then the score of every label, highest
first, and shows the photo in a matplotlib window. Several photos and folders
may be given at once: the graph is loaded once for all of them.

The photos run through the TensorFlow Lite model retrain.py writes beside
the graph (<output_graph stem>.tflite) with LiteRT where it can, or through
the frozen graph with TensorFlow: the same scores either way. TensorFlow is
imported only on the second path (retraining.rewrite and runner import it),
so predict.py runs where only LiteRT is installed.
"""

import csv
import io
import os
import sys
import time

import numpy as np
from absl import app, flags

from retraining import UserError, charts, files, model, tuning, warn
from retraining.photos import is_photo_name

FINAL_TENSOR_NAME = 'final_result:0'
RESULT_HEADER = '=== 예측 결과 ==='  # The book's, above each photo's scores.
LITERT_PACKAGES = 'ai-edge-litert simplejpeg'
LITERT_PLATFORMS = ('Python 3.10 or later on Linux x86-64 or aarch64, macOS '
                    'arm64 or Windows x64')
REPLACE_IT = 'delete it and run retrain.py again'  # A newer one is kept.
CSV_FIRST_COLUMNS = ('path', 'top_label', 'top_score')
CSV_LAST_COLUMN = 'error'  # after a column a label

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
flags.DEFINE_enum('runtime', 'auto', ['auto', 'litert', 'tensorflow'],
                  'What runs the model: litert, the .tflite retrain.py wrote '
                  'beside the graph, without TensorFlow; tensorflow, the '
                  'frozen graph; auto, litert where it can, else tensorflow.')
flags.DEFINE_string('output_csv', None,
                    'Also write the scores to this CSV file: a row a photo, '
                    'in the order given (path, top label and score, a column '
                    'a label, error).')


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


# ---------------------------------------------------------------- runtimes

def photo_outputs(runtime, photos, labels, graph_path, labels_path):
  """A context yielding (path, scores, None), or (path, None, reason), for
  each photo in order: from the .tflite with LiteRT or from the frozen graph
  with TensorFlow, as `runtime` and what is installed allow."""
  interpreter = litert_model(runtime, graph_path, labels, labels_path)
  if interpreter:
    from retraining import litert  # pylint: disable=g-import-not-at-top
    return litert.photo_outputs(interpreter, photos)
  return graph_outputs(graph_path, photos, runtime)


def litert_model(runtime, graph_path, labels, labels_path):
  """The LiteRT interpreter on the .tflite beside the graph, or None where
  the frozen graph is to be used.

  With --runtime=auto, the graph is used quietly where LiteRT is not
  installed or there is no .tflite, and with one warning where the .tflite
  may not be the graph's model (see open_tflite); --runtime=litert makes
  each of these an error.
  """
  if runtime == 'tensorflow':
    return None
  model_path = files.beside(graph_path, model.TFLITE_SUFFIX)
  problem = litert_unavailable(model_path)
  interpreter = None
  if not problem:
    interpreter, problem = open_tflite(model_path, graph_path, labels,
                                       labels_path)
    if problem and runtime == 'auto':
      warn('%s, so the frozen graph is used instead (with TensorFlow): %s'
           % problem)
  if problem and runtime == 'litert':
    raise UserError('--runtime=litert: %s: %s' % problem)
  return interpreter


def litert_unavailable(model_path):
  """Why LiteRT cannot run here at all, as (what, how to fix it); or None."""
  try:
    from retraining import litert  # pylint: disable=g-import-not-at-top,unused-import
  except ImportError as e:
    return ('LiteRT is not installed (%s)' % e,
            'pip install %s (they exist for %s)'
            % (LITERT_PACKAGES, LITERT_PLATFORMS))
  if not os.path.exists(model_path):
    return ('%s not found' % model_path,
            'run retrain.py again (without --noexport_tflite), which writes '
            'it beside the graph')
  return None


def open_tflite(model_path, graph_path, labels, labels_path):
  """(the interpreter on `model_path`, None); or (None, (what, how to fix
  it)) where it may not be the graph's model: older than the graph, not
  loadable, or with another number of classes than the labels."""
  from retraining import litert  # pylint: disable=g-import-not-at-top
  if files.is_newer(graph_path, model_path):
    return None, ('%s is older than the graph %s' % (model_path, graph_path),
                  'run retrain.py again to write it anew')
  try:
    interpreter = litert.load_model(model_path)
  except (ValueError, RuntimeError) as e:
    return None, ('cannot load %s (%s)' % (model_path, e), REPLACE_IT)
  mismatch = label_count_mismatch(
      '%s (converted from graph %s)' % (model_path, graph_path),
      litert.class_count(interpreter), labels, labels_path)
  if mismatch:
    return None, (mismatch, 'use the labels of the retrain.py run that wrote '
                  'it, or ' + REPLACE_IT)
  return interpreter, None


def graph_outputs(graph_path, photos, runtime):
  """runner.photo_outputs on the frozen graph: the one path that imports
  TensorFlow."""
  if not os.path.exists(graph_path):
    raise UserError('graph %s not found: run retrain.py first, or pass '
                    '--output_graph' % graph_path)
  try:
    from retraining import runner  # pylint: disable=g-import-not-at-top
  except ImportError as e:
    raise UserError(no_tensorflow_message(e, graph_path, runtime))
  tuning.keep_freed_memory()
  return runner.photo_outputs(read_graph(graph_path), photos, FINAL_TENSOR_NAME)


def no_tensorflow_message(import_error, graph_path, runtime):
  if runtime == 'tensorflow':
    return ('--runtime=tensorflow: TensorFlow is not installed (%s): pip '
            'install tensorflow' % import_error)
  return ('TensorFlow is not installed (%s) and LiteRT cannot run the model: '
          'pip install tensorflow; or pip install %s and let retrain.py write '
          '%s' % (import_error, LITERT_PACKAGES,
                  files.beside(graph_path, model.TFLITE_SUFFIX)))


def read_graph(path):
  """The retrained graph, in the fast form retrain.py computes with.

  Graphs written by the original retrain.py (legacy ops, one photo a run)
  are rewritten on the way in, like the Inception graph in retrain.py.
  """
  from retraining import rewrite  # pylint: disable=g-import-not-at-top
  graph_def = rewrite.fast_graph_def(rewrite.read_graph_def(path))
  if rewrite.node_name(FINAL_TENSOR_NAME) not in {n.name for n in graph_def.node}:
    raise UserError('graph %s has no %s tensor: is it a graph written by '
                    'retrain.py?' % (path, FINAL_TENSOR_NAME))
  return graph_def


def label_count_mismatch(model, count, labels, labels_path):
  """What is wrong where `model` gives `count` scores a photo and the labels
  file has another number of lines; else None."""
  if count != len(labels):
    return ('%s has %s outputs but labels file %s has %d lines'
            % (model, count, labels_path, len(labels)))
  return None


def check_label_count(scores, labels, graph_path, labels_path):
  mismatch = label_count_mismatch('graph ' + graph_path, scores.shape[-1],
                                  labels, labels_path)
  if mismatch:
    raise UserError(mismatch + ': use the two files of the same retrain.py run')


# ---------------------------------------------------------------- photos

def find_photos(inputs):
  """(path, None) for each photo named or inside the folders named, and
  (input, reason) for each input that holds none, in the order given."""
  found = []
  for path in inputs:
    if os.path.isdir(path):
      photos = sorted(
          os.path.join(folder, name)
          for folder, _, names in os.walk(path) for name in names
          if is_photo_name(name))
      found.extend([(photo, None) for photo in photos] or
                   [(path, 'no photo in this folder')])
    elif os.path.exists(path):
      found.append((path, None))
    else:
      found.append((path, 'no such file'))
  return found


def classify_photos(photos, labels, runtime, graph_path, labels_path):
  """Prints each photo's scores, and for several photos the rate; returns
  their (path, scores, failure) in order."""
  with photo_outputs(runtime, photos, labels, graph_path,
                     labels_path) as outputs:
    start = time.time()
    outcomes = classify(outputs, photos, labels, graph_path, labels_path)
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


def classify(outputs, paths, labels, graph_path, labels_path):
  """Prints the scores of each photo, or why it could not be read; returns
  the outputs as a list."""
  outcomes = []
  for path, scores, failure in outputs:
    if failure:
      error('%s: %s' % (path, failure))
    else:
      check_label_count(scores, labels, graph_path, labels_path)
      print_scores(path, scores, labels, with_path=len(paths) > 1)
    outcomes.append((path, scores, failure))
  return outcomes


# ---------------------------------------------------------------- results

def in_given_order(found, outcomes):
  """(path, scores, failure) for every input in the order given: each
  photo's outcome where it was found, an input holding no photo with why."""
  outcomes = iter(outcomes)
  return [(path, None, reason) if reason else next(outcomes)
          for path, reason in found]


def save_table(path, rows, labels):
  """Writes the rows (path, scores, failure) as a CSV file, UTF-8, complete
  or not at all: the path, the top label and its score, a column a label,
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
  graph_path, labels_path = FLAGS.output_graph, FLAGS.output_labels
  labels = read_labels(labels_path)
  found = find_photos(inputs)
  for path, reason in found:
    if reason:
      error('%s: %s' % (path, reason))
  photos = [path for path, reason in found if not reason]
  outcomes = []
  if photos:
    outcomes = classify_photos(photos, labels, FLAGS.runtime, graph_path,
                               labels_path)
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
  try:
    sys.exit(predict(argv[1:]))
  except UserError as e:
    error(e)
    sys.exit(1)
  except KeyboardInterrupt:
    sys.exit('predict.py: interrupted')


if __name__ == '__main__':
  app.run(main)
