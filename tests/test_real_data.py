"""Training on the real Inception v3 bottlenecks of ../shared/data (if here)."""

import re

import pytest

from conftest import copy_shared, retrain_args, run_script, shared_data


@pytest.mark.slow
def test_real_bottlenecks_train_to_the_expected_accuracy(tmp_path, model_dir):
  photos = shared_data('flower_photos')  # Only read.
  cache = copy_shared('inception_v3_bottlenecks', str(tmp_path))
  args = retrain_args(tmp_path, photos, model_dir, 1000)
  args[0] = '--bottleneck_dir=%s' % cache
  result = run_script('retrain.py', *args)
  assert result.returncode == 0, result.stderr
  assert 'Creating' not in result.stdout  # Every bottleneck is a cache hit.
  accuracy, n = re.search(r'Final test accuracy = ([\d.]+)% \(N=(\d+)\)',
                          result.stdout).groups()
  assert n == '359'
  assert float(accuracy) >= 84.5
