"""The `.tflite` file retrain.py writes beside the frozen graph, read back:
what it is, its metadata, and the files packed in it (no TensorFlow).

Its layout: the model, a flatbuffer of TensorFlow Lite's schema whose
identifier `TFL3` stands at bytes 4 to 8; in it, a metadata entry named
TFLITE_METADATA pointing at a buffer that holds MediaPipe's metadata (built
by retraining/lite/metadata.py); after the model, a zip archive of the
files that metadata names: the labels, and the record of what the model
was made from. graph/export.py writes it; every other part of the project
reads it through this module.

The record (RECORD_NAME, JSON) says which graph the model was converted
from (its sha256), with which weights asked for (--tflite_quantize) and
check, and the sha256 of its metadata.
Files travel without their times (a copy, a zip, a download, a FAT32
stick), so whether a .tflite belongs with a graph is decided by reading
the record, never by comparing the files' times; a .tflite written before
there was a record (`record` is None) is judged by its time, as then.
"""

import collections
import hashlib
import json
import zipfile

import flatbuffers

from retraining import files

SUFFIX = '.tflite'  # in place of the graph's extension, beside it
# What a photo becomes before the model: resized to size x size, scaled to
# (pixel - mean) / std (see runner.input_form).
InputForm = collections.namedtuple('InputForm', 'size mean std')
IDENTIFIER = b'TFL3'
METADATA_NAME = 'TFLITE_METADATA'
RECORD_NAME = 'retrain_record.json'
# Fields of TensorFlow Lite's schema (schema.fbs) read here, by their order
# in their table: Model.buffers, Model.metadata, Metadata.name,
# Metadata.buffer, Buffer.data.
MODEL_BUFFERS, MODEL_METADATA = 4, 6
METADATA_ENTRY_NAME, METADATA_ENTRY_BUFFER = 0, 1
BUFFER_DATA = 0
# And of the metadata's schema (metadata_schema.fbs), to read how the input
# is scaled: ModelMetadata.subgraph_metadata, SubGraphMetadata.
# input_tensor_metadata, TensorMetadata.process_units, ProcessUnit.
# options_type and options, NormalizationOptions.mean and std.
MODEL_SUBGRAPHS, SUBGRAPH_INPUTS, TENSOR_PROCESS_UNITS = 3, 2, 4
UNIT_OPTIONS_TYPE, UNIT_OPTIONS = 0, 1
NORMALIZATION_OPTIONS = 1  # the union's type number
NORMALIZATION_MEAN, NORMALIZATION_STD = 0, 1


def beside(graph_path):
  """The path of the .tflite retrain.py writes beside the graph
  `graph_path`: its extension replaced."""
  return files.beside(graph_path, SUFFIX)


def kept_aside(path, mode):
  """Where a quantized model that failed its check is kept, beside the
  phone model at `path`: flowers_graph.tflite -> flowers_graph_int8.tflite
  (`mode`, lite/quantization.py's)."""
  return files.beside(path, '_%s%s' % (mode, SUFFIX))


def record_for(graph_data, weights, metadata, max_quantization_loss=None):
  """The record (bytes) of a model converted from the graph `graph_data`
  (bytes) with the weights asked for, `weights` ('float32', or a mode of
  lite/quantization.py: 'float16', 'dynamic', 'int8'), written with
  `metadata` (bytes; for a quantized model, before the figures its check
  measured are added to the description), and, for a quantized model, the
  most points its check lets it lose."""
  record = {
      'graph_sha256': hashlib.sha256(graph_data).hexdigest(),
      'weights': weights,
      'metadata_sha256': hashlib.sha256(metadata).hexdigest(),
  }
  if max_quantization_loss is not None:
    record['max_quantization_loss'] = max_quantization_loss
  return json.dumps(record, indent=1, sort_keys=True).encode('utf-8') + b'\n'


def record(packed):
  """The record in a .tflite's packed files ({name: bytes}, see
  packed_files) as a dict; None where there is none (a .tflite written
  before there was one), {} where it cannot be read."""
  if RECORD_NAME not in packed:
    return None
  try:
    value = json.loads(packed[RECORD_NAME].decode('utf-8'))
  except ValueError:  # Also UnicodeDecodeError.
    return {}
  return value if isinstance(value, dict) else {}


def made_from(model_record, graph_path):
  """Whether the model whose record is `model_record` was converted from the
  graph file at `graph_path`, by its sha256. Raises OSError where the graph
  cannot be read."""
  return model_record.get('graph_sha256') == files.sha256_of(graph_path)


def from_another_graph(packed, model_path, graph_path):
  """Why the .tflite at `model_path`, whose packed files are `packed`, does
  not belong with the graph at `graph_path`: its record names another
  graph. None where it names this one, where it has no record, or where
  there is no graph (the .tflite is then the model). Raises OSError where
  the graph cannot be read."""
  model_record = record(packed)
  try:
    if model_record is None or made_from(model_record, graph_path):
      return None
  except FileNotFoundError:
    return None
  return ('%s was not converted from the graph %s beside it (another '
          'retrain.py run wrote it)' % (model_path, graph_path))


def is_tflite(path):
  """Whether the file at `path` starts as a TensorFlow Lite model does.
  Raises OSError where it cannot be read."""
  with open(path, 'rb') as f:
    return f.read(8)[4:8] == IDENTIFIER


def packed_files(path):
  """{name: bytes} of the files packed in the .tflite at `path` (a path or
  a binary file object: the zip
  archive after the model); {} where there is none. Reads only the
  archive, at the file's end."""
  try:
    with zipfile.ZipFile(path) as archive:
      return {name: archive.read(name) for name in archive.namelist()}
  except (OSError, zipfile.BadZipFile):
    return {}


def read_metadata(model):
  """The bytes of the TFLITE_METADATA buffer of the .tflite `model` (its
  bytes, or the file mapped), or None where it has none.

  Reads the three fields it needs with flatbuffers' table reader, so that
  neither TensorFlow's nor LiteRT's generated schema (both large) is
  imported for it.
  """
  root = flatbuffers.table.Table(model, flatbuffers.encode.Get(
      flatbuffers.packer.uoffset, model, 0))
  buffers = tables(root, MODEL_BUFFERS)
  for entry in tables(root, MODEL_METADATA):
    name = field(entry, METADATA_ENTRY_NAME)
    if name and entry.String(name + entry.Pos).decode() == METADATA_NAME:
      index = field(entry, METADATA_ENTRY_BUFFER)
      buffer = buffers[entry.Get(flatbuffers.number_types.Uint32Flags,
                                 index + entry.Pos) if index else 0]
      data = field(buffer, BUFFER_DATA)
      if not data:
        return b''
      start = buffer.Vector(data)
      return bytes(buffer.Bytes[start:start + buffer.VectorLen(data)])
  return None


def normalization(metadata):
  """(mean, std) of the input's scaling, (pixel - mean) / std, as the
  metadata (read_metadata's bytes) gives it to MediaPipe; None where it
  gives none."""
  root = flatbuffers.table.Table(metadata, flatbuffers.encode.Get(
      flatbuffers.packer.uoffset, metadata, 0))
  for subgraph in tables(root, MODEL_SUBGRAPHS)[:1]:
    for tensor in tables(subgraph, SUBGRAPH_INPUTS)[:1]:
      for unit in tables(tensor, TENSOR_PROCESS_UNITS):
        kind = field(unit, UNIT_OPTIONS_TYPE)
        options = field(unit, UNIT_OPTIONS)
        if kind and options and unit.Get(flatbuffers.number_types.Uint8Flags,
                                         kind + unit.Pos) == NORMALIZATION_OPTIONS:
          table = flatbuffers.table.Table(unit.Bytes, unit.Indirect(options + unit.Pos))
          return tuple(first_float(table, i) for i in (NORMALIZATION_MEAN,
                                                       NORMALIZATION_STD))
  return None


def first_float(table, index):
  """The first value of the float vector field `index` of `table`."""
  return table.Get(flatbuffers.number_types.Float32Flags,
                   table.Vector(field(table, index)))


def field(table, index):
  """The offset of field `index` in `table`, or 0 where it is not set."""
  return table.Offset(4 + 2 * index)


def tables(table, index):
  """The tables of the vector field `index` of `table`."""
  offset = field(table, index)
  if not offset:
    return []
  start = table.Vector(offset)
  return [flatbuffers.table.Table(table.Bytes, table.Indirect(start + 4 * i))
          for i in range(table.VectorLen(offset))]
