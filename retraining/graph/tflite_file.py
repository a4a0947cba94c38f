"""The .tflite file: the converted model with its metadata entry and its
packed files (the labels), written and read back.

The model's own flatbuffer is edited with TensorFlow's generated schema of
it, so this module is in graph/; the metadata it carries is built by
retraining/lite/metadata.py.
"""

import io
import zipfile

from tensorflow.lite.python import schema_py_generated as model_schema

from retraining.lite.metadata import packed

METADATA_NAME = 'TFLITE_METADATA'
MODEL_IDENTIFIER = b'TFL3'


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
             if entry.name.decode() != METADATA_NAME]
  entry = model_schema.MetadataT()
  entry.name, entry.buffer = METADATA_NAME, len(model_object.buffers)
  model_object.buffers.append(buffer)
  model_object.metadata = entries + [entry]
  # Weights are most of it: room for them all from the start.
  f.write(packed(model_object, MODEL_IDENTIFIER,
                 len(model) + len(metadata) + (1 << 20)))
  with zipfile.ZipFile(f, 'w') as archive:  # From where the model ends.
    for name, content in packed_files.items():
      archive.writestr(name, content)


def read_metadata(model):
  """(the TFLITE_METADATA's bytes, or None; {name: bytes} of the files
  packed in) of the .tflite `model` (bytes)."""
  model_object = model_schema.Model.GetRootAs(model, 0)
  metadata = None
  for i in range(model_object.MetadataLength()):
    entry = model_object.Metadata(i)
    if entry.Name().decode() == METADATA_NAME:
      metadata = model_object.Buffers(entry.Buffer()).DataAsNumpy().tobytes()
  try:
    with zipfile.ZipFile(io.BytesIO(model)) as archive:
      return metadata, {name: archive.read(name) for name in archive.namelist()}
  except zipfile.BadZipFile:
    return metadata, {}


def holds_metadata(path, metadata, packed_files):
  """Whether the .tflite at `path` has exactly this metadata and these
  packed files ({name: bytes}); False where it cannot be read as one."""
  try:
    with open(path, 'rb') as f:
      return read_metadata(f.read()) == (metadata, packed_files)
  except Exception:  # Not a .tflite: flatbuffers raises many types.
    return False
