"""Beam's portable services for the tests, on loopback: its Python job
service and an SDK worker pool, both run from a second virtual environment
that does not have this project, so that the workers get the code only as
a cluster's would, by staging (retraining/beam/boot.py installs it).

  python tests/beam_services.py pool PORT BOOT   # the pool, on 127.0.0.1

Beam's own worker_pool_main listens on every interface; the pool here is
the same servicer on 127.0.0.1 only.
"""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BOOT = os.path.join(os.path.dirname(HERE), 'retraining', 'beam', 'boot.py')
START_GUARD_S = 120  # A service that does not listen by then fails the test.


def make_worker_environment(folder):
  """A virtual environment in `folder` with this machine's packages (Beam,
  TensorFlow) but not the project, and `folder`/boot: the worker pool's
  container executable, running a copy of boot.py with its Python."""
  subprocess.run([sys.executable, '-m', 'venv', '--system-site-packages',
                  str(folder)], check=True)
  python = os.path.join(folder, 'bin', 'python')
  shutil.copy(BOOT, os.path.join(folder, 'boot.py'))
  boot = os.path.join(folder, 'boot')
  with open(boot, 'w') as f:
    f.write('#!/bin/sh\nexec %s %s "$@"\n' % (python, os.path.join(folder, 'boot.py')))
  os.chmod(boot, 0o755)
  found = subprocess.run([python, '-c', 'import retraining'], cwd=str(folder),
                         capture_output=True)
  assert found.returncode, 'the workers\' environment has the project already'
  return python, boot


def free_port():
  with socket.socket() as s:
    s.bind(('127.0.0.1', 0))
    return s.getsockname()[1]


def wait_for_port(port, process):
  deadline = time.monotonic() + START_GUARD_S
  while True:
    assert process.poll() is None, 'the service ended: %s' % process.args
    with contextlib.suppress(OSError), socket.create_connection(
        ('127.0.0.1', port), timeout=1):
      return
    assert time.monotonic() < deadline, 'nothing listens on %d' % port
    time.sleep(0.2)


@contextlib.contextmanager
def service(command, port, cwd, env=None):
  """Runs a service in its own process group until the block ends, then
  kills the group (the worker pool's workers with it)."""
  process = subprocess.Popen(command, cwd=cwd, env=dict(os.environ, **(env or {})),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True)
  try:
    wait_for_port(port, process)
    yield 'localhost:%d' % port
  finally:
    with contextlib.suppress(ProcessLookupError):
      os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def job_service(python, cwd):
  port = free_port()
  return service([python, '-m', 'apache_beam.runners.portability.local_job_service_main',
                  '--port=%d' % port], port, cwd)


def worker_pool(python, boot, cwd, env=None):
  port = free_port()
  return service([python, os.path.abspath(__file__), 'pool', str(port), boot],
                 port, cwd, env)


def serve_pool(port, boot):
  import grpc
  from apache_beam.portability.api import beam_fn_api_pb2_grpc
  from apache_beam.runners.worker.worker_pool_main import (
    BeamFnExternalWorkerPoolServicer,
  )
  from apache_beam.utils import thread_pool_executor
  server = grpc.server(thread_pool_executor.shared_unbounded_instance())
  server.add_insecure_port('127.0.0.1:%s' % port)
  beam_fn_api_pb2_grpc.add_BeamFnExternalWorkerPoolServicer_to_server(
      BeamFnExternalWorkerPoolServicer(use_process=True, container_executable=boot),
      server)
  server.start()
  server.wait_for_termination()


if __name__ == '__main__' and sys.argv[1:2] == ['pool']:
  sys.path.remove(HERE)  # Nothing of this project on the workers' path.
  serve_pool(*sys.argv[2:4])
