"""retraining/beam/workarounds.py: one test per workaround, each showing
that Beam's defect is still there. The day one fails, Beam has fixed its
defect: delete the workaround and its test.

The pipelines here run on Beam's FnApiRunner in this process, its gRPC
servers on loopback only (tests/grpc_loopback.py).
"""

import logging
import os
import subprocess
import sys
import textwrap

import pytest

from retraining import UserError

from conftest import ROOT, import_beam_module


@pytest.fixture(scope='module')
def beam():
  import_beam_module('grpc_loopback')
  return import_beam_module('apache_beam')


@pytest.fixture(scope='module')
def workarounds(beam):
  return import_beam_module('retraining.beam.workarounds')


def local_job(beam, workers):
  """A pipeline on the FnApiRunner with `workers` worker processes."""
  options = beam.options.pipeline_options.PipelineOptions([
      '--direct_running_mode=multi_processing', '--direct_num_workers=%d' % workers])
  return beam.Pipeline('FnApiRunner', options=options)


def test_the_job_service_logs_each_worker_line_again(workarounds, caplog):
  local_job_service = import_beam_module(
      'apache_beam.runners.portability.local_job_service')
  api = import_beam_module('apache_beam.portability.api').beam_fn_api_pb2
  entry = api.LogEntry(severity=api.LogEntry.Severity.WARN, message='skipped a.jpg')
  with caplog.at_level(logging.INFO):
    list(local_job_service.BeamFnLoggingServicer().Logging(
        iter([api.LogEntry.List(log_entries=[entry])])))
  again = [r.name for r in caplog.records if 'skipped a.jpg' in r.getMessage()]
  assert again == [workarounds.FORWARDED_LOGS]


def test_a_workers_user_error_reaches_the_driver_as_its_traceback_text(
    beam, workarounds, tmp_path, monkeypatch):
  """A worker's files.read_bytes of a missing file raises a UserError."""
  files = import_beam_module('retraining.files')
  monkeypatch.setenv('PYTHONPATH', ROOT)  # The workers import this package.
  missing = str(tmp_path / 'missing.pb')
  with pytest.raises(Exception) as raised:
    with local_job(beam, 1) as job:
      _ = job | beam.Create([missing]) | 'Load' >> beam.Map(files.read_bytes)
  assert not isinstance(raised.value, UserError)
  assert 'Traceback' in str(raised.value)
  recovered = workarounds.worker_user_error(raised.value)
  assert str(recovered).startswith('cannot read %s (' % missing), recovered


# In each worker process: a slow end, as TensorFlow's and the graph's.
SLOW_END = textwrap.dedent('''\
  import atexit, os, time

  def slow_end(log=os.environ['END_LOG']):
    with open(log, 'a') as f:
      f.write('start %d\\n' % os.getpid())
    time.sleep(1)
    with open(log, 'a') as f:
      f.write('end %d\\n' % os.getpid())

  if 'CONTROL_API_SERVICE_DESCRIPTOR' in os.environ:
    atexit.register(slow_end)
''')


def test_the_local_runner_ends_its_workers_one_after_another(beam, tmp_path, monkeypatch):
  """The second worker is told to end only once the first has ended: so
  each slow end adds to the job's time."""
  (tmp_path / 'site').mkdir()
  (tmp_path / 'site' / 'sitecustomize.py').write_text(SLOW_END)
  log = tmp_path / 'ends.txt'
  monkeypatch.setenv('PYTHONPATH', str(tmp_path / 'site'))
  monkeypatch.setenv('END_LOG', str(log))
  with local_job(beam, 2) as job:
    _ = job | beam.Create(range(4)) | beam.Reshuffle() | beam.Map(abs)
  steps = [line.split() for line in log.read_text().splitlines()]
  assert len(steps) == 4, steps
  first, second = steps[0][1], steps[2][1]
  assert first != second
  assert steps == [['start', first], ['end', first], ['start', second], ['end', second]]


def test_a_runners_own_options_are_unknown_until_its_module_is_imported(beam):
  """In a fresh Python: the render runner defines --render_output in its
  own module, which Beam imports only when it creates the runner."""
  check = textwrap.dedent('''\
    from apache_beam.options.pipeline_options import PipelineOptions
    def known():
      return 'render_output' in PipelineOptions(['--render_output=a.svg']).get_all_options()
    before = known()
    import apache_beam.runners.render
    print(before, known())
  ''')
  result = subprocess.run([sys.executable, '-c', check], capture_output=True,
                          text=True, timeout=120, cwd=os.path.dirname(ROOT))
  assert result.stdout.split() == ['False', 'True'], result.stderr
