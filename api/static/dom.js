// Small helpers for building the page's elements and showing errors.

export const $ = (id) => document.getElementById(id);

// Make an element: `el("p", { className: "meta" }, "text", child)`. Properties are set, not attributes,
// so nothing is parsed as HTML.
export function el(tag, props = {}, ...children) {
  const element = Object.assign(document.createElement(tag), props);
  element.append(...children.filter((child) => child !== null && child !== undefined));
  return element;
}

// The API counts offsets in Unicode code points (Python strings); JavaScript counts UTF-16 units.
function codePoints(text) {
  return Array.from(text);
}

// `text` with the code points start..end in a <mark>.
export function highlighted(text, start, end, markId) {
  const chars = codePoints(text);
  const mark = el("mark", markId ? { id: markId } : {}, chars.slice(start, end).join(""));
  const fragment = document.createDocumentFragment();
  fragment.append(chars.slice(0, start).join(""), mark, chars.slice(end).join(""));
  return fragment;
}

export function showError(message) {
  $("error").textContent = message;
  $("error").hidden = !message;
}

// "2017-04-25 · Sputnik": the parts that are there.
export function joined(...parts) {
  return parts.filter(Boolean).join(" · ");
}

// "1 passage", "3 passages".
export function counted(count, noun) {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}
