"""The package's layout: modules that need no TensorFlow load without it."""

import os
import subprocess
import sys

import pytest

from conftest import ROOT

# The modules that build or run TensorFlow graphs. Every other module of the
# package must load without TensorFlow (litert_runner too, where LiteRT is
# installed: see test_tflite.py).
WITH_TENSORFLOW = {'tensorflow_v1', 'rewrite', 'graph_runner', 'final_layer',
                   'training', 'distortions', 'tflite_export', 'tflite_metadata'}
NEEDS_LITERT = {'litert_runner'}
MODULES = sorted(name[:-3] for name in os.listdir(os.path.join(ROOT, 'retraining'))
                 if name.endswith('.py') and name != '__init__.py')
TENSORFLOW_FREE = ['retraining'] + ['retraining.' + name for name in MODULES
                                    if name not in WITH_TENSORFLOW | NEEDS_LITERT]


def test_modules_that_need_no_tensorflow_import_without_it():
  """One process imports them all (each import is checked alone below only
  where this fails, to name the culprit)."""
  check = ('import sys, %s; assert "tensorflow" not in sys.modules, '
           'sorted(m for m in sys.modules if m.startswith("tensorflow"))[:3]'
           % ', '.join(TENSORFLOW_FREE))
  result = subprocess.run([sys.executable, '-c', check], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
  if result.returncode:
    culprits = [module for module in TENSORFLOW_FREE if subprocess.run(
        [sys.executable, '-c', 'import sys, %s; assert "tensorflow" not in '
         'sys.modules' % module], cwd=ROOT, capture_output=True,
        timeout=120).returncode]
    pytest.fail('%s import TensorFlow: %s' % (culprits, result.stderr[-500:]))


def test_every_module_is_known():
  assert WITH_TENSORFLOW | NEEDS_LITERT <= set(MODULES)
  assert {'classifier', 'inception', 'charts', 'report', 'fonts',
          'cache'} <= set(MODULES) - WITH_TENSORFLOW
