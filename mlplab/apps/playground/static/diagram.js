// mlplab playground: the network diagram (neurons' maps, wires by weight, the weight card).
// Loaded after i18n.js (t) and before app.js; uses their globals (state, $, paint, rgb, sup, …) when called.
"use strict";

const COL_W = 104, ROW_H = 50, TOP = 58, LEFT = 60;
function neuronPos(l, i) { return [LEFT + l * COL_W, TOP + i * ROW_H]; }
function drawDiagram(f) {
  const sizes = f.neurons.map((layer) => layer.length);
  const key = JSON.stringify([sizes, f.inputs, f.config.activations, f.task.classes]);
  const dia = $("diagram"), svg = $("wires");
  if (key !== state.archKey) {
    state.archKey = key;
    dia.querySelectorAll(".neuron,.layerhead,.inlabel").forEach((e) => e.remove());
    const h = TOP + Math.max(...sizes) * ROW_H, w = LEFT + (sizes.length - 1) * COL_W + 70;
    dia.style.height = h + "px"; dia.style.width = w + "px"; svg.setAttribute("width", w); svg.setAttribute("height", h);
    let wires = "";
    for (let l = 1; l < sizes.length; l++)
      for (let i = 0; i < sizes[l]; i++)
        for (let j = 0; j < sizes[l - 1]; j++) {
          const [x0, y0] = neuronPos(l - 1, j), [x1, y1] = neuronPos(l, i);
          const c = `x1="${x0 + 36}" y1="${y0 + 18}" x2="${x1}" y2="${y1 + 18}"`;
          wires += `<line class="w" id="w-${l}-${i}-${j}" ${c}/><line class="hit" data-l="${l}" data-i="${i}" data-j="${j}" ${c}/>`;
        }
    svg.innerHTML = wires;
    svg.querySelectorAll("line.hit").forEach((ln) => { ln.onmouseenter = showCard; ln.onclick = showCard; });
    sizes.forEach((n, l) => {
      for (let i = 0; i < n; i++) {
        const cv = document.createElement("canvas"); cv.className = "neuron"; cv.width = cv.height = f.small_grid;
        const [x, y] = neuronPos(l, i); cv.style.left = x + "px"; cv.style.top = y + "px"; cv.id = `n-${l}-${i}`;
        cv.title = l === 0 ? t("neuron_input", { name: f.inputs[i] }) : l === sizes.length - 1 ? t("neuron_output") : t("neuron_hidden", { i: i + 1, l });
        dia.appendChild(cv);
        if (l === 0) {
          const lab = document.createElement("div"); lab.className = "inlabel"; lab.textContent = f.inputs[i];
          lab.style.left = (x - 60) + "px"; lab.style.top = (y + 10) + "px"; dia.appendChild(lab);
        }
      }
      const head = document.createElement("div"); head.className = "layerhead";
      head.style.left = (neuronPos(l, 0)[0] - 32) + "px"; head.style.top = "0px";
      if (l === 0) head.textContent = t("head_input");
      else if (l === sizes.length - 1) head.textContent = t("head_output", { a: `a⁽${sup(l)}⁾` });
      else {
        const acts = ["sigmoid", "tanh", "relu", "leaky_relu", "identity"];
        const what = t("activation_of", { l });
        head.innerHTML = `${t("head_hidden", { l, n })} <button data-d="1" title="${t("add_neuron")}">+</button><button data-d="-1" title="${t("remove_neuron")}">−</button><br>` +
          `<select aria-label="${what}" title="${what}">${acts.map((a) => `<option ${a === f.config.activations[l - 1] ? "selected" : ""}>${a}</option>`).join("")}</select>`;
        head.querySelectorAll("button").forEach((b) => b.onclick = () => {
          const hidden = [...state.cfg.hidden]; hidden[l - 1] = Math.min(state.meta.max_neurons, Math.max(1, hidden[l - 1] + Number(b.dataset.d)));
          applyConfig({ hidden });
        });
        head.querySelector("select").onchange = (e) => { const a = [...state.cfg.activations]; a[l - 1] = e.target.value; applyConfig({ activations: a }); };
      }
      dia.appendChild(head);
    });
    fitDiagram();
  }
  f.neurons.forEach((layer, l) => layer.forEach((map, i) => paint($(`n-${l}-${i}`), map, f.small_grid)));
  f.layers.forEach((layer, k) => {
    const l = k + 1, m = Math.max(1e-9, ...layer.W.flat().map(Math.abs));
    layer.W.forEach((row, i) => row.forEach((w, j) => {
      const ln = $(`w-${l}-${i}-${j}`); if (!ln) return;
      ln.setAttribute("stroke", w >= 0 ? rgb(BLUE) : rgb(ORANGE));
      ln.setAttribute("stroke-width", (0.4 + 5 * Math.abs(w) / m).toFixed(2));
      ln.setAttribute("stroke-opacity", "0.75");
    }));
  });
}

function fitDiagram() {
  // a deep network is scaled down to its column, never drawn over the output map
  const dia = $("diagram"), box = $("diagram_box"), w = parseFloat(dia.style.width) || 0;
  const k = w ? Math.min(1, box.clientWidth / w) : 1;
  dia.style.transform = k < 1 ? `scale(${k.toFixed(4)})` : "";
  box.style.height = (parseFloat(dia.style.height) || 0) * k + "px";
}
window.addEventListener("resize", fitDiagram);

function cardTitle(f) {
  // the card's connection, read from the latest frame (so it follows training and edits)
  const { l, i, j } = $("card").dataset, w = f.layers[l - 1]?.W[i]?.[j];
  if (w === undefined) { $("card").hidden = true; return null; }
  $("card_title").textContent = t("card_title", { w: `w⁽${sup(l)}⁾`, from: l == 1 ? f.inputs[j] : t("neuron_n", { n: Number(j) + 1 }),
    to: Number(i) + 1, value: w.toFixed(4) });
  return w;
}
function showCard(ev) {
  const { l, i, j } = ev.target.dataset;
  const card = $("card"), box = $("network").getBoundingClientRect();
  card.dataset.l = l; card.dataset.i = i; card.dataset.j = j;
  const w = cardTitle(state.frame);
  if (document.activeElement !== $("card_value")) $("card_value").value = w.toFixed(4);
  card.style.left = (ev.clientX - box.left + 10) + "px"; card.style.top = (ev.clientY - box.top + 10) + "px";
  card.hidden = false;
}
function setWeightFromCard() {
  const c = $("card").dataset;
  const value = readNumber("card_value", "field_weight");
  if (value !== null) sessionCall("POST", "weight", { layer: Number(c.l), i: Number(c.i), j: Number(c.j), value });
}

