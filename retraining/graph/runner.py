"""Running a base's rewritten graph on photos, one photo at a time:
the one loader of a graph file (`load_graph`) and the one builder of what
runs it (`photo_model`), for caching bottlenecks, retrain.py's distortions,
Beam's workers and predict.py's scores.

`photo_model` puts together:

1. Decode: a pool of threads decodes and resizes each photo with the graph's
   own head (DecodeJpeg -> ResizeBilinear), in a small session holding only
   that head. It starts at once, so the first photos are ready by the time
   the body has been imported into a session of its own (in the
   background).
2. Body: one thread per core runs the body on one photo at a time.
3. The caller gets each photo's output, or why it could not be read, in the
   order of the photos given.

Each stage keeps a bounded number of photos in flight (`map_ahead`), so the
body never waits for the caller and memory stays flat for any photo count.

The same bytes on every machine. A photo's bottleneck must not depend on
how many photos a run computes, on the machine's cores, or on which process
computes it (retrain.py, a resumed run, a Beam worker), so that a cache
filled by any of them is one cache. What decides it, all here:
- each photo runs alone, as a batch of one (see open_body): in a batch,
  the matrix kernels sum a pixel's products in an order set by the batch;
- each op runs on one thread, Grappler's rewrites are off (session_config);
- the weights are fed only where that cannot change the digits
  (`feeds_weights`): oneDNN's kernels give other last digits for fed
  weights than for constant ones;
- TensorFlow's kernels are the same family everywhere: a process reads
  TF_ENABLE_ONEDNN_OPTS when it imports TensorFlow, and Beam's workers take
  the driver's (beam/worker.py's use_kernel_choice);
- TensorFlow's own ops are deterministic (tensorflow_v1.set_up_process).
"""

import concurrent.futures
import contextlib
import hashlib
import io

from retraining import UserError, files, inception, warn
from retraining.bases import (
  BATCH_INPUT_TENSOR_NAME,
  DECODED_IMAGE_TENSOR_NAME,
  INCEPTION_V3,
  JPEG_DATA_TENSOR_NAME,
  RESIZED_IMAGE_NODE,
  RESIZED_IMAGE_TENSOR_NAME,
)
from retraining.decoding import decode_with_pillow, outcomes, read_photo
from retraining.graph import final_layer, nodes, rewrite
from retraining.graph.tensorflow_v1 import onednn_enabled, tf, tf1
from retraining.machine import cpu_cores, map_ahead

# Photos decoded and resized before the body asks for them: each is small
# (299 x 299 at most), and many keep every core's body busy.
RESIZED_AHEAD_OF_BODY = 64
FEED_WEIGHTS_UP_TO = 64  # photos; see feeds_weights
# The graph's decoding head: (JPEG bytes input, decoded pixels, [1, size,
# size, 3] output). retrain.py's distortions have a head of their own.
ORIGINAL_HEAD = (JPEG_DATA_TENSOR_NAME, DECODED_IMAGE_TENSOR_NAME,
                 RESIZED_IMAGE_TENSOR_NAME)


def read_graph(path, base=None):
  """load_graph of the graph file at `path`."""
  return load_graph(files.read_bytes(path), path, base)


def load_graph(data, name, base=None):
  """The graph serialised in `data` (from the file `name`), rewritten into
  the form photos run through (see rewrite.py): the graph of `base`, or
  with None a graph retrain.py wrote. Where Inception's 2015 graph is
  expected and this is not it, one warning: it may be the user's own, and
  is used as it is."""
  if base is INCEPTION_V3 and (
      len(data) != inception.GRAPH_SIZE or
      hashlib.sha256(data).hexdigest() != inception.GRAPH_SHA256):
    warn('%s is not the one in inception-2015-12-05.tgz (its size or sha256 '
         'differs); using it as it is' % name)
  graph_def = rewrite.fast_graph_def(rewrite.parse_graph_def(data, name), name)
  if base is not None and base.bottleneck_node not in {
      node.name for node in graph_def.node}:
    raise UserError('%s has no node %s: it is not the graph of %s; delete it '
                    'and run again' % (name, base.bottleneck_node, base.title))
  return graph_def


def feeds_weights(photo_count):
  """Whether a run on `photo_count` photos feeds the body its weights (see
  open_body): for a few photos, where that is quicker, and never under
  oneDNN's kernels, whose last digits differ between fed and constant
  weights (so the bytes would depend on how many photos a run computes)."""
  return photo_count <= FEED_WEIGHTS_UP_TO and not onednn_enabled()


@contextlib.contextmanager
def photo_outputs(graph_def, paths, output_name, feed_weights=None,
                  body=None):
  """Loads the rewritten graph to compute `output_name` (a bottleneck, or
  the retrained layer's scores), and yields an iterator of (path, output,
  None), or (path, None, reason) for a photo that cannot be read, one per
  path, in order. With no photo, nothing is loaded. feed_weights: see
  open_body; None, the default, is feeds_weights(len(paths)). body: what
  opens the body (see body_opener); by default open_body.
  """
  if not paths:
    yield iter(())
    return
  if feed_weights is None:
    feed_weights = feeds_weights(len(paths))
  with photo_model(graph_def, output_name, feed_weights=feed_weights,
                   body=body) as outputs:
    yield outputs(paths)


@contextlib.contextmanager
def photo_model(graph_def, output_name, threads=None, feed_weights=False,
                head=None, decode_threads=None, read=read_photo, body=None):
  """Yields outputs(photos): an iterator of (photo, output, None), or
  (photo, None, reason) for one that cannot be read, for each photo in
  order, computed as this module's docstring says. A photo is what `read`
  takes (a path; a file's bytes with decoding.photo_from_bytes).

  threads: the ops run at once, and the threads running the body (default:
  the cores). head: (session, its three tensor names as ORIGINAL_HEAD) that
  decodes and resizes, instead of the graph's own; decode_threads: how many
  threads decode (default: as many as the body's, two at least). body:
  what opens the body, open_body or one of its kind (see body_opener).
  """
  threads = threads or cpu_cores()
  with contextlib.ExitStack() as stack:
    if head is None:
      head = (stack.enter_context(contextlib.closing(
          decoding_session(graph_def, threads))), ORIGINAL_HEAD)
    decoders = stack.enter_context(concurrent.futures.ThreadPoolExecutor(
        decode_threads or max(2, threads)))
    stack.callback(decoders.shutdown, cancel_futures=True)
    # The body is imported while the first photos decode.
    importer = stack.enter_context(concurrent.futures.ThreadPoolExecutor(1))
    body = importer.submit(body or open_body, graph_def, output_name,
                           feed_weights, threads)
    stack.callback(close_body, body)
    body_threads = stack.enter_context(concurrent.futures.ThreadPoolExecutor(threads))

    def resize(photo):
      return resize_read_photo(head[0], read(photo), head[1])

    def outputs(photos):
      images = map_ahead(decoders, resize, photos, RESIZED_AHEAD_OF_BODY)
      return outcomes(photos, map_ahead(
          body_threads, lambda image: body.result()[1](image.result()), images,
          2 * threads))
    yield outputs


def resize_photo(sess, path, head=ORIGINAL_HEAD):
  """Decodes and resizes one photo with a decoding head -> [size, size, 3].

  JPEG bytes go to DecodeJpeg/contents:0 exactly as in the original graph;
  other photos (and JPEGs TensorFlow rejects) go in as Pillow-decoded pixels
  at DecodeJpeg:0, the same point in the graph. Raises BadPhoto.
  """
  return resize_read_photo(sess, read_photo(path), head)


def resize_read_photo(sess, photo, head=ORIGINAL_HEAD):
  """resize_photo for a photo already read: read_photo's (kind, data)."""
  jpeg_input, decoded, output = head
  kind, data = photo
  if kind == 'jpeg':
    try:
      return sess.run(output, {jpeg_input: data})[0]
    except tf.errors.InvalidArgumentError:
      data = decode_with_pillow(io.BytesIO(data))
  return sess.run(output, {decoded: data})[0]


def decoding_session(graph_def, threads=None):
  """A session holding only the graph's decoding head, up to ResizeBilinear:
  it is quick to import, and photos decode there while the body is
  still being imported. `threads`: see session_config."""
  return session_on(nodes.subgraph(graph_def, [RESIZED_IMAGE_NODE]), threads)


def open_body(graph_def, output_name, feed_weights=False, threads=None):
  """(its session, run(image [size, size, 3]) -> the image's `output_name`),
  computed from the batch input on (see rewrite.body_graph_def). run may be
  called from several threads at once: each run's ops use one thread, and
  at most `threads` ops run at once (see session_config).

  Each photo runs alone, as a batch of one. That is what makes a photo's
  outputs depend on the photo alone: in a batch, the matrix kernels sum a
  pixel's products in an order set by the batch's size and by the pixel's
  place in it (Eigen's kernels do, used where oneDNN's are off), so the same
  photo got another bottleneck in another batch, and a resumed run another
  model.

  Feeding the weights on every run, rather than holding them as constants,
  pays for a few dozen photos (FEED_WEIGHTS_UP_TO): TensorFlow copies a
  graph's constants many times over while importing it and preparing its
  first run, but oneDNN keeps a constant filter in the layout it computes
  with and reorders a fed one on every run, that is for every photo.
  """
  body, weights = rewrite.body_graph_def(graph_def, output_name, feed_weights)
  sess = session_on(body, threads)

  def run(image):
    return sess.run(output_name, dict(weights, **{
        BATCH_INPUT_TENSOR_NAME: image[None]}))[0]
  return sess, run


def close_body(body):
  """Closes the session of open_body's future `body`, once it is opened
  (a body LiteRT runs has none)."""
  if body.exception() is None and body.result()[0] is not None:
    body.result()[0].close()


def body_opener(base):
  """What opens the body of `base`'s graph for its bottlenecks: a Keras
  base's runs on LiteRT where it is installed (see lite_body.py),
  Inception's on TensorFlow (open_body)."""
  from retraining.graph import lite_body
  if base.keras is not None and lite_body.litert_installed():
    return lite_body.open_body
  return open_body


def output_size(graph_def, output_name):
  """How many values `output_name` gives per photo, or None if its shape
  does not say: from the part of the retrained graph after its bottleneck
  alone (from the new layer's input on), which is quick to import."""
  def lifted(node):
    if node.name == final_layer.BOTTLENECK_INPUT_NODE:
      return nodes.float_placeholder(node.name, node.attr['shape'].shape)
    return node
  layer = nodes.subgraph(graph_def, [nodes.node_name(output_name)],
                         {final_layer.BOTTLENECK_INPUT_NODE}, lifted)
  graph = tf.Graph()
  with graph.as_default():
    tf1.import_graph_def(layer, name='')
  return graph.get_tensor_by_name(output_name).shape[-1]


def session_on(graph_def, threads=None):
  """A session on a new graph holding `graph_def`, which it may change
  (importing fills in default attributes in place); `threads`: see
  session_config."""
  graph = tf.Graph()
  with graph.as_default():
    tf1.import_graph_def(graph_def, name='')
  return tf1.Session(graph=graph, config=session_config(threads))


def session_config(threads=None):
  """A session without Grappler's graph rewrites, running each op on one
  thread and as many ops at once as `threads`: by default as there are
  cores, or this process's share of them where other processes use the
  rest (a Beam worker process, see retraining/beam/worker.py).

  Grappler's rewrites cost more on the big graph's first run than they
  gain once batch norm is folded by hand. With one thread an op
  and one photo per core at a time, no op waits for its slowest thread.
  TensorFlow sizes its process-wide pool of threads for each op's own work
  when the first session starts, so every session of a process works this
  way (the training session has threads of its own).
  """
  config = tf1.ConfigProto(intra_op_parallelism_threads=1,
                           inter_op_parallelism_threads=threads or cpu_cores())
  config.graph_options.rewrite_options.disable_meta_optimizer = True
  return config
