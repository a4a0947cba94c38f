"""Training the new layer on cached bottlenecks, and measuring it.

Everything here takes plain values, so it can be run on small arrays
without retrain.py's flags.
"""

import collections
import os
import socket
import time

import numpy as np
from tensorflow.core.framework import summary_pb2
from tensorflow.core.util import event_pb2

from retraining import log, warn
from retraining.figures import report
from retraining.graph.tensorflow_v1 import tf
from retraining.machine import aligned

Evaluation = collections.namedtuple('Evaluation', 'accuracy count matrix')
# How to train and measure the layer: retrain.py's flags of the same names.
Settings = collections.namedtuple(
    'Settings', 'steps learning_rate train_batch_size validation_batch_size '
    'test_batch_size eval_step_interval seed print_misclassified')


def batch_sampler(rng, labels, class_count):
  """Returns sample(batch_size) -> row indices of a batch, as upstream picks
  them: a class uniformly, then a photo in it (so rare classes are not
  drowned). `labels` must be sorted; a batch size of -1 means every row."""
  starts = np.searchsorted(labels, np.arange(class_count))
  counts = np.bincount(labels, minlength=class_count)
  present = np.flatnonzero(counts)

  def sample(batch_size):
    if batch_size < 0:
      return np.arange(len(labels))
    classes = present[rng.integers(len(present), size=batch_size)]
    return starts[classes] + rng.integers(counts[classes])
  return sample


def pick(values, rows, batch_size):
  """values[rows], or `values` itself, not a copy, for a batch size of -1
  (every row, in order)."""
  return values if batch_size < 0 else values[rows]


def summary_writers(summaries_dir, graph):
  """TensorBoard writers for train/ and validation/, cleared of old runs.

  Only the event files of earlier runs are deleted, never the folder, since
  --summaries_dir may point anywhere. The summaries are a side output: a
  folder or disk that cannot take them costs one warning, never the model.
  """
  writers = []
  for name in ('train', 'validation'):
    folder = os.path.join(summaries_dir, name)
    try:
      remove_event_files(folder)
    except OSError as e:
      warn('cannot clear old TensorBoard runs in %s (%s)' % (folder, e.strerror))
    writers.append(SummaryFile(folder, graph if name == 'train' else None))
  return writers


def remove_event_files(folder):
  if os.path.isdir(folder):
    for entry in os.scandir(folder):
      if entry.name.startswith('events.out.tfevents.'):
        os.remove(entry.path)


class SummaryFile:
  """A TensorBoard event file, written as tf1.summary.FileWriter writes it,
  but in this thread (FileWriter's own thread dies with a traceback on a
  full disk): the first failure is one warning, then nothing more is
  written."""

  def __init__(self, folder, graph=None):
    self.path = os.path.join(folder, 'events.out.tfevents.%d.%s' % (
        time.time(), socket.gethostname()))
    self.writer = None
    self.guarded(self.open, graph)

  def open(self, graph):
    tf.io.gfile.makedirs(os.path.dirname(self.path))
    self.writer = tf.io.TFRecordWriter(self.path)
    self.write_event(file_version='brain.Event:2')
    if graph is not None:
      self.write_event(graph_def=graph.as_graph_def().SerializeToString())

  def write_event(self, **fields):
    event = event_pb2.Event(wall_time=time.time(), **fields)
    self.writer.write(event.SerializeToString())

  def add_summary(self, summary, step):
    """Appends a serialized Summary (what a summary op returns) at `step`."""
    if self.writer:
      self.guarded(lambda: self.write_event(
          step=step, summary=summary_pb2.Summary.FromString(summary)))

  def flush(self):
    if self.writer:
      self.guarded(self.writer.flush)

  def guarded(self, write, *args):
    try:
      write(*args)
    except (OSError, tf.errors.OpError) as e:
      warn('cannot write TensorBoard summaries to %s (%s): the model is '
           'trained and saved all the same' % (
               self.path, getattr(e, 'strerror', None) or e.message))
      self.writer = None


def train(sess, layer, splits, settings, writers, distorted=None):
  """Runs settings.steps training steps of `layer` (a final_layer.FinalLayer)
  on splits['training'], measuring it on splits['validation'] and logging
  as upstream; returns the history
  {'step', 'train_accuracy', 'cross_entropy', 'validation_accuracy': list}.

  A step is fed the training set, read in place, and the row numbers of its
  batch (see final_layer.add_training_set); with distortions (`distorted`
  maps photo paths to the bottlenecks of freshly distorted copies) it is fed
  those bottlenecks instead.
  """
  training, validation = splits['training'], splits['validation']
  class_count, training_set = layer.class_count, layer.training_set
  train_writer, validation_writer = writers
  rng = np.random.default_rng(settings.seed)
  sample_train = batch_sampler(rng, training.labels, class_count)
  sample_validation = batch_sampler(rng, validation.labels, class_count)
  if distorted:
    step_inputs = [layer.bottleneck_input, layer.ground_truth_input]
    batch_of = lambda rows: (distorted([training.paths[r] for r in rows]),
                             training.labels[rows])
  else:
    step_inputs = [training_set.bottlenecks, training_set.labels,
                   training_set.rows]
    whole_set = aligned(training.bottlenecks), aligned(training.labels)
    batch_of = lambda rows: whole_set + (rows,)
  # Callables skip sess.run's parsing of feeds and fetches at every call.
  train_step = sess.make_callable(layer.train_step, step_inputs)
  measure_train = sess.make_callable(
      [layer.train_summaries, layer.evaluation_step, layer.cross_entropy],
      step_inputs)
  measure_validation = sess.make_callable(
      [layer.validation_summaries, layer.evaluation_step],
      [layer.bottleneck_input, layer.ground_truth_input])
  history = collections.defaultdict(list)
  for i in range(settings.steps):
    batch = batch_of(sample_train(settings.train_batch_size))
    train_step(*batch)
    if (i % settings.eval_step_interval) == 0 or i + 1 == settings.steps:
      # Summaries are written at evaluation steps only: histograms at every
      # step would cost more than the training itself, for curves nobody can
      # tell apart.
      train_summary, train_accuracy, cross_entropy_value = measure_train(*batch)
      train_writer.add_summary(train_summary, i)
      log('Step %d: Train accuracy = %.1f%%' % (i, train_accuracy * 100))
      log('Step %d: Cross entropy = %f' % (i, cross_entropy_value))
      history['step'].append(i)
      history['train_accuracy'].append(float(train_accuracy))
      history['cross_entropy'].append(float(cross_entropy_value))
      if len(validation.labels):
        rows = sample_validation(settings.validation_batch_size)
        validation_summary, validation_accuracy = measure_validation(
            pick(validation.bottlenecks, rows, settings.validation_batch_size),
            validation.labels[rows])
        validation_writer.add_summary(validation_summary, i)
        log('Step %d: Validation accuracy = %.1f%% (N=%d)'
            % (i, validation_accuracy * 100, len(rows)))
        history['validation_accuracy'].append(float(validation_accuracy))
  train_writer.flush()
  validation_writer.flush()
  return history


def evaluate(sess, layer, testing, labels, settings):
  """Prints the final test accuracy and a per-class report; returns an
  Evaluation, or None without a test set."""
  if not len(testing.labels):
    warn('the test set is empty, so no test accuracy can be given: raise '
         '--testing_percentage or add photos')
    return None
  rows = batch_sampler(np.random.default_rng(settings.seed), testing.labels,
                       len(labels))(settings.test_batch_size)
  test_accuracy, predictions = sess.run(
      [layer.evaluation_step, layer.prediction],
      {layer.bottleneck_input: pick(testing.bottlenecks, rows,
                                    settings.test_batch_size),
       layer.ground_truth_input: testing.labels[rows]})
  log('Final test accuracy = %.1f%% (N=%d)' % (test_accuracy * 100, len(rows)))
  matrix = report.confusion_matrix(testing.labels[rows], predictions, len(labels))
  print(report.format_evaluation_report(matrix, labels), flush=True)
  if settings.print_misclassified:
    log('=== MISCLASSIFIED TEST IMAGES ===')
    for row, predicted in zip(rows, predictions):
      if predicted != testing.labels[row]:
        print('%70s  %s (predicted %s)' % (
            testing.paths[row], labels[testing.labels[row]], labels[predicted]))
  return Evaluation(float(test_accuracy), len(rows), matrix)
