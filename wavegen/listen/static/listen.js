// wavegen listening test: one trial per page; every answer is sent (and stored) the moment it is given.
// Playback uses the Web Audio API: all stimuli of a trial are decoded up front, loop, and switching
// from one to another continues at the same position without a gap (ITU-R BS.1534-3, 5.2).
"use strict";

const query = new URLSearchParams(location.search);
const state = { participant: query.get("participant"), token: query.get("token"), session: null,
                context: null, buffers: {}, source: null, playing: null, startedAt: 0,
                sending: Promise.resolve() };
const $ = (id) => document.getElementById(id);
const MUSHRA_BANDS = ["Excellent", "Good", "Fair", "Poor", "Bad"];
const ACR_LABELS = { 5: "Excellent", 4: "Good", 3: "Fair", 2: "Poor", 1: "Bad" };

function status(text, isError) {
  $("status").textContent = text;
  $("status").className = isError ? "error" : "";
}

function credentials() {
  const params = new URLSearchParams({ participant: state.participant });
  if (state.token) params.set("token", state.token);
  return params;
}

async function api(path, body) {
  // A POST names its participant (and token) in the URL: the server checks them before reading the body.
  const response = await fetch(body === undefined ? path : `${path}?${credentials()}`, body === undefined ? {} : {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ participant: state.participant, ...body }) });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.error || `${response.status} ${response.statusText}`);
  return data;
}

async function start() {
  state.context = state.context || new AudioContext();
  try {
    state.session = await api(`/api/session?${credentials()}`);
  } catch (error) {
    status(error.message, true);
    $("welcome").hidden = false;
    return;
  }
  $("welcome").hidden = true;
  $("title").textContent = `${state.session.test}: ${state.session.type.toUpperCase()} test`;
  showNext();
}

function showNext() {
  stop();
  const trials = state.session.trials;
  const index = trials.findIndex((t) => !t.completed);
  if (index < 0) {
    $("trial").hidden = true;
    $("done").hidden = false;
    status("");
    return;
  }
  renderTrial(trials[index], index, trials.length);
}

async function load(key, url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`could not load audio (${response.status})`);
  state.buffers[key] = await state.context.decodeAudioData(await response.arrayBuffer());
}

function play(key) {
  // Same position in the new stimulus as in the one playing: instant, gapless switching.
  const buffer = state.buffers[key];
  let offset = 0;
  if (state.source) {
    offset = (state.context.currentTime - state.startedAt) % state.buffers[state.playing].duration;
    state.source.onended = null;
    state.source.stop();
  }
  offset = offset % buffer.duration;
  const source = state.context.createBufferSource();
  source.buffer = buffer;
  source.loop = true;
  source.connect(state.context.destination);
  source.start(0, offset);
  state.context.resume();
  state.source = source;
  state.playing = key;
  state.startedAt = state.context.currentTime - offset;
  document.querySelectorAll("button.play").forEach((b) => b.classList.toggle("playing", b.dataset.key === key));
}

function stop() {
  if (state.source) { state.source.stop(); state.source = null; state.playing = null; }
  document.querySelectorAll("button.play").forEach((b) => b.classList.remove("playing"));
}

function element(tag, attributes, text) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

function playButton(key, label, onPlayed) {
  const button = element("button", { type: "button", id: `play-${key}`, class: "play", "data-key": key }, label);
  button.addEventListener("click", () => { play(key); onPlayed && onPlayed(); });
  return button;
}

async function renderTrial(trial, index, total) {
  const page = $("trial");
  page.replaceChildren();
  page.hidden = false;
  page.dataset.trial = trial.trial;
  page.append(element("p", { id: "progress" }, `Trial ${index + 1} of ${total}`));
  const bar = element("progress", { max: total, value: index });
  page.append(bar, element("p", { class: "instructions" }, state.session.instructions));
  status("Loading audio…");
  state.buffers = {};
  try {
    const loads = trial.stimuli.map((s) => load(s.key, s.audio));
    if (trial.reference) loads.push(load("ref", trial.reference));
    if (trial.x) loads.push(load("x", trial.x));
    await Promise.all(loads);
  } catch (error) {
    status(error.message, true);
    return;
  }
  status("");
  const answered = new Set(Object.keys(trial.answers));
  const played = new Set(answered);
  const next = element("button", { type: "button", id: "next", disabled: "" },
                       index + 1 === total ? "Finish" : "Next trial");
  const paired = state.session.type === "ab" || state.session.type === "abx";
  const needed = paired ? ["choice"] : trial.stimuli.map((s) => s.key);
  const refresh = () => { next.disabled = !needed.every((k) => answered.has(k)); };

  // Answers go one after another, so a slider moved quickly ends with its last value stored.
  const send = (body, key, mark) => (state.sending = state.sending.then(() => store(body, key, mark)));
  const store = async (body, key, mark) => {
    try {
      await api("/api/answer", { trial: trial.trial, ...body });
      answered.add(key);
      mark && mark.classList.add("saved");
      status("Saved.");
    } catch (error) {
      status(error.message, true);
    }
    refresh();
  };

  const controls = element("div", { class: `controls ${state.session.type}` });
  page.append(controls);
  if (trial.reference) controls.append(playButton("ref", "Reference"));

  if (state.session.type === "mushra") {
    const scale = element("div", { class: "scale" });
    MUSHRA_BANDS.forEach((band) => scale.append(element("span", {}, band)));
    controls.append(scale);
    trial.stimuli.forEach((stimulus, i) => {
      const column = element("div", { class: "stimulus" });
      const slider = element("input", { type: "range", min: 0, max: 100, step: 1, id: `score-${stimulus.key}`,
                                         "aria-label": `Rating of stimulus ${i + 1}` });
      const shown = element("output", { for: slider.id }, "–");
      const previous = trial.answers[stimulus.key];
      slider.value = previous === undefined ? 50 : previous;
      if (previous !== undefined) { shown.textContent = previous; slider.classList.add("saved"); }
      slider.disabled = !played.has(stimulus.key);
      slider.addEventListener("input", () => { shown.textContent = slider.value; });
      slider.addEventListener("change", () => send({ stimulus: stimulus.key, score: Number(slider.value) },
                                                   stimulus.key, slider));
      column.append(slider, shown, playButton(stimulus.key, String.fromCharCode(65 + i),
                                              () => { played.add(stimulus.key); slider.disabled = false; }));
      controls.append(column);
    });
  } else if (state.session.type === "acr") {
    const stimulus = trial.stimuli[0];
    const choices = element("fieldset", { id: "acr", disabled: "" });
    choices.append(element("legend", {}, "Quality of the recording"));
    for (const value of [5, 4, 3, 2, 1]) {
      const label = element("label");
      const radio = element("input", { type: "radio", name: "acr", value, id: `acr-${value}` });
      if (trial.answers[stimulus.key] === value) radio.checked = true;
      radio.addEventListener("change", () => send({ stimulus: stimulus.key, score: value }, stimulus.key, choices));
      label.append(radio, ` ${value} ${ACR_LABELS[value]}`);
      choices.append(label);
    }
    if (played.has(stimulus.key)) choices.disabled = false;
    controls.append(playButton(stimulus.key, "Play", () => { choices.disabled = false; }), choices);
  } else {
    // AB: which do you prefer? ABX: X is one of A and B, which? Choices open once everything was heard.
    const toHear = [...trial.stimuli.map((s) => s.key), ...(trial.x ? ["x"] : [])];
    const heard = new Set(played.size ? toHear : []);
    const hear = (key) => {
      heard.add(key);
      if (heard.size === toHear.length) choose.forEach((b) => { b.disabled = false; });
    };
    const pick = element("div", { class: "choices" });
    const choose = trial.stimuli.map((stimulus, i) => {
      const label = String.fromCharCode(65 + i);
      const button = element("button", { type: "button", id: `choose-${stimulus.key}`, class: "choose" },
                             trial.x ? `X is ${label}` : `I prefer ${label}`);
      button.disabled = heard.size < toHear.length;
      if (trial.answers.choice === stimulus.key) button.classList.add("chosen");
      button.addEventListener("click", async () => {
        await send({ choice: stimulus.key }, "choice");
        if (answered.has("choice")) choose.forEach((b) => b.classList.toggle("chosen", b === button));
      });
      controls.append(playButton(stimulus.key, label, () => hear(stimulus.key)));
      return button;
    });
    if (trial.x) controls.append(playButton("x", "X", () => hear("x")));
    pick.append(...choose);
    page.append(pick);
  }
  controls.append(element("button", { type: "button", id: "stop", class: "stop" }, "Stop"));
  $("stop").addEventListener("click", stop);
  next.addEventListener("click", async () => {
    await state.sending;
    try {
      await api("/api/complete", { trial: trial.trial });
      trial.completed = true;
      showNext();
    } catch (error) {
      status(error.message, true);
    }
  });
  page.append(next);
  refresh();
}

document.addEventListener("DOMContentLoaded", () => {
  if (state.participant) {
    $("participant").value = state.participant;
  }
  $("welcome").hidden = false;
  $("welcome").addEventListener("submit", (event) => {
    event.preventDefault();
    state.participant = $("participant").value.trim();
    if (state.participant) start();
  });
});
