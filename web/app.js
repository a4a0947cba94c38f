// The page of web/index.html: MediaPipe's ImageClassifier runs the .tflite
// that retrain.py wrote, here in the browser; no photo leaves the device.
//
// URL parameters: ?model=URL (default: model.tflite, which web/serve.py
// serves), ?mediapipe=URL (MediaPipe's package folder; default: mediapipe,
// which web/serve.py serves from web/node_modules), ?lang=en|ko (default:
// the browser's language).

const DEFAULT_MODEL = "model.tflite";
const DEFAULT_MEDIAPIPE = "mediapipe";
const TOP_K = 5; // scores shown per photo, highest first
const MODEL_MAGIC = "TFL3"; // a .tflite's flatbuffer identifier, bytes 4 to 8

const TEXT = {
  en: {
    title: "What is in the photo?",
    privacy: "Nothing leaves this device: your photos are classified right here, in this browser.",
    loading: "Loading the model…",
    ready: "Ready: take or choose a photo.",
    busy: "Classifying {n} photo(s)…",
    done: "Done: {n} photo(s).",
    camera: "Take a photo",
    pick: "Choose photos",
    other_model: "Another model",
    model_help: "Drop a .tflite file on the page, or choose one here; or open the page with ?model=URL.",
    drop: "Drop it here",
    model_info: "Model: {name} ({mb} MB), ready in {s} s. MediaPipe {version}.",
    not_model: "{name} is not a TensorFlow Lite model (.tflite): use the .tflite that retrain.py wrote.",
    model_missing: "Could not load the model {url} ({reason}): start web/serve.py beside the trained model, or give another with ?model=URL.",
    model_broken: "MediaPipe could not open {name}: {reason}",
    mediapipe_missing: "MediaPipe could not be loaded from {url}: run `npm ci` in web/ and start web/serve.py, or open the page with ?mediapipe=https://cdn.jsdelivr.net/npm/@mediapipe/tasks-vision@1.1.0",
    no_labels: "This model has no labels packed in, so its scores are shown by number (#0, #1, …): use the .tflite that retrain.py wrote, which holds its labels.",
    not_photo: "This file could not be read as a photo.",
    unexpected: "Something went wrong: {reason}",
  },
  ko: {
    title: "사진 속에 무엇이 있을까요?",
    privacy: "사진은 이 기기 밖으로 나가지 않습니다. 이 브라우저 안에서 바로 분류합니다.",
    loading: "모델을 불러오는 중…",
    ready: "준비됐습니다. 사진을 찍거나 골라 주세요.",
    busy: "사진 {n}장을 분류하는 중…",
    done: "사진 {n}장을 분류했습니다.",
    camera: "사진 찍기",
    pick: "사진 고르기",
    other_model: "다른 모델",
    model_help: ".tflite 파일을 페이지에 끌어다 놓거나 여기서 고르세요. 주소에 ?model=URL을 붙여도 됩니다.",
    drop: "여기에 놓으세요",
    model_info: "모델: {name} ({mb} MB), {s}초 만에 준비. MediaPipe {version}.",
    not_model: "{name}은(는) TensorFlow Lite 모델(.tflite)이 아닙니다. retrain.py가 만든 .tflite 파일을 쓰세요.",
    model_missing: "모델 {url}을(를) 불러오지 못했습니다({reason}). 학습한 모델 옆에서 web/serve.py를 실행하거나 ?model=URL로 다른 모델을 지정하세요.",
    model_broken: "MediaPipe가 {name}을(를) 열지 못했습니다: {reason}",
    mediapipe_missing: "{url}에서 MediaPipe를 불러오지 못했습니다. web/에서 `npm ci`를 실행한 뒤 web/serve.py를 실행하거나, 주소에 ?mediapipe=https://cdn.jsdelivr.net/npm/@mediapipe/tasks-vision@1.1.0 을 붙이세요.",
    no_labels: "이 모델에는 레이블이 들어 있지 않아 점수를 번호(#0, #1, …)로 보여 줍니다. 레이블이 들어 있는, retrain.py가 만든 .tflite를 쓰세요.",
    not_photo: "이 파일은 사진으로 읽을 수 없습니다.",
    unexpected: "문제가 생겼습니다: {reason}",
  },
};

const params = new URLSearchParams(location.search);
const lang = (params.get("lang") || navigator.language || "en").toLowerCase().startsWith("ko") ? "ko" : "en";
const $ = (id) => document.getElementById(id);

let vision = null; // MediaPipe's module and its wasm files, once loaded
let mediapipe = null;
let classifier = null;
let busy = Promise.resolve(); // photos and models are handled one at a time

class UserError extends Error {}

function t(key, values = {}) {
  return TEXT[lang][key].replace(/\{(\w+)\}/g, (_, name) => String(values[name]));
}

function setState(state, message) {
  document.body.dataset.state = state;
  $("status").textContent = message;
  const enabled = state === "ready";
  for (const id of ["camera", "photos"]) $(id).disabled = !enabled;
}

// One line the user reads. The model loaded before, if any, stays in use.
function showError(message) {
  $("error").textContent = message;
  $("error").hidden = false;
  if (classifier) setState("ready", t("ready"));
  else setState("error", "");
}

function clearError() {
  $("error").textContent = "";
  $("error").hidden = true;
}

function showNotice(message) {
  $("notice").textContent = message;
  $("notice").hidden = !message;
}

function translatePage() {
  document.documentElement.lang = lang;
  document.title = t("title");
  for (const element of document.querySelectorAll("[data-text]")) {
    element.textContent = t(element.dataset.text);
  }
}

function mediapipeBase() {
  const base = params.get("mediapipe") || DEFAULT_MEDIAPIPE;
  return new URL(base.replace(/\/+$/, "") + "/", location.href);
}

async function loadMediapipe() {
  if (vision) return;
  const base = mediapipeBase();
  try {
    mediapipe = await import(new URL("vision_bundle.mjs", base).href);
    vision = await mediapipe.FilesetResolver.forVisionTasks(new URL("wasm", base).href);
  } catch (error) {
    throw new UserError(t("mediapipe_missing", { url: base.href }));
  }
}

function isModel(bytes) {
  return bytes.length >= 8 && String.fromCharCode(...bytes.subarray(4, 8)) === MODEL_MAGIC;
}

async function fetchModel(url) {
  let response;
  try {
    response = await fetch(url);
  } catch (error) {
    throw new UserError(t("model_missing", { url, reason: error.message }));
  }
  if (!response.ok) {
    throw new UserError(t("model_missing", { url, reason: `HTTP ${response.status}` }));
  }
  const header = response.headers.get("X-Model-File");
  const name = header ? decodeURIComponent(header) : new URL(url, location.href).pathname.split("/").pop();
  return { name, bytes: new Uint8Array(await response.arrayBuffer()) };
}

async function openModel(source) {
  const started = performance.now();
  setState("loading", t("loading"));
  showNotice("");
  clearError();
  const { name, bytes } = source instanceof File
    ? { name: source.name, bytes: new Uint8Array(await source.arrayBuffer()) }
    : await fetchModel(source);
  if (!isModel(bytes)) throw new UserError(t("not_model", { name }));
  await loadMediapipe();
  let created;
  try {
    created = await mediapipe.ImageClassifier.createFromOptions(vision, {
      baseOptions: { modelAssetBuffer: bytes, delegate: "CPU" },
      runningMode: "IMAGE",
      maxResults: -1,
    });
  } catch (error) {
    throw new UserError(t("model_broken", { name, reason: error.message || error }));
  }
  if (classifier) classifier.close();
  classifier = created;
  const seconds = (performance.now() - started) / 1000;
  document.body.dataset.loadSeconds = seconds.toFixed(3);
  $("model-info").textContent = t("model_info", {
    name, mb: (bytes.length / 1e6).toFixed(1), s: seconds.toFixed(1), version: mediapipeVersion(),
  });
  $("model-info").dataset.model = name;
  setState("ready", t("ready"));
}

function mediapipeVersion() {
  const match = mediapipeBase().href.match(/tasks-vision@([^/]+)/);
  return match ? match[1] : "(web/node_modules)";
}

function element(tag, className, text) {
  const made = document.createElement(tag);
  if (className) made.className = className;
  if (text !== undefined) made.textContent = text;
  return made;
}

function photoCard(file) {
  const card = element("article", "photo");
  card.dataset.name = file.name;
  card.dataset.state = "waiting";
  card.append(element("h2", "", file.name));
  return card;
}

async function decoded(file) {
  const image = new Image();
  image.alt = file.name;
  image.src = URL.createObjectURL(file);
  try {
    await image.decode();
  } catch (error) {
    URL.revokeObjectURL(image.src);
    return null;
  }
  return image;
}

function categories(result) {
  const head = result.classifications[0];
  return head ? head.categories : [];
}

function scoreList(found) {
  const list = element("ol", "scores");
  for (const category of found.slice(0, TOP_K)) {
    const label = category.categoryName || category.displayName || `#${category.index}`;
    const percent = (category.score * 100).toFixed(1);
    const item = element("li");
    item.dataset.label = label;
    item.dataset.index = category.index;
    item.dataset.score = category.score;
    const bar = element("span", "bar");
    bar.setAttribute("aria-hidden", "true");
    const fill = element("span");
    fill.style.width = `${Math.max(0, Math.min(100, category.score * 100))}%`;
    bar.append(fill);
    item.append(element("span", "label", label), bar, element("span", "score", `${percent}%`));
    list.append(item);
  }
  return list;
}

async function classifyOne(file, card) {
  const image = await decoded(file);
  if (!image) {
    card.append(element("p", "failed", t("not_photo")));
    card.dataset.state = "failed";
    return;
  }
  card.insertBefore(image, card.firstChild);
  const started = performance.now();
  const found = categories(classifier.classify(image));
  card.dataset.seconds = ((performance.now() - started) / 1000).toFixed(4);
  if (found.length && found.every((category) => !category.categoryName && !category.displayName)) {
    showNotice(t("no_labels"));
  }
  card.append(scoreList(found));
  card.dataset.state = "done";
}

async function classifyAll(files) {
  const photos = [...files];
  if (!photos.length || !classifier) return;
  clearError();
  setState("busy", t("busy", { n: photos.length }));
  const batch = element("div", "batch");
  $("results").prepend(batch); // the newest photos on top, in the order chosen
  const cards = photos.map((file) => batch.appendChild(photoCard(file)));
  for (let i = 0; i < photos.length; i++) {
    await classifyOne(photos[i], cards[i]);
    await new Promise((resolve) => setTimeout(resolve)); // let the page draw
  }
  setState("ready", t("done", { n: photos.length }));
}

function queue(job) {
  busy = busy.then(job).catch(report);
  return busy;
}

function report(error) {
  console.warn(error); // a warning: the page shows it as one line
  showError(error instanceof UserError ? error.message : t("unexpected", { reason: error.message || error }));
}

function isModelFile(file) {
  return file.name.toLowerCase().endsWith(".tflite") || !file.type.startsWith("image/");
}

function handleDrop(event) {
  event.preventDefault();
  $("drop-hint").hidden = true;
  const files = [...event.dataTransfer.files];
  const model = files.find(isModelFile);
  if (model) queue(() => openModel(model));
  else queue(() => classifyAll(files));
}

function listen() {
  for (const id of ["camera", "photos"]) {
    $(id).addEventListener("change", (event) => {
      const files = [...event.target.files];
      event.target.value = ""; // the same photo again works too
      queue(() => classifyAll(files));
    });
  }
  $("model-file").addEventListener("change", (event) => {
    const [file] = event.target.files;
    event.target.value = "";
    if (file) queue(() => openModel(file));
  });
  document.addEventListener("dragover", (event) => {
    event.preventDefault();
    $("drop-hint").hidden = false;
  });
  document.addEventListener("dragleave", (event) => {
    if (!event.relatedTarget) $("drop-hint").hidden = true;
  });
  document.addEventListener("drop", handleDrop);
  window.addEventListener("error", (event) => report(event.error || event.message));
  window.addEventListener("unhandledrejection", (event) => report(event.reason));
}

translatePage();
listen();
queue(() => openModel(params.get("model") || DEFAULT_MODEL));
