"""Bottlenecks cached by an Apache Beam pipeline, into the very cache
retrain.py reads: on this machine's cores, or on a cluster (docs/cluster.md).

The pipeline (`cache_photos`):

1. List the photos (`<image_dir>/<class folder>/<photo>`, the photos
   retrain.py lists) and the cache files already there, each in one listing:
   a bucket lists a thousand names per request, where asking about each
   photo would cost a request per photo.
2. Join the two by photo, naming each photo's cache file as retrain.py
   does (a twin, a name that differs from another's only in case or
   Unicode form, has its own: see cache.cache_file_name). A photo with a
   cache file is done, so a job that was killed, run again, computes only
   what is missing.
3. Spread the rest over the workers and read each photo's bytes.
4. RunInference with worker.BottleneckHandler: each worker process loads
   the graph once and runs it as retrain.py does, so each bottleneck is the
   same bytes as retrain.py's.
5. Write each to its cache file, complete or not at all (see `save`). Two
   jobs that compute the same photo write the same bytes.
6. A photo that cannot be read is skipped with a warning and named in
   `<bottleneck_dir>/skipped_photos.txt`.

Paths go through Beam's FileSystems, so folders, `gs://` and `s3://` work
alike. TensorFlow is imported where the model is loaded, on the workers:
the process that builds the pipeline needs neither it nor the graph (but
to freeze a Keras base's graph once, see downloads.maybe_download_base).
The cache files are those of one base (bases.py): `handler`'s.
"""

import collections

import apache_beam as beam
from apache_beam.io import fileio
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.ml.inference.base import KeyedModelHandler, RunInference

from retraining import UserError, cache, files, warn
from retraining.beam import workarounds
from retraining.beam.options import runs_here
from retraining.beam.paths import is_local, skipped_list_path
from retraining.image_lists import twin_key, twin_originals
from retraining.listing import is_class_photo

COUNTERS = 'bottlenecks'  # the namespace of the pipeline's counters
SKIPPED = 'skipped'  # the tag of the photos that cannot be read
# How Beam 2.77's error begins where a runner's job-server jar (Flink's,
# Spark's: from Maven Central, on first use) cannot be downloaded.
JAR_NOT_FETCHED = 'Unable to fetch remote job server jar'


def min_cache_file_bytes(base):
  """A cache file shorter than the base's bottleneck size in one-digit
  numbers and their commas is broken (a crash of the machine may leave one
  empty: see cache.write_bottleneck) and is computed again; retrain.py
  finds any other damage when it reads the file, and computes that one
  again."""
  return 2 * base.bottleneck_size - 1


def run(options, image_dir, bottleneck_dir, handler):
  """Runs the pipeline to its end; returns its counters {name: count}:
  photos, cached (already), computed, skipped; None where the runner
  counts nothing."""
  if runs_here(options):  # The worker processes print their lines themselves.
    workarounds.quiet_forwarded_worker_logs()
  pipeline = beam.Pipeline(options=options)
  cache_photos(pipeline, image_dir, bottleneck_dir, handler)
  try:
    result = pipeline.run()
    result.wait_until_finish()
  except Exception as e:
    raise workarounds.worker_user_error(e) or job_server_error(e) or e
  return job_counts(result)


def job_server_error(error):
  """The UserError for a runner's job server that cannot start because its
  jar could not be downloaded (Beam's error says where to put it), or None."""
  if isinstance(error, RuntimeError) and str(error).startswith(JAR_NOT_FETCHED):
    return UserError('the runner\'s job server cannot start. %s, or give its jar '
                     '(--flink_job_server_jar=PATH, --spark_job_server_jar=PATH)'
                     % str(error).rstrip('.'))
  return None


def job_counts(result):
  """The counters of a finished job, as `run` returns them: None where the
  runner has no metrics (its result's metrics() raises NotImplementedError,
  as Beam's PipelineResult does by default)."""
  try:
    counters = result.metrics().query(
        MetricsFilter().with_namespace(COUNTERS))['counters']
  except NotImplementedError:
    return None
  counts = collections.Counter(photos=0, cached=0, computed=0, skipped=0)
  for counter in counters:
    counts[counter.key.metric.name] += counter.result
  return counts


def cache_photos(pipeline, image_dir, bottleneck_dir, handler):
  """Adds the steps described in this module's docstring to `pipeline`;
  `handler`: the worker.BottleneckHandler the workers run."""
  base = handler.base
  photos = (pipeline
            | 'List photos' >> fileio.MatchFiles(FileSystems.join(image_dir, '*', '*'))
            | 'Keep photos' >> beam.FlatMap(photo_entry))
  cached = (pipeline
            | 'List cache' >> fileio.MatchFiles(
                FileSystems.join(bottleneck_dir, '*', '*' + base.cache_suffix +
                                 cache.CACHE_SUFFIX))
            | 'Keep complete files' >> beam.FlatMap(cache_entry, base))
  read = ({'photo': photos, 'cached': cached}
          | 'Join' >> beam.CoGroupByKey()
          | 'Not cached' >> beam.FlatMap(photos_to_compute, base)
          | 'Spread' >> beam.Reshuffle()
          | 'Read' >> beam.ParDo(read_photo_file).with_outputs(SKIPPED, main='photos'))
  written = (read.photos
             | 'Bottlenecks' >> RunInference(KeyedModelHandler(handler))
             | 'Write' >> beam.ParDo(write_cache_file, bottleneck_dir).with_outputs(
                 SKIPPED, main='written'))
  _ = ((read[SKIPPED], written[SKIPPED])
       | 'Unreadable' >> beam.Flatten()
       | 'Warn' >> beam.Map(warn_skipped)
       | 'Collect' >> beam.combiners.ToList()
       | 'List them' >> beam.Map(write_skipped_list, skipped_list_path(bottleneck_dir)))


def folder_and_name(path):
  """(class folder, file name) of a photo, or of its cache file."""
  folder_path, name = FileSystems.split(path)
  return FileSystems.split(folder_path)[1], name


def photo_entry(metadata):
  """(key, path) of a file the listing found, if retrain.py lists it as a
  photo: a photo's name in a class folder that is not hidden. The key,
  (class folder, twin_key of the name), is one for a photo and its twins."""
  folder, name = folder_and_name(metadata.path)
  if is_class_photo(folder, name):
    yield (folder, twin_key(name)), metadata.path


def cache_entry(metadata, base):
  """(key, its cache file name) of a cache file of `base` the listing
  found, if it is not broken; the key is its photo's (see photo_entry)."""
  folder, name = folder_and_name(metadata.path)
  photo_name = cache.photo_name_of(name, base)
  if photo_name is not None and metadata.size_in_bytes >= min_cache_file_bytes(base):
    yield (folder, twin_key(photo_name)), '%s/%s' % (folder, name)


def photos_to_compute(joined, base):
  """(path, cache file name) of the photos of a key that have no cache file
  yet; counts both kinds. The photos of a key are one photo and its twins,
  so twin_originals of them names each cache file as retrain.py does."""
  (folder, _), found = joined
  paths = {folder_and_name(path)[1]: path for path in found['photo']}
  twins = twin_originals(paths)
  for name, path in sorted(paths.items()):
    count('photos')
    cache_name = cache.cache_file_name(folder, name, base, twin=name in twins)
    if cache_name in found['cached']:
      count('cached')
    else:
      yield path, cache_name


def read_photo_file(photo):
  """((path, cache file name), the photo file's bytes), or (path, why it
  cannot be read) to SKIPPED."""
  path, _ = photo
  try:
    with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as f:
      yield photo, f.read()
  except OSError as e:  # Beam's BeamIOError too.
    yield beam.pvalue.TaggedOutput(SKIPPED, (path, 'cannot read it (%s)' % e))


def write_cache_file(outcome, bottleneck_dir):
  """Writes a photo's bottleneck to its cache file; passes a photo that
  could not be read on to SKIPPED."""
  (path, cache_name), output = outcome
  if isinstance(output, str):
    yield beam.pvalue.TaggedOutput(SKIPPED, (path, output))
    return
  save(FileSystems.join(bottleneck_dir, cache_name), cache.format_bottleneck(output),
       durable=False)
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
