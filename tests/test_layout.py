"""The package's layout: modules that need no TensorFlow load without it."""

import os
import subprocess
import sys

import pytest

from conftest import ROOT

TENSORFLOW_FREE = ('retraining', 'retraining.model', 'retraining.tuning',
                   'retraining.photos', 'retraining.cache', 'retraining.files',
                   'retraining.progress', 'retraining.charts')


@pytest.mark.parametrize('module', TENSORFLOW_FREE)
def test_module_imports_without_tensorflow(module):
  check = ('import sys, %s; assert "tensorflow" not in sys.modules, '
           'sorted(m for m in sys.modules if m.startswith("tensorflow"))[:3]'
           % module)
  result = subprocess.run([sys.executable, '-c', check], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
  assert result.returncode == 0, result.stderr


def test_every_module_is_listed_as_with_or_without_tensorflow():
  modules = {'retraining.' + name[:-3] for name in os.listdir(
      os.path.join(ROOT, 'retraining')) if name.endswith('.py')}
  with_tensorflow = {'retraining.tensorflow_v1', 'retraining.rewrite',
                     'retraining.runner', 'retraining.final_layer',
                     'retraining.training', 'retraining.distortions',
                     'retraining.lite'}
  # retraining.litert is TensorFlow-free too, where LiteRT is installed:
  # see test_lite.py.
  assert modules - {'retraining.__init__'} == (
      set(TENSORFLOW_FREE) - {'retraining'}) | with_tensorflow | {
          'retraining.litert'}
