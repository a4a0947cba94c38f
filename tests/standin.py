"""A stand-in for Inception v3's `classify_image_graph_def.pb`, for tests.

The real graph (the only member that matters of `inception-2015-12-05.tgz`)
cannot be downloaded here, so tests generate a GraphDef with its interface and
its legacy traits instead:

* JPEG bytes go in at `DecodeJpeg/contents`; the graph itself decodes them
  (`DecodeJpeg`, `Cast`), resizes them to 299x299 (`ExpandDims`,
  `ResizeBilinear`) and scales the pixels to [-1, 1] (`Sub`, `Mul`).
* Every `Conv2D` reads its filter from a Const and is followed by the legacy
  `BatchNormWithGlobalNormalization` op and a `Relu`. Moving means and
  variances are not 0 and 1, gamma is never 1, and
  `scale_after_normalization` is True on some nodes and False on others (the
  op then ignores gamma), so a wrong batch norm fold shows.
  TensorFlow 2 runs this op only in graphs whose producer version is below 9:
  `versions.producer` is 8, as in the real file, and the same GraphDef stamped
  with the current version fails at run time with "Op
  BatchNormWithGlobalNormalization is not available in GraphDef version ...".
* Towers are joined with the legacy `Concat` op (axis first).
* `pool_3` averages to [1, 1, 1, 2048], and `pool_3/_reshape` reshapes it with
  the constant shape [1, 2048], so the graph takes one photo per run.
* `softmax` scores 1,008 classes.

Nodes are named in the real graph's style: `conv/Conv2D`,
`conv/conv2d_params`, `conv/batchnorm`, `conv/batchnorm/moving_mean`, `conv`
(the Relu), `mixed/tower_1/conv_2`, `mixed/join`, ...

`tiny_graph_def` keeps only the interface (milliseconds per photo);
`full_graph_def` has Inception v3's topology and cost. Weights are random.
Each batch norm's moving mean and variance are those of its input on a few
calibration photos, and the batch norms feeding pool_3 are scaled so that on
those photos the bottlenecks have the real graph's mean and standard deviation.

Usage: python tests/standin.py tiny|full OUT.pb [--tgz OUT.tgz]
"""

import argparse
import functools
import glob
import io
import itertools
import os
import tarfile
import tempfile
import time
import types

import numpy as np
from PIL import Image

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
import tensorflow as tf

tf1 = tf.compat.v1

GRAPH_FILE_NAME = 'classify_image_graph_def.pb'
JPEG_INPUT_NODE = 'DecodeJpeg/contents'
DECODED_IMAGE_NODE = 'DecodeJpeg'
CAST_NODE = 'Cast'
EXPAND_DIMS_NODE = 'ExpandDims'
RESIZED_IMAGE_NODE = 'ResizeBilinear'
SUB_NODE = 'Sub'
MUL_NODE = 'Mul'
POOL_3_NODE = 'pool_3'
BOTTLENECK_NODE = 'pool_3/_reshape'
SOFTMAX_WEIGHTS_NODE = 'softmax/weights'
SOFTMAX_BIASES_NODE = 'softmax/biases'
LOGITS_MATMUL_NODE = 'softmax/logits/MatMul'
LOGITS_NODE = 'softmax/logits'
SOFTMAX_NODE = 'softmax'

INPUT_SIZE = 299
BOTTLENECK_SIZE = 2048
NUM_CLASSES = 1008
PRODUCER_VERSION = 8
BATCH_NORM_EPSILON = 0.001
# Mean and standard deviation of the real graph's bottlenecks (pool_3).
FEATURE_MEAN = 0.22
FEATURE_STD = 0.34

# Tower layers by name: (op, window, stride, padding).
POOLS = {'max': ('MaxPool', 3, 2, 'VALID'), 'avg': ('AvgPool', 3, 1, 'SAME')}
POOL_FUNCTIONS = {'MaxPool': tf.nn.max_pool2d, 'AvgPool': tf.nn.avg_pool2d}

SYNTHETIC_CALIBRATION_PHOTOS = 8
CALIBRATION_PHOTOS_PER_CLASS = 2
DEFAULT_PHOTO_DIR = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), '..', '..', 'shared', 'data',
    'flower_photos_original_sample')


# ------------------------------------------------------------------ public

def tiny_graph_def(seed=0, width=1):
  """A small graph with the real interface: a few milliseconds per photo.
  `width` multiplies the depth of its layers before the last: at 4 its
  weights, as in the real graph, outweigh the scales int8 quantization
  adds per output channel."""
  photos = synthetic_photos(SYNTHETIC_CALIBRATION_PHOTOS, seed)
  return _build(functools.partial(_tiny_body, width=width), photos, seed)


def full_graph_def(calibration_photos, seed=0):
  """Inception v3 (about 5.7 G multiply-adds per photo) with the interface.

  calibration_photos: paths of a few JPEG photos. Batch norm statistics are
  measured on them, and on them the bottlenecks average FEATURE_MEAN with
  standard deviation FEATURE_STD.
  """
  jpegs = []
  for path in calibration_photos:
    with open(path, 'rb') as f:
      jpegs.append(f.read())
  return _build(_inception_v3_body, jpegs, seed)


def write_model_archive(graph_def, tgz_path):
  """Writes an inception-2015-12-05.tgz look-alike holding graph_def."""
  data = graph_def.SerializeToString(deterministic=True)
  member = tarfile.TarInfo(GRAPH_FILE_NAME)
  member.size = len(data)
  member.mode = 0o644
  with tarfile.open(tgz_path, 'w:gz') as archive:
    archive.addfile(member, io.BytesIO(data))


def synthetic_photos(count, seed=0):
  """count deterministic 320x240 JPEGs: smooth colour fields plus noise."""
  rng = np.random.RandomState(seed)
  photos = []
  for _ in range(count):
    coarse = rng.uniform(0, 255, (6, 8, 3)).astype(np.uint8)
    smooth = Image.fromarray(coarse).resize((320, 240), Image.BILINEAR)
    pixels = np.asarray(smooth, np.float32) + rng.normal(0, 16, (240, 320, 3))
    buffer = io.BytesIO()
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(
        buffer, 'JPEG', quality=90)
    photos.append(buffer.getvalue())
  return photos


def multiply_adds(graph_def):
  """Multiply-adds of one photo in the graph's Conv2D and MatMul nodes."""
  return sum(op.outputs[0].shape.num_elements()
             * int(np.prod(op.inputs[1].shape[:-1]))
             for op in _imported(graph_def).get_operations()
             if op.type in ('Conv2D', 'MatMul'))


def _imported(graph_def):
  """A tf.Graph of graph_def, left as it was (importing adds default attrs)."""
  graph_def_copy = tf1.GraphDef()
  graph_def_copy.CopyFrom(graph_def)
  with tf.Graph().as_default() as graph:
    tf1.import_graph_def(graph_def_copy, name='')
  return graph


# ------------------------------------------------------------ network bodies

def _tiny_body(net, image, width=1):
  w = width
  x = _tower(net, '', image, [(16 * w, 3, 2, 'VALID'), (32 * w, 3, 2, 'VALID'),
                              'max', (32 * w, 3, 2, 'VALID'), 'max'])
  x = _join(net, 'mixed', [
      _tower(net, 'mixed', x, [(32 * w, 1)]),
      _tower(net, 'mixed/tower', x, [(16 * w, 1), (32 * w, 3)]),
  ])
  return _conv(net, 'mixed_1/conv', x, BOTTLENECK_SIZE, 1)


def _inception_v3_body(net, image):
  x = _tower(net, '', image, [
      (32, 3, 2, 'VALID'), (32, 3, 1, 'VALID'), (64, 3), 'max',
      (80, 1, 1, 'VALID'), (192, 3, 1, 'VALID'), 'max'])
  for scope, pool_depth in ('mixed', 32), ('mixed_1', 64), ('mixed_2', 64):
    x = _block_35(net, scope, x, pool_depth)
  x = _reduction_35(net, 'mixed_3', x)
  for scope, depth in (('mixed_4', 128), ('mixed_5', 160), ('mixed_6', 160),
                       ('mixed_7', 192)):
    x = _block_17(net, scope, x, depth)
  x = _reduction_17(net, 'mixed_8', x)
  for scope in 'mixed_9', 'mixed_10':
    x = _block_8(net, scope, x)
  return x


def _block_35(net, scope, x, pool_depth):
  return _join(net, scope, [
      _tower(net, scope, x, [(64, 1)]),
      _tower(net, scope + '/tower', x, [(48, 1), (64, 5)]),
      _tower(net, scope + '/tower_1', x, [(64, 1), (96, 3), (96, 3)]),
      _tower(net, scope + '/tower_2', x, ['avg', (pool_depth, 1)]),
  ])


def _reduction_35(net, scope, x):
  return _join(net, scope, [
      _tower(net, scope, x, [(384, 3, 2, 'VALID')]),
      _tower(net, scope + '/tower', x, [(64, 1), (96, 3), (96, 3, 2, 'VALID')]),
      _tower(net, scope, x, ['max']),
  ])


def _block_17(net, scope, x, depth):
  return _join(net, scope, [
      _tower(net, scope, x, [(192, 1)]),
      _tower(net, scope + '/tower', x,
             [(depth, 1), (depth, (1, 7)), (192, (7, 1))]),
      _tower(net, scope + '/tower_1', x,
             [(depth, 1), (depth, (7, 1)), (depth, (1, 7)), (depth, (7, 1)),
              (192, (1, 7))]),
      _tower(net, scope + '/tower_2', x, ['avg', (192, 1)]),
  ])


def _reduction_17(net, scope, x):
  return _join(net, scope, [
      _tower(net, scope + '/tower', x, [(192, 1), (320, 3, 2, 'VALID')]),
      _tower(net, scope + '/tower_1', x,
             [(192, 1), (192, (1, 7)), (192, (7, 1)), (192, 3, 2, 'VALID')]),
      _tower(net, scope, x, ['max']),
  ])


def _block_8(net, scope, x):
  return _join(net, scope, [
      _tower(net, scope, x, [(320, 1)]),
      _split_1x3_3x1(net, scope + '/tower',
                     _tower(net, scope + '/tower', x, [(384, 1)])),
      _split_1x3_3x1(net, scope + '/tower_1',
                     _tower(net, scope + '/tower_1', x, [(448, 1), (384, 3)])),
      _tower(net, scope + '/tower_2', x, ['avg', (192, 1)]),
  ])


def _split_1x3_3x1(net, scope, x):
  return _join(net, scope + '/mixed', [
      _conv(net, scope + '/mixed/conv', x, 384, (1, 3)),
      _conv(net, scope + '/mixed/conv_1', x, 384, (3, 1)),
  ])


# ----------------------------------------------------------------- building
#
# net.graph_def is the GraphDef being built, net.rng draws its weights, and
# net.scale_after_normalization alternates between False and True.
# A layer's output x is a pair (node name, value on the calibration photos):
# every layer is both written as NodeDefs and computed eagerly, so each batch
# norm can be calibrated on what actually reaches it. Nodes are written
# directly because TensorFlow refuses to build
# BatchNormWithGlobalNormalization, even eagerly.

def _build(body, jpegs, seed):
  net = types.SimpleNamespace(
      graph_def=tf1.GraphDef(), rng=np.random.RandomState(seed),
      scale_after_normalization=itertools.cycle([False, True]))
  net.graph_def.versions.producer = PRODUCER_VERSION
  features = body(net, _head(net, jpegs))
  whole_extent = features[1].shape[1]
  pool, pool_value = _pool(net, POOL_3_NODE, features, 'AvgPool',
                           whole_extent, 1, 'VALID')
  _scale_features(net.graph_def, _feature_scales(
      pool_value.numpy().reshape(-1, BOTTLENECK_SIZE), net.rng))
  _tail(net, pool)
  return net.graph_def


def _head(net, jpegs):
  """JPEG bytes -> 299x299 RGB scaled to [-1, 1], as in the real graph."""
  f32 = tf.float32
  _node(net, JPEG_INPUT_NODE, 'Placeholder', dtype=tf.string,
        shape=tf.TensorShape([]))
  _node(net, DECODED_IMAGE_NODE, 'DecodeJpeg', [JPEG_INPUT_NODE], channels=3,
        ratio=1, fancy_upscaling=True, try_recover_truncated=False,
        acceptable_fraction=1.0)
  _node(net, CAST_NODE, 'Cast', [DECODED_IMAGE_NODE], SrcT=tf.uint8, DstT=f32)
  dim = _const(net, EXPAND_DIMS_NODE + '/dim', 0, np.int32)
  _node(net, EXPAND_DIMS_NODE, 'ExpandDims', [CAST_NODE, dim], T=f32,
        Tdim=tf.int32)
  size = _const(net, RESIZED_IMAGE_NODE + '/size', [INPUT_SIZE] * 2, np.int32)
  _node(net, RESIZED_IMAGE_NODE, 'ResizeBilinear', [EXPAND_DIMS_NODE, size],
        T=f32, align_corners=False)
  _node(net, SUB_NODE, 'Sub',
        [RESIZED_IMAGE_NODE, _const(net, SUB_NODE + '/y', 128.0)], T=f32)
  _node(net, MUL_NODE, 'Mul', [SUB_NODE, _const(net, MUL_NODE + '/y', 1 / 128)],
        T=f32)
  return MUL_NODE, tf.concat([_preprocess(jpeg) for jpeg in jpegs], 0)


def _preprocess(jpeg):
  """What _head's nodes compute, eagerly: [1, 299, 299, 3]."""
  image = tf.cast(tf.io.decode_jpeg(jpeg, channels=3), tf.float32)
  image = tf.raw_ops.ResizeBilinear(images=image[tf.newaxis],
                                    size=[INPUT_SIZE] * 2)
  return (image - 128.0) * (1 / 128)


def _tail(net, pool):
  """pool_3's reshape to [1, 2048], and the 1,008-class softmax."""
  shape = _const(net, BOTTLENECK_NODE + '/shape', [1, BOTTLENECK_SIZE],
                 np.int32)
  _node(net, BOTTLENECK_NODE, 'Reshape', [pool, shape], T=tf.float32,
        Tshape=tf.int32)
  weights = _const(net, SOFTMAX_WEIGHTS_NODE,
                   net.rng.normal(0, 0.05, (BOTTLENECK_SIZE, NUM_CLASSES)))
  biases = _const(net, SOFTMAX_BIASES_NODE, net.rng.normal(0, 0.1, NUM_CLASSES))
  _node(net, LOGITS_MATMUL_NODE, 'MatMul', [BOTTLENECK_NODE, weights],
        T=tf.float32)
  _node(net, LOGITS_NODE, 'BiasAdd', [LOGITS_MATMUL_NODE, biases],
        T=tf.float32)
  _node(net, SOFTMAX_NODE, 'Softmax', [LOGITS_NODE], T=tf.float32)


def _tower(net, scope, x, layers):
  """Chains layers named scope/conv, scope/conv_1, ..., scope/pool, ...

  A layer is a key of POOLS, or the arguments of _conv after the name:
  (depth, kernel[, stride[, padding]]).
  """
  counts = {'conv': 0, 'pool': 0}
  for layer in layers:
    kind = 'pool' if layer in POOLS else 'conv'
    name = kind + ('_%d' % counts[kind] if counts[kind] else '')
    name = scope + '/' + name if scope else name
    counts[kind] += 1
    if kind == 'pool':
      x = _pool(net, name, x, *POOLS[layer])
    else:
      x = _conv(net, name, x, *layer)
  return x


def _conv(net, name, x, depth, kernel, stride=1, padding='SAME'):
  """Conv2D, batch norm and Relu; kernel is a size or (height, width)."""
  x_name, x_value = x
  kernel = (kernel, kernel) if isinstance(kernel, int) else kernel
  fan_in = kernel[0] * kernel[1] * x_value.shape[-1]
  filters = net.rng.normal(0, np.sqrt(2 / fan_in),
                           kernel + (x_value.shape[-1], depth))
  filters_name = _const(net, name + '/conv2d_params', filters)
  strides = [1, stride, stride, 1]
  conv = (_node(net, name + '/Conv2D', 'Conv2D', [x_name, filters_name],
                T=tf.float32, strides=strides, padding=padding),
          tf.nn.conv2d(x_value, filters.astype(np.float32), strides, padding))
  batch_norm_name, batch_norm = _batch_norm(net, name + '/batchnorm', conv)
  return (_node(net, name, 'Relu', [batch_norm_name], T=tf.float32),
          tf.nn.relu(batch_norm))


def _batch_norm(net, name, x):
  """BatchNormWithGlobalNormalization calibrated on x's value.

  moving_mean and moving_variance are x's statistics, so the normalized x has
  zero mean and unit variance per channel; gamma (when applied) and beta then
  scale it mildly and shift it up a little, so that more than half of it
  passes the Relu. Sparser or more varied layers would make the features of
  photos unlike the calibration ones blow up or vanish, deep down.
  """
  x_name, x_value = x
  depth = x_value.shape[-1]
  mean, variance = (m.numpy() for m in tf.nn.moments(x_value, [0, 1, 2]))
  params = {'moving_mean': mean, 'moving_variance': variance,
            'beta': net.rng.uniform(0, 0.5, depth),
            'gamma': net.rng.lognormal(0, 0.3, depth)}
  scale_after_normalization = next(net.scale_after_normalization)
  inputs = [x_name] + [_const(net, name + '/' + key, value)
                       for key, value in params.items()]
  _node(net, name, 'BatchNormWithGlobalNormalization', inputs, T=tf.float32,
        variance_epsilon=BATCH_NORM_EPSILON,
        scale_after_normalization=scale_after_normalization)
  scale = 1 / np.sqrt(variance + BATCH_NORM_EPSILON)
  if scale_after_normalization:
    scale = scale * params['gamma']
  shift = params['beta'] - mean * scale
  return name, x_value * scale.astype(np.float32) + shift.astype(np.float32)


def _feature_scales(pool, rng):
  """Factors for pool_3's channels giving it the real graph's mean and std.

  pool: [photos, 2048] pool_3 on the calibration photos. The real bottleneck
  channels differ widely in scale (std / mean about 1.5), so the factors are
  log-normal, with the spread found by bisection, times the common factor
  that sets the mean.
  """
  normal = rng.standard_normal(pool.shape[-1])
  low, high = 0.0, 4.0
  for _ in range(30):
    spread = (low + high) / 2
    scaled = pool * np.exp(spread * normal)
    if scaled.std() / scaled.mean() < FEATURE_STD / FEATURE_MEAN:
      low = spread
    else:
      high = spread
  factors = np.exp(spread * normal)
  return factors * FEATURE_MEAN / (pool * factors).mean()


def _scale_features(graph_def, factors):
  """Multiplies pool_3's channels by factors > 0.

  pool_3 averages Relus of batch norms (through Concats); scaling a batch
  norm's output channel scales the pool_3 channel. Without
  scale_after_normalization gamma is ignored, so the variance changes instead
  (kept >= 0: a channel constant on the calibration photos has no scale).
  """
  nodes = {node.name: node for node in graph_def.node}

  def feeding_batch_norms(name):
    node = nodes[name]
    if node.op == 'Concat':
      return [batch_norm for value in node.input[1:]
              for batch_norm in feeding_batch_norms(value)]
    return [nodes[node.input[0]]]  # node is a Relu

  channel = 0
  for batch_norm in feeding_batch_norms(nodes[POOL_3_NODE].input[0]):
    mean, variance, beta, gamma = (nodes[name].attr['value'].tensor
                                   for name in batch_norm.input[1:])
    depth = mean.tensor_shape.dim[0].size
    factor = factors[channel:channel + depth]
    channel += depth
    _multiply_const(beta, factor)
    if batch_norm.attr['scale_after_normalization'].b:
      _multiply_const(gamma, factor)
    else:
      variance.CopyFrom(tf.make_tensor_proto(np.maximum(
          (tf.make_ndarray(variance) + BATCH_NORM_EPSILON) / factor**2
          - BATCH_NORM_EPSILON, 0).astype(np.float32)))


def _multiply_const(tensor, factor):
  tensor.CopyFrom(tf.make_tensor_proto(
      (tf.make_ndarray(tensor) * factor).astype(np.float32)))


def _pool(net, name, x, op, window, stride, padding):
  x_name, x_value = x
  ksize, strides = [1, window, window, 1], [1, stride, stride, 1]
  return (_node(net, name, op, [x_name], T=tf.float32, ksize=ksize,
                strides=strides, padding=padding),
          POOL_FUNCTIONS[op](x_value, ksize, strides, padding))


def _join(net, scope, towers):
  """The legacy Concat (axis first) of towers along the channels."""
  names, values = zip(*towers)
  axis = _const(net, scope + '/join/concat_dim', 3, np.int32)
  return (_node(net, scope + '/join', 'Concat', [axis, *names], N=len(names),
                T=tf.float32),
          tf.concat(values, 3))


def _const(net, name, value, dtype=np.float32):
  return _node(net, name, 'Const', dtype=tf.as_dtype(dtype),
               value=tf.make_tensor_proto(np.asarray(value, dtype)))


def _node(net, name, op, inputs=(), **attrs):
  """Appends a NodeDef to net.graph_def and returns its name."""
  node = net.graph_def.node.add(name=name, op=op, input=inputs)
  for key, value in attrs.items():
    node.attr[key].CopyFrom(_attr_value(value))
  return name


def _attr_value(value):
  if isinstance(value, tf.DType):
    return tf1.AttrValue(type=value.as_datatype_enum)
  if isinstance(value, tf.TensorShape):
    return tf1.AttrValue(shape=value.as_proto())
  if isinstance(value, bool):
    return tf1.AttrValue(b=value)
  if isinstance(value, int):
    return tf1.AttrValue(i=value)
  if isinstance(value, float):
    return tf1.AttrValue(f=value)
  if isinstance(value, str):
    return tf1.AttrValue(s=value.encode())
  if isinstance(value, list):
    return tf1.AttrValue(list=tf1.AttrValue.ListValue(i=value))
  return tf1.AttrValue(tensor=value)


# ---------------------------------------------------------------------- CLI

def _calibration_photos(scratch_dir):
  """The first photos of each class of the shared sample, else synthetic."""
  class_dirs = sorted(glob.glob(os.path.join(DEFAULT_PHOTO_DIR, '*', '')))
  paths = [path for class_dir in class_dirs
           for path in sorted(glob.glob(os.path.join(class_dir, '*.jpg')))
           [:CALIBRATION_PHOTOS_PER_CLASS]]
  if paths:
    return paths
  for i, jpeg in enumerate(synthetic_photos(SYNTHETIC_CALIBRATION_PHOTOS)):
    paths.append(os.path.join(scratch_dir, 'photo_%d.jpg' % i))
    with open(paths[-1], 'wb') as f:
      f.write(jpeg)
  return paths


def _bottlenecks(graph_def, photo_paths):
  """Runs the photos one per run; returns the bottlenecks and s per photo."""
  jpegs = []
  for path in photo_paths:
    with open(path, 'rb') as f:
      jpegs.append(f.read())
  with tf1.Session(graph=_imported(graph_def)) as session:
    def run(jpeg):
      return session.run(BOTTLENECK_NODE + ':0',
                         {JPEG_INPUT_NODE + ':0': jpeg})[0]
    run(jpegs[0])  # the first run sets things up
    start = time.time()
    bottlenecks = np.array([run(jpeg) for jpeg in jpegs])
  return bottlenecks, (time.time() - start) / len(jpegs)


def main(argv=None):
  parser = argparse.ArgumentParser(
      description='Writes a stand-in for classify_image_graph_def.pb.')
  parser.add_argument('size', choices=['tiny', 'full'])
  parser.add_argument('output', help='where to write the GraphDef (.pb)')
  parser.add_argument('--tgz', help='also write an inception-2015-12-05.tgz '
                      'look-alike here')
  args = parser.parse_args(argv)
  with tempfile.TemporaryDirectory() as scratch_dir:
    photos = _calibration_photos(scratch_dir)
    start = time.time()
    if args.size == 'tiny':
      graph_def = tiny_graph_def()
    else:
      graph_def = full_graph_def(photos)
    print('built the %s stand-in in %.1f s: %.3f G multiply-adds per photo'
          % (args.size, time.time() - start, multiply_adds(graph_def) / 1e9))
    bottlenecks, seconds = _bottlenecks(graph_def, photos)
  print('%d photos: %.1f ms per photo; bottleneck mean %.3f, std %.3f '
        '(real graph: about 0.22 and 0.34)'
        % (len(photos), seconds * 1000, bottlenecks.mean(), bottlenecks.std()))
  with open(args.output, 'wb') as f:
    f.write(graph_def.SerializeToString(deterministic=True))
  if args.tgz:
    write_model_archive(graph_def, args.tgz)


if __name__ == '__main__':
  main()
