// Tiny DOM helpers: build elements from plain data, never from HTML strings.

const SVG_NS = "http://www.w3.org/2000/svg";

function assign(node, attrs) {
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.setAttribute("class", value);
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  return node;
}

/** An HTML element: h("div", {class: "tile", "data-kpi": name}, child, "text", ...). */
export function h(tag, attrs, ...children) {
  const node = assign(document.createElement(tag), attrs);
  node.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

/** An SVG element, same shape as h(). */
export function s(tag, attrs, ...children) {
  const node = assign(document.createElementNS(SVG_NS, tag), attrs);
  node.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

/** Set text only when it changed, so a screen of a thousand cells repaints little. */
export function setText(node, text) {
  if (node && node.textContent !== text) node.textContent = text;
}

export function $(selector, root = document) {
  return root.querySelector(selector);
}

export function $$(selector, root = document) {
  return [...root.querySelectorAll(selector)];
}

/** The root font size in pixels: the wall scales everything from it. */
export function remPx() {
  return parseFloat(getComputedStyle(document.documentElement).fontSize) || 16;
}
