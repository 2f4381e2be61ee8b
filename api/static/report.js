// A report, with its citation highlighted and verified against the report's text.
import { api } from "./api.js";
import { $, highlighted, joined, showError } from "./dom.js";
import { isCurrent } from "./state.js";

let shown = null; // the URL whose report is on screen, so a re-render of the same view keeps its scroll

export async function showReport(state, generation) {
  const url = location.search;
  if (url === shown) return;
  shown = null;
  $("close-report").textContent = state.view === "browse" ? "← Back to the reports" : "← Back to the answers";
  resetBadge();
  $("report-title").textContent = "Opening the report…";
  $("report-meta").textContent = "";
  $("report-text").replaceChildren();
  $("report-view").focus({ preventScroll: true });
  let report;
  try {
    report = await api(`/v1/documents/${encodeURIComponent(state.doc)}`);
  } catch (error) {
    if (!isCurrent(generation)) return;
    $("report-title").textContent = "This report could not be opened";
    showError(error.message);
    return;
  }
  if (!isCurrent(generation)) return;
  shown = url;
  $("report-title").textContent = report.title || report.id;
  $("report-meta").textContent = joined(
    report.date,
    report.source,
    `${report.characters} characters`,
    `id ${report.id}`,
  );
  const citation = citationOf(state);
  if (!citation) {
    $("report-text").textContent = report.text;
    window.scrollTo(0, 0);
    return;
  }
  $("report-text").replaceChildren(highlighted(report.text, citation.start, citation.end, "cited"));
  $("cited").scrollIntoView({ block: "center" });
  await verify(state.doc, citation);
}

// Leaving the report view: the next visit renders it afresh.
export function leaveReport() {
  shown = null;
}

function citationOf(state) {
  const start = Number.parseInt(state.start, 10);
  const end = Number.parseInt(state.end, 10);
  if (!Number.isInteger(start) || !Number.isInteger(end)) return null;
  return { start, end, text: state.text };
}

function resetBadge() {
  const badge = $("verification");
  badge.textContent = "";
  badge.className = "";
  delete badge.dataset.verified;
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
