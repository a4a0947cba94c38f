# -*- coding: utf-8 -*-
r"""Retrains the top layer of Inception v3 (or a phone-class base) on your own
photos.

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

--architecture picks another base than the book's Inception v3: a Keras
application (retraining/bases.py), whose weights are downloaded and frozen
into a graph of the same form; the steps and the files are the same.
"""

import sys

from absl import app, flags

from retraining import (
  bases,
  dataset,
  defaults,
  downloads,
  errors_as_one_line,
  log,
  outputs,
)
from retraining.figures import charts
from retraining.graph import (
  bottlenecks,
  distortions,
  export,
  final_layer,
  summaries,
  training,
)
from retraining.graph import runner as graph_runner
from retraining.graph.tensorflow_v1 import set_up_process, tf, tf1
from retraining.image_lists import create_image_lists
from retraining.lite import quantization

FLAGS = flags.FLAGS
# Input and output file flags.
flags.DEFINE_string('image_dir', defaults.IMAGE_DIR,
                    'Folder of labelled photos: one sub-folder per class. The '
                    'default folder is downloaded (the flowers) if missing.')
flags.DEFINE_string('output_graph', defaults.OUTPUT_GRAPH,
                    'Where to save the trained graph.')
flags.DEFINE_string('output_labels', defaults.OUTPUT_LABELS,
                    'Where to save the trained graph\'s labels.')
flags.DEFINE_string('summaries_dir', defaults.SUMMARIES_DIR,
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
                     'scores slightly off the graph\'s (predict.py\'s too). '
                     'The same as --tflite_quantize=float16.')
flags.DEFINE_enum('tflite_quantize', 'none', quantization.MODES,
                  'A smaller .tflite: float16 or dynamic (weights stored as '
                  'float16 or int8) or int8 (full-integer, calibrated on '
                  'training photos). It is checked against the float model '
                  'on the test set first; where it falls short, the float '
                  'model is written and the quantized one kept beside it.')
flags.DEFINE_float('max_quantization_loss', 1.0,
                   'The most points of test accuracy a quantized .tflite may '
                   'lose, on the whole test set and on each class, to be '
                   'the phone model.', lower_bound=0)
flags.DEFINE_integer('random_seed', 0,
                     'Seed for the weights and the sampled batches: the same '
                     'photos, flags and seed give the same model.')
# The base model and file-system cache locations.
flags.DEFINE_enum('architecture', bases.DEFAULT, list(bases.BASES),
                  bases.ARCHITECTURE_HELP)
flags.DEFINE_string('model_dir', defaults.MODEL_DIR, bases.MODEL_DIR_HELP)
flags.DEFINE_string('model_url', '', bases.MODEL_URL_HELP)
flags.DEFINE_string('flowers_url', downloads.FLOWERS_URL,
                    'Where to download the flower photos from when the default '
                    '--image_dir is missing.')
flags.DEFINE_string('bottleneck_dir', defaults.BOTTLENECK_DIR,
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
    ['tflite_float16', 'tflite_quantize'],
    lambda values: not values['tflite_float16'] or
    values['tflite_quantize'] in ('none', 'float16'),
    '--tflite_float16 means --tflite_quantize=float16: give one of the two')
flags.register_multi_flags_validator(
    ['testing_percentage', 'validation_percentage'],
    lambda values: sum(values.values()) < 100,
    '--testing_percentage plus --validation_percentage leave no photo for '
    'training')


def training_settings():
  """How to train and measure the layer, from the flags of the same names."""
  return training.Settings(
      steps=FLAGS.how_many_training_steps, learning_rate=FLAGS.learning_rate,
      train_batch_size=FLAGS.train_batch_size,
      validation_batch_size=FLAGS.validation_batch_size,
      test_batch_size=FLAGS.test_batch_size,
      eval_step_interval=FLAGS.eval_step_interval, seed=FLAGS.random_seed,
      print_misclassified=FLAGS.print_misclassified_test_images)


def distortion_flags():
  """Upstream's distortions of training photos, from the flags of the same
  names."""
  return distortions.Distortions(FLAGS.flip_left_right, FLAGS.random_crop,
                                 FLAGS.random_scale, FLAGS.random_brightness)


def quantization_plan(sets, class_count):
  """What --tflite_quantize asks of the .tflite, with the photos to
  calibrate it on and to check it on (see lite/quantization.py)."""
  return quantization.plan(
      quantization.chosen_mode(FLAGS.tflite_quantize, FLAGS.tflite_float16),
      FLAGS.max_quantization_loss, sets['training'], sets['testing'],
      class_count, FLAGS.random_seed)


def train_final_layer(base_graph_def, base, sets, labels, settings,
                      photo_distortions, final_tensor_name, summaries_dir):
  """Adds the new layer, trains it and measures it on the test set; returns
  (the frozen graph: the base plus the layer, the history, the Evaluation)."""
  with distortions.distorted_bottlenecks(base_graph_def, base, settings.seed,
                                         photo_distortions) as distorted, \
      tf.Graph().as_default() as graph, \
      final_layer.training_session() as sess:
    tf1.set_random_seed(settings.seed)
    layer = final_layer.add_final_layer(base.bottleneck_size, len(labels),
                                        final_tensor_name,
                                        settings.learning_rate)
    writers = summaries.summary_writers(summaries_dir, graph)
    sess.run(tf1.global_variables_initializer())
    history = training.train(sess, layer, sets, settings, writers, distorted)
    evaluation = training.evaluate(sess, layer, sets['testing'], labels,
                                   settings)
    output_graph_def = final_layer.frozen_graph(
        sess, base_graph_def, base.bottleneck_node, final_tensor_name)
  return output_graph_def, history, evaluation


def retrain():
  set_up_process()

  # Set up the pre-trained graph and the photos.
  base = bases.BASES[FLAGS.architecture]
  graph_path = downloads.maybe_download_base(
      base, FLAGS.model_dir, FLAGS.model_url or bases.weights_url(base))
  downloads.maybe_download_flowers(FLAGS.image_dir, FLAGS.flowers_url)
  image_lists = create_image_lists(FLAGS.image_dir, FLAGS.testing_percentage,
                                   FLAGS.validation_percentage)
  labels = list(image_lists.keys())
  photos = dataset.list_photos(image_lists, FLAGS.image_dir, base)
  log('Found %d photos in %d classes' % (len(photos), len(labels)))

  # Cache the bottleneck of every photo; train and evaluate from memory.
  base_graph_def = graph_runner.read_graph(graph_path, base)
  cached = bottlenecks.cached_bottlenecks(base_graph_def, base, photos,
                                          FLAGS.bottleneck_dir)
  sets = dataset.cut_into_sets(photos, cached)
  dataset.check_every_class_has_photos(sets, labels)
  dataset.warn_of_same_content(sets)
  log('Training on %d photos, validating on %d, testing on %d' % tuple(
      len(sets[s].labels) for s in ('training', 'validation', 'testing')))

  # Add the new layer, train it, measure it on the test set.
  output_graph_def, history, evaluation = train_final_layer(
      base_graph_def, base, sets, labels, training_settings(),
      distortion_flags(), FLAGS.final_tensor_name, FLAGS.summaries_dir)

  # Export it with the base: the graph, the labels, the phone model.
  export.save_model(output_graph_def, base, labels, FLAGS.final_tensor_name,
                    FLAGS.output_graph, FLAGS.output_labels,
                    FLAGS.export_tflite, quantization_plan(sets, len(labels)))
  if FLAGS.save_charts:
    charts.save_training_figures(history, evaluation, labels,
                                 FLAGS.output_graph)
  dataset.report_skipped_photos(cached.skipped, FLAGS.output_graph)


def main(argv):
  if len(argv) > 1:
    sys.exit('retrain.py: error: unexpected argument %r (flags look like '
             '--image_dir=PATH; see --help)' % argv[1])
  with errors_as_one_line():
    outputs.check_output_paths({'output_graph': FLAGS.output_graph,
                                'output_labels': FLAGS.output_labels})
    # One run at a time writes these outputs: its graph, labels and .tflite.
    with outputs.exclusive_lock(FLAGS.output_graph):
      retrain()


if __name__ == '__main__':
  app.run(main)
