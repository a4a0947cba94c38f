"""Every workaround of a defect inside Apache Beam (2.77) that this
package relies on, in one place, each with a test of its own
(tests/test_beam_workarounds.py). When Beam fixes one, its test says so:
delete the workaround with it.
"""

import atexit
import logging
import os
import re
import sys

from apache_beam.runners import runner as beam_runner

from retraining import UserError

# Beam 2.77's local job service logs again, under this private logger, each
# line that the FnApiRunner's worker processes already print themselves.
FORWARDED_LOGS = 'apache_beam.runners.portability.local_job_service'
# Beam 2.77 reports an exception raised on a worker as the text of the
# worker's traceback inside its own RuntimeError; a UserError's is its last
# line, followed by the step that raised it.
WORKER_USER_ERROR = re.compile(
    r'^retraining\.UserError: (.*?)(?: \[while running .*\])?$', re.MULTILINE)


def quiet_forwarded_worker_logs():
  """Stops the local runner's second copy of its workers' log lines (Beam
  2.77 logs them again from the job service, under FORWARDED_LOGS)."""
  logging.getLogger(FORWARDED_LOGS).setLevel(logging.ERROR)


def worker_user_error(error):
  """The UserError a worker raised (an unreadable graph, say), out of the
  error Beam 2.77 reports for it (only the traceback's text reaches the
  driver), or None."""
  match = WORKER_USER_ERROR.search(str(error))
  return UserError(match.group(1)) if match else None


def exit_at_once_when_done():
  """Makes a worker process that loaded the graph end at once when Beam is
  done with it, leaving its memory and `sessions` to the system.

  Beam 2.77's FnApiRunner waits for its worker processes one after
  another, and Python's finalization of TensorFlow and the graph is slow,
  so each process's exit adds to the job's time (docs/cluster.md). The
  exit status is kept: 1 after an exception nothing caught, as Python's
  own."""
  atexit.register(end_worker_process)


def end_worker_process():
  sys.stdout.flush()
  sys.stderr.flush()
  os._exit(1 if hasattr(sys, 'last_value') else 0)


def register_runner_options(runner):
  """Makes PipelineOptions know the options of `runner` (a --runner value).

  Beam 2.77 defines some runners' options in the runner's own module (the
  Dask runner's --dask_client_address), which PipelineOptions knows only
  once that module is imported: Beam imports it when it creates the
  runner, after the options were parsed. Creating it here, first, imports
  it; a runner Beam does not know is a UserError."""
  try:
    beam_runner.create_runner(runner)
  except (ImportError, ValueError) as e:
    raise UserError('--runner=%s: %s' % (runner, str(e).splitlines()[0]))
