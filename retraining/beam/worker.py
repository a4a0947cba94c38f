"""The worker's side: the model that RunInference runs on each worker
process, loaded as retrain.py loads it, after checking that the worker has
the driver's versions of what decides the bytes."""

import contextlib
import os
import sys
from importlib import metadata

from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.ml.inference.base import ModelHandler

from retraining import UserError
from retraining.beam import workarounds
from retraining.decoding import photo_from_bytes
from retraining.machine import cpu_cores

# The distributions whose versions decide a bottleneck's bytes: TensorFlow
# runs the graph (and converts a Keras base's body), LiteRT runs that body
# (see graph/lite_body.py), numpy formats the numbers, Pillow decodes what
# is not a JPEG.
BYTE_DECIDING = ('tensorflow', 'ai-edge-litert', 'numpy', 'pillow')
# The environment variables that choose TensorFlow's kernels, which the
# workers take from the driver: oneDNN's kernels give other last digits.
KERNEL_CHOICE = ('TF_ENABLE_ONEDNN_OPTS',)
# The most photos in one batch where each worker counts its own threads.
WORKER_BATCH_LIMIT = 64


def installed_versions(names=BYTE_DECIDING):
  """{distribution: version} of those of `names` this process has."""
  versions = {}
  for name in names:
    try:
      versions[name] = metadata.version(name)
    except metadata.PackageNotFoundError:
      pass
  return versions


def check_versions(expected):
  """Refuses, with one line, a worker whose versions of what decides the
  bytes differ from the driver's (`expected`), rather than writing other
  bytes."""
  found = installed_versions(sorted(expected))
  for name, version in sorted(expected.items()):
    if found.get(name) != version:
      raise UserError(
          'this worker has %s %s where the job\'s driver has %s, so its '
          'bottlenecks would not be the same bytes: install %s==%s on the '
          'workers (see docs/cluster.md)' % (
              name, found.get(name, '(none)'), version, name, version))


def kernel_choice():
  """{variable: value} of those of KERNEL_CHOICE set in this process's
  environment: the driver's, for the workers (see use_kernel_choice)."""
  return {name: os.environ[name] for name in KERNEL_CHOICE if name in os.environ}


def use_kernel_choice(choice):
  """Makes this worker's TensorFlow use the driver's kernels (`choice`,
  from kernel_choice): sets the variables before TensorFlow is imported,
  and refuses, with one line, a worker that imported it with others."""
  for name, value in sorted(choice.items()):
    if os.environ.get(name) == value:
      continue
    if 'tensorflow' in sys.modules:
      raise UserError(
          'this worker runs TensorFlow with %s=%s where the job\'s driver has '
          '%s, so its bottlenecks would not be the same bytes: set it on the '
          'workers (see docs/cluster.md)' % (
              name, os.environ.get(name, '(unset)'), value))
    os.environ[name] = value


class BottleneckHandler(ModelHandler):
  """RunInference's door to a base's graph: a photo file's bytes in, its
  bottleneck (float32, the base's bottleneck size) out, or the reason (a
  str) it could not be read.

  Beam's own TensorFlow handlers load Keras models only, and the 2015 graph
  must run exactly as retrain.py runs it to give the same bytes, so this one
  loads it with the package's own code. Batches hold at most one photo per
  thread, each photo run alone. `base` (bases.py): the base whose graph is
  at `graph_path`. `threads` 0: this worker's cores divided by `share`,
  the worker processes on its machine. `versions` and `kernels`: the
  driver's installed_versions() and kernel_choice().
  """

  def __init__(self, base, graph_path, threads, share, versions, kernels):
    super().__init__(max_batch_size=threads or WORKER_BATCH_LIMIT)
    self.base = base
    self._graph_path = graph_path
    self._threads = threads
    self._share = share
    self._versions = versions
    self._kernels = kernels

  def load_model(self):
    check_versions(self._versions)
    use_kernel_choice(self._kernels)
    threads = self._threads or max(1, cpu_cores() // max(1, self._share))
    return load_bottleneck_model(self.base, self._graph_path, threads)

  def run_inference(self, batch, model, inference_args=None):
    return model(batch)


def load_bottleneck_model(base, graph_path, threads):
  """bottlenecks(photo files' bytes) -> [bottleneck, or why it cannot be
  read]: the graph of `base` at `graph_path` loaded as retrain.py loads it,
  into
  sessions running at most `threads` ops at once, that serve until the
  worker process ends. A function, since Beam keeps a weak reference to
  the model."""
  from retraining.graph import runner as graph_runner  # TensorFlow, here only.
  from retraining.graph.tensorflow_v1 import set_up_process
  set_up_process()  # The process retrain.py sets up.
  with FileSystems.open(graph_path, compression_type=CompressionTypes.UNCOMPRESSED) as f:
    graph_def = graph_runner.load_graph(f.read(), graph_path, base)
  model = contextlib.ExitStack()
  outputs = model.enter_context(graph_runner.photo_model(
      graph_def, base.bottleneck_tensor, threads=threads,
      body=graph_runner.body_opener(base),
      read=photo_from_bytes))
  workarounds.exit_at_once_when_done()

  def bottlenecks(batch, model=model):  # It serves as long as this does.
    return [failure or bottleneck for _, bottleneck, failure in outputs(batch)]
  return bottlenecks
