"""retraining/lite/schema/: the generated metadata schema is what flatc
generates from the pinned metadata_schema.fbs beside it, byte for byte."""

import os
import shutil
import subprocess

import pytest

from conftest import ROOT

SCHEMA = os.path.join(ROOT, 'retraining', 'lite', 'schema')


def test_regenerate_gives_the_same_file(tmp_path):
  flatc = shutil.which('flatc')
  if not flatc or subprocess.run([flatc, '--version'], capture_output=True,
                                 text=True).stdout.strip() != 'flatc version 2.0.8':
    pytest.skip('flatc 2.0.8 not installed (apt-get install flatbuffers-compiler)')
  copy = tmp_path / 'schema'
  shutil.copytree(SCHEMA, copy, ignore=shutil.ignore_patterns('__pycache__'))
  result = subprocess.run(['bash', str(copy / 'regenerate.sh')],
                          capture_output=True, text=True, timeout=60)
  assert result.returncode == 0, result.stderr
  assert 'is what flatc generates' in result.stdout
  assert ((copy / 'metadata_schema_py_generated.py').read_bytes() ==
          open(os.path.join(SCHEMA, 'metadata_schema_py_generated.py'), 'rb').read())
