"""Training the new layer on cached bottlenecks, and measuring it.

Everything here takes plain values, so it can be run on small arrays
without retrain.py's flags.
"""

import collections

import numpy as np

from retraining import log, warn
from retraining.figures import report
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


def train(sess, layer, sets, settings, writers, distorted=None):
  """Runs settings.steps training steps of `layer` (a final_layer.FinalLayer)
  on sets['training'], measuring it on sets['validation'] and logging
  as upstream; returns the history
  {'step', 'train_accuracy', 'cross_entropy', 'validation_accuracy': list}.

  A step is fed the training set, read in place, and the row numbers of its
  batch (see final_layer.add_training_set); with distortions (`distorted`
  maps photo paths to the bottlenecks of freshly distorted copies) it is fed
  those bottlenecks instead.
  """
  training, validation = sets['training'], sets['validation']
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
