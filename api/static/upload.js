// "Add a report": upload a file, when this caller may change reports.
import { api } from "./api.js";
import { $, counted, el, showError } from "./dom.js";
import { navigate, readState } from "./state.js";

let onAdded = () => {};

// Offer the upload when writing may work: always without keys (the service says if this connection may
// not), and with keys only for a write key.
export function offerUpload(service) {
  const writable = service.unknown || !service.keys_required || service.key_scope === "write";
  $("upload-box").hidden = !writable;
  if (service.upload_types?.length) {
    $("upload-file").accept = service.upload_types.join(",");
    const size = service.max_body_bytes ? `, up to ${megabytes(service.max_body_bytes)}` : "";
    $("upload-types").textContent = `${service.upload_types.join(", ")}${size}`;
  }
}

function megabytes(bytes) {
  return `${Math.floor(bytes / (1024 * 1024))} MB`;
}

export function setUpUpload(afterAdding) {
  onAdded = afterAdding;
  $("upload-form").addEventListener("submit", upload);
}

async function upload(event) {
  event.preventDefault();
  showError("");
  const file = $("upload-file").files[0];
  if (!file) {
    $("upload-status").textContent = "Choose a report file first.";
    $("upload-file").focus();
    return;
  }
  const form = new FormData();
  form.append("file", file);
  for (const name of ["title", "date", "source"]) {
    const value = $(`upload-${name}`).value.trim();
    if (value) form.append(name, value);
  }
  $("upload-status").textContent = `Adding ${file.name}…`;
  $("upload-button").disabled = true;
  try {
    const report = await api("/v1/documents/upload", { method: "POST", body: form });
    $("upload-form").reset();
    added(report);
    onAdded(report);
  } catch (error) {
    $("upload-status").textContent = "";
    showError(`The report was not added: ${error.message}`);
  } finally {
    $("upload-button").disabled = false;
  }
}

function added(report) {
  const title = report.title || report.id;
  const open = el("button", { type: "button", className: "link" }, "open it");
  open.addEventListener("click", () => navigate({ ...readState(), view: "browse", doc: report.id }));
  $("upload-status").replaceChildren(
    `Added “${title}” (${counted(report.passages, "passage")}, id ${report.id}). Ask about it now, or `,
    open,
    ".",
  );
}
