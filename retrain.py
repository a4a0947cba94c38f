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
in index order. predict.py uses both.
"""

import collections
import concurrent.futures
import contextlib
import datetime
import os
import sys

import numpy as np
from absl import app, flags

from retraining import UserError, warn
from retraining import cache
from retraining import charts
from retraining import files
from retraining import graph as inception
from retraining.photos import CATEGORIES, create_image_lists
from retraining.progress import progress_bar

tf = inception.tf
tf1 = inception.tf1

DATA_URL = 'http://download.tensorflow.org/models/image/imagenet/inception-2015-12-05.tgz'
DATA_SIZE = 88931400
DATA_SHA256 = 'f6b539e07358fc4622efdd40cdb5577672c46cd416bbfccf9d4d2438f9b93a1c'
GRAPH_SIZE = 95673916  # classify_image_graph_def.pb in that archive
GRAPH_SHA256 = '009d6814d1bc560d4e7b236e170e9b2d5ca6f4b57bd8037f6db05776204415c6'
FLOWERS_URL = 'http://download.tensorflow.org/example_images/flower_photos.tgz'
FLOWERS_SHA256 = '4c54ace7911aaffe13a365c34f650e71dd5bf1be0a58b464e5a7183e3e595d9c'
FLOWERS_FOLDER = 'flower_photos'
WORKSPACE = './workspace'

FLAGS = flags.FLAGS
# Input and output file flags.
flags.DEFINE_string('image_dir', os.path.join(WORKSPACE, FLOWERS_FOLDER),
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
                     'How many training steps to run before ending.')
flags.DEFINE_float('learning_rate', 0.01,
                   'How large a learning rate to use when training.')
flags.DEFINE_integer('testing_percentage', 10,
                     'What percentage of photos to use as a test set.')
flags.DEFINE_integer('validation_percentage', 10,
                     'What percentage of photos to use as a validation set.')
flags.DEFINE_integer('eval_step_interval', 10,
                     'How often to evaluate the training results.')
flags.DEFINE_integer('train_batch_size', 100,
                     'How many photos to train on at a time.')
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
flags.DEFINE_integer('random_seed', 0,
                     'Seed for the weights and the sampled batches: the same '
                     'photos, flags and seed give the same model.')
# File-system cache locations.
flags.DEFINE_string('model_dir', os.path.join(WORKSPACE, 'inception'),
                    'Folder of classify_image_graph_def.pb; it is downloaded '
                    'there if missing.')
flags.DEFINE_string('model_url', DATA_URL,
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

BOTTLENECK_INPUT_NODE = 'input/BottleneckInputPlaceholder'
TRAINING_SET_VARIABLES = ('training_set/stored_bottlenecks',
                          'training_set/stored_labels')

Photo = collections.namedtuple(
    'Photo', 'label_index category image_path cache_path')
FinalLayer = collections.namedtuple(
    'FinalLayer', 'bottleneck_input ground_truth_input final_tensor '
    'cross_entropy train_step evaluation_step prediction '
    'train_summaries validation_summaries')


def log(message):
  print('%s: %s' % (datetime.datetime.now(), message), flush=True)


# ---------------------------------------------------------------- downloads

def maybe_download_and_extract(model_dir, url):
  """Makes sure classify_image_graph_def.pb is in model_dir; returns its path.

  Nothing is fetched (no network access at all) when the .pb is there, and
  a complete archive already in model_dir is extracted without downloading.
  """
  graph_path = os.path.join(model_dir, inception.GRAPH_FILE_NAME)
  if os.path.exists(graph_path):
    warn_if_not_the_known_graph(graph_path)
    return graph_path
  archive = os.path.join(model_dir, os.path.basename(url) or 'inception.tgz')
  known = url == DATA_URL
  fetch_archive(url, archive, size=DATA_SIZE if known else None,
                sha256=DATA_SHA256 if known else None,
                offline_hint='download %s on another machine and put it (or '
                'the %s inside it) in %s' % (DATA_URL, inception.GRAPH_FILE_NAME,
                                             model_dir))
  extract_or_discard(archive, files.extract_member, inception.GRAPH_FILE_NAME,
                     graph_path)
  return graph_path


def warn_if_not_the_known_graph(graph_path):
  """A graph that is not the 2015 one is used as it is, with one warning:
  it may be the user's own."""
  if (os.path.getsize(graph_path) != GRAPH_SIZE or
      files.sha256_of(graph_path) != GRAPH_SHA256):
    warn('%s is not the one in inception-2015-12-05.tgz (its size or sha256 '
         'differs); using it as it is' % graph_path)


def maybe_download_flowers(image_dir, url):
  """Fetches the flower photos when the default --image_dir is missing."""
  default = flags.FLAGS['image_dir'].default
  if os.path.exists(image_dir) or (
      os.path.abspath(image_dir) != os.path.abspath(default)):
    return
  parent = os.path.dirname(os.path.abspath(image_dir))
  archive = os.path.join(parent, os.path.basename(url) or 'flower_photos.tgz')
  fetch_archive(url, archive,
                sha256=FLOWERS_SHA256 if url == FLOWERS_URL else None,
                offline_hint='put your photos in %s, one sub-folder per class'
                % image_dir)
  extract_or_discard(archive, files.extract_folder, FLOWERS_FOLDER, parent)


def fetch_archive(url, archive, size=None, sha256=None, offline_hint=''):
  """Downloads `url` to `archive` unless a complete copy is already there."""
  if os.path.exists(archive):
    try:
      files.check_archive(archive, size=size, sha256=sha256)
      return
    except UserError as e:
      warn('%s; downloading it again' % e)
      os.remove(archive)
  try:
    files.download(url, archive, size=size, sha256=sha256)
  except UserError as e:
    raise UserError('%s. Without internet, %s' % (e, offline_hint))


def extract_or_discard(archive, extract, *args):
  """Runs extract(archive, *args); a damaged archive is deleted so that the
  next run downloads it again."""
  try:
    extract(archive, *args)
  except UserError:
    os.remove(archive)
    raise


# ---------------------------------------------------------------- photos

def list_photos(image_lists, image_dir):
  """Flattens the image lists into one list of Photo, in label order."""
  photos = []
  for label_index, lists in enumerate(image_lists.values()):
    for category in CATEGORIES:
      for file_name in lists[category]:
        photos.append(Photo(
            label_index, category,
            os.path.join(image_dir, lists['dir'], file_name),
            cache.cache_file_name(lists['dir'], file_name)))
  return photos


def cache_bottlenecks(inception_graph_def, photos, bottleneck_dir):
  """Returns the bottleneck of every photo, computing those not yet cached.

  Cached values are read once (see retraining/cache.py). Missing ones are
  computed in batches through the rewritten graph while a thread writes each
  to its cache file, so a killed run resumes where it stopped; with a warm
  cache Inception is not even loaded into TensorFlow. Returns
  (values [n, 2048], ok [n], skipped paths): a photo that cannot be decoded
  is not ok, and is named once in a warning.
  """
  rel_paths = [p.cache_path for p in photos]
  cache.remove_stale_temp_files(bottleneck_dir)
  values, ok, broken, parsed_count = cache.load_bottlenecks(bottleneck_dir,
                                                            rel_paths)
  for path in broken:
    warn('cache file %s is damaged; computing it again' % path)
  todo = {photos[i].image_path: i for i in np.flatnonzero(~ok)}
  skipped = []
  if todo:
    log('Creating %d bottlenecks (%d found in the cache at %s)'
        % (len(todo), ok.sum(), bottleneck_dir))
  writes = []
  with progress_bar(total=len(photos), initial=int(ok.sum()),
                    desc='Bottlenecks', unit='photo') as bar, \
      concurrent.futures.ThreadPoolExecutor(1) as writer, \
      inception.photo_outputs(inception_graph_def, list(todo),
                              inception.BOTTLENECK_TENSOR_NAME) as batches:
    bar.set_postfix_str('%d cached' % ok.sum())
    for paths, batch, failures in batches:
      for path, vector in zip(paths, batch):
        i = todo[path]
        values[i], ok[i] = vector, True
        writes.append(writer.submit(
            cache.write_bottleneck,
            os.path.join(bottleneck_dir, rel_paths[i]), vector))
      for path, reason in failures:
        bar.write('WARNING: skipped %s: %s' % (path, reason), file=sys.stderr)
        skipped.append(path)
      bar.set_postfix_str('%d cached, %d computed, %d skipped' % (
          len(photos) - len(todo), len(writes), len(skipped)), refresh=False)
      bar.update(len(paths) + len(failures))
  for write in writes:
    if write.exception():
      raise UserError('cannot write the bottleneck cache in %s (%s)'
                      % (bottleneck_dir, write.exception()))
  if todo or parsed_count:  # Otherwise the index is already up to date.
    cache.save_index(bottleneck_dir,
                     [r for r, good in zip(rel_paths, ok) if good], values[ok])
  return values, ok, skipped


def beside_output_graph(suffix):
  """workspace/flowers_graph.pb -> workspace/flowers_graph<suffix>."""
  return os.path.splitext(FLAGS.output_graph)[0] + suffix


def report_skipped_photos(skipped):
  """Lists the photos that could not be read in <output_graph>_skipped.txt."""
  if skipped:
    path = beside_output_graph('_skipped.txt')
    files.write_text(path, ''.join(p + '\n' for p in skipped))
    warn('%d photos could not be read and were left out; the list is in %s'
         % (len(skipped), path))


def split_arrays(photos, values, ok, labels):
  """Per category: (bottlenecks, label indices, image paths), sorted by label."""
  datasets = {}
  for category in CATEGORIES:
    rows = [i for i, p in enumerate(photos) if ok[i] and p.category == category]
    datasets[category] = (
        values[rows], np.array([photos[i].label_index for i in rows], np.int64),
        [photos[i].image_path for i in rows])
  check_every_class_has_photos(datasets, labels)
  return datasets


def check_every_class_has_photos(datasets, labels):
  """Refuses a class with no training photo; warns of empty validation/test."""
  counts = {c: np.bincount(datasets[c][1], minlength=len(labels))
            for c in CATEGORIES}
  for label_index, label in enumerate(labels):
    total = sum(int(counts[c][label_index]) for c in CATEGORIES)
    if counts['training'][label_index] == 0:
      raise UserError('class %r has no photo in the training set (%d usable '
                      'photos in all): add photos to its folder' % (label, total))
    for category, flag in (('validation', 'validation_percentage'),
                           ('testing', 'testing_percentage')):
      if counts[category][label_index] == 0 and len(datasets[category][1]):
        warn('class %r (%d photos) has no photo in the %s set, so it is not '
             'measured there: add photos or raise --%s'
             % (label, total, category, flag))


# ---------------------------------------------------------------- training

def add_training_set(train_count):
  """The training bottlenecks and labels, held in the graph.

  They are loaded once, so that a training step is fed only the row numbers
  of its batch: feeding 100 x 2,048 floats at every step cost a fifth of the
  training time. Returns (rows placeholder, (the batch's bottlenecks, its
  labels), load(sess, bottlenecks, labels)).
  """
  with tf1.name_scope('training_set'):
    bottlenecks = tf1.placeholder(
        tf.float32, [train_count, inception.BOTTLENECK_TENSOR_SIZE],
        name='bottlenecks')
    labels = tf1.placeholder(tf.int64, [train_count], name='labels')
    stored = [tf1.Variable(value, trainable=False, collections=[],
                           name=name.split('/')[-1])
              for value, name in zip((bottlenecks, labels),
                                     TRAINING_SET_VARIABLES)]
    rows = tf1.placeholder(tf.int64, [None], name='rows')
    batch = tuple(tf.gather(values, rows) for values in stored)
    load_op = tf.group([values.initializer for values in stored])

  def load(sess, bottleneck_values, label_values):
    sess.run(load_op, {bottlenecks: bottleneck_values, labels: label_values})
  return rows, batch, load


def add_final_training_ops(class_count, final_tensor_name, default_batch):
  """Adds the new softmax layer and its training ops, as upstream does.

  The layer reads `input/BottleneckInputPlaceholder` and the labels
  `input/GroundTruthInput`, which default to `default_batch`, the training
  batch picked by row number (see add_training_set). Evaluation and
  distortions feed them instead. In the exported graph the bottleneck input
  defaults to Inception's bottleneck (see inception.attach_final_layer).
  Returns a FinalLayer.
  """
  with tf1.name_scope('input'):
    bottleneck_input = tf1.placeholder_with_default(
        default_batch[0], shape=[None, inception.BOTTLENECK_TENSOR_SIZE],
        name=BOTTLENECK_INPUT_NODE.split('/')[-1])
    ground_truth_input = tf1.placeholder_with_default(
        default_batch[1], [None], name='GroundTruthInput')
  with tf1.name_scope('final_training_ops'):
    with tf1.name_scope('weights'):
      layer_weights = tf1.Variable(tf1.truncated_normal(
          [inception.BOTTLENECK_TENSOR_SIZE, class_count], stddev=0.001),
                                   name='final_weights')
      variable_summaries(layer_weights)
    with tf1.name_scope('biases'):
      layer_biases = tf1.Variable(tf.zeros([class_count]), name='final_biases')
      variable_summaries(layer_biases)
    with tf1.name_scope('Wx_plus_b'):
      logits = tf.matmul(bottleneck_input, layer_weights) + layer_biases
      tf1.summary.histogram('pre_activations', logits)
  final_tensor = tf.nn.softmax(logits, name=final_tensor_name)
  tf1.summary.histogram('activations', final_tensor)
  with tf1.name_scope('cross_entropy'):
    cross_entropy_mean = tf.reduce_mean(
        tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=ground_truth_input, logits=logits))
  cross_entropy_summary = tf1.summary.scalar('cross_entropy', cross_entropy_mean)
  with tf1.name_scope('train'):
    train_step = tf1.train.GradientDescentOptimizer(
        FLAGS.learning_rate).minimize(cross_entropy_mean)
  with tf1.name_scope('accuracy'):
    prediction = tf.argmax(final_tensor, 1)
    evaluation_step = tf.reduce_mean(
        tf.cast(tf.equal(prediction, ground_truth_input), tf.float32))
  accuracy_summary = tf1.summary.scalar('accuracy', evaluation_step)
  # Validation gets the two curves; the layer's histograms would repeat train's.
  return FinalLayer(bottleneck_input, ground_truth_input, final_tensor,
                    cross_entropy_mean, train_step, evaluation_step, prediction,
                    tf1.summary.merge_all(),
                    tf1.summary.merge([cross_entropy_summary, accuracy_summary]))


def variable_summaries(var):
  with tf1.name_scope('summaries'):
    mean = tf.reduce_mean(var)
    tf1.summary.scalar('mean', mean)
    tf1.summary.scalar('stddev', tf.sqrt(tf.reduce_mean(tf.square(var - mean))))
    tf1.summary.scalar('max', tf.reduce_max(var))
    tf1.summary.scalar('min', tf.reduce_min(var))
    tf1.summary.histogram('histogram', var)


def batch_sampler(rng, labels, class_count):
  """Returns sample(batch_size) -> row indices of a batch, as upstream picks
  them: a class uniformly, then a photo in it (so rare classes are not
  drowned). `labels` must be sorted; a batch size of -1 means every row."""
  starts = np.searchsorted(labels, np.arange(class_count))
  counts = np.bincount(labels, minlength=class_count)
  present = np.flatnonzero(counts)

  def sample(batch_size):
    if batch_size < 0:
      return np.arange(len(labels))
    classes = present[rng.integers(len(present), size=batch_size)]
    return starts[classes] + rng.integers(counts[classes])
  return sample


def add_input_distortions(flip_left_right, random_crop, random_scale,
                          random_brightness):
  """Upstream's random crop, scale, flip and brightness for one photo.

  Returns (jpeg input, decoded image, distorted [1, 299, 299, 3]): the same
  three points as the graph's own decoding head, so photos reach it the same
  way (see inception.resize_photo), and the result goes through the body in
  batches like any other.
  """
  jpeg_data = tf1.placeholder(tf.string, name='DistortJPGInput')
  decoded_image = tf.image.decode_jpeg(jpeg_data,
                                       channels=inception.MODEL_INPUT_DEPTH)
  decoded_image_4d = tf.expand_dims(tf.cast(decoded_image, tf.float32), 0)
  margin_scale = 1.0 + (random_crop / 100.0)
  resize_scale = 1.0 + (random_scale / 100.0)
  scale_value = margin_scale * tf1.random_uniform([], 1.0, resize_scale)
  precrop_shape = tf.cast(tf.stack([
      scale_value * inception.MODEL_INPUT_HEIGHT,
      scale_value * inception.MODEL_INPUT_WIDTH]), tf.int32)
  precropped_image = tf1.image.resize_bilinear(decoded_image_4d, precrop_shape)
  cropped_image = tf1.random_crop(tf.squeeze(precropped_image, [0]), [
      inception.MODEL_INPUT_HEIGHT, inception.MODEL_INPUT_WIDTH,
      inception.MODEL_INPUT_DEPTH])
  if flip_left_right:
    cropped_image = tf.image.random_flip_left_right(cropped_image)
  brightness_value = tf1.random_uniform([], 1.0 - random_brightness / 100.0,
                                        1.0 + random_brightness / 100.0)
  distort_result = tf.expand_dims(cropped_image * brightness_value, 0,
                                  name='DistortResult')
  return jpeg_data.name, decoded_image.name, distort_result.name


@contextlib.contextmanager
def distortions(inception_graph_def):
  """Yields paths -> bottlenecks of distorted copies, or None when no
  distortion flag is set (then training runs on the cached bottlenecks)."""
  if not should_distort_images():
    yield None
    return
  with inception.body_session(inception_graph_def) as (sess, start_body), \
      inception.decoding_threads() as pool:
    with sess.graph.as_default():
      tf1.set_random_seed(FLAGS.random_seed)
      head = add_input_distortions(FLAGS.flip_left_right, FLAGS.random_crop,
                                   FLAGS.random_scale, FLAGS.random_brightness)
    yield lambda paths: distorted_bottlenecks(sess, start_body, pool, paths, head)


def should_distort_images():
  return (FLAGS.flip_left_right or FLAGS.random_crop != 0 or
          FLAGS.random_scale != 0 or FLAGS.random_brightness != 0)


def distorted_bottlenecks(sess, start_body, pool, paths, distortion_head):
  """Bottlenecks of freshly distorted photos, in one pass through the body:
  the distortion head runs in `sess`, the body's session, as `start_body`."""
  (_, images, failures), = inception.resized_batches(
      pool, sess, paths, batch_size=len(paths), head=distortion_head)
  if failures:  # Every photo here was read once already while caching.
    raise UserError('photo %s cannot be read any more: %s' % failures[0])
  return start_body(images)()


def training_session():
  """A session that runs the new layer's ops one at a time, on a thread of
  its own.

  They are tiny (a step multiplies 100 x 2,048 by 2,048 x classes), and
  handing them between threads took a quarter of the training time. The
  thread is the session's own: TensorFlow sizes the pool that sessions
  share when the first one starts, and Inception's sessions need one
  thread per core there (see inception.session_config).
  """
  return tf1.Session(config=tf1.ConfigProto(inter_op_parallelism_threads=1,
                                            intra_op_parallelism_threads=1,
                                            use_per_session_threads=True))


def summary_writers(summaries_dir, graph):
  """TensorBoard writers for train/ and validation/, cleared of old runs.

  Only the event files of earlier runs are deleted, never the folder, since
  --summaries_dir may point anywhere.
  """
  writers = []
  for name in ('train', 'validation'):
    folder = os.path.join(summaries_dir, name)
    if os.path.isdir(folder):
      for entry in os.scandir(folder):
        if entry.name.startswith('events.out.tfevents.'):
          os.remove(entry.path)
    writers.append(tf1.summary.FileWriter(folder, graph if name == 'train'
                                          else None))
  return writers


def train(sess, datasets, class_count, layer, training_rows, writers,
          distorted):
  """Runs the training steps, logging as upstream; returns the history.

  A step is fed the row numbers of its batch in the training set the graph
  holds; with distortions (`distorted` maps photo paths to the bottlenecks
  of freshly distorted copies) it is fed those bottlenecks instead.
  """
  train_writer, validation_writer = writers
  rng = np.random.default_rng(FLAGS.random_seed)
  _, train_y, train_paths = datasets['training']
  validation_x, validation_y, _ = datasets['validation']
  sample_train = batch_sampler(rng, train_y, class_count)
  sample_validation = batch_sampler(rng, validation_y, class_count)
  if distorted:
    step_inputs = [layer.bottleneck_input, layer.ground_truth_input]
    batch_of = lambda rows: (distorted([train_paths[r] for r in rows]),
                             train_y[rows])
  else:
    step_inputs = [training_rows]
    batch_of = lambda rows: (rows,)
  # Callables skip sess.run's parsing of feeds and fetches at every call.
  train_step = sess.make_callable(layer.train_step, step_inputs)
  measure_train = sess.make_callable(
      [layer.train_summaries, layer.evaluation_step, layer.cross_entropy],
      step_inputs)
  measure_validation = sess.make_callable(
      [layer.validation_summaries, layer.evaluation_step],
      [layer.bottleneck_input, layer.ground_truth_input])
  history = collections.defaultdict(list)
  for i in range(FLAGS.how_many_training_steps):
    batch = batch_of(sample_train(FLAGS.train_batch_size))
    train_step(*batch)
    is_last_step = (i + 1 == FLAGS.how_many_training_steps)
    if (i % FLAGS.eval_step_interval) == 0 or is_last_step:
      # Summaries are written at evaluation steps only: writing histograms at
      # every step tripled the training time for curves nobody can tell apart.
      train_summary, train_accuracy, cross_entropy_value = measure_train(*batch)
      train_writer.add_summary(train_summary, i)
      log('Step %d: Train accuracy = %.1f%%' % (i, train_accuracy * 100))
      log('Step %d: Cross entropy = %f' % (i, cross_entropy_value))
      history['step'].append(i)
      history['train_accuracy'].append(float(train_accuracy))
      history['cross_entropy'].append(float(cross_entropy_value))
      if len(validation_y):
        rows = sample_validation(FLAGS.validation_batch_size)
        validation_summary, validation_accuracy = measure_validation(
            validation_x[rows], validation_y[rows])
        validation_writer.add_summary(validation_summary, i)
        log('Step %d: Validation accuracy = %.1f%% (N=%d)'
            % (i, validation_accuracy * 100, len(rows)))
        history['validation_accuracy'].append(float(validation_accuracy))
  train_writer.flush()
  validation_writer.flush()
  return history


def evaluate(sess, datasets, labels, layer):
  """Prints the final test accuracy and a per-class report.

  Returns ((accuracy, N), confusion matrix), or (None, None) without a test set.
  """
  test_x, test_y, test_paths = datasets['testing']
  if not len(test_y):
    warn('the test set is empty, so no test accuracy can be given: raise '
         '--testing_percentage or add photos')
    return None, None
  rows = batch_sampler(np.random.default_rng(FLAGS.random_seed), test_y,
                       len(labels))(FLAGS.test_batch_size)
  test_accuracy, predictions = sess.run(
      [layer.evaluation_step, layer.prediction],
      {layer.bottleneck_input: test_x[rows],
       layer.ground_truth_input: test_y[rows]})
  log('Final test accuracy = %.1f%% (N=%d)' % (test_accuracy * 100, len(rows)))
  matrix = charts.confusion_matrix(test_y[rows], predictions, len(labels))
  print(charts.format_evaluation_report(matrix, labels), flush=True)
  if FLAGS.print_misclassified_test_images:
    log('=== MISCLASSIFIED TEST IMAGES ===')
    for row, predicted in zip(rows, predictions):
      if predicted != test_y[row]:
        print('%70s  %s (predicted %s)'
              % (test_paths[row], labels[test_y[row]], labels[predicted]))
  return (float(test_accuracy), len(rows)), matrix


def save_charts(history, test_result, matrix, labels):
  saved = [beside_output_graph('_training.png')]
  charts.save_training_chart(history, test_result, saved[0])
  if matrix is not None:
    saved.append(beside_output_graph('_confusion.png'))
    charts.save_confusion_matrix(matrix, labels, saved[1])
  log('Saved %s' % ' and '.join(saved))


def save_graph_and_labels(sess, inception_graph_def, labels):
  """Writes the frozen graph and the labels, each complete or not at all."""
  layer_graph_def = tf1.graph_util.convert_variables_to_constants(
      sess, sess.graph.as_graph_def(), [FLAGS.final_tensor_name],
      variable_names_blacklist=list(TRAINING_SET_VARIABLES))
  output_graph_def = inception.attach_final_layer(
      inception_graph_def, layer_graph_def, BOTTLENECK_INPUT_NODE,
      FLAGS.final_tensor_name)
  files.write_bytes(FLAGS.output_graph,
                    output_graph_def.SerializeToString(deterministic=True))
  files.write_text(FLAGS.output_labels, '\n'.join(labels) + '\n')
  log('Saved %s and %s' % (FLAGS.output_graph, FLAGS.output_labels))


def check_flags():
  for name in ('testing_percentage', 'validation_percentage'):
    if not 0 <= FLAGS[name].value < 100:
      raise UserError('--%s must be between 0 and 99' % name)
  if FLAGS.testing_percentage + FLAGS.validation_percentage >= 100:
    raise UserError('--testing_percentage plus --validation_percentage leave '
                    'no photo for training')
  for name in ('how_many_training_steps', 'eval_step_interval',
               'train_batch_size'):
    if FLAGS[name].value < 1:
      raise UserError('--%s must be at least 1' % name)


def retrain():
  check_flags()
  tf.config.experimental.enable_op_determinism()
  inception.keep_freed_memory()

  # Set up the pre-trained graph and the photos.
  graph_path = maybe_download_and_extract(FLAGS.model_dir, FLAGS.model_url)
  maybe_download_flowers(FLAGS.image_dir, FLAGS.flowers_url)
  image_lists = create_image_lists(FLAGS.image_dir, FLAGS.testing_percentage,
                                   FLAGS.validation_percentage)
  labels = list(image_lists.keys())
  class_count = len(labels)
  photos = list_photos(image_lists, FLAGS.image_dir)
  log('Found %d photos in %d classes' % (len(photos), class_count))

  # Cache the bottleneck of every photo; train and evaluate from memory.
  inception_graph_def = inception.fast_graph_def(
      inception.read_graph_def(graph_path))
  values, ok, skipped = cache_bottlenecks(inception_graph_def, photos,
                                          FLAGS.bottleneck_dir)
  datasets = split_arrays(photos, values, ok, labels)
  log('Training on %d photos, validating on %d, testing on %d' % tuple(
      len(datasets[c][1]) for c in ('training', 'validation', 'testing')))

  # Add the new layer that we'll be training, and train it.
  with distortions(inception_graph_def) as distorted, \
      tf.Graph().as_default() as graph, training_session() as sess:
    tf1.set_random_seed(FLAGS.random_seed)
    training_rows, training_batch, load_training_set = add_training_set(
        len(datasets['training'][1]))
    layer = add_final_training_ops(class_count, FLAGS.final_tensor_name,
                                   training_batch)
    writers = summary_writers(FLAGS.summaries_dir, graph)
    sess.run(tf1.global_variables_initializer())
    load_training_set(sess, *datasets['training'][:2])
    history = train(sess, datasets, class_count, layer, training_rows, writers,
                    distorted)

    # Measure it on the test set, and export it with Inception.
    test_result, matrix = evaluate(sess, datasets, labels, layer)
    save_graph_and_labels(sess, inception_graph_def, labels)
  if FLAGS.save_charts:
    save_charts(history, test_result, matrix, labels)
  report_skipped_photos(skipped)


def main(argv):
  if len(argv) > 1:
    sys.exit('retrain.py: error: unexpected argument %r (flags look like '
             '--image_dir=PATH; see --help)' % argv[1])
  try:
    retrain()
  except UserError as e:
    sys.exit('retrain.py: error: %s' % e)
  except KeyboardInterrupt:
    sys.exit('retrain.py: interrupted; the cache keeps what was finished, run '
             'again to resume')


if __name__ == '__main__':
  app.run(main)
