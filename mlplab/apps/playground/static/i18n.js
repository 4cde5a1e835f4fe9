// mlplab playground: the page's words in English and Chinese. The strings are one table,
// static/i18n.json ({"en": {...}, "zh": {...}}, the same keys in both); this file picks the
// language (?lang=en|zh in the URL, else the browser's: Chinese when navigator.language starts
// with "zh"), fills the page's data-i18n* elements, and gives app.js t(key, {params}).
// Texts the server writes (its error messages, the trace's formulas) stay as it sends them.
"use strict";

const LANGUAGES = ["en", "zh"];
const I18N = { lang: "en", strings: { en: {}, zh: {} }, onChange: null };

function pickLanguage() {
  const asked = new URLSearchParams(location.search).get("lang");
  if (LANGUAGES.includes(asked)) return asked;
  return (navigator.language || "").toLowerCase().startsWith("zh") ? "zh" : "en";
}

// the string of `key` in the page's language, its {placeholders} filled from `params`
function t(key, params) {
  const table = I18N.strings[I18N.lang] || {};
  const text = key in table ? table[key] : (I18N.strings.en[key] ?? key);
  return params ? text.replace(/\{(\w+)\}/g, (m, k) => (k in params ? String(params[k]) : m)) : text;
}
// a name from a family of keys (a data set, a source): the id itself when the table has none
function tName(prefix, id) { return (prefix + id) in (I18N.strings[I18N.lang] || {}) ? t(prefix + id) : id; }

function applyStrings() {
  document.documentElement.lang = I18N.lang === "zh" ? "zh-CN" : "en";
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll("[data-i18n-html]")) el.innerHTML = t(el.dataset.i18nHtml);  // our own markup
  for (const el of document.querySelectorAll("[data-i18n-title]")) el.title = t(el.dataset.i18nTitle);
  for (const el of document.querySelectorAll("[data-i18n-aria-label]")) el.setAttribute("aria-label", t(el.dataset.i18nAriaLabel));
  const box = document.getElementById("lang_switch");
  box.innerHTML = LANGUAGES.map((l) => `<button type="button" data-lang="${l}" lang="${l === "zh" ? "zh-CN" : "en"}" ` +
    `aria-pressed="${l === I18N.lang}">${I18N.strings[l].lang_name || l}</button>`).join("");
  box.querySelectorAll("button").forEach((b) => { b.onclick = () => setLanguage(b.dataset.lang); });
}

// the switch on the page: the same session and network, redrawn in the other language
async function setLanguage(lang) {
  if (!LANGUAGES.includes(lang) || lang === I18N.lang) return;
  await cjkFont();  // loaded at the page's start: at once, unless it is still on its way
  I18N.lang = lang;
  history.replaceState(null, "", withLanguage(location.hash));
  applyStrings();
  if (I18N.onChange) I18N.onChange();
}
// this page's path with ?lang= (other query parameters kept) and the given #fragment
function withLanguage(hash) {
  const query = new URLSearchParams(location.search);
  query.set("lang", I18N.lang);
  return `${location.pathname}?${query}${hash}`;
}

// style.css's "mlplab CJK" (the server's subset of Noto Sans CJK SC), loaded before the page's
// words go in: chromium leaves text it laid out while the font loaded as boxes; 2 s at most
function cjkFont() {
  if (!document.fonts) return Promise.resolve();  // a browser without the CSS Font Loading API
  const loaded = document.fonts.load('13px "mlplab CJK"', "\u4e2d\u6587").catch(() => null);
  return Promise.race([loaded, new Promise((resolve) => setTimeout(resolve, 2000))]);
}

async function loadStrings() {
  I18N.lang = pickLanguage();
  try {
    const r = await fetch("/static/i18n.json");
    if (!r.ok) throw new Error(`the page's strings (/static/i18n.json): ${r.status} ${r.statusText}`);
    I18N.strings = await r.json();
  } finally {
    await cjkFont();
    applyStrings();
    document.documentElement.classList.add("i18n-ready");  // shown once its words are in
  }
}

// the server's status line in the page's language, from the frame's status_key and
// status_params (session.py's STATUS_TEXT words the same keys in English); an unknown key
// shows the server's English status as it sent it
const STATUS = {
  ready: "status_ready", ready_note: "status_ready_note", training: "status_training",
  paused: "status_paused", stopped: "status_stopped", diverged: "status_diverged",
};
function statusText(f) {
  const key = Object.hasOwn(STATUS, f.status_key) ? STATUS[f.status_key] : null;
  return key ? t(key, f.status_params || {}) : f.status;
}
