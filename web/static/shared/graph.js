// The dependency graph of a bundle or an application, drawn as SVG by our own layout:
// each matter on the layer after the last matter it depends on, arrows from what it needs.
import {svg} from './dom.js';

const GAP_X = 14;
const GAP_Y = 30;
const PAD = 8;
const FONT = 12;
const LINE = 15;

function textWidth(text, size) {
  let width = 0;
  for (const ch of text) width += /[\u2e80-\uffff]/.test(ch) ? size : size * 0.56;
  return width;
}

/** Split a text into lines that fit `width` pixels, at most `max` lines (the last one cut). */
export function wrap(text, width, size = FONT, max = 3) {
  const words = /[\u2e80-\uffff]/.test(text) ? Array.from(text) : text.split(/(\s+)/);
  const lines = [];
  let line = '';
  for (const word of words) {
    const next = line + word;
    if (line && textWidth(next.trim(), size) > width) {
      lines.push(line.trim());
      line = word.trimStart();
    } else {
      line = next;
    }
  }
  if (line.trim()) lines.push(line.trim());
  if (lines.length > max) {
    const kept = lines.slice(0, max);
    kept[max - 1] = `${kept[max - 1].replace(/.$/u, '')}…`;
    return kept;
  }
  return lines;
}

/** Layers of node keys: 0 for nodes that depend on nothing, else one after their deepest need. */
export function layers(nodes) {
  const byKey = new Map(nodes.map((n) => [n.key, n]));
  const depth = new Map();
  const visit = (key, seen = new Set()) => {
    if (depth.has(key)) return depth.get(key);
    if (seen.has(key)) return 0; // a cycle cannot be published; draw it flat rather than hang
    seen.add(key);
    const needs = (byKey.get(key)?.needs || []).filter((k) => byKey.has(k));
    const d = needs.length ? 1 + Math.max(...needs.map((k) => visit(k, seen))) : 0;
    depth.set(key, d);
    return d;
  };
  nodes.forEach((n) => visit(n.key));
  const out = [];
  for (const n of nodes) (out[depth.get(n.key)] ||= []).push(n.key);
  // Order each layer by where its needs sit, so arrows cross less.
  const position = new Map();
  out.forEach((layer, i) => {
    if (i > 0) {
      const mean = (key) => {
        const needs = byKey.get(key).needs.filter((k) => position.has(k));
        return needs.length ? needs.reduce((s, k) => s + position.get(k), 0) / needs.length : 0;
      };
      layer.sort((a, b) => mean(a) - mean(b));
    }
    layer.forEach((key, j) => position.set(key, j - (layer.length - 1) / 2));
  });
  return out;
}

/**
 * nodes: [{key, title, subtitle, needs: [keys], status, statusText}]
 * Returns an <svg> that scales to its container; nodes carry data-key and data-status.
 */
export function drawGraph(nodes, {label, minWidth = 360, idPrefix = 'graph'} = {}) {
  const grid = layers(nodes);
  const widest = Math.max(1, ...grid.map((l) => l.length));
  const width = Math.max(minWidth, widest * 150 + (widest + 1) * GAP_X);
  const nodeWidth = Math.min(220, (width - (widest + 1) * GAP_X) / widest);
  const textRoom = nodeWidth - 2 * PAD;
  const laid = new Map();
  const prepared = nodes.map((n) => ({
    ...n,
    titleLines: wrap(n.title || n.key, textRoom, FONT, 3),
    subtitleLines: n.subtitle ? wrap(n.subtitle, textRoom, FONT - 1, 1) : [],
  }));
  const byKey = new Map(prepared.map((n) => [n.key, n]));
  const maxLines = Math.max(1, ...prepared.map((n) => n.titleLines.length));
  const hasStatus = prepared.some((n) => n.statusText);
  const nodeHeight = PAD * 2 + LINE * (maxLines + 1) + (hasStatus ? LINE : 0);
  grid.forEach((layer, i) => {
    const rowWidth = layer.length * nodeWidth + (layer.length - 1) * GAP_X;
    const left = (width - rowWidth) / 2;
    layer.forEach((key, j) => {
      laid.set(key, {x: left + j * (nodeWidth + GAP_X), y: GAP_Y / 2 + i * (nodeHeight + GAP_Y)});
    });
  });
  const height = grid.length * (nodeHeight + GAP_Y);
  const markerId = `${idPrefix}-arrow`;
  const edges = [];
  for (const n of prepared) {
    for (const need of n.needs || []) {
      const from = laid.get(need);
      const to = laid.get(n.key);
      if (!from || !to) continue;
      const x1 = from.x + nodeWidth / 2;
      const y1 = from.y + nodeHeight;
      const x2 = to.x + nodeWidth / 2;
      const y2 = to.y - 2;
      const bend = (y2 - y1) / 2;
      const done = byKey.get(need)?.status === 'completed';
      edges.push(svg('path', {
        class: done ? 'edge edge-done' : 'edge',
        d: `M${x1},${y1} C${x1},${y1 + bend} ${x2},${y2 - bend} ${x2},${y2}`,
        'marker-end': `url(#${markerId})`,
      }));
    }
  }
  const drawn = prepared.map((n) => {
    const at = laid.get(n.key);
    const texts = [];
    let y = at.y + PAD + FONT;
    for (const line of n.subtitleLines) {
      texts.push(svg('text', {class: 'node-subtitle', x: at.x + PAD, y}, line));
      y += LINE;
    }
    for (const line of n.titleLines) {
      texts.push(svg('text', {class: 'node-title', x: at.x + PAD, y}, line));
      y += LINE;
    }
    if (n.statusText) {
      texts.push(svg('text', {class: 'node-status', x: at.x + PAD, y: at.y + nodeHeight - PAD}, n.statusText));
    }
    return svg('g', {
      class: `node node-${n.status || 'plain'}`,
      dataset: {key: n.key, status: n.status || ''},
    },
    svg('title', {}, [n.subtitle, n.title, n.statusText].filter(Boolean).join(' · ')),
    svg('rect', {x: at.x, y: at.y, width: nodeWidth, height: nodeHeight, rx: 8, ry: 8}),
    texts);
  });
  return svg('svg', {
    class: 'graph', viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': label || '',
    preserveAspectRatio: 'xMidYMin meet', focusable: 'false',
  },
  svg('defs', {}, svg('marker', {
    id: markerId, viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7,
    orient: 'auto-start-reverse',
  }, svg('path', {class: 'arrow', d: 'M0,0 L10,5 L0,10 z'}))),
  edges, drawn);
}

/** Give drawn nodes new statuses in place (no redraw): the live application page. */
export function updateGraph(svgEl, statuses) {
  for (const node of svgEl.querySelectorAll('g.node')) {
    const next = statuses[node.dataset.key];
    if (!next) continue;
    const changed = node.dataset.status !== next.status;
    node.dataset.status = next.status;
    node.setAttribute('class', `node node-${next.status}${changed ? ' node-changed' : ''}`);
    const status = node.querySelector('.node-status');
    if (status) status.textContent = next.statusText;
    const title = node.querySelector('title');
    if (title) title.textContent = title.textContent.replace(/ · [^·]*$/, ` · ${next.statusText}`);
  }
}
