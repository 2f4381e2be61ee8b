// reportqa's page: ask, read the best answer and the rest, open and verify citations, browse and add reports.
// Each view is a URL (state.js): this module draws the view a URL names, and turns the controls into URLs.
import { answersChanged, clearAnswers, forget, showAnswers } from "./answers.js";
import { openKeyBox, saveKey, savedKey, serviceInfo } from "./api.js";
import { chooseSource, loadSources, PAGE_SIZE, showDocuments } from "./browse.js";
import { $, showError } from "./dom.js";
import { leaveReport, showReport } from "./report.js";
import { back, listOf, navigate, onNavigate, readState, start } from "./state.js";
import { offerUpload, setUpUpload } from "./upload.js";

const VIEWS = ["ask-view", "browse-view", "report-view"];
const TITLE = "reportqa: ask the reports";
// The last question and the last list of reports, which the tabs return to.
let lastAsk = readState("");
let lastBrowse = readState("?view=browse");
let currentView = null;

function render(state, generation) {
  showError("");
  fillForms(state);
  if (state.view === "browse") lastBrowse = listOf(state);
  else lastAsk = listOf(state);
  document.title = state.q && state.view === "ask" ? `${state.q} · reportqa` : TITLE;
  if (state.doc) {
    show("report-view");
    return showReport(state, generation);
  }
  leaveReport();
  if (state.view === "browse") {
    show("browse-view");
    return showDocuments(state, generation);
  }
  show("ask-view");
  if (!state.q) return clearAnswers();
  return showAnswers(state, generation);
}

function show(view) {
  const returning = currentView === "report-view" && view !== "report-view";
  currentView = view;
  for (const id of VIEWS) $(id).hidden = id !== view;
  $("tab-ask").setAttribute("aria-pressed", String(view === "ask-view"));
  $("tab-browse").setAttribute("aria-pressed", String(view === "browse-view"));
  // Back from a report, the keyboard lands where the list is searched, as it left it.
  if (returning) $(view === "browse-view" ? "browse-query" : "question").focus();
}

function fillForms(state) {
  if (state.view === "browse") {
    $("browse-query").value = state.search;
    return;
  }
  $("question").value = state.q;
  $("date-from").value = state.from;
  $("date-to").value = state.to;
  chooseSource(state.source);
}

function ask(event) {
  event.preventDefault();
  showError("");
  const state = {
    view: "ask",
    q: $("question").value.trim(),
    from: $("date-from").value,
    to: $("date-to").value,
    source: $("source").value,
  };
  if (!state.q) {
    showError("Type a question first, for example: Who is the Russian defence minister?");
    $("question").focus();
    return;
  }
  if (state.from && state.to && state.to < state.from) {
    showError("The “To” date is before the “From” date, so no report can match: swap the dates, or clear one.");
    $("date-to").focus();
    return;
  }
  forget(state); // asked again: the reports may have changed since
  navigate(state);
}

// What the service needs from this caller: the key box only where keys are needed, the upload only
// where writing may work.
async function checkService() {
  const service = await serviceInfo();
  $("key-box").hidden = !service.keys_required;
  offerUpload(service);
  let message = "";
  if (service.keys_required && !service.unknown) {
    if (!savedKey()) message = "This service needs an API key: enter yours here.";
    else if (!service.key_scope) message = "This key is not valid: check it for typos, or ask the operator for one.";
    else if (service.key_scope === "write") message = "Key accepted: it may read and add reports.";
    else message = "Key accepted: it may read reports, not add them.";
    if (!savedKey() || !service.key_scope) openKeyBox();
  }
  $("key-status").textContent = message;
}

async function keyChanged() {
  saveKey($("api-key").value.trim());
  await checkService();
  await loadSources(readState().source);
  answersChanged();
  leaveReport();
  navigate(readState(), { replace: true });
}

function wire() {
  $("ask-form").addEventListener("submit", ask);
  $("api-key").value = savedKey();
  $("api-key").addEventListener("change", keyChanged);
  $("close-report").addEventListener("click", back);
  $("tab-ask").addEventListener("click", () => {
    navigate(lastAsk);
    $("question").focus();
  });
  $("tab-browse").addEventListener("click", () => navigate(lastBrowse));
  $("browse-form").addEventListener("submit", (event) => {
    event.preventDefault();
    navigate({ ...readState("?view=browse"), search: $("browse-query").value.trim() });
  });
  $("previous-page").addEventListener("click", () =>
    navigate({ ...lastBrowse, offset: Math.max(0, lastBrowse.offset - PAGE_SIZE) }),
  );
  $("next-page").addEventListener("click", () => navigate({ ...lastBrowse, offset: lastBrowse.offset + PAGE_SIZE }));
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && currentView === "report-view") back();
  });
  setUpUpload(() => {
    // A new report can answer questions differently, and adds to the list and maybe the sources.
    answersChanged();
    loadSources($("source").value);
    if (readState().view === "browse" && !readState().doc) navigate(readState(), { replace: true });
  });
  onNavigate(render);
}

async function main() {
  wire();
  await checkService();
  await loadSources(readState().source);
  await start();
}

main();
