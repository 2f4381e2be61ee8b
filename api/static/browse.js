// Browsing and searching the reports, and the list of sources the ask form filters by.
import { api } from "./api.js";
import { $, counted, el, joined, showError } from "./dom.js";
import { isCurrent, navigate } from "./state.js";

export const PAGE_SIZE = 20;

export async function showDocuments(state, generation) {
  const params = new URLSearchParams({ offset: state.offset, limit: PAGE_SIZE });
  if (state.search) params.set("q", state.search);
  let page;
  try {
    page = await api(`/v1/documents?${params}`);
  } catch (error) {
    if (isCurrent(generation)) showError(error.message);
    return;
  }
  if (!isCurrent(generation)) return;
  $("documents").replaceChildren(...page.items.map((info) => documentItem(state, info)));
  $("browse-status").textContent = listStatus(state, page);
  $("previous-page").disabled = state.offset === 0;
  $("next-page").disabled = state.offset + PAGE_SIZE >= page.total;
}

function documentItem(state, info) {
  const open = el("button", { type: "button", className: "link" }, info.title || info.id);
  open.addEventListener("click", () => navigate({ ...state, doc: info.id }));
  const meta = joined(info.date || "undated", info.source, counted(info.passages, "passage"), `id ${info.id}`);
  return el("li", {}, open, el("p", { className: "meta" }, meta));
}

function listStatus(state, page) {
  if (page.total === 0) {
    return state.search
      ? `No reports contain “${state.search}”.`
      : "No reports are indexed yet: add one, run `reportqa ingest PATH`, or POST them to /v1/documents.";
  }
  const last = Math.min(page.offset + page.items.length, page.total);
  return `Reports ${page.offset + 1}–${last} of ${page.total}, newest first.`;
}

// Fill the Source filter; `chosen` stays selected even before (or without) its option arriving.
export async function loadSources(chosen) {
  let sources;
  try {
    sources = await api("/v1/sources");
  } catch (error) {
    showError(`The list of sources could not be loaded: ${error.message}`);
    return;
  }
  const select = $("source");
  select.replaceChildren(new Option("All sources", ""));
  for (const { source, documents } of sources) {
    select.append(new Option(`${source || "(no source)"} (${documents})`, source));
  }
  chooseSource(chosen ?? select.value);
}

export function chooseSource(source) {
  const select = $("source");
  if (source && ![...select.options].some((option) => option.value === source)) {
    select.append(new Option(source, source));
  }
  select.value = source;
}
