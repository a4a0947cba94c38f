"""Smaller phone models, checked before they are kept (no TensorFlow).

retrain.py's --tflite_quantize asks for a smaller .tflite: `float16`
(weights stored as float16), `dynamic` (weights stored as int8) or `int8`
(full-integer: weights and activations in int8, the activations' ranges
calibrated on training photos drawn evenly from every class). Whatever the
mode, the model's input and output stay float32 and its metadata the same,
so MediaPipe's ImageClassifier scales photos for it as for the float model
(retraining/graph/export.py converts it).

Before a quantized model becomes the phone model it is run with LiteRT on
the test set beside the float model (`measure`): where it loses more than
--max_quantization_loss points of accuracy on the whole set or on any
class, the float model stays the phone model and the quantized one is kept
beside it (see retraining/lite/model_file.py's `kept_aside`).

The photos are scaled for the model by lite/runner.py's `scaled_photo`,
as the base model's InputForm (lite/model_file.py's) says; LiteRT is
imported only where a model is run, so retrain.py loads this module where
LiteRT is not installed.
"""

import collections
import math

import numpy as np

MODES = ('none', 'float16', 'dynamic', 'int8')
# What the weights are stored as, in each mode (the metadata's description).
WEIGHTS = {'none': 'float32', 'float16': 'float16', 'dynamic': 'int8',
           'int8': 'int8 (full-integer)'}
# Training photos the int8 model's activations are calibrated on: about this
# many, the same number from each class (one at least).
CALIBRATION_PHOTOS = 100

# What to write: the mode, the most points of test accuracy it may lose on
# the whole test set or on a class, the paths of the calibration photos,
# and the test photos' paths and label indices.
Plan = collections.namedtuple(
    'Plan', 'mode max_loss calibration test_paths test_labels',
    defaults=('none', 1.0, (), (), ()))
FLOAT = Plan()  # The float32 model, no check.
# The check's counts: per class, its test photos and how many each model
# got right; how many photos changed their top label; the photos checked.
Check = collections.namedtuple(
    'Check', 'mode photos float_correct quantized_correct changed max_loss')


def chosen_mode(quantize, float16):
  """The mode of --tflite_quantize, where --tflite_float16 (the older flag)
  means float16."""
  return 'float16' if quantize == 'none' and float16 else quantize


def plan(mode, max_loss, training, testing, class_count, seed):
  """The Plan of `mode` for retrain.py's sets (dataset.PhotoSet: the
  training set to calibrate on, the test set to check on)."""
  calibration = (calibration_photos(training.paths, training.labels,
                                    class_count, seed)
                 if mode == 'int8' else [])
  return Plan(mode, max_loss, calibration, list(testing.paths),
              [int(label) for label in testing.labels])


def calibration_photos(paths, labels, class_count, seed):
  """Paths of CALIBRATION_PHOTOS training photos or so: the same number
  from each class (all of a class that has fewer), drawn by `seed`, the
  classes taken in turn."""
  per_class = max(1, math.ceil(CALIBRATION_PHOTOS / class_count))
  rng = np.random.RandomState(seed)
  labels = np.asarray(labels)
  drawn = []
  for label in range(class_count):
    rows = np.flatnonzero(labels == label)
    drawn.append([paths[row] for row in rng.permutation(rows)[:per_class]])
  return [path for turn in zip_longest_skipping(drawn) for path in turn]


def zip_longest_skipping(lists):
  """The first items of each list, then the second ones..., leaving out the
  lists that have run out."""
  for i in range(max(map(len, lists), default=0)):
    yield [items[i] for items in lists if i < len(items)]


def calibration_inputs(paths, form):
  """The converter's representative dataset: for each photo that can be
  read, [the photo scaled for the model as `form` says, [1, size, size,
  3]]."""
  from retraining.lite import runner
  with runner.scaled_photos(paths, form) as photos:
    for _, photo, failure in photos:
      if not failure:
        yield [photo[None]]


def measure(float_model, quantized_model, asked, form, class_count):
  """Runs both models (bytes) with LiteRT on the test photos of `asked` (a
  Plan); the Check. A photo that cannot be read is left out."""
  from retraining.lite import runner
  models = [runner.load_model(float_model), runner.load_model(quantized_model)]
  labels, tops = [], []
  with runner.scaled_photos(asked.test_paths, form) as photos:
    for (_, photo, failure), label in zip(photos, asked.test_labels):
      if not failure:
        labels.append(label)
        tops.append([int(np.argmax(runner.classify(m, photo))) for m in models])
  tops = np.array(tops, np.int64).reshape(-1, 2)
  return counted(asked.mode, labels, tops[:, 0], tops[:, 1], class_count,
                 asked.max_loss)


def counted(mode, labels, float_tops, quantized_tops, class_count, max_loss):
  """The Check of the test photos' true labels and both models' top
  labels."""
  labels = np.asarray(labels, np.int64)
  float_tops, quantized_tops = np.asarray(float_tops), np.asarray(quantized_tops)

  def per_class(right):
    return np.bincount(labels[right], minlength=class_count)
  return Check(mode, np.bincount(labels, minlength=class_count),
               per_class(float_tops == labels),
               per_class(quantized_tops == labels),
               int(np.sum(float_tops != quantized_tops)), max_loss)


def accuracy(correct, photos):
  """Percent, or nan where there are no photos."""
  return 100.0 * correct / photos if photos else math.nan


def class_losses(check):
  """Points of test accuracy the quantized model loses on each class (nan
  for a class without test photos)."""
  return [accuracy(f, n) - accuracy(q, n) for f, q, n in zip(
      check.float_correct, check.quantized_correct, check.photos)]


def total_loss(check):
  """Points of test accuracy lost on the whole test set."""
  photos = int(np.sum(check.photos))
  return (accuracy(int(np.sum(check.float_correct)), photos) -
          accuracy(int(np.sum(check.quantized_correct)), photos))


def worst_class(check):
  """The index of the class that loses the most points (the first of
  equals), or None without test photos."""
  losses = [-math.inf if math.isnan(loss) else loss
            for loss in class_losses(check)]
  return int(np.argmax(losses)) if int(np.sum(check.photos)) else None


def passed(check):
  """Whether the quantized model loses at most max_loss points on the whole
  test set and on every class; never without test photos."""
  worst = worst_class(check)
  # A hair of slack: 1.0 point lost must pass a limit of 1.0.
  limit = check.max_loss + 1e-9
  return (worst is not None and total_loss(check) <= limit and
          class_losses(check)[worst] <= limit)


def summary(check, labels):
  """One sentence of what the check measured, for the metadata."""
  photos = int(np.sum(check.photos))
  if not photos:
    return 'Not checked: the test set had no photo.'
  worst = worst_class(check)
  return ('On %d test photos: accuracy %.1f%% (float32 %.1f%%), the same top '
          'label as the float32 model on %d; at most %.1f points lost on a '
          'class (%s; allowed %g).' % (
              photos, accuracy(int(np.sum(check.quantized_correct)), photos),
              accuracy(int(np.sum(check.float_correct)), photos),
              photos - check.changed, class_losses(check)[worst],
              labels[worst], check.max_loss))


def shortfall(check, labels):
  """Why the check failed, as a phrase naming the worst class."""
  worst = worst_class(check)
  if worst is None:
    return 'could not be checked (no photo in the test set: raise --testing_percentage)'
  return ('loses %.1f points of test accuracy on class %r and %.1f on the '
          'whole test set (more than --max_quantization_loss=%g)' % (
              class_losses(check)[worst], labels[worst], total_loss(check),
              check.max_loss))
