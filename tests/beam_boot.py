"""A stand-in for the boot program of Beam's Python SDK container
(sdks/python/container/boot.go), for a worker pool started with
--container_executable in a Python environment without the project.

The worker pool runs it once per SDK worker, with --id and the endpoints
of the job's services. As the container's boot does, it asks the
provision service for the job's options and staged artifacts, fetches them
from the artifact service, pip-installs them (the requirements file, then
the package), and starts the harness, sdk_worker_main. Unlike the
container's, it installs offline (--no-index): the tests' machine has no
internet, and the pins it installs are already in its environment.

The tests run it through a worker pool in a second virtual environment;
users of a Kubernetes or Flink worker pool run the SDK container's own boot
(docs/cluster.md).
"""

import argparse
import os
import subprocess
import sys
import tempfile

import grpc
from apache_beam.portability import common_urns
from apache_beam.portability.api import (
  beam_artifact_api_pb2_grpc,
  beam_provision_api_pb2,
  beam_provision_api_pb2_grpc,
  beam_runner_api_pb2,
  endpoints_pb2,
)
from apache_beam.runners.portability import artifact_service
from google.protobuf import json_format, text_format

REQUIREMENTS = 'requirements.txt'  # Beam's staged name of --requirements_file
PACKAGE = 'workflow.tar.gz'  # ... and of the sdist built from --setup_file


def main(argv):
  parser = argparse.ArgumentParser()
  for name in ('id', 'logging_endpoint', 'artifact_endpoint',
               'provision_endpoint', 'control_endpoint'):
    parser.add_argument('--' + name, required=True)
  args = parser.parse_args(argv)
  info = provision_info(args.provision_endpoint, args.id)
  staging = tempfile.mkdtemp(prefix='beam-boot-%s-' % args.id)
  staged = fetch_artifacts(args.artifact_endpoint, info.dependencies, staging)
  install(staged)
  start_harness(args, info, staging)


def provision_info(endpoint, worker_id):
  with grpc.insecure_channel(endpoint) as channel:
    service = beam_provision_api_pb2_grpc.ProvisionServiceStub(channel)
    return service.GetProvisionInfo(
        beam_provision_api_pb2.GetProvisionInfoRequest(),
        metadata=[('worker_id', worker_id)]).info


def fetch_artifacts(endpoint, dependencies, folder):
  """{staged name: local path} of the job's artifacts, fetched into `folder`."""
  with grpc.insecure_channel(endpoint) as channel:
    service = beam_artifact_api_pb2_grpc.ArtifactRetrievalServiceStub(channel)
    fetched = artifact_service.resolve_artifacts(list(dependencies), service, folder)
  staged = {}
  for artifact in fetched:
    if artifact.role_urn != common_urns.artifact_roles.STAGING_TO.urn:
      continue
    name = beam_runner_api_pb2.ArtifactStagingToRolePayload.FromString(
        artifact.role_payload).staged_name
    path = beam_runner_api_pb2.ArtifactFilePayload.FromString(artifact.type_payload).path
    staged[name] = os.path.join(folder, name)
    os.rename(path, staged[name])
  return staged


def install(staged):
  pip = [sys.executable, '-m', 'pip', 'install', '--quiet', '--no-index',
         '--disable-pip-version-check']
  if REQUIREMENTS in staged:
    subprocess.run(pip + ['-r', staged[REQUIREMENTS]], check=True)
  if PACKAGE in staged:
    subprocess.run(pip + ['--no-build-isolation', '--no-deps', staged[PACKAGE]],
                   check=True)


def start_harness(args, info, staging):
  """Runs the SDK harness in place of this process, as the container's boot
  does, with the environment variables sdk_worker_main reads."""
  def descriptor(url):
    return text_format.MessageToString(endpoints_pb2.ApiServiceDescriptor(url=url))
  os.environ.update(
    WORKER_ID=args.id,
    PIPELINE_OPTIONS=json_format.MessageToJson(info.pipeline_options),
    SEMI_PERSISTENT_DIRECTORY=staging,
    LOGGING_API_SERVICE_DESCRIPTOR=descriptor(args.logging_endpoint),
    CONTROL_API_SERVICE_DESCRIPTOR=descriptor(args.control_endpoint),
    RUNNER_CAPABILITIES=' '.join(info.runner_capabilities))
  if info.status_endpoint.url:
    os.environ['STATUS_API_SERVICE_DESCRIPTOR'] = descriptor(info.status_endpoint.url)
  os.execv(sys.executable, [sys.executable, '-m',
                            'apache_beam.runners.worker.sdk_worker_main'])


if __name__ == '__main__':
  main(sys.argv[1:])
