"""The repository as a whole: every file or module it names for a reader
exists."""

import fnmatch
import glob
import os
import re
import subprocess

from conftest import ROOT

# Where the repository's own paths are named for a reader: docstrings,
# comments, requirements files, docs, CI.
NAMING_FILES = ('*.py', '*.md', 'requirements*.txt', '.ci/run', '*.sh', '*.toml',
                'web/*.js', 'web/*.html')
NOT_NAMING = ('retraining/lite/schema/metadata_schema_py_generated.py',
              'tests/test_repository.py')  # Its stale names are examples.
TOP_FOLDERS = ('retraining', 'tests', 'docs', 'web', 'benchmarks', '.ci')
# A path from the repository's root, a path inside the package without its
# `retraining/`, a file name alone, and a module's dotted name.
# A placeholder (`tests/test_<script>.py`) is no path.
ROOTED_PATH = re.compile(r'(?<![\w./-])(?:%s)/[\w./*-]*[\w*](?![\w<])' % '|'.join(
    re.escape(folder) for folder in TOP_FOLDERS), re.ASCII)
PACKAGE_PATH = re.compile(r'(?<![\w./-])(?:graph|lite|beam|figures|schema)/\w+\.py\b',
                          re.ASCII)
FILE_NAME = re.compile(r'(?<![\w./-])\w+\.(?:py|md)\b', re.ASCII)
MODULE_NAME = re.compile(r'\bretraining(?:\.\w+)+', re.ASCII)
# Named, but not the repository's: made by a run or an install, or Python's.
NOT_OURS = re.compile(r'^web/node_modules(/|$)|^(sitecustomize|setuptools|usercustomize)\.py$')


def repository_files():
  listed = subprocess.run(['git', 'ls-files', '--cached', '--others', '--exclude-standard'],
                          cwd=ROOT, capture_output=True, text=True, check=True).stdout
  return [name for name in listed.split('\n') if name and os.path.exists(
      os.path.join(ROOT, name))]


def named_paths(text):
  """The repository paths, package paths, file names and module names in
  `text`."""
  for pattern in (ROOTED_PATH, PACKAGE_PATH, FILE_NAME, MODULE_NAME):
    for match in pattern.finditer(text):
      yield pattern, match.group(0).rstrip('.')


def exists(pattern, name, files, names):
  if NOT_OURS.search(name):
    return True
  if pattern is ROOTED_PATH:
    return bool(glob.glob(os.path.join(ROOT, name)))
  if pattern is PACKAGE_PATH:
    return os.path.exists(os.path.join(ROOT, 'retraining', name))
  if pattern is FILE_NAME:
    return name in names
  parts = name.split('.')  # A module, then maybe a name defined in it.
  for end in range(len(parts), 0, -1):
    path = os.path.join(ROOT, *parts[:end])
    if os.path.isdir(path) or os.path.exists(path + '.py'):
      return end >= len(parts) - 1
  return False


def test_every_path_named_exists():
  """A docstring, comment, requirements file or doc that names a file or
  module of this repository names one that exists: a module renamed or
  moved leaves no stale reference behind."""
  files = repository_files()
  names = {os.path.basename(f) for f in files}
  stale = []
  for path in files:
    if path in NOT_NAMING or not any(fnmatch.fnmatch(path, p) for p in NAMING_FILES):
      continue
    with open(os.path.join(ROOT, path), encoding='utf-8') as f:
      for number, line in enumerate(f, 1):
        for pattern, name in named_paths(line):
          if not exists(pattern, name, files, names):
            stale.append('%s:%d names %s' % (path, number, name))
  assert not stale, '\n'.join(stale)


def test_the_path_check_finds_a_stale_path():
  """The check above fails on each kind of stale name."""
  names = {'runner.py'}
  for text in ('see retraining/graph_runner.py', 'in beam/paths_of.py',
               'as tflite_export.py does', 'retraining.photos.read_photo'):
    ((pattern, name),) = list(named_paths(text))
    assert not exists(pattern, name, [], names), text
  for text in ('see retraining/graph/runner.py', 'in beam/paths.py', 'as runner.py does',
               'retraining.decoding.read_photo', 'docs/*.md'):
    ((pattern, name),) = list(named_paths(text))
    assert exists(pattern, name, [], names), text
