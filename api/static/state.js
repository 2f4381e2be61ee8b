// The view lives in the URL, so Back, reload and shared links all show it again:
//   /?q=…&from=…&to=…&source=…              the answers to a question, with its filters
//   /?view=browse&search=…&offset=…          the list of reports
//   either of them plus &doc=ID[&start=…&end=…&text=…]   a report, at a citation if one is given
// A citation link carries the answer's text, so the page can check it against the report as sent.

const ASK_PARAMS = ["q", "from", "to", "source"];
const BROWSE_PARAMS = ["search", "offset"];
const REPORT_PARAMS = ["doc", "start", "end", "text"];

let render = () => {};
let generation = 0;

export function readState(search = location.search) {
  const params = new URLSearchParams(search);
  const state = { view: params.get("view") === "browse" ? "browse" : "ask" };
  for (const name of [...ASK_PARAMS, ...BROWSE_PARAMS, ...REPORT_PARAMS]) state[name] = params.get(name) || "";
  state.offset = Math.max(0, Number.parseInt(state.offset, 10) || 0);
  return state;
}

export function urlFor(state) {
  const params = new URLSearchParams();
  if (state.view === "browse") {
    params.set("view", "browse");
    if (state.search) params.set("search", state.search);
    if (state.offset) params.set("offset", String(state.offset));
  } else {
    for (const name of ASK_PARAMS) if (state[name]) params.set(name, state[name]);
  }
  if (state.doc) for (const name of REPORT_PARAMS) if (state[name] !== "") params.set(name, String(state[name]));
  const query = params.toString();
  return query ? `/?${query}` : "/";
}

// The state without the open report: the list it was opened from.
export function listOf(state) {
  return { ...state, doc: "", start: "", end: "", text: "" };
}

export function onNavigate(callback) {
  render = callback;
  window.addEventListener("popstate", () => show(readState()));
}

// Go to `state`: a new history entry (so Back returns here), or the same entry when the URL is unchanged
// or `replace` is asked for. `depth` counts the app's own entries, so Back inside the app never leaves it.
export function navigate(state, { replace = false } = {}) {
  const url = urlFor(state);
  const depth = history.state?.depth ?? 0;
  if (replace || url === location.pathname + location.search) history.replaceState({ depth }, "", url);
  else history.pushState({ depth: depth + 1 }, "", url);
  return show(readState());
}

// Back to the list a report was opened from: the browser's Back when the app made the entry before it,
// else (a report opened from a link) a new entry for the list.
export function back() {
  if ((history.state?.depth ?? 0) > 0) history.back();
  else navigate(listOf(readState()));
}

export function start() {
  if (!history.state) history.replaceState({ depth: 0 }, "", location.href);
  return show(readState());
}

function show(state) {
  generation += 1;
  return render(state, generation);
}

// Whether a render started as `mine` is still the latest: an older one must not draw over a newer view.
export function isCurrent(mine) {
  return mine === generation;
}
