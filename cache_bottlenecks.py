# -*- coding: utf-8 -*-
r"""Caches the bottlenecks of a photo folder with Apache Beam, into the cache
retrain.py reads: on every core of this machine, or on a Dataflow, Flink or
Spark cluster (see docs/cluster.md).

  pip install -r requirements.txt -r requirements-beam.txt
  python cache_bottlenecks.py --image_dir=./workspace/flower_photos \
      --bottleneck_dir=./workspace/bottlenecks --model_dir=./workspace/inception

retrain.py, given the same three flags, then finds every bottleneck cached.
--image_dir, --bottleneck_dir, --model_dir and --model_url are retrain.py's
flags; every other flag is Apache Beam's own (--runner, --project, --region,
--temp_location, --num_workers, ...) and goes to the pipeline as it is.
Without --runner, the job runs here, one worker process per core. A job
that is stopped, run again, computes only what is missing.
"""

import argparse
import os

from retraining import UserError, defaults, errors_as_one_line, inception, log, warn

DESCRIPTION = __doc__.split('\n\n')[0]
EPILOG = ('Every other flag is Apache Beam\'s own (--runner, --project, '
          '--region, --temp_location, --num_workers, ...): see docs/cluster.md.')


def parse_flags(argv):
  """(this script's flags, Beam's flags)."""
  parser = argparse.ArgumentParser(description=DESCRIPTION, epilog=EPILOG,
                                   allow_abbrev=False)
  parser.add_argument('--image_dir', default=defaults.IMAGE_DIR,
                      help='Folder of labelled photos, one sub-folder per class '
                      '(a folder or a bucket: gs://..., s3://...).')
  parser.add_argument('--bottleneck_dir', default=defaults.BOTTLENECK_DIR,
                      help='Folder of cached bottleneck values (text files), '
                      'retrain.py\'s --bottleneck_dir (a folder or a bucket).')
  parser.add_argument('--model_dir', default=defaults.MODEL_DIR,
                      help='Folder of classify_image_graph_def.pb; it is '
                      'downloaded there if missing.')
  parser.add_argument('--model_url', default=inception.ARCHIVE_URL,
                      help='Where to download the Inception v3 archive from.')
  parser.add_argument('--threads_per_worker', type=int, default=0,
                      help='Ops each worker process runs at once (0: this '
                      'machine\'s cores shared among the local worker '
                      'processes; 1 on a cluster).')
  return parser.parse_known_args(argv)


def import_pipeline():
  """retraining.beam.pipeline, or a clear error where Beam is not installed."""
  try:
    from retraining.beam import pipeline
  except ModuleNotFoundError as e:
    if e.name != 'apache_beam' and not (e.name or '').startswith('apache_beam.'):
      raise
    raise UserError('Apache Beam is not installed: pip install -r '
                    'requirements-beam.txt')
  return pipeline


def check_image_dir(pipeline, image_dir):
  """A folder of this machine must exist (a bucket's is checked by listing)."""
  if pipeline.is_local(image_dir) and not os.path.isdir(image_dir):
    raise UserError('image folder %s does not exist' % image_dir)


def report_counts(counts, image_dir, skipped_list):
  if not counts['photos']:
    raise UserError('no photos found in sub-folders of %s: put each class in '
                    'its own folder, e.g. %s' % (
                        image_dir, os.path.join(image_dir, 'roses', '1.jpg')))
  log('%d photos: %d were cached already, %d computed, %d skipped' % (
      counts['photos'], counts['cached'], counts['computed'], counts['skipped']))
  if counts['skipped']:
    warn('%d photos could not be read and were left out; the list is in %s'
         % (counts['skipped'], skipped_list))


def run_job(args, beam_args):
  pipeline = import_pipeline()
  options = pipeline.pipeline_options(beam_args)
  image_dir = pipeline.absolute(args.image_dir)
  bottleneck_dir = pipeline.absolute(args.bottleneck_dir)
  check_image_dir(pipeline, image_dir)
  graph_path = pipeline.model_graph(args.model_dir, args.model_url)
  threads = args.threads_per_worker or pipeline.threads_per_worker(options)
  pipeline.ship_package(options)
  log('Caching the bottlenecks of the photos in %s into %s (%s, %d threads '
      'per worker process)' % (image_dir, bottleneck_dir,
                               pipeline.runner_name(options), threads))
  counts = pipeline.run(options, image_dir, bottleneck_dir, graph_path, threads)
  report_counts(counts, image_dir, pipeline.skipped_list_path(bottleneck_dir))


def main(argv=None):
  args, beam_args = parse_flags(argv)
  with errors_as_one_line('cache_bottlenecks.py'):
    run_job(args, beam_args)


if __name__ == '__main__':
  main()
