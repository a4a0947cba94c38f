"""web/: the page that runs retrain.py's .tflite in a browser, and
web/serve.py, the server a phone opens it from. The server's tests need no
browser. The page's run in headless Chromium (selenium, chromium-driver)
with MediaPipe's npm package (`npm ci` in web/), and skip without them."""

import contextlib
import csv
import http.client
import importlib.util
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest

from conftest import ROOT, as_from_a_shell, int8_model, make_photo, run_script

WEB = os.path.join(ROOT, 'web')
SERVE = os.path.join(WEB, 'serve.py')
URL_PATTERN = re.compile(r'http://127\.0\.0\.1:\d+/\S*')
SCORE_TOLERANCE = 0.05  # MediaPipe resizes a photo its own way
PHONE_VIEWPORT = (390, 844)
PAGE_TIMEOUT = 60  # seconds for the model to load or photos to be classified
# Seconds a server may take to stop: a guard against a hang, not a timing (a
# loaded machine is slow).
HANG_GUARD_S = 120
# What MediaPipe itself writes with console.error on every run: not errors.
MEDIAPIPE_INFO = re.compile(r'"INFO: ')
# MediaPipe 1.1.0 POSTs usage metrics to Google when a classifier closes (or
# every minute); the page's Content-Security-Policy refuses them.
METRICS_REFUSED = re.compile(r'odml\.pa\.googleapis\.com.*Content Security Policy')
# The page on the graph's own pixels, which MediaPipe takes as they are:
# float32 against the graph (WebAssembly sums in its own order: 3e-5
# measured); int8 against MediaPipe for Python (the same to the bit,
# measured; a step of int8's scores allowed).
KERAS_SCORE_TOLERANCE = {'float32': 1e-4, 'int8': 1 / 256}
HANGUL_LABELS = ['데이지', '장미', '해바라기', '튤립']  # daisy, roses, sunflowers, tulips


def load_serve():
  spec = importlib.util.spec_from_file_location('serve', SERVE)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


serve = load_serve()


@contextlib.contextmanager
def served(model, log_dir):
  """Runs web/serve.py on loopback for `model`; yields the URL it prints."""
  with open(os.path.join(log_dir, 'serve.log'), 'w') as log:
    process = subprocess.Popen(
        [sys.executable, SERVE, '--host', '127.0.0.1', '--port', '0',
         '--tflite', str(model)], stdout=subprocess.PIPE, stderr=log, text=True,
        env=dict(os.environ, PYTHONUNBUFFERED='1'))
    try:
      url = None
      for line in process.stdout:
        match = URL_PATTERN.search(line)
        if match:
          url = match.group(0)
          break
      assert url, open(log.name).read()
      yield url
    finally:
      process.terminate()
      process.wait(timeout=HANG_GUARD_S)


def status_of(url, path, method='GET'):
  """(status, body) of a request sent with `path` exactly as given."""
  host, port = url.split('/')[2].split(':')
  connection = http.client.HTTPConnection(host, int(port), timeout=10)
  try:
    connection.putrequest(method, path, skip_accept_encoding=True)
    connection.endheaders()
    response = connection.getresponse()
    return response.status, response.read()
  finally:
    connection.close()


def run_serve(*args):
  return subprocess.run([sys.executable, SERVE, '--host', '127.0.0.1'] + list(args),
                        capture_output=True, text=True, timeout=30)


def assert_one_line_error(result, *words):
  assert result.returncode == 1, result.stdout + result.stderr
  assert 'Traceback' not in result.stderr, result.stderr
  (line,) = result.stderr.strip().splitlines()
  assert line.startswith('serve.py: error: ')
  for word in words:
    assert word in line


# ------------------------------------------------------------- the server

def test_server_serves_the_page_and_the_model_only(trained, tmp_path):
  """The page, its files and the model answer; nothing around them does:
  not the graph, labels, photos or caches beside the model, not a folder,
  not a path that climbs out."""
  work, _ = trained
  model = work / 'flowers_graph.tflite'
  with served(model, tmp_path) as url:
    assert status_of(url, '/')[0] == 200
    assert b'app.js' in status_of(url, '/index.html')[1]
    for name in serve.PAGE_FILES:
      assert status_of(url, '/' + name)[0] == 200, name
    assert status_of(url, '/model.tflite') == (200, model.read_bytes())
    assert status_of(url, '/model.tflite?v=2')[0] == 200
    assert status_of(url, '/model.tflite', 'HEAD') == (200, b'')
    for path in ('/flowers_graph.tflite', '/flowers_graph.pb', '/flowers_labels.txt',
                 '/../flowers_labels.txt', '/%2e%2e/flowers_labels.txt',
                 '/model.tflite/../flowers_labels.txt', '/index.html/../serve.py',
                 '/serve.py', '/web/serve.py', '/package.json', '/node_modules/',
                 '/workspace/flowers_graph.tflite', '/flower_photos/', '/bottlenecks/',
                 '/mediapipe/', '/mediapipe/wasm/', '/mediapipe/package.json',
                 '/mediapipe/../serve.py', '//etc/passwd', '/static/', ''):
      assert status_of(url, path or '/nothing')[0] == 404, path
    for method in ('POST', 'PUT', 'DELETE'):
      assert status_of(url, '/model.tflite', method)[0] == 405, method
    assert model.read_bytes() == status_of(url, '/model.tflite')[1]  # untouched


def test_server_serves_mediapipe_from_the_local_copy_or_points_at_the_cdn(trained, tmp_path):
  work, _ = trained
  with served(work / 'flowers_graph.tflite', tmp_path) as url:
    status, body = status_of(url, '/mediapipe/vision_bundle.mjs')
    if serve.local_mediapipe() is None:
      assert status == 404
      assert url.endswith('?mediapipe=' + serve.MEDIAPIPE_CDN)
    else:
      assert status == 200 and b'ImageClassifier' in body
      assert '?' not in url


def test_without_the_local_copy_the_page_is_pointed_at_the_cdn(capsys):
  """No /mediapipe/ addresses, and the address printed tells the page to
  load the pinned CDN copy; the phone is told it needs the internet."""
  table = serve.routes('model.tflite', None)
  assert not [path for path in table if path.startswith('/mediapipe/')]
  serve.announce('127.0.0.1', 8000, 'model.tflite', None)
  out = capsys.readouterr().out
  assert ('http://127.0.0.1:8000/?mediapipe=https://cdn.jsdelivr.net/npm/'
          '@mediapipe/tasks-vision@%s' % serve.MEDIAPIPE_VERSION) in out
  assert 'needs the internet' in out


def test_mediapipe_version_is_pinned_once():
  """package.json, its lock, serve.py and the page name the same version."""
  with open(os.path.join(WEB, 'package.json'), encoding='utf-8') as f:
    assert json.load(f)['dependencies']['@mediapipe/tasks-vision'] == serve.MEDIAPIPE_VERSION
  with open(os.path.join(WEB, 'package-lock.json'), encoding='utf-8') as f:
    lock = json.load(f)
  assert (lock['packages']['node_modules/@mediapipe/tasks-vision']['version'] ==
          serve.MEDIAPIPE_VERSION)
  with open(os.path.join(WEB, 'app.js'), encoding='utf-8') as f:
    assert set(re.findall(r'tasks-vision@([\w.]+)', f.read())) == {serve.MEDIAPIPE_VERSION}


def test_server_bad_input_is_one_line(trained, tmp_path):
  work, _ = trained
  missing = tmp_path / 'nothing' / 'flowers_graph.pb'
  assert_one_line_error(run_serve('--output_graph', str(missing)),
                        str(tmp_path / 'nothing' / 'flowers_graph.tflite'), 'retrain.py')
  not_model = tmp_path / 'notes.tflite'
  not_model.write_text('not a model\n')
  assert_one_line_error(run_serve('--tflite', str(not_model)), str(not_model),
                        'not a TensorFlow Lite model')
  with socket.socket() as taken:
    taken.bind(('127.0.0.1', 0))
    taken.listen()
    port = taken.getsockname()[1]
    assert_one_line_error(run_serve('--tflite', str(work / 'flowers_graph.tflite'),
                                    '--port', str(port)), 'port %d is in use' % port, '--port')


def test_server_names_a_tflite_not_converted_from_the_graph_beside_it(
    trained, model_dir, tmp_path):
  """The .tflite beside --output_graph records another graph than the one
  there: one warning names it (the page would run another model than
  predict.py's graph); the page is served all the same."""
  work, _ = trained
  shutil.copyfile(work / 'flowers_graph.tflite', tmp_path / 'flowers_graph.tflite')
  for graph, warned in ((work / 'flowers_graph.pb', False),
                        (model_dir / 'classify_image_graph_def.pb', True)):
    shutil.copyfile(graph, tmp_path / 'flowers_graph.pb')
    process = subprocess.Popen(
        [sys.executable, SERVE, '--host', '127.0.0.1', '--port', '0',
         '--output_graph', str(tmp_path / 'flowers_graph.pb')],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=dict(os.environ, PYTHONUNBUFFERED='1'), preexec_fn=as_from_a_shell)
    try:
      for line in process.stdout:
        if 'Ctrl-C' in line:
          break
      process.send_signal(signal.SIGINT)
      _, err = process.communicate(timeout=HANG_GUARD_S)
    finally:
      process.kill()
    warnings = [line for line in err.splitlines() if line.startswith('WARNING:')]
    if warned:
      (warning,) = warnings
      assert warning.startswith('WARNING: %s was not converted from the graph %s' % (
          tmp_path / 'flowers_graph.tflite', tmp_path / 'flowers_graph.pb'))
    else:
      assert not warnings, err


def test_server_stops_on_ctrl_c_in_one_line(trained):
  work, _ = trained
  process = subprocess.Popen(
      [sys.executable, SERVE, '--host', '127.0.0.1', '--port', '0', '--tflite',
       str(work / 'flowers_graph.tflite')], stdout=subprocess.PIPE,
      stderr=subprocess.PIPE, text=True, env=dict(os.environ, PYTHONUNBUFFERED='1'),
      preexec_fn=as_from_a_shell)
  try:
    lines = []
    for line in process.stdout:
      lines.append(line)
      if 'Ctrl-C' in line:
        break
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=HANG_GUARD_S)
  finally:
    process.kill()  # Where the test failed before it: no server left behind.
  assert any('Only this computer' in line for line in lines), lines
  assert process.returncode == 0, err
  assert out.strip() == 'Stopped.' and 'Traceback' not in err


# --------------------------------------------------------------- the page

def chromium():
  for name in ('chromium', 'chromium-browser', 'google-chrome'):
    if shutil.which(name):
      return shutil.which(name)
  return None


@pytest.fixture(scope='module')
def browser():
  """Headless Chromium driven by selenium; skips without either, or
  without the local MediaPipe copy the page loads."""
  webdriver = pytest.importorskip('selenium.webdriver')
  binary, driver = chromium(), shutil.which('chromedriver')
  if not binary or not driver:
    pytest.skip('Chromium and chromium-driver are not installed')
  if serve.local_mediapipe() is None:
    pytest.skip('no local MediaPipe copy: run `npm ci` in web/')
  options = webdriver.ChromeOptions()
  options.binary_location = binary
  # MediaPipe opens a WebGL context even on the CPU: SwiftShader gives one.
  for flag in ('--headless=new', '--no-sandbox', '--disable-dev-shm-usage',
               '--enable-unsafe-swiftshader', '--use-angle=swiftshader',
               '--window-size=1000,900'):
    options.add_argument(flag)
  options.set_capability('goog:loggingPrefs', {'browser': 'ALL'})
  session = webdriver.Chrome(options=options, service=webdriver.ChromeService(driver))
  session.set_page_load_timeout(PAGE_TIMEOUT)
  yield session
  session.quit()


def wait_for(condition, what):
  deadline = time.time() + PAGE_TIMEOUT
  while time.time() < deadline:
    value = condition()
    if value:
      return value
    time.sleep(0.1)
  raise AssertionError('timed out waiting for %s' % what)


def open_page(browser, url):
  """Opens the page and waits until its model is loaded or has failed."""
  browser.get(url)
  state = lambda: browser.execute_script('return document.body.dataset.state')
  return wait_for(lambda: state() if state() in ('ready', 'error') else None,
                  'the model to load')


def give_photos(browser, paths, input_id='photos'):
  """Gives the photos to the page's file input; returns its results: for
  each photo {label: score}, highest first, as the page shows them."""
  cards = lambda: browser.execute_script(
      'return [...document.querySelectorAll(".batch:first-child .photo")]'
      '.map(card => ({name: card.dataset.name, state: card.dataset.state,'
      ' text: card.innerText, scores: [...card.querySelectorAll("li")]'
      '.map(li => [li.dataset.label, Number(li.dataset.score)])}))')
  before = browser.execute_script('return document.querySelectorAll(".batch").length')
  browser.find_element('id', input_id).send_keys('\n'.join(str(p) for p in paths))
  wait_for(lambda: browser.execute_script(
      'return document.querySelectorAll(".batch").length') > before and all(
      card['state'] in ('done', 'failed') for card in cards()), 'the photos')
  return cards()


def text_of(browser, element_id):
  return browser.execute_script('return document.getElementById(arguments[0]).innerText',
                                element_id)


def console_errors(browser):
  """The browser console's errors since the last call, but MediaPipe's own
  INFO lines, which it writes as errors."""
  return [entry['message'] for entry in browser.get_log('browser')
          if entry['level'] == 'SEVERE' and not MEDIAPIPE_INFO.search(entry['message'])]


def predict_scores(work, photos, folder, *flags):
  """{photo file name: {label: score}} as predict.py gives them (with
  `flags`: --runtime=tensorflow, say)."""
  table = os.path.join(folder, 'scores.csv')
  result = run_script('predict.py', '--output_graph=%s' % (work / 'flowers_graph.pb'),
                      '--output_labels=%s' % (work / 'flowers_labels.txt'),
                      '--noshow_image', '--output_csv=%s' % table, *flags, *photos)
  assert result.returncode == 0, result.stderr
  with open(table, newline='', encoding='utf-8') as f:
    rows = list(csv.DictReader(f))
  labels = (work / 'flowers_labels.txt').read_text().split()
  return {os.path.basename(row['path']): {label: float(row[label]) for label in labels}
          for row in rows}


def model_variant(source, dest, labels):
  """A copy of the .tflite `source` with other labels packed in, or none
  (labels None: no labels file named, none packed)."""
  from retraining.graph import export
  from retraining.lite import metadata as tflite_metadata
  from retraining.lite import model_file
  model = open(source, 'rb').read()
  metadata = model_file.read_metadata(model)
  parsed = tflite_metadata.parsed_metadata(metadata)
  (scores,) = parsed.subgraphMetadata[0].outputTensorMetadata
  (labels_file,) = scores.associatedFiles
  packed = {}
  if labels is None:
    scores.associatedFiles = None
  else:
    packed = {labels_file.name.decode(): ('\n'.join(labels) + '\n').encode()}
  with open(dest, 'wb') as f:
    export.write_with_metadata(
        f, model, tflite_metadata.finished(parsed, tflite_metadata.METADATA_IDENTIFIER),
        packed)
  return dest


def cards_of_the_page(browser, model, photos, tmp_path):
  """The page, served by web/serve.py with the .tflite `model`, given
  `photos` at once: its cards, one per photo in their order, after checking
  that it loaded the model and says the photos stay on the device."""
  with served(model, tmp_path) as url:
    assert open_page(browser, url) == 'ready', text_of(browser, 'error')
    assert 'Nothing leaves this device' in text_of(browser, 'privacy')
    assert os.path.basename(model) in text_of(browser, 'model-info')
    cards = give_photos(browser, photos)
  assert [card['name'] for card in cards] == [os.path.basename(p) for p in photos]
  return cards


def scores_of_a_card(card, labels):
  """{label: score} of a finished card, after checking it scores every one
  of `labels`."""
  got = dict(card['scores'])
  assert card['state'] == 'done' and sorted(got) == sorted(labels), card
  return got


@pytest.mark.parametrize('run', ['trained', 'int8_trained'])
def test_page_classifies_photos_as_predict_py_does(run, request, browser, tmp_path):
  """Photos given at once through the file input: each with its name, every
  label and its score, highest first; the top label predict.py's and the
  scores within SCORE_TOLERANCE of its; no error in the console. The float
  model, and the int8 one retrain.py's --tflite_quantize=int8 kept."""
  work, _ = request.getfixturevalue(run)
  photos = sorted((work / 'flower_photos').glob('*/*_0[0-1].jpg'))
  photos.append(make_photo(str(tmp_path / 'photos' / 'roses.png'), (200, 30, 40), 3,
                           size=(320, 240)))
  expected = predict_scores(work, photos, str(tmp_path))
  labels = (work / 'flowers_labels.txt').read_text().split()
  cards = cards_of_the_page(browser, work / 'flowers_graph.tflite', photos, tmp_path)
  for card in cards:
    want = expected[card['name']]
    got = scores_of_a_card(card, labels)
    scores = [score for _, score in card['scores']]
    assert scores == sorted(scores, reverse=True), card
    assert card['scores'][0][0] == max(want, key=want.get), (card, want)
    assert max(abs(got[label] - want[label]) for label in labels) <= SCORE_TOLERANCE, (
        card, want)
    for label, score in card['scores']:  # the text a screen reader reads
      assert '%s\n' % label in card['text'] and '%.1f%%' % (score * 100) in card['text']
  assert text_of(browser, 'error') == '' and text_of(browser, 'notice') == ''
  assert console_errors(browser) == []


def graph_pixels_photos(work, photos, folder):
  """The graph's own resized pixels of each photo (work's frozen graph,
  rounded to uint8), saved as a PNG in `folder` under the photo's name: a
  photo the model's size, which MediaPipe need not resize. Their paths."""
  import numpy as np
  from PIL import Image

  from retraining.graph import runner as graph_runner
  os.makedirs(folder, exist_ok=True)
  paths = []
  with graph_runner.session_on(graph_runner.read_graph(
      str(work / 'flowers_graph.pb'))) as sess:
    for photo in photos:
      pixels = np.round(graph_runner.resize_photo(sess, str(photo))).astype(np.uint8)
      paths.append(os.path.join(folder, os.path.basename(photo) + '.png'))
      Image.fromarray(pixels).save(paths[-1])
  return paths


def beside_its_graph(work, model, folder):
  """`folder` holding work's frozen graph and labels, and `model` as the
  .tflite beside them: what predict.py and serve.py are pointed at."""
  os.makedirs(folder, exist_ok=True)
  for name in ('flowers_graph.pb', 'flowers_labels.txt'):
    shutil.copyfile(work / name, os.path.join(folder, name))
  shutil.copyfile(model, os.path.join(folder, 'flowers_graph.tflite'))
  return folder


def mediapipe_python_scores(model, photos, labels):
  """{photo file name: {label: score}} as MediaPipe's own ImageClassifier
  for Python gives them with the .tflite `model`; skips without it."""
  mp = pytest.importorskip('mediapipe')
  from mediapipe.tasks.python import BaseOptions, vision
  options = vision.ImageClassifierOptions(base_options=BaseOptions(
      model_asset_path=str(model)), max_results=-1)
  scores = {}
  with vision.ImageClassifier.create_from_options(options) as classifier:
    for path in photos:
      (head,) = classifier.classify(mp.Image.create_from_file(str(path))).classifications
      scores[os.path.basename(path)] = {
          labels[category.index]: category.score for category in head.categories}
  return scores


def best_labels(scores):
  """The labels of the highest score ({label: score}): one, or those tied."""
  return {label for label, score in scores.items() if score == max(scores.values())}


@pytest.mark.slow
@pytest.mark.parametrize('weights', ['float32', 'int8'])
def test_page_runs_a_keras_base_as_the_graph_and_mediapipe_do(
    weights, large_int8_trained, browser, tmp_path):
  """retrain.py --architecture=mobilenet_v3_large's .tflite, served by
  web/serve.py, given the graph's own pixels of photos of every class:
  float32, the top label and scores of predict.py on the frozen graph
  (--runtime=tensorflow); int8 (--tflite_quantize=int8: the phone model,
  or the one kept beside it), the top label and scores of MediaPipe's
  ImageClassifier for Python, whole 256ths as int8's are. (Not
  predict.py's LiteRT: its int8 kernels round their own way; see
  LITERT_TOLERANCE in test_bases.py.)"""
  work, result = large_int8_trained
  labels = (work / 'flowers_labels.txt').read_text().split()
  model = work / 'float.tflite' if weights == 'float32' else int8_model(work, result)
  folder = beside_its_graph(work, model, tmp_path / 'model')
  photos = graph_pixels_photos(work, sorted((work / 'flower_photos').glob('*/*_0[0-2].jpg')),
                               tmp_path / 'photos')
  expected = (predict_scores(folder, photos, str(tmp_path), '--runtime=tensorflow')
              if weights == 'float32' else
              mediapipe_python_scores(folder / 'flowers_graph.tflite', photos, labels))
  cards = cards_of_the_page(browser, folder / 'flowers_graph.tflite', photos, tmp_path)
  for card in cards:
    want = expected[card['name']]
    got = scores_of_a_card(card, labels)
    assert card['scores'][0][0] in best_labels(want), (card, want)
    assert max(abs(got[label] - want[label]) for label in labels) <= (
        KERAS_SCORE_TOLERANCE[weights]), (card, want)
    if weights == 'int8':
      assert all(score * 256 == round(score * 256) for score in got.values()), card
  if weights == 'float32':  # Not one label for all (an int8 model that
    # failed its check may well give one).
    assert len({card['scores'][0][0] for card in cards}) > 1
  assert text_of(browser, 'error') == '' and text_of(browser, 'notice') == ''
  assert console_errors(browser) == []


@pytest.mark.slow
def test_page_on_a_phone_in_korean(trained, browser, tmp_path):
  """At a phone's viewport, in Korean, with Hangul labels: they are drawn
  as written, nothing is wider than the screen; a screenshot for a look."""
  work, _ = trained
  model = model_variant(work / 'flowers_graph.tflite', tmp_path / 'hangul.tflite',
                        HANGUL_LABELS)
  width, height = PHONE_VIEWPORT
  browser.execute_cdp_cmd('Emulation.setDeviceMetricsOverride', {
      'width': width, 'height': height, 'deviceScaleFactor': 1, 'mobile': True})
  try:
    with served(model, tmp_path) as url:
      assert open_page(browser, url + '?lang=ko') == 'ready', text_of(browser, 'error')
      assert '이 기기 밖으로 나가지 않습니다' in text_of(browser, 'privacy')
      photo = work / 'flower_photos' / 'roses' / 'roses_02.jpg'
      (card,) = give_photos(browser, [photo], input_id='camera')
      assert browser.execute_script('return document.documentElement.scrollWidth') <= width
      browser.save_screenshot(str(tmp_path / 'phone.png'))
  finally:
    browser.execute_cdp_cmd('Emulation.clearDeviceMetricsOverride', {})
  assert sorted(label for label, _ in card['scores']) == sorted(HANGUL_LABELS)
  assert card['scores'][0][0] == '장미', card
  assert all(label in card['text'] for label in HANGUL_LABELS)
  print('screenshot: %s' % (tmp_path / 'phone.png'))
  assert console_errors(browser) == []


@pytest.mark.slow
def test_page_says_what_is_wrong_with_a_model(trained, browser, tmp_path):
  """A model missing at its URL, a file that is not a model, a model
  without labels: one line on the page each, never a blank page."""
  work, _ = trained
  not_model = tmp_path / 'notes.tflite'
  not_model.write_text('not a model\n')
  unlabelled = model_variant(work / 'flowers_graph.tflite', tmp_path / 'unlabelled.tflite',
                             None)
  with served(work / 'flowers_graph.tflite', tmp_path) as url:
    assert open_page(browser, url + '?model=missing.tflite') == 'error'
    assert 'missing.tflite' in text_of(browser, 'error')
    assert 'HTTP 404' in text_of(browser, 'error')
    assert open_page(browser, url) == 'ready'
    browser.find_element('id', 'model-file').send_keys(str(not_model))
    wait_for(lambda: text_of(browser, 'error'), 'the error line')
    assert text_of(browser, 'error') == (
        'notes.tflite is not a TensorFlow Lite model (.tflite): use the .tflite '
        'that retrain.py wrote.')
    browser.find_element('id', 'model-file').send_keys(str(unlabelled))
    wait_for(lambda: browser.execute_script('return document.body.dataset.state') ==
             'ready', 'the model without labels')
    assert text_of(browser, 'error') == ''
    assert 'unlabelled.tflite' in text_of(browser, 'model-info')
    (card,) = give_photos(browser, [work / 'flower_photos' / 'daisy' / 'daisy_03.jpg'])
  assert sorted(label for label, _ in card['scores']) == ['#0', '#1', '#2', '#3']
  assert 'no labels' in text_of(browser, 'notice')
  # What the console shows: the browser's own line for the 404, and the
  # metrics of the classifier replaced, refused.
  errors = console_errors(browser)
  refused = [message for message in errors if METRICS_REFUSED.search(message)]
  assert refused, errors
  assert all('missing.tflite' in message for message in errors if message not in refused), (
      errors)
