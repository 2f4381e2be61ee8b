// Talking to the service: JSON or form bodies, the API key, and what the service says about itself.
import { $ } from "./dom.js";

const KEY_ITEM = "reportqa-key";

export function savedKey() {
  return sessionStorage.getItem(KEY_ITEM) || "";
}

export function saveKey(key) {
  if (key) sessionStorage.setItem(KEY_ITEM, key);
  else sessionStorage.removeItem(KEY_ITEM);
}

// fetch with the key, a JSON body when `options.body` is a string, and errors thrown in words.
export async function api(path, options = {}) {
  const headers = {};
  if (typeof options.body === "string") headers["Content-Type"] = "application/json";
  const key = savedKey();
  if (key) headers.Authorization = `Bearer ${key}`;
  let response;
  try {
    response = await fetch(path, { ...options, headers });
  } catch {
    throw new Error("The service could not be reached. Check that it is running, then try again.");
  }
  const body = await response.json().catch(() => null);
  if (response.status === 401) openKeyBox();
  if (!response.ok) throw new Error((body && body.detail) || `The service answered with status ${response.status}.`);
  return body;
}

export function openKeyBox() {
  $("key-box").hidden = false;
  $("key-box").open = true;
}

// What the page needs to know first: whether keys are needed, and what the key sent may do. When the
// service cannot say (an older one), the page assumes keys may be needed and offers everything.
export async function serviceInfo() {
  try {
    return await api("/v1/service");
  } catch {
    return { keys_required: true, key_scope: null, unknown: true, upload_types: [], max_body_bytes: 0 };
  }
}
