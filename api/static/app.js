// reportqa's page: ask, read highlighted answers, open and verify citations, browse the reports.
"use strict";

const $ = (id) => document.getElementById(id);
const VIEWS = ["ask-view", "browse-view", "report-view"];
const PAGE_SIZE = 20;
const browse = { offset: 0, query: "", total: 0 };
let returnView = "ask-view";

// The API counts offsets in Unicode code points (Python strings); JavaScript counts UTF-16 units.
function codePoints(text) {
  return Array.from(text);
}

function highlighted(text, start, end, markId) {
  const chars = codePoints(text);
  const mark = document.createElement("mark");
  if (markId) mark.id = markId;
  mark.textContent = chars.slice(start, end).join("");
  const fragment = document.createDocumentFragment();
  fragment.append(chars.slice(0, start).join(""), mark, chars.slice(end).join(""));
  return fragment;
}

async function api(path, options = {}) {
  let response;
  try {
    const headers = { "Content-Type": "application/json" };
    const key = sessionStorage.getItem("reportqa-key");
    if (key) headers.Authorization = `Bearer ${key}`;
    response = await fetch(path, { headers, ...options });
  } catch {
    throw new Error("The service could not be reached. Check that it is running, then try again.");
  }
  const body = await response.json().catch(() => null);
  if (response.status === 401) $("key-box").open = true;
  if (!response.ok) throw new Error((body && body.detail) || `The service answered with status ${response.status}.`);
  return body;
}

function showError(message) {
  $("error").textContent = message;
  $("error").hidden = !message;
}

function show(view) {
  for (const id of VIEWS) $(id).hidden = id !== view;
  $("tab-ask").setAttribute("aria-pressed", String(view === "ask-view"));
  $("tab-browse").setAttribute("aria-pressed", String(view === "browse-view"));
}

function currentView() {
  return VIEWS.find((id) => !$(id).hidden);
}

// --- asking ---------------------------------------------------------------------------------

async function ask(event) {
  event.preventDefault();
  showError("");
  const question = $("question").value.trim();
  if (!question) {
    showError("Type a question first, for example: Who is the Russian defence minister?");
    $("question").focus();
    return;
  }
  const filters = {};
  if ($("date-from").value) filters.date_from = $("date-from").value;
  if ($("date-to").value) filters.date_to = $("date-to").value;
  if ($("source").value) filters.sources = [$("source").value];
  $("answers").replaceChildren();
  $("status").textContent = "Searching the reports…";
  $("ask-button").disabled = true;
  try {
    renderAnswers(await api("/v1/ask", { method: "POST", body: JSON.stringify({ question, filters }) }));
  } catch (error) {
    $("status").textContent = "";
    showError(error.message);
  } finally {
    $("ask-button").disabled = false;
  }
}

function renderAnswers(result) {
  if (result.no_answer) {
    $("status").textContent = "No answer found in the indexed reports. Try other words, or widen the filters.";
    return;
  }
  const count = result.answers.length;
  $("status").textContent = `${count} answer${count === 1 ? "" : "s"}, best first.`;
  for (const answer of result.answers) {
    const cite = answer.citation;
    const item = document.createElement("li");
    item.className = "answer";
    const quote = document.createElement("blockquote");
    quote.className = "context";
    quote.append(highlighted(cite.context, cite.start - cite.context_start, cite.end - cite.context_start));
    const meta = document.createElement("p");
    meta.className = "meta";
    const score = document.createElement("span");
    score.className = "score";
    score.textContent = `Score ${Math.round(answer.score * 100)}% · `;
    const open = document.createElement("button");
    open.type = "button";
    open.className = "link cite";
    const title = cite.title || cite.document_id;
    open.textContent = [title, cite.date, cite.source].filter(Boolean).join(" · ");
    open.setAttribute("aria-label", `Open the report ${title} at the cited passage`);
    open.addEventListener("click", () =>
      openReport(cite.document_id, { start: cite.start, end: cite.end, text: answer.text }),
    );
    meta.append(score, open);
    item.append(quote, meta);
    $("answers").append(item);
  }
}

// --- a report, with its citation highlighted and verified --------------------------------------

async function openReport(documentId, citation) {
  showError("");
  let report;
  try {
    report = await api(`/v1/documents/${encodeURIComponent(documentId)}`);
  } catch (error) {
    showError(error.message);
    return;
  }
  returnView = currentView() === "report-view" ? returnView : currentView();
  show("report-view");
  $("report-title").textContent = report.title || report.id;
  $("report-meta").textContent = [report.date, report.source, `${report.characters} characters`, `id ${report.id}`]
    .filter(Boolean)
    .join(" · ");
  $("verification").textContent = "";
  $("verification").className = "";
  delete $("verification").dataset.verified;
  $("report-view").focus({ preventScroll: true });
  if (!citation) {
    $("report-text").textContent = report.text;
    window.scrollTo(0, 0);
    return;
  }
  $("report-text").replaceChildren(highlighted(report.text, citation.start, citation.end, "cited"));
  $("cited").scrollIntoView({ block: "center" });
  await verify(documentId, citation);
}

async function verify(documentId, citation) {
  const badge = $("verification");
  badge.textContent = "Checking the citation…";
  try {
    const result = await api("/v1/citations/verify", {
      method: "POST",
      body: JSON.stringify({ document_id: documentId, ...citation }),
    });
    badge.textContent = result.verified
      ? `✓ Verified: characters ${citation.start}–${citation.end} hold exactly the answer`
      : `✗ Not verified: ${result.message}`;
    badge.className = result.verified ? "verified" : "unverified";
    badge.dataset.verified = String(result.verified);
  } catch (error) {
    badge.textContent = `The citation could not be checked: ${error.message}`;
    badge.className = "unverified";
  }
}

function closeReport() {
  show(returnView);
  const target = returnView === "browse-view" ? $("browse-query") : $("question");
  target.focus();
}

// --- browsing and searching the reports --------------------------------------------------------

async function loadDocuments() {
  const params = new URLSearchParams({ offset: browse.offset, limit: PAGE_SIZE });
  if (browse.query) params.set("q", browse.query);
  let page;
  try {
    page = await api(`/v1/documents?${params}`);
  } catch (error) {
    showError(error.message);
    return;
  }
  browse.total = page.total;
  const list = $("documents");
  list.replaceChildren();
  for (const info of page.items) {
    const item = document.createElement("li");
    const open = document.createElement("button");
    open.type = "button";
    open.className = "link";
    open.textContent = info.title || info.id;
    open.addEventListener("click", () => openReport(info.id, null));
    const meta = document.createElement("p");
    meta.className = "meta";
    meta.textContent = [info.date || "undated", info.source, `${info.passages} passages`, `id ${info.id}`]
      .filter(Boolean)
      .join(" · ");
    item.append(open, meta);
    list.append(item);
  }
  if (page.total === 0) {
    $("browse-status").textContent = browse.query
      ? `No reports contain “${browse.query}”.`
      : "No reports are indexed yet: run `reportqa ingest PATH`, or POST them to /v1/documents.";
  } else {
    const last = Math.min(page.offset + page.items.length, page.total);
    $("browse-status").textContent = `Reports ${page.offset + 1}–${last} of ${page.total}, newest first.`;
  }
  $("previous-page").disabled = browse.offset === 0;
  $("next-page").disabled = browse.offset + PAGE_SIZE >= page.total;
}

async function loadSources() {
  try {
    for (const { source, documents } of await api("/v1/sources")) {
      const option = new Option(`${source || "(no source)"} (${documents})`, source);
      $("source").append(option);
    }
  } catch (error) {
    showError(`The list of sources could not be loaded: ${error.message}`);
  }
}

// --- wiring -------------------------------------------------------------------------------------

document.addEventListener("DOMContentLoaded", () => {
  $("ask-form").addEventListener("submit", ask);
  $("api-key").value = sessionStorage.getItem("reportqa-key") || "";
  $("api-key").addEventListener("change", () => {
    sessionStorage.setItem("reportqa-key", $("api-key").value.trim());
    loadSources();
  });
  $("close-report").addEventListener("click", closeReport);
  $("tab-ask").addEventListener("click", () => {
    show("ask-view");
    $("question").focus();
  });
  $("tab-browse").addEventListener("click", () => {
    show("browse-view");
    loadDocuments();
  });
  $("browse-form").addEventListener("submit", (event) => {
    event.preventDefault();
    browse.query = $("browse-query").value.trim();
    browse.offset = 0;
    loadDocuments();
  });
  $("previous-page").addEventListener("click", () => {
    browse.offset = Math.max(0, browse.offset - PAGE_SIZE);
    loadDocuments();
  });
  $("next-page").addEventListener("click", () => {
    browse.offset += PAGE_SIZE;
    loadDocuments();
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && currentView() === "report-view") closeReport();
  });
  loadSources();
});
