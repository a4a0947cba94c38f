"""retrain.py's outputs: the frozen graph, its labels, and the same model
for TensorFlow Lite (LiteRT), with the metadata phones read.

The model starts at the graph's `Mul`: a photo resized to the base's size
(299 x 299 for Inception) and scaled to (pixel - mean) / std (128 and 128
for Inception), float32 [1, size, size, 3], the input every
phone toolkit expects of an image classifier (MediaPipe's ImageClassifier
takes no other shape). It ends at the new layer's softmax ([1, classes]).
The decoding and resizing stay out: MediaPipe decodes, resizes and scales
photos by itself, as the model's metadata tells it (retraining/
lite/metadata.py), and predict.py's retraining/lite/runner.py decodes
and resizes them as the graph's DecodeJpeg and ResizeBilinear do.

The graph's two PlaceholderWithDefault nodes (`input/ResizedImages`, before
`Mul`, and `input/BottleneckInputPlaceholder`, see retraining/graph/rewrite.py)
are outside the model or fed by their defaults inside it: the converter
turns the second into a plain pass-through, so it does not become an input.
"""

import os
import zipfile

from absl import logging as absl_logging
from tensorflow.lite.python import schema_py_generated as model_schema

from retraining import UserError, __version__, files, log, native_stderr_silenced, runtimes, warn
from retraining.bases import MODEL_INPUT_DEPTH, RESIZED_IMAGE_NODE, SCALED_IMAGE_NODE
from retraining.figures import report
from retraining.graph import nodes
from retraining.graph.tensorflow_v1 import tf, tf1
from retraining.lite import metadata as tflite_metadata
from retraining.lite import model_file, quantization

# The date of every packed file in the zip archive: zip's earliest.
PACKED_FILES_DATE = (1980, 1, 1, 0, 0, 0)
DESCRIPTION = ('%s with a final layer retrained by retrain.py to tell %d '
               'labels apart; %s weights.')


def tflite_model(frozen_graph_def, base, final_tensor_name, mode='none',
                 representative_dataset=None):
  """The .tflite model (bytes) of the frozen graph retrain.py exported on
  `base`: input the scaled photo at `Mul` ([1, size, size, 3]), output
  `final_tensor_name` ([1, classes]), both float32 whatever the `mode`
  (lite/quantization.py's): 'none' keeps the weights float32; 'float16'
  stores them as float16 and 'dynamic' as int8, computed with as float32;
  'int8' computes in int8 inside, its activations' ranges calibrated on
  `representative_dataset` (a function yielding [photo] lists).

  The converter is given the two nodes by name and reads
  `frozen_graph_def` itself: importing the graph into TensorFlow first, to
  hand it tensors, would hold the model's weights once more and take a
  few tenths of a second for nothing.
  """
  check_scaled_image_input(frozen_graph_def)
  converter = tf1.lite.TFLiteConverter(
      frozen_graph_def, None, None,
      input_arrays_with_shape=[(SCALED_IMAGE_NODE, [
          1, base.input_size, base.input_size, MODEL_INPUT_DEPTH])],
      output_arrays=[final_tensor_name])
  if mode != 'none':
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
  if mode == 'float16':
    converter.target_spec.supported_types = [tf.float16]
  elif mode == 'int8':
    # int8 inside, float32 in and out: MediaPipe takes float32 or uint8
    # input only, and ignores the metadata's scaling for uint8.
    converter.representative_dataset = representative_dataset
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = converter.inference_output_type = tf.float32
  return converted(converter)


def converted(converter):
  """What the TFLiteConverter `converter` converts (bytes), without its
  log lines."""
  # The converter's own record of how it ran (versions, options) costs a
  # second pass over the whole model; nothing reads it.
  converter.exclude_conversion_metadata = True
  # The converter logs how it works to stderr, from C++ and through absl.
  verbosity = absl_logging.get_verbosity()
  absl_logging.set_verbosity(absl_logging.WARNING)
  try:
    with native_stderr_silenced():
      return converter.convert()
  finally:
    absl_logging.set_verbosity(verbosity)


def check_scaled_image_input(graph_def):
  """Raises UserError unless the graph's `Mul` scales ResizeBilinear's
  photo."""
  names = {node.name for node in graph_def.node}
  if (SCALED_IMAGE_NODE not in names or RESIZED_IMAGE_NODE not in
      nodes.reachable_nodes(graph_def, [SCALED_IMAGE_NODE])):
    raise UserError('the graph has no %s node scaling the %s photo: was it '
                    'written by retrain.py?' % (SCALED_IMAGE_NODE,
                                                RESIZED_IMAGE_NODE))


def classifier_metadata(name, base, label_count, labels_name,
                        weights='float32', measured=''):
  """The metadata (bytes) the model is written with: an image classifier
  named `name`, whose input is `base`'s, scaled as the graph's Sub and Mul
  scale it, whose `label_count` labels are in the packed file
  `labels_name`, and whose record of what it was made from is packed too.
  `measured`, where given, ends its description: what its quantization
  check measured."""
  return tflite_metadata.image_classifier_metadata(
      name, ' '.join(filter(None, [
          DESCRIPTION % (base.title, label_count, weights), measured])),
      __version__, (base.input_size, base.input_size), base.pixel_mean,
      base.pixel_std, labels_name, label_count, model_file.RECORD_NAME)


def save_model(graph_def, base, labels, final_tensor_name, output_graph,
               output_labels, export_tflite, plan=quantization.FLOAT):
  """Writes the frozen graph, the labels and (with `export_tflite`) the
  .tflite, quantized as `plan` (lite/quantization.py's Plan) asks, all
  complete or none at all: a folder that cannot take one of them keeps the
  model it had, whole. Raises UserError naming the file. A quantized model
  that failed its check and is kept beside the phone model is a side
  output: written after them, one warning where it cannot be.

  A graph byte-identical to the one already there is not written again;
  a .tflite already there that records this graph, these labels and these
  settings (see lite/model_file.py) is kept as it is (see tflite_writer).
  """
  graph_data = graph_def.SerializeToString(deterministic=True)
  labels_data = ('\n'.join(labels) + '\n').encode('utf-8')
  writes = [] if files.holds(output_graph, graph_data) else [
      (output_graph, lambda f: f.write(graph_data))]
  writes.append((output_labels, lambda f: f.write(labels_data)))
  side_writes = []
  if export_tflite:
    tflite_path = model_file.beside(output_graph)
    tflite_writes = tflite_writer(
        graph_def, base, graph_data, final_tensor_name, tflite_path,
        os.path.basename(output_labels), labels_data, labels, plan)
    writes += tflite_writes[:1]
    side_writes = tflite_writes[1:]
  written = []
  try:
    with files.atomic_writes([path for path, _ in writes]) as outputs:
      for (path, write), f in zip(writes, outputs):
        written.append(path)
        write(f)
  except OSError as e:
    raise UserError('cannot write %s (%s): free space in its folder or make '
                    'it writable, or give --output_graph and --output_labels '
                    'elsewhere; the model there before is kept whole' % (
                        written[-1] if written else output_graph, e.strerror or e))
  for path, write in side_writes:
    try:
      with files.atomic_write(path) as f:
        write(f)
    except OSError as e:
      warn('cannot write %s (%s); the model is written' % (path, e.strerror or e))
    else:
      writes.append((path, write))
  log('Saved %s' % ', '.join(path for path, _ in writes))


def tflite_writer(graph_def, base, graph_data, final_tensor_name, path,
                  labels_name, labels_data, labels, plan):
  """[(path, write(f))]: writes the .tflite at `path` with its metadata, the
  labels file (`labels_name`: `labels_data`, the `labels`) and the record
  of what it is made from packed in; then, where a quantized model failed
  its check, the quantized model kept beside it. [] where the one there
  packs the same files, that is was converted from this very graph
  (`graph_data`, its bytes) with these labels and settings, since
  converting is slow. If the converter fails, [] too, with a warning:
  predict.py then uses the graph.

  A quantized model (`plan`: lite/quantization.py's Plan) is checked
  against the float one on the test set before it is the phone model: the
  table is printed, and where it falls short a warning says so and the
  float model is written at `path` instead.
  """
  mode = plan.mode
  if mode != 'none' and runtimes.litert_unavailable():
    warn('--tflite_quantize=%s needs LiteRT to check the %s model (pip install '
         '%s): the float32 model is written instead' % (
             mode, mode, runtimes.LITERT_PACKAGES))
    mode = 'none'
  name = os.path.basename(os.path.splitext(path)[0])
  metadata = classifier_metadata(name, base, len(labels), labels_name,
                                 quantization.WEIGHTS[mode])
  packed = {labels_name: labels_data, model_file.RECORD_NAME:
            model_file.record_for(graph_data, 'float32' if mode == 'none' else mode,
                                  metadata, None if mode == 'none' else plan.max_loss)}
  if model_file.packed_files(path) == packed:
    log('%s is up to date' % path)
    return []
  form = model_file.InputForm(base.input_size, base.pixel_mean, base.pixel_std)
  try:
    float_model = tflite_model(graph_def, base, final_tensor_name)
    quantized = None if mode == 'none' else tflite_model(
        graph_def, base, final_tensor_name, mode,
        lambda: quantization.calibration_inputs(plan.calibration, form))
  except Exception as e:
    reason = (str(e).strip().splitlines() or [type(e).__name__])[-1]
    warn('could not convert the model for TensorFlow Lite (%s); %s is not '
         'written' % (reason, path))
    return []
  if quantized is None:
    return [(path, lambda f: write_with_metadata(f, float_model, metadata, packed))]
  return checked_writes(float_model, quantized, plan._replace(mode=mode), path,
                        base, labels, labels_name, packed, form)


def checked_writes(float_model, quantized, plan, path, base, labels,
                   labels_name, packed, form):
  """[(path, write(f))] of the quantized model at `path` where its check
  passes, else of the float model at `path` and the quantized one kept
  beside it; prints the check's table, and the warning where it fails."""
  check = quantization.measure(float_model, quantized, plan, form, len(labels))
  print(report.format_quantization_check(check, labels, plan.mode), flush=True)
  name = os.path.basename(os.path.splitext(path)[0])
  summary = quantization.summary(check, labels)
  weights = quantization.WEIGHTS[plan.mode]
  if quantization.passed(check):
    metadata = classifier_metadata(name, base, len(labels), labels_name,
                                   weights, summary)
    return [(path, lambda f: write_with_metadata(f, quantized, metadata, packed))]
  aside = model_file.kept_aside(path, plan.mode)
  shortfall = quantization.shortfall(check, labels)
  warn('the %s model %s, so the phone model %s is the float32 model; the %s '
       'one is kept beside it as %s' % (plan.mode, shortfall, path, plan.mode, aside))
  float_metadata = classifier_metadata(
      name, base, len(labels), labels_name, 'float32',
      'Its %s version was not kept: it %s. %s' % (plan.mode, shortfall, summary))
  quantized_metadata = classifier_metadata(
      os.path.basename(os.path.splitext(aside)[0]), base, len(labels), labels_name,
      weights, 'Not the phone model: it %s. %s' % (shortfall, summary))
  return [(path, lambda f: write_with_metadata(f, float_model, float_metadata, packed)),
          (aside, lambda f: write_with_metadata(f, quantized, quantized_metadata, packed))]


def write_with_metadata(f, model, metadata, packed_files):
  """Writes to the binary file `f` the .tflite `model` (bytes) with
  `metadata` (bytes) as its TFLITE_METADATA, replacing any there, then
  `packed_files` ({name: bytes}) in a zip archive (its offsets count from
  the model's start, as the populator's do).

  The model is written straight from the builder's memory: the weights
  are held twice at most (the model given and the one built).
  """
  model_object = model_schema.ModelT.InitFromPackedBuf(model, 0)
  buffer = model_schema.BufferT()
  buffer.data = metadata
  entries = [entry for entry in model_object.metadata or []
             if entry.name.decode() != model_file.METADATA_NAME]
  entry = model_schema.MetadataT()
  entry.name, entry.buffer = model_file.METADATA_NAME, len(model_object.buffers)
  model_object.buffers.append(buffer)
  model_object.metadata = entries + [entry]
  # Weights are most of it: room for them all from the start.
  f.write(tflite_metadata.packed(model_object, model_file.IDENTIFIER,
                                 len(model) + len(metadata) + (1 << 20)))
  with zipfile.ZipFile(f, 'w') as archive:  # From where the model ends.
    for name, content in packed_files.items():
      # A fixed date: the same model and files give the same bytes.
      archive.writestr(zipfile.ZipInfo(name, PACKED_FILES_DATE), content)

