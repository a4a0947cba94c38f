# -*- coding: utf-8 -*-
r"""Caches the bottlenecks of a photo folder with Apache Beam, into the cache
retrain.py reads: on every core of this machine, or on a cluster through
Beam's portable runners (see docs/cluster.md).

  pip install -r requirements.txt -r requirements-beam.txt
  python cache_bottlenecks.py --image_dir=./workspace/flower_photos \
      --bottleneck_dir=./workspace/bottlenecks --model_dir=./workspace/inception

retrain.py, given the same three flags, then finds every bottleneck cached.
--image_dir, --bottleneck_dir, --architecture, --model_dir and --model_url
are retrain.py's flags; every other flag is Apache Beam's own (--runner, --job_endpoint,
--environment_type, --project, --region, --temp_location, --num_workers,
...) and goes to the pipeline as it is. Without --runner, the job runs here,
one worker process per core. A job that is stopped, run again, computes
only what is missing.
"""

import sys

from absl import app, flags

from retraining import (
  UserError,
  bases,
  dataset,
  defaults,
  error,
  errors_as_one_line,
  image_lists,
  log,
)

FLAGS = flags.FLAGS
flags.DEFINE_string('image_dir', defaults.IMAGE_DIR,
                    'Folder of labelled photos, one sub-folder per class (a '
                    'folder or a bucket: gs://..., s3://...).')
flags.DEFINE_string('bottleneck_dir', defaults.BOTTLENECK_DIR,
                    'Folder of cached bottleneck values (text files), '
                    'retrain.py\'s --bottleneck_dir (a folder or a bucket).')
flags.DEFINE_enum('architecture', bases.DEFAULT, list(bases.BASES),
                  bases.ARCHITECTURE_HELP)
flags.DEFINE_string('model_dir', defaults.MODEL_DIR, bases.MODEL_DIR_HELP)
flags.DEFINE_string('model_url', '', bases.MODEL_URL_HELP)
flags.DEFINE_integer('threads_per_worker', 0,
                     'Ops each worker process runs at once (0: this machine\'s '
                     'cores shared among the local worker processes; on a '
                     'portable runner each worker machine\'s cores shared among '
                     'its --sdk_worker_parallelism processes; 1 on Dataflow). '
                     'Every flag not listed here is Apache Beam\'s own: see '
                     'docs/cluster.md.', lower_bound=0)


def split_flags(argv):
  """Parses this script's flags; returns the rest, Beam's flags."""
  try:
    return FLAGS(argv, known_only=True)[1:]
  except flags.Error as e:
    error(e)
    sys.exit(1)


def import_beam():
  """retraining.beam's modules, or a clear error where Beam is not installed."""
  try:
    from retraining.beam import options, paths, pipeline, staging, worker
  except ModuleNotFoundError as e:
    if e.name != 'apache_beam' and not (e.name or '').startswith('apache_beam.'):
      raise
    raise UserError('Apache Beam is not installed: pip install -r '
                    'requirements-beam.txt')
  return options, paths, pipeline, staging, worker


def report_counts(counts, image_dir, skipped_list):
  if counts is None:
    log('done; this runner counts nothing: see %s for the skipped photos'
        % skipped_list)
    return
  if not counts['photos']:
    raise image_lists.no_photos_error(image_dir)
  log('%d photos: %d were cached already, %d computed, %d skipped' % (
      counts['photos'], counts['cached'], counts['computed'], counts['skipped']))
  if counts['skipped']:
    dataset.warn_of_skipped_photos(counts['skipped'], skipped_list)


def cache_with_beam(beam_args):
  options, paths, pipeline, staging, worker = import_beam()
  job_options = options.pipeline_options(beam_args)
  image_dir = paths.absolute(FLAGS.image_dir)
  bottleneck_dir = paths.absolute(FLAGS.bottleneck_dir)
  if paths.is_local(image_dir):  # A bucket's is checked by listing it.
    image_lists.check_image_dir(image_dir)
  base = bases.BASES[FLAGS.architecture]
  graph_path = staging.model_graph(base, FLAGS.model_dir,
                                   FLAGS.model_url or bases.weights_url(base))
  threads = FLAGS.threads_per_worker or options.threads_per_worker(job_options)
  versions = worker.installed_versions()
  staging.ship_package(job_options, versions)
  log('Caching the bottlenecks of the photos in %s into %s (%s)' % (
      image_dir, bottleneck_dir, options.parallelism(job_options, threads)))
  handler = worker.BottleneckHandler(
      base, graph_path, threads, options.processes_per_machine(job_options), versions,
      worker.kernel_choice())
  counts = pipeline.run(job_options, image_dir, bottleneck_dir, handler)
  report_counts(counts, image_dir, paths.skipped_list_path(bottleneck_dir))


def main(beam_args):
  with errors_as_one_line():
    cache_with_beam(beam_args)


if __name__ == '__main__':
  app.run(main, flags_parser=split_flags)
