"""Beam's portable services on loopback, for the tests and benchmarks: its
Python job service and an SDK worker pool, both run from a second virtual
environment that has this machine's packages (Beam, TensorFlow) but not
the project, so that the workers get the code only by staging. Each worker
is started by a copy of retraining/beam/boot.py, as a worker image holds it.

  python tests/portable_services.py FOLDER

makes the environment in FOLDER (once), starts both services, prints one
line, `JOB_PORT POOL_PORT POOL_PID`, and serves until it is killed: kill
its process group to end it with the services and their workers.
"""

import os
import shutil
import socket
import subprocess
import sys
import time

TESTS = os.path.dirname(os.path.abspath(__file__))
BOOT = os.path.join(os.path.dirname(TESTS), 'retraining', 'beam', 'boot.py')
# Made the environment's sitecustomize: every gRPC server on loopback.
LOOPBACK = os.path.join(TESTS, 'grpc_loopback.py')
START_GUARD_S = 120  # A service that does not listen by then is an error.


def make_worker_environment(folder):
  """The environment in `folder`, made if missing; returns (its python,
  the worker pool's boot executable)."""
  python = os.path.join(folder, 'bin', 'python')
  boot = os.path.join(folder, 'bin', 'boot')
  if os.path.exists(boot):
    return python, boot
  subprocess.run([sys.executable, '-m', 'venv', '--system-site-packages',
                  '--without-pip', folder], check=True, timeout=120)
  site_packages = subprocess.run(
      [python, '-c', 'import sysconfig; print(sysconfig.get_path("purelib"))'],
      capture_output=True, text=True, check=True, timeout=60).stdout.strip()
  shutil.copy(LOOPBACK, os.path.join(site_packages, 'sitecustomize.py'))
  shutil.copy(BOOT, os.path.join(folder, 'boot.py'))
  with open(boot + '.tmp', 'w') as f:
    f.write('#!/bin/sh\nexec %s %s "$@"\n' % (python, os.path.join(folder, 'boot.py')))
  os.chmod(boot + '.tmp', 0o755)
  os.rename(boot + '.tmp', boot)
  return python, boot


def free_port():
  with socket.socket() as s:
    s.bind(('127.0.0.1', 0))
    return s.getsockname()[1]


def wait_for_port(port, process):
  waited = time.monotonic()
  while True:
    if process.poll() is not None:
      sys.exit('%s ended as it started' % ' '.join(process.args))
    try:
      socket.create_connection(('127.0.0.1', port), timeout=1).close()
      return
    except OSError:
      if time.monotonic() - waited > START_GUARD_S:
        sys.exit('nothing listens on port %d' % port)
      time.sleep(0.2)


def start(python, folder, module, *args):
  """`module` of the worker environment, run in `folder`, away from the
  project (nothing there to import), its output in a log there."""
  env = {name: value for name, value in os.environ.items() if name != 'PYTHONPATH'}
  with open(os.path.join(folder, module.rsplit('.', 1)[-1] + '.log'), 'w') as log:
    return subprocess.Popen([python, '-m', module] + list(args), cwd=folder,
                            env=env, stdout=log, stderr=subprocess.STDOUT)


def serve(folder):
  os.makedirs(folder, exist_ok=True)
  python, boot = make_worker_environment(os.path.join(folder, 'venv'))
  job_port, pool_port = free_port(), free_port()
  job = start(python, folder, 'apache_beam.runners.portability.local_job_service_main',
              '--port=%d' % job_port)
  pool = start(python, folder, 'apache_beam.runners.worker.worker_pool_main',
               '--service_port=%d' % pool_port, '--container_executable=%s' % boot)
  wait_for_port(job_port, job)
  wait_for_port(pool_port, pool)
  print(job_port, pool_port, pool.pid, flush=True)
  job.wait()


if __name__ == '__main__':
  serve(os.path.abspath(sys.argv[1]))
