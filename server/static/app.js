// Know Your Bands web page: send a photo to POST /api/v1/identify, draw the boxes it
// returns over the photo and show a card per band. Plain DOM, no framework, no build step.
// Everything that comes from the server is inserted with textContent (band names and
// genres are scraped text), and only http(s) links are made clickable.
"use strict";

(() => {
  const form = document.getElementById("upload");
  const inputs = form.querySelectorAll("input[type=file]");
  const statusLine = document.getElementById("status");
  const result = document.getElementById("result");
  const preview = document.getElementById("preview");
  const boxes = document.getElementById("boxes");
  const caption = document.getElementById("caption");
  const cards = document.getElementById("cards");
  const maxBytes = Number(form.dataset.maxBytes);
  let previewUrl = null;

  function setStatus(text, isError = false) {
    statusLine.textContent = text;
    statusLine.classList.toggle("error", isError);
  }

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function safeUrl(url) {
    try {
      const parsed = new URL(url);
      return parsed.protocol === "https:" || parsed.protocol === "http:" ? parsed.href : null;
    } catch {
      return null;
    }
  }

  function percent(score) {
    return `${Math.round(Math.min(Math.max(Number(score) || 0, 0), 1) * 100)}%`;
  }

  function showPreview(file) {
    if (previewUrl) URL.revokeObjectURL(previewUrl);
    previewUrl = URL.createObjectURL(file);
    preview.src = previewUrl;
    boxes.replaceChildren();
    cards.replaceChildren();
    caption.textContent = "";
    result.hidden = false;
  }

  function drawBoxes(data) {
    const { width, height } = data.image;
    boxes.replaceChildren(...data.detections.map((detection, i) => {
      const [x1, y1, x2, y2] = detection.box;
      const box = element("div", `box ${detection.verdict}`);
      box.style.left = `${(100 * x1) / width}%`;
      box.style.top = `${(100 * y1) / height}%`;
      box.style.width = `${(100 * (x2 - x1)) / width}%`;
      box.style.height = `${(100 * (y2 - y1)) / height}%`;
      box.append(element("span", "box-label", String(i + 1)));
      return box;
    }));
  }

  // One card per band (a band seen on two patches gets one card naming both boxes), and
  // one "unknown band" card per detection whose verdict is unknown.
  function groupCards(data) {
    const bandScores = new Map(data.bands.map((band) => [band.band_id, band.score]));
    const known = new Map();
    const unknown = [];
    data.detections.forEach((detection, i) => {
      const best = detection.matches[0];
      if (detection.verdict !== "match" || !best) {
        unknown.push({ detection, boxes: [i + 1] });
        return;
      }
      const entry = known.get(best.band_id) || { match: best, detection, boxes: [] };
      entry.boxes.push(i + 1);
      if (best.score > entry.match.score) entry.match = best;
      known.set(best.band_id, entry);
    });
    const bandConfidence = new Map(data.bands.map((band) => [band.band_id, band.confidence]));
    for (const entry of known.values()) {
      // The calibrated probability that the band is right where the index has one, else
      // the match's similarity.
      entry.score = bandConfidence.get(entry.match.band_id) ??
        bandScores.get(entry.match.band_id) ?? entry.match.score;
    }
    return [...known.values(), ...unknown];
  }

  function card(entry) {
    const item = element("li", entry.match ? "card" : "card unknown");
    const boxesText = `${entry.boxes.length > 1 ? "Boxes" : "Box"} ${entry.boxes.join(", ")}`;
    if (!entry.match) {
      item.append(element("h3", "", "Unknown band"));
      const what = entry.detection.kind === "album" ? "an album" : "a logo";
      item.append(element("p", "", `${boxesText}: ${what} that is probably not in the database`));
      item.append(element("p", "confidence", `Detector confidence ${percent(entry.detection.score)}`));
      const read = entry.detection.text;
      if (read?.read && read.candidates.length) {
        const names = read.candidates.map((band) => band.name).join(", ");
        item.append(element("p", "witness", `Text read "${read.read}": may be ${names}`));
      }
      return item;
    }
    const { match } = entry;
    const heading = element("h3");
    const url = safeUrl(match.url);
    if (url) {
      const link = element("a", "", match.name);
      link.href = url;
      link.rel = "noopener noreferrer";
      link.target = "_blank";
      link.title = `${match.name} on Encyclopaedia Metallum`;
      heading.append(link);
    } else {
      heading.textContent = match.name;
    }
    item.append(heading);
    const facts = [match.country, match.genre].filter(Boolean).join(" · ");
    if (facts) item.append(element("p", "", facts));
    if (match.album) item.append(element("p", "", `Album: ${match.album}`));
    item.append(element("p", "confidence", `Confidence ${percent(entry.score)}`));
    item.append(element("p", "", `${boxesText} (${entry.detection.kind})`));
    item.append(...witnesses(match, entry.detection));
    showSimilar(item, match.band_id);
    return item;
  }

  // Who named the band: the image index (logo or album) and/or the text read on the photo.
  function witnesses(match, detection) {
    const evidence = match.evidence || [];
    if (!evidence.length) return [];
    const lines = [element("p", "witness", `Named by ${evidence.join(" and ")}`)];
    if (evidence.includes("text") && detection.text?.read) {
      lines.push(element("p", "witness", `Text read: "${detection.text.read}"`));
    }
    return lines;
  }

  // Bands Metal Archives lists as similar (where the scrape stored them): what a fan who
  // found this patch may listen to next. Fetched per card; a card without them stays as is.
  async function showSimilar(item, bandId) {
    try {
      const response = await fetch(`api/v1/bands/${encodeURIComponent(bandId)}`);
      const band = response.ok ? await response.json() : null;
      if (!band?.similar?.length) return;
      const list = element("p", "similar", "Similar: ");
      band.similar.slice(0, 5).forEach((other, i) => {
        if (i) list.append(", ");
        const url = safeUrl(other.url);
        const name = element(url ? "a" : "span", "", other.name || `band ${other.band_id}`);
        if (url) {
          name.href = url;
          name.rel = "noopener noreferrer";
          name.target = "_blank";
        }
        list.append(name);
      });
      item.append(list);
    } catch {
      // The card is complete without them.
    }
  }

  function render(data) {
    drawBoxes(data);
    const entries = groupCards(data);
    cards.replaceChildren(...entries.map(card));
    const named = entries.filter((entry) => entry.match).length;
    const found = data.detections.length;
    caption.textContent = found
      ? `${found} logo${found === 1 ? "" : "s"} or album${found === 1 ? "" : "s"} outlined`
      : "No logo or album found";
    setStatus(named ? `Found ${named} band${named === 1 ? "" : "s"}.` :
      found ? "Found no band from the database." : "Found no logo or album in this photo.");
  }

  async function identify(file) {
    if (!file) return;
    if (file.size > maxBytes) {
      setStatus(`This photo is too large (${Math.ceil(file.size / 1048576)} MB).`, true);
      return;
    }
    showPreview(file);
    setStatus("Identifying…");
    form.setAttribute("aria-busy", "true");
    const body = new FormData();
    body.append("image", file);
    try {
      const response = await fetch(form.action, { method: "POST", body });
      const data = await response.json().catch(() => null);
      if (!response.ok || !data) {
        setStatus(data?.error?.message ?? `The server answered ${response.status}.`, true);
        result.hidden = true;
        return;
      }
      render(data);
    } catch {
      setStatus("Could not reach the server. Check the connection and try again.", true);
      result.hidden = true;
    } finally {
      form.removeAttribute("aria-busy");
    }
  }

  for (const input of inputs) {
    input.addEventListener("change", () => {
      identify(input.files[0]);
      input.value = "";  // choosing the same photo again fires change again
    });
  }
  form.addEventListener("submit", (event) => event.preventDefault());
  form.addEventListener("dragover", (event) => {
    event.preventDefault();
    form.classList.add("dragging");
  });
  form.addEventListener("dragleave", () => form.classList.remove("dragging"));
  form.addEventListener("drop", (event) => {
    event.preventDefault();
    form.classList.remove("dragging");
    identify(event.dataTransfer.files[0]);
  });
})();
