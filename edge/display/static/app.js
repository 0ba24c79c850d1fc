"use strict";

// gma-edge touch display. Shows what the appliance pushes on /events and sends the
// nurse's actions to the JSON API. Plain browser JavaScript: no build step, no libraries.

// ---------------------------------------------------------------------------- constants

const STORAGE_LANG = "gma-edge.lang";
const STORAGE_DISMISSED = "gma-edge.dismissed";
const LANGUAGES = ["en", "de"];
const LOCALES = { en: "en-GB", de: "de-DE" }; // en-GB: 24-hour clock and day-first dates
const POSITIONS = ["left_wrist", "right_wrist", "left_ankle", "right_ankle"];
const ACTIVE_STATES = new Set(["preparing", "placement", "recording", "analysing"]);
const FINISHED_STATES = new Set(["result", "failed", "cancelled", "interrupted"]);
const REANALYSABLE_STATES = new Set(["failed", "interrupted"]);
const DECISIONS = new Set(["present", "absent", "not_assessable"]);
const PLACEMENT_VERDICTS = new Set(["ok", "fault", "unknown"]);
const CODE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]*$/; // the server's rule for pseudonymous codes
const CODE_MAX_LENGTH = 64;
const LOW_BATTERY_PERCENT = 15;
const STATE_STALE_MS = 5000; // state comes about once a second; this much silence is a lost link
const POSE_STALE_MS = 2000;
const RECONNECT_MS = 3000;
const NO_DEPTH_RGB = [18, 24, 48]; // "no depth" pixels, dark blue so they differ from far ones
const SENSOR_ICONS = { ok: "\u2713", low: "!", bad: "\u2715", unknown: "?" };
const EXPORT_RUNNING = new Set(["checking", "writing", "verifying"]);
const TARGETS_EVERY_MS = 2000; // a stick put in shows up this fast
const EXPORTED_RELOADS = 5;    // tries, a second apart, to see the exported marks after "done"
const MB = 2 ** 20;
const GB = 2 ** 30;

// COCO-17 joint pairs drawn as bones; the nose joins the shoulders' midpoint separately.
const NOSE = 0;
const SHOULDER_L = 5;
const SHOULDER_R = 6;
const SKELETON_EDGES = [
  [5, 6], [5, 7], [7, 9], [6, 8], [8, 10],
  [5, 11], [6, 12], [11, 12],
  [11, 13], [13, 15], [12, 14], [14, 16],
];

// ---------------------------------------------------------------------------- state

const app = {
  lang: "en",
  live: null,                  // the last `state` event's data
  lastStateAt: Date.now(),
  events: null,                // the EventSource
  eventsBroken: false,
  screen: null,                // the screen now shown
  dismissed: "",               // "<session id>:<state>" the nurse closed with New screening
  error: null,                 // { key, params } or { text } shown in the error line
  history: { open: false, sessions: null, failed: false, selectedId: null, detail: null, token: 0 },
  exportView: {
    open: false,
    sessions: null,            // the exportable sessions, newest first; null while loading
    failed: false,
    chosen: new Set(),         // session ids ticked for export
    targets: null,             // from /api/targets; null while loading
    targetsFailed: false,
    target: null,              // the chosen target's path
    targetsTimer: 0,
    targetsToken: 0,
    targetsBusy: false,
    stale: "null",             // an earlier export's snapshot (JSON), not this view's
    answer: null,              // what POST /api/export answered, until the live state has it
    posting: false,
    handledDone: null,         // the finished export whose sessions were reloaded
    shownPhase: null,          // the phase last brought into view
    token: 0,
  },
  technician: {
    open: false,
    token: "",                 // from /api/technician/unlock; kept in memory only
    overview: null,            // version, last result, bundles; null while loading
    checks: {},                // bundle path -> { busy } or what /api/technician/verify said
    confirming: null,          // the bundle path the confirm dialog asks about
    updating: false,           // the request is written: root takes over
    timer: 0,
    busy: false,
  },
  pose: null,                  // the last `pose` event's data
  poseAt: 0,
  poseFrame: 0,                // pending requestAnimationFrame id
  depth: { canvas: null, pose: null },
  signatures: new Map(),       // element id -> what it was last built from
};

// ---------------------------------------------------------------------------- small helpers

function byId(id) {
  return document.getElementById(id);
}

function make(tag, className, text) {
  const element = document.createElement(tag);
  if (className) element.className = className;
  if (text !== undefined) element.textContent = text;
  return element;
}

function readStorage(key) {
  try {
    return window.localStorage.getItem(key);
  } catch (err) {
    return null; // storage can be disabled; the display must still work
  }
}

function writeStorage(key, value) {
  try {
    window.localStorage.setItem(key, value);
  } catch (err) {
    // Not remembered across reloads, nothing worse.
  }
}

function isNumber(value) {
  return typeof value === "number" && Number.isFinite(value);
}

function clamp(value, low, high) {
  return Math.min(high, Math.max(low, value));
}

// Rebuilds an element only when its inputs changed, so scroll positions survive the
// once-a-second state updates.
function updateIfChanged(element, inputs, build) {
  const signature = JSON.stringify(inputs);
  if (app.signatures.get(element.id) === signature) return;
  app.signatures.set(element.id, signature);
  build();
}

// ---------------------------------------------------------------------------- language

function t(key, params) {
  const table = STRINGS[app.lang] || STRINGS.en;
  const text = table[key] !== undefined ? table[key] : STRINGS.en[key];
  if (text === undefined) return key;
  return text.replace(/\{(\w+)\}/g, (match, name) =>
    params && params[name] !== undefined ? String(params[name]) : match);
}

// A translated label for a value from the server, or the value itself if it is new to us.
function labelFor(prefix, value) {
  const key = prefix + value;
  return STRINGS.en[key] !== undefined ? t(key) : String(value);
}

function initialLanguage() {
  const stored = readStorage(STORAGE_LANG);
  if (LANGUAGES.includes(stored)) return stored;
  return (navigator.language || "").toLowerCase().startsWith("de") ? "de" : "en";
}

function applyStaticTexts() {
  document.documentElement.lang = app.lang;
  document.querySelectorAll("[data-i18n]").forEach((el) => {
    el.textContent = t(el.dataset.i18n);
  });
  document.querySelectorAll("[data-i18n-placeholder]").forEach((el) => {
    el.placeholder = t(el.dataset.i18nPlaceholder);
  });
  document.querySelectorAll("[data-i18n-label]").forEach((el) => {
    el.setAttribute("aria-label", t(el.dataset.i18nLabel));
  });
  document.querySelectorAll("[data-i18n-title]").forEach((el) => {
    el.title = t(el.dataset.i18nTitle);
  });
  document.querySelectorAll("#lang-toggle [data-lang]").forEach((span) => {
    span.classList.toggle("is-active", span.dataset.lang === app.lang);
  });
}

function setLanguage(lang) {
  app.lang = lang;
  writeStorage(STORAGE_LANG, lang);
  app.signatures.clear(); // every dynamic text must be rebuilt in the new language
  applyStaticTexts();
  renderError();
  renderClock();
  render();
  if (app.screen === "history") renderHistory();
  if (app.screen === "recording") updateCameraStatus();
  const overrideError = byId("override-error");
  if (!overrideError.hidden) overrideError.textContent = t("override_reason_missing");
}

function toggleLanguage() {
  setLanguage(app.lang === "en" ? "de" : "en");
}

// ---------------------------------------------------------------------------- formatting

function formatMmss(seconds) {
  const total = Math.max(0, Math.ceil(seconds));
  const minutes = Math.floor(total / 60);
  const rest = total % 60;
  return String(minutes).padStart(2, "0") + ":" + String(rest).padStart(2, "0");
}

// Probabilities and band limits are fractions 0..1; shown as whole percent.
function formatPercent(fraction) {
  return t("percent", { n: Math.round(clamp(fraction, 0, 1) * 100) });
}

function parseUtc(value) {
  if (isNumber(value)) return new Date(value < 1e12 ? value * 1000 : value);
  if (typeof value !== "string" || value === "") return null;
  let text = value.replace(" ", "T");
  // A time without a zone is UTC by the field's name, not local time.
  if (!/(Z|[+-]\d\d:?\d\d)$/i.test(text)) text += "Z";
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? null : date;
}

// Free space on a stick: whole MB below 1 GB, else GB with one decimal below 10 GB.
function formatBytes(bytes) {
  if (!isNumber(bytes) || bytes < 0) return "?";
  const locale = LOCALES[app.lang];
  if (bytes < GB) {
    return t("size_mb", { n: Math.floor(bytes / MB).toLocaleString(locale) });
  }
  const digits = bytes < 10 * GB ? 1 : 0;
  const value = Math.floor((bytes / GB) * 10 ** digits) / 10 ** digits; // never more than there is
  return t("size_gb", {
    n: value.toLocaleString(locale, { minimumFractionDigits: digits, maximumFractionDigits: digits }),
  });
}

function formatDateTime(value) {
  const date = parseUtc(value);
  if (!date) return value === null || value === undefined ? "" : String(value);
  return date.toLocaleString(LOCALES[app.lang], {
    year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
  });
}

function instructionText(problem) {
  if (!problem || typeof problem !== "object") return "";
  const instruction = problem.instruction || {};
  return instruction[app.lang] || instruction.en || problem.detail || problem.key || "";
}

function decisionLabel(result) {
  const decision = result && result.decision;
  return DECISIONS.has(decision) ? t("decision_" + decision) : t("decision_none");
}

function probabilityText(result) {
  if (!result) return "";
  const parts = [];
  if (isNumber(result.probability)) {
    parts.push(t("probability", { value: formatPercent(result.probability) }));
  }
  const band = result.band;
  if (Array.isArray(band) && band.length === 2 && isNumber(band[0]) && isNumber(band[1])) {
    parts.push(t("band", { lo: formatPercent(band[0]), hi: formatPercent(band[1]) }));
  }
  // Each part stays on one line; a narrow screen wraps between them.
  return parts.map((part) => part.replace(/ /g, "\u00a0")).join(" \u00b7 ");
}

function isReferenceResult(result) {
  const fromState = Boolean(app.live && app.live.reference_model === true);
  const fromModel = Boolean(result && result.model && result.model.reference === true);
  return fromState || fromModel;
}

// ---------------------------------------------------------------------------- error line

function showError(text) {
  app.error = { text: String(text) };
  renderError();
}

function showErrorKey(key, params) {
  app.error = { key, params };
  renderError();
}

function clearError() {
  app.error = null;
  renderError();
}

function renderError() {
  const line = byId("error-line");
  const error = app.error;
  line.hidden = !error;
  line.textContent = !error ? "" : error.key ? t(error.key, error.params) : error.text;
}

// ---------------------------------------------------------------------------- API

// Sends JSON and returns the parsed answer; throws an Error carrying the server's own
// message so the nurse sees exactly why it refused. `onStatus` may act on a status first
// (the technician's screen locks itself on 401).
async function api(method, path, body, extraHeaders, onStatus) {
  const options = {
    method, cache: "no-store", headers: { Accept: "application/json", ...(extraHeaders || {}) },
  };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, options);
  } catch (err) {
    throw new Error(t("network_error"));
  }
  let data = null;
  try {
    data = await response.json();
  } catch (err) {
    data = null; // an empty or non-JSON answer; judged by the status alone
  }
  if (onStatus) onStatus(response.status);
  if (!response.ok) {
    const message = data && typeof data.error === "string" && data.error
      ? data.error : t("request_failed", { status: response.status });
    throw new Error(message);
  }
  return data;
}

// Runs one action behind its button: no double taps, errors go to the error line.
async function runAction(button, action) {
  if (button.disabled) return false;
  button.disabled = true;
  clearError();
  try {
    await action();
    return true;
  } catch (err) {
    showError(err && err.message ? err.message : String(err));
    return false;
  } finally {
    button.disabled = false;
  }
}

// ---------------------------------------------------------------------------- live data

function liveSession() {
  const session = app.live && app.live.session;
  if (!session || typeof session !== "object") return { session_id: "", code: "", state: "idle" };
  return session;
}

function liveSensors() {
  const sensors = app.live && app.live.sensors;
  return sensors && typeof sensors === "object" ? sensors : {};
}

function dismissKey(session) {
  return session.session_id + ":" + session.state;
}

function setDismissed(key) {
  app.dismissed = key;
  writeStorage(STORAGE_DISMISSED, key);
}

function connectEvents() {
  const source = new EventSource("/events");
  app.events = source;
  source.onopen = () => {
    app.eventsBroken = false;
    updateConnectionBanner();
  };
  source.onerror = () => {
    app.eventsBroken = true;
    updateConnectionBanner();
    // The browser retries by itself, except when the server refused the stream outright.
    if (source.readyState === EventSource.CLOSED && app.events === source) {
      source.close();
      setTimeout(connectEvents, RECONNECT_MS);
    }
  };
  source.addEventListener("state", (event) => handleMessage(event, onState));
  source.addEventListener("pose", (event) => handleMessage(event, onPose));
}

function handleMessage(event, handler) {
  let data;
  try {
    data = JSON.parse(event.data);
  } catch (err) {
    console.warn("ignoring a malformed event:", err);
    return;
  }
  if (data && typeof data === "object") handler(data);
}

function onState(data) {
  app.live = data;
  app.lastStateAt = Date.now();
  app.eventsBroken = false;
  const session = liveSession();
  if (ACTIVE_STATES.has(session.state)) {
    // A running session always takes the screen, and its next end must be shown again
    // even if the nurse dismissed an earlier end of the same session (re-analysis).
    app.history.open = false;
    app.exportView.open = false;
    app.exportView.token += 1;
    app.technician.open = false;
    if (app.dismissed) setDismissed("");
  }
  updateConnectionBanner();
  colourBodySpots();
  render();
}

function updateConnectionBanner() {
  const stale = Date.now() - app.lastStateAt > STATE_STALE_MS;
  byId("connection-banner").hidden = !(app.eventsBroken || stale);
}

// ---------------------------------------------------------------------------- screens

function chooseScreen(session) {
  const state = session.state;
  if (state === "preparing" || state === "placement") return "sensors";
  if (state === "recording" || state === "analysing") return state;
  if (app.history.open) return "history";
  if (app.exportView.open) return "export";
  if (app.technician.open) return "technician";
  if (FINISHED_STATES.has(state) && app.dismissed !== dismissKey(session)) {
    return state === "result" ? "result" : "stopped";
  }
  return "home";
}

function render() {
  const session = liveSession();
  const screen = chooseScreen(session);
  if (screen !== app.screen) enterScreen(screen);
  renderTopBar(screen, session);
  if (screen === "sensors") renderSensors(session);
  else if (screen === "recording") renderRecording(session);
  else if (screen === "result") renderResult(session);
  else if (screen === "stopped") renderStopped(session);
  else if (screen === "export") renderExport();
  else if (screen === "technician") renderTechnician();
  closeStaleDialogs(session);
}

function enterScreen(screen) {
  app.screen = screen;
  document.querySelectorAll(".screen").forEach((section) => {
    section.hidden = section.dataset.screen !== screen;
  });
  const section = byId("screen-" + screen);
  placeSharedButton(byId("cancel-button"), section, "cancel");
  placeSharedButton(byId("new-screening"), section, "new-screening");
  if (screen === "home") focusCodeInput();
  if (screen === "recording") requestPoseDraw();
  if (screen === "history") renderHistory();
  if (screen === "export") startTargetPolling();
  else stopTargetPolling();
  if (screen === "technician") startBundlePolling();
  else stopBundlePolling();
}

// Buttons used on two screens exist once (one test id, one handler) and move to the
// visible screen's slot.
function placeSharedButton(button, section, slotName) {
  const slot = section.querySelector('[data-slot="' + slotName + '"]');
  if (slot) {
    slot.appendChild(button);
    button.hidden = false;
  } else {
    button.hidden = true;
  }
}

function renderTopBar(screen, session) {
  let key = "title_" + screen;
  if (screen === "sensors") key = session.state === "placement" ? "title_placement" : "title_preparing";
  if (screen === "stopped") key = "title_" + session.state;
  byId("screen-title").textContent = t(key);
  const code = byId("session-code");
  const showCode = !["home", "history", "export", "technician"].includes(screen) && Boolean(session.code);
  code.hidden = !showCode;
  code.textContent = showCode ? session.code : "";
}

function renderClock() {
  const now = new Date();
  const clock = byId("clock");
  clock.textContent = now.toLocaleTimeString(LOCALES[app.lang], { hour: "2-digit", minute: "2-digit" });
  clock.dateTime = now.toISOString();
}

function tick() {
  renderClock();
  updateConnectionBanner();
  if (app.screen === "recording") updateCameraStatus();
}

// ---------------------------------------------------------------------------- home

function focusCodeInput() {
  if (openDialogId()) return;
  byId("code-input").focus();
}

function codeProblem(code) {
  if (code === "") return "code_empty";
  if (code.length > CODE_MAX_LENGTH) return "code_too_long";
  if (!CODE_PATTERN.test(code)) return "code_invalid";
  return null;
}

async function onStartSubmit(event) {
  event.preventDefault();
  const input = byId("code-input");
  const code = input.value.trim(); // scanners may add a stray space or tab
  const problem = codeProblem(code);
  if (problem) {
    input.setAttribute("aria-invalid", "true");
    showErrorKey(problem);
    input.focus();
    return;
  }
  input.removeAttribute("aria-invalid");
  const started = await runAction(byId("start-button"), () => api("POST", "/api/start", { code }));
  if (started) input.value = "";
  else input.focus();
}

// A barcode scanner types like a keyboard. If the nurse tapped elsewhere on Home, send
// its keys to the code field anyway so a scan still starts the screening.
function onDocumentKeydown(event) {
  if (event.key === "Escape") {
    closeAllDialogs();
    return;
  }
  if (app.screen !== "home" || openDialogId()) return;
  if (event.ctrlKey || event.altKey || event.metaKey || event.key.length !== 1) return;
  const active = document.activeElement;
  if (active && (active.tagName === "INPUT" || active.tagName === "TEXTAREA")) return;
  byId("code-input").focus();
}

// ---------------------------------------------------------------------------- sensors

function sensorLevel(info) {
  if (!info || typeof info !== "object") return "unknown";
  if (info.state !== "streaming") return "bad";
  const battery = info.battery_percent;
  if (isNumber(battery) && battery >= 0 && battery < LOW_BATTERY_PERCENT) return "low";
  return "ok";
}

function batteryText(info) {
  const battery = info.battery_percent;
  if (!isNumber(battery) || battery < 0) return t("battery_unknown");
  const key = battery < LOW_BATTERY_PERCENT ? "battery_low" : "battery";
  return t(key, { percent: Math.round(battery) });
}

function sensorStatusText(info, verdict) {
  if (!info || typeof info !== "object") return t("sensor_state_unknown");
  const parts = [labelFor("sensor_state_", info.state), batteryText(info)];
  if (verdict) parts.push(t("placement_" + verdict));
  return parts.join(" \u00b7 ");
}

// The placement check's verdict on one sensor: "ok", "fault" or "unknown" (not judged yet,
// also before its first verdict); null outside the placement step.
function placementVerdict(session, position) {
  if (session.state !== "placement") return null;
  const sensors = session.placement && session.placement.sensors;
  const finding = sensors && sensors[position];
  return finding && PLACEMENT_VERDICTS.has(finding.verdict) ? finding.verdict : "unknown";
}

function sensorItem(position, info, verdict) {
  let level = sensorLevel(info);
  if (level === "ok" && verdict === "fault") level = "bad";
  const item = make("li", "sensor");
  item.dataset.level = level;
  item.dataset.position = position;
  if (verdict) item.dataset.placement = verdict;
  item.append(
    make("span", "sensor__icon", SENSOR_ICONS[level]),
    make("span", "sensor__name", t("position_" + position)),
    make("span", "sensor__status", sensorStatusText(info, verdict)),
  );
  return item;
}

function renderSensors(session) {
  renderProblems(byId("findings"), session.findings, session.state === "placement" ? "placement_hint" : "preparing_hint",
    "findings--problem", "findings--hint");
  const sensors = liveSensors();
  const list = byId("sensor-list");
  const verdicts = POSITIONS.map((position) => placementVerdict(session, position));
  updateIfChanged(list, [app.lang, sensors, verdicts], () => {
    list.replaceChildren(...POSITIONS.map((position, k) => sensorItem(position, sensors[position], verdicts[k])));
  });
  byId("override-button").hidden = session.state !== "placement";
}

// Shows a list of problems' instructions, or a calm message when there are none.
function renderProblems(box, problems, emptyKey, activeClass, emptyClass) {
  const list = Array.isArray(problems) ? problems : [];
  // Only what is shown counts: a changing technical detail must not rebuild (and scroll) it.
  const shown = list.map((problem) => [problem && problem.key, instructionText(problem)]);
  updateIfChanged(box, [app.lang, emptyKey, shown], () => {
    box.classList.toggle(activeClass, list.length > 0);
    box.classList.toggle(emptyClass, list.length === 0);
    if (list.length === 0) {
      box.replaceChildren(make("p", "", t(emptyKey)));
      return;
    }
    const ul = make("ul", "problem-list");
    list.forEach((problem) => {
      const li = make("li", "", instructionText(problem));
      if (problem && problem.key) li.dataset.key = problem.key;
      ul.append(li);
    });
    box.replaceChildren(ul);
  });
}

function colourBodySpots() {
  const sensors = liveSensors();
  const session = liveSession();
  POSITIONS.forEach((position) => {
    const spot = document.getElementById("spot-" + position);
    let level = sensorLevel(sensors[position]);
    if (level === "ok" && placementVerdict(session, position) === "fault") level = "bad";
    if (spot) spot.setAttribute("data-level", level);
  });
}

// Inlined rather than shown as <img> so the spots can be coloured by CSS.
async function loadBodyDiagram() {
  try {
    const response = await fetch("/protocol.svg");
    if (!response.ok) throw new Error("HTTP " + response.status);
    const doc = new DOMParser().parseFromString(await response.text(), "image/svg+xml");
    const svg = doc.documentElement;
    if (!svg || svg.localName !== "svg") throw new Error("not an SVG document");
    byId("body-diagram").replaceChildren(document.importNode(svg, true));
    colourBodySpots();
  } catch (err) {
    console.warn("body diagram unavailable:", err); // the sensor list still says it all
  }
}

// ---------------------------------------------------------------------------- override dialog

function openOverrideDialog() {
  const input = byId("override-reason");
  input.value = "";
  byId("override-error").hidden = true;
  byId("override-dialog").hidden = false;
  input.focus();
}

async function onOverrideSubmit(event) {
  event.preventDefault();
  const reason = byId("override-reason").value.trim();
  const missing = byId("override-error");
  if (!reason) {
    missing.textContent = t("override_reason_missing");
    missing.hidden = false;
    byId("override-reason").focus();
    return;
  }
  missing.hidden = true;
  const done = await runAction(byId("override-submit"), () => api("POST", "/api/override", { reason }));
  if (done) closeDialog("override-dialog");
}

// ---------------------------------------------------------------------------- cancel

function onCancelPressed() {
  // Cancelling a recording throws away minutes of a calm infant: ask first.
  if (app.screen === "recording") {
    byId("confirm-dialog").hidden = false;
    byId("confirm-no").focus();
    return;
  }
  runAction(byId("cancel-button"), postCancel);
}

function onConfirmCancel() {
  closeDialog("confirm-dialog");
  runAction(byId("cancel-button"), postCancel);
}

function postCancel() {
  return api("POST", "/api/cancel", {});
}

// ---------------------------------------------------------------------------- dialogs

const DIALOG_IDS = ["override-dialog", "confirm-dialog", "technician-dialog", "technician-confirm"];

function openDialogId() {
  return DIALOG_IDS.find((id) => !byId(id).hidden) || null;
}

function closeDialog(id) {
  byId(id).hidden = true;
  if (app.screen === "home") focusCodeInput();
}

function closeAllDialogs() {
  DIALOG_IDS.forEach((id) => { byId(id).hidden = true; });
}

// A dialog must not outlive the step it belongs to.
function closeStaleDialogs(session) {
  if (session.state !== "placement") byId("override-dialog").hidden = true;
  if (app.screen !== "recording") byId("confirm-dialog").hidden = true;
  if (app.screen !== "home") byId("technician-dialog").hidden = true;
  if (app.screen !== "technician") byId("technician-confirm").hidden = true;
}

// ---------------------------------------------------------------------------- recording

function renderRecording(session) {
  const duration = isNumber(session.duration_s) ? session.duration_s : 0;
  const elapsed = isNumber(session.elapsed_s) ? session.elapsed_s : 0;
  byId("countdown").textContent = duration > 0 ? formatMmss(duration - elapsed) : "--:--";
  const fraction = duration > 0 ? clamp(elapsed / duration, 0, 1) : 0;
  byId("progress-fill").style.width = (fraction * 100).toFixed(1) + "%";
  byId("progress").setAttribute("aria-valuenow", String(Math.round(fraction * 100)));
  renderProblems(byId("warnings"), session.warnings, "no_warnings", "warnings--active", "warnings--none");
  updateCameraStatus();
}

function onPose(data) {
  app.pose = data;
  app.poseAt = Date.now();
  if (app.screen === "recording") requestPoseDraw();
}

// At most one draw per display frame, however fast poses arrive.
function requestPoseDraw() {
  if (app.poseFrame) return;
  app.poseFrame = window.requestAnimationFrame(() => {
    app.poseFrame = 0;
    drawPose();
  });
}

function updateCameraStatus() {
  const status = byId("camera-status");
  let key = null;
  if (!app.pose || Date.now() - app.poseAt > POSE_STALE_MS) key = "camera_waiting";
  else if (app.pose.present !== true) key = "infant_not_seen";
  status.hidden = key === null;
  status.textContent = key ? t(key) : "";
}

function drawPose() {
  const canvas = byId("depth-canvas");
  const scale = window.devicePixelRatio || 1;
  matchCanvasToBox(canvas, scale);
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#000000";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  const pose = app.pose;
  const width = pose ? Math.floor(pose.width) : 0;
  const height = pose ? Math.floor(pose.height) : 0;
  if (width > 0 && height > 0) {
    const box = fitBox(width, height, canvas.width, canvas.height);
    const image = depthImage(pose, width, height);
    if (image) ctx.drawImage(image, box.x, box.y, box.width, box.height);
    drawSkeleton(ctx, Array.isArray(pose.joints) ? pose.joints : [], box, scale);
  }
  updateCameraStatus();
}

function matchCanvasToBox(canvas, scale) {
  const width = Math.max(1, Math.round(canvas.clientWidth * scale));
  const height = Math.max(1, Math.round(canvas.clientHeight * scale));
  if (canvas.width !== width) canvas.width = width;
  if (canvas.height !== height) canvas.height = height;
}

// The largest rectangle of the image's aspect that fits the canvas, centred.
function fitBox(imageWidth, imageHeight, boxWidth, boxHeight) {
  const scale = Math.min(boxWidth / imageWidth, boxHeight / imageHeight);
  const width = imageWidth * scale;
  const height = imageHeight * scale;
  return { x: (boxWidth - width) / 2, y: (boxHeight - height) / 2, width, height, scale };
}

// The depth image at its own resolution, on an off-screen canvas; decoded once per pose.
function depthImage(pose, width, height) {
  const depth = app.depth;
  if (depth.pose === pose) return depth.canvas;
  const bytes = decodeBase64(pose.depth);
  if (!bytes || bytes.length !== width * height) return null;
  if (!depth.canvas) depth.canvas = document.createElement("canvas");
  depth.canvas.width = width;
  depth.canvas.height = height;
  const ctx = depth.canvas.getContext("2d");
  const image = ctx.createImageData(width, height);
  fillGrey(image.data, bytes);
  ctx.putImageData(image, 0, 0);
  depth.pose = pose;
  return depth.canvas;
}

function decodeBase64(text) {
  if (typeof text !== "string" || text === "") return null;
  let binary;
  try {
    binary = window.atob(text);
  } catch (err) {
    return null;
  }
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function fillGrey(rgba, bytes) {
  for (let i = 0, j = 0; i < bytes.length; i += 1, j += 4) {
    const grey = bytes[i];
    if (grey === 0) {
      rgba[j] = NO_DEPTH_RGB[0];
      rgba[j + 1] = NO_DEPTH_RGB[1];
      rgba[j + 2] = NO_DEPTH_RGB[2];
    } else {
      rgba[j] = grey;
      rgba[j + 1] = grey;
      rgba[j + 2] = grey;
    }
    rgba[j + 3] = 255;
  }
}

function jointPoint(joints, index, box) {
  const joint = joints[index];
  if (!Array.isArray(joint) || !isNumber(joint[0]) || !isNumber(joint[1])) return null;
  return { x: box.x + joint[0] * box.scale, y: box.y + joint[1] * box.scale };
}

function drawSkeleton(ctx, joints, box, scale) {
  const point = (index) => jointPoint(joints, index, box);
  ctx.save();
  ctx.lineWidth = 4 * scale;
  ctx.lineCap = "round";
  ctx.strokeStyle = "#00e5ff";
  ctx.beginPath();
  SKELETON_EDGES.forEach(([a, b]) => addSegment(ctx, point(a), point(b)));
  const left = point(SHOULDER_L);
  const right = point(SHOULDER_R);
  const neck = left && right ? { x: (left.x + right.x) / 2, y: (left.y + right.y) / 2 } : null;
  addSegment(ctx, point(NOSE), neck);
  ctx.stroke();
  ctx.fillStyle = "#ffeb3b";
  for (let i = 0; i < joints.length; i += 1) {
    const p = point(i);
    if (!p) continue;
    ctx.beginPath();
    ctx.arc(p.x, p.y, 5 * scale, 0, 2 * Math.PI);
    ctx.fill();
  }
  ctx.restore();
}

function addSegment(ctx, from, to) {
  if (!from || !to) return;
  ctx.moveTo(from.x, from.y);
  ctx.lineTo(to.x, to.y);
}

// ---------------------------------------------------------------------------- result

function renderResult(session) {
  const result = session.result && typeof session.result === "object" ? session.result : null;
  const reference = isReferenceResult(result);
  updateIfChanged(byId("screen-result"), [app.lang, result, reference], () => {
    fillDecision(byId("decision"), result);
    const probability = byId("probability");
    probability.textContent = probabilityText(result);
    probability.hidden = probability.textContent === "";
    byId("reference-notice").hidden = !reference;
    byId("result-details").replaceChildren(resultDetails(result));
  });
}

function fillDecision(element, result) {
  element.textContent = decisionLabel(result);
  element.dataset.decision = result && DECISIONS.has(result.decision) ? result.decision : "none";
}

// The analysis sends each reason and note in English and German (`statements`); results
// from before it did are shown in the English they carry.
function statementTexts(result, kind) {
  const statements = result.statements && result.statements[kind];
  if (!Array.isArray(statements)) return result[kind];
  return statements.map((statement, index) => (statement && typeof statement[app.lang] === "string"
    ? statement[app.lang] : (result[kind] || [])[index]));
}

function resultDetails(result) {
  const fragment = document.createDocumentFragment();
  if (!result) return fragment;
  appendList(fragment, "reasons", statementTexts(result, "reasons"));
  appendList(fragment, "notes", statementTexts(result, "notes"));
  const model = result.model;
  if (model && (model.name || model.version)) {
    fragment.append(make("p", "details__model",
      t("model", { name: model.name || "", version: model.version || "" }).trim()));
  }
  return fragment;
}

function appendList(parent, headingKey, items) {
  if (!Array.isArray(items) || items.length === 0) return;
  const list = make("ul", "details__list");
  items.forEach((item) => list.append(make("li", "", String(item))));
  parent.append(make("h3", "details__heading", t(headingKey)), list);
}

// ---------------------------------------------------------------------------- stopped

function renderStopped(session) {
  const problem = session.problem;
  const instruction = instructionText(problem) || t("stopped_" + session.state);
  byId("stopped-instruction").textContent = instruction;
  const detail = byId("stopped-detail");
  detail.textContent = problem && problem.detail ? String(problem.detail) : "";
  detail.hidden = detail.textContent === "";
}

function newScreening() {
  const session = liveSession();
  if (FINISHED_STATES.has(session.state)) setDismissed(dismissKey(session));
  app.history.open = false;
  clearError();
  render();
}

// ---------------------------------------------------------------------------- history

function openHistory() {
  const history = app.history;
  history.open = true;
  history.sessions = null;
  history.failed = false;
  history.selectedId = null;
  history.detail = null;
  clearError();
  render();
  loadHistory();
}

function closeHistory() {
  app.history.open = false;
  app.history.token += 1; // answers still on their way are no longer wanted
  render();
}

async function loadHistory() {
  const history = app.history;
  const token = ++history.token;
  try {
    const sessions = await api("GET", "/api/sessions");
    if (token !== history.token) return;
    history.sessions = Array.isArray(sessions) ? sessions : [];
  } catch (err) {
    if (token !== history.token) return;
    history.sessions = [];
    history.failed = true;
    showError(err.message);
  }
  renderHistory();
}

async function openSessionDetail(id) {
  const history = app.history;
  history.selectedId = id;
  history.detail = null;
  clearError();
  renderHistory();
  const token = ++history.token;
  try {
    const detail = await api("GET", "/api/sessions/" + encodeURIComponent(id));
    if (token !== history.token) return;
    history.detail = detail && typeof detail === "object" ? detail : {};
  } catch (err) {
    if (token !== history.token) return;
    history.selectedId = null;
    showError(err.message);
  }
  renderHistory();
}

function historyBack() {
  const history = app.history;
  if (history.selectedId === null) {
    closeHistory();
    return;
  }
  history.selectedId = null;
  history.detail = null;
  history.token += 1;
  renderHistory();
}

function onHistoryListClick(event) {
  const row = event.target.closest("[data-session-id]");
  if (row) openSessionDetail(row.dataset.sessionId);
}

function renderHistory() {
  const history = app.history;
  const showingDetail = history.selectedId !== null;
  byId("history-list-view").hidden = showingDetail;
  byId("history-detail-view").hidden = !showingDetail;
  const session = history.detail && history.detail.session;
  byId("reanalyse-button").hidden = !(session && REANALYSABLE_STATES.has(session.state));
  if (showingDetail) renderHistoryDetail(history.detail);
  else renderHistoryList(history);
}

function renderHistoryList(history) {
  const list = byId("history-list");
  let message = null;
  if (history.sessions === null) message = "history_loading";
  else if (history.failed) message = "history_failed";
  else if (history.sessions.length === 0) message = "history_empty";
  if (message) {
    list.replaceChildren(make("li", "history-list__message", t(message)));
    return;
  }
  list.replaceChildren(...history.sessions.map(historyRow));
}

function historyRow(session) {
  const item = make("li");
  const row = make("button", "history-row");
  row.type = "button";
  row.dataset.sessionId = String(session.id);
  row.dataset.testid = "history-row";
  const state = make("span", "history-row__state", labelFor("state_", session.state));
  state.dataset.state = session.state;
  const decision = DECISIONS.has(session.decision) ? t("decision_short_" + session.decision) : "\u2014";
  row.append(
    make("span", "history-row__date", formatDateTime(session.created_utc)),
    make("span", "history-row__code", session.code || ""),
    state,
    make("span", "history-row__decision", decision),
  );
  item.append(row);
  return item;
}

function renderHistoryDetail(detail) {
  const view = byId("history-detail-view");
  if (!detail) {
    view.replaceChildren(make("p", "history-list__message", t("history_loading")));
    return;
  }
  const session = detail.session || {};
  const results = Array.isArray(detail.results) ? detail.results : [];
  const parts = [make("h2", "history-detail__code", session.code || "")];
  parts.push(make("p", "history-detail__meta", historyMeta(session)));
  const problemText = instructionText(session.problem);
  if (problemText) parts.push(make("p", "history-detail__problem", problemText));
  if (results.length === 0) parts.push(make("p", "", t("history_no_result")));
  // Results come oldest first; the newest analysis is what counts, so it leads.
  results.slice().reverse().forEach((result, index) => {
    parts.push(historyAnalysis(result, results.length - index, results.length));
  });
  view.replaceChildren(...parts);
}

function historyMeta(session) {
  const parts = [t("history_started", { when: formatDateTime(session.created_utc) }),
    labelFor("state_", session.state)];
  if (isNumber(session.duration_s)) parts.push(t("history_duration", { duration: formatMmss(session.duration_s) }));
  return parts.join("  \u00b7  ");
}

function historyAnalysis(result, number, count) {
  const section = make("section", "history-detail__analysis");
  if (count > 1) section.append(make("h3", "details__heading", t("history_analysis", { n: number, count })));
  const decision = make("div", "decision");
  fillDecision(decision, result);
  section.append(decision);
  const probability = probabilityText(result);
  if (probability) section.append(make("p", "probability", probability));
  if (isReferenceResult(result)) section.append(make("div", "reference-notice", t("reference_notice")));
  section.append(resultDetails(result));
  return section;
}

function reanalyseSelected() {
  const id = app.history.selectedId;
  if (id === null) return;
  runAction(byId("reanalyse-button"), async () => {
    await api("POST", "/api/reanalyse", { session_id: id });
    // The session becomes the live one and its analysis shows on the Analysing screen.
    setDismissed("");
    closeHistory();
  });
}

// ---------------------------------------------------------------------------- export

function isExportable(session) {
  return Boolean(session) && FINISHED_STATES.has(session.state) && Boolean(session.recording)
    && !session.purged_utc;
}

function isExportRunning(job) {
  return Boolean(job) && EXPORT_RUNNING.has(job.phase);
}

// The export running or last run on the appliance, whoever started it.
function liveExport() {
  const job = liveSession().export;
  return job && typeof job === "object" ? job : null;
}

// The export this view shows: one started here, or one seen running while it is open. An
// export that had already ended when the screen opened is old news and not shown.
function viewedExport() {
  const view = app.exportView;
  const live = liveExport();
  if (live && JSON.stringify(live) !== view.stale) return live;
  return view.answer;
}

function openExport() {
  const view = app.exportView;
  const live = liveExport();
  view.open = true;
  view.sessions = null;
  view.failed = false;
  view.chosen = new Set();
  view.targets = null;
  view.targetsFailed = false;
  view.stale = live && !isExportRunning(live) ? JSON.stringify(live) : "null";
  view.answer = null;
  view.handledDone = null;
  view.shownPhase = null;
  clearError();
  render();
  loadExportSessions();
}

function closeExport() {
  app.exportView.open = false;
  app.exportView.token += 1; // answers still on their way are no longer wanted
  render();
}

async function loadExportSessions() {
  const view = app.exportView;
  const token = ++view.token;
  try {
    const sessions = await api("GET", "/api/sessions");
    if (token !== view.token) return;
    view.sessions = (Array.isArray(sessions) ? sessions : []).filter(isExportable);
    view.failed = false;
  } catch (err) {
    if (token !== view.token) return;
    view.sessions = [];
    view.failed = true;
    showError(err.message);
  }
  const listed = new Set(view.sessions.map((session) => String(session.id)));
  view.chosen.forEach((id) => {
    if (!listed.has(id)) view.chosen.delete(id);
  });
  if (app.screen === "export") renderExport();
}

function startTargetPolling() {
  const view = app.exportView;
  if (view.targetsTimer) return;
  view.targetsTimer = window.setInterval(loadExportTargets, TARGETS_EVERY_MS);
  loadExportTargets();
}

function stopTargetPolling() {
  const view = app.exportView;
  if (!view.targetsTimer) return;
  window.clearInterval(view.targetsTimer);
  view.targetsTimer = 0;
  view.targetsToken += 1;
  view.targetsBusy = false;
}

async function loadExportTargets() {
  const view = app.exportView;
  if (view.targetsBusy) return; // a slow answer is not asked for again on top
  view.targetsBusy = true;
  const token = view.targetsToken;
  let targets = [];
  let failed = false;
  try {
    const answer = await api("GET", "/api/targets");
    targets = (Array.isArray(answer) ? answer : [])
      .filter((target) => target && typeof target.path === "string" && target.path !== "");
  } catch (err) {
    failed = true; // said in the target box, not the error line: this repeats every 2 s
  }
  if (token !== view.targetsToken) return;
  view.targetsBusy = false;
  view.targets = targets;
  view.targetsFailed = failed;
  if (!targets.some((target) => target.path === view.target)) {
    view.target = targets.length > 0 ? targets[0].path : null;
  }
  if (app.screen === "export") renderExport();
}

function renderExport() {
  const view = app.exportView;
  const job = viewedExport();
  const busy = view.posting || isExportRunning(liveExport()) || isExportRunning(job);
  renderExportList(view, busy);
  renderExportTargets(view, busy);
  renderExportProgress(job, view.sessions || []);
  const fresh = (view.sessions || []).some((session) => !session.exported_utc);
  byId("export-select-new").disabled = busy || !fresh;
  byId("export-start").disabled = busy || view.chosen.size === 0 || !view.target;
  if (job && job.phase === "done") onExportDone(job);
}

function renderExportList(view, busy) {
  const list = byId("export-list");
  updateIfChanged(list, [app.lang, view.sessions, view.failed, busy], () => {
    let message = null;
    if (view.sessions === null) message = "history_loading";
    else if (view.failed) message = "history_failed";
    else if (view.sessions.length === 0) message = "export_empty";
    if (message) {
      list.replaceChildren(make("li", "history-list__message", t(message)));
      return;
    }
    list.replaceChildren(...view.sessions.map((session) => exportRow(session, busy)));
  });
  // Ticks change in place, so the list keeps its scroll position.
  list.querySelectorAll("[data-session-id]").forEach((row) => {
    row.setAttribute("aria-pressed", String(view.chosen.has(row.dataset.sessionId)));
  });
}

function exportRow(session, busy) {
  const item = make("li");
  const row = make("button", "export-row");
  row.type = "button";
  row.disabled = busy;
  row.dataset.sessionId = String(session.id);
  row.dataset.testid = "export-row";
  row.setAttribute("aria-pressed", "false");
  const box = make("span", "export-row__box");
  box.setAttribute("aria-hidden", "true");
  const outcome = DECISIONS.has(session.decision)
    ? t("decision_short_" + session.decision) : labelFor("state_", session.state);
  row.append(
    box,
    make("span", "export-row__code", session.code || ""),
    make("span", "export-row__meta", formatDateTime(session.created_utc) + "  \u00b7  " + outcome),
  );
  if (session.exported_utc) {
    const mark = make("span", "export-row__mark", t("export_exported"));
    mark.dataset.testid = "export-row-exported";
    mark.title = t("export_exported_at", { when: formatDateTime(session.exported_utc) });
    row.append(mark);
  }
  item.append(row);
  return item;
}

function renderExportTargets(view, busy) {
  const list = byId("export-targets");
  const none = byId("export-no-target");
  const targets = view.targets;
  updateIfChanged(list, [app.lang, targets, view.targetsFailed, busy], () => {
    let message = null;
    if (targets === null) message = "history_loading";
    else if (view.targetsFailed) message = "export_targets_failed";
    if (message) {
      list.replaceChildren(make("li", "history-list__message", t(message)));
      return;
    }
    list.replaceChildren(...targets.map((target) => exportTarget(target, busy)));
  });
  list.querySelectorAll("[data-path]").forEach((row) => {
    row.setAttribute("aria-checked", String(row.dataset.path === view.target));
  });
  const missing = Array.isArray(targets) && targets.length === 0 && !view.targetsFailed;
  list.hidden = missing;
  none.hidden = !missing;
  none.textContent = missing ? t("export_no_target") : "";
}

function exportTarget(target, busy) {
  const item = make("li");
  const row = make("button", "export-target");
  row.type = "button";
  row.disabled = busy;
  row.setAttribute("role", "radio");
  row.setAttribute("aria-checked", "false");
  row.dataset.path = target.path;
  row.dataset.testid = "export-target";
  row.title = target.path;
  const mark = make("span", "export-target__mark");
  mark.setAttribute("aria-hidden", "true");
  row.append(
    mark,
    make("span", "export-target__name", String(target.name || target.path)),
    make("span", "export-target__free", t("export_free", { size: formatBytes(target.free_bytes) })),
  );
  item.append(row);
  return item;
}

function renderExportProgress(job, sessions) {
  const box = byId("export-progress");
  box.hidden = !job;
  if (!job) return;
  const phase = String(job.phase);
  box.dataset.phase = phase;
  const fraction = phase === "done" ? 1 : isNumber(job.fraction) ? clamp(job.fraction, 0, 1) : 0;
  let text = labelFor("export_phase_", phase);
  if (phase === "writing") {
    const current = sessions.find((session) => String(session.id) === job.current);
    if (current && current.code) text = t("export_writing_code", { code: current.code });
  }
  if (phase === "writing" || phase === "verifying") text += "  " + formatPercent(fraction);
  byId("export-phase").textContent = text;
  const bar = byId("export-bar");
  bar.hidden = phase === "failed";
  bar.setAttribute("aria-valuenow", String(Math.round(fraction * 100)));
  byId("export-bar-fill").style.width = (fraction * 100).toFixed(1) + "%";
  const done = byId("export-done");
  done.hidden = phase !== "done";
  if (phase === "done") {
    const count = Array.isArray(job.sessions) ? job.sessions.length : 0;
    done.textContent = t(count === 1 ? "export_done_one" : "export_done_many",
      { count, folder: folderName(job.path) });
  }
  const failed = byId("export-failed");
  failed.hidden = phase !== "failed";
  failed.textContent = phase === "failed" ? String(job.message || t("export_failed_unknown")) : "";
  revealExportProgress(box, JSON.stringify([app.lang, job.sessions, job.target, phase]));
}

// On a small screen the stick list can push the progress below the fold: each new phase
// (above all Done and Failed) is scrolled into view once; the nurse may scroll away again.
function revealExportProgress(box, key) {
  const view = app.exportView;
  if (view.shownPhase === key) return;
  view.shownPhase = key;
  const side = box.parentElement;
  const overflow = box.getBoundingClientRect().bottom - side.getBoundingClientRect().bottom;
  if (overflow > 0) side.scrollTop += overflow;
}

function folderName(path) {
  const text = typeof path === "string" ? path.replace(/[\\/]+$/, "") : "";
  return text.split(/[\\/]/).pop() || text;
}

// A verified export marks its sessions exported; the list shows it once the appliance has
// recorded that, which can be a moment after "done" arrives.
function onExportDone(job) {
  const view = app.exportView;
  const key = JSON.stringify([job.path, job.sessions]);
  if (view.handledDone === key) return;
  view.handledDone = key;
  const ids = Array.isArray(job.sessions) ? job.sessions.map(String) : [];
  ids.forEach((id) => view.chosen.delete(id));
  reloadUntilExported(ids, EXPORTED_RELOADS);
}

async function reloadUntilExported(ids, tries) {
  const view = app.exportView;
  await loadExportSessions();
  if (!view.open || view.failed || !view.sessions || tries <= 1) return;
  const waiting = view.sessions.some((session) => ids.includes(String(session.id)) && !session.exported_utc);
  if (waiting) {
    window.setTimeout(() => {
      if (view.open) reloadUntilExported(ids, tries - 1);
    }, 1000);
  }
}

function onExportListClick(event) {
  const row = event.target.closest("[data-session-id]");
  if (!row || row.disabled) return;
  const chosen = app.exportView.chosen;
  const id = row.dataset.sessionId;
  if (chosen.has(id)) chosen.delete(id);
  else chosen.add(id);
  renderExport();
}

function onExportTargetsClick(event) {
  const row = event.target.closest("[data-path]");
  if (!row || row.disabled) return;
  app.exportView.target = row.dataset.path;
  renderExport();
}

function selectNotYetExported() {
  const view = app.exportView;
  const fresh = (view.sessions || []).filter((session) => !session.exported_utc);
  view.chosen = new Set(fresh.map((session) => String(session.id)));
  renderExport();
}

async function startExport() {
  const view = app.exportView;
  const button = byId("export-start");
  const ids = (view.sessions || []).map((session) => String(session.id))
    .filter((id) => view.chosen.has(id));
  const target = view.target;
  if (ids.length === 0 || !target || view.posting) return;
  const before = JSON.stringify(liveExport()); // the live state may change while we wait
  await runAction(button, async () => {
    view.posting = true;
    try {
      const answer = await api("POST", "/api/export", { session_ids: ids, target });
      if (!view.open) return;
      view.stale = before;
      view.answer = answer && typeof answer === "object" ? answer : null;
      view.handledDone = null;
    } finally {
      view.posting = false;
    }
  });
  if (app.screen === "export") renderExport();
}

// ---------------------------------------------------------------------------- technician

// The technician's token goes with every technician call; a 401 means it expired (or the
// display restarted), and the screen locks itself again.
async function technicianApi(method, path, body) {
  const view = app.technician;
  return api(method, path, body, { "X-Technician-Token": view.token }, (status) => {
    if (status === 401 && view.open) {
      closeTechnician();
      throw new Error(t("technician_locked"));
    }
  });
}

function openTechnicianDialog() {
  const input = byId("technician-pin");
  input.value = "";
  byId("technician-error").hidden = true;
  byId("technician-dialog").hidden = false;
  input.focus();
}

async function onTechnicianUnlock(event) {
  event.preventDefault();
  const input = byId("technician-pin");
  const problem = byId("technician-error");
  const pin = input.value.trim();
  problem.hidden = true;
  if (!pin) {
    problem.textContent = t("technician_pin_missing");
    problem.hidden = false;
    input.focus();
    return;
  }
  const button = byId("technician-unlock");
  if (button.disabled) return;
  button.disabled = true;
  try {
    const answer = await api("POST", "/api/technician/unlock", { pin });
    input.value = "";
    byId("technician-dialog").hidden = true;
    const view = app.technician;
    Object.assign(view, {
      open: true, token: String(answer.token || ""), overview: null, checks: {},
      confirming: null, updating: false,
    });
    clearError();
    render();
  } catch (err) {
    input.value = "";
    problem.textContent = err.message;
    problem.hidden = false;
    input.focus();
  } finally {
    button.disabled = false;
  }
}

function closeTechnician() {
  const view = app.technician;
  view.open = false;
  view.token = "";
  view.overview = null;
  view.checks = {};
  render();
}

function startBundlePolling() {
  const view = app.technician;
  if (view.timer) return;
  view.timer = window.setInterval(loadTechnician, TARGETS_EVERY_MS);
  loadTechnician();
}

function stopBundlePolling() {
  const view = app.technician;
  if (!view.timer) return;
  window.clearInterval(view.timer);
  view.timer = 0;
  view.busy = false;
}

async function loadTechnician() {
  const view = app.technician;
  if (view.busy || !view.open) return;
  view.busy = true;
  try {
    const overview = await technicianApi("GET", "/api/technician/bundles");
    if (view.open) view.overview = overview && typeof overview === "object" ? overview : null;
  } catch (err) {
    showError(err.message);
  } finally {
    view.busy = false;
  }
  if (app.screen === "technician") renderTechnician();
}

function lastUpdateText(last) {
  if (!last) return t("technician_last_none");
  const text = t("technician_last_text", {
    result: labelFor("technician_result_", String(last.result).replace(" ", "_")),
    before: last.version_before || "?", after: last.version_after || "?",
    when: last.finished_utc ? formatDateTime(last.finished_utc) : "?",
  });
  return last.reason ? text + " (" + last.reason + ")" : text;
}

function renderTechnician() {
  const view = app.technician;
  const overview = view.overview || {};
  byId("technician-version").textContent = overview.version || "…";
  byId("technician-last").textContent = view.overview ? lastUpdateText(overview.last) : "…";
  byId("technician-updating").hidden = !view.updating;
  const bundles = Array.isArray(overview.bundles) ? overview.bundles : [];
  const list = byId("technician-bundles");
  updateIfChanged(list, [view.overview, view.checks, view.updating, app.lang], () => {
    list.replaceChildren();
    if (view.overview && bundles.length === 0) {
      list.appendChild(make("li", "technician-bundles__message", t("technician_no_bundles")));
    }
    bundles.forEach((bundle) => list.appendChild(bundleRow(bundle, view)));
  });
}

function bundleRow(bundle, view) {
  const check = view.checks[bundle.path];
  const row = make("li", "technician-bundle");
  row.dataset.path = bundle.path;
  row.setAttribute("data-testid", "technician-bundle");
  row.appendChild(make("span", "technician-bundle__name", bundle.folder + " / " + bundle.name));
  row.appendChild(make("span", "technician-bundle__size", formatBytes(bundle.size_bytes)));
  const verify = make("button", "btn btn--secondary", check && check.busy
    ? t("technician_verifying") : t("technician_verify"));
  verify.type = "button";
  verify.dataset.action = "verify";
  verify.setAttribute("data-testid", "technician-verify");
  verify.disabled = Boolean(check && check.busy) || view.updating;
  const apply = make("button", "btn btn--primary", t("technician_apply"));
  apply.type = "button";
  apply.dataset.action = "apply";
  apply.setAttribute("data-testid", "technician-apply");
  apply.disabled = !(check && check.ok) || view.updating;
  row.append(verify, apply);
  if (check && !check.busy) {
    const text = check.ok
      ? t("technician_verified", { version: check.version, signer: check.signer })
      : t("technician_not_verified", { reason: check.reason });
    const line = make("p", check.ok ? "technician-bundle__ok" : "technician-bundle__refused", text);
    line.setAttribute("data-testid", "technician-check");
    row.appendChild(line);
  }
  return row;
}

function onTechnicianBundlesClick(event) {
  const button = event.target.closest("button[data-action]");
  const row = event.target.closest("[data-path]");
  if (!button || !row || button.disabled) return;
  if (button.dataset.action === "verify") verifyBundle(row.dataset.path);
  else openApplyConfirm(row.dataset.path);
}

async function verifyBundle(path) {
  const view = app.technician;
  view.checks = { ...view.checks, [path]: { busy: true } };
  renderTechnician();
  clearError();
  let check;
  try {
    const answer = await technicianApi("POST", "/api/technician/verify", { bundle: path });
    check = answer && typeof answer === "object" ? answer : { ok: false, reason: "?" };
  } catch (err) {
    check = { ok: false, reason: err.message };
  }
  if (!view.open) return;
  view.checks = { ...view.checks, [path]: check };
  renderTechnician();
}

function openApplyConfirm(path) {
  app.technician.confirming = path;
  byId("technician-confirm-bundle").textContent = path;
  byId("technician-confirm").hidden = false;
  byId("technician-confirm-no").focus();
}

async function onTechnicianConfirm() {
  const view = app.technician;
  const path = view.confirming;
  byId("technician-confirm").hidden = true;
  if (!path) return;
  await runAction(byId("technician-confirm-yes"), async () => {
    await technicianApi("POST", "/api/technician/apply", { bundle: path });
    view.updating = true;
  });
  if (app.screen === "technician") renderTechnician();
}

// ---------------------------------------------------------------------------- start-up

function wireEvents() {
  byId("start-form").addEventListener("submit", onStartSubmit);
  byId("code-input").addEventListener("input", (event) => event.target.removeAttribute("aria-invalid"));
  byId("history-button").addEventListener("click", openHistory);
  byId("lang-toggle").addEventListener("click", toggleLanguage);
  byId("error-line").addEventListener("click", clearError);
  byId("cancel-button").addEventListener("click", onCancelPressed);
  byId("override-button").addEventListener("click", openOverrideDialog);
  byId("override-form").addEventListener("submit", onOverrideSubmit);
  byId("override-close").addEventListener("click", () => closeDialog("override-dialog"));
  byId("confirm-no").addEventListener("click", () => closeDialog("confirm-dialog"));
  byId("confirm-yes").addEventListener("click", onConfirmCancel);
  byId("new-screening").addEventListener("click", newScreening);
  byId("history-back").addEventListener("click", historyBack);
  byId("history-list").addEventListener("click", onHistoryListClick);
  byId("reanalyse-button").addEventListener("click", reanalyseSelected);
  byId("export-button").addEventListener("click", openExport);
  byId("export-back").addEventListener("click", closeExport);
  byId("export-list").addEventListener("click", onExportListClick);
  byId("export-targets").addEventListener("click", onExportTargetsClick);
  byId("export-select-new").addEventListener("click", selectNotYetExported);
  byId("export-start").addEventListener("click", startExport);
  byId("technician-button").addEventListener("click", openTechnicianDialog);
  byId("technician-form").addEventListener("submit", onTechnicianUnlock);
  byId("technician-close").addEventListener("click", () => closeDialog("technician-dialog"));
  byId("technician-back").addEventListener("click", closeTechnician);
  byId("technician-bundles").addEventListener("click", onTechnicianBundlesClick);
  byId("technician-confirm-no").addEventListener("click", () => closeDialog("technician-confirm"));
  byId("technician-confirm-yes").addEventListener("click", onTechnicianConfirm);
  document.addEventListener("keydown", onDocumentKeydown);
  window.addEventListener("resize", () => {
    if (app.screen === "recording") requestPoseDraw();
  });
}

function init() {
  app.lang = initialLanguage();
  app.dismissed = readStorage(STORAGE_DISMISSED) || "";
  wireEvents();
  applyStaticTexts();
  renderClock();
  render();
  loadBodyDiagram();
  connectEvents();
  window.setInterval(tick, 1000);
}

init();
