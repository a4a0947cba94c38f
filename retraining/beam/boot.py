"""Starts one Beam SDK worker from what the job staged: what the SDK
container's boot program does, for a worker pool without that container.

  python -m apache_beam.runners.worker.worker_pool_main --service_port=50000 \
      --container_executable=/opt/boot

where /opt/boot runs `python boot.py "$@"` with the worker's Python. The
worker pool starts it with the endpoints of one worker (--id,
--provision_endpoint, --artifact_endpoint, --control_endpoint,
--logging_endpoint). It fetches the job's staged files (the package's sdist,
the pinned requirements) from the artifact service, installs them with pip
into this Python, and then becomes Beam's SDK harness (sdk_worker_main).

It runs before the package is installed, so it imports Apache Beam only
(copy this one file into a worker image; docs/cluster.md).
"""

import argparse
import fcntl
import json
import os
import subprocess
import sys
import tempfile

import grpc
from apache_beam.portability import common_urns
from apache_beam.portability.api import (
  beam_artifact_api_pb2,
  beam_artifact_api_pb2_grpc,
  beam_provision_api_pb2,
  beam_provision_api_pb2_grpc,
  beam_runner_api_pb2,
)
from google.protobuf import json_format

# Names Beam's stager gives what it stages (apache_beam.runners.portability.stager).
REQUIREMENTS_FILE = 'requirements.txt'
PACKAGE_SUFFIXES = ('.tar.gz', '.whl', '.zip')
# Held while pip installs, so that two workers of one pool do not install
# into the same Python at once.
INSTALL_LOCK = os.path.join(tempfile.gettempdir(), 'retraining-beam-boot.lock')


def parse_endpoints(argv):
  parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
  for name in ('id', 'provision_endpoint', 'artifact_endpoint',
               'control_endpoint', 'logging_endpoint'):
    parser.add_argument('--' + name, required=name != 'logging_endpoint')
  parser.add_argument('--semi_persistent_directory', default=None)
  return parser.parse_args(argv)


def provision_info(endpoint, worker_id):
  """The job's ProvisionInfo: its options, its staged files, its endpoints."""
  with grpc.insecure_channel(endpoint) as channel:
    stub = beam_provision_api_pb2_grpc.ProvisionServiceStub(channel)
    return stub.GetProvisionInfo(beam_provision_api_pb2.GetProvisionInfoRequest(),
                                 metadata=[('worker_id', worker_id)]).info


def fetch_staged_files(endpoint, dependencies, folder):
  """Writes each staged file into `folder` under its staged name; returns
  their paths."""
  paths = []
  with grpc.insecure_channel(endpoint) as channel:
    stub = beam_artifact_api_pb2_grpc.ArtifactRetrievalServiceStub(channel)
    for artifact in dependencies:
      if artifact.role_urn != common_urns.artifact_roles.STAGING_TO.urn:
        continue
      name = beam_runner_api_pb2.ArtifactStagingToRolePayload.FromString(
          artifact.role_payload).staged_name
      path = os.path.join(folder, os.path.basename(name))
      with open(path, 'wb') as f:
        for chunk in stub.GetArtifact(
            beam_artifact_api_pb2.GetArtifactRequest(artifact=artifact)):
          f.write(chunk.data)
      paths.append(path)
  return paths


def install(paths, site):
  """pip-installs the pinned requirements into this Python, then the
  packages (without their dependencies: the requirements pin them) into
  the worker's own folder `site`, so that each job runs the code it
  staged."""
  pip = [sys.executable, '-m', 'pip', 'install', '--quiet',
         '--disable-pip-version-check']
  requirements = [p for p in paths if os.path.basename(p) == REQUIREMENTS_FILE]
  packages = [p for p in paths if p.endswith(PACKAGE_SUFFIXES)]
  with open(INSTALL_LOCK, 'w') as lock:
    fcntl.flock(lock, fcntl.LOCK_EX)
    for requirement in requirements:
      subprocess.run(pip + ['-r', requirement], check=True)
    if packages:
      subprocess.run(pip + ['--no-deps', '--no-build-isolation', '--target',
                            site] + packages, check=True)


def harness_environment(endpoints, info, folder, site):
  """The environment sdk_worker_main reads its job and endpoints from,
  with the staged packages in `site` on its path."""
  environment = dict(
      os.environ,
      PYTHONPATH=os.pathsep.join(
          [site] + [p for p in [os.environ.get('PYTHONPATH')] if p]),
      WORKER_ID=endpoints.id,
      PIPELINE_OPTIONS=json_format.MessageToJson(info.pipeline_options),
      SEMI_PERSISTENT_DIRECTORY=folder,
      CONTROL_API_SERVICE_DESCRIPTOR='url: %s' % json.dumps(
          endpoints.control_endpoint),
      RUNNER_CAPABILITIES=' '.join(info.runner_capabilities))
  if endpoints.logging_endpoint:
    environment['LOGGING_API_SERVICE_DESCRIPTOR'] = 'url: %s' % json.dumps(
        endpoints.logging_endpoint)
  if info.status_endpoint.url:
    environment['STATUS_API_SERVICE_DESCRIPTOR'] = 'url: %s' % json.dumps(
        info.status_endpoint.url)
  return environment


def main(argv=None):
  endpoints = parse_endpoints(argv)
  folder = endpoints.semi_persistent_directory or tempfile.mkdtemp(
      prefix='beam-worker-')
  staged, site = os.path.join(folder, 'artifacts'), os.path.join(folder, 'site')
  os.makedirs(staged, exist_ok=True)
  info = provision_info(endpoints.provision_endpoint, endpoints.id)
  install(fetch_staged_files(endpoints.artifact_endpoint, info.dependencies,
                             staged), site)
  os.execve(sys.executable,
            [sys.executable, '-m', 'apache_beam.runners.worker.sdk_worker_main'],
            harness_environment(endpoints, info, folder, site))


if __name__ == '__main__':
  main()
