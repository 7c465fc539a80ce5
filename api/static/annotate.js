// The annotation page: loads the mined clusters, shows one at a time as a photo grid, posts the decision.
"use strict";

const state = { key: "", proposals: [], index: 0 };
const $ = (id) => document.getElementById(id);

function say(text) { $("status").textContent = text; }

async function call(path, options = {}) {
  const headers = { "X-API-Key": state.key, ...(options.body ? { "Content-Type": "application/json" } : {}) };
  const response = await fetch(path, { ...options, headers });
  const body = response.status === 204 ? null : await response.json();
  if (!response.ok) throw new Error(body && body.error ? body.error.message : `HTTP ${response.status}`);
  return body;
}

function photoItem(itemId) {
  const li = document.createElement("li");
  li.className = "result";
  const label = document.createElement("label");
  const box = document.createElement("input");
  box.type = "checkbox";
  box.checked = true;
  box.value = itemId;
  box.setAttribute("aria-label", `keep photo ${itemId.slice(0, 8)}`);
  const img = document.createElement("img");
  img.src = `/v1/items/${itemId}/photo`;
  img.alt = `photo ${itemId.slice(0, 8)}`;
  img.loading = "lazy";
  label.append(box, img);
  li.append(label);
  return li;
}

function show() {
  const proposal = state.proposals[state.index];
  if (!proposal) { $("cluster").hidden = true; say("No more clusters."); return; }
  $("cluster").hidden = false;
  $("cluster-title").textContent = `Cluster ${proposal.cluster} (${proposal.kind.replace("_", " ")})`;
  $("cluster-facts").textContent = `${proposal.size} photos; majority ${proposal.majority_category} ` +
    `(${Math.round(proposal.purity * 100)} %); nearest known category ${proposal.nearest_category}`;
  $("category-name").value = proposal.kind === "new_category" ? "" : proposal.majority_category;
  $("photos").replaceChildren(...proposal.item_ids.map(photoItem));
}

async function load(event) {
  event.preventDefault();
  state.key = $("key").value;
  try {
    const report = await call("/v1/annotate/proposals");
    state.proposals = report.proposals;
    state.index = 0;
    $("known-categories").replaceChildren(...report.known_categories.map((name) => new Option(name)));
    say(`${report.proposals.length} clusters of ${report.items} items.`);
    show();
  } catch (error) { say(`Could not load the clusters: ${error.message}`); }
}

async function decide(action) {
  const proposal = state.proposals[state.index];
  const kept = [...$("photos").querySelectorAll("input:checked")].map((box) => box.value);
  const body = action === "accept" ? { action, category: $("category-name").value, item_ids: kept } : { action };
  try {
    const result = await call(`/v1/annotate/clusters/${proposal.cluster}`, { method: "POST", body: JSON.stringify(body) });
    say(action === "accept"
      ? `Accepted: ${result.published} photos re-published as "${body.category}".`
      : `Skipped cluster ${proposal.cluster}.`);
    state.index += 1;
    show();
  } catch (error) { say(`Not saved: ${error.message}`); }
}

$("key-form").addEventListener("submit", load);
$("decision-form").addEventListener("submit", (event) => { event.preventDefault(); decide("accept"); });
$("skip").addEventListener("click", () => decide("skip"));
$("next").addEventListener("click", () => { state.index += 1; show(); });
