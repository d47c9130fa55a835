// The live page of `landscape explore`: one front end for the local server, the offline export
// and the notebook widget. It draws what Python computed (landscape.explore.api): the runs are
// exactly `landscape trace --out x.json`'s JSON; the state is a query with trace's option names.
(function () {
  "use strict";
  const KEYS = ["surface", "o", "lr", "param", "start", "steps", "noise", "seed", "domain", "dtype"];
  const REPEATED = new Set(["o", "lr", "param", "start"]);
  const W = 560, H = 460, M = { left: 48, right: 12, top: 12, bottom: 36 };
  const LR_RANGE = [-5, 1]; // log10 of the lr slider's ends

  // ---- Numbers as Python's format(v, ".Ng") writes them (trace's table uses .4g and .3g):
  // rounded from the double's exact decimal digits, ties to even, as Python rounds.
  function fmtG(v, p) {
    if (v === null || v === undefined || Number.isNaN(v)) return "nan";
    if (!Number.isFinite(v)) return v > 0 ? "inf" : "-inf";
    const sign = v < 0 || Object.is(v, -0) ? "-" : "";
    if (v === 0) return sign + "0";
    // toPrecision(100) is exact: a double's digits past the 100th cannot make a tie.
    const [mantissa, power] = Math.abs(v).toPrecision(100).split("e");
    const point = mantissa.includes(".") ? mantissa.indexOf(".") : mantissa.length;
    let digits = mantissa.replace(".", "");
    const lead = digits.search(/[1-9]/); // fixed notation: "0.00123..." has leading zeros
    let exp = (power === undefined ? 0 : Number(power)) + point - 1 - lead;
    digits = digits.slice(lead);
    const kept = digits.slice(0, p).split("").map(Number);
    const next = Number(digits[p] || 0), rest = digits.slice(p + 1).replace(/0+$/, "");
    const up = next > 5 || (next === 5 && (rest.length > 0 || kept[p - 1] % 2 === 1));
    if (up) {
      let k = p - 1;
      while (k >= 0 && kept[k] === 9) kept[k--] = 0;
      if (k < 0) { kept.unshift(1); kept.pop(); exp += 1; } else kept[k] += 1;
    }
    const text = kept.join("");
    if (exp < -4 || exp >= p) {
      const m = (text[0] + "." + text.slice(1)).replace(/0+$/, "").replace(/\.$/, "");
      return `${sign}${m}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
    }
    const whole = exp + 1; // digits before the decimal point
    let out = whole <= 0 ? "0." + "0".repeat(-whole) + text
                         : text.length > whole ? text.slice(0, whole) + "." + text.slice(whole)
                                               : text + "0".repeat(whole - text.length);
    if (out.includes(".")) out = out.replace(/0+$/, "").replace(/\.$/, "");
    return sign + out;
  }

  // landscape.optimizers.describe: "Adam (lr=0.05, betas=(0.9, 0.999))".
  function short(v) {
    if (Array.isArray(v)) return "(" + v.map(short).join(", ") + ")";
    // JSON keeps no int/float difference: whole numbers below 10^6 read the same either way.
    if (typeof v === "number") return Number.isInteger(v) && Math.abs(v) < 1e6 ? String(v) : fmtG(v, 6);
    if (typeof v === "boolean") return v ? "True" : "False";
    if (v === null) return "None";
    return String(v);
  }
  function describe(label, settings) {
    const values = Object.values(settings || {});
    if (values.length && values.every((v) => v && typeof v === "object" && !Array.isArray(v))) {
      const stages = Object.keys(settings).map((k) => k.replace(/@\d+$/, "").replace(/ \(Keras rule\)$/, ""));
      return `${label}: ` + stages.map((s, i) => describe(s, values[i])).join(", ");
    }
    const shown = Object.entries(settings || {}).map(([k, v]) => `${k}=${short(v)}`).join(", ");
    return shown ? `${label} (${shown})` : label;
  }

  // ---- The state: trace's options, as in the URL.
  function parseQuery(search) {
    const p = new URLSearchParams(search || "");
    const st = {};
    for (const k of KEYS) st[k] = REPEATED.has(k) ? p.getAll(k) : p.get(k);
    if (!st.surface) st.surface = "rosenbrock";
    return st;
  }
  function toQuery(st) {
    const p = new URLSearchParams();
    for (const k of KEYS) {
      const v = st[k];
      if (REPEATED.has(k)) for (const x of v) p.append(k, x);
      else if (v !== null && v !== undefined && v !== "") p.append(k, v);
    }
    return p.toString();
  }
  // Replace the entries "NAME<sep>..." of a repeated option (lr "adam=", param "adam.betas=").
  function setEntry(list, prefix, value) {
    const rest = list.filter((x) => !x.toLowerCase().startsWith(prefix));
    return value === null ? rest : [...rest, prefix + value];
  }
  function shellWord(w) {
    return /^[A-Za-z0-9_.,=:@%+\/-]+$/.test(w) ? w : "'" + w.replace(/'/g, "'\\''") + "'";
  }
  function command(verb, st) {
    const words = ["landscape", verb, st.surface];
    const flags = { o: "-o", lr: "--lr", param: "--param", start: "--start", steps: "--steps",
                    noise: "--noise", seed: "--seed", domain: "--domain", dtype: "--dtype" };
    for (const [k, flag] of Object.entries(flags)) {
      const v = st[k];
      for (const x of REPEATED.has(k) ? v : v ? [v] : []) words.push(flag, x);
    }
    return words.map(shellWord).join(" ");
  }

  // ---- What a run shows.
  function finals(record, steps) {
    // landscape.trajectory.Trajectory.last / final_xy / final_loss
    const n = record.xy[0].length, out = [];
    for (let s = 0; s < n; s++) {
      const d = record.diverged_at[s];
      const last = Math.max(0, d >= 0 ? d - 1 : steps);
      out.push({ xy: record.xy[last][s], loss: record.loss[last][s] });
    }
    return out;
  }
  function height(view, loss) {
    // landscape.plot.surface.surface_height
    if (loss === null) return null;
    if (!view.log_scale) return loss;
    const floor = view.surface.f_min === null ? 0 : view.surface.f_min;
    return Math.log10(1 + Math.max(loss - floor, 0));
  }

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "on") for (const [ev, f] of Object.entries(v)) e.addEventListener(ev, f);
      else if (v !== null && v !== undefined) e.setAttribute(k, v);
    }
    for (const c of children) e.append(c);
    return e;
  }

  // ---- The page.
  function mount(root, backend, search) {
    const st = parseQuery(search);
    const ui = { step: null, playing: false, view: null, runs: null, rows: null, pending: false,
                 surfaceStale: true, surfaceReady: null, panelKey: null, plot: null, plotKey: null,
                 show3d: false };
    // Where a benchmark or test set window.exploreInputs and window.exploreTimings (arrays)
    // before the page loaded, the time of every change (performance.now's clock, ms) and of
    // each redraw's stages: input, sent, answered (headers in), wait and compute (the server's
    // Server-Timing), parsed, drawn (DOM updated) and painted. Otherwise nothing is kept: a
    // lecture's hour of dragging would keep megabytes.
    const inputs = Array.isArray(window.exploreInputs) ? window.exploreInputs : null;
    const timings = Array.isArray(window.exploreTimings) ? window.exploreTimings : null;
    let changes = 0; // changes so far: the page's first load is change 0

    // Lay out the page.
    root.classList.add("lx");
    const error = el("div", { id: "error", class: "lx-error" });
    const title = el("h2", { class: "lx-title" });
    const note = el("div", { class: "lx-note" }, backend.note || "");
    const surfaceInput = el("input", { id: "surface", list: "lx-surfaces", value: st.surface, size: 22 });
    const surfaceList = el("datalist", { id: "lx-surfaces" });
    const stepsInput = el("input", { id: "steps", type: "number", min: 1, placeholder: "default", value: st.steps || "" });
    const noiseInput = el("input", { id: "noise", type: "number", min: 0, step: 0.1, placeholder: "0", value: st.noise || "" });
    const seedInput = el("input", { id: "seed", type: "number", min: 0, placeholder: "0", value: st.seed || "" });
    const play = el("button", { id: "play", type: "button" }, "▶ play");
    const scrub = el("input", { id: "scrub", type: "range", min: 0, max: 1, value: 1 });
    const stepLabel = el("span", { id: "step" });
    const svgNS = "http://www.w3.org/2000/svg";
    const mapBox = el("div", { class: "lx-map" });
    const lossBox = el("div", { id: "loss", class: "lx-loss" });
    const panel = el("div", { id: "optimizers", class: "lx-optimizers" });
    const addSelect = el("select", { id: "add-optimizer" });
    const addButton = el("button", { id: "add", type: "button" }, "add");
    const runs = el("table", { id: "runs" });
    const commandLine = el("code", { id: "command" });
    const box3d = el("div", { id: "surface3d", class: "lx-3d", style: "display:none" });
    const disabled = backend.live ? null : "disabled";
    for (const input of [stepsInput, noiseInput, seedInput, surfaceInput]) if (disabled) input.setAttribute("disabled", "");

    root.append(
      title, note, error,
      el("div", { class: "lx-controls" },
        el("label", {}, "surface ", surfaceInput), surfaceList,
        el("label", {}, "steps ", stepsInput), el("label", {}, "noise σ ", noiseInput),
        el("label", {}, "seed ", seedInput), play, scrub, stepLabel),
      el("div", { class: "lx-main" }, mapBox,
        el("div", { class: "lx-side" }, lossBox, panel,
          el("div", { class: "lx-add" }, addSelect, addButton))),
      el("div", { class: "lx-buttons" },
        el("button", { id: "copy-render", type: "button", on: { click: () => copy("render") } }, "copy render command"),
        el("button", { id: "copy-plot", type: "button", on: { click: () => copy("plot") } }, "copy plot command"),
        el("button", { id: "png", type: "button", on: { click: () => download("png") } }, "PNG"),
        el("button", { id: "svg", type: "button", on: { click: () => download("svg") } }, "SVG"),
        el("button", { id: "toggle3d", type: "button", on: { click: toggle3d } }, "3-D view")),
      commandLine, box3d, runs);

    // The map: contours (drawn once per surface), then runs and starts (each redraw).
    const svg = d3.select(mapBox).append("svg").attr("id", "map").attr("xmlns", svgNS)
      .attr("width", W).attr("height", H).attr("viewBox", `0 0 ${W} ${H}`);
    const gContours = svg.append("g"), gAxes = svg.append("g"), gMinima = svg.append("g");
    // Runs that leave the domain stop at its edge, not at the axes or beyond.
    svg.append("clipPath").attr("id", "lx-plot").append("rect").attr("x", M.left).attr("y", M.top)
      .attr("width", W - M.left - M.right).attr("height", H - M.top - M.bottom);
    const gRuns = svg.append("g").attr("clip-path", "url(#lx-plot)"), gStarts = svg.append("g");
    const gLegend = svg.append("g").attr("font-size", 12).attr("font-family", "sans-serif");
    let sx = null, sy = null;

    function drawSurface(view) {
      const [[x0, x1], [y0, y1]] = view.surface.domain;
      sx = d3.scaleLinear([x0, x1], [M.left, W - M.right]);
      sy = d3.scaleLinear([y0, y1], [H - M.bottom, M.top]);
      const nx = view.x.length, ny = view.y.length;
      const values = view.z.flat().map((v) => (v === null ? NaN : v));
      const finite = values.filter(Number.isFinite);
      const lo = d3.min(finite), hi = d3.max(finite);
      const thresholds = view.log_scale ? d3.range(25).map((i) => lo + ((hi - lo) * i) / 24)
                                        : d3.ticks(lo, hi, 24);
      const color = d3.scaleSequential(d3.interpolateRgbBasis(view.colormap)).domain([lo, hi]);
      const dx = (x1 - x0) / (nx - 1), dy = (y1 - y0) / (ny - 1);
      const path = d3.geoPath(d3.geoTransform({
        point(x, y) { this.stream.point(sx(x0 + (x - 0.5) * dx), sy(y0 + (y - 0.5) * dy)); },
      }));
      const bands = d3.contours().size([nx, ny]).thresholds(thresholds)(values);
      gContours.selectAll("*").remove();
      // Where the surface is undefined (NaN), hatching: no colour of the loss scale.
      const hatch = gContours.append("pattern").attr("id", "lx-undefined").attr("width", 8)
        .attr("height", 8).attr("patternUnits", "userSpaceOnUse").attr("patternTransform", "rotate(45)");
      hatch.append("rect").attr("width", 8).attr("height", 8).attr("fill", "#ffffff");
      hatch.append("line").attr("y2", 8).attr("stroke", "#c8c8c8").attr("stroke-width", 2);
      gContours.append("rect").attr("x", M.left).attr("y", M.top).attr("width", W - M.left - M.right)
        .attr("height", H - M.top - M.bottom).attr("fill", "url(#lx-undefined)");
      gContours.selectAll("path").data(bands).join("path").attr("d", path)
        .attr("fill", (d) => color(d.value)).attr("stroke", "#ffffff").attr("stroke-opacity", 0.25)
        .attr("stroke-width", 0.5);
      gAxes.selectAll("*").remove();
      gAxes.append("g").attr("transform", `translate(0,${H - M.bottom})`).call(d3.axisBottom(sx).ticks(6));
      gAxes.append("g").attr("transform", `translate(${M.left},0)`).call(d3.axisLeft(sy).ticks(6));
      gAxes.attr("font-size", 11);
      gMinima.selectAll("*").remove();
      gMinima.selectAll("path").data(view.surface.minima || []).join("path")
        .attr("d", d3.symbol(d3.symbolStar, 90)).attr("fill", "#ffd400").attr("stroke", "#333")
        .attr("transform", (m) => `translate(${sx(m[0])},${sy(m[1])})`);
      title.textContent = `${view.surface.title}` + (view.log_scale ? "  (colour: log10(loss − f* + 0.001))" : "");
      surfaceList.replaceChildren(...view.surfaces.map((n) => el("option", { value: n })));
      addSelect.replaceChildren(...view.presets.map((n) => el("option", { value: n }, n)));
      ui.plotKey = null;
    }

    // The i-th optimizer's colour (landscape.style.styles_for, by the name as written).
    function colorOf(i) {
      return ui.view.colors[(st.o[i] || "").trim().toLowerCase()] || d3.schemeTableau10[i % 10];
    }

    function rowsOf(resp) {
      // One row per (configuration, start): what the map, the chart and #runs show.
      const out = [];
      resp.trajectories.forEach((t, i) => {
        const record = resp.records[i];
        const ends = record.final || finals(record, resp.records[i].xy.length - 1);
        for (let s = 0; s < record.xy[0].length; s++) {
          out.push({ t, i, s, record, final: ends[s], start: resp.starts[s],
                     color: colorOf(i) });
        }
      });
      return out;
    }

    function drawRuns() {
      const resp = ui.runs;
      if (!resp || !sx) return;
      const rows = ui.rows;
      const last = resp.records[0].xy.length - 1;
      const step = ui.step === null ? last : Math.min(ui.step, last);
      scrub.max = last; scrub.value = step;
      stepLabel.textContent = `step ${resp.frames ? resp.frames[step] : step} / ${resp.steps}`;
      const line = (row) => {
        let d = "";
        for (let k = 0; k <= step; k++) {
          const p = row.record.xy[k][row.s];
          if (p === null || p[0] === null) break;
          d += (k ? "L" : "M") + sx(p[0]).toFixed(1) + "," + sy(p[1]).toFixed(1);
        }
        return d;
      };
      gRuns.selectAll("path.run").data(rows).join("path").attr("class", "run").attr("d", line)
        .attr("fill", "none").attr("stroke", (r) => r.color).attr("stroke-width", 2)
        .attr("stroke-linejoin", "round");
      const here = (r) => {
        for (let k = step; k >= 0; k--) { const p = r.record.xy[k][r.s]; if (p && p[0] !== null) return p; }
        return r.start;
      };
      gRuns.selectAll("circle.now").data(rows).join("circle").attr("class", "now").attr("r", 5)
        .attr("cx", (r) => sx(here(r)[0])).attr("cy", (r) => sy(here(r)[1]))
        .attr("fill", (r) => r.color).attr("stroke", "#fff").attr("stroke-width", 1.5);
      gStarts.selectAll("circle").data(resp.starts).join("circle").attr("r", 7)
        .attr("cx", (p) => sx(p[0])).attr("cy", (p) => sy(p[1]))
        .attr("fill", "none").attr("stroke", "#fff").attr("stroke-width", 2.5).attr("class", "start");
      if (ui.chart) ui.chart.setCursor({ left: ui.chart.valToPos(resp.frames ? resp.frames[step] : step, "x"), top: 10 });
    }

    // Which colour is which optimizer: part of the figure, so a download carries it.
    function drawLegend() {
      const entries = ui.runs.trajectories.map((t, i) => ({ label: t.label,
        color: colorOf(i) }));
      const width = 14 + 7 * d3.max(entries, (e) => e.label.length) + 30, line = 17;
      gLegend.selectAll("*").remove();
      gLegend.attr("transform", `translate(${W - M.right - width - 6},${M.top + 6})`);
      gLegend.append("rect").attr("width", width).attr("height", entries.length * line + 8)
        .attr("rx", 4).attr("fill", "#ffffff").attr("fill-opacity", 0.85);
      const rows = gLegend.selectAll("g").data(entries).join("g")
        .attr("transform", (_, k) => `translate(8,${12 + k * line})`);
      rows.append("line").attr("x2", 22).attr("stroke", (e) => e.color).attr("stroke-width", 3);
      rows.append("text").attr("x", 28).attr("dy", "0.35em").attr("fill", "#1a1a1a").text((e) => e.label);
    }

    function drawChart() {
      const resp = ui.runs, view = ui.view;
      const n = resp.records[0].xy.length;
      const xs = resp.frames || d3.range(n);
      const floor = view.surface.f_min === null ? 0 : view.surface.f_min;
      const series = ui.rows.map((r) => {
        const ys = new Array(n);
        for (let k = 0; k < n; k++) {
          const v = r.record.loss[k][r.s];
          ys[k] = v === null ? null : view.log_scale ? Math.max(v - floor, 1e-12) : v;
        }
        return ys;
      });
      const key = ui.rows.map((r) => `${r.i}.${r.s}.${r.color}`).join("|") + view.log_scale;
      if (!ui.chart || ui.chartKey !== key) {
        if (ui.chart) ui.chart.destroy();
        lossBox.replaceChildren();
        ui.chart = new uPlot({
          width: 420, height: 220, legend: { show: false },
          scales: { x: { time: false }, y: view.log_scale ? { distr: 3 } : {} },
          axes: [{ label: "step" }, { label: view.log_scale ? "loss − f*" : "loss", size: 60 }],
          series: [{}, ...ui.rows.map((r) => ({ stroke: r.color, width: 2, spanGaps: false }))],
        }, [xs, ...series], lossBox);
        ui.chartKey = key;
      } else {
        ui.chart.setData([xs, ...series]);
      }
    }

    function drawTable() {
      const head = ["optimizer", "start", "final (x, y)", "final loss", "to minimum", "reached at"];
      const body = ui.rows.map((r) => {
        const rec = r.record, s = r.s, t = r.t;
        let reached = rec.reached_at[s] >= 0 ? `step ${rec.reached_at[s]}` : "-";
        if (rec.diverged_at[s] >= 0) reached = `diverged at ${rec.diverged_at[s]}`;
        let fin = [`(${fmtG(r.final.xy[0], 4)}, ${fmtG(r.final.xy[1], 4)})`, fmtG(r.final.loss, 4)];
        if (rec.diverged_at[s] === 0) { fin = ["-", "-"]; reached = "not finite at the start"; }
        const dist = rec.distance[s] === null ? "-" : fmtG(rec.distance[s], 3);
        return [describe(t.label, t.settings), `(${fmtG(r.start[0], 3)}, ${fmtG(r.start[1], 3)})`, ...fin, dist, reached];
      });
      runs.replaceChildren(
        el("thead", {}, el("tr", {}, ...head.map((h) => el("th", {}, h)))),
        el("tbody", {}, ...body.map((cells, k) => el("tr", { style: `color:${ui.rows[k].color}` },
          ...cells.map((c) => el("td", {}, c))))));
    }

    // Per optimizer: lr (log scale) and its momentum or β's, from the run's own hyper-parameters.
    function drawPanel() {
      const resp = ui.runs;
      const key = resp.trajectories.map((t) => t.optimizer).join("|");
      if (ui.panelKey !== key) {
        panel.replaceChildren();
        resp.trajectories.forEach((t, i) => {
          const name = st.o[i] || t.optimizer;
          const row = el("div", { class: "lx-opt", "data-optimizer": name });
          const swatch = el("span", { class: "lx-swatch", style: `background:${colorOf(i)}` });
          const remove = el("button", { type: "button", class: "remove", title: `remove ${name}`,
            on: { click: () => removeOptimizer(i) } }, "×");
          row.append(el("div", { class: "lx-opt-head" }, swatch, el("b", {}, t.label), remove));
          const hyper = t.hyper || {};
          if ("lr" in hyper && typeof hyper.lr === "number") row.append(slider(name, "lr", hyper.lr, true));
          if (typeof hyper.momentum === "number") row.append(slider(name, "momentum", hyper.momentum));
          if (Array.isArray(hyper.betas)) {
            row.append(slider(name, "β1", hyper.betas[0]), slider(name, "β2", hyper.betas[1]));
          }
          if (typeof hyper.alpha === "number" && t.optimizer.includes("rmsprop")) row.append(slider(name, "alpha", hyper.alpha));
          panel.append(row);
        });
        ui.panelKey = key;
      }
      // Values follow the runs (a link or the backend may have moved them).
      resp.trajectories.forEach((t, i) => {
        const row = panel.children[i];
        if (!row) return;
        for (const input of row.querySelectorAll("input[type=range]")) {
          if (input === document.activeElement) continue;
          const what = input.dataset.param, hyper = t.hyper || {};
          const v = what === "lr" ? hyper.lr : what === "β1" ? hyper.betas[0] : what === "β2" ? hyper.betas[1] : hyper[what];
          if (typeof v === "number") setSlider(input, v);
        }
      });
    }

    function slider(name, what, value, log) {
      const range = what === "lr" ? LR_RANGE : what === "β2" ? [0.9, 0.9999] : [0, 0.999];
      const input = el("input", { type: "range", class: "slider", "data-param": what, "data-log": log ? "1" : "",
        min: range[0], max: range[1], step: log ? 0.02 : what === "β2" ? 0.0001 : 0.001,
        "aria-label": `${name} ${what}`, disabled: what === "lr" ? null : disabled });
      const shown = el("span", { class: "lx-value" });
      input.addEventListener("input", () => {
        const v = log ? Number(Math.pow(10, Number(input.value)).toPrecision(3)) : Number(input.value);
        shown.textContent = fmtG(v, 4);
        const lower = name.toLowerCase();
        if (what === "lr") st.lr = setEntry(st.lr, `${lower}=`, String(v));
        else if (what === "β1" || what === "β2") {
          const row = input.closest(".lx-opt");
          const b = [...row.querySelectorAll("input[data-param^=β]")].map((x) => Number(x.value));
          st.param = setEntry(st.param, `${lower}.betas=`, `${b[0]},${b[1]}`);
        } else st.param = setEntry(st.param, `${lower}.${what}=`, String(v));
        changed(false);
      });
      setSlider(input, value, shown);
      return el("label", { class: "lx-slider" }, `${what} `, input, shown);
    }
    function setSlider(input, v, shown) {
      input.value = input.dataset.log ? Math.log10(v) : v;
      (shown || input.nextSibling).textContent = fmtG(v, 4);
    }

    function removeOptimizer(i) {
      if (st.o.length <= 1) return;
      const name = st.o[i].toLowerCase();
      st.o = st.o.filter((_, k) => k !== i);
      if (!st.o.some((o) => o.toLowerCase() === name)) {
        st.lr = st.lr.filter((x) => !x.toLowerCase().startsWith(`${name}=`));
        st.param = st.param.filter((x) => !x.toLowerCase().startsWith(`${name}.`));
      }
      changed(true);
    }
    addButton.addEventListener("click", () => {
      const name = addSelect.value;
      if (!name || st.o.includes(name)) return;
      st.o = [...st.o, name];
      changed(true);
    });

    // The runs asked for. Every change is numbered (`changes`); an answer
    // is drawn only if it carries a newer change than the one on the page, so a late answer never
    // overwrites a newer drag. A backend that can call a request off (the server's: it skips a
    // request whose page hung up) keeps the oldest request out, which may be computing, and the
    // newest state, aborting the one that waited; a drag never queues behind its own past. Other
    // backends send one request at a time and keep only the newest state to send next.
    const flights = [];
    let drawnSeq = -1; // the page's first load is change 0
    function changed(surfaceToo, at) {
      changes += 1;
      if (inputs) inputs.push(at === undefined ? performance.now() : at);
      if (backend.changed) backend.changed(toQuery(st));
      commandLine.textContent = command("render", st);
      ui.step = null;
      if (surfaceToo) ui.surfaceStale = true;
      ask();
    }
    function ask() {
      if (flights.length >= (backend.cancels ? 2 : 1)) {
        if (!backend.cancels) { ui.pending = true; return; }
        for (const stale of flights.splice(1)) stale.control.abort();
      }
      ui.pending = false;
      const flight = { seq: changes, control: new AbortController(), timing: {} };
      flights.push(flight);
      if (ui.surfaceStale) {
        ui.surfaceStale = false;
        // Shared by every request after it: runs are drawn over the surface they were run on.
        ui.surfaceReady = backend.surface(toQuery(st)).then((v) => {
          ui.view = v;
          drawSurface(v);
          if (!st.o.length) st.o = v.lesson.slice(); // the page names the optimizers it shows
        });
        ui.surfaceReady.catch(() => { ui.surfaceStale = true; });
      }
      let query;
      ui.surfaceReady
        .then(() => {
          query = toQuery(st);
          flight.timing.sent = performance.now();
          return backend.trace(query, flight.control.signal, flight.timing);
        })
        .then((resp) => {
          if (flight.seq <= drawnSeq) return; // a newer change is on the page
          drawnSeq = flight.seq;
          const timing = flight.timing;
          timing.parsed = timing.parsed || performance.now();
          if (backend.snapped) backend.snapped(st, resp);
          ui.runs = resp;
          ui.rows = rowsOf(resp);
          error.textContent = "";
          drawRuns(); drawLegend(); drawChart(); drawTable(); drawPanel();
          if (ui.show3d) draw3d();
          root.dataset.query = query;
          commandLine.textContent = command("render", st);
          timing.drawn = performance.now();
          if (!timings) return;
          // When the redraw is on screen: after the next frame's paint (a task queued from the
          // frame's animation callback runs after it paints).
          const input = inputs && flight.seq ? inputs[flight.seq - 1] : null;
          requestAnimationFrame(() => setTimeout(() => {
            timings.push({ seq: flight.seq, input, painted: performance.now(), ...timing });
          }, 0));
        })
        .catch((err) => {
          if (err.name !== "AbortError" && flight.seq > drawnSeq) error.textContent = String(err.message || err);
        })
        .finally(() => {
          const k = flights.indexOf(flight); // an aborted one has left already
          if (k >= 0) flights.splice(k, 1);
          if (ui.pending) ask();
        });
    }

    // Click or drag on the map: the start.
    let dragging = false;
    function startAt(event) {
      const [px, py] = d3.pointer(event, svg.node());
      if (!sx) return;
      const x = Number(sx.invert(px).toPrecision(4)), y = Number(sy.invert(py).toPrecision(4));
      const start = `${x},${y}`;
      if (st.start.length === 1 && st.start[0] === start) return; // the same start: nothing to ask
      st.start = [start];
      // The ring follows the pointer at once; the runs from it follow when they come.
      gStarts.selectAll("circle").data([[x, y]]).join("circle").attr("r", 7).attr("class", "start")
        .attr("cx", (p) => sx(p[0])).attr("cy", (p) => sy(p[1]))
        .attr("fill", "none").attr("stroke", "#fff").attr("stroke-width", 2.5);
      changed(false, event.timeStamp); // from when the pointer moved, not when it was handled
    }
    svg.on("pointerdown", (event) => { dragging = true; svg.node().setPointerCapture(event.pointerId); startAt(event); })
      .on("pointermove", (event) => { if (dragging) startAt(event); })
      .on("pointerup pointercancel", () => { dragging = false; });

    // Steps, noise, seed, surface.
    const field = (input, key, surfaceToo) => input.addEventListener("change", () => {
      st[key] = input.value.trim() || null;
      changed(surfaceToo);
    });
    field(stepsInput, "steps"); field(noiseInput, "noise"); field(seedInput, "seed");
    surfaceInput.addEventListener("change", () => {
      st.surface = surfaceInput.value.trim() || "rosenbrock";
      st.start = []; st.domain = null;
      changed(true);
    });

    // Play and scrub.
    scrub.addEventListener("input", () => { ui.step = Number(scrub.value); drawRuns(); });
    play.addEventListener("click", () => {
      ui.playing = !ui.playing;
      play.textContent = ui.playing ? "❚❚ pause" : "▶ play";
      if (!ui.playing || !ui.runs) return;
      const last = ui.runs.records[0].xy.length - 1;
      if (ui.step === null || ui.step >= last) ui.step = 0;
      const stride = Math.max(1, Math.round(last / 150));
      const tick = () => {
        if (!ui.playing) return;
        ui.step = Math.min(last, ui.step + stride);
        drawRuns();
        if (ui.step >= last) { ui.playing = false; play.textContent = "▶ play"; return; }
        requestAnimationFrame(tick);
      };
      requestAnimationFrame(tick);
    });

    function copy(verb) {
      const text = command(verb, st);
      commandLine.textContent = text;
      if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(text).catch(() => {});
    }
    function svgText() {
      const clone = svg.node().cloneNode(true);
      clone.setAttribute("xmlns", svgNS);
      return new XMLSerializer().serializeToString(clone);
    }
    function save(blob, name) {
      const a = el("a", { href: URL.createObjectURL(blob), download: name });
      document.body.append(a); a.click(); a.remove();
      setTimeout(() => URL.revokeObjectURL(a.href), 1000);
    }
    function download(kind) {
      const name = `${st.surface.replace(/[^A-Za-z0-9_-]+/g, "_")}.${kind}`;
      const blob = new Blob([svgText()], { type: "image/svg+xml" });
      if (kind === "svg") return save(blob, name);
      const img = new Image(), scale = 2;
      img.onload = () => {
        const canvas = el("canvas", { width: W * scale, height: H * scale });
        const ctx = canvas.getContext("2d");
        ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, canvas.width, canvas.height);
        ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
        URL.revokeObjectURL(img.src);
        canvas.toBlob((png) => save(png, name), "image/png");
      };
      img.src = URL.createObjectURL(blob);
    }

    function toggle3d() {
      ui.show3d = !ui.show3d;
      box3d.style.display = ui.show3d ? "" : "none";
      if (ui.show3d) draw3d();
    }
    function draw3d() {
      const view = ui.view, resp = ui.runs;
      if (!view || !resp || typeof Plotly === "undefined") return;
      const heights = view.height.map((row) => row.map((v) => (v === null ? NaN : v)));
      const paths = ui.rows.map((r) => {
        const pts = r.record.xy.map((p, k) => [p[r.s], r.record.loss[k][r.s]]).filter(([p]) => p && p[0] !== null);
        return { type: "scatter3d", mode: "lines", x: pts.map(([p]) => p[0]), y: pts.map(([p]) => p[1]),
                 z: pts.map(([, l]) => height(view, l)), line: { color: r.color, width: 5 }, name: r.t.label };
      });
      const data = [{ type: "surface", x: view.x, y: view.y, z: heights, showscale: false, opacity: 0.9,
                      colorscale: view.colormap.map((c, k) => [k / (view.colormap.length - 1), c]) }, ...paths];
      const layout = { margin: { l: 0, r: 0, t: 0, b: 0 }, showlegend: false, height: 420,
                       scene: { xaxis: { title: { text: "x" } }, yaxis: { title: { text: "y" } },
                                zaxis: { title: { text: view.log_scale ? "log10(1 + loss − f*)" : "loss" } } } };
      Plotly.react(box3d, data, layout, { displaylogo: false });
    }

    commandLine.textContent = command("render", st);
    ask();
    return { state: st, ui };
  }

  // ---- Where the runs come from.
  function answer(response) {
    return response.json().then((body) => {
      if (!response.ok) throw new Error(body.error || `HTTP ${response.status}`);
      return body;
    });
  }
  // The server's Server-Timing header: {wait, compute} in ms.
  function serverTiming(response, timing) {
    for (const part of (response.headers.get("Server-Timing") || "").split(",")) {
      const m = part.trim().match(/^(\w+);dur=([\d.]+)$/);
      if (m) timing[m[1]] = Number(m[2]);
    }
  }
  // /api/runs' compact records (landscape.explore.api.runs_json) in trace's JSON shape:
  // xy[step][start] = [x, y], loss[step][start]; NaN as null, as trace's JSON has it.
  function unpacked(resp) {
    const floats = (b64, kind) => {
      const text = atob(b64), bytes = new Uint8Array(text.length);
      for (let k = 0; k < text.length; k++) bytes[k] = text.charCodeAt(k);
      return kind === "<f8" ? new Float64Array(bytes.buffer) : new Float32Array(bytes.buffer);
    };
    const n = resp.starts.length, rows = resp.steps + 1;
    const value = (v) => (Number.isNaN(v) ? null : v);
    resp.records = resp.records.map((r) => {
      const xy = floats(r.xy, r.float), loss = floats(r.loss, r.float), xys = [], losses = [];
      for (let k = 0; k < rows; k++) {
        const row = [], lossRow = [];
        for (let s = 0; s < n; s++) {
          const at = k * n + s;
          row.push([value(xy[2 * at]), value(xy[2 * at + 1])]);
          lossRow.push(value(loss[at]));
        }
        xys.push(row); losses.push(lossRow);
      }
      return { ...r, xy: xys, loss: losses };
    });
    return resp;
  }
  // The local server. `full`: the runs as /api/trace's whole JSON (trace --out's), asked one at a
  // time, as the page did before /api/runs; benchmarks/explore_browser.py's reference.
  function serverBackend(options) {
    const full = Boolean(options && options.full);
    // The URL is the state; Chromium ignores replaceState past about 200 in 10 s, so at most
    // one in 100 ms, the last one always.
    let urlAt = -Infinity, urlTimer = null, urlNext = null;
    const setUrl = () => { urlTimer = null; urlAt = performance.now(); history.replaceState(null, "", "?" + urlNext); };
    return {
      live: true,
      cancels: !full,
      changed(q) {
        urlNext = q;
        if (urlTimer === null) urlTimer = setTimeout(setUrl, Math.max(0, urlAt + 100 - performance.now()));
      },
      surface: (q) => fetch("/api/surface?" + q).then(answer),
      trace(q, signal, timing) {
        return fetch((full ? "/api/trace?" : "/api/runs?") + q, { signal }).then((response) => {
          if (timing) { timing.answered = performance.now(); serverTiming(response, timing); }
          return answer(response);
        }).then((body) => {
          const resp = full ? body : unpacked(body);
          if (timing) timing.parsed = performance.now();
          return resp;
        });
      },
    };
  }

  // The offline export: runs precomputed over a grid of starts x learning rates; a start or a
  // rate asked for is moved to the nearest one computed.
  function offlineBackend(data) {
    const decode = (b64) => new Float32Array(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)).buffer);
    const runs = data.runs.map((r) => ({ ...r, xyArr: decode(r.xy), lossArr: decode(r.loss) }));
    const nearest = (list, v, log) => {
      let best = 0;
      list.forEach((u, k) => {
        const d = log ? Math.abs(Math.log(u) - Math.log(v)) : Math.abs(u - v);
        const b = log ? Math.abs(Math.log(list[best]) - Math.log(v)) : Math.abs(list[best] - v);
        if (d < b) best = k;
      });
      return best;
    };
    const nf = data.frames.length, ns = data.starts.length;
    return {
      live: false,
      note: `Offline page: runs precomputed for ${data.starts.length} starts × ${data.runs[0].lrs.length} learning rates per optimizer; a start or rate moves to the nearest computed.`,
      surface: () => Promise.resolve(data.view),
      trace(q) {
        const st = parseQuery(q);
        const lrs = {};
        for (const entry of st.lr) { const [n, v] = entry.split("="); lrs[n.toLowerCase()] = Number(v); }
        const start = st.start.length ? st.start[0].split(",").map(Number) : data.default_start;
        let si = 0, bd = Infinity;
        data.starts.forEach((p, k) => { const d = (p[0] - start[0]) ** 2 + (p[1] - start[1]) ** 2; if (d < bd) { bd = d; si = k; } });
        const chosen = st.o.map((name) => runs.find((r) => r.name === name.toLowerCase())).filter(Boolean);
        const out = { steps: data.steps, frames: data.frames, starts: [data.starts[si]], trajectories: [], records: [] };
        for (const r of chosen) {
          const li = lrs[r.name] ? nearest(r.lrs, lrs[r.name], true) : r.default_lr_index;
          const base = (li * ns + si) * nf;
          const xy = [], loss = [];
          for (let f = 0; f < nf; f++) {
            const x = r.xyArr[(base + f) * 2], y = r.xyArr[(base + f) * 2 + 1], l = r.lossArr[base + f];
            xy.push([Number.isNaN(x) ? null : [x, y]]); loss.push([Number.isNaN(l) ? null : l]);
          }
          const k = li * ns + si;
          out.trajectories.push({ optimizer: r.name, label: r.label, settings: r.settings[li], hyper: r.hyper[li] });
          out.records.push({ xy, loss, diverged_at: [r.diverged_at[k]],
                             reached_at: [r.reached_at[k]], distance: [r.distance[k]],
                             final: [{ xy: r.final_xy[k], loss: r.final_loss[k] }] });
        }
        return Promise.resolve(out);
      },
      snapped(st, resp) { st.start = [resp.starts[0].map((v) => Number(v.toPrecision(6))).join(",")]; },
    };
  }

  globalThis.LandscapeExplore = { mount, serverBackend, offlineBackend, fmtG, describe, parseQuery, toQuery };
})();
