// The shopper page: a photo, words, or both, with filters -> POST /v1/search (multipart), results as cards,
// "Load more" follows next_cursor. No framework, no build step.
"use strict";

const $ = (id) => document.getElementById(id);
const FACETS = ["category", "brand", "colour"];
let photo = null;
let cursor = null;
let generation = 0; // a newer search makes the answers of older ones stale

function searchForm(withCursor) {
  const form = new FormData();
  if (photo) form.append("image", photo);
  const q = $("q").value.trim();
  if (q) form.append("q", q);
  for (const name of FACETS) if ($(name).value) form.append(name, $(name).value);
  for (const name of ["price_min", "price_max"]) if ($(name).value) form.append(name, $(name).value);
  if ($("in_stock").checked) form.append("in_stock", "true");
  if ($("one_per_product").checked) form.append("one_per_product", "true");
  if (withCursor && cursor) form.append("cursor", cursor);
  return form;
}

function setStatus(text, isError = false) {
  $("status").textContent = text;
  $("status").classList.toggle("error", isError);
}

function card(hit) {
  const node = $("card").content.firstElementChild.cloneNode(true);
  node.dataset.id = hit.id;
  node.dataset.category = hit.category;
  node.querySelector(".link").href = hit.product_url;
  const img = node.querySelector(".photo");
  img.src = hit.image_url;
  img.alt = hit.title;
  img.addEventListener("error", () => { img.src = `/v1/items/${hit.id}/photo`; }, { once: true });
  node.querySelector(".title").textContent = hit.title;
  node.querySelector(".brand").textContent = hit.brand;
  node.querySelector(".price").textContent = `${hit.price.toFixed(2)} ${hit.currency}`;
  node.querySelector(".score").textContent = hit.image_score === null
    ? `words match #${hit.text_rank}` : `match ${hit.score.toFixed(3)}`;
  return node;
}

async function search(more) {
  if (!photo && !$("q").value.trim()) { setStatus("Choose a photo or type some words.", true); return; }
  const mine = more ? generation : ++generation;
  setStatus(more ? "Loading more…" : "Searching…");
  $("search-button").disabled = true;
  try {
    const response = await fetch("/v1/search", { method: "POST", body: searchForm(more) });
    const body = await response.json();
    if (mine !== generation) return;
    if (!response.ok) { setStatus(body.error ? body.error.message : `Error ${response.status}`, true); return; }
    if (!more) $("results").replaceChildren();
    $("results").append(...body.hits.map(card));
    cursor = body.next_cursor;
    $("more").hidden = !cursor;
    const shown = $("results").children.length;
    setStatus(shown ? `${shown} matching products` : "Nothing matches these filters.");
  } catch (error) {
    setStatus(`The search failed: ${error}`, true);
  } finally {
    $("search-button").disabled = false;
  }
}

async function loadFacets() {
  try {
    const response = await fetch("/v1/facets");
    if (!response.ok) return;
    const { facets } = await response.json();
    for (const name of FACETS) {
      const select = $(name);
      for (const [value, count] of Object.entries(facets[name] || {})) {
        select.append(new Option(`${value} (${count})`, value));
      }
    }
  } catch (error) { /* the filters stay at "any" */ }
}

function choose(file) {
  if (!file) return;
  photo = file;
  cursor = null;
  const preview = $("preview");
  preview.src = URL.createObjectURL(file);
  preview.alt = `Your photo: ${file.name}`;
  preview.hidden = false;
  $("clear-photo").hidden = false;
  search(false);
}

function clearPhoto() {
  photo = null;
  cursor = null;
  $("photo").value = "";
  $("preview").hidden = true;
  $("clear-photo").hidden = true;
  if ($("q").value.trim()) search(false);
}

document.addEventListener("DOMContentLoaded", () => {
  loadFacets();
  $("photo").addEventListener("change", (event) => choose(event.target.files[0]));
  const zone = $("drop-zone");
  zone.addEventListener("dragover", (event) => { event.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("over");
    choose(event.dataTransfer.files[0]);
  });
  $("search-form").addEventListener("submit", (event) => { event.preventDefault(); cursor = null; search(false); });
  for (const name of [...FACETS, "in_stock", "one_per_product"]) {
    $(name).addEventListener("change", () => {
      if (photo || $("q").value.trim()) { cursor = null; search(false); }
    });
  }
  $("clear-photo").addEventListener("click", clearPhoto);
  $("more").addEventListener("click", () => search(true));
});
