// Interactive part of a pyprof flame graph. The frames are the rects of
// #frames, in depth-first order; D (the JSON block) holds their data in
// parallel arrays with the same indexes. Zooming rewrites the attributes of
// those rects and never rebuilds them, and skips writes that change nothing,
// so a click costs one pass over the frames.
(function () {
  "use strict";
  var NS = "http://www.w3.org/2000/svg";
  var HIGHLIGHT = "#e040e0";
  var D = JSON.parse(document.getElementById("pyprof-data").textContent);
  var framesG = document.getElementById("frames");
  var labelsG = document.getElementById("labels");
  var input = document.getElementById("search");
  var detailsEl = document.getElementById("details");
  var matchedEl = document.getElementById("matched");
  var resetEl = document.getElementById("reset");
  var R = Array.prototype.slice.call(framesG.children);
  var N = R.length;
  var PAD = D.pad, GW = D.graphWidth, CW = D.charWidth;

  var end = new Int32Array(N); // one past the last box of each subtree
  var xs = new Array(N), ws = new Array(N); // attributes as last written
  var hidden = new Uint8Array(N), faded = new Uint8Array(N);
  var lab = new Array(N), labText = new Array(N), labX = new Array(N);
  var lit = new Uint8Array(N), fillOrig = new Array(N);
  var depth = new Int32Array(N), maxDepth = 0;
  var svg = document.documentElement;
  var VB = (svg.getAttribute("viewBox") || "").split(" ").map(Number);
  var detailsY = parseFloat(detailsEl.getAttribute("y"));
  var HINT = "click a frame to zoom, Ctrl-F to search";
  // Roles of the function table's entries, as svg.go numbers them.
  var CODE = 0, ROOT = 1, IDLE = 4;
  // idle marks the boxes that hold idle waiting apart from the total:
  // the [idle: …] frames and what was called in them.
  var idle = new Uint8Array(N);

  init();

  function init() {
    var i, k = D.t[0] > 0 ? GW / D.t[0] : 0;
    for (i = 0; i < N; i++) {
      end[i] = i + 1;
      R[i].__fg = i;
      xs[i] = (PAD + D.s[i] * k).toFixed(2);
      ws[i] = (k ? D.t[i] * k : GW).toFixed(2);
    }
    for (i = N - 1; i > 0; i--) {
      if (end[i] > end[D.p[i]]) end[D.p[i]] = end[i];
    }
    var apart = D.idle > 0 || D.baseIdle > 0;
    for (i = 1; i < N; i++) {
      depth[i] = depth[D.p[i]] + 1;
      if (depth[i] > maxDepth) maxDepth = depth[i];
      if (apart) idle[i] = D.roles[D.f[i]] === IDLE || idle[D.p[i]] ? 1 : 0;
    }
    var texts = labelsG.children;
    for (i = 0; i < D.l.length; i++) {
      lab[D.l[i]] = texts[i];
      texts[i].__fg = D.l[i];
      labText[D.l[i]] = texts[i].textContent;
      labX[D.l[i]] = texts[i].getAttribute("x");
    }
    framesG.addEventListener("click", function (e) {
      var i = e.target.__fg;
      if (i !== undefined) zoom(i);
    });
    framesG.addEventListener("mouseover", function (e) {
      var i = e.target.__fg;
      if (i !== undefined) detailsEl.textContent = details(i);
    });
    framesG.addEventListener("mouseout", function () { detailsEl.textContent = HINT; });
    resetEl.addEventListener("click", function () { zoom(0); });
    input.addEventListener("input", function () { search(input.value); });
    document.addEventListener("keydown", onKey);
    window.addEventListener("resize", fitHeight);
    fitHeight();
    // Hidden in the file: where scripts do not run (an <img>) it would be
    // a search box that does nothing.
    document.getElementById("searchbox").setAttribute("visibility", "visible");
    detailsEl.textContent = HINT;
  }

  function onKey(e) {
    if ((e.ctrlKey || e.metaKey) && (e.key === "f" || e.key === "F")) {
      e.preventDefault();
      input.focus();
      input.select();
    } else if (e.key === "Escape") {
      input.value = "";
      search("");
    }
  }

  // zoom makes box z span the whole width: its subtree is scaled, its
  // ancestors span the width faded, everything else is hidden.
  function zoom(z) {
    if (!(D.t[z] > 0)) return; // only an empty profile's root weighs nothing
    var x0 = D.s[z], k = GW / D.t[z], e = end[z];
    var anc = new Uint8Array(N);
    for (var a = D.p[z]; a >= 0; a = D.p[a]) anc[a] = 1;
    for (var i = 0; i < N; i++) {
      if (i >= z && i < e) show(i, PAD + (D.s[i] - x0) * k, D.t[i] * k, 0);
      else if (anc[i]) show(i, PAD, GW, 1);
      else hide(i);
    }
    crop(z, e);
    resetEl.setAttribute("class", z === 0 ? "btn off" : "btn");
  }

  // crop drops the rows no visible frame reaches, so that a zoomed view
  // has no empty space above it (below it, inverted): the frames move to
  // the head and the picture gets shorter.
  function crop(z, e) {
    if (VB.length !== 4) return;
    var deepest = depth[z];
    for (var i = z; i < e; i++) if (depth[i] > deepest) deepest = depth[i];
    var cut = (maxDepth - deepest) * D.frameHeight;
    var shift = D.inverted ? "" : "translate(0," + (-cut) + ")";
    framesG.setAttribute("transform", shift);
    labelsG.setAttribute("transform", shift);
    svg.setAttribute("viewBox", VB[0] + " " + VB[1] + " " + VB[2] + " " + (VB[3] - cut));
    detailsEl.setAttribute("y", (detailsY - cut).toFixed(2));
    fitHeight();
  }

  // fitHeight gives the picture the height its width calls for. The file says
  // only width="100%": an <img> then takes its height from the viewBox,
  // but a browser showing the file itself gives it the window's height and
  // shrinks a deep graph to fit, so that its labels cannot be read. With a
  // height in pixels it keeps its scale and the window scrolls.
  function fitHeight() {
    var vb = (svg.getAttribute("viewBox") || "").split(" ").map(Number);
    var width = window.innerWidth;
    if (vb.length !== 4 || !(vb[2] > 0) || !(width > 0)) return;
    svg.setAttribute("height", Math.ceil(vb[3] * width / vb[2]));
  }

  function show(i, x, w, fade) {
    var r = R[i], sx = x.toFixed(2), sw = w.toFixed(2);
    if (hidden[i]) {
      r.removeAttribute("display");
      hidden[i] = 0;
    }
    if (xs[i] !== sx) {
      r.setAttribute("x", sx);
      xs[i] = sx;
    }
    if (ws[i] !== sw) {
      r.setAttribute("width", sw);
      ws[i] = sw;
    }
    if (faded[i] !== fade) {
      r.setAttribute("class", fade ? "anc" : "");
      faded[i] = fade;
    }
    label(i, x, w);
  }

  function hide(i) {
    if (hidden[i]) return;
    R[i].setAttribute("display", "none");
    hidden[i] = 1;
    setLabel(i, "");
  }

  // label creates text elements only for boxes that become wide enough,
  // so the document grows by what the zoom shows.
  function label(i, x, w) {
    var s = fit(D.names[D.f[i]], w);
    if (!lab[i]) {
      if (!s) return;
      var t = document.createElementNS(NS, "text");
      t.setAttribute("y", (parseFloat(R[i].getAttribute("y")) + D.labelOffset).toFixed(2));
      labelsG.appendChild(t);
      t.__fg = i;
      lab[i] = t;
      labText[i] = "";
    }
    var lx = (x + 3).toFixed(2);
    if (labX[i] !== lx) {
      lab[i].setAttribute("x", lx);
      labX[i] = lx;
    }
    setLabel(i, s);
  }

  function setLabel(i, s) {
    if (lab[i] && labText[i] !== s) {
      lab[i].textContent = s;
      labText[i] = s;
    }
  }

  // fit mirrors fit in svg.go: whole code points, ".." in front when cut,
  // on a dot where one is left, so that the function's own name stays; an
  // import frame keeps its prefix.
  var PREFIXES = ["import ", "imports: "];
  function fit(name, w) {
    var n = Math.floor((w - 6) / CW);
    if (n < 3) return "";
    if (name.length <= n) return name;
    var cp = Array.from(name);
    if (cp.length <= n) return name;
    for (var i = 0; i < PREFIXES.length; i++) {
      var p = PREFIXES[i];
      if (name.lastIndexOf(p, 0) !== 0) continue;
      var body = Array.from(name.slice(p.length));
      if (n - p.length >= 5) return p + cutFront(body, n - p.length);
      if (body.length <= n) return body.join("");
      return cutFront(body, n);
    }
    return cutFront(cp, n);
  }

  function cutFront(cp, n) {
    var from = cp.length - (n - 2);
    if (cp[from - 1] !== ".") {
      for (var i = from; i < cp.length - 1; i++) {
        if (cp[i] === ".") {
          from = i + 1;
          break;
        }
      }
    }
    return ".." + cp.slice(from).join("");
  }

  // search highlights the boxes whose function matches term, a regular
  // expression or, when it does not compile, a plain substring. The matched
  // share counts a box only when no ancestor matched, so recursion and
  // nested matches are not counted twice; idle waiting, which the total
  // leaves out, is named apart.
  function search(term) {
    var match = matcher(term), seen = new Int8Array(D.names.length);
    var covered = 0, sum = 0, idleSum = 0;
    for (var i = 0; i < N; i++) {
      var hit = 0;
      if (match && i > 0) {
        var f = D.f[i];
        if (!seen[f]) seen[f] = match(D.names[f]) ? 1 : -1;
        hit = seen[f] > 0 ? 1 : 0;
      }
      if (hit !== lit[i]) paint(i, hit);
      if (hit && i >= covered) {
        if (idle[i]) idleSum += D.t[i];
        else sum += D.t[i];
        covered = end[i];
      }
    }
    var text = "matched " + fmt(sum) + " (" + pct(sum, D.sum) + " of total)";
    if (idleSum) text = sum ? text + " and " + fmt(idleSum) + " idle" : "matched " + fmt(idleSum) + " idle, apart from the total";
    matchedEl.textContent = match ? text : "";
  }

  function paint(i, hit) {
    if (hit) {
      fillOrig[i] = R[i].getAttribute("fill");
      R[i].setAttribute("fill", HIGHLIGHT);
    } else {
      R[i].setAttribute("fill", fillOrig[i]);
    }
    lit[i] = hit;
  }

  function matcher(term) {
    if (!term) return null;
    try {
      var re = new RegExp(term);
      return function (s) { return re.test(s); };
    } catch (err) {
      return function (s) { return s.indexOf(term) >= 0; };
    }
  }

  // details mirrors picture.tooltip in svg.go, with the calls and self
  // times of both sides on a diff.
  function details(i) {
    var f = D.f[i], role = D.roles[f], parts = [D.names[f]];
    if (D.files[f]) parts.push(D.files[f] + (D.lines[f] ? ":" + D.lines[f] : ""));
    if (role === ROOT) return parts.concat(rootTotals()).join(" | ");
    if (role === IDLE && idle[i]) parts.push("idle waiting, not a function");
    if (D.diff) {
      if (D.hasCalls && role === CODE) parts.push("calls " + D.bc[i] + " → " + D.c[i]);
      parts.push("total " + fmt(D.bt[i]) + " → " + fmt(D.t[i]) + " (" + change(D.bt[i], D.t[i]) + ")");
      if (role === CODE) parts.push("self " + fmt(D.be[i]) + " → " + fmt(D.e[i]) + " (" + change(D.be[i], D.e[i]) + ")");
    } else {
      if (D.hasCalls && role === CODE) parts.push("calls " + D.c[i]);
      if (role === CODE) parts.push("self " + fmt(D.e[i]) + share(D.e[i], i));
      parts.push("total " + fmt(D.t[i]) + share(D.t[i], i));
    }
    if (idle[i]) parts.push("apart from the total");
    return parts.join(" | ");
  }

  function rootTotals() {
    var apart = D.idle > 0 || D.baseIdle > 0;
    if (D.diff) {
      var out = ["total " + fmt(D.baseSum) + " → " + fmt(D.sum) + " (" + change(D.baseSum, D.sum) + ")"];
      if (apart) out.push("idle apart " + fmt(D.baseIdle) + " → " + fmt(D.idle));
      return out;
    }
    return apart ? ["total " + fmt(D.sum), "idle apart " + fmt(D.idle)] : ["total " + fmt(D.sum)];
  }

  // share is x's share of the total, or nothing for idle waiting, which
  // the total leaves out.
  function share(x, i) {
    return idle[i] ? "" : " (" + pct(x, D.sum) + ")";
  }

  // fmt mirrors report.Human: three significant digits and a unit.
  function fmt(x) {
    var units = D.unit === "nanoseconds" ? ["ns", "us", "ms", "s"] : ["", "k", "M", "G"];
    var neg = x < 0, i = 0;
    x = Math.abs(x);
    while (x >= 999.5 && i < units.length - 1) {
      x /= 1000;
      i++;
    }
    var s = i === 0 && x === Math.floor(x) ? String(x) : x >= 99.95 ? x.toFixed(0) : x >= 9.995 ? x.toFixed(1) : x.toFixed(2);
    return (neg ? "-" : "") + s + units[i];
  }

  function pct(x, whole) {
    return whole > 0 ? (100 * x / whole).toFixed(2) + "%" : "-";
  }

  // change mirrors change in header.go.
  function change(base, cur) {
    if (base === cur) return "0%";
    if (base === 0) return "new";
    var c = 100 * (cur - base) / base;
    return (c > 0 ? "+" : "") + c.toFixed(1) + "%";
  }
})();
