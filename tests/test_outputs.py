"""retraining/outputs.py: one retrain.py run at a time on one set of
outputs, with real processes holding the lock."""

import subprocess
import sys

import pytest

from retraining import UserError, outputs

from conftest import ROOT

# A run that holds the outputs' lock until its stdin closes.
HOLDER = '''
import sys
sys.path.insert(0, %r)
from retraining import outputs
with outputs.exclusive_lock(sys.argv[1]):
  print('held', flush=True)
  sys.stdin.read()
print('done', flush=True)
'''


def start_run(graph):
  return subprocess.Popen([sys.executable, '-c', HOLDER % ROOT, graph],
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          text=True)


def test_a_second_run_waits_until_the_first_lets_go(tmp_path):
  graph = str(tmp_path / 'flowers_graph.pb')
  first = start_run(graph)
  assert first.stdout.readline() == 'held\n'
  second = start_run(graph)
  # It says it waits, and only takes the lock once the first is done.
  assert 'Another retrain.py is writing %s' % graph in second.stdout.readline()
  first.stdin.close()
  assert first.stdout.read() == 'done\n' and first.wait(timeout=60) == 0
  assert second.stdout.readline() == 'held\n'
  second.stdin.close()
  assert second.stdout.read() == 'done\n' and second.wait(timeout=60) == 0


def test_an_output_that_is_a_folder_is_refused(tmp_path):
  with pytest.raises(UserError, match='--output_labels=.* is a folder'):
    outputs.check_output_paths({'output_graph': str(tmp_path / 'g.pb'),
                                'output_labels': str(tmp_path)})
