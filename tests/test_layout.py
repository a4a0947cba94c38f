"""The package's layout: modules that need no TensorFlow load without it."""

import ast
import importlib.util
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
# Apache Beam is installed apart (requirements-beam.txt): only
# cache_bottlenecks.py imports the pipeline, which then loads without
# TensorFlow (its workers import it).
NEEDS_BEAM = {'beam_cache'}
HAS_BEAM = importlib.util.find_spec('apache_beam') is not None
MODULES = sorted(name[:-3] for name in os.listdir(os.path.join(ROOT, 'retraining'))
                 if name.endswith('.py') and name != '__init__.py')
TENSORFLOW_FREE = ['retraining'] + ['retraining.' + name for name in MODULES
                                    if name not in WITH_TENSORFLOW | NEEDS_LITERT
                                    | (set() if HAS_BEAM else NEEDS_BEAM)]


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
  assert WITH_TENSORFLOW | NEEDS_LITERT | NEEDS_BEAM <= set(MODULES)
  assert {'classifier', 'inception', 'charts', 'report', 'fonts',
          'cache'} <= set(MODULES) - WITH_TENSORFLOW


def imported_modules(path):
  with open(path, encoding='utf-8') as f:
    tree = ast.parse(f.read())
  for node in ast.walk(tree):
    if isinstance(node, ast.Import):
      yield from (alias.name for alias in node.names)
    elif isinstance(node, ast.ImportFrom):
      yield node.module or ''
      yield from ('%s.%s' % (node.module, alias.name) for alias in node.names)


def test_only_cache_bottlenecks_imports_beam():
  """retrain.py, predict.py and the rest of the package work without Beam."""
  sources = ['retrain.py', 'predict.py'] + [
      os.path.join('retraining', name + '.py') for name in MODULES
      if name not in NEEDS_BEAM]
  for source in sources:
    beam = [name for name in imported_modules(os.path.join(ROOT, source))
            if name.startswith('apache_beam') or name.endswith('beam_cache')]
    assert not beam, (source, beam)
