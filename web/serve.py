"""Serves the page that runs retrain.py's .tflite in a browser, for a phone
on the same Wi-Fi:

  python web/serve.py [--output_graph ./workspace/flowers_graph.pb]
                      [--tflite PATH] [--host 0.0.0.0] [--port 8000]

It serves only what the page needs, read-only (GET and HEAD): the page
(web/index.html, app.js, style.css), MediaPipe's module and wasm files
(from web/node_modules, which `npm ci` in web/ installs) and the model,
always at /model.tflite. Every address is looked up in a fixed table:
nothing else answers, no folder is listed, and no path leads around it,
so the photos, caches and home folder beside the model stay private.
Without the local MediaPipe copy it prints an address that tells the page
to load MediaPipe from a CDN (then the phone needs the internet).
"""

import errno
import http.server
import json
import os
import shutil
import socket
import sys
import urllib.parse

from absl import app, flags

HERE = os.path.dirname(os.path.abspath(__file__))
# The one script outside the project's root: Python looks for the
# `retraining` package beside this file, so it is told where the root is.
sys.path.insert(0, os.path.dirname(HERE))

from retraining import UserError, defaults, errors_as_one_line, warn  # noqa: E402
from retraining.lite import model_file  # noqa: E402

MODEL_URL = '/model.tflite'  # where the page looks for the model by default
DEFAULT_HOST = '0.0.0.0'  # every network of this machine: the phone's too
DEFAULT_PORT = 8000
PAGE_FILES = ('index.html', 'app.js', 'style.css')
MEDIAPIPE_VERSION = '1.1.0'  # as web/package.json pins it
MEDIAPIPE_PACKAGE = os.path.join(HERE, 'node_modules', '@mediapipe', 'tasks-vision')
MEDIAPIPE_CDN = 'https://cdn.jsdelivr.net/npm/@mediapipe/tasks-vision@' + MEDIAPIPE_VERSION
MEDIAPIPE_FILES = (
  'vision_bundle.mjs',
  'vision_bundle.mjs.map',
  'wasm/vision_wasm_internal.js',
  'wasm/vision_wasm_internal.wasm',
  'wasm/vision_wasm_nosimd_internal.js',
  'wasm/vision_wasm_nosimd_internal.wasm',
)
CONTENT_TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
  '.wasm': 'application/wasm',
  '.tflite': 'application/octet-stream',
}
# A UDP socket "connected" here sends nothing; it only makes the system
# pick the address it would use for the local network.
PRIVATE_PROBE = ('10.255.255.255', 1)
LOOPBACK_HOSTS = ('127.0.0.1', 'localhost', '::1')


FLAGS = flags.FLAGS
flags.DEFINE_string('output_graph', defaults.OUTPUT_GRAPH,
                    'retrain.py\'s --output_graph; the model served is the '
                    '.tflite beside it.')
flags.DEFINE_string('tflite', None, 'The model to serve, instead of the '
                    '.tflite beside --output_graph.')
flags.DEFINE_string('host', DEFAULT_HOST,
                    'The address to listen on: open to the local network by '
                    'default; 127.0.0.1: this computer only.')
flags.DEFINE_integer('port', DEFAULT_PORT, 'The port (0: any free one).',
                     lower_bound=0, upper_bound=65535)


def model_path(output_graph, tflite):
  """The model to serve: `tflite`, or the .tflite beside `output_graph`."""
  return tflite or model_file.beside(output_graph)


def check_model(path):
  """Raises UserError unless `path` is a readable .tflite."""
  if not os.path.isfile(path):
    raise UserError('there is no model at %s: run retrain.py first (it writes '
                    'the .tflite beside --output_graph), or give one with '
                    '--tflite PATH' % path)
  try:
    is_tflite = model_file.is_tflite(path)
  except OSError as e:
    raise UserError('cannot read the model %s (%s)' % (path, e.strerror))
  if not is_tflite:
    raise UserError('%s is not a TensorFlow Lite model (.tflite): give the '
                    '.tflite that retrain.py wrote' % path)


def warn_of_another_runs_model(model, graph_path):
  """One warning where the .tflite beside the graph was converted from
  another graph (its record says; see retraining/lite/model_file.py): the
  page would then run another model than predict.py's graph."""
  try:
    foreign = model_file.from_another_graph(model_file.packed_files(model),
                                            model, graph_path)
  except OSError:  # A graph that cannot be read says nothing of the model.
    return
  if foreign:
    warn('%s: the page runs that other model; run retrain.py again to write '
         'it anew' % foreign)


def local_mediapipe():
  """The version of the local MediaPipe copy, or None without a whole one."""
  if not all(os.path.isfile(os.path.join(MEDIAPIPE_PACKAGE, name))
             for name in MEDIAPIPE_FILES):
    return None
  try:
    with open(os.path.join(MEDIAPIPE_PACKAGE, 'package.json'), encoding='utf-8') as f:
      return json.load(f).get('version', '?')
  except (OSError, ValueError):
    return '?'


def routes(model, with_mediapipe):
  """{URL path: file}: everything the server answers."""
  table = {'/': os.path.join(HERE, 'index.html'), MODEL_URL: model}
  for name in PAGE_FILES:
    table['/' + name] = os.path.join(HERE, name)
  if with_mediapipe:
    for name in MEDIAPIPE_FILES:
      table['/mediapipe/' + name] = os.path.join(MEDIAPIPE_PACKAGE, name)
  return table


class Handler(http.server.BaseHTTPRequestHandler):
  """Answers GET and HEAD for the paths of `self.server.routes` only."""

  server_version = 'serve.py'
  sys_version = ''

  def do_GET(self):
    self.answer(with_body=True)

  def do_HEAD(self):
    self.answer(with_body=False)

  def refuse(self):
    self.send_response(405)
    self.send_header('Allow', 'GET, HEAD')
    self.send_header('Content-Length', '0')
    self.end_headers()

  do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = refuse

  def answer(self, with_body):
    path = urllib.parse.urlsplit(self.path).path
    file_path = self.server.routes.get(path)
    try:
      f = open(file_path, 'rb') if file_path else None
    except OSError:
      f = None
    if f is None:
      self.send_error(404)
      return
    with f:
      self.send_response(200)
      self.send_header('Content-Type', content_type(file_path))
      self.send_header('Content-Length', str(os.fstat(f.fileno()).st_size))
      self.send_header('Cache-Control', 'no-cache')  # a model retrained shows
      self.send_header('X-Content-Type-Options', 'nosniff')
      if path == MODEL_URL:
        self.send_header('X-Model-File', urllib.parse.quote(os.path.basename(file_path)))
      self.end_headers()
      if with_body:
        try:
          shutil.copyfileobj(f, self.wfile)
        except (BrokenPipeError, ConnectionResetError):
          pass  # The phone went away: nothing to tell.

  def log_message(self, format, *args):
    sys.stderr.write('%s %s\n' % (self.address_string(), format % args))


def content_type(path):
  return CONTENT_TYPES.get(os.path.splitext(path)[1], 'application/octet-stream')


def make_server(host, port, table):
  try:
    server = http.server.ThreadingHTTPServer((host, port), Handler)
  except OSError as e:
    if e.errno == errno.EADDRINUSE:
      raise UserError('port %d is in use (another serve.py?): stop it, or give '
                      'another port with --port, e.g. --port %d' % (port, port + 1))
    if isinstance(e, socket.gaierror) or e.errno == errno.EADDRNOTAVAIL:
      raise UserError('cannot listen on %s: give an address of this computer '
                      'with --host, e.g. --host 0.0.0.0' % host)
    raise UserError('cannot listen on %s port %d (%s)' % (host, port, e.strerror or e))
  server.daemon_threads = True
  server.routes = table
  return server


def lan_address():
  """This machine's address on the local network, found without sending
  anything; None when there is none."""
  try:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
      probe.connect(PRIVATE_PROBE)
      address = probe.getsockname()[0]
  except OSError:
    try:
      address = socket.gethostbyname(socket.gethostname())
    except OSError:
      return None
  return None if address.startswith('127.') else address


def page_query(with_mediapipe):
  return '' if with_mediapipe else '?mediapipe=' + MEDIAPIPE_CDN


def announce(host, port, model, mediapipe_version):
  """Prints the address to open, the model served, and what is open to whom."""
  query = page_query(mediapipe_version)
  print('Serving %s as %s' % (model, MODEL_URL))
  if mediapipe_version is None:
    print('No local copy of MediaPipe (run `npm ci` in web/ for one): the page '
          'loads MediaPipe %s from %s, so the phone needs the internet.'
          % (MEDIAPIPE_VERSION, MEDIAPIPE_CDN))
  elif mediapipe_version != MEDIAPIPE_VERSION:
    print('Note: web/node_modules holds MediaPipe %s, not %s as package.json '
          'pins: run `npm ci` in web/.' % (mediapipe_version, MEDIAPIPE_VERSION))
  if host in LOOPBACK_HOSTS:
    print('Open on this computer: http://%s:%d/%s' % (host, port, query))
    print('Only this computer can open it (--host %s).' % host)
  else:
    address = lan_address() if host in ('0.0.0.0', '') else host
    if address:
      print('Open on your phone (same Wi-Fi): http://%s:%d/%s' % (address, port, query))
    else:
      print('No local network found: the phone cannot reach this computer.')
    print('On this computer: http://localhost:%d/%s' % (port, query))
    print('Anyone on this network can open the page and the model (nothing '
          'else is served); --host 127.0.0.1 keeps it to this computer.')
  print('Press Ctrl-C to stop.', flush=True)


def main(argv):
  if len(argv) > 1:
    sys.exit('serve.py: error: unexpected argument %r (flags look like '
             '--port=8000; see --help)' % argv[1])
  with errors_as_one_line(interrupted='stopped'):
    model = model_path(FLAGS.output_graph, FLAGS.tflite)
    check_model(model)
    if not FLAGS.tflite:
      warn_of_another_runs_model(model, FLAGS.output_graph)
    mediapipe_version = local_mediapipe()
    server = make_server(FLAGS.host, FLAGS.port, routes(model, mediapipe_version))
  with server:
    try:
      announce(FLAGS.host, server.server_address[1], model, mediapipe_version)
      server.serve_forever()
    except KeyboardInterrupt:
      print('\nStopped.')


if __name__ == '__main__':
  app.run(main)
