"""retraining/graph/training.py and final_layer.py: the new layer trained,
measured and frozen, in-process on small arrays."""

import numpy as np
import pytest

from retraining import bases
from retraining.dataset import PhotoSet
from retraining.graph import final_layer, rewrite, summaries, training
from retraining.graph.tensorflow_v1 import tf, tf1

CLASSES = 3


SETTINGS = training.Settings(
    steps=30, learning_rate=0.5, train_batch_size=10, validation_batch_size=-1,
    test_batch_size=-1, eval_step_interval=10, seed=0,
    print_misclassified=False)


def separable_split(per_class, seed):
  """Bottlenecks whose class shows in one coordinate, labels sorted."""
  rng = np.random.default_rng(seed)
  labels = np.repeat(np.arange(CLASSES), per_class)
  bottlenecks = rng.normal(0, 0.1, (len(labels), bases.INCEPTION_V3.bottleneck_size))
  bottlenecks[np.arange(len(labels)), labels] += 3
  return PhotoSet(bottlenecks.astype(np.float32), labels,
                        ['photo_%d.jpg' % i for i in range(len(labels))])


def test_batch_sampler_picks_a_class_uniformly_then_a_photo():
  labels = np.array([0] * 90 + [1] * 9 + [2] * 1)  # Sorted, very unequal.
  sample = training.batch_sampler(np.random.default_rng(0), labels, 4)
  rows = sample(3000)
  counts = np.bincount(labels[rows], minlength=4)
  assert counts[3] == 0 and counts[:3].min() > 900  # Class 3 has no photo.
  assert set(rows[labels[rows] == 2]) == {99}
  assert list(sample(-1)) == list(range(100))


@pytest.fixture
def trained_layer(tmp_path, capsys):
  """The layer trained 30 steps on separable arrays: (sess, layer, history,
  what training printed)."""
  train_split, validation = separable_split(20, 0), separable_split(4, 1)
  with tf.Graph().as_default() as graph, final_layer.training_session() as sess:
    tf1.set_random_seed(0)
    layer = final_layer.add_final_layer(bases.INCEPTION_V3.bottleneck_size, CLASSES,
                                        'final_result',
                                        SETTINGS.learning_rate)
    writers = summaries.summary_writers(str(tmp_path / 'logs'), graph)
    sess.run(tf1.global_variables_initializer())
    history = training.train(
        sess, layer, {'training': train_split, 'validation': validation},
        SETTINGS, writers)
    yield sess, layer, history, capsys.readouterr().out


def test_train_learns_and_logs_each_evaluation_step(trained_layer, tmp_path):
  _, _, history, out = trained_layer
  assert history['step'] == [0, 10, 20, 29]
  assert history['train_accuracy'][-1] == 1.0
  assert history['validation_accuracy'][-1] == 1.0
  assert history['cross_entropy'][-1] < history['cross_entropy'][0]
  assert out.count('Train accuracy') == 4
  assert 'Step 29: Validation accuracy = 100.0% (N=12)' in out
  assert list((tmp_path / 'logs' / 'train').glob('events.out.tfevents.*'))


def test_evaluate_reports_accuracy_confusion_and_mistakes(trained_layer, capsys):
  sess, layer, _, _ = trained_layer
  testing = separable_split(5, 2)
  flipped = testing._replace(labels=testing.labels.copy())
  flipped.labels[0] = 1  # Photo 0 is class 0: now a "mistake".
  evaluation = training.evaluate(
      sess, layer, flipped, ['a', 'b', 'c'],
      SETTINGS._replace(print_misclassified=True))
  assert evaluation.count == 15 and evaluation.accuracy == pytest.approx(14 / 15)
  assert evaluation.matrix[1, 0] == 1 and np.trace(evaluation.matrix) == 14
  out = capsys.readouterr().out
  assert 'Final test accuracy = 93.3% (N=15)' in out
  assert 'photo_0.jpg  b (predicted a)' in out


def test_evaluate_without_a_test_set_warns(trained_layer, capsys):
  sess, layer, _, _ = trained_layer
  empty = PhotoSet(np.zeros((0, bases.INCEPTION_V3.bottleneck_size), np.float32),
                         np.zeros(0, np.int64), [])
  assert training.evaluate(sess, layer, empty, ['a', 'b', 'c'],
                           SETTINGS) is None
  assert 'test set is empty' in capsys.readouterr().err


def test_frozen_graph_reads_inception_and_leaves_the_training_set_out(
    trained_layer, tiny_graph_def):
  sess, _, _, _ = trained_layer
  inception_graph_def = rewrite.fast_graph_def(tiny_graph_def)
  frozen = final_layer.frozen_graph(sess, inception_graph_def,
                                    bases.INCEPTION_V3.bottleneck_node, 'final_result')
  nodes = {n.name: n for n in frozen.node}
  assert not [name for name in nodes if name.startswith('training_set')]
  assert 'softmax' not in nodes and 'final_result' in nodes
  layer_input = nodes[final_layer.BOTTLENECK_INPUT_NODE]
  assert layer_input.op == 'PlaceholderWithDefault'
  assert list(layer_input.input) == [bases.INCEPTION_V3.bottleneck_node]
  assert not [n for n in frozen.node if n.op in ('VariableV2', 'Variable')]
  bottlenecks = separable_split(2, 3).bottlenecks
  with tf.Graph().as_default(), tf1.Session() as frozen_sess:
    tf1.import_graph_def(frozen, name='')
    scores = frozen_sess.run('final_result:0', {
        final_layer.BOTTLENECK_INPUT_NODE + ':0': bottlenecks})
  assert list(scores.argmax(1)) == [0, 0, 1, 1, 2, 2]
