"use strict";
// siampipe 3-D scatter: a canvas renderer with no dependencies.
// Drag rotates, the wheel zooms, hovering shows a point's index and class,
// clicking a legend entry hides or shows its class.
(function () {
  const meta = JSON.parse(document.getElementById("meta").textContent);
  const pts = JSON.parse(document.getElementById("points").textContent);
  const n = pts.label.length, xyz = pts.xyz, label = pts.label, index = pts.index;
  const canvas = document.getElementById("view");
  const ctx = canvas.getContext("2d");
  const tip = document.getElementById("tip");
  const legend = document.getElementById("legend");
  const hidden = new Array(meta.classes.length).fill(false);
  const view = { yaw: 0.6, pitch: -0.35, zoom: 1 };
  const DIST = 4; // camera distance, in units of the data's half extent
  const sx = new Float32Array(n), sy = new Float32Array(n), depth = new Float32Array(n);
  let order = new Uint32Array(0), drawn = 0, hover = -1, pending = false;
  let width = 0, height = 0, dpr = 1;

  function resize() {
    dpr = window.devicePixelRatio || 1;
    width = canvas.clientWidth || window.innerWidth;
    height = canvas.clientHeight || window.innerHeight;
    canvas.width = Math.round(width * dpr);
    canvas.height = Math.round(height * dpr);
  }

  // project fills sx, sy (CSS pixels) and depth (larger is nearer) for
  // every point, and order with the visible points far to near.
  function project() {
    const cy = Math.cos(view.yaw), syw = Math.sin(view.yaw);
    const cp = Math.cos(view.pitch), sp = Math.sin(view.pitch);
    const scale = 0.42 * Math.min(width, height) * view.zoom;
    const vis = [];
    for (let i = 0; i < n; i++) {
      const x = xyz[3 * i], y = xyz[3 * i + 1], z = xyz[3 * i + 2];
      const x1 = cy * x + syw * z, z1 = -syw * x + cy * z; // yaw about the vertical axis
      const y2 = cp * y - sp * z1, z2 = sp * y + cp * z1; // pitch about the horizontal axis
      const f = DIST / (DIST + z2);
      sx[i] = width / 2 + scale * f * x1;
      sy[i] = height / 2 - scale * f * y2;
      depth[i] = -z2;
      if (!hidden[label[i]]) vis.push(i);
    }
    order = Uint32Array.from(vis);
    order.sort((a, b) => depth[a] - depth[b] || a - b);
  }

  function draw() {
    pending = false;
    project();
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, width, height);
    const r = Math.max(1.2, Math.min(3.5, 1.6 * Math.sqrt(view.zoom)));
    ctx.globalAlpha = 0.8;
    for (let k = 0; k < order.length; k++) {
      const i = order[k];
      ctx.fillStyle = meta.colors[label[i]];
      ctx.beginPath();
      ctx.arc(sx[i], sy[i], r, 0, 2 * Math.PI);
      ctx.fill();
    }
    ctx.globalAlpha = 1;
    drawn = order.length;
    if (hover >= 0 && !hidden[label[hover]]) {
      ctx.strokeStyle = "#000";
      ctx.lineWidth = 2;
      ctx.beginPath();
      ctx.arc(sx[hover], sy[hover], r + 4, 0, 2 * Math.PI);
      ctx.stroke();
    }
    document.body.dataset.drawn = String(drawn);
  }

  function redraw() {
    if (!pending) {
      pending = true;
      requestAnimationFrame(draw);
    }
  }

  // nearest returns the visible point nearest to (x, y) within 8 px, or -1;
  // among points at the same spot, the one drawn on top.
  function nearest(x, y) {
    let best = -1, bestD = 64;
    for (let k = order.length - 1; k >= 0; k--) {
      const i = order[k], dx = sx[i] - x, dy = sy[i] - y, d = dx * dx + dy * dy;
      if (d < bestD) { best = i; bestD = d; }
    }
    return best;
  }

  function tipText(i) {
    return "#" + index[i] + " \u00b7 " + meta.classes[label[i]];
  }

  function showHover(x, y) {
    const i = nearest(x, y);
    if (i !== hover) { hover = i; redraw(); }
    if (i < 0) { tip.style.display = "none"; return; }
    tip.textContent = tipText(i);
    tip.style.display = "block";
    tip.style.left = Math.min(x + 12, width - tip.offsetWidth - 4) + "px";
    tip.style.top = Math.max(y - 28, 4) + "px";
  }

  function toggle(c) {
    hidden[c] = !hidden[c];
    legend.children[c].classList.toggle("off", hidden[c]);
    if (hover >= 0 && hidden[label[hover]]) { hover = -1; tip.style.display = "none"; }
    redraw();
  }

  const counts = new Array(meta.classes.length).fill(0);
  for (let i = 0; i < n; i++) counts[label[i]]++;
  meta.classes.forEach((name, c) => {
    const div = document.createElement("div");
    const dot = document.createElement("i");
    dot.style.background = meta.colors[c];
    div.appendChild(dot);
    div.appendChild(document.createTextNode(name + " (" + counts[c] + ")"));
    div.title = "click to hide or show " + name;
    div.addEventListener("click", () => toggle(c));
    legend.appendChild(div);
  });

  let drag = null;
  canvas.addEventListener("pointerdown", (e) => {
    drag = { x: e.clientX, y: e.clientY, yaw: view.yaw, pitch: view.pitch };
    canvas.classList.add("drag");
    if (canvas.setPointerCapture && e.pointerId !== undefined) {
      try { canvas.setPointerCapture(e.pointerId); } catch (err) { /* synthetic events have no capture */ }
    }
    tip.style.display = "none";
  });
  canvas.addEventListener("pointermove", (e) => {
    if (drag) {
      view.yaw = drag.yaw + (e.clientX - drag.x) * 0.01;
      view.pitch = Math.max(-1.55, Math.min(1.55, drag.pitch + (e.clientY - drag.y) * 0.01));
      redraw();
      return;
    }
    showHover(e.clientX, e.clientY);
  });
  const endDrag = () => { drag = null; canvas.classList.remove("drag"); };
  canvas.addEventListener("pointerup", endDrag);
  canvas.addEventListener("pointercancel", endDrag);
  canvas.addEventListener("pointerleave", () => { if (!drag) { hover = -1; tip.style.display = "none"; redraw(); } });
  canvas.addEventListener("wheel", (e) => {
    e.preventDefault();
    view.zoom = Math.max(0.2, Math.min(60, view.zoom * Math.exp(-e.deltaY * 0.0015)));
    redraw();
  }, { passive: false });
  window.addEventListener("resize", () => { resize(); redraw(); });

  resize();
  draw();

  // #selftest: drive every interaction and report on <body data-selftest>.
  if (location.hash === "#selftest") {
    const fail = [];
    const expect = (ok, what) => { if (!ok) fail.push(what); };
    expect(drawn === n, "drew " + drawn + " of " + n + " points");
    // hover the point drawn on top
    const top = order[order.length - 1];
    canvas.dispatchEvent(new PointerEvent("pointermove", { clientX: sx[top], clientY: sy[top], bubbles: true }));
    expect(tip.style.display === "block" && tip.textContent === tipText(top),
      "hover shows '" + tip.textContent + "', want '" + tipText(top) + "'");
    // hide its class from the legend
    const c = label[top];
    legend.children[c].dispatchEvent(new MouseEvent("click", { bubbles: true }));
    draw();
    expect(drawn === n - counts[c], "after hiding class " + c + " drew " + drawn + ", want " + (n - counts[c]));
    expect(legend.children[c].classList.contains("off"), "legend entry not marked hidden");
    legend.children[c].dispatchEvent(new MouseEvent("click", { bubbles: true }));
    draw();
    expect(drawn === n, "after showing class " + c + " again drew " + drawn);
    // rotate by dragging
    const yaw0 = view.yaw, x0 = sx[top];
    canvas.dispatchEvent(new PointerEvent("pointerdown", { clientX: 100, clientY: 100, bubbles: true }));
    canvas.dispatchEvent(new PointerEvent("pointermove", { clientX: 200, clientY: 130, bubbles: true }));
    canvas.dispatchEvent(new PointerEvent("pointerup", { clientX: 200, clientY: 130, bubbles: true }));
    draw();
    expect(Math.abs(view.yaw - yaw0 - 1) < 1e-9, "drag changed yaw by " + (view.yaw - yaw0) + ", want 1");
    expect(sx[top] !== x0, "drag did not move the points");
    // zoom by the wheel
    const z0 = view.zoom;
    canvas.dispatchEvent(new WheelEvent("wheel", { deltaY: -300, clientX: 50, clientY: 50, bubbles: true, cancelable: true }));
    expect(view.zoom > z0, "wheel did not zoom in");
    draw();
    document.body.dataset.selftest = fail.length ? "fail: " + fail.join("; ") : "ok";
  }
})();
