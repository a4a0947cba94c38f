"""TensorFlow Lite metadata: what MediaPipe Tasks' ImageClassifier (on
Android, iOS, the web and in Python) reads from a model to use it as it is:
how to scale an image for its input, and the labels of its scores.

The metadata is a flatbuffer of the schema in schema/ (generated
from the official metadata_schema.fbs beside it), kept in the model as the
buffer of a metadata entry named TFLITE_METADATA; the files it names (here
the labels file) are packed in a zip archive appended to the model. That is
what tflite-support's MetadataPopulator writes. No maintained package writes
it beside TensorFlow 2.21 and numpy 2: tflite-support is unmaintained (its
last release pins protobuf < 4), mediapipe 0.10.21's writer pins numpy < 2,
and mediapipe 1.2's does not import. So it is built here with the
`flatbuffers` package (no TensorFlow); retraining/graph/export.py puts it
into the model, and retraining/lite/model_file.py reads it back.
"""

import flatbuffers

from retraining.lite.schema import metadata_schema_py_generated as schema

METADATA_IDENTIFIER = b'M001'
# The oldest metadata parser that reads every field written here: all are
# in the schema's first version (the populator works it out the same way).
MIN_PARSER_VERSION = '1.0.0'
PIXEL_RANGE = (0.0, 255.0)
SCORE_RANGE = (0.0, 1.0)


def image_classifier_metadata(name, description, version, input_size, mean,
                              std, labels_name, label_count, record_name):
  """The metadata (bytes) of an image classifier: one RGB image in,
  `input_size` (width, height), whose pixels the model expects scaled to
  (pixel - mean) / std; one score per label out, its labels in the
  associated file `labels_name`. As tflite-support's ImageClassifierWriter
  writes it, plus the model's own associated file `record_name`: what it
  was made from (see lite/model_file.py), of a type MediaPipe reads past."""
  metadata = schema.ModelMetadataT()
  metadata.name, metadata.description, metadata.version = (
      name, description, version)
  metadata.minParserVersion = MIN_PARSER_VERSION
  record = schema.AssociatedFileT()
  record.name = record_name
  record.description = ('What retrain.py made this model from: the sha256 '
                        'of the frozen graph it was converted from (JSON).')
  record.type = schema.AssociatedFileType.UNKNOWN
  metadata.associatedFiles = [record]
  subgraph = schema.SubGraphMetadataT()
  subgraph.inputTensorMetadata = [image_tensor(input_size, mean, std)]
  subgraph.outputTensorMetadata = [scores_tensor(labels_name, label_count)]
  metadata.subgraphMetadata = [subgraph]
  return finished(metadata, METADATA_IDENTIFIER)


def image_tensor(input_size, mean, std):
  image = schema.ImagePropertiesT()
  image.colorSpace = schema.ColorSpaceType.RGB
  image.defaultSize = schema.ImageSizeT()
  image.defaultSize.width, image.defaultSize.height = input_size
  normalization = schema.NormalizationOptionsT()
  normalization.mean, normalization.std = [mean], [std]
  scaling = schema.ProcessUnitT()
  scaling.optionsType = schema.ProcessUnitOptions.NormalizationOptions
  scaling.options = normalization
  tensor = tensor_metadata(
      'image', 'Input image to be classified: RGB, %d x %d, each value '
      '(pixel - %g) / %g.' % (*input_size, mean, std),
      schema.ContentProperties.ImageProperties, image,
      [(value - mean) / std for value in PIXEL_RANGE])
  tensor.processUnits = [scaling]
  return tensor


def scores_tensor(labels_name, label_count):
  labels = schema.AssociatedFileT()
  labels.name = labels_name
  labels.description = 'Labels for categories that the model can recognize.'
  labels.type = schema.AssociatedFileType.TENSOR_AXIS_LABELS
  tensor = tensor_metadata(
      'probability', 'Probabilities of the %d labels respectively.'
      % label_count, schema.ContentProperties.FeatureProperties,
      schema.FeaturePropertiesT(), SCORE_RANGE)
  tensor.associatedFiles = [labels]
  return tensor


def tensor_metadata(name, description, content_type, content_properties,
                    value_range):
  tensor = schema.TensorMetadataT()
  tensor.name, tensor.description = name, description
  tensor.content = schema.ContentT()
  tensor.content.contentPropertiesType = content_type
  tensor.content.contentProperties = content_properties
  tensor.stats = schema.StatsT()
  tensor.stats.min, tensor.stats.max = [value_range[0]], [value_range[1]]
  return tensor


def finished(table, identifier, size=1024):
  """The flatbuffer of `table` (bytes)."""
  return bytes(packed(table, identifier, size))


def packed(table, identifier, size):
  """The flatbuffer of `table`, as a view of the builder's memory."""
  builder = flatbuffers.Builder(size)
  builder.Finish(table.Pack(builder), identifier)
  return memoryview(builder.Bytes)[builder.Head():]


def parsed_metadata(metadata):
  """The metadata (bytes) as a schema.ModelMetadataT."""
  return schema.ModelMetadataT.InitFromObj(
      schema.ModelMetadata.GetRootAs(metadata, 0))


