# -*- coding: utf-8 -*-
r"""Retrains the top layer of Inception v3 on your own photos.

This is TensorFlow's image-retraining script as taught in chapter 11 of
"골빈해커의 3분 딥러닝 텐서플로맛", working on TensorFlow 2. Put each class of
photos in its own folder:

  workspace/flower_photos/daisy/photo1.jpg
  workspace/flower_photos/roses/another.jpg ...

and run, as in the book:

  python retrain.py --bottleneck_dir=./workspace/bottlenecks \
      --model_dir=./workspace/inception \
      --output_graph=./workspace/flowers_graph.pb \
      --output_labels=./workspace/flowers_labels.txt \
      --image_dir=./workspace/flower_photos --how_many_training_steps 1000

Steps: download the Inception v3 graph; list the photos and split them into
training, validation and test sets by a hash of each file name; compute the
2,048-value bottleneck (`pool_3/_reshape:0`) of every photo once and cache it
as text; train a new softmax layer on the cached values; report its accuracy
on the test set; export one frozen graph (Inception plus the new layer, input
`DecodeJpeg/contents:0`, output `final_result:0`) and the labels, one per line
in index order. predict.py uses both. Beside the graph goes the same model
for TensorFlow Lite, labels inside, which phones run (README: On a phone) and
predict.py runs without TensorFlow.
"""

import collections
import concurrent.futures
import contextlib
import hashlib
import os
import sys

import numpy as np
from absl import app, flags

from retraining import (
  UserError,
  cache,
  charts,
  distortions,
  errors_as_one_line,
  files,
  final_layer,
  graph_runner,
  inception,
  log,
  rewrite,
  tflite_export,
  tflite_metadata,
  training,
  warn,
)
from retraining.photos import CATEGORIES, create_image_lists
from retraining.progress import progress_bar
from retraining.tensorflow_v1 import tf, tf1
from retraining.training import Split
from retraining.tuning import keep_freed_memory

FLOWERS_URL = 'http://download.tensorflow.org/example_images/flower_photos.tgz'
FLOWERS_SHA256 = '4c54ace7911aaffe13a365c34f650e71dd5bf1be0a58b464e5a7183e3e595d9c'
FLOWERS_FOLDER = 'flower_photos'
WORKSPACE = './workspace'
DEFAULT_IMAGE_DIR = os.path.join(WORKSPACE, FLOWERS_FOLDER)

FLAGS = flags.FLAGS
# Input and output file flags.
flags.DEFINE_string('image_dir', DEFAULT_IMAGE_DIR,
                    'Folder of labelled photos: one sub-folder per class. The '
                    'default folder is downloaded (the flowers) if missing.')
flags.DEFINE_string('output_graph', os.path.join(WORKSPACE, 'flowers_graph.pb'),
                    'Where to save the trained graph.')
flags.DEFINE_string('output_labels', os.path.join(WORKSPACE, 'flowers_labels.txt'),
                    'Where to save the trained graph\'s labels.')
flags.DEFINE_string('summaries_dir', os.path.join(WORKSPACE, 'retrain_logs'),
                    'Where to save summary logs for TensorBoard.')
# Details of the training configuration.
flags.DEFINE_integer('how_many_training_steps', 4000,
                     'How many training steps to run before ending.',
                     lower_bound=1)
flags.DEFINE_float('learning_rate', 0.01,
                   'How large a learning rate to use when training.')
flags.DEFINE_integer('testing_percentage', 10,
                     'What percentage of photos to use as a test set.',
                     lower_bound=0, upper_bound=99)
flags.DEFINE_integer('validation_percentage', 10,
                     'What percentage of photos to use as a validation set.',
                     lower_bound=0, upper_bound=99)
flags.DEFINE_integer('eval_step_interval', 10,
                     'How often to evaluate the training results.',
                     lower_bound=1)
flags.DEFINE_integer('train_batch_size', 100,
                     'How many photos to train on at a time.', lower_bound=1)
flags.DEFINE_integer('test_batch_size', -1,
                     'How many photos to test on. -1 (default) uses the whole '
                     'test set, which gives the most stable figure.')
flags.DEFINE_integer('validation_batch_size', 100,
                     'How many photos to use in an evaluation batch. -1 uses '
                     'the whole validation set.')
flags.DEFINE_boolean('print_misclassified_test_images', False,
                     'Whether to print out a list of all misclassified test '
                     'photos.')
flags.DEFINE_boolean('save_charts', True,
                     'Save <output_graph stem>_training.png (accuracy and '
                     'cross-entropy against step) and _confusion.png (the test '
                     'set\'s confusion matrix) beside the output graph.')
flags.DEFINE_boolean('export_tflite', True,
                     'Also write <output_graph stem>.tflite: the same model '
                     'for TensorFlow Lite (LiteRT), with its labels and how '
                     'to scale its input inside, for phones (MediaPipe\'s '
                     'ImageClassifier) and for predict.py without TensorFlow.')
flags.DEFINE_boolean('tflite_float16', False,
                     'Store the .tflite\'s weights as float16: half the size, '
                     'scores slightly off the graph\'s (predict.py\'s too).')
flags.DEFINE_integer('random_seed', 0,
                     'Seed for the weights and the sampled batches: the same '
                     'photos, flags and seed give the same model.')
# File-system cache locations.
flags.DEFINE_string('model_dir', os.path.join(WORKSPACE, 'inception'),
                    'Folder of classify_image_graph_def.pb; it is downloaded '
                    'there if missing.')
flags.DEFINE_string('model_url', inception.ARCHIVE_URL,
                    'Where to download the Inception v3 archive from.')
flags.DEFINE_string('flowers_url', FLOWERS_URL,
                    'Where to download the flower photos from when the default '
                    '--image_dir is missing.')
flags.DEFINE_string('bottleneck_dir', os.path.join(WORKSPACE, 'bottlenecks'),
                    'Folder of cached bottleneck values (text files).')
flags.DEFINE_string('final_tensor_name', 'final_result',
                    'The name of the output classification layer in the '
                    'retrained graph.')
# Controls the distortions used during training.
flags.DEFINE_boolean('flip_left_right', False,
                     'Whether to randomly flip half of the training photos '
                     'horizontally.')
flags.DEFINE_integer('random_crop', 0,
                     'A percentage determining how much of a margin to '
                     'randomly crop off the training photos.')
flags.DEFINE_integer('random_scale', 0,
                     'A percentage determining how much to randomly scale up '
                     'the size of the training photos by.')
flags.DEFINE_integer('random_brightness', 0,
                     'A percentage determining how much to randomly multiply '
                     'the training photos\' pixels up or down by.')

flags.register_multi_flags_validator(
    ['testing_percentage', 'validation_percentage'],
    lambda values: sum(values.values()) < 100,
    '--testing_percentage plus --validation_percentage leave no photo for '
    'training')

Photo = collections.namedtuple(
    'Photo', 'label_index category image_path cache_path')
# The bottlenecks of the usable photos, in order [usable, 2048]; which photos
# are usable [n]; the paths of the photos that could not be read.
Bottlenecks = collections.namedtuple('Bottlenecks', 'values ok skipped')


# ---------------------------------------------------------------- downloads

def maybe_download_flowers(image_dir, url):
  """Fetches the flower photos when the default --image_dir is missing."""
  if os.path.exists(image_dir) or (
      os.path.abspath(image_dir) != os.path.abspath(DEFAULT_IMAGE_DIR)):
    return
  parent = os.path.dirname(os.path.abspath(image_dir))
  archive = os.path.join(parent, os.path.basename(url) or 'flower_photos.tgz')
  files.fetch_archive(url, archive,
                      sha256=FLOWERS_SHA256 if url == FLOWERS_URL else None,
                      offline_hint='put your photos in %s, one sub-folder per '
                      'class' % image_dir)
  files.extract_or_discard(archive, files.extract_folder, FLOWERS_FOLDER, parent)


# ---------------------------------------------------------------- the graph

def read_inception_graph(graph_path):
  """The Inception graph, rewritten (see retraining/rewrite.py). A graph
  that is not the 2015 one is used as it is, with one warning: it may be
  the user's own. Its bytes are read once, for the check and the parsing."""
  data = files.read_bytes(graph_path)
  if (len(data) != inception.GRAPH_SIZE or
      hashlib.sha256(data).hexdigest() != inception.GRAPH_SHA256):
    warn('%s is not the one in inception-2015-12-05.tgz (its size or sha256 '
         'differs); using it as it is' % graph_path)
  return rewrite.fast_graph_def(rewrite.parse_graph_def(data, graph_path))


# ---------------------------------------------------------------- photos

def list_photos(image_lists, image_dir):
  """Flattens the image lists into one list of Photo: the training set, then
  the testing and the validation sets, each in label order, so that each
  set's bottlenecks are consecutive rows (see split_sets)."""
  photos = []
  for category in CATEGORIES:
    for label_index, lists in enumerate(image_lists.values()):
      for file_name in lists[category]:
        photos.append(Photo(
            label_index, category,
            os.path.join(image_dir, lists['dir'], file_name),
            cache.cache_file_name(lists['dir'], file_name)))
  return photos


def cache_bottlenecks(inception_graph_def, photos, bottleneck_dir,
                      feed_weights=None):
  """Returns the Bottlenecks of every photo, computing those not yet cached.

  Cached values are read once (see retraining/cache.py). Missing ones are
  computed through the rewritten graph (see retraining/graph_runner.py) while a
  thread writes each to its cache file, so a killed run resumes where it
  stopped; with a warm cache Inception is not even loaded into TensorFlow.
  A photo that cannot be decoded is not ok, and is named once in a warning;
  its row is then dropped, in place (see cache.keep_rows). feed_weights
  goes to graph_runner.photo_outputs (None: its default).
  """
  rel_paths = [p.cache_path for p in photos]
  cache.remove_stale_temp_files(bottleneck_dir)
  values, ok, broken, parsed_count = cache.load_bottlenecks(bottleneck_dir,
                                                            rel_paths)
  for path in broken:
    warn('cache file %s is damaged; computing it again' % path)
  todo = {photos[i].image_path: i for i in np.flatnonzero(~ok)}
  skipped, writes = [], []
  if todo:
    log('Creating %d bottlenecks (%d found in the cache at %s)'
        % (len(todo), ok.sum(), bottleneck_dir))
  with progress_bar(total=len(photos), initial=int(ok.sum()),
                    desc='Bottlenecks', unit='photo') as bar, \
      concurrent.futures.ThreadPoolExecutor(1) as writer, \
      graph_runner.photo_outputs(inception_graph_def, list(todo),
                                 inception.BOTTLENECK_TENSOR_NAME,
                                 feed_weights) as outputs:
    bar.set_postfix_str('%d cached' % ok.sum())
    for path, vector, failure in outputs:
      if failure:
        bar.write('WARNING: skipped %s: %s' % (path, failure), file=sys.stderr)
        skipped.append(path)
      else:
        i = todo[path]
        values[i], ok[i] = vector, True
        writes.append(writer.submit(
            cache.write_bottleneck,
            os.path.join(bottleneck_dir, rel_paths[i]), vector))
      bar.set_postfix_str('%d cached, %d computed, %d skipped' % (
          len(photos) - len(todo), len(writes), len(skipped)), refresh=False)
      bar.update()
  for write in writes:
    if write.exception():
      raise UserError('cannot write the bottleneck cache in %s (%s)'
                      % (bottleneck_dir, write.exception()))
  values = cache.keep_rows(values, ok)
  if todo or parsed_count:  # Otherwise the index is already up to date.
    cache.save_index(bottleneck_dir,
                     [r for r, good in zip(rel_paths, ok) if good], values)
  return Bottlenecks(values, ok, skipped)


def split_sets(photos, bottlenecks):
  """{category: Split} of the usable photos, sorted by label.

  The photos come set by set (see list_photos), so each set's bottlenecks
  are consecutive rows: a view, not a copy.
  """
  usable = [p for p, ok in zip(photos, bottlenecks.ok) if ok]
  splits, start = {}, 0
  for category in CATEGORIES:
    end = start + sum(p.category == category for p in usable)
    members = usable[start:end]
    assert all(p.category == category for p in members), 'not set by set'
    splits[category] = Split(
        bottlenecks.values[start:end],
        np.array([p.label_index for p in members], np.int64),
        [p.image_path for p in members])
    start = end
  return splits


def check_every_class_has_photos(splits, labels):
  """Refuses a class with no training photo; warns of empty validation/test."""
  counts = {c: np.bincount(splits[c].labels, minlength=len(labels))
            for c in CATEGORIES}
  for label_index, label in enumerate(labels):
    total = sum(int(counts[c][label_index]) for c in CATEGORIES)
    if counts['training'][label_index] == 0:
      raise UserError('class %r has no photo in the training set (%d usable '
                      'photos in all): add photos to its folder' % (label, total))
    for category, flag in (('validation', 'validation_percentage'),
                           ('testing', 'testing_percentage')):
      if counts[category][label_index] == 0 and len(splits[category].labels):
        warn('class %r (%d photos) has no photo in the %s set, so it is not '
             'measured there: add photos or raise --%s'
             % (label, total, category, flag))


# ---------------------------------------------------------------- outputs

def save_graph_and_labels(graph_def, labels, output_graph, output_labels):
  """Writes the frozen graph and the labels, each complete or not at all.

  A graph byte-identical to the one already there is not written again, so
  the .tflite converted from it stays newer than it (see save_tflite).
  """
  data = graph_def.SerializeToString(deterministic=True)
  if not files.holds(output_graph, data):
    files.write_bytes(output_graph, data)
  files.write_text(output_labels, '\n'.join(labels) + '\n')
  log('Saved %s and %s' % (output_graph, output_labels))


def save_tflite(graph_def, final_tensor_name, output_graph, output_labels,
                label_count, float16):
  """Writes <output_graph stem>.tflite with its metadata and the labels
  file packed in, unless the one there is newer than the graph and holds
  the same (converting takes seconds). If the converter fails, the run
  still succeeds: predict.py then uses the graph."""
  path = files.beside(output_graph, inception.TFLITE_SUFFIX)
  labels_name = os.path.basename(output_labels)
  metadata = tflite_export.classifier_metadata(
      os.path.basename(files.beside(output_graph, '')), label_count,
      labels_name, float16)
  packed = {labels_name: files.read_bytes(output_labels)}
  if (files.is_newer(path, output_graph) and
      tflite_metadata.holds_metadata(path, metadata, packed)):
    log('%s is up to date' % path)
    return
  try:
    model_bytes = tflite_export.tflite_model(graph_def, final_tensor_name,
                                             float16)
  except Exception as e:
    reason = (str(e).strip().splitlines() or [type(e).__name__])[-1]
    warn('could not convert the model for TensorFlow Lite (%s); %s is not '
         'written' % (reason, path))
    return
  with files.atomic_write(path) as f:
    tflite_metadata.write_with_metadata(f, model_bytes, metadata, packed)
  log('Saved %s' % path)


def save_charts(history, evaluation, labels, output_graph):
  saved = [files.beside(output_graph, '_training.png')]
  charts.save_training_chart(
      history, evaluation and (evaluation.accuracy, evaluation.count), saved[0])
  if evaluation:
    saved.append(files.beside(output_graph, '_confusion.png'))
    charts.save_confusion_matrix(evaluation.matrix, labels, saved[1])
  log('Saved %s' % ' and '.join(saved))


def report_skipped_photos(skipped, output_graph):
  """Lists the photos that could not be read in <output_graph>_skipped.txt."""
  if skipped:
    path = files.beside(output_graph, '_skipped.txt')
    files.write_text(path, ''.join(p + '\n' for p in skipped))
    warn('%d photos could not be read and were left out; the list is in %s'
         % (len(skipped), path))


# ---------------------------------------------------------------- the steps

def retrain():
  tf.config.experimental.enable_op_determinism()
  keep_freed_memory()

  # Set up the pre-trained graph and the photos.
  graph_path = files.maybe_download_and_extract(FLAGS.model_dir, FLAGS.model_url)
  maybe_download_flowers(FLAGS.image_dir, FLAGS.flowers_url)
  image_lists = create_image_lists(FLAGS.image_dir, FLAGS.testing_percentage,
                                   FLAGS.validation_percentage)
  labels = list(image_lists.keys())
  photos = list_photos(image_lists, FLAGS.image_dir)
  log('Found %d photos in %d classes' % (len(photos), len(labels)))

  # Cache the bottleneck of every photo; train and evaluate from memory.
  inception_graph_def = read_inception_graph(graph_path)
  bottlenecks = cache_bottlenecks(inception_graph_def, photos,
                                  FLAGS.bottleneck_dir)
  splits = split_sets(photos, bottlenecks)
  check_every_class_has_photos(splits, labels)
  log('Training on %d photos, validating on %d, testing on %d' % tuple(
      len(splits[c].labels) for c in ('training', 'validation', 'testing')))

  # Add the new layer that we'll be training, and train it.
  settings = training.Settings(
      steps=FLAGS.how_many_training_steps, learning_rate=FLAGS.learning_rate,
      train_batch_size=FLAGS.train_batch_size,
      validation_batch_size=FLAGS.validation_batch_size,
      test_batch_size=FLAGS.test_batch_size,
      eval_step_interval=FLAGS.eval_step_interval, seed=FLAGS.random_seed,
      print_misclassified=FLAGS.print_misclassified_test_images)
  distortion_flags = (FLAGS.flip_left_right, FLAGS.random_crop,
                      FLAGS.random_scale, FLAGS.random_brightness)
  with (distortions.distorted_bottlenecks(
            inception_graph_def, FLAGS.random_seed, *distortion_flags)
        if distortions.any_distortion(*distortion_flags)
        else contextlib.nullcontext()) as distorted, \
      tf.Graph().as_default() as graph, \
      final_layer.training_session() as sess:
    tf1.set_random_seed(FLAGS.random_seed)
    training_set = final_layer.add_training_set()
    layer = final_layer.add_final_training_ops(
        len(labels), FLAGS.final_tensor_name, settings.learning_rate,
        training_set.batch)
    writers = training.summary_writers(FLAGS.summaries_dir, graph)
    sess.run(tf1.global_variables_initializer())
    history = training.train(
        sess, layer, training_set, splits['training'],
        splits['validation'], len(labels), writers, settings, distorted)

    # Measure it on the test set, and export it with Inception.
    evaluation = training.evaluate(sess, layer, splits['testing'], labels,
                                   settings)
    output_graph_def = final_layer.frozen_graph(sess, inception_graph_def,
                                                FLAGS.final_tensor_name)
  save_graph_and_labels(output_graph_def, labels, FLAGS.output_graph,
                        FLAGS.output_labels)
  if FLAGS.export_tflite:
    save_tflite(output_graph_def, FLAGS.final_tensor_name, FLAGS.output_graph,
                FLAGS.output_labels, len(labels), FLAGS.tflite_float16)
  if FLAGS.save_charts:
    save_charts(history, evaluation, labels, FLAGS.output_graph)
  report_skipped_photos(bottlenecks.skipped, FLAGS.output_graph)


def main(argv):
  if len(argv) > 1:
    sys.exit('retrain.py: error: unexpected argument %r (flags look like '
             '--image_dir=PATH; see --help)' % argv[1])
  with errors_as_one_line('retrain.py'):
    retrain()


if __name__ == '__main__':
  app.run(main)
