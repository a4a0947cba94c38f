"""retraining/lite/quantization.py: the calibration photos, and the check
that decides whether a quantized model is the phone model."""

import math

import numpy as np
import pytest

from retraining.lite import quantization

LABELS = ['daisy', 'roses', 'tulips']


def check(float_tops, quantized_tops, max_loss=1.0):
  """The Check of ten test photos: three daisies, three roses, four tulips."""
  return quantization.counted('int8', [0, 0, 0, 1, 1, 1, 2, 2, 2, 2],
                              float_tops, quantized_tops, 3, max_loss)


def test_every_class_is_drawn_on_evenly_and_by_the_seed():
  """Classes of 50, 30 and 4 training photos: 34 from each (all 4 of the
  small one), the classes in turn, the same for the same seed."""
  labels = [0] * 50 + [1] * 30 + [2] * 4
  paths = ['p%02d' % i for i in range(len(labels))]
  drawn = quantization.calibration_photos(paths, labels, 3, seed=0)
  counts = np.bincount([labels[paths.index(p)] for p in drawn], minlength=3)
  assert counts.tolist() == [34, 30, 4] and len(set(drawn)) == len(drawn)
  assert [labels[paths.index(p)] for p in drawn[:6]] == [0, 1, 2, 0, 1, 2]
  assert drawn == quantization.calibration_photos(paths, labels, 3, seed=0)
  assert drawn != quantization.calibration_photos(paths, labels, 3, seed=1)
  many = quantization.calibration_photos(list(range(400)), np.arange(400) % 200,
                                         200, seed=0)
  assert len(many) == 200  # One from each class at least.


def test_the_counts_per_class():
  got = check([0, 0, 1, 1, 1, 1, 2, 2, 2, 0], [0, 0, 1, 1, 2, 1, 2, 2, 0, 0])
  assert got.photos.tolist() == [3, 3, 4]
  assert got.float_correct.tolist() == [2, 3, 3]
  assert got.quantized_correct.tolist() == [2, 2, 2]
  assert got.changed == 2
  assert quantization.class_losses(got) == pytest.approx([0, 100 / 3, 25])
  assert quantization.total_loss(got) == pytest.approx(20)
  assert quantization.worst_class(got) == 1
  assert not quantization.passed(got)


def test_a_loss_of_exactly_the_limit_passes_and_more_does_not():
  same = [0, 0, 0, 1, 1, 1, 2, 2, 2, 2]
  one_tulip_lost = same[:6] + [2, 2, 2, 0]
  assert quantization.passed(check(same, same, max_loss=0))
  assert quantization.passed(check(same, one_tulip_lost, max_loss=25))
  assert not quantization.passed(check(same, one_tulip_lost, max_loss=24.9))
  # The whole test set too: 10 points lost, under a class's 25.
  assert not quantization.passed(check(same, one_tulip_lost, max_loss=9.9)._replace(
      photos=np.array([3, 3, 4])))


def test_a_class_without_test_photos_is_left_out_and_none_at_all_fails():
  got = quantization.counted('int8', [0, 0], [0, 0], [0, 0], 3, 1.0)
  assert math.isnan(quantization.class_losses(got)[1])
  assert quantization.worst_class(got) == 0 and quantization.passed(got)
  empty = quantization.counted('int8', [], [], [], 3, 1.0)
  assert quantization.worst_class(empty) is None
  assert not quantization.passed(empty)
  assert 'no photo in the test set' in quantization.shortfall(empty, LABELS)


def test_summary_and_shortfall_name_the_worst_class():
  got = check([0, 0, 0, 1, 1, 1, 2, 2, 2, 2], [0, 0, 0, 1, 1, 0, 2, 2, 2, 2])
  assert quantization.summary(got, LABELS) == (
      'On 10 test photos: accuracy 90.0% (float32 100.0%), the same top label '
      'as the float32 model on 9; at most 33.3 points lost on a class (roses; '
      'allowed 1).')
  assert quantization.shortfall(got, LABELS) == (
      "loses 33.3 points of test accuracy on class 'roses' and 10.0 on the "
      'whole test set (more than --max_quantization_loss=1)')


def test_the_older_flag_means_float16():
  assert quantization.chosen_mode('none', True) == 'float16'
  assert quantization.chosen_mode('none', False) == 'none'
  assert quantization.chosen_mode('int8', False) == 'int8'
