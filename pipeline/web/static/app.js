// callqa workstation: the audio player follows the evidence. No library, no inline script (CSP).
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const player = document.getElementById("player");
  if (!player) return;
  const seek = (seconds) => {
    const go = () => {
      player.currentTime = seconds;
      player.play().catch(() => {}); // autoplay may be refused; the position is set anyway
    };
    if (player.readyState >= 1) go();
    else player.addEventListener("loadedmetadata", go, { once: true });
  };
  document.querySelectorAll("button.seek").forEach((button) => {
    button.addEventListener("click", () => {
      const start = parseFloat(button.dataset.start);
      if (!Number.isNaN(start)) seek(Math.max(0, start));
    });
  });
  document.querySelectorAll("button.leg").forEach((button) => {
    button.addEventListener("click", () => {
      const at = player.currentTime;
      const playing = !player.paused;
      document.querySelectorAll("button.leg").forEach((b) => b.classList.toggle("on", b === button));
      player.src = button.dataset.src;
      player.addEventListener("loadedmetadata", () => {
        player.currentTime = at;
        if (playing) player.play().catch(() => {});
      }, { once: true });
      player.load();
    });
  });
  // Highlight the turn being heard.
  const turns = Array.from(document.querySelectorAll("li.turn"));
  const starts = turns.map((li) => parseFloat(li.querySelector("button.seek").dataset.start));
  player.addEventListener("timeupdate", () => {
    let current = -1;
    starts.forEach((s, i) => { if (s <= player.currentTime) current = i; });
    turns.forEach((li, i) => li.classList.toggle("now", i === current));
  });
});
