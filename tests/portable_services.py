"""Beam's portable services on loopback, for the tests and benchmarks: its
Python job service and an SDK worker pool, both run from a second virtual
environment that has the packages of the Python running this (Beam,
TensorFlow) but not the project, so that the workers get the code only by
staging. Each worker is started by a copy of retraining/beam/boot.py, as a
worker image holds it.

That environment sees the site-packages folders of the Python that runs
this, whatever it is: a virtual environment (where --system-site-packages
would reach the base interpreter's folders instead), a conda environment or
the system's Python. A .pth file names them, so that the .pth files in them
are not run: an editable install of the project there stays out.

  python tests/portable_services.py FOLDER

makes the environment in FOLDER (once), starts both services, prints one
line, `JOB_PORT POOL_PORT POOL_PID`, and serves until it is killed: kill
its process group to end it with the services and their workers.
"""

import json
import os
import shutil
import site
import socket
import subprocess
import sys
import sysconfig
import time

TESTS = os.path.dirname(os.path.abspath(__file__))
BOOT = os.path.join(os.path.dirname(TESTS), 'retraining', 'beam', 'boot.py')
# Made the environment's sitecustomize: every gRPC server on loopback.
LOOPBACK = os.path.join(TESTS, 'grpc_loopback.py')
START_GUARD_S = 120  # A service that does not listen by then is an error.


def site_folders():
  """The site-packages folders of the Python running this, in its sys.path
  order: those of its environment (a venv's own, then its base's where it
  was made with --system-site-packages; a conda environment's; the
  system's) and the user's where that is on."""
  found = site.getsitepackages() + [sysconfig.get_path('purelib'),
                                    sysconfig.get_path('platlib')]
  if site.ENABLE_USER_SITE:
    found.append(site.getusersitepackages())
  on_path = {os.path.realpath(p): i for i, p in reversed(list(enumerate(sys.path)))}
  folders = []
  for folder in map(os.path.realpath, found):
    if folder in on_path and folder not in folders:
      folders.append(folder)
  return sorted(folders, key=on_path.get)


def make_worker_environment(folder):
  """The environment in `folder`, made if missing, or made again if it was
  made for another Python or other folders; returns (its python, the
  worker pool's boot executable)."""
  python = os.path.join(folder, 'bin', 'python')
  boot = os.path.join(folder, 'bin', 'boot')
  stamp = os.path.join(folder, 'made_for.json')
  folders = site_folders()
  made_for = json.dumps({'python': os.path.realpath(sys.executable),
                         'version': sys.version, 'site': folders}, indent=1)
  try:
    with open(stamp) as f:
      if f.read() == made_for and os.path.exists(boot):
        return python, boot
  except OSError:
    pass
  if os.path.exists(folder):
    if not os.path.exists(os.path.join(folder, 'pyvenv.cfg')):
      sys.exit('%s is in the way, and not a virtual environment' % folder)
    shutil.rmtree(folder)
  subprocess.run([sys.executable, '-m', 'venv', '--without-pip', folder],
                 check=True, timeout=120)
  site_packages = subprocess.run(
      [python, '-c', 'import sysconfig; print(sysconfig.get_path("purelib"))'],
      capture_output=True, text=True, check=True, timeout=60).stdout.strip()
  with open(os.path.join(site_packages, 'outer_site_packages.pth'), 'w') as f:
    f.write('\n'.join(folders) + '\n')
  shutil.copy(LOOPBACK, os.path.join(site_packages, 'sitecustomize.py'))
  shutil.copy(BOOT, os.path.join(folder, 'boot.py'))
  with open(boot, 'w') as f:
    f.write('#!/bin/sh\nexec %s %s "$@"\n' % (python, os.path.join(folder, 'boot.py')))
  os.chmod(boot, 0o755)
  check_worker_environment(python, folder)
  with open(stamp + '.tmp', 'w') as f:
    f.write(made_for)
  os.rename(stamp + '.tmp', stamp)
  return python, boot


def check_worker_environment(python, folder):
  """Exits unless the workers' Python finds Beam and TensorFlow, and not
  the project."""
  found = subprocess.run(
      [python, '-c', 'import importlib.util as u; print(*(m for m in '
       '("apache_beam", "tensorflow", "retraining") if u.find_spec(m)))'],
      cwd=folder, env=without_pythonpath(), capture_output=True, text=True,
      timeout=120)
  if found.returncode or found.stdout.split() != ['apache_beam', 'tensorflow']:
    sys.exit('the workers\' Python in %s should find apache_beam and tensorflow, '
             'not retraining; it finds %s\n%s' % (folder, found.stdout.split(), found.stderr))


def without_pythonpath():
  return {name: value for name, value in os.environ.items() if name != 'PYTHONPATH'}


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
  env = without_pythonpath()
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
