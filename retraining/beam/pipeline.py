"""Bottlenecks cached by an Apache Beam pipeline, into the very cache
retrain.py reads: on this machine's cores, or on a Dataflow, Flink or Spark
cluster.

The pipeline (`cache_photos`):

1. List the photos (`<image_dir>/<class folder>/<photo>`, the photos
   retrain.py lists) and the cache files already there, each in one listing:
   a bucket lists a thousand names per request, where asking about each
   photo would cost a request per photo.
2. Join the two by photo. A photo with a cache file is done, so a job that
   was killed, run again, computes only what is missing.
3. Spread the rest over the workers and read each photo's bytes.
4. RunInference with BottleneckHandler: each worker process loads the graph
   once and runs it as retrain.py does (graph_runner: the graph's own
   decoding head, then the body, one photo per run), so each bottleneck
   is the same bytes as retrain.py's.
5. Write each to its cache file, complete or not at all (see `save`). Two
   jobs that compute the same photo write the same bytes.
6. A photo that cannot be read is skipped with a warning and named in
   `<bottleneck_dir>/skipped_photos.txt`.

Paths go through Beam's FileSystems, so folders, `gs://` and `s3://` work
alike. Only cache_bottlenecks.py imports this module, since Beam is
installed apart (requirements-beam.txt). TensorFlow is imported where the
model is loaded, on the workers: the process that builds the pipeline needs
neither it nor the graph.
"""

import atexit
import collections
import concurrent.futures
import contextlib
import logging
import os
import re
import shutil
import sys
import tempfile

import apache_beam as beam
from apache_beam.io import fileio
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.ml.inference.base import KeyedModelHandler, ModelHandler, RunInference
from apache_beam.options.pipeline_options import (
  DirectOptions,
  PipelineOptions,
  SetupOptions,
  StandardOptions,
)

from retraining import UserError, cache, downloads, files, inception, warn
from retraining.listing import is_photo_name
from retraining.machine import cpu_cores
from retraining.photos import BadPhoto, photo_from_bytes

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The package's installer for workers elsewhere (see ship_package).
SETUP_FILE = os.path.join(ROOT, 'setup.py')
LOCAL_RUNNER = 'FnApiRunner'
# Beam's runners that run on this machine.
LOCAL_RUNNERS = StandardOptions.LOCAL_RUNNERS
SKIPPED_LIST_NAME = 'skipped_photos.txt'
# The local runner's copies of its worker processes' log lines.
FORWARDED_LOGS = 'apache_beam.runners.portability.local_job_service'
COUNTERS = 'bottlenecks'  # the namespace of the pipeline's counters
SKIPPED = 'skipped'  # the tag of the photos that cannot be read
# A cache file shorter than 2,048 one-digit numbers and their commas is
# broken (a crash of the machine may leave one empty: see
# cache.write_bottleneck) and is computed again; retrain.py finds any other
# damage when it reads the file, and computes that one again.
MIN_CACHE_FILE_BYTES = 2 * inception.BOTTLENECK_TENSOR_SIZE - 1
# How Beam reports a UserError raised on a worker: its traceback's last line.
WORKER_USER_ERROR = re.compile(
    r'^retraining\.UserError: (.*?)(?: \[while running .*\])?$', re.MULTILINE)


# ------------------------------------------------------------ the driver

def pipeline_options(args):
  """Beam's options from `args`. Without --runner: Beam's FnApiRunner, one
  worker process per core (Beam's default DirectRunner would first try to
  download its Prism runner)."""
  options = PipelineOptions(args)
  unknown = set(options.get_all_options(retain_unknown_options=True)) - set(
      options.get_all_options())
  if unknown:
    raise UserError('unknown flag %s: neither this script\'s (see --help) nor '
                    'Apache Beam\'s' % ', '.join('--' + name for name in sorted(unknown)))
  given = options.get_all_options(drop_default=True)
  if options.view_as(StandardOptions).runner is None:
    options.view_as(StandardOptions).runner = LOCAL_RUNNER
    direct = options.view_as(DirectOptions)
    if 'direct_running_mode' not in given:
      direct.direct_running_mode = 'multi_processing'
    if 'direct_num_workers' not in given:
      direct.direct_num_workers = cpu_cores()
  return options


def runs_here(options):
  return options.view_as(StandardOptions).runner in LOCAL_RUNNERS


def local_processes(options):
  """How many worker processes the local runner starts (0 if it runs the
  job in this process, or the job does not run here)."""
  direct = options.view_as(DirectOptions)
  if not runs_here(options) or direct.direct_running_mode != 'multi_processing':
    return 0
  return direct.direct_num_workers or cpu_cores()  # Beam's 0: one per core.


def runner_name(options):
  """The runner, and its worker processes where it runs here."""
  runner = options.view_as(StandardOptions).runner
  if local_processes(options):
    return '%s, %d worker processes' % (runner, local_processes(options))
  return runner


def threads_per_worker(options):
  """How many of TensorFlow's ops each worker process runs at once.

  Here, this machine's cores shared among the local runner's worker
  processes, so that they do not take turns on the same cores. Elsewhere
  one, since Dataflow starts one worker process per vCPU; Flink and Spark
  start --sdk_worker_parallelism processes per machine, and
  cache_bottlenecks.py's --threads_per_worker should then be the
  machine's cores divided by that.
  """
  if not runs_here(options):
    return 1
  if not local_processes(options):
    return cpu_cores()  # The job runs in this process.
  return max(1, cpu_cores() // local_processes(options))


def ship_package(options):
  """Makes this package importable on the workers: local worker processes
  inherit this process's PYTHONPATH; workers elsewhere install it from
  setup.py, unless the options already ship code (--setup_file,
  --extra_package, --requirements_file) or a container image holding it."""
  if runs_here(options):
    os.environ['PYTHONPATH'] = os.pathsep.join(
        [ROOT] + [p for p in [os.environ.get('PYTHONPATH')] if p])
    return
  setup = options.view_as(SetupOptions)
  given = options.get_all_options(drop_default=True)
  if not ({'setup_file', 'extra_packages', 'requirements_file',
           'sdk_container_image'} & set(given)):
    setup.setup_file = SETUP_FILE


def model_graph(model_dir, url):
  """The path of classify_image_graph_def.pb in `model_dir`, downloaded there
  as retrain.py does if missing. For a bucket, it is downloaded here and
  uploaded, since the workers read it from there."""
  if is_local(model_dir):
    return os.path.abspath(downloads.maybe_download_and_extract(model_dir, url))
  graph_path = FileSystems.join(model_dir, inception.GRAPH_FILE_NAME)
  if not FileSystems.exists(graph_path):
    with tempfile.TemporaryDirectory() as scratch:
      local = downloads.maybe_download_and_extract(scratch, url)
      with open(local, 'rb') as src, FileSystems.create(graph_path) as dst:
        shutil.copyfileobj(src, dst, downloads.CHUNK_BYTES)
  return graph_path


def run(options, image_dir, bottleneck_dir, graph_path, threads):
  """Runs the pipeline to its end; returns its counters {name: count}:
  photos, cached (already), computed, skipped."""
  if runs_here(options):  # The worker processes print their lines themselves.
    logging.getLogger(FORWARDED_LOGS).setLevel(logging.ERROR)
  pipeline = beam.Pipeline(options=options)
  cache_photos(pipeline, image_dir, bottleneck_dir, graph_path, threads)
  try:
    result = pipeline.run()
    result.wait_until_finish()
  except Exception as e:
    raise worker_user_error(e) or e
  counts = collections.Counter(photos=0, cached=0, computed=0, skipped=0)
  for counter in result.metrics().query(
      MetricsFilter().with_namespace(COUNTERS))['counters']:
    counts[counter.key.metric.name] += counter.result
  return counts


def worker_user_error(error):
  """The UserError a worker raised (an unreadable graph, say), out of the
  error Beam reports for it, or None."""
  match = WORKER_USER_ERROR.search(str(error))
  return UserError(match.group(1)) if match else None


def is_local(path):
  """A folder of this machine (or one it mounts), not a bucket's URL."""
  return FileSystems.get_scheme(path) is None


def absolute(path):
  return os.path.abspath(path) if is_local(path) else path


def skipped_list_path(bottleneck_dir):
  """Where the pipeline lists the photos it could not read: in the cache
  folder, the one place the workers of any runner can write and the user
  reads from (a worker's own disk is gone when the job ends)."""
  return FileSystems.join(bottleneck_dir, SKIPPED_LIST_NAME)


# ------------------------------------------------------------ the pipeline

def cache_photos(pipeline, image_dir, bottleneck_dir, graph_path, threads):
  """Adds the steps described in this module's docstring to `pipeline`."""
  photos = (pipeline
            | 'List photos' >> fileio.MatchFiles(FileSystems.join(image_dir, '*', '*'))
            | 'Keep photos' >> beam.FlatMap(photo_entry))
  cached = (pipeline
            | 'List cache' >> fileio.MatchFiles(
                FileSystems.join(bottleneck_dir, '*', '*' + cache.CACHE_SUFFIX))
            | 'Keep complete files' >> beam.FlatMap(cache_entry))
  read = ({'photo': photos, 'cached': cached}
          | 'Join' >> beam.CoGroupByKey()
          | 'Not cached' >> beam.FlatMap(photos_to_compute)
          | 'Spread' >> beam.Reshuffle()
          | 'Read' >> beam.ParDo(read_photo_file).with_outputs(SKIPPED, main='photos'))
  written = (read.photos
             | 'Bottlenecks' >> RunInference(KeyedModelHandler(
                 BottleneckHandler(graph_path, threads)))
             | 'Write' >> beam.ParDo(write_outcome, bottleneck_dir).with_outputs(
                 SKIPPED, main='written'))
  _ = ((read[SKIPPED], written[SKIPPED])
       | 'Unreadable' >> beam.Flatten()
       | 'Warn' >> beam.Map(warn_skipped)
       | 'Collect' >> beam.combiners.ToList()
       | 'List them' >> beam.Map(write_skipped_list, skipped_list_path(bottleneck_dir)))


def photo_key(path, suffix=''):
  """(class folder, photo file name) of a photo, or of its cache file."""
  folder_path, name = FileSystems.split(path)
  return FileSystems.split(folder_path)[1], name[:len(name) - len(suffix)]


def photo_entry(metadata):
  """(key, path) of a file the listing found, if retrain.py lists it as a
  photo: a photo's name in a class folder that is not hidden."""
  folder, name = photo_key(metadata.path)
  if is_photo_name(name) and not folder.startswith('.'):
    yield (folder, name), metadata.path


def cache_entry(metadata):
  """(key, None) of a cache file the listing found, if it is not broken."""
  if metadata.size_in_bytes >= MIN_CACHE_FILE_BYTES:
    yield photo_key(metadata.path, cache.CACHE_SUFFIX), None


def photos_to_compute(joined):
  """The photo of a key, unless its cache file is there; counts both."""
  _, found = joined
  for path in found['photo']:
    count('photos')
    if found['cached']:
      count('cached')
    else:
      yield path


def read_photo_file(path):
  try:
    with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as f:
      yield path, f.read()
  except OSError as e:  # Beam's BeamIOError too.
    yield beam.pvalue.TaggedOutput(SKIPPED, (path, 'cannot read it (%s)' % e))


def write_outcome(outcome, bottleneck_dir):
  """Writes a photo's bottleneck to its cache file; passes a photo that
  could not be read on to SKIPPED."""
  path, output = outcome
  if isinstance(output, str):
    yield beam.pvalue.TaggedOutput(SKIPPED, (path, output))
    return
  folder, name = photo_key(path)
  save(FileSystems.join(bottleneck_dir, cache.cache_file_name(folder, name)),
       cache.format_bottleneck(output), durable=False)
  count('computed')


def warn_skipped(skipped):
  """One line on the worker's stderr, retrain.py's: on this machine's
  terminal, or in a cluster's worker logs."""
  path, reason = skipped
  warn('skipped %s: %s' % (path, reason))
  count('skipped')
  return path


def write_skipped_list(paths, list_path):
  """The photos that could not be read, one per line, as retrain.py lists
  them; empty when every photo could be read."""
  save(list_path, ''.join(path + '\n' for path in sorted(paths)), durable=True)


def save(path, text, durable):
  """Writes a file complete or not at all. In a folder: to a temporary name,
  renamed when complete (files.atomic_write; see cache.write_bottleneck for
  `durable`). On a bucket: one upload, which the bucket shows only once it
  is complete."""
  if is_local(path):
    files.write_text(path, text, durable)
  else:
    with FileSystems.create(path, mime_type='text/plain') as f:
      f.write(text.encode('utf-8'))


def count(name):
  beam.metrics.Metrics.counter(COUNTERS, name).inc()


# ------------------------------------------------------------ the model

class BottleneckHandler(ModelHandler):
  """RunInference's door to the Inception graph: a photo file's bytes in,
  its bottleneck (float32 [2048]) out, or the reason (a str) it could not
  be read.

  Beam's own TensorFlow handlers load Keras models only, and the 2015 graph
  must run exactly as retrain.py runs it to give the same bytes, so this one
  loads it with the package's own code. Batches hold at most one photo per
  thread, each photo run alone.
  """

  def __init__(self, graph_path, threads):
    super().__init__(max_batch_size=threads)
    self._graph_path = graph_path
    self._threads = threads

  def load_model(self):
    return load_bottleneck_model(self._graph_path, self._threads)

  def run_inference(self, batch, model, inference_args=None):
    return model(batch)


def load_bottleneck_model(graph_path, threads):
  """bottlenecks(photo files' bytes) -> [bottleneck, or why it cannot be
  read]: the graph at `graph_path` loaded as retrain.py loads it, into
  sessions running at most `threads` ops at once, that serve until the
  worker process ends. A function, since Beam keeps a weak reference to
  the model."""
  from retraining.graph import rewrite  # TensorFlow, here only.
  from retraining.graph import runner as graph_runner
  from retraining.graph.tensorflow_v1 import set_up_process
  set_up_process()  # As retrain.py's process does.
  with FileSystems.open(graph_path, compression_type=CompressionTypes.UNCOMPRESSED) as f:
    graph_def = rewrite.fast_graph_def(rewrite.parse_graph_def(f.read(), graph_path))
  sessions = contextlib.ExitStack()
  decoder = sessions.enter_context(contextlib.closing(
      graph_runner.decoding_session(graph_def, threads)))
  run_body = sessions.enter_context(graph_runner.body_session(
      graph_def, inception.BOTTLENECK_TENSOR_NAME, threads=threads))
  pool = sessions.enter_context(concurrent.futures.ThreadPoolExecutor(threads))
  atexit.register(end_worker_process, sessions)

  def bottleneck(data):
    try:
      image = graph_runner.resize_read_photo(decoder, photo_from_bytes(data))
    except BadPhoto as e:
      return str(e)
    return run_body(image)

  def bottlenecks(batch):
    return list(pool.map(bottleneck, batch))
  return bottlenecks


def end_worker_process(sessions):
  """Ends a worker process that loaded the graph at once when Beam is done
  with it, leaving its memory and `sessions` to the system: Python's
  finalization of TensorFlow and the graph takes about 1.4 s a process,
  and the local runner waits for its processes one after another (about a
  tenth of a job of 150 photos on 2 cores). The exit status is kept: 1
  after an exception nothing caught, as Python's own."""
  sys.stdout.flush()
  sys.stderr.flush()
  os._exit(1 if hasattr(sys, 'last_value') else 0)

