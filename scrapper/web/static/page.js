// The page's few scripts: the shelf searched as you type, and the Now playing page kept up to date.
"use strict";

function csrf() {
  const meta = document.querySelector('meta[name="csrf"]');
  return meta ? meta.content : "";
}

function clock(seconds) {
  seconds = Math.max(0, Math.floor(seconds));
  const h = Math.floor(seconds / 3600), m = Math.floor(seconds / 60) % 60, s = seconds % 60;
  const mm = h ? String(m).padStart(2, "0") : String(m);
  return (h ? h + ":" : "") + mm + ":" + String(s).padStart(2, "0");
}

// --- the shelf -----------------------------------------------------------------------------------
function shelfSearch() {
  const input = document.getElementById("q");
  const target = document.getElementById("shelf-results");
  if (!input || !target) return;
  let timer = null, asked = 0;
  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const query = input.value, mine = ++asked;
      const response = await fetch("/shelf/results?q=" + encodeURIComponent(query),
                                   {headers: {"X-Requested-With": "fetch"}, credentials: "same-origin"});
      if (mine !== asked || !response.ok) return;  // a later keystroke's answer wins
      target.innerHTML = await response.text();
      history.replaceState(null, "", query ? "/?q=" + encodeURIComponent(query) : "/");
    }, 120);
  });
}

// --- now playing ---------------------------------------------------------------------------------
// A face as the events give it (side "B", or disc 2 for a record without sides), in words.
function face(side, disc) { return side ? "side " + side : (disc ? "disc " + disc : "the next side"); }

function describe(e) {
  const t = e.track ? e.track.track : "";
  switch (e.event) {
    case "started": return "Playing along with " + e.album_artist + " — " + e.album + " (" + e.tracks + " tracks)";
    case "now_playing": return "▶ " + t + (e.accepted ? "" : " (not shown as now playing: " + e.reason + ")");
    case "scrobbled":
      if (e.status === "accepted") return "✓ scrobbled: " + t;
      if (e.status === "waiting") return "… waiting: " + t + " (" + e.reason + "); tried again";
      return "✗ " + e.status + ": " + t + (e.reason ? " (" + e.reason + ")" : "");
    case "paused": return "Paused";
    case "resumed": return "Resumed after " + clock(e.paused_for);
    case "skipped": return e.track ? "Skipped " + t + (e.scrobbled ? " (scrobbled: it had played long enough)" : " (not scrobbled)")
                                   : "Skipped " + face(e.side, e.disc);
    case "side_done": return (e.skipped ? "Skipped " : "End of ") + face(e.side, e.disc) + ": turn to " + face(e.next_side, e.next_disc);
    case "side_started": return face(e.side, e.disc) + " is on (" + clock(e.turned_in) + " to turn)";
    case "stopped": return "Stopped" + (e.track ? " during " + t + (e.scrobbled ? " (scrobbled)" :
                             e.refused ? " (not scrobbled: its time overlaps another listen)" : " (not scrobbled: not played long enough)") : "");
    case "problem": return "Warning: " + e.message;
    case "finished": return "Done: " + e.accepted + " accepted, " + (e.ignored + e.failed) + " ignored" +
                            (e.waiting ? ", " + e.waiting + " waiting (sent by the next command)" : "") +
                            (e.refused ? ", " + e.refused + " not recorded" : "");
  }
  return e.event;
}

function nowPlaying() {
  const root = document.getElementById("now");
  if (!root) return;
  const $ = (id) => document.getElementById(id);
  let state = null, fetchedAt = 0, since = 0, timer = null;

  function show(name, visible) {
    const button = $("cmd-" + name);
    if (button) button.closest("form").hidden = !visible;
  }

  function draw() {
    if (!state) return;
    const track = state.track, playing = state.phase === "playing";
    let elapsed = state.elapsed;
    if (playing && !state.paused) elapsed += (Date.now() - fetchedAt) / 1000 * (state.speed || 1);
    if (track) elapsed = Math.min(elapsed, track.duration);
    const turning = state.phase === "turning", live = state.running && state.phase !== "done";
    root.classList.toggle("idle", !playing);
    if (turning) {
      $("now-track").textContent = "Turn the record";
      $("now-position").textContent = "";
    } else {
      $("now-track").textContent = track && playing ? track.track : (state.phase === "done" ? "Finished" : "…");
      $("now-position").textContent = track && playing ? (track.position || track.number) + (track.side ? " · side " + track.side : "") : "";
    }
    $("elapsed").textContent = clock(playing ? elapsed : 0);
    $("length").textContent = clock(track ? track.duration : 0);
    const share = track && track.duration ? Math.min(100, 100 * elapsed / track.duration) : 0;
    $("played").style.width = (playing ? share : 0) + "%";
    $("bar").setAttribute("aria-valuenow", String(Math.round(share)));
    const mark = $("mark"), note = $("note");
    if (track && track.scrobbled_after && !state.scrobbled && playing) {
      mark.style.left = (100 * track.scrobbled_after / track.duration) + "%";
      note.textContent = "scrobbled at " + clock(track.scrobbled_after);
      note.className = "note";
    } else {
      mark.style.left = "-10px";
      note.textContent = !track || !playing ? "" : (track.scrobbled_after ? "scrobbled" : "too short to scrobble");
      note.className = "note" + (state.scrobbled ? " scrobbled" : "");
    }
    if (state.paused) note.textContent += " · paused";
    $("next").textContent = state.next && playing ? "Next: " + state.next.track : (turning && track ? "Then: " + track.track : "");
    $("turn").hidden = !turning;
    $("turn").textContent = turning ? "Put " + state.next_side + " on, then press the button." : "";
    $("cmd-side").textContent = turning && state.next_side ? state.next_side.charAt(0).toUpperCase() + state.next_side.slice(1) + " is on" : "Side is on";
    show("pause", live && playing && !state.paused);
    show("resume", live && playing && state.paused);
    show("skip", live && playing);
    show("side", live && turning);
    show("skip-side", live && turning);
    show("stop", live);
    const dot = document.querySelector(".tabs .dot");
    if (dot) dot.hidden = !state.running;
    const done = $("finished");
    done.hidden = !state.finished;
    if (state.finished) done.textContent = state.finished.error ? state.finished.error : describe(Object.assign({event: "finished"}, state.finished));
  }

  async function poll() {
    clearTimeout(timer);
    try {
      const response = await fetch("/playing/state.json?since=" + since, {headers: {"X-Requested-With": "fetch"}, credentials: "same-origin"});
      if (response.ok) {
        state = await response.json();
        fetchedAt = Date.now();
        const list = $("events");
        for (const e of state.events || []) {
          since = Math.max(since, e.seq);
          const item = document.createElement("li");
          item.className = e.event === "scrobbled" ? e.status : e.event;
          item.dataset.event = e.event;
          const at = document.createElement("span");
          at.className = "at";
          at.textContent = new Date(e.at * 1000).toTimeString().slice(0, 8);
          item.append(at, describe(e));
          list.insertBefore(item, list.firstChild);
        }
        draw();
      }
    } catch (err) { /* the server restarting, the phone waking: the next poll catches up */ }
    timer = setTimeout(poll, state && state.running ? 1000 : 5000);
  }

  document.querySelectorAll("form.command").forEach((form) => {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const body = new URLSearchParams(new FormData(form));
      await fetch(form.action, {method: "POST", body: body, credentials: "same-origin",
                                headers: {"X-CSRF-Token": csrf(), "X-Requested-With": "fetch"}});
      poll();
    });
  });
  setInterval(draw, 250);
  document.addEventListener("visibilitychange", () => { if (!document.hidden) poll(); });
  poll();
}

document.addEventListener("DOMContentLoaded", () => { shelfSearch(); nowPlaying(); });
