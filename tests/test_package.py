"""The package's import rule, by folder: only retraining/graph/ imports
TensorFlow, only retraining/beam/ imports Apache Beam, and everything else
loads without either (so predict.py runs where only LiteRT is installed)."""

import ast
import importlib.util
import os
import subprocess
import sys

import pytest

from conftest import ROOT

PACKAGE = os.path.join(ROOT, 'retraining')
HAS_BEAM = importlib.util.find_spec('apache_beam') is not None
HAS_LITERT = importlib.util.find_spec('ai_edge_litert') is not None


def package_modules():
  """{dotted module name: its file}, every module of the package."""
  modules = {}
  for folder, _, names in os.walk(PACKAGE):
    for name in names:
      if name.endswith('.py'):
        path = os.path.join(folder, name)
        dotted = os.path.relpath(path, ROOT)[:-3].replace(os.sep, '.')
        modules[dotted.removesuffix('.__init__')] = path
  return modules


MODULES = package_modules()


def part(module):
  """The subpackage a module is in ('graph', 'lite', ...), or '' for the
  modules at the package's top."""
  pieces = module.split('.')
  return pieces[1] if len(pieces) > 2 or (
      len(pieces) == 2 and os.path.isdir(os.path.join(PACKAGE, pieces[1]))) else ''


def imported_modules(path, at_top_only=False):
  """The names a file imports: anywhere, or only as it loads (not inside a
  function, where an import runs only when it is called)."""
  with open(path, encoding='utf-8') as f:
    tree = ast.parse(f.read())
  nodes = ast.walk(tree)
  if at_top_only:
    nodes = [n for statement in tree.body if not isinstance(
        statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
             for n in ast.walk(statement)]
  for node in nodes:
    if isinstance(node, ast.Import):
      yield from (alias.name for alias in node.names)
    elif isinstance(node, ast.ImportFrom) and node.module:
      yield node.module
      yield from ('%s.%s' % (node.module, alias.name) for alias in node.names)


def importers_of(prefix, paths, at_top_only=False):
  return sorted(path for path in paths if any(
      name == prefix or name.startswith(prefix + '.')
      for name in imported_modules(path, at_top_only)))


def test_the_package_has_its_parts():
  assert {part(m) for m in MODULES} >= {'', 'graph', 'lite', 'beam', 'figures'}


def test_only_graph_imports_tensorflow():
  outside = [path for module, path in MODULES.items() if part(module) != 'graph']
  assert importers_of('tensorflow', outside) == []
  # predict.py's runtimes and Beam's workers import graph/ only where they
  # run the graph, inside the function that does.
  assert importers_of('retraining.graph', outside, at_top_only=True) == []
  assert MODULES['retraining.runtimes'] in importers_of('retraining.graph', outside)


def test_only_beam_imports_beam():
  outside = [path for module, path in MODULES.items() if part(module) != 'beam']
  scripts = [os.path.join(ROOT, name) for name in ('retrain.py', 'predict.py')]
  assert importers_of('apache_beam', outside + scripts) == []
  assert importers_of('retraining.beam', outside + scripts) == []


def test_modules_outside_graph_import_without_tensorflow():
  """One process imports them all (each is then tried alone only where
  this fails, to name the culprit)."""
  modules = [m for m in sorted(MODULES) if part(m) != 'graph' and not (
      (part(m) == 'beam' and not HAS_BEAM) or
      (m == 'retraining.lite.runner' and not HAS_LITERT))]
  assert 'retraining.lite.metadata' in modules

  def imports_tensorflow(names):
    check = ('import sys, %s; assert "tensorflow" not in sys.modules, '
             'sorted(m for m in sys.modules if m.startswith("tensorflow"))[:3]'
             % ', '.join(names))
    return subprocess.run([sys.executable, '-c', check], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
  result = imports_tensorflow(modules)
  if result.returncode:
    culprits = [m for m in modules if imports_tensorflow([m]).returncode]
    pytest.fail('%s import TensorFlow: %s' % (culprits, result.stderr[-500:]))
