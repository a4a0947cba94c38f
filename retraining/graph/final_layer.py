"""The new softmax layer: trained on batches the graph picks from the fed
training set, and frozen onto the base for the export.

This module owns the contract between training and the exported graph. The
layer reads BOTTLENECK_INPUT_NODE, which during training defaults to a batch
of the training set (see add_training_set), picked by row number;
`frozen_graph` keeps what `final_result` needs, with that input fed by
the base's bottleneck instead, and leaves the training set out.
"""

import collections

from retraining.graph import rewrite
from retraining.graph.tensorflow_v1 import tf, tf1

BOTTLENECK_INPUT_NODE = 'input/BottleneckInputPlaceholder'
GROUND_TRUTH_INPUT_NODE = 'input/GroundTruthInput'

TrainingSet = collections.namedtuple('TrainingSet', 'bottlenecks labels rows batch')
# The new layer's handles in the training graph: what training feeds,
# runs and measures.
FinalLayer = collections.namedtuple(
    'FinalLayer', 'class_count training_set bottleneck_input '
    'ground_truth_input cross_entropy train_step evaluation_step prediction '
    'train_summaries validation_summaries')


def add_final_layer(bottleneck_size, class_count, final_tensor_name,
                    learning_rate):
  """The training set's placeholders, then the new layer reading batches of
  it, in the default graph: its FinalLayer."""
  training_set = add_training_set(bottleneck_size)
  return add_final_training_ops(class_count, final_tensor_name,
                                learning_rate, training_set)


def add_training_set(bottleneck_size):
  """Placeholders for the whole training set's bottlenecks and labels, and
  `batch`, the (bottlenecks, labels) of the rows numbered in `rows`.

  A training step is fed the whole set and the row numbers of its batch.
  TensorFlow reads an aligned array in place when it is fed (see
  machine.aligned), so this copies nothing but the batch, and the training
  set is held once, in numpy, whatever its size; a variable holding it
  would be a second copy.
  """
  with tf1.name_scope('training_set'):
    bottlenecks = tf1.placeholder(
        tf.float32, [None, bottleneck_size], name='bottlenecks')
    labels = tf1.placeholder(tf.int64, [None], name='labels')
    rows = tf1.placeholder(tf.int64, [None], name='rows')
    batch = tuple(tf.gather(values, rows) for values in (bottlenecks, labels))
  return TrainingSet(bottlenecks, labels, rows, batch)


def add_final_training_ops(class_count, final_tensor_name, learning_rate,
                           training_set):
  """Adds the new softmax layer and its training ops, as upstream does.

  The layer reads the bottlenecks at BOTTLENECK_INPUT_NODE and the labels at
  GROUND_TRUTH_INPUT_NODE, which default to `training_set.batch` (the
  training batch picked by row number, see add_training_set); evaluation and
  distortions feed them instead. TensorFlow seeds the weights from the
  graph's seed and the number of random ops made before in the graph
  (none), not from the ops of the training set.
  """
  bottleneck_size = training_set.bottlenecks.shape[-1]
  with tf1.name_scope('input'):
    bottleneck_input = tf1.placeholder_with_default(
        training_set.batch[0], shape=[None, bottleneck_size],
        name=BOTTLENECK_INPUT_NODE.split('/')[-1])
    ground_truth_input = tf1.placeholder_with_default(
        training_set.batch[1], [None], name=GROUND_TRUTH_INPUT_NODE.split('/')[-1])
  with tf1.name_scope('final_training_ops'):
    with tf1.name_scope('weights'):
      layer_weights = tf1.Variable(tf1.truncated_normal(
          [bottleneck_size, class_count], stddev=0.001),
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
        learning_rate).minimize(cross_entropy_mean)
  with tf1.name_scope('accuracy'):
    prediction = tf.argmax(final_tensor, 1)
    evaluation_step = tf.reduce_mean(
        tf.cast(tf.equal(prediction, ground_truth_input), tf.float32))
  accuracy_summary = tf1.summary.scalar('accuracy', evaluation_step)
  # Validation gets the two curves; the layer's histograms would repeat train's.
  return FinalLayer(class_count, training_set, bottleneck_input,
                    ground_truth_input, cross_entropy_mean,
                    train_step, evaluation_step, prediction,
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


def training_session():
  """A session that runs the new layer's ops one at a time, on a thread of
  its own.

  They are tiny (a step multiplies 100 x 2,048 by 2,048 x classes), and
  handing them between threads costs more than they take. The thread is the
  session's own: TensorFlow sizes the pool that sessions share when the
  first one starts, and Inception's sessions need one thread per core there
  (see graph_runner.session_config).
  """
  return tf1.Session(config=tf1.ConfigProto(inter_op_parallelism_threads=1,
                                            intra_op_parallelism_threads=1,
                                            use_per_session_threads=True))


def frozen_graph(sess, base_graph_def, bottleneck_node, final_tensor_name):
  """One GraphDef: the base up to its bottleneck (`bottleneck_node`), then
  the trained layer with its variables as constants, reading that
  bottleneck."""
  layer_graph_def = tf1.graph_util.convert_variables_to_constants(
      sess, sess.graph.as_graph_def(), [final_tensor_name])
  return rewrite.attach_final_layer(base_graph_def, bottleneck_node,
                                    layer_graph_def, BOTTLENECK_INPUT_NODE,
                                    final_tensor_name)
