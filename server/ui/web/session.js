// Session page: creates the asciinema player (recorded file, or the live event stream while the
// session runs) and wires the command timeline to it. Data comes from the JSON island rendered by
// the server; the player bundle (classic script) defines window.AsciinemaPlayer.

const data = JSON.parse(document.getElementById('session-data').textContent);
const box = document.getElementById('player');
const timeline = document.getElementById('timeline');
const buttons = timeline ? [...timeline.querySelectorAll('button[data-t]')] : [];
const times = buttons.map((b) => Number(b.dataset.t));

function start() {
  box.replaceChildren();
  const source = data.live
    ? { driver: 'eventsource', url: data.liveUrl, bufferTime: 0 }
    : { url: data.recordingUrl, fetchOpts: { credentials: 'same-origin' } };
  const player = window.AsciinemaPlayer.create(source, box, {
    fit: 'both',
    preload: true,
    autoPlay: data.live,
    controls: true,
    terminalFontSize: 'small',
    // No idleTimeLimit: timeline and marker times are real recording times, as the audit needs.
    ...(data.live ? {} : { markers: data.markers }),
  });
  box.dataset.state = data.live ? 'live' : 'ready';
  // Exposed for the end-to-end test and for auditors who want to script the console.
  window.__aePlayer = player;

  if (data.live) {
    const follow = followCommands();
    player.addEventListener('ended', () => {
      const badge = document.getElementById('live-badge');
      if (badge) {
        badge.textContent = 'ENDED';
        badge.classList.remove('live');
      }
      box.dataset.state = 'ended';
      follow.stop();
    });
  }

  let current = -1;
  function highlight(index) {
    if (index === current) return;
    if (buttons[current]) buttons[current].removeAttribute('aria-current');
    current = index;
    const b = buttons[index];
    if (!b) return;
    b.setAttribute('aria-current', 'step');
    // Keep the running command in view without stealing focus or scrolling the page.
    const list = timeline;
    if (b.offsetTop < list.scrollTop || b.offsetTop + b.offsetHeight > list.scrollTop + list.clientHeight) {
      list.scrollTop = b.offsetTop - list.clientHeight / 3;
    }
  }

  function indexAt(t) {
    let lo = 0;
    let hi = times.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (times[mid] <= t + 0.001) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }

  if (timeline && !data.live) {
    timeline.addEventListener('click', async (event) => {
      const button = event.target.closest('button[data-t]');
      if (!button) return;
      // Just after the echo of the command line, in a terminal session (server/ui/seek-times.ts).
      await player.seek(Number(button.dataset.seek ?? button.dataset.t));
      highlight(buttons.indexOf(button));
    });
    player.addEventListener('marker', ({ index }) => highlight(index));
    setInterval(() => {
      const t = player.getCurrentTime();
      if (typeof t === 'number') highlight(indexAt(t));
    }, 400);
  }
}

/**
 * While the session runs, the command list is fetched again every REFRESH_MS and replaced when it
 * changed. It stays scrolled to its end, showing the newest command, unless the reader scrolled
 * away from the end: then it stays where they put it until they scroll back down.
 */
const REFRESH_MS = 1500;
function followCommands() {
  const section = document.getElementById('timeline-box');
  let last = section ? section.innerHTML : '';
  let timer = null;
  const atEnd = (list) => !list || list.scrollHeight - list.scrollTop - list.clientHeight < 8;
  async function refresh() {
    try {
      const res = await fetch(data.timelineUrl, {
        credentials: 'same-origin',
        headers: { Accept: 'text/html' },
      });
      if (!res.ok || !section) return;
      const html = await res.text();
      if (html === last) return;
      const before = document.getElementById('timeline');
      const following = atEnd(before);
      const kept = before ? before.scrollTop : 0;
      section.innerHTML = html;
      last = section.innerHTML;
      const list = document.getElementById('timeline');
      if (list) list.scrollTop = following ? list.scrollHeight : kept;
      section.dataset.following = String(following);
    } catch {
      // the next turn asks again
    }
  }
  const tick = async () => {
    await refresh();
    if (timer !== null) timer = setTimeout(tick, REFRESH_MS);
  };
  timer = setTimeout(tick, REFRESH_MS);
  return {
    // One last look once the session ended: commands the node reported late, and after-end ones.
    stop() {
      clearTimeout(timer);
      timer = null;
      void refresh();
    },
  };
}

// Ending someone's session is not undone: ask once more before the form goes.
const terminateForm = document.getElementById('terminate-form');
if (terminateForm) {
  terminateForm.addEventListener('submit', (event) => {
    const reason = terminateForm.elements.reason.value.trim();
    if (!window.confirm(`End this session now? Its user sees your name and the reason: “${reason}”.`)) {
      event.preventDefault();
    }
  });
}

if (window.AsciinemaPlayer) start();
else window.addEventListener('load', start, { once: true });
