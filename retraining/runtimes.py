"""One door to the model retrain.py wrote: open it with a runtime, classify
photos with it.

Two runtimes run the same model. LiteRT runs the .tflite beside the frozen
graph (retraining/lite/runner.py) without TensorFlow; TensorFlow runs the
frozen graph itself (retraining/graph/runner.py). `open_model` picks one as
asked ('auto': LiteRT where it can), says in one place why a runtime cannot
run, and checks once, as the model is opened, that it gives one score per
line of the labels file. TensorFlow is imported only where the graph is
used, so this module loads where only LiteRT is installed.
"""

import functools
import os

from retraining import UserError, files, machine, warn
from retraining.bases import FINAL_TENSOR_NAME
from retraining.lite import model_file

RUNTIMES = ('auto', 'litert', 'tensorflow')
LITERT_PACKAGES = 'ai-edge-litert simplejpeg'
LITERT_PLATFORMS = ('Python 3.10 or later on Linux x86-64 or aarch64, macOS '
                    'arm64 or Windows x64')
REPLACE_IT = 'delete it and run retrain.py again'  # A newer one is kept.
WRITE_IT_ANEW = 'run retrain.py again to write it anew'


def read_labels(path):
  """The labels file's lines, in score order; blank lines are left out, and
  a byte-order mark (Notepad saves one) too."""
  try:
    with open(path, 'rb') as f:
      return labels_in(f.read())
  except FileNotFoundError:
    raise UserError('labels file %s not found: run retrain.py first, or pass '
                    '--output_labels' % path)
  except (OSError, UnicodeDecodeError) as e:
    raise UserError('cannot read labels file %s (%s): give the labels file '
                    'retrain.py wrote' % (path, e))


def labels_in(data):
  """The labels (one per line, blank lines left out) of a labels file's
  bytes."""
  return [line.rstrip('\r') for line in data.decode('utf-8-sig').split('\n')
          if line.strip()]


def tflite_beside(graph_path, labels_path, labels):
  """Whether the .tflite beside the graph may run with these labels, decided
  once: (its path, None), or (None, (what, how to fix it)) where it is
  missing or is not the graph's model.

  Its record (see lite/model_file.py) says which graph it was converted
  from: one converted from another graph does not belong, whatever the
  files' times; with no graph beside it, it is the model. A .tflite written
  before there were records belongs if it is not older than the graph, as
  then. Raises UserError where it belongs with the graph but carries other
  labels than `labels`, the labels file's: that file is then another run's,
  and its labels would name the scores wrongly with either runtime.
  """
  model_path = model_file.beside(graph_path)
  if not os.path.exists(model_path):
    return None, ('%s not found' % model_path,
                  'run retrain.py again (without --noexport_tflite), which '
                  'writes it beside the graph')
  packed = model_file.packed_files(model_path)
  if model_file.record(packed) is None and files.is_newer(graph_path, model_path):
    return None, ('%s is older than the graph %s' % (model_path, graph_path),
                  WRITE_IT_ANEW)
  try:
    foreign = model_file.from_another_graph(packed, model_path, graph_path)
  except OSError as e:
    raise UserError('cannot read graph %s (%s)' % (graph_path, e.strerror))
  if foreign:
    return None, (foreign, 'delete it, or run retrain.py again to write it anew')
  packed_labels = [labels_in(data) for name, data in packed.items()
                   if name != model_file.RECORD_NAME]
  if len(packed_labels) == 1 and packed_labels[0] != labels:
    problem = (label_count_mismatch(model_path, len(packed_labels[0]),
                                    labels_path, len(labels)) or
               'labels file %s is not from the retrain.py run that wrote %s and '
               '%s (the labels packed in the .tflite differ)' % (
                   labels_path, graph_path, model_path))
    raise UserError(problem + ': give that run\'s labels with --output_labels, '
                    'or run retrain.py again')
  return model_path, None


def open_model(runtime, graph_path, labels_path, label_count, tflite):
  """The model for `runtime` (one of RUNTIMES), as classify(paths): a
  context yielding (path, scores, None), or (path, None, reason) for a photo
  that cannot be read, for each path in order. `tflite`: tflite_beside's
  answer.

  With 'auto' the frozen graph is used quietly where LiteRT is not installed
  or there is no .tflite, and with one warning where the .tflite is not the
  graph's model or cannot run; 'litert' makes each of these an error, and
  'tensorflow' never looks at the .tflite. Raises UserError where no runtime
  asked for can run, or where the model's number of scores is not
  `label_count`.
  """
  model_path, problem = tflite
  unavailable = None
  if runtime != 'tensorflow':
    unavailable = litert_unavailable()
    problem = problem or unavailable
    opened = None
    if not problem:
      opened, problem = open_tflite(model_path, graph_path, labels_path,
                                    label_count)
    if opened is not None:
      from retraining.lite import runner as litert_runner
      interpreter, form = opened
      return functools.partial(litert_runner.photo_outputs, interpreter, form)
    if runtime == 'litert':
      raise UserError('--runtime=litert: %s: %s' % problem)
  graph_def = graph_model(runtime, graph_path, labels_path, label_count, problem)
  # No .tflite, or no LiteRT to run it: the graph is the model, quietly.
  if (runtime == 'auto' and problem is not unavailable and
      os.path.exists(model_file.beside(graph_path))):
    warn('%s, so the frozen graph is used instead (with TensorFlow): %s'
         % problem)
  from retraining.graph import runner as graph_runner
  return lambda paths: graph_runner.photo_outputs(graph_def, paths,
                                                  FINAL_TENSOR_NAME)


def litert_unavailable():
  """Why LiteRT cannot run here at all, as (what, how to fix it); or None."""
  try:
    from retraining.lite import runner  # noqa: F401
  except ImportError as e:
    return ('LiteRT is not installed (%s)' % e,
            'pip install %s (they exist for %s)'
            % (LITERT_PACKAGES, LITERT_PLATFORMS))
  return None


def open_tflite(model_path, graph_path, labels_path, label_count):
  """((the interpreter on `model_path`, its input form), None); or (None,
  (what, how to fix it)) where it cannot be loaded, does not say how to
  scale its input, or gives another number of scores than the labels."""
  from retraining.lite import runner as litert_runner
  try:
    interpreter = litert_runner.load_model(model_path)
    form = litert_runner.input_form(interpreter, model_path)
  except (ValueError, RuntimeError, OSError) as e:
    return None, ('cannot load %s (%s)' % (model_path, e), REPLACE_IT)
  if form is None:
    return None, ('%s does not say how to scale its input (its metadata has '
                  'no normalization)' % model_path, REPLACE_IT)
  mismatch = label_count_mismatch(
      '%s (converted from graph %s)' % (model_path, graph_path),
      litert_runner.class_count(interpreter), labels_path, label_count)
  if mismatch:
    return None, (mismatch, 'use the labels of the retrain.py run that wrote '
                  'it, or ' + REPLACE_IT)
  return (interpreter, form), None


def graph_model(runtime, graph_path, labels_path, label_count, litert_problem):
  """The frozen graph, rewritten into the fast form retrain.py computes
  with: the one path that imports TensorFlow. `litert_problem`: why LiteRT
  does not run the model instead, for the message where TensorFlow is not
  installed either."""
  if not os.path.exists(graph_path):
    raise UserError('graph %s not found: run retrain.py first, or pass '
                    '--output_graph' % graph_path)
  try:
    from retraining.graph import nodes
    from retraining.graph import runner as graph_runner
  except ImportError as e:
    raise UserError(no_tensorflow_message(e, runtime, litert_problem))
  machine.keep_freed_memory()
  # Graphs written by the original retrain.py (legacy ops, one photo per
  # run) are rewritten on the way in, like the Inception graph.
  graph_def = graph_runner.read_graph(graph_path)
  if nodes.node_name(FINAL_TENSOR_NAME) not in {n.name for n in graph_def.node}:
    raise UserError('graph %s has no %s tensor: is it a graph written by '
                    'retrain.py?' % (graph_path, FINAL_TENSOR_NAME))
  mismatch = label_count_mismatch(
      'graph ' + graph_path,
      graph_runner.output_size(graph_def, FINAL_TENSOR_NAME), labels_path,
      label_count)
  if mismatch:
    raise UserError(mismatch + ': use the two files of the same retrain.py run')
  return graph_def


def no_tensorflow_message(import_error, runtime, litert_problem):
  if runtime == 'tensorflow':
    return ('--runtime=tensorflow: TensorFlow is not installed (%s): pip '
            'install tensorflow' % import_error)
  return ('TensorFlow is not installed (%s) and LiteRT cannot run the model: '
          '%s: %s; or pip install tensorflow' % ((import_error,) + litert_problem))


def label_count_mismatch(model_name, score_count, labels_path, label_count):
  """What is wrong where `model_name` gives `score_count` scores per photo
  and the labels file has another number of lines; else None."""
  if score_count != label_count:
    return ('%s has %s outputs but labels file %s has %d lines'
            % (model_name, score_count, labels_path, label_count))
  return None
